"""ItemPop: the non-personalised popularity baseline."""

from __future__ import annotations

import torch
from torch import Tensor

from graphrec.models.base import Recommender

__all__ = ["ItemPop"]


class ItemPop(Recommender):
    r"""Most-popular baseline: every user gets the movies with the most train positives.

    .. math::
        \hat{y}_{u,i} = |\{v : (v, i) \in \mathcal{D}_{train}\}|

    Args:
        num_users: number of users.
        num_movies: number of movies.
    """

    personalised = False

    def __init__(self, num_users: int, num_movies: int, seed: int | None = None) -> None:
        super().__init__(num_users, num_movies, seed)
        self.register_buffer("popularity", torch.zeros(num_movies))

    def fit(self, split, config=None, **overrides) -> ItemPop:
        """Count train positives per movie (closed form: ``config`` is not needed)."""
        self.popularity = split.train_degree().float().to(self.popularity.device)
        self.remember_seen(split)
        return self

    def score(self, users: Tensor, movies: Tensor) -> Tensor:
        self.check_users(users)
        return self.popularity[self.check_movies(movies)]

    def score_all(self, users: Tensor) -> Tensor:
        users = self.check_users(users)
        return self.popularity.view(1, -1).expand(users.numel(), -1)
