"""Implicit feedback and the temporal leave-one-out split.

Every rating is a positive (or every rating >= ``min_rating`` when a threshold is given).
For each user, positives are ordered by time; **ties in time are broken by a fixed
pseudo-random key of the (user id, movie id) pair** (:func:`tie_keys`, SplitMix64 of the raw
ids), so the split does not depend on the order of the rows in the file: a shuffled copy that
passes verification gives the same split and the same numbers. On ML-100K 415 of 943 users
have another rating in the second of their test rating, so the rule matters. Movie id would
also be order-free, but it is not neutral: ML-100K's ids follow the catalogue's order (the
popular films first), and breaking ties by it pushes the held-out movie towards obscure
titles (ItemPop's test HR@10 drops from about .41 to .32); the key is uncorrelated with
either id, like the (effectively random) order of ML-100K's ``u.data``. The latest positive
goes to ``test``, the second latest to ``valid``, the rest to ``train`` (each user's train
positives in the same order); users with fewer than three positives stay train-only. No
(user, movie) pair is in two splits: this is asserted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import HeteroData

from graphrec.data.graph import RATES
from graphrec.data.ids import IdMaps

__all__ = [
    "InteractionSplit",
    "temporal_split",
    "global_time_split",
    "SPLITS",
    "make_interaction_split",
    "tie_keys",
    "pair_keys",
    "isin_sorted",
    "csr_entries",
]

SPLITS = ("leave-one-out", "global-time")
GLOBAL_QUANTILES = (0.8, 0.9)  # (valid, test) cut times as quantiles of all rating times
TIE_BREAK = "SplitMix64 of (user id, movie id): independent of file order"


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser on uint64 (a bijection that scrambles every bit)."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def tie_keys(user_ids: Tensor, movie_ids: Tensor) -> np.ndarray:
    """[N] uint64 keys that order equal-time ratings: ``mix(mix(user) + movie)`` of the raw ids
    (SplitMix64), a fixed function of the pair, independent of row order. String ids
    (:func:`graphrec.data.load_interactions`) arrive here as the 64-bit hash that graph keeps
    in ``raw_id`` (:func:`graphrec.data.interactions.string_key`); integer ids are used as
    they are."""
    u = user_ids.cpu().numpy().astype(np.uint64)
    m = movie_ids.cpu().numpy().astype(np.uint64)
    with np.errstate(over="ignore"):
        return _splitmix64(_splitmix64(u) + m)


def pair_keys(users: Tensor, movies: Tensor, num_movies: int) -> Tensor:
    """Encode (user, movie) pairs as one int64 key ``user * num_movies + movie``."""
    return users.long() * num_movies + movies.long()


def isin_sorted(keys: Tensor, sorted_keys: Tensor) -> Tensor:
    """``keys[i] in sorted_keys`` for a sorted 1-D key tensor (vectorised binary search)."""
    if sorted_keys.numel() == 0:
        return torch.zeros_like(keys, dtype=torch.bool)
    pos = torch.searchsorted(sorted_keys, keys).clamp_(max=sorted_keys.numel() - 1)
    return sorted_keys[pos] == keys


def csr_entries(ptr: Tensor, indices: Tensor, users: Tensor) -> tuple[Tensor, Tensor]:
    """The CSR rows of ``users`` as coordinates: ``(rows [N], cols [N])`` where ``rows`` counts
    positions in ``users`` (0..len(users)-1) and ``cols`` are the stored indices (vectorised)."""
    lo = ptr[users]
    counts = ptr[users + 1] - lo
    rows = torch.repeat_interleave(torch.arange(users.numel(), device=users.device), counts)
    starts = torch.repeat_interleave(lo - torch.cumsum(counts, 0) + counts, counts)
    return rows, indices[torch.arange(int(counts.sum()), device=users.device) + starts]


@dataclass
class InteractionSplit:
    """Train/valid/test positives of one graph, plus the lookups samplers need.

    Attributes:
        num_users, num_movies: sizes of the graph.
        train: [2, E_train] (user, movie) positives, grouped by user in time order.
        valid, test: [2, U_eval] one held-out (user, movie) per evaluated user.
        train_rating, valid_rating, test_rating: the explicit ratings of those edges.
        train_keys: sorted keys of train positives (see :func:`pair_keys`).
        rated_keys: sorted keys of every rated pair in the data set, positive or not, in any
            split: evaluation negatives are drawn from movies a user never rated.
        train_ptr, train_movies: CSR of train movies per user ([num_users + 1], [E_train]).
        kind: ``"leave-one-out"`` (:func:`temporal_split`) or ``"global-time"``
            (:func:`global_time_split`); ``cuts`` holds the latter's cut times.
        valid_exclude, test_exclude: ``(ptr [U + 1], movies)``, a CSR over the positions of
            ``valid`` / ``test``: movies the ``full`` protocol also excludes for that user
            beyond train (and valid, for test); None for leave-one-out.
        ids: the graph's raw ids and titles (:class:`~graphrec.data.ids.IdMaps`), which a model
            takes from the split it is fitted on.
    """

    num_users: int
    num_movies: int
    train: Tensor
    valid: Tensor
    test: Tensor
    train_rating: Tensor
    valid_rating: Tensor
    test_rating: Tensor
    train_keys: Tensor
    rated_keys: Tensor
    train_ptr: Tensor
    train_movies: Tensor
    min_rating: float | None = None
    ids: IdMaps | None = None
    kind: str = "leave-one-out"
    cuts: dict | None = None
    valid_exclude: tuple[Tensor, Tensor] | None = None
    test_exclude: tuple[Tensor, Tensor] | None = None
    #: what the data's loader says the times and ratings are (own data: file order as time,
    #: implicit feedback), carried into :meth:`summary`; None for MovieLens
    source_notes: dict | None = None
    _cache: dict = field(default_factory=dict, repr=False)

    def held_out(self, stage: str) -> Tensor:
        """[2, U] the held-out pairs of ``stage`` (``valid`` or ``test``)."""
        if stage not in ("valid", "test"):
            raise ValueError(f"stage must be 'valid' or 'test', not {stage!r}")
        return self.valid if stage == "valid" else self.test

    def eval_exclusions(self, stage: str) -> tuple[Tensor, Tensor] | None:
        """The split's extra full-ranking exclusions of ``stage`` (see the attributes)."""
        self.held_out(stage)
        return self.valid_exclude if stage == "valid" else self.test_exclude

    def train_degree(self) -> Tensor:
        """[num_movies] number of train positives per movie (popularity)."""
        return torch.bincount(self.train[1], minlength=self.num_movies)

    def summary(self) -> dict:
        return {
            "train": int(self.train.size(1)),
            "valid": int(self.valid.size(1)),
            "test": int(self.test.size(1)),
            "users_evaluated": int(self.test.size(1)),
            "min_rating": self.min_rating,
            "split": self.kind,
            **({"cuts": self.cuts} if self.cuts else {}),
            "tie_break": TIE_BREAK,
            **(self.source_notes or {}),
        }


