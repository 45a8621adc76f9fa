"""Synthetic user-movie graphs with the MovieLens schema, for tests and scale benchmarks.

- :func:`synthetic_graph`: seeded, any size, power-law user activity and movie popularity
  (Zipf-like weights ``(rank + 1) ** -exponent``), demographics and genres drawn at random.
- :func:`checkerboard_graph`: a graph whose right recommendation is known. Users and movies
  fall into blocks; every user rates every movie of its own block and none outside it. User
  ``j`` of a block rates the block's movie ``j`` last and movie ``j + 1`` second to last, so
  the temporal split holds out exactly those two: a personalised model that learns the block
  structure must rank them first among the unseen movies.

Both go through :func:`graphrec.data.graph.build_graph`, so they have exactly the schema of a
MovieLens graph (features, feature names, raw ids, titles, reverse edges).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from torch_geometric.data import HeteroData

from graphrec.data.graph import build_graph
from graphrec.data.movielens import ML100K_GENRES, Tables

__all__ = ["synthetic_graph", "synthetic_tables", "checkerboard_graph"]

_OCCUPATIONS = ["student", "engineer", "writer", "doctor", "artist", "other"]


def _tables(
    name: str,
    users: np.ndarray,
    movies: np.ndarray,
    ratings: np.ndarray,
    times: np.ndarray,
    num_users: int,
    num_movies: int,
    rng: np.random.Generator,
) -> Tables:
    user_table = pd.DataFrame(
        {
            "user_id": np.arange(1, num_users + 1),
            "age": rng.integers(15, 70, num_users),
            "gender": rng.choice(["F", "M"], num_users),
            "occupation": rng.choice(_OCCUPATIONS, num_users),
            "zip": rng.integers(0, 10, num_users).astype(str),
        }
    )
    genres = np.array(ML100K_GENRES[1:])
    first = rng.integers(0, len(genres), num_movies)
    second = rng.integers(0, len(genres), num_movies)
    movie_table = pd.DataFrame(
        {
            "movie_id": np.arange(1, num_movies + 1),
            "title": [f"Movie {i} ({1950 + i % 50})" for i in range(1, num_movies + 1)],
            "genres": [
                a if a == b else f"{a}|{b}"
                for a, b in zip(genres[first], genres[second], strict=True)
            ],
            "year": 1950.0 + np.arange(1, num_movies + 1) % 50,
        }
    )
    ratings_table = pd.DataFrame(
        {
            "user_id": users + 1,
            "movie_id": movies + 1,
            "rating": ratings.astype(np.float64),
            "timestamp": times.astype(np.int64),
        }
    )
    return Tables(name, ratings_table, movie_table, user_table, source="synthetic")


def _sorted_unique(a: np.ndarray) -> np.ndarray:
    """``np.unique(a)`` for an array of two sorted runs: a stable sort merges the runs in
    linear time (numpy >= 2.3's hash-based ``unique`` took ~1 s per million keys)."""
    a = np.sort(a, kind="stable")
    keep = np.ones(a.size, dtype=bool)
    keep[1:] = a[1:] != a[:-1]
    return a[keep]


def synthetic_graph(
    num_users: int = 1000,
    num_movies: int = 500,
    num_ratings: int = 20_000,
    exponent: float = 0.8,
    seed: int = 0,
) -> HeteroData:
    """A random graph with power-law degrees and ``num_ratings`` distinct (user, movie) edges
    (:func:`synthetic_tables` made into a graph; same arguments)."""
    return build_graph(synthetic_tables(num_users, num_movies, num_ratings, exponent, seed))


def synthetic_tables(
    num_users: int = 1000,
    num_movies: int = 500,
    num_ratings: int = 20_000,
    exponent: float = 0.8,
    seed: int = 0,
) -> Tables:
    """MovieLens-like tables with power-law degrees and ``num_ratings`` distinct edges.

    Args:
        num_users, num_movies: node counts.
        num_ratings: number of distinct edges (at most ``num_users * num_movies / 2``).
        exponent: Zipf exponent of user activity and movie popularity.
        seed: the same seed gives the same graph.
    """
    if min(num_users, num_movies, num_ratings) <= 0:
        raise ValueError("num_users, num_movies and num_ratings must be positive")
    if num_ratings > num_users * num_movies // 2:
        raise ValueError(
            f"num_ratings={num_ratings} is more than half of all "
            f"{num_users * num_movies} pairs; use a denser setting on purpose"
        )
    rng = np.random.default_rng(seed)
    pu = (np.arange(num_users) + 1.0) ** -exponent
    pm = (np.arange(num_movies) + 1.0) ** -exponent
    pu, pm = pu / pu.sum(), pm / pm.sum()
    cap = 0.3 * num_movies / num_ratings  # no user is expected to rate > 30% of the movies
    for _ in range(50):
        if pu.max() <= cap * 1.0001:
            break
        pu = np.minimum(pu, cap)
        pu /= pu.sum()
    pu, pm = rng.permutation(pu), rng.permutation(pm)
    keys = np.empty(0, dtype=np.int64)
    draw = num_ratings
    while keys.size < num_ratings:
        u = rng.choice(num_users, size=int(draw * 1.3) + 16, p=pu)
        m = rng.choice(num_movies, size=u.size, p=pm)
        new = np.sort(u.astype(np.int64) * num_movies + m)
        keys = _sorted_unique(np.concatenate([keys, new]))
        draw = num_ratings - keys.size
    keys = rng.permutation(keys)[:num_ratings]
    users, movies = keys // num_movies, keys % num_movies
    ratings = rng.integers(1, 6, num_ratings)
    times = 880_000_000 + rng.integers(0, 10_000_000, num_ratings)
    return _tables("synthetic", users, movies, ratings, times, num_users, num_movies, rng)


def checkerboard_graph(num_blocks: int = 4, block_size: int = 8, seed: int = 0) -> HeteroData:
    """Blocks of ``block_size`` users x ``block_size`` movies (see the module docstring).

    After :func:`graphrec.data.temporal_split`, user ``b * block_size + j`` has test movie
    ``b * block_size + j`` and valid movie ``b * block_size + (j + 1) % block_size``.
    """
    if num_blocks < 2 or block_size < 4:
        raise ValueError("need at least 2 blocks of at least 4 users and movies")
    rng = np.random.default_rng(seed)
    n = num_blocks * block_size
    users, movies, times = [], [], []
    for b in range(num_blocks):
        for j in range(block_size):
            user = b * block_size + j
            own, nxt = j, (j + 1) % block_size
            rest = [i for i in range(block_size) if i not in (own, nxt)]
            rng.shuffle(rest)
            for t, i in enumerate([*rest, nxt, own]):
                users.append(user)
                movies.append(b * block_size + i)
                times.append(1_000_000 + 10 * t)
    users_a, movies_a = np.array(users), np.array(movies)
    ratings = np.full(users_a.size, 5)
    return build_graph(
        _tables("checkerboard", users_a, movies_a, ratings, np.array(times), n, n, rng)
    )
