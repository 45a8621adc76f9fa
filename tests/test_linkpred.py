"""Our ranking metrics against PyG's ``LinkPred*`` metrics, the beyond-accuracy measures and
the benchmark's significance column, on hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch_geometric.metrics import LinkPredHitRatio, LinkPredMRR, LinkPredNDCG

from graphrec import benchmark
from graphrec.data import temporal_split
from graphrec.data.synthetic import synthetic_graph
from graphrec.evaluate import full_ranking
from graphrec.metrics import beyond_accuracy, ranking_metrics, ranks_from_scores


def _pyg(top: torch.Tensor, target: torch.Tensor, k: int) -> dict[str, float]:
    """PyG's HR@K, NDCG@K and MRR@K of top-K lists, one relevant item per user."""
    labels = torch.stack([torch.arange(target.numel()), target])
    out = {}
    for name, cls in (("hr", LinkPredHitRatio), ("ndcg", LinkPredNDCG), ("mrr", LinkPredMRR)):
        metric = cls(k)
        metric.update(top, labels)
        out[name] = float(metric.compute())
    return out


def test_hand_made_ranking_equals_pyg_linkpred():
    # 4 users x 12 movies, distinct scores; the targets sit at ranks 0, 3, 9 and 11
    base = torch.arange(12, 0, -1).float()  # movie j has the (j)-th best score
    scores = base.repeat(4, 1)
    target = torch.tensor([0, 3, 9, 11])
    ranks = ranks_from_scores(scores, target)
    assert ranks.tolist() == [0, 3, 9, 11]
    ours = ranking_metrics(ranks, 10)
    theirs = _pyg(scores.topk(10, dim=1).indices, target, 10)
    hr = 3 / 4
    ndcg = (1 + 1 / math.log2(5) + 1 / math.log2(11) + 0) / 4
    mrr_at_10 = (1 + 1 / 4 + 1 / 10 + 0) / 4
    assert ours["hr@10"] == pytest.approx(hr) and theirs["hr"] == pytest.approx(hr)
    assert ours["ndcg@10"] == pytest.approx(ndcg) and theirs["ndcg"] == pytest.approx(ndcg)
    # PyG's MRR is MRR@K (0 past the K-th); ours runs over the whole list (1/12 for rank 11)
    assert theirs["mrr"] == pytest.approx(mrr_at_10)
    assert ours["mrr"] == pytest.approx(mrr_at_10 + 1 / 12 / 4)
    capped = float(torch.where(ranks < 10, 1.0 / (ranks + 1.0), 0.0).mean())
    assert capped == pytest.approx(theirs["mrr"])


