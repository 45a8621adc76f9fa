"""Negative sampling for training and evaluation candidates, vectorised and seeded.

- :func:`sample_negatives`: ``k`` movies per user, uniform over movies the user has no train
  interaction with (rejection sampling against sorted pair keys; redrawn each call).
- :class:`PointwiseSampler`: each epoch, every train positive plus ``k`` fresh negatives,
  shuffled, as (users, movies, labels) tensors for BCE training.
- :class:`PairwiseSampler`: each epoch, (user, positive, negative) triples for BPR training.
- :class:`RatingSampler`: each epoch, the train edges with their ratings, shuffled (MSE).
- :func:`sampled_candidates`: the ``sampled`` evaluation protocol: for every evaluated user, the
  held-out movie plus ``num_negatives`` (default 99) distinct movies the user never rated,
  drawn once from ``seed``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from graphrec.data.split import InteractionSplit, isin_sorted, pair_keys

__all__ = [
    "sample_negatives",
    "PointwiseSampler",
    "PairwiseSampler",
    "RatingSampler",
    "sampled_candidates",
]


def sample_negatives(
    split: InteractionSplit,
    users: Tensor,
    k: int,
    generator: torch.Generator | None = None,
    exclude: str = "train",
    max_rounds: int = 20,
    chunk: int = 1 << 23,
) -> Tensor:
    """[len(users), k] movies drawn uniformly (with replacement) among those each user has no
    interaction with (``exclude='train'``: train positives; ``'rated'``: any rating).

    Draws are made ``chunk`` at a time (whole users per chunk), which bounds the temporary
    memory on large graphs; below ``chunk`` draws there is one chunk, so the numbers do not
    depend on it there.
    """
    if exclude not in ("train", "rated"):
        raise ValueError(f"exclude must be 'train' or 'rated', not {exclude!r}")
    keys = split.train_keys if exclude == "train" else split.rated_keys
    per = max(1, chunk // max(k, 1))  # users per chunk
    if users.numel() <= per:
        return _draw(split, users, k, keys, generator, max_rounds)
    out = torch.empty(users.numel(), k, dtype=torch.long)
    for start in range(0, users.numel(), per):
        part = users[start : start + per]
        out[start : start + part.numel()] = _draw(split, part, k, keys, generator, max_rounds)
    return out


def _draw(
    split: InteractionSplit,
    users: Tensor,
    k: int,
    keys: Tensor,
    generator: torch.Generator | None,
    max_rounds: int,
) -> Tensor:
    """One chunk of :func:`sample_negatives`: rejection rounds, then exact draws."""
    n = users.numel()
    out = torch.randint(split.num_movies, (n * k,), generator=generator)
    flat_users = users.repeat_interleave(k)
    idx = torch.arange(n * k)
    for _ in range(max_rounds):
        still = isin_sorted(pair_keys(flat_users[idx], out[idx], split.num_movies), keys)
        idx = idx[still]
        if idx.numel() == 0:
            return out.view(n, k)
        out[idx] = torch.randint(split.num_movies, (idx.numel(),), generator=generator)
    # users who interacted with almost every movie: draw the rest exactly from the complement
    for i in idx.tolist():
        u = int(flat_users[i])
        lo = int(torch.searchsorted(keys, torch.tensor(u * split.num_movies)))
        hi = int(torch.searchsorted(keys, torch.tensor((u + 1) * split.num_movies)))
        free = split.num_movies - (hi - lo)
        if free <= 0:
            raise ValueError(f"user {u} has interacted with every movie: no negative exists")
        r = int(torch.randint(free, (1,), generator=generator))
        taken = keys[lo:hi] - u * split.num_movies  # sorted movies of this user
        # the r-th free movie is r + (number of taken movies t with t - rank(t) <= r)
        out[i] = r + int((taken - torch.arange(taken.numel()) <= r).sum())
    return out.view(n, k)


class PointwiseSampler:
    """Train positives with ``k`` uniform negatives each, redrawn every epoch.

    Args:
        split: the interaction split.
        num_negatives: negatives per positive (default 4, as in the NCF paper).
    """

    def __init__(self, split: InteractionSplit, num_negatives: int = 4) -> None:
        if num_negatives < 0:
            raise ValueError(f"num_negatives must be >= 0, not {num_negatives}")
        self.split, self.k = split, num_negatives

    def __len__(self) -> int:
        return self.split.train.size(1) * (1 + self.k)

    def epoch(self, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """Shuffled ``(users [N], movies [N], labels [N] float)`` for one epoch."""
        u, m = self.split.train
        neg = sample_negatives(self.split, u, self.k, generator)
        n = u.numel()
        # Position j of the unshuffled epoch is positive j (j < n) or negative j - n, whose
        # user is u[(j - n) // k]. Indexing through the permutation directly, rather than
        # concatenating users / movies / labels first, keeps fewer epoch-sized tensors alive
        # at once (the same numbers as shuffling the concatenation).
        perm = torch.randperm(n * (1 + self.k), generator=generator)
        positive = perm < n
        labels = positive.float()
        src = torch.where(positive, perm, (perm - n).div_(max(self.k, 1), rounding_mode="floor"))
        users = u[src]
        del src
        movies = torch.cat([m, neg.reshape(-1)])[perm]
        return users, movies, labels

    def shard(
        self,
        positions: Tensor,
        generator: torch.Generator | None = None,
        negative_generator: torch.Generator | None = None,
    ) -> tuple[Tensor, Tensor, Tensor]:
        """The examples at ``positions`` of an epoch shuffled by ``generator`` (the same on
        every rank), negatives drawn from ``negative_generator`` (one per rank) for these
        positions alone: one rank's part of a data-parallel epoch
        (:func:`graphrec.distributed.epoch_shard`)."""
        u, m = self.split.train
        n = u.numel()
        idx = torch.randperm(len(self), generator=generator)[positions]
        positive = idx < n
        src = torch.where(positive, idx, (idx - n).div(max(self.k, 1), rounding_mode="floor"))
        users = u[src]
        movies = m[src].clone()
        neg = ~positive
        if bool(neg.any()):
            movies[neg] = sample_negatives(self.split, users[neg], 1, negative_generator).view(-1)
        return users, movies, positive.float()


class PairwiseSampler:
    """(user, positive, negative) triples for BPR, one negative per train positive per epoch."""

    def __init__(self, split: InteractionSplit, num_negatives: int = 1) -> None:
        if num_negatives < 1:
            raise ValueError(f"num_negatives must be >= 1, not {num_negatives}")
        self.split, self.k = split, num_negatives

    def __len__(self) -> int:
        return self.split.train.size(1) * self.k

    def epoch(self, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """Shuffled ``(users [N], positives [N], negatives [N])``."""
        u, m = self.split.train
        neg = sample_negatives(self.split, u, self.k, generator).reshape(-1)
        users, pos = u.repeat_interleave(self.k), m.repeat_interleave(self.k)
        perm = torch.randperm(users.numel(), generator=generator)
        return users[perm], pos[perm], neg[perm]

    def shard(
        self,
        positions: Tensor,
        generator: torch.Generator | None = None,
        negative_generator: torch.Generator | None = None,
    ) -> tuple[Tensor, Tensor, Tensor]:
        """The triples at ``positions`` of an epoch shuffled by ``generator``, negatives
        from ``negative_generator`` for these triples alone (see
        :meth:`PointwiseSampler.shard`)."""
        u, m = self.split.train
        src = torch.randperm(len(self), generator=generator)[positions].div(
            self.k, rounding_mode="floor"
        )
        users = u[src]
        neg = sample_negatives(self.split, users, 1, negative_generator).view(-1)
        return users, m[src], neg


class RatingSampler:
    """The train edges with their ratings, shuffled each epoch, for a rating (MSE) objective."""

    def __init__(self, split: InteractionSplit) -> None:
        if split.train_rating.numel() != split.train.size(1):
            raise ValueError("the split has no train ratings to fit")
        self.split = split

    def __len__(self) -> int:
        return self.split.train.size(1)

    def epoch(self, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """Shuffled ``(users [N], movies [N], ratings [N] float)``."""
        u, m = self.split.train
        perm = torch.randperm(u.numel(), generator=generator)
        return u[perm], m[perm], self.split.train_rating.float()[perm]

    def shard(
        self,
        positions: Tensor,
        generator: torch.Generator | None = None,
        negative_generator: torch.Generator | None = None,
    ) -> tuple[Tensor, Tensor, Tensor]:
        """The edges at ``positions`` of an epoch shuffled by ``generator`` (no negatives)."""
        u, m = self.split.train
        src = torch.randperm(len(self), generator=generator)[positions]
        return u[src], m[src], self.split.train_rating.float()[src]


def sampled_candidates(
    split: InteractionSplit,
    stage: str = "test",
    num_negatives: int = 99,
    seed: int = 0,
    chunk: int = 4096,
) -> Tensor:
    """[U, 1 + num_negatives] candidates per evaluated user; column 0 is the held-out movie.

    Negatives are distinct and drawn uniformly from the movies the user never rated (in any
    split). The result is cached on the split, so a protocol is drawn once per seed.
    """
    key = ("sampled", stage, num_negatives, seed)
    if key in split._cache:
        return split._cache[key]
    held = split.held_out(stage)
    users, target = held
    gen = torch.Generator().manual_seed(seed)
    rows = []
    for start in range(0, users.numel(), chunk):
        u = users[start : start + chunk]
        noise = torch.rand(u.numel(), split.num_movies, generator=gen)
        # mask every movie these users rated (train, valid, test and non-positives)
        inv = torch.full((split.num_users,), -1, dtype=torch.long)
        inv[u] = torch.arange(u.numel())
        row = inv[split.rated_keys // split.num_movies]
        sel = row >= 0
        noise[row[sel], split.rated_keys[sel] % split.num_movies] = 2.0
        available = (noise < 2.0).sum(1)
        if int(available.min()) < num_negatives:
            raise ValueError(
                f"a user has rated all but {int(available.min())} movies; cannot draw "
                f"{num_negatives} negatives (use protocol 'full' or fewer negatives)"
            )
        neg = torch.topk(noise, num_negatives, dim=1, largest=False).indices
        rows.append(torch.cat([target[start : start + chunk].view(-1, 1), neg], 1))
    out = torch.cat(rows) if rows else torch.empty(0, 1 + num_negatives, dtype=torch.long)
    split._cache[key] = out
    return out
