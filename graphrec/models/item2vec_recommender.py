"""item2vec as a recommender: score movies by similarity to a user's train history."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from graphrec.models.base import Recommender

__all__ = ["Item2VecRecommender"]


class Item2VecRecommender(Recommender):
    r"""Scores a movie by its cosine similarity to the user's profile, the normalised mean of the
    normalised embeddings of the user's train movies (Barkan & Koenigstein, item2vec, 2016):

    .. math::
        p_u = \mathrm{norm}\Big(\sum_{j \in \mathcal{I}_u} \mathrm{norm}(e_j)\Big), \qquad
        \hat{y}_{u,i} = p_u^\top \mathrm{norm}(e_i)

    Movies without an embedding (no edge in the movie graph) have a zero vector and score 0.

    Args:
        num_users: number of users.
        num_movies: number of movies.
        dim: embedding size.
    """

    def __init__(self, num_users: int, num_movies: int, dim: int = 64) -> None:
        super().__init__(num_users, num_movies)
        self.hparams["dim"] = int(dim)
        self.register_buffer("movie_emb", torch.zeros(num_movies, dim))
        self.register_buffer("user_profile", torch.zeros(num_users, dim))

    @classmethod
    def from_embeddings(cls, emb: Tensor, split) -> Item2VecRecommender:
        """Build from movie embeddings [num_movies, dim] and the split's train history."""
        if emb.size(0) != split.num_movies:
            raise ValueError(
                f"embeddings have {emb.size(0)} rows, the split has {split.num_movies} movies"
            )
        model = cls(split.num_users, split.num_movies, emb.size(1))
        z = F.normalize(emb.detach().float().cpu(), dim=1)
        profile = torch.zeros(split.num_users, emb.size(1)).index_add_(
            0, split.train[0], z[split.train[1]]
        )
        model.movie_emb = z
        model.user_profile = F.normalize(profile, dim=1)
        model.remember_seen(split)
        return model

    def score(self, users: Tensor, movies: Tensor) -> Tensor:
        users, movies = self.check_users(users), self.check_movies(movies)
        return (self.user_profile[users] * self.movie_emb[movies]).sum(-1)

    def score_all(self, users: Tensor) -> Tensor:
        return self.user_profile[self.check_users(users)] @ self.movie_emb.T
