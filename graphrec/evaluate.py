"""Evaluation protocols for any model that obeys the contract.

- ``sampled``: each evaluated user's held-out movie is ranked against ``num_negatives``
  (default 99) movies the user never rated, drawn once from ``seed`` (1 positive + 99
  negatives; RecBole's ``uni100`` is the nearly identical 1 + 100).
- ``full``: the held-out movie is ranked against every movie, with the user's train movies
  excluded (and, for ``test``, the user's valid movie too).

Ranks are pessimistic (ties count against the target), see :mod:`graphrec.metrics`.
"""

from __future__ import annotations

import time

import torch
from torch import Tensor

from graphrec.data.sampling import sampled_candidates
from graphrec.data.split import InteractionSplit, csr_entries
from graphrec.metrics import ranking_metrics, ranks_from_scores

__all__ = ["PROTOCOLS", "evaluate", "evaluate_ranks", "full_ranking"]

PROTOCOLS = ("sampled", "full")


@torch.no_grad()
def evaluate_ranks(
    model,
    split: InteractionSplit,
    stage: str = "test",
    protocol: str = "sampled",
    num_negatives: int = 99,
    seed: int = 0,
    batch_size: int = 1024,
) -> Tensor:
    """[U] 0-based pessimistic ranks of each evaluated user's held-out movie."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; choose one of {PROTOCOLS}")
    users, target = split.held_out(stage)
    if users.numel() == 0:
        raise ValueError(f"the {stage} set is empty (every user has fewer than 3 positives)")
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    ranks = []
    try:
        if protocol == "sampled":
            cands = sampled_candidates(split, stage, num_negatives, seed)
            for s in range(0, users.numel(), batch_size):
                u, c = users[s : s + batch_size], cands[s : s + batch_size]
                scores = model.score(u.repeat_interleave(c.size(1)), c.reshape(-1))
                scores = scores.view(c.shape).float().cpu()
                ranks.append(ranks_from_scores(scores, torch.zeros(len(u), dtype=torch.long)))
        else:
            for s, scores in _full_scores(model, split, stage, batch_size):
                ranks.append(ranks_from_scores(scores, target[s : s + batch_size]))
    finally:
        if was_training:
            model.train()
    return torch.cat(ranks)


def _full_scores(model, split: InteractionSplit, stage: str, batch_size: int):
    """Yield ``(start, scores [B, num_movies])`` of the evaluated users of ``stage``, with the
    movies the protocol excludes at ``-inf``: the user's train movies, for ``test`` the user's
    valid movie, and the split's own extra exclusions of that stage
    (:meth:`InteractionSplit.eval_exclusions`, empty for leave-one-out)."""
    users, _ = split.held_out(stage)
    other = split.valid if stage == "test" else None
    extra = split.eval_exclusions(stage)
    for s in range(0, users.numel(), batch_size):
        u = users[s : s + batch_size]
        scores = model.score_all(u).float().cpu().clone()
        rows, cols = csr_entries(split.train_ptr, split.train_movies, u)
        scores[rows, cols] = float("-inf")
        if other is not None:
            # each test user has a valid movie at the same position (same users)
            scores[torch.arange(u.numel()), other[1, s : s + batch_size]] = float("-inf")
        if extra is not None:
            ptr, movies = extra
            pos = torch.arange(s, s + u.numel())
            rows, cols = csr_entries(ptr, movies, pos)
            scores[rows, cols] = float("-inf")
        yield s, scores


@torch.no_grad()
def full_ranking(
    model, split: InteractionSplit, stage: str = "test", k: int = 10, batch_size: int = 1024
) -> tuple[Tensor, Tensor]:
    """The ``full`` protocol's ranks and recommendations in one pass.

    Returns ``(ranks [U], topk [U, K])``: the pessimistic 0-based rank of each evaluated user's
    held-out movie, and the K best-scored movies the protocol leaves as candidates (the user's
    top-K list, from which coverage, popularity and novelty are measured).
    """
    users, target = split.held_out(stage)
    if users.numel() == 0:
        raise ValueError(f"the {stage} set is empty (every user has fewer than 3 positives)")
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    ranks, tops = [], []
    try:
        for s, scores in _full_scores(model, split, stage, batch_size):
            ranks.append(ranks_from_scores(scores, target[s : s + batch_size]))
            tops.append(scores.topk(k, dim=1).indices)
    finally:
        if was_training:
            model.train()
    return torch.cat(ranks), torch.cat(tops)


def evaluate(
    model,
    split: InteractionSplit,
    stage: str = "test",
    protocol: str = "sampled",
    k: int = 10,
    num_negatives: int = 99,
    seed: int = 0,
    batch_size: int = 1024,
) -> dict:
    """HR@K, NDCG@K, Recall@K and MRR of ``model`` under a named protocol.

    Returns a dict with the metrics plus ``protocol``, ``stage``, ``users`` and ``seconds``
    (and ``negatives`` for ``sampled``).
    """
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be an integer >= 1, not {k!r}")
    if protocol == "sampled" and k > num_negatives:
        raise ValueError(
            f"k={k} is not below the sampled protocol's {num_negatives + 1} candidates (1 + "
            f"{num_negatives} negatives), so HR@{k} would be 1 for every model; pass k <= "
            f"{num_negatives}, or protocol='full'"
        )
    t0 = time.perf_counter()
    ranks = evaluate_ranks(model, split, stage, protocol, num_negatives, seed, batch_size)
    out = ranking_metrics(ranks, k)
    out.update(
        protocol=protocol,
        stage=stage,
        users=int(ranks.numel()),
        seconds=round(time.perf_counter() - t0, 4),
    )
    if protocol == "sampled":
        out["negatives"] = num_negatives
    return out
