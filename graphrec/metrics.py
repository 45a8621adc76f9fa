"""Ranking metrics as pure tensor functions.

Conventions: a *rank* is 0-based (0 = the target is first). When the target ties with other
candidates, the ties are counted against it (the pessimistic rank): a model that gives every
movie the same score gets no hits, never a lucky one.

With one held-out movie per user (leave-one-out), HR@K equals Recall@K; :func:`recall_at_k`
also covers several relevant items per user.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["ranks_from_scores", "hit_ratio", "ndcg", "mrr", "recall_at_k", "ranking_metrics"]


def ranks_from_scores(scores: Tensor, target: Tensor) -> Tensor:
    """[B] pessimistic 0-based rank of ``scores[b, target[b]]`` within row b.

    Args:
        scores: [B, N] candidate scores; excluded candidates should hold ``-inf``.
        target: [B] column of the target in each row.
    """
    t = scores.gather(1, target.view(-1, 1))
    if torch.isnan(t).any() or torch.isinf(t).any():
        raise ValueError("a target score is NaN or infinite (was the target masked out?)")
    # greater + ties in one pass: every candidate >= the target, less the target itself
    return (scores >= t).sum(1) - 1


def hit_ratio(ranks: Tensor, k: int) -> Tensor:
    """HR@K = mean over users of [rank < K]."""
    return (ranks < k).float().mean()


def ndcg(ranks: Tensor, k: int) -> Tensor:
    """NDCG@K for one relevant item: mean of 1 / log2(rank + 2) where rank < K, else 0."""
    gain = 1.0 / torch.log2(ranks.double() + 2.0)
    return torch.where(ranks < k, gain, torch.zeros_like(gain)).mean().float()


def mrr(ranks: Tensor) -> Tensor:
    """Mean reciprocal rank, 1 / (rank + 1), over the full candidate list (no cut-off)."""
    return (1.0 / (ranks.double() + 1.0)).mean().float()


def recall_at_k(topk_hits: Tensor, num_relevant: Tensor) -> Tensor:
    """Recall@K = mean over users of (relevant items in the top K) / (relevant items).

    Args:
        topk_hits: [B, K] bool, whether the i-th recommended item is relevant.
        num_relevant: [B] number of relevant items per user (rows with 0 are skipped).
    """
    keep = num_relevant > 0
    if not keep.any():
        raise ValueError("no user has a relevant item; recall is undefined")
    return (topk_hits[keep].sum(1).double() / num_relevant[keep].double()).mean().float()


def ranking_metrics(ranks: Tensor, k: int = 10) -> dict[str, float]:
    """``hr@k``, ``ndcg@k``, ``recall@k`` and ``mrr`` from leave-one-out ranks."""
    if ranks.numel() == 0:
        raise ValueError("no ranks to score: the evaluation set is empty")
    hits = (ranks < k).view(-1, 1)
    return {
        f"hr@{k}": float(hit_ratio(ranks, k)),
        f"ndcg@{k}": float(ndcg(ranks, k)),
        f"recall@{k}": float(recall_at_k(hits, torch.ones(ranks.numel()))),
        "mrr": float(mrr(ranks)),
    }
