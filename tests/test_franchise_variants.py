"""experiments/franchise_variants.py builds the graphs it claims to: the variants that should
reproduce graphrec's projection do, edge for edge, and the boosts only ever raise weights."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from graphrec.data import temporal_split
from graphrec.data.projection import movie_graph
from graphrec.data.synthetic import synthetic_graph

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "experiments"))
from franchise_variants import build_graph, item2vec_config  # noqa: E402


@pytest.fixture(scope="module")
def split():
    return temporal_split(synthetic_graph(60, 40, 700, seed=9))


def _edges(g) -> dict[tuple[int, int], float]:
    return {
        (int(i), int(j)): float(w)
        for (i, j), w in zip(g.edge_index.t().tolist(), g.edge_weight.tolist(), strict=True)
    }


@pytest.mark.parametrize("name", ["near-mutual-10", "min-count-1"])
def test_variants_that_are_the_projection_reproduce_it(split, name):
    ref = _edges(movie_graph(split, knn=10, mutual_weight=10.0))
    got = _edges(build_graph(name, split))
    assert got.keys() == ref.keys()
    assert all(got[e] == pytest.approx(ref[e], rel=1e-6) for e in ref)
    assert build_graph("default", split) is None  # the task projects it itself


def test_knn_variants_are_the_task_projection_with_another_k(split):
    assert build_graph("knn-6", split) is None
    assert item2vec_config("knn-6", 2)["knn"] == 6 and item2vec_config("knn-6", 2)["seed"] == 2
    default = item2vec_config("default", 0)
    assert (default["knn"], default["mutual_weight"]) == (10, 10.0)  # the tuning grid's base
    assert {**default, "knn": 6, "mutual_weight": 4.0} == item2vec_config("knn-6-m4", 0)
    assert {k: v for k, v in item2vec_config("knn-4", 0).items() if k != "knn"} == {
        k: v for k, v in default.items() if k != "knn"
    }


def test_own_top_boost_only_raises_weights(split):
    ref = _edges(movie_graph(split, knn=10, mutual_weight=10.0))
    got = _edges(build_graph("own-top-3", split))
    assert got.keys() == ref.keys()
    raised = [e for e in ref if got[e] > ref[e] * (1 + 1e-6)]
    assert raised and all(got[e] >= ref[e] * (1 - 1e-6) for e in ref)
    # a raised edge is one of its end's top 3 by cosine, boosted 10x
    cos = _edges(movie_graph(split))
    for i, j in raised:
        assert got[(i, j)] == pytest.approx(10 * cos[(i, j)], rel=1e-5)
        row = sorted((w for (a, _), w in cos.items() if a == i), reverse=True)
        col = sorted((w for (a, _), w in cos.items() if a == j), reverse=True)
        assert cos[(i, j)] >= min(row[2], col[2]) - 1e-6
    assert torch.equal(
        build_graph("own-top-3", split).edge_index, movie_graph(split, knn=10).edge_index
    )


def test_train_item2vec_walks_a_given_graph_and_checks_its_ids(split):
    from types import SimpleNamespace

    from torch_geometric.data import Data

    from graphrec.cli.item2vec import train_item2vec

    n = split.num_movies
    bad = Data(edge_index=torch.tensor([[0, n], [n, 0]]), edge_weight=torch.ones(2))
    with pytest.raises(ValueError, match="build it over the split's movie ids"):
        train_item2vec(split, SimpleNamespace(), graph=bad)
    negative = Data(edge_index=torch.tensor([[0, -1], [-1, 0]]), edge_weight=torch.ones(2))
    with pytest.raises(ValueError, match=r"movie ids in \[-1, 0\]"):
        train_item2vec(split, SimpleNamespace(), graph=negative)
    # a two-movie graph: only those two movies have edges, and they are each other's context
    pair = Data(edge_index=torch.tensor([[3, 7], [7, 3]]), edge_weight=torch.ones(2))
    cfg = SimpleNamespace(
        walk_length=5, walks_per_node=2, p=1.0, q=1.0, dim=8, window=2, epochs=1,
        negatives=1, lr=0.025, batch_size=None, seed=0, quiet=True,
    )  # fmt: skip
    res = train_item2vec(split, cfg, graph=pair)
    assert res.has_edge.nonzero().view(-1).tolist() == [3, 7]
    assert res.graph is pair
    # the walks it trained on come back: 2 walks from each of the two movies, alternating
    assert sorted(res.walks[:, 0].tolist()) == [3, 3, 7, 7]
    for walk in res.walks.tolist():
        assert walk == [walk[0], 10 - walk[0]] * 2 + [walk[0]]
