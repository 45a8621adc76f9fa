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

    A new user folds in trivially: it gets the same list, less the movies it named.

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
        from graphrec.distributed import single_process_only

        single_process_only("ItemPop", "fits in closed form")
        self.popularity = split.train_degree().float().to(self.popularity.device)
        self.remember_seen(split)
        return self

    def score(self, users: Tensor, movies: Tensor) -> Tensor:
        self.check_users(users)
        return self.popularity[self.check_movies(movies)]

    def score_all(self, users: Tensor) -> Tensor:
        users = self.check_users(users)
        return self.popularity.view(1, -1).expand(users.numel(), -1)

    # ------------------------------------------------------------------ users as vectors
    def user_vectors(self, users: Tensor) -> Tensor:
        """[B, 0]: a user adds nothing to the scores."""
        return torch.zeros(self.check_users(users).numel(), 0, device=self.popularity.device)

    def score_vector_pairs(self, vectors: Tensor, rows: Tensor, movies: Tensor) -> Tensor:
        return self.popularity[movies]

    def score_user_vectors(self, vectors: Tensor) -> Tensor:
        return self.popularity.view(1, -1).expand(vectors.size(0), -1)

    def _fold_in(self, liked, disliked, **options) -> Tensor:
        """A new user is every user: [B, 0] (its liked and disliked movies are only left out
        of its list)."""
        return torch.zeros(len(liked), 0, device=self.popularity.device)
