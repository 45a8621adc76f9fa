"""experiments/studies/franchise_variants.py builds the graphs it claims to: the variants that
should reproduce Item2Vec's projection do, edge for edge, and the boosts only ever raise weights.
The script runs as a subprocess (``--synthetic ... --graphs-out``: its graphs of a small
synthetic data set, no training); the library calls it makes are tested directly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch_geometric.data import Data

from graphrec.data import temporal_split
from graphrec.data.projection import movie_graph
from graphrec.data.synthetic import synthetic_graph
from graphrec.models.item2vec import Item2Vec
from graphrec.similarity import (
    franchise_hits,
    item_cosine_franchise_hits,
    item_cosine_neighbours,
)
from graphrec.train import TrainConfig

SCRIPT = Path(__file__).resolve().parents[1] / "experiments" / "studies" / "franchise_variants.py"
SYNTHETIC = (60, 40, 700, 9)  # users, movies, ratings, seed
VARIANTS = ["default", "near-mutual-10", "min-count-1", "own-top-3", "knn-4", "knn-6-m4"]


@pytest.fixture(scope="module")
def split():
    users, movies, ratings, seed = SYNTHETIC
    return temporal_split(synthetic_graph(users, movies, ratings, seed=seed))


@pytest.fixture(scope="module")
def graphs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("graphs")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--synthetic", *map(str, SYNTHETIC)]
        + ["--graphs-out", str(folder), "--only", *VARIANTS],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return folder


def _graph(folder: Path, name: str) -> Data:
    t = torch.load(folder / f"{name}.pt", weights_only=True)
    return Data(edge_index=t["edge_index"], edge_weight=t["edge_weight"])


def _edges(g) -> dict[tuple[int, int], float]:
    return {
        (int(i), int(j)): float(w)
        for (i, j), w in zip(g.edge_index.t().tolist(), g.edge_weight.tolist(), strict=True)
    }


@pytest.mark.parametrize("name", ["near-mutual-10", "min-count-1"])
def test_variants_that_are_the_projection_reproduce_it(split, graphs, name):
    ref = _edges(movie_graph(split, knn=10, mutual_weight=10.0))
    got = _edges(_graph(graphs, name))
    assert got.keys() == ref.keys()
    assert all(got[e] == pytest.approx(ref[e], rel=1e-6) for e in ref)
    assert not (graphs / "default.pt").exists()  # Item2Vec projects it itself


def test_knn_variants_are_item2vecs_projection_with_another_k(graphs):
    settings = json.loads((graphs / "settings.json").read_text())
    assert list(settings) == VARIANTS
    for name in ("default", "knn-4", "knn-6-m4"):
        assert settings[name]["graph"] == "Item2Vec's projection"
        assert not (graphs / f"{name}.pt").exists()
    assert settings["default"]["item2vec"] == {}  # Item2Vec's class defaults: top 10 x10
    assert settings["knn-4"]["item2vec"] == {"knn": 4}
    assert settings["knn-6-m4"]["item2vec"] == {"knn": 6, "mutual_weight": 4.0}
    assert settings["own-top-3"] == {"graph": "built", "item2vec": {}}
    hp = Item2Vec(3, 3).hparams  # the tuning grid's base the variants change
    assert (hp["knn"], hp["mutual_weight"]) == (10, 10.0)


def test_own_top_boost_only_raises_weights(split, graphs):
    ref = _edges(movie_graph(split, knn=10, mutual_weight=10.0))
    boosted = _graph(graphs, "own-top-3")
    got = _edges(boosted)
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
    assert torch.equal(boosted.edge_index, movie_graph(split, knn=10).edge_index)


def test_an_unknown_variant_is_refused_with_the_known_ones():
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--only", "knn-x", "--graphs-out", "unused"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2 and "unknown variant 'knn-x'" in proc.stderr
    assert "own-top-1" in proc.stderr


def test_item2vec_walks_a_given_graph_and_checks_its_ids(split):
    cfg = TrainConfig(epochs=1, num_negatives=1, device="cpu", progress=False)
    n = split.num_movies
    small = dict(embedding_dim=8, walk_length=5, walks_per_node=2, window=2)
    bad = Data(edge_index=torch.tensor([[0, n], [n, 0]]), edge_weight=torch.ones(2))
    with pytest.raises(ValueError, match="build it over the split's movie"):
        Item2Vec(split.num_users, n, **small).fit(split, cfg, graph=bad)
    negative = Data(edge_index=torch.tensor([[0, -1], [-1, 0]]), edge_weight=torch.ones(2))
    with pytest.raises(ValueError, match=r"movie ids in \[-1, 0\]"):
        Item2Vec(split.num_users, n, **small).fit(split, cfg, graph=negative)
    # a two-movie graph: only those two movies have edges, and they are each other's context
    pair = Data(edge_index=torch.tensor([[3, 7], [7, 3]]), edge_weight=torch.ones(2))
    model = Item2Vec(split.num_users, n, **small).fit(split, cfg, graph=pair)
    assert model.has_edge.nonzero().view(-1).tolist() == [3, 7]
    assert model.graph is pair
    # the walks it trained on come back: 2 walks from each of the two movies, alternating
    assert sorted(model.walks[:, 0].tolist()) == [3, 3, 7, 7]
    for walk in model.walks.tolist():
        assert walk == [walk[0], 10 - walk[0]] * 2 + [walk[0]]
    # similar movies come only from the two with edges
    assert model.similar_indices(torch.tensor([3]), k=1)[0].tolist() == [[7]]


def test_item_cosine_franchise_hits_is_franchise_hits_of_item_cosine(split):
    titles = [f"film {i}" for i in range(split.num_movies)]
    pop = split.train_degree()
    popular = torch.argsort(pop, descending=True)[:6].tolist()
    groups = [[titles[m] for m in popular[:3]], [titles[m] for m in popular[3:]]]
    want = franchise_hits(
        lambda q: item_cosine_neighbours(split, q, 5), titles, pop, min_ratings=1, groups=groups
    )
    got = item_cosine_franchise_hits(split, titles, k=5, min_ratings=1, groups=groups)
    assert got == want and got["films"] == 6
