"""Attention-NCF: self-attention over user and movie embedding tokens before an MLP."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphrec.models.base import Recommender

__all__ = ["AttentionNCF"]


class AttentionNCF(Recommender):
    r"""Attention-NCF: the seed report's Assignment 4 model (an NCF MLP tower whose input is
    the user and movie embeddings after scaled dot-product self-attention).

    **Tokens.** The user embedding :math:`\mathbf{p}_u \in \mathbb{R}^d` and the movie
    embedding :math:`\mathbf{q}_i \in \mathbb{R}^d` are each cut into ``num_chunks`` = :math:`c`
    chunks of size :math:`d_k = d / c`, giving :math:`T = 2c` tokens
    :math:`X \in \mathbb{R}^{T \times d_k}` (user chunks first, then movie chunks). With
    ``num_chunks=1`` the tokens are just the whole user and movie embeddings (:math:`T = 2`);
    with more chunks the heat map shows *which parts* of each embedding attend to which.
    Softmax runs over the keys of all :math:`T` tokens, so user chunks can attend to movie
    chunks and back: this is where the user-movie interaction enters before the MLP.

    .. math::
        Q = X W_Q,\ K = X W_K,\ V = X W_V, \qquad
        A = \operatorname{softmax}\!\left(\frac{Q K^\top}{\sqrt{d_k}}\right) \in
        \mathbb{R}^{T \times T}, \qquad
        H = A V \;(+\, X \text{ if residual})

    .. math::
        \hat{y}_{u,i} = \mathbf{w}^\top \operatorname{MLP}(\operatorname{vec}(H)) + b

    trained with binary cross-entropy with logits on sampled negatives (Adam) by
    ``model.fit(split)``; training defaults (:attr:`train_defaults`): up to 25 epochs, batch
    4096, lr 5e-3, 4 negatives per positive, patience 5. :meth:`attention` returns the
    weights :math:`A` ([B, T, T], rows sum to one) for inspection.

    Args:
        num_users: number of users.
        num_movies: number of movies.
        embedding_dim: :math:`d` (default 64); must be divisible by ``num_chunks``.
        num_chunks: :math:`c`, chunks per embedding (default 4, so :math:`T = 8` tokens of 16).
        hidden: MLP layer sizes after the concatenated :math:`2d` attended tokens
            (default ``(128, 64, 32)``).
        dropout: dropout after each MLP layer (default 0.0).
        residual: add the tokens back to the attention output (default True; the seed's
            model had none: ``residual=False``).
        init_std: standard deviation of the embeddings' normal initialisation (default 0.01).
        seed: seeds the initial weights (default 0).
    """

    train_defaults = {
        "epochs": 25,
        "batch_size": 4096,
        "lr": 5e-3,
        "num_negatives": 4,
        "patience": 5,
    }

    def __init__(
        self,
        num_users: int,
        num_movies: int,
        embedding_dim: int = 64,
        num_chunks: int = 4,
        hidden: Sequence[int] = (128, 64, 32),
        dropout: float = 0.0,
        residual: bool = True,
        init_std: float = 0.01,
        seed: int | None = 0,
    ) -> None:
        super().__init__(num_users, num_movies, seed)
        if num_chunks < 1 or embedding_dim % num_chunks:
            raise ValueError(
                f"embedding_dim={embedding_dim} must be a positive multiple of "
                f"num_chunks={num_chunks}"
            )
        hidden = [int(h) for h in hidden]
        self.hparams.update(
            embedding_dim=embedding_dim,
            num_chunks=num_chunks,
            hidden=hidden,
            dropout=dropout,
            residual=residual,
            init_std=init_std,
        )
        self.embedding_dim, self.num_chunks = int(embedding_dim), int(num_chunks)
        self.head_dim = self.embedding_dim // self.num_chunks
        self.residual = bool(residual)
        self.user_emb = nn.Embedding(num_users, embedding_dim)
        self.movie_emb = nn.Embedding(num_movies, embedding_dim)
        nn.init.normal_(self.user_emb.weight, std=init_std)
        nn.init.normal_(self.movie_emb.weight, std=init_std)
        self.query = nn.Linear(self.head_dim, self.head_dim)
        self.key = nn.Linear(self.head_dim, self.head_dim)
        self.value = nn.Linear(self.head_dim, self.head_dim)
        layers: list[nn.Module] = []
        width = 2 * self.embedding_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = h
        self.mlp = nn.Sequential(*layers)
        self.out = nn.Linear(width, 1)

    @property
    def num_tokens(self) -> int:
        """:math:`T = 2c`."""
        return 2 * self.num_chunks

    def tokens(self, users: Tensor, movies: Tensor) -> Tensor:
        """[B, T, d_k] user chunks then movie chunks."""
        return self._tokens(self.user_emb(users), self.movie_emb(movies))

    def _tokens(self, u: Tensor, m: Tensor) -> Tensor:
        """[B, T, d_k] tokens of user and movie vectors [B, d]."""
        u = u.view(-1, self.num_chunks, self.head_dim)
        m = m.view(-1, self.num_chunks, self.head_dim)
        return torch.cat([u, m], 1)

    def _attend(self, users: Tensor, movies: Tensor) -> tuple[Tensor, Tensor]:
        return self._attend_tokens(self.tokens(users, movies))

    def _attend_tokens(self, x: Tensor) -> tuple[Tensor, Tensor]:
        q, k, v = self.query(x), self.key(x), self.value(x)
        weights = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(self.head_dim), dim=-1)
        h = weights @ v
        if self.residual:
            h = h + x
        return h, weights

    def forward(self, users: Tensor, movies: Tensor) -> Tensor:
        """[B] logits of already-checked index tensors."""
        h, _ = self._attend(users, movies)
        return self.out(self.mlp(h.flatten(1))).view(-1)

    def attention(self, users: Tensor, movies: Tensor) -> Tensor:
        """[B, T, T] attention weights of each pair (row t: how token t attends to each key;
        rows sum to one). Tokens: ``user[0..c-1]``, then ``movie[0..c-1]``."""
        _, weights = self._attend(self.check_users(users), self.check_movies(movies))
        return weights

    def token_names(self) -> list[str]:
        """Labels of the T tokens, for plots."""
        if self.num_chunks == 1:
            return ["user", "movie"]
        c = self.num_chunks
        return [f"user[{i}]" for i in range(c)] + [f"movie[{i}]" for i in range(c)]

    # ------------------------------------------------------------------ contract
    def score(self, users: Tensor, movies: Tensor) -> Tensor:
        """[B] logits (higher is better)."""
        return self(self.check_users(users), self.check_movies(movies))

    def score_all(self, users: Tensor, chunk_pairs: int = 1 << 18) -> Tensor:
        """[B, num_movies], computed in chunks of about ``chunk_pairs`` (user, movie) pairs."""
        users = self.check_users(users)
        movies = torch.arange(self.num_movies, device=users.device)
        step = max(1, chunk_pairs // self.num_movies)
        rows = []
        for s in range(0, users.numel(), step):
            u = users[s : s + step]
            logits = self(u.repeat_interleave(self.num_movies), movies.repeat(u.numel()))
            rows.append(logits.view(u.numel(), self.num_movies))
        if not rows:
            return torch.empty(0, self.num_movies, device=users.device)
        return torch.cat(rows)

    # ------------------------------------------------------------------ users as vectors
    def user_vectors(self, users: Tensor) -> Tensor:
        r"""[B, d] the user embeddings :math:`\mathbf{p}_u`."""
        return self.user_emb.weight[self.check_users(users)]

    def score_vector_pairs(self, vectors: Tensor, rows: Tensor, movies: Tensor) -> Tensor:
        x = self._tokens(vectors[rows], self.movie_emb.weight.detach()[movies])
        h, _ = self._attend_tokens(x)
        return self.out(self.mlp(h.flatten(1))).view(-1)

    def score_user_vectors(self, vectors: Tensor, chunk_pairs: int = 1 << 18) -> Tensor:
        """[B, num_movies] logits for user vectors [B, d], in chunks of about ``chunk_pairs``."""
        movies = torch.arange(self.num_movies, device=vectors.device)
        step = max(1, chunk_pairs // self.num_movies)
        rows = []
        for s in range(0, vectors.size(0), step):
            v = vectors[s : s + step]
            index = torch.arange(v.size(0), device=v.device).repeat_interleave(self.num_movies)
            logits = self.score_vector_pairs(v, index, movies.repeat(v.size(0)))
            rows.append(logits.view(v.size(0), self.num_movies))
        return torch.cat(rows) if rows else vectors.new_zeros(0, self.num_movies)

    def item_vectors(self) -> Tensor:
        r"""[num_movies, d] the movie embeddings :math:`\mathbf{q}_i`."""
        return self.movie_emb.weight.detach().clone()

    def loss(self, users: Tensor, movies: Tensor, labels: Tensor) -> Tensor:
        """Binary cross-entropy with logits on a [B] batch."""
        return F.binary_cross_entropy_with_logits(self(users, movies), labels)
