"""Temporal leave-one-out, negative sampling and the evaluation protocols."""

from __future__ import annotations

import pytest
import torch
from conftest import write_ml100k

from graphrec.data import (
    PairwiseSampler,
    PointwiseSampler,
    RatingSampler,
    load_movielens,
    sample_negatives,
    sampled_candidates,
    temporal_split,
)
from graphrec.data.split import pair_keys, tie_keys
from graphrec.data.synthetic import checkerboard_graph, synthetic_graph
from graphrec.evaluate import evaluate
from graphrec.models.base import Recommender


@pytest.fixture
def tiny(ml100k_dir, tmp_path):
    return load_movielens(
        "ml-100k",
        tmp_path / "root",
        raw_dir=ml100k_dir,
        source="local",
        verify=False,
        verbose=False,
    )


def test_temporal_leave_one_out_with_ties_broken_by_the_pair_key(tiny):
    split = temporal_split(tiny)
    # user 1 (index 0): times 100..400 -> test movie 4, valid movie 3
    # user 2: 100, 150, 160 -> test movie 1, valid movie 3
    # user 3: movie 4 @500, movie 1 @500, movie 2 @400, movie 3 @500: the tie at 500 goes by
    #         tie_keys (movie 3 < movie 1 < movie 4), whatever the file order -> test movie 4,
    #         valid movie 1
    # user 4: only two ratings -> train-only
    keys = tie_keys(torch.tensor([3, 3, 3]), torch.tensor([3, 1, 4]))
    assert keys[0] < keys[1] < keys[2]
    assert split.test.tolist() == [[0, 1, 2], [3, 0, 3]]
    assert split.valid.tolist() == [[0, 1, 2], [2, 2, 0]]
    assert sorted(split.train[1][split.train[0] == 3].tolist()) == [0, 1]
    assert sorted(split.train[1][split.train[0] == 2].tolist()) == [1, 2]
    assert split.train.size(1) == 13 - 6
    assert split.train_ptr.tolist() == [0, 2, 3, 5, 7]
    assert split.test_rating.tolist() == [1.0, 5.0, 5.0]
    # the split carries the graph's raw ids (what a model fitted on it answers in)
    assert split.ids.dataset == "ml-100k" and split.ids.users == [1, 2, 3, 4]
    assert split.ids.movies == [1, 2, 3, 4] and split.ids.title(3) == "Godfather, The (1972)"


def test_rating_sampler_shuffles_the_train_edges_with_their_ratings(tiny):
    split = temporal_split(tiny)
    users, movies, ratings = RatingSampler(split).epoch(torch.Generator().manual_seed(0))
    assert len(RatingSampler(split)) == split.train.size(1) == users.numel()
    got = sorted(zip(users.tolist(), movies.tolist(), ratings.tolist(), strict=True))
    want = zip(*split.train.tolist(), split.train_rating.float().tolist(), strict=True)
    assert got == sorted(want) and ratings.dtype == torch.float32


def test_no_pair_in_two_splits_on_a_random_graph():
    split = temporal_split(synthetic_graph(300, 200, 6000, seed=3))
    m = split.num_movies
    sets = [set(pair_keys(p[0], p[1], m).tolist()) for p in (split.train, split.valid, split.test)]
    assert not (sets[0] & sets[1]) and not (sets[0] & sets[2]) and not (sets[1] & sets[2])
    assert sum(len(s) for s in sets) == 6000


def test_min_rating_threshold(tiny):
    split = temporal_split(tiny, min_rating=4)
    assert (split.train_rating >= 4).all() and (split.test_rating >= 4).all()
    with pytest.raises(ValueError, match="lower the threshold"):
        temporal_split(tiny, min_rating=6)


def test_empty_graph_is_an_error(tmp_path):
    write_ml100k(tmp_path / "raw" / "ml-100k", ratings=[(1, 1, 5, 1)])
    data = load_movielens(
        "ml-100k",
        tmp_path / "r",
        raw_dir=tmp_path / "raw",
        source="local",
        verify=False,
        verbose=False,
    )
    split = temporal_split(data)  # one rating: train-only user, nothing to evaluate
    assert split.test.size(1) == 0
    with pytest.raises(ValueError, match="empty"):
        evaluate(_Oracle(split), split, "test", "sampled")


