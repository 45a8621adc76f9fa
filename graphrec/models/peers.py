"""Wrappers of the ``implicit`` library's CPU ALS and BPR as graphrec models (peers).

``implicit`` is an optional dependency (``pip install implicit``, or ``graphrec[peers]``),
imported only when a model is fitted. Each wrapper fits implicit's model on the split's train
user x movie CSR matrix (one thread, seeded ``random_state``), then keeps its factors as
buffers: scoring, saving and loading need no ``implicit``.
"""

from __future__ import annotations

from abc import abstractmethod
from contextlib import nullcontext
from typing import Any

import numpy as np
import torch
from torch import Tensor

from graphrec.models.base import Recommender

__all__ = ["ImplicitALS", "ImplicitBPR", "import_implicit"]


def import_implicit():
    """The ``implicit`` package, or an ImportError saying how to install it."""
    try:
        import implicit  # noqa: F401
        import implicit.cpu.als
        import implicit.cpu.bpr
    except ImportError as exc:
        raise ImportError(
            f"the implicit-ALS / implicit-BPR peers need the implicit library ({exc}): "
            "pip install implicit (or pip install 'graphrec[peers]')"
        ) from None
    return implicit


def _one_blas_thread():
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return nullcontext()
    return threadpool_limits(1, "blas")


def train_csr(split):
    """The split's train positives as a scipy CSR matrix [num_users, num_movies] of ones."""
    import scipy.sparse as sp

    ptr = split.train_ptr.cpu().numpy()
    cols = split.train_movies.cpu().numpy()
    data = np.ones(cols.size, dtype=np.float32)
    return sp.csr_matrix((data, cols, ptr), shape=(split.num_users, split.num_movies))


class ImplicitModel(Recommender):
    r""":math:`\hat{y}_{u,i} = \mathbf{p}_u^\top \mathbf{q}_i` with implicit's factors."""

    def __init__(self, num_users: int, num_movies: int, width: int, seed: int | None) -> None:
        super().__init__(num_users, num_movies, None)
        self.random_state = 0 if seed is None else int(seed)
        self.register_buffer("user_factors", torch.zeros(num_users, width))
        self.register_buffer("item_factors", torch.zeros(num_movies, width))

    @abstractmethod
    def estimator(self) -> Any:
        """A fresh implicit model with this wrapper's settings."""

    def fit(self, split, config=None, **overrides) -> ImplicitModel:
        """Fit implicit's model on the split's train matrix (its own loop: ``config`` is not
        used; ``config.seed``, when given, replaces the constructor's seed)."""
        from graphrec.distributed import single_process_only

        single_process_only(type(self).__name__, "fits with implicit's own loop")
        import_implicit()
        self.remember_seen(split)
        if config is not None and getattr(config, "seed", None) is not None:
            self.random_state = int(config.seed)
        with _one_blas_thread():
            est = self.estimator()
            est.fit(train_csr(split), show_progress=False)
        self.user_factors = torch.as_tensor(np.asarray(est.user_factors), dtype=torch.float32)
        self.item_factors = torch.as_tensor(np.asarray(est.item_factors), dtype=torch.float32)
        return self

    def score(self, users: Tensor, movies: Tensor) -> Tensor:
        u = self.user_factors[self.check_users(users)]
        return (u * self.item_factors[self.check_movies(movies)]).sum(-1)

    def score_all(self, users: Tensor) -> Tensor:
        return self.user_factors[self.check_users(users)] @ self.item_factors.T

    def user_vectors(self, users: Tensor) -> Tensor:
        """[B, d] implicit's user factors."""
        return self.user_factors[self.check_users(users)]

    def score_vector_pairs(self, vectors: Tensor, rows: Tensor, movies: Tensor) -> Tensor:
        return (vectors[rows] * self.item_factors[movies]).sum(-1)

    def score_user_vectors(self, vectors: Tensor) -> Tensor:
        return vectors @ self.item_factors.T

    def item_vectors(self) -> Tensor:
        """[num_movies, d] implicit's item factors."""
        return self.item_factors.clone()


