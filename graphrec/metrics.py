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

__all__ = [
    "ranks_from_scores",
    "hit_ratio",
    "ndcg",
    "ndcg_per_user",
    "mrr",
    "recall_at_k",
    "ranking_metrics",
    "beyond_accuracy",
]


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


def ndcg_per_user(ranks: Tensor, k: int) -> Tensor:
    """[B] float64 NDCG@K of each user for one relevant item: 1 / log2(rank + 2) where
    rank < K, else 0 (the vectors the benchmark's paired significance test compares)."""
    gain = 1.0 / torch.log2(ranks.double() + 2.0)
    return torch.where(ranks < k, gain, torch.zeros_like(gain))


def ndcg(ranks: Tensor, k: int) -> Tensor:
    """NDCG@K for one relevant item: mean of 1 / log2(rank + 2) where rank < K, else 0."""
    return ndcg_per_user(ranks, k).mean().float()


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


def beyond_accuracy(
    topk: Tensor, popularity: Tensor, num_train_users: int, k: int = 10
) -> dict[str, float]:
    """Catalogue coverage, average popularity and novelty of top-K lists.

    Args:
        topk: [U, >= K] each evaluated user's recommended movies, best first (the ``full``
            protocol's lists, :func:`graphrec.evaluate.full_ranking`).
        popularity: [num_movies] train interactions per movie
            (:meth:`~graphrec.data.split.InteractionSplit.train_degree`); its length is the
            catalogue size.
        num_train_users: users with at least one train interaction.
        k: the list length K.

    Returns ``coverage@k``, ``avg_popularity@k`` and ``novelty@k``:

    - coverage@K: the fraction of **all** movies of the catalogue (``len(popularity)``) that
      appear in at least one user's top-K: ``torch_geometric.metrics.LinkPredCoverage``.
    - average popularity@K (ARP, in train interactions per movie): the mean over users of the
      mean train-interaction count of the K recommended movies, which is the mean over every
      recommended (user, movie) slot since every list has K movies:
      ``torch_geometric.metrics.LinkPredAveragePopularity``.
    - novelty@K (in bits): the mean self-information ``-log2(pop_i / num_train_users)`` of the
      recommended movies (Zhou et al., PNAS 2010), a movie's popularity read as the share of
      train users who interacted with it. PyG has no such metric. A recommended movie with no
      train interaction (a model that scores by features can rank one) counts as having one,
      so its self-information is ``log2(num_train_users)``, not infinite.
    """
    from torch_geometric.metrics import LinkPredAveragePopularity, LinkPredCoverage

    if topk.dim() != 2 or topk.size(1) < k:
        raise ValueError(f"topk must be [U, >= {k}], got {list(topk.shape)}")
    if topk.size(0) == 0:
        raise ValueError("no top-K lists to score: the evaluation set is empty")
    if num_train_users < 1:
        raise ValueError("num_train_users must be >= 1")
    top = topk[:, :k].long().cpu()
    pop = popularity.long().cpu()
    no_labels = torch.zeros(2, 0, dtype=torch.long)  # neither metric reads the labels
    cov = LinkPredCoverage(k, num_dst_nodes=pop.numel())
    cov.update(top, no_labels)
    arp = LinkPredAveragePopularity(k, popularity=pop.double())
    arp.update(top, no_labels)
    share = pop[top].clamp(min=1).double() / float(num_train_users)
    return {
        f"coverage@{k}": float(cov.compute()),
        f"avg_popularity@{k}": float(arp.compute()),
        f"novelty@{k}": float((-torch.log2(share)).mean()),
    }