def test_training_negatives_avoid_train_positives_and_are_seeded():
    split = temporal_split(synthetic_graph(300, 150, 5000, seed=1))
    users = split.train[0]
    a = sample_negatives(split, users, 4, torch.Generator().manual_seed(7))
    b = sample_negatives(split, users, 4, torch.Generator().manual_seed(7))
    assert torch.equal(a, b)
    keys = set(split.train_keys.tolist())
    bad = pair_keys(users.view(-1, 1).expand_as(a), a, split.num_movies)
    assert not any(k in keys for k in bad.view(-1).tolist())
    # roughly uniform over allowed movies: every movie drawn, none far too often
    counts = torch.bincount(a.view(-1), minlength=split.num_movies).float()
    assert (counts > 0).all() and counts.max() < 3 * counts.mean()
    # in chunks (bounded memory on large graphs): still valid, seeded, and as uniform
    c = sample_negatives(split, users, 4, torch.Generator().manual_seed(7), chunk=1000)
    assert c.shape == a.shape and not torch.equal(c, a)
    assert torch.equal(
        c, sample_negatives(split, users, 4, torch.Generator().manual_seed(7), chunk=1000)
    )
    bad = pair_keys(users.view(-1, 1).expand_as(c), c, split.num_movies)
    assert not any(k in keys for k in bad.view(-1).tolist())
    counts = torch.bincount(c.view(-1), minlength=split.num_movies).float()
    assert (counts > 0).all() and counts.max() < 3 * counts.mean()


def test_samplers_shapes_and_labels():
    split = temporal_split(synthetic_graph(100, 80, 2000, seed=2))
    u, m, y = PointwiseSampler(split, 3).epoch(torch.Generator().manual_seed(0))
    n = split.train.size(1)
    assert u.numel() == m.numel() == y.numel() == 4 * n
    assert int(y.sum()) == n
    pos_keys = set(split.train_keys.tolist())
    keys = pair_keys(u, m, split.num_movies).tolist()
    assert all((k in pos_keys) == bool(lab) for k, lab in zip(keys, y.tolist(), strict=True))
    u2, p, q = PairwiseSampler(split).epoch(torch.Generator().manual_seed(0))
    assert u2.numel() == n
    assert all(k in pos_keys for k in pair_keys(u2, p, split.num_movies).tolist())
    assert not any(k in pos_keys for k in pair_keys(u2, q, split.num_movies).tolist())


def test_sampled_candidates_are_distinct_never_rated_and_drawn_once():
    split = temporal_split(synthetic_graph(150, 300, 6000, seed=4))
    c = sampled_candidates(split, "test", 99, seed=5)
    assert c.shape == (split.test.size(1), 100)
    assert torch.equal(c[:, 0], split.test[1])
    rated = set(split.rated_keys.tolist())
    for row, u in zip(c.tolist(), split.test[0].tolist(), strict=True):
        assert len(set(row)) == 100
        assert not any(u * split.num_movies + m in rated for m in row[1:])
    assert sampled_candidates(split, "test", 99, seed=5) is c  # cached: drawn once
    assert not torch.equal(sampled_candidates(split, "test", 99, seed=6), c)


class _Oracle(Recommender):
    """Scores the held-out test movie highest: the perfect model for the test stage."""

    def __init__(self, split):
        super().__init__(split.num_users, split.num_movies)
        self.table = torch.zeros(split.num_users, split.num_movies)
        self.table[split.test[0], split.test[1]] = 1.0
        self.remember_seen(split)

    def score(self, users, movies):
        return self.table[users, movies]

    def score_all(self, users):
        return self.table[self.check_users(users)]


class _Constant(_Oracle):
    def score_all(self, users):
        return torch.zeros(len(users), self.num_movies)

    def score(self, users, movies):
        return torch.zeros(len(users))