class ImplicitALS(ImplicitModel):
    r"""implicit's ALS (Hu, Koren & Volinsky, "Collaborative Filtering for Implicit Feedback
    Datasets", ICDM 2008), CPU, one thread.

    .. math::
        \min_{P, Q} \sum_{u,i} c_{ui} (r_{ui} - \mathbf{p}_u^\top \mathbf{q}_i)^2
        + \lambda (\lVert P\rVert^2 + \lVert Q\rVert^2), \quad
        c_{ui} = \alpha r_{ui} \text{ where } r_{ui} > 0 \text{, else } 1,
        \qquad \hat{y}_{u,i} = \mathbf{p}_u^\top \mathbf{q}_i

    A new user folds in in closed form: the least-squares user step with the item factors
    fixed (the same formula as ``implicit``'s ``recalculate_user``), its liked movies as
    :math:`r_{ui} = 1`; disliked movies are ignored in the vector (only left out of its list).

    Args:
        num_users, num_movies: sizes.
        factors: :math:`d` (default 64, as BPR-MF's embedding size; not tuned).
        regularization: :math:`\lambda` (default 0.05).
        alpha: :math:`\alpha` (default 1.0).
        iterations: ALS sweeps (default 15).
        seed: implicit's ``random_state`` (default 0).
    """

    def __init__(
        self,
        num_users: int,
        num_movies: int,
        factors: int = 64,
        regularization: float = 0.05,
        alpha: float = 1.0,
        iterations: int = 15,
        seed: int | None = 0,
    ) -> None:
        super().__init__(num_users, num_movies, factors, seed)
        self.factors, self.regularization = int(factors), float(regularization)
        self.alpha, self.iterations = float(alpha), int(iterations)
        self.hparams.update(
            factors=self.factors,
            regularization=self.regularization,
            alpha=self.alpha,
            iterations=self.iterations,
        )

    def estimator(self):
        from implicit.cpu.als import AlternatingLeastSquares

        return AlternatingLeastSquares(
            factors=self.factors,
            regularization=self.regularization,
            alpha=self.alpha,
            iterations=self.iterations,
            num_threads=1,
            random_state=self.random_state,
        )

    def _fold_in(self, liked, disliked, **options) -> Tensor:
        r"""Closed form: :math:`\mathbf{p} = (Q^\top Q + \alpha Q_L^\top Q_L + \lambda I)^{-1}
        (1 + \alpha) Q_L^\top \mathbf{1}` over the liked movies :math:`L`."""
        q = self.item_factors.double()
        yty = q.T @ q
        eye = torch.eye(q.size(1), dtype=q.dtype)
        out = []
        for movies in liked:
            ql = q[movies.cpu()]
            a = yty + (self.alpha - 1) * ql.T @ ql + self.regularization * eye
            b = self.alpha * ql.sum(0)
            out.append(torch.linalg.solve(a, b))
        return torch.stack(out).float()


class ImplicitBPR(ImplicitModel):
    r"""implicit's BPR (Rendle et al., "BPR: Bayesian Personalized Ranking from Implicit
    Feedback", UAI 2009), CPU, one thread, SGD on sampled triples.

    .. math::
        \hat{y}_{u,i} = \mathbf{p}_u^\top \mathbf{q}_i + b_i

    (implicit keeps the item bias as a last factor against a constant 1 in the user's, so
    vectors are [B, d + 1]). A new user folds in by the base class's BPR over its vector
    alone (:meth:`~graphrec.models.base.Recommender.fold_in`), the item factors frozen.

    Args:
        num_users, num_movies: sizes.
        factors: :math:`d` (default 64; not tuned).
        learning_rate: SGD step (default 0.01).
        regularization: L2 weight (default 0.01).
        iterations: epochs (default 100).
        seed: implicit's ``random_state`` (default 0).
    """

    fit_objective = "bpr"

    def __init__(
        self,
        num_users: int,
        num_movies: int,
        factors: int = 64,
        learning_rate: float = 0.01,
        regularization: float = 0.01,
        iterations: int = 100,
        seed: int | None = 0,
    ) -> None:
        super().__init__(num_users, num_movies, factors + 1, seed)
        self.factors, self.learning_rate = int(factors), float(learning_rate)
        self.reg, self.iterations = float(regularization), int(iterations)
        self.hparams.update(
            factors=self.factors,
            learning_rate=self.learning_rate,
            regularization=self.reg,
            iterations=self.iterations,
        )

    def estimator(self):
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        return BayesianPersonalizedRanking(
            factors=self.factors,
            learning_rate=self.learning_rate,
            regularization=self.reg,
            iterations=self.iterations,
            num_threads=1,
            random_state=self.random_state,
        )

    def _fold_in(self, liked, disliked, **options) -> Tensor:
        """BPR over a new vector; its last entry (against the item bias) stays 1."""
        init = self.user_factors.mean(0).clone()
        init[-1] = 1.0
        free = torch.ones(init.numel(), dtype=torch.bool)
        free[-1] = False
        return self.fold_in_by_objective(
            liked, disliked, init.expand(len(liked), -1), free, **options
        )
