r"""Neural collaborative filtering: GMF, MLP and NeuMF.

He, Liao, Zhang, Nie, Hu and Chua, *Neural Collaborative Filtering*, WWW 2017
(https://doi.org/10.1145/3038912.3052569). All three models score a (user, movie) pair from
learned id embeddings and are trained pointwise on the ``rates`` edges (train positives with
label 1 plus sampled negatives with label 0, binary cross-entropy: ``model.fit(split)``, the
loop of :mod:`graphrec.train`). Each class's defaults are the best settings known on ML-100K's
valid stage (docs/results.md, "How each default was chosen").

``score`` returns the **logit** :math:`z_{ui}`; the paper's prediction is
:math:`\hat{y}_{ui} = \sigma(z_{ui})`, which ranks identically. ``forward(users, movies)``
is the training path: no index validation, MLP dropout in training mode. ``score`` and
``score_all`` check the indices and never apply dropout, so they are deterministic even on a
model left in training mode.

``score_all`` is computed in matrix form: for GMF one matrix product; for the MLP tower the
first layer is split into a user part and a movie part (:math:`W[p; q] = W_p p + W_q q`),
computed once per user and once per movie and broadcast over all pairs, so no pair's
embeddings are ever gathered or concatenated. Training batches of more than (users + movies) / 2
pairs use the same split (project the tables, then gather), which makes the first layer, the widest
one, about three times cheaper on CPU than gather-concatenate-multiply.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphrec.models.base import MODEL_REGISTRY, Recommender

__all__ = ["GMF", "MLP", "NeuMF", "default_layers"]

#: training settings of GMF and MLP (fields of :class:`graphrec.train.TrainConfig`); weight
#: decay 1e-5 against 0 chosen on valid NDCG@10 by experiments/studies/ncf_defaults.py
_NCF_TRAIN = {
    "epochs": 30,
    "batch_size": 4096,
    "lr": 5e-3,
    "weight_decay": 1e-5,
    "num_negatives": 4,
    "patience": 5,
}

#: rows of the [users x movies x width] activation block that ``score_all`` builds at once
_SCORE_ALL_CHUNK = 1 << 22


def default_layers(embedding_dim: int) -> tuple[int, ...]:
    """The paper's three-layer tower on embeddings of size ``d``: ``(2d, d, d/2)``, i.e.
    ``(4f, 2f, f)`` for ``f = d/2`` predictive factors (``d=32`` gives RecBole's 64-32-16)."""
    d = int(embedding_dim)
    return (2 * d, d, max(1, d // 2))


def _rows(emb: nn.Embedding, index: Tensor) -> Tensor:
    """``emb(index)`` via ``index_select``, whose backward (``index_add``) is about twice as
    fast on CPU as the embedding's own dense backward."""
    return emb.weight.index_select(0, index)


def _init_embedding(emb: nn.Embedding) -> None:
    # the paper (and RecBole) draw embeddings from N(0, 0.01^2)
    nn.init.normal_(emb.weight, std=0.01)


class _Tower(nn.Module):
    """ReLU tower whose first layer is split into user and movie halves.

    Dropout (after every hidden layer) is applied only when the caller asks for it, so the
    inference paths ``score`` / ``score_all`` are deterministic whatever the module's mode.

    Args:
        in_user, in_movie: sizes of the two embeddings fed to the first layer.
        layers: hidden sizes (each followed by ReLU, then dropout when training).
        dropout: dropout probability.
    """

    def __init__(self, in_user: int, in_movie: int, layers: Sequence[int], dropout: float):
        super().__init__()
        if not layers or min(layers) < 1:
            raise ValueError(f"layers must be a non-empty list of positive sizes, not {layers}")
        sizes = [in_user + in_movie, *layers]
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in pairwise(sizes))
        self.in_user, self.dropout = in_user, float(dropout)

    def _rest(self, h: Tensor, drop: bool) -> Tensor:
        """ReLU (+ dropout) after the first layer's pre-activation ``h``, then the others."""
        p = self.dropout if drop else 0.0
        h = F.dropout(F.relu(h), p, training=p > 0)
        for lin in self.linears[1:]:
            h = F.dropout(F.relu(lin(h)), p, training=p > 0)
        return h

    def pairs(
        self, user_table: Tensor, movie_table: Tensor, users: Tensor, movies: Tensor, drop: bool
    ) -> Tensor:
        """[B, layers[-1]] for the pairs (users[b], movies[b]) of two embedding tables.

        For large batches the first layer is applied to the tables, then gathered
        (:math:`(P W_p^\top)_u + (Q W_q^\top)_i + b`): the same numbers as gathering and
        concatenating first, at a fraction of the cost once the batch outnumbers the nodes.
        """
        first = self.linears[0]
        if 2 * users.numel() > user_table.size(0) + movie_table.size(0):
            w = first.weight
            a = (user_table @ w[:, : self.in_user].T).index_select(0, users)
            c = (movie_table @ w[:, self.in_user :].T).index_select(0, movies)
            return self._rest(a + c + first.bias, drop)
        pu, qi = user_table.index_select(0, users), movie_table.index_select(0, movies)
        return self._rest(first(torch.cat([pu, qi], dim=-1)), drop)

    def all_pairs(self, pu: Tensor, q: Tensor) -> Tensor:
        """[B, M, layers[-1]] for every user of ``pu`` [B, d_u] with every movie of ``q``."""
        first = self.linears[0]
        a = pu @ first.weight[:, : self.in_user].T + first.bias  # [B, h1]
        c = q @ first.weight[:, self.in_user :].T  # [M, h1]
        return self._rest(a.unsqueeze(1) + c.unsqueeze(0), drop=False)


class _NCFBase(Recommender):
    """Shared plumbing: checked ``score`` and chunked ``score_all`` over ``_score_block``."""

    def score(self, users: Tensor, movies: Tensor) -> Tensor:
        """[B] logits of (users[b], movies[b]) (never with dropout)."""
        return self.logits(self.check_users(users), self.check_movies(movies))

    def logits(self, users: Tensor, movies: Tensor, drop: bool = False) -> Tensor:
        """[B] logits without index checks; ``drop`` applies the MLP dropout."""
        raise NotImplementedError  # pragma: no cover

    def forward(self, users: Tensor, movies: Tensor) -> Tensor:
        """[B] logits, no index checks, dropout in training mode (the training path)."""
        return self.logits(users, movies, drop=self.training)

    def _score_block(self, users: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def _rows_per_chunk(self) -> int:
        return 1

    def score_all(self, users: Tensor) -> Tensor:
        """[B, num_movies] logits of every movie for each user (matrix form)."""
        users = self.check_users(users)
        step = max(1, _SCORE_ALL_CHUNK // (self.num_movies * self._rows_per_chunk()))
        if users.numel() <= step:
            return self._score_block(users)
        blocks = [self._score_block(users[s : s + step]) for s in range(0, len(users), step)]
        return torch.cat(blocks)

    # ------------------------------------------------------------------ users as vectors
    def _vector_block(self, vectors: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def score_user_vectors(self, vectors: Tensor) -> Tensor:
        """[B, num_movies] logits of every movie for user vectors [B, d] (matrix form)."""
        step = max(1, _SCORE_ALL_CHUNK // (self.num_movies * self._rows_per_chunk()))
        blocks = [self._vector_block(vectors[s : s + step]) for s in range(0, len(vectors), step)]
        return torch.cat(blocks) if blocks else vectors.new_zeros(0, self.num_movies)


MODEL_REGISTRY.pop("_NCFBase", None)  # a shared base, not a model to load


class GMF(_NCFBase):
    r"""Generalised matrix factorisation (He et al., WWW 2017, section 3.2).

    .. math::
        z_{ui} = h^\top (p_u \odot q_i) + b, \qquad \hat{y}_{ui} = \sigma(z_{ui})

    with user and movie embeddings :math:`p_u, q_i \in \mathbb{R}^{f}` (``embedding_dim``,
    the predictive factors) and an output layer :math:`h \in \mathbb{R}^{f}`,
    :math:`b \in \mathbb{R}`. ``score_all`` is :math:`(P_U \odot h^\top) Q^\top + b`.
    Training defaults (:attr:`train_defaults`): up to 30 epochs, batch 4096, Adam lr 5e-3,
    weight decay 1e-5, 4 negatives per positive, patience 5.

    Args:
        num_users: number of users.
        num_movies: number of movies.
        embedding_dim: predictive factors :math:`f` (default 32; the paper tries 8, 16, 32,
            64).
        seed: seeds the initial weights (default 0).
    """

    train_defaults = _NCF_TRAIN

    def __init__(
        self, num_users: int, num_movies: int, embedding_dim: int = 32, seed: int | None = 0
    ) -> None:
        super().__init__(num_users, num_movies, seed)
        if embedding_dim < 1:
            raise ValueError(f"embedding_dim must be positive, not {embedding_dim}")
        self.hparams.update(embedding_dim=int(embedding_dim))
        self.user_emb = nn.Embedding(num_users, embedding_dim)
        self.movie_emb = nn.Embedding(num_movies, embedding_dim)
        self.out = nn.Linear(embedding_dim, 1)
        _init_embedding(self.user_emb)
        _init_embedding(self.movie_emb)

    def features(self, users: Tensor, movies: Tensor) -> Tensor:
        """[B, f] the element-wise product :math:`p_u \\odot q_i` (no index checks)."""
        return _rows(self.user_emb, users) * _rows(self.movie_emb, movies)

    def logits(self, users: Tensor, movies: Tensor, drop: bool = False) -> Tensor:
        return self.out(self.features(users, movies)).squeeze(-1)

    def _score_block(self, users: Tensor) -> Tensor:
        pu = _rows(self.user_emb, users) * self.out.weight  # [B, f]
        return pu @ self.movie_emb.weight.T + self.out.bias

    def user_vectors(self, users: Tensor) -> Tensor:
        """[B, f] the user embeddings :math:`p_u`."""
        return self.user_emb.weight[self.check_users(users)]

    def score_vector_pairs(self, vectors: Tensor, rows: Tensor, movies: Tensor) -> Tensor:
        q = self.movie_emb.weight.detach()[movies]
        return (vectors[rows] * q) @ self.out.weight.detach()[0] + self.out.bias.detach()

    def _vector_block(self, vectors: Tensor) -> Tensor:
        return (vectors * self.out.weight) @ self.movie_emb.weight.T + self.out.bias

    def item_vectors(self) -> Tensor:
        r"""[num_movies, f] :math:`h \odot q_i`: the movie as the score sees it
        (:math:`z_{ui} = p_u^\top (h \odot q_i) + b`)."""
        return (self.movie_emb.weight * self.out.weight).detach().clone()


class MLP(_NCFBase):
    r"""Multi-layer perceptron over concatenated embeddings (He et al., WWW 2017, section 3.3).

    .. math::
        z_{ui} = h^\top a_L + b, \quad
        a_\ell = \mathrm{ReLU}(W_\ell a_{\ell-1} + b_\ell), \quad
        a_0 = [p_u; q_i]

    with :math:`p_u, q_i \in \mathbb{R}^{d}` (``embedding_dim``) and hidden sizes ``layers``;
    the last hidden size is the number of predictive factors. Training defaults as
    :class:`GMF`'s.

    Args:
        num_users: number of users.
        num_movies: number of movies.
        embedding_dim: size of each embedding :math:`d` (default 64).
        layers: hidden sizes (default ``(2d, d, d/2)``, the paper's three-layer tower:
            32 predictive factors on 64-d embeddings).
        dropout: dropout after each hidden layer (default 0).
        seed: seeds the initial weights (default 0).
    """

    train_defaults = _NCF_TRAIN

    def __init__(
        self,
        num_users: int,
        num_movies: int,
        embedding_dim: int = 64,
        layers: Sequence[int] | None = None,
        dropout: float = 0.0,
        seed: int | None = 0,
    ) -> None:
        super().__init__(num_users, num_movies, seed)
        if embedding_dim < 1:
            raise ValueError(f"embedding_dim must be positive, not {embedding_dim}")
        embedding_dim = int(embedding_dim)
        layers = tuple(int(x) for x in (layers or default_layers(embedding_dim)))
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), not {dropout}")
        self.hparams.update(
            layers=list(layers),
            embedding_dim=embedding_dim,
            dropout=float(dropout),
        )
        self.user_emb = nn.Embedding(num_users, embedding_dim)
        self.movie_emb = nn.Embedding(num_movies, embedding_dim)
        self.tower = _Tower(embedding_dim, embedding_dim, layers, dropout)
        self.out = nn.Linear(layers[-1], 1)
        _init_embedding(self.user_emb)
        _init_embedding(self.movie_emb)

    def features(self, users: Tensor, movies: Tensor, drop: bool = False) -> Tensor:
        """[B, layers[-1]] the last hidden layer :math:`a_L` (no index checks)."""
        return self.tower.pairs(self.user_emb.weight, self.movie_emb.weight, users, movies, drop)

    def logits(self, users: Tensor, movies: Tensor, drop: bool = False) -> Tensor:
        return self.out(self.features(users, movies, drop)).squeeze(-1)

    def _rows_per_chunk(self) -> int:
        return max(self.hparams["layers"])

    def _score_block(self, users: Tensor) -> Tensor:
        a = self.tower.all_pairs(_rows(self.user_emb, users), self.movie_emb.weight)
        return self.out(a).squeeze(-1)

    def user_vectors(self, users: Tensor) -> Tensor:
        """[B, d] the user embeddings :math:`p_u`."""
        return self.user_emb.weight[self.check_users(users)]

    def score_vector_pairs(self, vectors: Tensor, rows: Tensor, movies: Tensor) -> Tensor:
        a = self.tower.pairs(vectors, self.movie_emb.weight.detach(), rows, movies, drop=False)
        return self.out(a).squeeze(-1)

    def _vector_block(self, vectors: Tensor) -> Tensor:
        return self.out(self.tower.all_pairs(vectors, self.movie_emb.weight)).squeeze(-1)

    def item_vectors(self) -> Tensor:
        """[num_movies, d] the movie embeddings :math:`q_i`."""
        return self.movie_emb.weight.detach().clone()


class NeuMF(_NCFBase):
    r"""Neural matrix factorisation: GMF and MLP side by side (He et al., WWW 2017, 3.4).

    .. math::
        \phi^{GMF} = p^G_u \odot q^G_i, \qquad
        \phi^{MLP} = a_L \text{ of the MLP on } [p^M_u; q^M_i], \qquad
        z_{ui} = h^\top [\phi^{GMF}; \phi^{MLP}] + b

    The GMF and MLP parts keep **separate** embeddings. :meth:`from_pretrained` initialises
    them from a trained :class:`GMF` and :class:`MLP` and sets
    :math:`h = [\alpha h^{GMF}; (1-\alpha) h^{MLP}]`, :math:`b = \alpha b^{GMF} + (1-\alpha)
    b^{MLP}` (the paper's pretraining, :math:`\alpha = 0.5`).

    Training defaults (:attr:`train_defaults`, chosen on ML-100K's valid NDCG@10): up to 20
    epochs, batch 4096, Adam lr 1e-2 decayed by 0.8 per epoch, weight decay 3e-6, 4 negatives
    per positive, patience 5.

    Args:
        num_users: number of users.
        num_movies: number of movies.
        embedding_dim: GMF embedding size :math:`f` (default 32).
        layers: MLP hidden sizes (default ``(2m, m, m/2)`` for ``m = mlp_embedding_dim``:
            64-32-16).
        mlp_embedding_dim: size of each MLP embedding (default ``embedding_dim``).
        dropout: dropout after each MLP hidden layer (default 0).
        seed: seeds the initial weights (default 0).
    """

    train_defaults = {
        "epochs": 20,
        "batch_size": 4096,
        "lr": 1e-2,
        "lr_decay": 0.8,
        "weight_decay": 3e-6,
        "num_negatives": 4,
        "patience": 5,
    }

    def __init__(
        self,
        num_users: int,
        num_movies: int,
        embedding_dim: int = 32,
        layers: Sequence[int] | None = None,
        mlp_embedding_dim: int | None = None,
        dropout: float = 0.0,
        seed: int | None = 0,
    ) -> None:
        super().__init__(num_users, num_movies, seed)
        if embedding_dim < 1:
            raise ValueError(f"embedding_dim must be positive, not {embedding_dim}")
        factors = int(embedding_dim)
        mlp_embedding_dim = int(mlp_embedding_dim or factors)
        layers = tuple(int(x) for x in (layers or default_layers(mlp_embedding_dim)))
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), not {dropout}")
        self.hparams.update(
            embedding_dim=factors,
            layers=list(layers),
            mlp_embedding_dim=mlp_embedding_dim,
            dropout=float(dropout),
        )
        self.gmf_user = nn.Embedding(num_users, factors)
        self.gmf_movie = nn.Embedding(num_movies, factors)
        self.mlp_user = nn.Embedding(num_users, mlp_embedding_dim)
        self.mlp_movie = nn.Embedding(num_movies, mlp_embedding_dim)
        self.tower = _Tower(mlp_embedding_dim, mlp_embedding_dim, layers, dropout)
        self.out = nn.Linear(factors + layers[-1], 1)
        for emb in (self.gmf_user, self.gmf_movie, self.mlp_user, self.mlp_movie):
            _init_embedding(emb)

    def logits(self, users: Tensor, movies: Tensor, drop: bool = False) -> Tensor:
        gmf = _rows(self.gmf_user, users) * _rows(self.gmf_movie, movies)
        mlp = self.tower.pairs(self.mlp_user.weight, self.mlp_movie.weight, users, movies, drop)
        return self.out(torch.cat([gmf, mlp], dim=-1)).squeeze(-1)

    def _rows_per_chunk(self) -> int:
        return max(self.hparams["layers"])

    def _score_block(self, users: Tensor) -> Tensor:
        f = self.hparams["embedding_dim"]
        w = self.out.weight[0]
        gmf = (_rows(self.gmf_user, users) * w[:f]) @ self.gmf_movie.weight.T  # [B, M]
        a = self.tower.all_pairs(_rows(self.mlp_user, users), self.mlp_movie.weight)  # [B, M, L]
        return gmf + a @ w[f:] + self.out.bias

    def user_vectors(self, users: Tensor) -> Tensor:
        """[B, f + m] the GMF and MLP user embeddings side by side, :math:`[p^G_u; p^M_u]`."""
        users = self.check_users(users)
        return torch.cat([self.gmf_user.weight[users], self.mlp_user.weight[users]], dim=1)

    def score_vector_pairs(self, vectors: Tensor, rows: Tensor, movies: Tensor) -> Tensor:
        f = self.hparams["embedding_dim"]
        gmf = vectors[rows, :f] * self.gmf_movie.weight.detach()[movies]
        mlp = self.tower.pairs(
            vectors[:, f:], self.mlp_movie.weight.detach(), rows, movies, drop=False
        )
        return self.out(torch.cat([gmf, mlp], dim=-1)).squeeze(-1)

    def _vector_block(self, vectors: Tensor) -> Tensor:
        f = self.hparams["embedding_dim"]
        w = self.out.weight[0]
        gmf = (vectors[:, :f] * w[:f]) @ self.gmf_movie.weight.T
        a = self.tower.all_pairs(vectors[:, f:], self.mlp_movie.weight)
        return gmf + a @ w[f:] + self.out.bias

    def item_vectors(self) -> Tensor:
        r"""[num_movies, f + m] :math:`[h^G \odot q^G_i; q^M_i]`, each half scaled to unit
        length so that both parts weigh the same in a cosine."""
        f = self.hparams["embedding_dim"]
        gmf = F.normalize(self.gmf_movie.weight * self.out.weight[0, :f], dim=1)
        return torch.cat([gmf, F.normalize(self.mlp_movie.weight, dim=1)], 1).detach()

    @classmethod
    def from_pretrained(
        cls, gmf: GMF, mlp: MLP, alpha: float = 0.5, dropout: float | None = None
    ) -> NeuMF:
        """A NeuMF whose GMF and MLP parts are copies of trained ``gmf`` and ``mlp``.

        Args:
            gmf: a trained :class:`GMF`.
            mlp: a trained :class:`MLP` over the same users and movies.
            alpha: weight of the GMF output layer in the concatenated one (default 0.5).
            dropout: MLP dropout of the new model (default: ``mlp``'s).
        """
        if (gmf.num_users, gmf.num_movies) != (mlp.num_users, mlp.num_movies):
            raise ValueError(
                f"GMF ({gmf.num_users} users, {gmf.num_movies} movies) and MLP "
                f"({mlp.num_users}, {mlp.num_movies}) were trained on different graphs"
            )
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], not {alpha}")
        hp = mlp.hparams
        model = cls(
            gmf.num_users,
            gmf.num_movies,
            embedding_dim=gmf.hparams["embedding_dim"],
            layers=hp["layers"],
            mlp_embedding_dim=hp["embedding_dim"],
            dropout=hp["dropout"] if dropout is None else dropout,
            seed=None,
        ).to(gmf.device)
        with torch.no_grad():
            model.gmf_user.weight.copy_(gmf.user_emb.weight)
            model.gmf_movie.weight.copy_(gmf.movie_emb.weight)
            model.mlp_user.weight.copy_(mlp.user_emb.weight)
            model.mlp_movie.weight.copy_(mlp.movie_emb.weight)
            model.tower.load_state_dict(mlp.tower.state_dict())
            model.out.weight.copy_(
                torch.cat([alpha * gmf.out.weight, (1 - alpha) * mlp.out.weight], dim=1)
            )
            model.out.bias.copy_(alpha * gmf.out.bias + (1 - alpha) * mlp.out.bias)
        model.seen_ptr = gmf.seen_ptr.clone()
        model.seen_movies = gmf.seen_movies.clone()
        model.ids = gmf.ids
        return model