@pytest.mark.parametrize("protocol", ["sampled", "full"])
def test_oracle_and_constant_models(protocol):
    split = temporal_split(synthetic_graph(200, 400, 4000, seed=5))
    best = evaluate(_Oracle(split), split, "test", protocol)
    assert best["hr@10"] == 1.0 and best["ndcg@10"] == 1.0 and best["mrr"] == 1.0
    assert best["protocol"] == protocol and best["users"] == split.test.size(1)
    worst = evaluate(_Constant(split), split, "test", protocol)
    assert worst["hr@10"] == 0.0  # ties count against the target


def test_full_protocol_excludes_train_and_valid_movies():
    split = temporal_split(checkerboard_graph(2, 6))

    class Loves(_Oracle):  # scores every train movie and the valid movie above the target
        def score_all(self, users):
            s = torch.zeros(len(users), self.num_movies)
            s[:, :] = -1.0
            rows = {u: i for i, u in enumerate(users.tolist())}
            for u, m in split.train.t().tolist():
                if u in rows:
                    s[rows[u], m] = 10.0
            for u, m in split.valid.t().tolist():
                if u in rows:
                    s[rows[u], m] = 9.0
            for u, m in split.test.t().tolist():
                if u in rows:
                    s[rows[u], m] = 5.0
            return s

    m = evaluate(Loves(split), split, "test", "full", k=1)
    assert m["hr@1"] == 1.0


def test_unknown_protocol_and_stage():
    split = temporal_split(synthetic_graph(50, 40, 500, seed=0))
    with pytest.raises(ValueError, match="unknown protocol"):
        evaluate(_Oracle(split), split, "test", "sampled-100")
    with pytest.raises(ValueError, match="stage"):
        evaluate(_Oracle(split), split, "train", "full")


def test_negatives_for_a_user_who_rated_almost_everything(tiny):
    split = temporal_split(tiny)
    # user index 1 rated movies 2, 3, 1 of 4: the only movie it never rated is index 3
    neg = sample_negatives(
        split, torch.tensor([1]), 50, torch.Generator().manual_seed(0), exclude="rated"
    )
    assert neg.unique().tolist() == [3]
    with pytest.raises(ValueError, match="every movie"):  # user index 0 rated all 4
        sample_negatives(split, torch.tensor([0]), 5, exclude="rated")


@pytest.mark.parametrize("k", [0, 1, 3])
def test_pointwise_epoch_is_the_shuffled_concatenation(k):
    """The epoch indexes through the permutation instead of concatenating first: the same
    samples as shuffling [positives; negatives] with the same generator."""
    split = temporal_split(synthetic_graph(80, 60, 900, seed=2))
    users, movies, labels = PointwiseSampler(split, k).epoch(torch.Generator().manual_seed(5))
    gen = torch.Generator().manual_seed(5)
    u, m = split.train
    neg = sample_negatives(split, u, k, gen)
    ref_u = torch.cat([u, u.repeat_interleave(k)])
    ref_m = torch.cat([m, neg.reshape(-1)])
    ref_y = torch.cat([torch.ones(u.numel()), torch.zeros(neg.numel())])
    perm = torch.randperm(ref_u.numel(), generator=gen)
    assert torch.equal(users, ref_u[perm]) and torch.equal(movies, ref_m[perm])
    assert torch.equal(labels, ref_y[perm])


def test_global_time_split_one_cut_for_everyone():
    from graphrec.data.split import global_time_split
    from graphrec.data.synthetic import synthetic_graph

    data = synthetic_graph(60, 300, 1500, seed=3)
    s = global_time_split(data)
    t_valid, t_test = s.cuts["t_valid"], s.cuts["t_test"]
    store = data["user", "rates", "movie"]
    key = {
        (int(u), int(m)): int(t) for (u, m), t in zip(store.edge_index.T, store.time, strict=True)
    }
    assert max(key[(int(u), int(m))] for u, m in s.train.T) < t_valid
    assert all(t_valid <= key[(int(u), int(m))] < t_test for u, m in s.valid.T)
    assert all(key[(int(u), int(m))] >= t_test for u, m in s.test.T)
    assert s.valid[0].tolist() == s.test[0].tolist() and s.summary()["split"] == "global-time"
    ptr, movies = s.test_exclude
    assert ptr[-1] == movies.numel()
