"""item2vec skip-gram: learns clique structure, loss falls, seeds, save/load, errors."""

from __future__ import annotations

import json
import math

import pytest
import torch

from graphrec.models.item2vec import SkipGram, _clipped_add
from graphrec.walks import random_walks

NUM_CLIQUES, CLIQUE = 3, 8
NUM_NODES = NUM_CLIQUES * CLIQUE


def cliques() -> torch.Tensor:
    """``[2, E]`` edges of NUM_CLIQUES disconnected cliques of CLIQUE nodes each."""
    block = torch.ones(CLIQUE, CLIQUE) - torch.eye(CLIQUE)
    adj = torch.block_diag(*[block] * NUM_CLIQUES)
    return adj.nonzero().t()


@pytest.fixture(scope="module")
def walks() -> torch.Tensor:
    return random_walks(cliques(), num_nodes=NUM_NODES, walk_length=20, walks_per_node=10)


@pytest.fixture(scope="module")
def trained(walks) -> tuple[SkipGram, list[float]]:
    model = SkipGram(NUM_NODES, dim=16, seed=0)
    losses = model.fit(walks, epochs=10, seed=0, progress=False)
    return model, losses


def test_neighbours_stay_in_their_clique(trained):
    model, _ = trained
    ids, scores = model.similar(torch.arange(NUM_NODES), k=CLIQUE - 1)
    assert ids.shape == scores.shape == (NUM_NODES, CLIQUE - 1)
    clique = torch.arange(NUM_NODES) // CLIQUE
    assert torch.equal(clique[ids], clique.view(-1, 1).expand_as(ids))
    assert not (ids == torch.arange(NUM_NODES).view(-1, 1)).any()  # never the node itself
    assert (scores[:, :-1] >= scores[:, 1:]).all()  # most similar first


def test_loss_decreases(trained):
    _, losses = trained
    assert len(losses) == 10
    assert losses[-1] < 0.8 * losses[0]
    assert losses[0] < 4.2  # starts near (1 + K) log 2 = 4.16 for K = 5


def test_same_seed_same_numbers(walks):
    runs = []
    for seed in (3, 3, 4):
        model = SkipGram(NUM_NODES, dim=8, seed=seed)
        losses = model.fit(walks, epochs=2, seed=seed, progress=False)
        runs.append((model.embeddings(), losses))
    assert torch.equal(runs[0][0], runs[1][0]) and runs[0][1] == runs[1][1]
    assert not torch.equal(runs[0][0], runs[2][0])


def test_save_load_round_trip(trained, tmp_path):
    model, losses = trained
    path = tmp_path / "item2vec.pt"
    model.save(path)
    assert [p.name for p in tmp_path.iterdir()] == ["item2vec.pt"]  # no temp file left
    state = torch.load(path, weights_only=True)  # plain tensors + JSON only
    assert json.loads(state["config"])["dim"] == 16
    loaded = SkipGram.load(path)
    assert torch.equal(loaded.embeddings(), model.embeddings())
    assert torch.equal(loaded.out_embedding.weight, model.out_embedding.weight)
    assert loaded.history == losses
    ids = torch.arange(NUM_NODES)
    assert torch.equal(loaded.similar(ids, 5)[0], model.similar(ids, 5)[0])


def test_load_rejects_other_files(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"config": json.dumps({"format": "something else"})}, path)
    with pytest.raises(ValueError, match="not a SkipGram checkpoint"):
        SkipGram.load(path)


def test_subsample_drops_and_closes_gaps():
    batch = torch.tensor([[0, 1, 2, 1, 3, -1], [1, 1, 1, 0, -1, -1]])
    keep_prob = torch.tensor([1.0, 0.0, 1.0, 1.0], dtype=torch.float64)
    out = SkipGram._subsample(batch, keep_prob, torch.Generator().manual_seed(0))
    assert out.tolist() == [[0, 2, 3, -1, -1, -1], [0, -1, -1, -1, -1, -1]]


def test_padding_and_unseen_nodes(walks):
    # Node NUM_NODES (one extra id) never occurs: it must never be recommended.
    padded = torch.cat([walks, torch.full((walks.size(0), 3), -1)], 1)
    model = SkipGram(NUM_NODES + 1, dim=8)
    model.fit(padded, epochs=2, progress=False)
    assert int(model.counts[NUM_NODES]) == 0 and int(model.counts.sum()) == walks.numel()
    ids, _ = model.similar(torch.arange(NUM_NODES + 1), k=NUM_NODES - 1)
    assert not (ids == NUM_NODES).any()