class _Fixed:
    """A model whose ``score_all`` is a fixed random matrix with distinct scores."""

    def __init__(self, num_users: int, num_movies: int, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.scores = torch.randperm(num_users * num_movies, generator=g).float()
        self.scores = self.scores.view(num_users, num_movies)

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        return self.scores[users]


def test_full_ranking_metrics_equal_pyg_linkpred():
    """On the ``full`` protocol of a real split (train movies excluded), our HR@10 / NDCG@10
    from the ranks equal PyG's on the top-10 lists of the same pass; MRR at the cut-off."""
    split = temporal_split(synthetic_graph(40, 120, 900, seed=2))
    model = _Fixed(split.num_users, split.num_movies)
    ranks, top = full_ranking(model, split, "test", k=10)
    target = split.test[1]
    ours = ranking_metrics(ranks, 10)
    theirs = _pyg(top, target, 10)
    assert ours["hr@10"] == pytest.approx(theirs["hr"], abs=1e-6)
    assert ours["ndcg@10"] == pytest.approx(theirs["ndcg"], abs=1e-6)
    capped = float(torch.where(ranks < 10, 1.0 / (ranks + 1.0), 0.0).mean())
    assert capped == pytest.approx(theirs["mrr"], abs=1e-6)
    assert 0 < theirs["hr"] < 1  # the case has both hits and misses


def test_coverage_popularity_novelty_by_hand():
    popularity = torch.tensor([4, 2, 1, 0, 1])  # train interactions of 5 movies; 4 train users
    top = torch.tensor([[0, 1], [0, 2]])
    m = beyond_accuracy(top, popularity, num_train_users=4, k=2)
    assert m["coverage@2"] == pytest.approx(3 / 5)  # movies 0, 1, 2 of 5
    assert m["avg_popularity@2"] == pytest.approx((4 + 2 + 4 + 1) / 4)
    # -log2(4/4), -log2(2/4), -log2(4/4), -log2(1/4)
    assert m["novelty@2"] == pytest.approx((0 + 1 + 0 + 2) / 4)
    # a movie with no train interaction counts as one: -log2(1/4) = 2, not infinite
    m = beyond_accuracy(torch.tensor([[3, 1, 0]]), popularity, num_train_users=4, k=2)
    assert m["coverage@2"] == pytest.approx(2 / 5)  # only the first K of each list count
    assert m["avg_popularity@2"] == pytest.approx(1.0)
    assert m["novelty@2"] == pytest.approx(1.5)
    with pytest.raises(ValueError, match="topk must be"):
        beyond_accuracy(top, popularity, 4, k=3)


def _summary(per_user: dict) -> list[dict]:
    out = []
    for name in dict.fromkeys(m for m, _, _ in per_user):
        s = {"model": name}
        for p in benchmark.PROTOCOLS:
            vals = np.concatenate([v for (m, _, pr), v in per_user.items() if (m, pr) == (name, p)])
            s[f"{p}_ndcg@10_mean"] = float(vals.mean())
        out.append(s)
    return out


def test_significance_small_p_for_a_clearly_better_model_and_one_for_twins():
    rng = np.random.default_rng(0)
    per_user = {}
    for seed in (0, 1):
        good = rng.uniform(0.3, 1.0, 40)
        for p in benchmark.PROTOCOLS:
            per_user[("Good", seed, p)] = good
            per_user[("Worse", seed, p)] = good - rng.uniform(0.05, 0.2, 40)
            per_user[("WorseTwin", seed, p)] = per_user[("Worse", seed, p)].copy()
    sig = benchmark.significance(_summary(per_user), per_user)
    for p in benchmark.PROTOCOLS:
        t = sig[p]
        assert t["best"] == "Good" and t["p"]["Good"] is None
        assert t["test"] == "Wilcoxon signed-rank, paired over (seed, user), vs Good"
        # 80 pairs, all in Good's favour: the exact two-sided p is 2 / 2**80
        assert t["p"]["Worse"] < 1e-10 and t["p"]["WorseTwin"] == t["p"]["Worse"]
        assert t["pairs"]["Worse"] == 80

    # two identical models: the second against the best (the first) has p = 1, not NaN
    twins = {k: v for k, v in per_user.items() if k[0] != "Good"}
    sig = benchmark.significance(_summary(twins), twins)
    assert sig["full"]["best"] == "Worse"
    assert sig["full"]["p"] == {"Worse": None, "WorseTwin": 1.0}
    table = benchmark.markdown_table(
        [{**s, "seeds": 2, "train_seconds_mean": 0.0, "train_seconds_std": 0.0}
         | {f"{c}_{x}": 0.5 for c in benchmark.metric_columns() for x in ("mean", "std")}
         for s in _summary(twins)],
        sig=sig,
    )  # fmt: skip
    assert "p sampled NDCG@10 | p full NDCG@10" in table
    assert "| Worse | 2 |" in table and " — | — |" in table and "| 1 | 1 |" in table


def test_significance_rejects_models_evaluated_on_other_users():
    per_user = {
        ("A", 0, "sampled"): np.ones(5),
        ("B", 0, "sampled"): np.zeros(4),
        ("A", 0, "full"): np.ones(5),
        ("B", 0, "full"): np.zeros(5),
    }
    with pytest.raises(ValueError, match="different users"):
        benchmark.significance(_summary(per_user), per_user)
