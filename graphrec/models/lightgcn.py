"""LightGCN: linear propagation of id embeddings over the user-movie graph."""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import Tensor, nn

from graphrec.models.base import FinalVectorModel
from graphrec.models.bpr import bpr_loss, l2_per_example

__all__ = ["LightGCN", "normalized_adjacency", "symmetric_spmm"]


class _SymmetricSpMM(torch.autograd.Function):
    """``adj @ x`` for a symmetric sparse ``adj`` whose gradient is ``adj @ grad``.

    torch's own backward of a sparse-dense product transposes the sparse matrix on every call
    (about 25x slower than the forward on ML-100K); a symmetric matrix is its own transpose.
    """

    @staticmethod
    def forward(ctx: Any, adj: Tensor, x: Tensor) -> Tensor:
        ctx.adj = adj
        return adj @ x

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[None, Tensor]:
        return None, ctx.adj @ grad


def symmetric_spmm(adj: Tensor, x: Tensor) -> Tensor:
    """[N, d] ``adj @ x`` for a symmetric sparse [N, N] ``adj`` (no gradient to ``adj``)."""
    return _SymmetricSpMM.apply(adj, x)


def normalized_adjacency(users: Tensor, movies: Tensor, num_users: int, num_movies: int) -> Tensor:
    r"""The symmetric normalised adjacency of the bipartite user-movie graph.

    Nodes are ordered users first (``0..num_users-1``), then movies
    (``num_users..num_users+num_movies-1``). With :math:`A` the symmetric 0/1 adjacency and
    :math:`D` its degree matrix,

    .. math::
        \hat{A} = D^{-1/2} A D^{-1/2}, \qquad
        \hat{A}_{u,i} = \hat{A}_{i,u} = \frac{1}{\sqrt{|N_u|}\sqrt{|N_i|}}.

    Args:
        users: [E] user index of each edge.
        movies: [E] movie index of each edge (distinct pairs).

    Returns:
        a sparse CSR tensor [N, N], ``N = num_users + num_movies``.
    """
    n = num_users + num_movies
    rows = torch.cat([users, movies + num_users])
    cols = torch.cat([movies + num_users, users])
    deg = torch.bincount(rows, minlength=n).float()
    inv_sqrt = deg.clamp(min=1).pow(-0.5)
    values = inv_sqrt[rows] * inv_sqrt[cols]
    adj = torch.sparse_coo_tensor(torch.stack([rows, cols]), values, (n, n), check_invariants=False)
    with warnings.catch_warnings():  # "sparse CSR support is in beta"
        warnings.simplefilter("ignore", UserWarning)
        return adj.coalesce().to_sparse_csr()