def test_no_subsampling_and_fixed_window_paths(walks):
    model = SkipGram(NUM_NODES, dim=8)
    losses = model.fit(walks, epochs=3, subsample=0.0, dynamic_window=False, progress=False)
    assert losses[-1] < losses[0]


def test_divergence_is_reported(walks):
    model = SkipGram(NUM_NODES, dim=8)
    with pytest.raises(FloatingPointError, match="lower lr"):
        model.fit(walks, epochs=3, lr=1e30, batch_size=256, max_step=None, progress=False)


def test_clipped_add_by_hand():
    table = torch.zeros(3, 2)
    ids = torch.tensor([0, 0, 2])
    grads = torch.tensor([[-3.0, 0.0], [-1.0, 0.0], [0.0, -0.5]])
    _clipped_add(table, ids, grads, lr=1.0, max_step=2.0)
    # row 0: summed update (4, 0) has norm 4 -> scaled to (2, 0); row 2: (0, .5) kept
    assert torch.equal(table, torch.tensor([[2.0, 0.0], [0.0, 0.0], [0.0, 0.5]]))
    big = torch.zeros(100, 2)  # the sparse path (table larger than twice the ids)
    _clipped_add(big, ids, grads, lr=1.0, max_step=2.0)
    assert torch.equal(big[[0, 1, 2]], table) and big[3:].abs().sum() == 0


def test_a_hub_in_every_other_token_needs_the_step_cap():
    # star graph: every walk alternates hub, leaf, hub, ...; in a batch the hub's summed
    # update is ~half the batch's pairs computed at one point
    n = 300
    leaves = torch.arange(1, n)
    hub = torch.zeros(n - 1, dtype=torch.long)
    edges = torch.stack([torch.cat([hub, leaves]), torch.cat([leaves, hub])])
    star = random_walks(edges, num_nodes=n, walk_length=20, walks_per_node=4)
    kwargs = dict(epochs=3, batch_size=64, subsample=0.0, progress=False)
    with pytest.raises(FloatingPointError):
        SkipGram(n, dim=16).fit(star, max_step=None, **kwargs)
    losses = SkipGram(n, dim=16).fit(star, **kwargs)  # default cap
    assert all(math.isfinite(x) for x in losses) and losses[-1] < losses[0]
    with pytest.raises(ValueError, match="max_step"):
        SkipGram(n, dim=16).fit(star, max_step=0.0, **kwargs)


@pytest.mark.parametrize(
    "walks_arg, kwargs, message",
    [
        (torch.tensor([[0.0, 1.0]]), {}, "integer"),
        (torch.tensor([0, 1]), {}, r"\[num_walks, walk_length\]"),
        (torch.tensor([[0, NUM_NODES]]), {}, "expected node ids"),
        (torch.tensor([[0, -2]]), {}, "expected node ids"),
        (torch.full((2, 3), -1), {}, "all padding"),
        (torch.tensor([[0, 1]]), {"epochs": 0}, "epochs"),
        (torch.tensor([[0, 1]]), {"window": 0}, "window"),
        (torch.tensor([[0, 1]]), {"lr": -1.0}, "lr"),
        (torch.tensor([[0, 1]]), {"neg_pool": 0}, "neg_pool"),
        (torch.tensor([[0, 1]]), {"subsample": -1.0}, "subsample"),
    ],
)
def test_bad_fit_input(walks_arg, kwargs, message):
    with pytest.raises(ValueError, match=message):
        SkipGram(NUM_NODES, dim=4).fit(walks_arg, progress=False, **kwargs)


def test_bad_constructor_and_query_arguments(trained):
    with pytest.raises(ValueError, match="num_nodes"):
        SkipGram(0)
    with pytest.raises(ValueError, match="dim"):
        SkipGram(3, dim=0)
    model, _ = trained
    with pytest.raises(ValueError, match="k must be"):
        model.similar(torch.tensor([0]), k=NUM_NODES)
    with pytest.raises(ValueError, match="ids must be"):
        model.similar(torch.tensor([NUM_NODES]))