def temporal_split(data: HeteroData, min_rating: float | None = None) -> InteractionSplit:
    """Temporal leave-one-out over the ``('user', 'rates', 'movie')`` edges.

    Args:
        data: the graph from :func:`graphrec.data.load_movielens` (or a synthetic one).
        min_rating: if given, only ratings >= this value are positives; lower ratings are still
            "rated" and are never drawn as evaluation negatives.
    """
    store = data[RATES]
    ei, rating, ts = store.edge_index, store.rating.float(), store.time.long()
    num_users, num_movies = data["user"].num_nodes, data["movie"].num_nodes
    if ei.numel() == 0:
        raise ValueError("the graph has no ratings; nothing to split")
    rated_keys = torch.sort(pair_keys(ei[0], ei[1], num_movies)).values
    if (rated_keys[1:] == rated_keys[:-1]).any():
        raise ValueError("a (user, movie) pair is rated twice; deduplicate the ratings first")

    pos = (
        torch.arange(ei.size(1))
        if min_rating is None
        else torch.nonzero(rating >= min_rating).view(-1)
    )
    if pos.numel() == 0:
        raise ValueError(f"no rating is >= min_rating={min_rating}; lower the threshold")
    users, movies, r, t = ei[0, pos], ei[1, pos], rating[pos], ts[pos]
    # per user in time order, ties by the pair's fixed key: within a user the keys of distinct
    # movies differ (the mix is a bijection), so the order is total and ignores row order
    raw_u = data["user"].raw_id[users] if "raw_id" in data["user"] else users
    raw_m = data["movie"].raw_id[movies] if "raw_id" in data["movie"] else movies
    keys = (tie_keys(raw_u, raw_m), t.cpu().numpy(), users.cpu().numpy())
    order = torch.from_numpy(np.lexsort(keys)).to(users.device)
    users, movies, r = users[order], movies[order], r[order]

    count = torch.bincount(users, minlength=num_users)
    end = torch.cumsum(count, 0)  # one past each user's last positive
    eligible = count >= 3
    test_idx = end[eligible] - 1
    valid_idx = end[eligible] - 2
    mask = torch.ones(users.numel(), dtype=torch.bool)
    mask[test_idx] = False
    mask[valid_idx] = False

    train = torch.stack([users[mask], movies[mask]])
    valid = torch.stack([users[valid_idx], movies[valid_idx]])
    test = torch.stack([users[test_idx], movies[test_idx]])
    train_keys = torch.sort(pair_keys(train[0], train[1], num_movies)).values
    for name, part in (("valid", valid), ("test", test)):
        k = pair_keys(part[0], part[1], num_movies)
        assert not isin_sorted(k, train_keys).any(), f"leakage: a {name} pair is in train"
    assert not (
        pair_keys(valid[0], valid[1], num_movies) == pair_keys(test[0], test[1], num_movies)
    ).any(), "leakage: valid == test"

    train_ptr = torch.zeros(num_users + 1, dtype=torch.long)
    train_ptr[1:] = torch.cumsum(torch.bincount(train[0], minlength=num_users), 0)
    return InteractionSplit(
        num_users=num_users,
        num_movies=num_movies,
        train=train,
        valid=valid,
        test=test,
        train_rating=r[mask],
        valid_rating=r[valid_idx],
        test_rating=r[test_idx],
        train_keys=train_keys,
        rated_keys=rated_keys,
        train_ptr=train_ptr,
        train_movies=train[1].clone(),
        min_rating=min_rating,
        ids=IdMaps.from_graph(data) if "raw_id" in data["user"] else None,
        source_notes=_source_notes(data),
    )


