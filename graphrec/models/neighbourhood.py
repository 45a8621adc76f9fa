"""Closed-form item-item baselines: EASE and ItemKNN.

Both keep one dense ``[num_movies, num_movies]`` item matrix ``W`` and score a user by its
train multi-hot row :math:`\\mathbf{x}_u \\in \\{0, 1\\}^{M}`:
:math:`\\hat{\\mathbf{y}}_u = \\mathbf{x}_u W`. A user's vector is that multi-hot row, so a
new user folds in exactly (its liked movies as a multi-hot row; disliked movies are ignored in
the vector and only left out of its list, as a trained user's vector holds positives alone).
"""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

import torch
from torch import Tensor

from graphrec.data.split import csr_entries
from graphrec.models.base import Recommender

__all__ = ["EASE", "ItemKNN", "ItemItemModel", "TooManyMoviesError"]


class TooManyMoviesError(ValueError):
    """A catalogue too large for a dense item-item matrix."""


class ItemItemModel(Recommender):
    r"""Shared part of the item-item models: :math:`\hat{y}_{u,i} = (\mathbf{x}_u W)_i`.

    ``fit`` is closed form (no training loop): it builds the train multi-hot matrix
    :math:`X` [num_users, num_movies] and calls :meth:`item_matrix`.
    """

    #: the most movies a dense [M, M] float32 matrix is built for (30k: 3.6 GB, and EASE's
    #: inverse is O(M^3))
    max_movies: ClassVar[int] = 30_000

    def __init__(self, num_users: int, num_movies: int, seed: int | None = None) -> None:
        if num_movies > self.max_movies:
            gib = 4 * num_movies**2 / 2**30
            raise TooManyMoviesError(
                f"{type(self).__name__} keeps a dense {num_movies} x {num_movies} item matrix "
                f"({gib:.1f} GiB in float32, more to build), refused above {self.max_movies} "
                "movies: use a factorisation model (BPR-MF, LightGCN, implicit-ALS) for this "
                "catalogue, or keep only the most rated movies"
            )
        super().__init__(num_users, num_movies, seed)
        self.register_buffer("weights", torch.zeros(num_movies, num_movies))

    @abstractmethod
    def item_matrix(self, x: Tensor) -> Tensor:
        """[M, M] the item matrix ``W`` from the train multi-hot ``x`` [U, M] (float64)."""

    def fit(self, split, config=None, **overrides) -> ItemItemModel:
        """Closed form on the split's train positives (``config`` is not needed)."""
        from graphrec.distributed import single_process_only

        single_process_only(type(self).__name__, "fits in closed form")
        self.remember_seen(split)
        x = self.multi_hot(torch.arange(self.num_users)).double()
        self.weights = self.item_matrix(x).float().to(self.seen_ptr.device)
        return self

    def multi_hot(self, users: Tensor) -> Tensor:
        """[B, M] the users' train multi-hot rows (from the seen lists ``fit`` stored)."""
        users = self.check_users(users)
        out = torch.zeros(users.numel(), self.num_movies, device=self.seen_ptr.device)
        rows, cols = csr_entries(self.seen_ptr, self.seen_movies, users)
        out[rows, cols] = 1.0
        return out

    def score(self, users: Tensor, movies: Tensor) -> Tensor:
        """[B] :math:`\\mathbf{x}_u W_{:, i}` per pair."""
        x = self.multi_hot(users)
        return (x * self.weights.T[self.check_movies(movies)]).sum(-1)

    def score_all(self, users: Tensor) -> Tensor:
        """[B, M] :math:`X_{users} W`."""
        return self.multi_hot(users) @ self.weights

    # ------------------------------------------------------------------ users as vectors
    def user_vectors(self, users: Tensor) -> Tensor:
        """[B, M] the users' train multi-hot rows."""
        return self.multi_hot(users)

    def score_user_vectors(self, vectors: Tensor) -> Tensor:
        return vectors @ self.weights

    def score_vector_pairs(self, vectors: Tensor, rows: Tensor, movies: Tensor) -> Tensor:
        return (vectors[rows] * self.weights.T[movies]).sum(-1)

    def _fold_in(self, liked, disliked, **options) -> Tensor:
        """Closed form: [B, M] multi-hot rows of the liked movies (disliked ones are ignored
        in the vector; ``recommend_vectors(exclude=...)`` leaves them out of the list)."""
        out = torch.zeros(len(liked), self.num_movies, device=self.weights.device)
        for b, movies in enumerate(liked):
            out[b, movies.to(out.device)] = 1.0
        return out

    def item_vectors(self) -> Tensor:
        """[M, M] the rows of ``W``: movie ``i``'s weights onto every other movie."""
        return self.weights.detach().clone()


