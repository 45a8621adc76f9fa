"""Fold-in at scale: score many users from folded-in vectors, as the trained model scores them.

:meth:`graphrec.models.base.Recommender.fold_in` makes the vector of one or a few new users;
this module does it for the users of a split, to measure fold-in against the trained vectors:

- :func:`train_profiles`: each user's train movies as a profile;
- :func:`fold_in_users`: their vectors, folded in ``batch_size`` users at a time;
- :class:`FoldedUsers`: a model whose users are scored from a table of vectors (folded-in
  rows replacing trained ones), with the ``score`` / ``score_all`` / ``eval`` that
  :func:`graphrec.evaluate.evaluate` needs, so both protocols measure the folded-in users
  exactly as they measure the trained ones.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

__all__ = ["train_profiles", "fold_in_users", "FoldedUsers"]


def train_profiles(split, users: Tensor) -> list[Tensor]:
    """The train movies of each of ``users`` (node indices), one index tensor per user."""
    ptr, movies = split.train_ptr, split.train_movies
    return [movies[ptr[u] : ptr[u + 1]] for u in users.tolist()]


def fold_in_users(model, split, users: Tensor, batch_size: int = 128, **options: Any) -> Tensor:
    """[len(users), d] vectors of ``users`` folded in from their train movies as if they were
    new (``options`` go to ``model.fold_in``), ``batch_size`` users per call."""
    profiles = train_profiles(split, users)
    parts = [
        model.fold_in(profiles[s : s + batch_size], **options)
        for s in range(0, len(profiles), batch_size)
    ]
    return torch.cat(parts)


class FoldedUsers:
    """``model`` scoring users from a table of vectors: the trained ``user_vectors`` with the
    rows of ``users`` replaced by ``vectors``.

    Args:
        model: a model that folds in (``user_vectors``, ``score_vector_pairs``,
            ``score_user_vectors``).
        users: [U] node indices of the folded-in users.
        vectors: [U, d] their folded-in vectors.
    """

    def __init__(self, model, users: Tensor, vectors: Tensor) -> None:
        self.model = model
        with torch.no_grad():
            table = model.user_vectors(torch.arange(model.num_users)).detach().clone()
        table[users.to(table.device)] = vectors.to(table)
        self.table = table
        self.num_users, self.num_movies = model.num_users, model.num_movies

    @property
    def training(self) -> bool:
        return self.model.training

    def eval(self) -> FoldedUsers:
        self.model.eval()
        return self

    def train(self, mode: bool = True) -> FoldedUsers:
        self.model.train(mode)
        return self

    @torch.no_grad()
    def score(self, users: Tensor, movies: Tensor) -> Tensor:
        """[B] scores of (users[b], movies[b]) from the table."""
        users = self.model.check_users(users)
        movies = self.model.check_movies(movies)
        return self.model.score_vector_pairs(self.table, users, movies)

    @torch.no_grad()
    def score_all(self, users: Tensor) -> Tensor:
        """[B, num_movies] scores of every movie from the table's rows."""
        return self.model.score_user_vectors(self.table[self.model.check_users(users)])