def global_time_split(
    data: HeteroData,
    min_rating: float | None = None,
    valid_quantile: float = GLOBAL_QUANTILES[0],
    test_quantile: float = GLOBAL_QUANTILES[1],
) -> InteractionSplit:
    """Global temporal split: one cut time for every user (Meng, McCreadie, Macdonald & Ounis,
    "Exploring Data Splitting Strategies for the Evaluation of Recommendation Models", RecSys
    2020), so no train interaction happens after any evaluated one.

    With ``t_valid`` and ``t_test`` the ``valid_quantile`` and ``test_quantile`` quantiles of
    every rating's time (default 0.8 and 0.9, "lower" interpolation so a cut is a rating's
    time): train = positives with ``t < t_valid``; valid = each user's first positive with
    ``t_valid <= t < t_test``; test = each user's first positive with ``t >= t_test``
    (first by time, ties by :func:`tie_keys`). Only users with a train positive, a valid one
    and a test one are evaluated (the one-held-out-pair-per-user shape of
    :class:`InteractionSplit`, valid and test with the same users in the same order). Every
    other positive at or after ``t_valid`` is in no split: it stays rated (never drawn as a
    negative) and the ``full`` protocol excludes an evaluated user's such movies from the
    candidates of both stages (``valid_exclude`` / ``test_exclude``), as it excludes train.

    Args:
        data: the graph, with ``time`` on its ``rates`` edges.
        min_rating: as for :func:`temporal_split`.
        valid_quantile, test_quantile: the cut times, ``0 < valid_quantile < test_quantile < 1``.
    """
    if not 0.0 < valid_quantile < test_quantile < 1.0:
        raise ValueError(
            f"need 0 < valid_quantile < test_quantile < 1, got {valid_quantile}, "
            f"{test_quantile}; e.g. 0.8 and 0.9"
        )
    store = data[RATES]
    ei, rating, ts = store.edge_index, store.rating.float(), store.time.long()
    num_users, num_movies = data["user"].num_nodes, data["movie"].num_nodes
    if ei.numel() == 0:
        raise ValueError("the graph has no ratings; nothing to split")
    rated_keys = torch.sort(pair_keys(ei[0], ei[1], num_movies)).values
    if (rated_keys[1:] == rated_keys[:-1]).any():
        raise ValueError("a (user, movie) pair is rated twice; deduplicate the ratings first")
    all_t = ts.cpu().numpy()
    t_valid = int(np.quantile(all_t, valid_quantile, method="lower"))
    t_test = int(np.quantile(all_t, test_quantile, method="lower"))
    if not t_valid < t_test:
        raise ValueError(
            f"the cut times coincide (t_valid = t_test = {t_valid}): too few distinct rating "
            "times; move valid_quantile and test_quantile apart"
        )

    pos = (
        torch.arange(ei.size(1))
        if min_rating is None
        else torch.nonzero(rating >= min_rating).view(-1)
    )
    if pos.numel() == 0:
        raise ValueError(f"no rating is >= min_rating={min_rating}; lower the threshold")
    users, movies, r, t = ei[0, pos], ei[1, pos], rating[pos], ts[pos]
    raw_u = data["user"].raw_id[users] if "raw_id" in data["user"] else users
    raw_m = data["movie"].raw_id[movies] if "raw_id" in data["movie"] else movies
    order = torch.from_numpy(
        np.lexsort((tie_keys(raw_u, raw_m), t.cpu().numpy(), users.cpu().numpy()))
    )
    users, movies, r, t = users[order], movies[order], r[order], t[order]
    window = (t >= t_valid).long() + (t >= t_test).long()  # 0 train, 1 valid, 2 test
    idx = torch.arange(users.numel())

    def first_in(w: int) -> Tensor:
        """[num_users] index of each user's first positive in window w, or -1."""
        out = torch.full((num_users,), users.numel(), dtype=torch.long)
        sel = window == w
        out.scatter_reduce_(0, users[sel], idx[sel], reduce="amin")
        return torch.where(out == users.numel(), -1, out)

    first_v, first_t = first_in(1), first_in(2)
    has_train = torch.bincount(users[window == 0], minlength=num_users) > 0
    evaluated = torch.nonzero(has_train & (first_v >= 0) & (first_t >= 0)).view(-1)
    valid_idx, test_idx = first_v[evaluated], first_t[evaluated]
    mask = window == 0
    train = torch.stack([users[mask], movies[mask]])
    valid = torch.stack([users[valid_idx], movies[valid_idx]])
    test = torch.stack([users[test_idx], movies[test_idx]])

    train_keys = torch.sort(pair_keys(train[0], train[1], num_movies)).values
    assert bool((t[mask] < t_valid).all()), "leakage: a train interaction is after the cut"
    assert bool((t[valid_idx] < t_test).all() and (t[test_idx] >= t_test).all())
    for name, part in (("valid", valid), ("test", test)):
        k = pair_keys(part[0], part[1], num_movies)
        assert not isin_sorted(k, train_keys).any(), f"leakage: a {name} pair is in train"
    assert not (
        pair_keys(valid[0], valid[1], num_movies) == pair_keys(test[0], test[1], num_movies)
    ).any(), "leakage: valid == test"

    # the evaluated users' later positives other than the stage's target: CSR by position
    slot = torch.full((num_users,), -1, dtype=torch.long)
    slot[evaluated] = torch.arange(evaluated.numel())
    later = (~mask) & (slot[users] >= 0)

    def exclusions(target_idx: Tensor) -> tuple[Tensor, Tensor]:
        keep = later.clone()
        keep[target_idx] = False
        p, m = slot[users[keep]], movies[keep]  # already grouped by user, users in order
        ptr = torch.zeros(evaluated.numel() + 1, dtype=torch.long)
        ptr[1:] = torch.cumsum(torch.bincount(p, minlength=evaluated.numel()), 0)
        return ptr, m.clone()

    train_ptr = torch.zeros(num_users + 1, dtype=torch.long)
    train_ptr[1:] = torch.cumsum(torch.bincount(train[0], minlength=num_users), 0)
    return InteractionSplit(
        num_users=num_users,
        num_movies=num_movies,
        train=train,
        valid=valid,
        test=test,
        train_rating=r[mask],
        valid_rating=r[valid_idx],
        test_rating=r[test_idx],
        train_keys=train_keys,
        rated_keys=rated_keys,
        train_ptr=train_ptr,
        train_movies=train[1].clone(),
        min_rating=min_rating,
        ids=IdMaps.from_graph(data) if "raw_id" in data["user"] else None,
        source_notes=_source_notes(data),
        kind="global-time",
        cuts={
            "valid_quantile": valid_quantile,
            "test_quantile": test_quantile,
            "t_valid": t_valid,
            "t_test": t_test,
        },
        valid_exclude=exclusions(valid_idx),
        test_exclude=exclusions(test_idx),
    )


def make_interaction_split(
    data: HeteroData, kind: str = "leave-one-out", min_rating: float | None = None
) -> InteractionSplit:
    """The split named ``kind`` (one of :data:`SPLITS`) with its default settings."""
    if kind == "leave-one-out":
        return temporal_split(data, min_rating=min_rating)
    if kind == "global-time":
        return global_time_split(data, min_rating=min_rating)
    raise ValueError(f"unknown split {kind!r}; choose one of {SPLITS}")


def _source_notes(data: HeteroData) -> dict | None:
    """The time / feedback notes of a graph of :func:`graphrec.data.load_interactions`."""
    loaded = getattr(data, "load_summary", None)
    if not isinstance(loaded, dict):
        return None
    return {
        "time": loaded.get("time"),
        "feedback": loaded.get("feedback"),
        "train_only_users": loaded.get("users_train_only"),
    }
