"""item2vec: the skip-gram trainer learns clique structure, loss falls, seeds; the Item2Vec
model keeps communities apart, recommends in raw ids, saves and loads, rejects bad input."""

from __future__ import annotations

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


def block_split(groups: int = 3, users: int = 12, movies: int = 8, seed: int = 0):
    """A split of ``groups`` disjoint communities: each group's users rate random movies of
    their group's block only (raw ids = index + 100 for users, + 500 for movies)."""
    from torch_geometric.data import HeteroData

    from graphrec.data import RATES, temporal_split

    gen = torch.Generator().manual_seed(seed)
    rows = []
    for g in range(groups):
        for u in range(users):
            picks = torch.randperm(movies, generator=gen)[: movies - 2]
            rows += [(g * users + u, g * movies + int(m)) for m in picks]
    ei = torch.tensor(rows).t()
    data = HeteroData()
    data.name = "blocks"
    data["user"].num_nodes, data["movie"].num_nodes = groups * users, groups * movies
    data["user"].raw_id = torch.arange(groups * users) + 100
    data["movie"].raw_id = torch.arange(groups * movies) + 500
    data["movie"].title = [f"Film {i} ({1990 + i})" for i in range(groups * movies)]
    data["movie"].genres = ["Drama"] * (groups * movies)
    data[RATES].edge_index = ei
    data[RATES].rating = torch.full((ei.size(1),), 4.0)
    data[RATES].time = torch.arange(ei.size(1))
    return temporal_split(data)


@pytest.fixture(scope="module")
def item2vec_blocks():
    from graphrec.models import Item2Vec
    from graphrec.train import TrainConfig

    split = block_split()
    model = Item2Vec(split.num_users, split.num_movies, embedding_dim=16, knn=4, hubness_k=0)
    model.fit(split, TrainConfig(epochs=10, progress=False))
    return model, split


def test_item2vec_model_keeps_communities_and_recommends_inside_them(item2vec_blocks):
    model, split = item2vec_blocks
    group = torch.arange(split.num_movies) // 8
    nb, _ = model.similar_indices(torch.arange(split.num_movies), k=5)
    assert torch.equal(group[nb], group.view(-1, 1).expand_as(nb))
    # raw ids in and out: user 100 (group 0) is recommended group-0 films it has not rated
    movies, scores = model.recommend(100, k=2)
    assert ((movies - 500) // 8 == 0).all() and (scores[:, :-1] >= scores[:, 1:]).all()
    seen = set(split.train_movies[split.train_ptr[0] : split.train_ptr[1]].tolist())
    assert not seen & set((movies - 500).view(-1).tolist())
    sims, _ = model.similar_items("Film 0 (1990)", k=3)
    assert ((sims - 500) // 8 == 0).all()
    assert model.history.epochs[-1]["loss"] < model.history.epochs[0]["loss"]


def test_item2vec_save_load_round_trip(item2vec_blocks, tmp_path):
    from graphrec.models import Recommender

    model, split = item2vec_blocks
    folder = model.save(tmp_path / "model")
    assert sorted(p.name for p in folder.iterdir()) == ["model.json", "weights.pt"]
    torch.load(folder / "weights.pt", weights_only=True)  # plain tensors only
    loaded = Recommender.load(folder)
    assert type(loaded).__name__ == "Item2Vec"
    assert torch.equal(loaded.embeddings(), model.embeddings())
    ids = torch.arange(split.num_movies)
    assert torch.equal(loaded.similar_indices(ids, 5)[0], model.similar_indices(ids, 5)[0])
    assert torch.equal(loaded.recommend([100, 130], k=3)[0], model.recommend([100, 130], k=3)[0])
    assert loaded.meta["loss"] == [e["loss"] for e in model.history.epochs]


def test_item2vec_same_seed_same_numbers():
    from graphrec.models import Item2Vec

    split = block_split(groups=2, users=6, movies=6)
    runs = []
    for seed in (1, 1, 2):
        m = Item2Vec(split.num_users, split.num_movies, embedding_dim=8, knn=3, seed=seed)
        m.fit(split, epochs=2, seed=seed, progress=False)
        runs.append(m.embeddings())
    assert torch.equal(runs[0], runs[1]) and not torch.equal(runs[0], runs[2])


def test_item2vec_rejects_bad_settings_and_foreign_graphs():
    from torch_geometric.data import Data

    from graphrec.models import Item2Vec

    split = block_split(groups=2, users=6, movies=6)
    with pytest.raises(ValueError, match="walk_length"):
        Item2Vec(split.num_users, split.num_movies, walk_length=1)
    with pytest.raises(ValueError, match="weighting"):
        Item2Vec(split.num_users, split.num_movies, weighting="euclid")
    bad = Data(edge_index=torch.tensor([[0, 99], [99, 0]]), edge_weight=torch.ones(2))
    with pytest.raises(ValueError, match="split's movie indices"):
        Item2Vec(split.num_users, split.num_movies).fit(split, graph=bad, epochs=1)


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
