import pytest
import torch

from graphrec.data import temporal_split
from graphrec.data.synthetic import checkerboard_graph, synthetic_graph
from graphrec.models.lightgcn import LightGCN, normalized_adjacency, symmetric_spmm

from contract import ContractTests, fit_checkerboard

pytestmark = pytest.mark.usefixtures("one_thread")


class TestLightGCNContract(ContractTests):
    def make_model(self, split):
        model = LightGCN(split.num_users, split.num_movies, embedding_dim=16, num_layers=2)
        fit_checkerboard(model, split)
        return model

    def test_graph_is_the_train_edges(self, model, split):
        assert torch.equal(model.graph_edges, split.train)

    def test_loaded_model_keeps_its_graph(self, model, tmp_path):
        again = LightGCN.load(model.save(tmp_path / "m"))
        assert torch.equal(again.graph_edges, model.graph_edges)


# a tiny graph: u0 rates m0, m1; u1 rates m1, m2
TINY_EDGES = torch.tensor([[0, 0, 1, 1], [0, 1, 1, 2]])
# degrees u0=2, u1=2, m0=1, m1=2, m2=1; node order u0, u1, m0, m1, m2
R2, H = 2**-0.5, 0.5
TINY_ADJ = torch.tensor(
    [
        [0, 0, R2, H, 0],
        [0, 0, 0, H, R2],
        [R2, 0, 0, 0, 0],
        [H, H, 0, 0, 0],
        [0, R2, 0, 0, 0],
    ]
)


def test_normalized_adjacency_by_hand():
    adj = normalized_adjacency(TINY_EDGES[0], TINY_EDGES[1], 2, 3)
    torch.testing.assert_close(adj.to_dense(), TINY_ADJ)


def test_propagation_equals_hand_computed_product():
    torch.manual_seed(0)
    model = LightGCN(2, 3, embedding_dim=4, num_layers=2).set_graph(TINY_EDGES)
    e0 = torch.cat([model.user_emb.weight, model.movie_emb.weight]).detach()
    expected = (e0 + TINY_ADJ @ e0 + TINY_ADJ @ (TINY_ADJ @ e0)) / 3
    users, movies = model.propagate()
    torch.testing.assert_close(torch.cat([users, movies]), expected)
    with torch.no_grad():
        torch.testing.assert_close(model.score_all(torch.arange(2)), expected[:2] @ expected[2:].T)


def test_propagation_matches_pyg_lightgcn():
    from torch_geometric.nn.models import LightGCN as PyGLightGCN

    split = temporal_split(synthetic_graph(40, 30, 300, seed=2))
    ours = LightGCN(split.num_users, split.num_movies, embedding_dim=8, num_layers=3)
    ours.remember_seen(split)
    theirs = PyGLightGCN(split.num_users + split.num_movies, 8, num_layers=3)
    with torch.no_grad():
        theirs.embedding.weight.copy_(torch.cat([ours.user_emb.weight, ours.movie_emb.weight]))
    u, m = split.train
    m = m + split.num_users
    edge_index = torch.cat([torch.stack([u, m]), torch.stack([m, u])], 1)
    expected = theirs.get_embedding(edge_index)
    users, movies = ours.propagate()
    torch.testing.assert_close(torch.cat([users, movies]), expected, rtol=1e-5, atol=1e-6)


def test_symmetric_spmm_gradient_is_the_dense_one():
    x = torch.randn(5, 3, requires_grad=True)
    adj = normalized_adjacency(TINY_EDGES[0], TINY_EDGES[1], 2, 3)
    (symmetric_spmm(adj, x) ** 2).sum().backward()
    grad = x.grad.clone()
    x.grad = None
    ((TINY_ADJ @ x) ** 2).sum().backward()
    torch.testing.assert_close(grad, x.grad)


def test_eval_cache_is_used_and_invalidated():
    torch.manual_seed(0)
    model = LightGCN(2, 3, embedding_dim=4, num_layers=1).set_graph(TINY_EDGES)
    model.eval()
    with torch.no_grad():
        first = model.propagate()[0]
        assert model.propagate()[0] is first, "eval mode must reuse the propagated embeddings"
        model.user_emb.weight.add_(1.0)  # an optimiser step or load_state_dict does this
        second = model.propagate()[0]
        assert second is not first and not torch.equal(second, first)
    # with autograd on, eval mode still propagates so gradients reach the embeddings
    assert model.propagate()[0].requires_grad
    model.train()
    assert model._cache is None
    assert model.propagate()[0].requires_grad


def test_bpr_loss_decreases_and_regularises_layer0():
    split = temporal_split(checkerboard_graph(4, 8))
    torch.manual_seed(0)
    model = LightGCN(split.num_users, split.num_movies, embedding_dim=8, num_layers=2)
    assert model.fit_objective == "bpr"
    hist = fit_checkerboard(model, split, epochs=8).history
    losses = [e["loss"] for e in hist.epochs]
    assert losses[-1] < losses[0] - 0.05
    # the L2 term is computed on layer-0 embeddings of the batch
    u, p, n = torch.tensor([0]), torch.tensor([1]), torch.tensor([2])
    model.train()
    assert model.reg == 1e-3  # the default lambda
    with_reg = model.bpr_loss(u, p, n)
    model.reg = 0.0
    e0 = (
        model.user_emb.weight[0].pow(2).sum()
        + model.movie_emb.weight[1].pow(2).sum()
        + model.movie_emb.weight[2].pow(2).sum()
    )
    torch.testing.assert_close(with_reg - model.bpr_loss(u, p, n), 1e-3 * e0 / 2)


def test_scoring_without_a_graph_is_a_clear_error():
    model = LightGCN(3, 3)
    with pytest.raises(RuntimeError, match="set_graph"):
        model.score_all(torch.tensor([0]))
