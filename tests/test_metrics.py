"""Metrics against hand-computed values."""

import math

import pytest
import torch

from graphrec.metrics import hit_ratio, mrr, ndcg, ranking_metrics, ranks_from_scores, recall_at_k


def test_ranks_are_pessimistic_on_ties():
    scores = torch.tensor([[0.9, 0.5, 0.1], [0.2, 0.2, 0.2], [0.1, 0.3, 0.2]])
    ranks = ranks_from_scores(scores, torch.tensor([0, 1, 0]))
    assert ranks.tolist() == [0, 2, 2]  # ties count against the target


def test_ranks_ignore_masked_candidates_and_reject_masked_target():
    scores = torch.tensor([[float("-inf"), 0.5, 0.7]])
    assert ranks_from_scores(scores, torch.tensor([1])).tolist() == [1]
    with pytest.raises(ValueError, match="masked"):
        ranks_from_scores(scores, torch.tensor([0]))


def test_hit_ratio_and_ndcg_hand_computed():
    ranks = torch.tensor([0, 1, 9, 10, 50])
    assert hit_ratio(ranks, 10).item() == pytest.approx(3 / 5)
    expected = (1 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(11)) / 5
    assert ndcg(ranks, 10).item() == pytest.approx(expected, rel=1e-6)
    assert ndcg(ranks, 1).item() == pytest.approx(1 / 5)
    assert mrr(ranks).item() == pytest.approx((1 + 1 / 2 + 1 / 10 + 1 / 11 + 1 / 51) / 5)


def test_recall_with_several_relevant_items():
    hits = torch.tensor([[True, False, True], [False, False, False], [True, True, True]])
    rel = torch.tensor([4, 2, 3])
    assert recall_at_k(hits, rel).item() == pytest.approx((2 / 4 + 0 + 1) / 3)
    with pytest.raises(ValueError):
        recall_at_k(hits, torch.zeros(3))


def test_ranking_metrics_keys_and_empty_input():
    m = ranking_metrics(torch.tensor([0, 3]), k=2)
    assert m == pytest.approx({"hr@2": 0.5, "ndcg@2": 0.5, "recall@2": 0.5, "mrr": (1 + 1 / 4) / 2})
    with pytest.raises(ValueError, match="empty"):
        ranking_metrics(torch.tensor([], dtype=torch.long))