class LightGCN(FinalVectorModel):
    r"""LightGCN (He et al., "LightGCN: Simplifying and Powering Graph Convolution Network for
    Recommendation", SIGIR 2020) over the train ``rates`` edges of a split.

    Layer-0 embeddings :math:`E^{(0)}` (users, then movies) are propagated without weights or
    non-linearities and averaged over layers; a pair is scored by a dot product:

    .. math::
        E^{(l+1)} = \hat{A} E^{(l)}, \qquad
        E = \frac{1}{L+1}\sum_{l=0}^{L} E^{(l)}, \qquad
        \hat{y}_{u,i} = \mathbf{e}_u^\top \mathbf{e}_i,

    with :math:`\hat{A}` from :func:`normalized_adjacency` (a torch sparse CSR matrix: no
    pyg-lib or torch-sparse needed). The loss is BPR with L2 on the *layer-0* embeddings of
    the batch, as in the paper:

    .. math::
        \mathcal{L} = -\frac{1}{B}\sum_{(u,i,j)}\log\sigma(\hat{y}_{u,i} - \hat{y}_{u,j})
        + \frac{\lambda}{2B}\sum_{(u,i,j)}\left(\lVert\mathbf{e}^{(0)}_u\rVert^2
        + \lVert\mathbf{e}^{(0)}_i\rVert^2 + \lVert\mathbf{e}^{(0)}_j\rVert^2\right).

    The propagation graph is set by :meth:`set_graph` (``remember_seen(split)``, which
    ``graphrec.train.fit`` calls, sets it to the split's train edges), so valid and test
    edges never leak into message passing. ``model.fit(split)`` trains it pairwise
    (``fit_objective = "bpr"``); training defaults (:attr:`train_defaults`): up to 250 epochs,
    batch 8192, Adam lr 1e-2, 1 negative per positive, patience 20.

    In eval mode without autograd (``evaluate``, ``recommend``, ``torch.no_grad()``) the
    propagated embeddings are computed once and cached; the cache is dropped on
    ``train()``/``eval()`` and whenever the embedding weights change (optimiser steps,
    ``load_state_dict``), so ``score_all`` is one matrix product. With autograd on (e.g. for
    attributions) every call propagates, so gradients reach the layer-0 embeddings.

    A new user is folded in (:meth:`~graphrec.models.base.Recommender.fold_in`) by BPR over
    a new *propagated* vector :math:`\mathbf{e}_u` against the frozen propagated movie
    embeddings (the graph is not changed: the new user's own layers are not propagated).

    Args:
        num_users: number of users.
        num_movies: number of movies.
        embedding_dim: size of the embeddings (default 64).
        num_layers: propagation layers :math:`L` (default 3).
        reg: :math:`\lambda`, L2 weight on the batch's layer-0 embeddings (default 1e-3).
        init_std: standard deviation of the normal initialisation (default 0.1).
        seed: seeds the initial weights (default 0).
    """

    fit_objective = "bpr"
    train_defaults = {
        "epochs": 250,
        "batch_size": 8192,
        "lr": 1e-2,
        "num_negatives": 1,
        "patience": 20,
    }

    def __init__(
        self,
        num_users: int,
        num_movies: int,
        embedding_dim: int = 64,
        num_layers: int = 3,
        reg: float = 1e-3,
        init_std: float = 0.1,
        seed: int | None = 0,
    ) -> None:
        super().__init__(num_users, num_movies, seed)
        if num_layers < 0:
            raise ValueError(f"num_layers must be >= 0, not {num_layers}")
        self.hparams.update(
            embedding_dim=embedding_dim, num_layers=num_layers, reg=reg, init_std=init_std
        )
        self.num_layers, self.reg = int(num_layers), float(reg)
        self.user_emb = nn.Embedding(num_users, embedding_dim)
        self.movie_emb = nn.Embedding(num_movies, embedding_dim)
        nn.init.normal_(self.user_emb.weight, std=init_std)
        nn.init.normal_(self.movie_emb.weight, std=init_std)
        #: [2, E] train (user, movie) edges the propagation runs over
        self.register_buffer("graph_edges", torch.zeros(2, 0, dtype=torch.long))
        self._adj: Tensor | None = None
        self._cache: tuple[tuple, Tensor, Tensor] | None = None

    # ------------------------------------------------------------------ graph
    def set_graph(self, edge_index: Tensor) -> LightGCN:
        """Propagate over these [2, E] (user, movie) edges from now on."""
        edge_index = torch.as_tensor(edge_index, dtype=torch.long)
        if edge_index.dim() != 2 or edge_index.size(0) != 2:
            raise ValueError(f"edge_index must be [2, E], not {list(edge_index.shape)}")
        self.check_users(edge_index[0])
        self.check_movies(edge_index[1])
        self.graph_edges = edge_index.clone().to(self.graph_edges.device)
        self._adj, self._cache = None, None
        return self

    def remember_seen(self, split) -> LightGCN:
        """Store the train movies per user and propagate over the split's train edges."""
        super().remember_seen(split)
        return self.set_graph(split.train)

    def adjacency(self) -> Tensor:
        """The [N, N] normalised adjacency (built once per graph and device)."""
        if self.graph_edges.numel() == 0:
            raise RuntimeError(
                "LightGCN has no graph: call set_graph(split.train) or remember_seen(split) "
                "(fit does) before scoring"
            )
        dev = self.user_emb.weight.device
        if self._adj is None or self._adj.device != dev:
            u, m = self.graph_edges.to(dev)
            self._adj = normalized_adjacency(u, m, self.num_users, self.num_movies)
        return self._adj

    def propagate(self) -> tuple[Tensor, Tensor]:
        """Final embeddings ``(users [num_users, d], movies [num_movies, d])``: the mean of
        layers 0..L (cached in eval mode under ``torch.no_grad()``)."""
        w_u, w_m = self.user_emb.weight, self.movie_emb.weight
        key = (w_u._version, w_m._version, w_u.data_ptr(), w_m.data_ptr(), self.num_layers)
        cacheable = not self.training and not torch.is_grad_enabled()
        if cacheable and self._cache is not None and self._cache[0] == key:
            return self._cache[1], self._cache[2]
        adj = self.adjacency()
        x = torch.cat([w_u, w_m])
        out = x
        for _ in range(self.num_layers):
            x = symmetric_spmm(adj, x)
            out = out + x
        out = out / (self.num_layers + 1)
        users, movies = out[: self.num_users], out[self.num_users :]
        if cacheable:
            self._cache = (key, users, movies)
        return users, movies

    def _load_from_state_dict(self, *args: Any, **kwargs: Any) -> None:
        self._adj, self._cache = None, None
        super()._load_from_state_dict(*args, **kwargs)

    def train(self, mode: bool = True) -> LightGCN:
        self._cache = None
        return super().train(mode)

    # ------------------------------------------------------------------ contract
    def _final(self) -> tuple[Tensor, Tensor]:
        r"""The propagated embeddings :math:`\mathbf{e}_u`, :math:`\mathbf{e}_i`; scoring,
        user vectors and the item space come from :class:`FinalVectorModel`."""
        return self.propagate()

    def bpr_loss(self, users: Tensor, positives: Tensor, negatives: Tensor) -> Tensor:
        """BPR on propagated embeddings + L2 on the batch's layer-0 embeddings ([B] each)."""
        eu, em = self.propagate()
        u, p, n = eu[users], em[positives], em[negatives]
        reg = 0.0
        if self.reg:
            reg = self.reg * l2_per_example(
                self.user_emb(users), self.movie_emb(positives), self.movie_emb(negatives)
            )
        return bpr_loss((u * p).sum(-1), (u * n).sum(-1), reg)

    # ------------------------------------------------------------------ persistence
    def extra_state(self) -> dict[str, Any]:
        return {"num_graph_edges": int(self.graph_edges.size(1))}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        # the graph's size depends on the data: resize the buffer before load_state_dict
        n = int(state.get("num_graph_edges", 0))
        self.graph_edges = torch.zeros(2, n, dtype=torch.long, device=self.graph_edges.device)
        self._adj, self._cache = None, None