class EASE(ItemItemModel):
    r"""EASE (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019): an
    item-item ridge regression with a zero diagonal, in closed form.

    .. math::
        P = (X^\top X + \lambda I)^{-1}, \qquad
        B = I - P \,\mathrm{diag}(1 / \mathrm{diag}(P)), \qquad
        \hat{\mathbf{y}}_u = \mathbf{x}_u B

    (:math:`B_{ij} = -P_{ij} / P_{jj}`, :math:`B_{jj} = 0`), with :math:`X` [U, M] the train
    multi-hot matrix. A new user folds in exactly: its liked movies as a multi-hot row.

    Args:
        num_users: number of users.
        num_movies: number of movies (at most :attr:`max_movies`: a dense [M, M] inverse).
        l2: :math:`\lambda` (default 400: the best on ML-100K's valid sampled NDCG@10,
            experiments/results/tune_baselines.json).
        seed: unused (closed form); taken so every model builds alike.
    """

    def __init__(
        self, num_users: int, num_movies: int, l2: float = 400.0, seed: int | None = None
    ) -> None:
        super().__init__(num_users, num_movies, seed)
        if l2 <= 0:
            raise ValueError(f"l2 must be positive (it makes X^T X invertible), not {l2}")
        self.l2 = float(l2)
        self.hparams.update(l2=self.l2)

    def item_matrix(self, x: Tensor) -> Tensor:
        gram = x.T @ x
        gram += self.l2 * torch.eye(self.num_movies, dtype=gram.dtype, device=gram.device)
        p = torch.linalg.inv(gram)
        b = -p / torch.diagonal(p).view(1, -1)
        b.fill_diagonal_(0.0)
        return b


class ItemKNN(ItemItemModel):
    r"""ItemKNN (Sarwar et al., "Item-Based Collaborative Filtering Recommendation
    Algorithms", WWW 2001; Deshpande & Karypis, TOIS 2004, top-k): cosine item-item
    similarity on the train multi-hot matrix, each movie keeping its ``neighbours`` most
    similar movies.

    .. math::
        S_{ij} = \frac{\mathbf{x}_{:,i}^\top \mathbf{x}_{:,j}}
                      {\lVert\mathbf{x}_{:,i}\rVert \lVert\mathbf{x}_{:,j}\rVert + s},
        \quad S_{ii} = 0, \qquad
        \hat{\mathbf{y}}_u = \mathbf{x}_u S_k

    where :math:`S_k` keeps each row's ``neighbours`` largest entries (others 0) and
    :math:`s` is the ``shrink``. A new user folds in exactly: its liked movies as a
    multi-hot row.

    Args:
        num_users: number of users.
        num_movies: number of movies (at most :attr:`max_movies`: a dense [M, M] matrix).
        neighbours: how many neighbours each movie keeps (default 50: the best on
            ML-100K's valid sampled NDCG@10, experiments/results/tune_baselines.json;
            ``None``: all).
        shrink: :math:`s` added to the norms' product (default 0), damping pairs of rarely
            rated movies.
        seed: unused (closed form); taken so every model builds alike.
    """

    def __init__(
        self,
        num_users: int,
        num_movies: int,
        neighbours: int | None = 50,
        shrink: float = 0.0,
        seed: int | None = None,
    ) -> None:
        super().__init__(num_users, num_movies, seed)
        if neighbours is not None and neighbours < 1:
            raise ValueError(f"neighbours must be at least 1 (or None: all), not {neighbours}")
        if shrink < 0:
            raise ValueError(f"shrink must be non-negative, not {shrink}")
        self.neighbours = None if neighbours is None else int(neighbours)
        self.shrink = float(shrink)
        self.hparams.update(neighbours=self.neighbours, shrink=self.shrink)

    def item_matrix(self, x: Tensor) -> Tensor:
        gram = x.T @ x
        norms = torch.sqrt(torch.diagonal(gram))
        denom = norms.view(-1, 1) * norms.view(1, -1) + self.shrink
        sim = torch.where(denom > 0, gram / denom.clamp(min=1e-12), torch.zeros_like(gram))
        sim.fill_diagonal_(0.0)
        k = self.neighbours
        if k is not None and k < self.num_movies:
            top = torch.topk(sim, k, dim=1)
            kept = torch.zeros_like(sim)
            kept.scatter_(1, top.indices, top.values)
            sim = kept
        return sim
