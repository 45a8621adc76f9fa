"""The synthetic generator: seeded, the requested sizes, distinct pairs, power-law popularity."""

import numpy as np
import pytest
import torch

from graphrec.data.graph import RATES
from graphrec.data.synthetic import _sorted_unique, synthetic_graph, synthetic_tables


def _edges(data) -> torch.Tensor:
    return data[RATES].edge_index


def test_same_seed_same_graph_other_seed_other_graph():
    a, b = synthetic_graph(300, 200, 5_000, seed=3), synthetic_graph(300, 200, 5_000, seed=3)
    assert torch.equal(_edges(a), _edges(b))
    assert torch.equal(a[RATES].rating, b[RATES].rating)
    assert torch.equal(a[RATES].time, b[RATES].time)
    c = synthetic_graph(300, 200, 5_000, seed=4)
    assert not torch.equal(_edges(a), _edges(c))


@pytest.mark.parametrize("users, movies, edges", [(300, 200, 5_000), (64, 24, 768), (7, 5, 17)])
def test_requested_sizes_and_distinct_pairs(users, movies, edges):
    data = synthetic_graph(users, movies, edges, seed=0)
    ei = _edges(data)
    assert data["user"].num_nodes == users
    assert data["movie"].num_nodes == movies
    assert ei.size(1) == edges
    assert int(ei[0].min()) >= 0 and int(ei[0].max()) < users
    assert int(ei[1].min()) >= 0 and int(ei[1].max()) < movies
    keys = ei[0] * movies + ei[1]
    assert torch.unique(keys).numel() == edges  # no (user, movie) pair twice
    assert torch.equal(data["rated_by"].edge_index, ei.flip(0))


def test_popularity_is_skewed():
    # Zipf weights (rank + 1) ** -0.8 over 200 movies: the top 10% of movies take far more
    # than 10% of the edges (about 35% in expectation before deduplication)
    data = synthetic_graph(2_000, 200, 40_000, seed=0)
    counts = torch.bincount(_edges(data)[1], minlength=200).sort(descending=True).values
    assert counts[:20].sum() / counts.sum() > 0.2


def test_too_dense_is_refused():
    with pytest.raises(ValueError, match="more than half"):
        synthetic_tables(10, 10, 51)


def test_sorted_unique_matches_numpy():
    rng = np.random.default_rng(0)
    old = np.unique(rng.integers(0, 50, 100))
    new = np.sort(rng.integers(0, 50, 100))
    got = _sorted_unique(np.concatenate([old, new]))
    assert np.array_equal(got, np.unique(np.concatenate([old, new])))
    assert np.array_equal(_sorted_unique(np.array([], dtype=np.int64)), np.array([]))
