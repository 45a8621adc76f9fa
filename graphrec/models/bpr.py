"""BPR-MF: matrix factorisation trained with Bayesian personalised ranking."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from graphrec.models.base import Recommender

__all__ = ["BPRMF", "bpr_loss"]


def bpr_loss(pos: Tensor, neg: Tensor, reg: Tensor | float = 0.0) -> Tensor:
    r"""Mean BPR loss :math:`-\log\sigma(\hat y_{ui} - \hat y_{uj})` plus ``reg``.

    Args:
        pos: [B] scores of the positives.
        neg: [B] scores of the negatives.
        reg: a regularisation term already scaled (added as is).
    """
    return -F.logsigmoid(pos - neg).mean() + reg


def l2_per_example(*embeddings: Tensor) -> Tensor:
    r""":math:`\frac{1}{2B}\sum_t \lVert E_t \rVert_F^2` over [B, d] embedding batches
    (the LightGCN paper's regulariser on the layer-0 embeddings of a batch)."""
    batch = embeddings[0].size(0)
    return sum(e.pow(2).sum() for e in embeddings) / (2 * batch)


class BPRMF(Recommender):
    r"""BPR-MF (Rendle et al., "BPR: Bayesian Personalized Ranking from Implicit Feedback",
    UAI 2009): one embedding per user and per movie, scored by their dot product.

    .. math::
        \hat{y}_{u,i} = \mathbf{p}_u^\top \mathbf{q}_i, \qquad
        \mathcal{L} = -\frac{1}{B}\sum_{(u,i,j)} \log\sigma(\hat{y}_{u,i} - \hat{y}_{u,j})
        + \frac{\lambda}{2B}\sum_{(u,i,j)}
          \left(\lVert\mathbf{p}_u\rVert^2 + \lVert\mathbf{q}_i\rVert^2
          + \lVert\mathbf{q}_j\rVert^2\right)

    ``model.fit(split)`` trains it pairwise (``fit_objective = "bpr"``): the loop of
    :mod:`graphrec.train` calls :meth:`bpr_loss` on (user, positive, negative) triples from
    :class:`graphrec.data.PairwiseSampler`. Training defaults (:attr:`train_defaults`): 60
    epochs, batch 2048, Adam lr 5e-3, 1 negative per positive, patience 10.

    A new user is folded in (:meth:`~graphrec.models.base.Recommender.fold_in`) by BPR over
    a new :math:`\mathbf{p}_u` alone, the movie embeddings frozen.

    Args:
        num_users: number of users.
        num_movies: number of movies.
        embedding_dim: size of the embeddings (default 64).
        reg: :math:`\lambda`, L2 weight on the batch's embeddings (default 1e-2).
        init_std: standard deviation of the normal initialisation (default 0.1).
        seed: seeds the initial weights (default 0).
    """

    fit_objective = "bpr"
    train_defaults = {
        "epochs": 60,
        "batch_size": 2048,
        "lr": 5e-3,
        "num_negatives": 1,
        "patience": 10,
    }

    def __init__(
        self,
        num_users: int,
        num_movies: int,
        embedding_dim: int = 64,
        reg: float = 1e-2,
        init_std: float = 0.1,
        seed: int | None = 0,
    ) -> None:
        super().__init__(num_users, num_movies, seed)
        self.hparams.update(embedding_dim=embedding_dim, reg=reg, init_std=init_std)
        self.reg = float(reg)
        self.user_emb = nn.Embedding(num_users, embedding_dim)
        self.movie_emb = nn.Embedding(num_movies, embedding_dim)
        nn.init.normal_(self.user_emb.weight, std=init_std)
        nn.init.normal_(self.movie_emb.weight, std=init_std)

    def score(self, users: Tensor, movies: Tensor) -> Tensor:
        """[B] dot products of the (user, movie) embeddings."""
        u = self.user_emb(self.check_users(users))
        m = self.movie_emb(self.check_movies(movies))
        return (u * m).sum(-1)

    def score_all(self, users: Tensor) -> Tensor:
        """[B, num_movies] as one matrix product."""
        return self.user_emb(self.check_users(users)) @ self.movie_emb.weight.T

    # ------------------------------------------------------------------ users as vectors
    def user_vectors(self, users: Tensor) -> Tensor:
        r"""[B, d] the user embeddings :math:`\mathbf{p}_u`."""
        return self.user_emb.weight[self.check_users(users)]

    def score_vector_pairs(self, vectors: Tensor, rows: Tensor, movies: Tensor) -> Tensor:
        return (vectors[rows] * self.movie_emb.weight.detach()[movies]).sum(-1)

    def score_user_vectors(self, vectors: Tensor) -> Tensor:
        return vectors @ self.movie_emb.weight.T

    def item_vectors(self) -> Tensor:
        r"""[num_movies, d] the movie embeddings :math:`\mathbf{q}_i`."""
        return self.movie_emb.weight.detach().clone()

    def bpr_loss(self, users: Tensor, positives: Tensor, negatives: Tensor) -> Tensor:
        """BPR loss of a batch of triples ([B] each) with L2 on the batch's embeddings."""
        u, p, n = self.user_emb(users), self.movie_emb(positives), self.movie_emb(negatives)
        reg = self.reg * l2_per_example(u, p, n) if self.reg else 0.0
        return bpr_loss((u * p).sum(-1), (u * n).sum(-1), reg)
