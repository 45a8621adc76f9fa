r"""HeteroGNN: GraphSAGE message passing over the user-movie HeteroData, trained with BPR.

GraphSAGE (Hamilton, Ying and Leskovec, "Inductive Representation Learning on Large Graphs",
NeurIPS 2017) made heterogeneous in the way of R-GCN (Schlichtkrull et al., "Modeling
Relational Data with Graph Convolutional Networks", ESWC 2018) and PyG's ``to_hetero``: one
``SAGEConv`` per edge type, here a :class:`torch_geometric.nn.HeteroConv` over
``('user', 'rates', 'movie')`` and its reverse ``('movie', 'rated_by', 'user')``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from graphrec.models.base import FinalVectorModel
from graphrec.models.bpr import bpr_loss, l2_per_example

__all__ = ["HeteroGNN"]

RATES = ("user", "rates", "movie")
RATED_BY = ("movie", "rated_by", "user")


class HeteroGNN(FinalVectorModel):
    r"""Two-layer heterogeneous GraphSAGE over the train ``rates`` edges, scored by a dot
    product and trained with BPR (Rendle et al., UAI 2009).

    Layer 0 of a node is its projected attributes plus a learned id embedding: users
    :math:`h^{(0)}_u = W_U x_u + p_u`, movies :math:`h^{(0)}_i = W_M x_i + m_i q_i` (``x``:
    ``data['user'].x`` [num_users, F_u], ``data['movie'].x`` [num_movies, F_m]; ``m_i`` the
    cold-start mask below, 1 outside training). Each layer is a mean-aggregating ``SAGEConv``
    per edge type over the *train* edges only (valid and test edges never carry messages):

    .. math::
        h^{(l+1)}_i = \sigma\Big(W^{(l)}_{1} h^{(l)}_i
            + W^{(l)}_{2}\,\frac{1}{|N(i)|}\sum_{u \in N(i)} h^{(l)}_u\Big), \qquad
        h^{(l+1)}_u = \sigma\Big(V^{(l)}_{1} h^{(l)}_u
            + V^{(l)}_{2}\,\frac{1}{|N(u)|}\sum_{i \in N(u)} h^{(l)}_i\Big),

    with :math:`\sigma` = ReLU between layers and the identity after the last (an empty
    neighbourhood aggregates to 0). The score is
    :math:`\hat y_{u,i} = {h^{(L)}_u}^\top h^{(L)}_i`, the loss BPR plus L2 (weight
    :math:`\lambda` = ``reg``) on the batch's layer-0 vectors:

    .. math::
        \mathcal{L} = -\frac{1}{B}\sum_{(u,i,j)}\log\sigma(\hat y_{u,i} - \hat y_{u,j})
        + \frac{\lambda}{2B}\sum_{(u,i,j)}\left(\lVert h^{(0)}_u\rVert^2
        + \lVert h^{(0)}_i\rVert^2 + \lVert h^{(0)}_j\rVert^2\right).

    Full batch: every training step propagates the whole graph (ML-100K: 2.6k nodes, 80k
    edges) with a plain ``edge_index`` (no pyg-lib, torch-sparse or SparseTensor).

    **Cold start.** A movie with no train rating has an untrained id embedding and no
    neighbours, so at every training step a share ``cold_dropout`` of the movies (drawn from
    torch's global generator, which ``fit`` seeds) is made to look cold: its id embedding is
    zeroed (``m_i = 0``) *and* its train edges are dropped from the message passing. The
    model so learns to score a movie from its attributes alone. At scoring time the movies
    that had no train positive (:meth:`known_movies` false) always get ``m_i = 0``: their
    vector is :math:`W_M x_i` sent through the layers' self weights.

    In eval mode under ``torch.no_grad()`` the final vectors are computed once and cached
    (keyed on the parameters' versions; dropped on ``train()``/``eval()``/``load``), so
    ``score_all`` is one matrix product. :meth:`user_vectors` are the final user vectors
    :math:`h^{(L)}_u`, so the default fold-in (BPR over a new final vector against the frozen
    movie vectors) applies.

    Args:
        num_users: number of users.
        num_movies: number of movies.
        user_x: [num_users, F_u] user attributes (``None``: zeros of ``num_user_features``
            columns, e.g. when loading).
        movie_x: [num_movies, F_m] movie attributes (likewise).
        num_user_features: ``F_u`` when ``user_x`` is None.
        num_movie_features: ``F_m`` when ``movie_x`` is None.
        embedding_dim: ``d``, the size of every layer (default 64).
        num_layers: ``L`` (default 2).
        cold_dropout: share of movies made cold at each training step (default 0.1).
        reg: :math:`\lambda` (default 1e-4).
        init_std: standard deviation of the id embeddings' normal initialisation (0.1).
        seed: seeds the initial weights (default 0).
    """

    fit_objective = "bpr"
    train_defaults = {
        "epochs": 60,
        "batch_size": 8192,
        "lr": 5e-3,
        "num_negatives": 1,
        "patience": 8,
    }

    def __init__(
        self,
        num_users: int,
        num_movies: int,
        user_x: Tensor | None = None,
        movie_x: Tensor | None = None,
        num_user_features: int = 0,
        num_movie_features: int = 0,
        embedding_dim: int = 64,
        num_layers: int = 2,
        cold_dropout: float = 0.1,
        reg: float = 1e-4,
        init_std: float = 0.1,
        seed: int | None = 0,
    ) -> None:
        from torch_geometric.nn import HeteroConv, SAGEConv

        super().__init__(num_users, num_movies, seed)
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, not {num_layers}")
        if not 0.0 <= cold_dropout < 1.0:
            raise ValueError(f"cold_dropout must be in [0, 1), not {cold_dropout}")
        ux = _table(user_x, num_users, num_user_features, "user_x")
        mx = _table(movie_x, num_movies, num_movie_features, "movie_x")
        d = int(embedding_dim)
        self.hparams.update(
            num_user_features=ux.size(1),
            num_movie_features=mx.size(1),
            embedding_dim=d,
            num_layers=int(num_layers),
            cold_dropout=float(cold_dropout),
            reg=float(reg),
            init_std=float(init_std),
        )
        self.num_layers, self.cold_dropout, self.reg = int(num_layers), float(cold_dropout), reg
        self.register_buffer("user_x", ux)
        self.register_buffer("movie_x", mx)
        self.user_proj = nn.Linear(ux.size(1), d) if ux.size(1) else None
        self.movie_proj = nn.Linear(mx.size(1), d) if mx.size(1) else None
        self.user_emb = nn.Embedding(num_users, d)
        self.movie_emb = nn.Embedding(num_movies, d)
        nn.init.normal_(self.user_emb.weight, std=init_std)
        nn.init.normal_(self.movie_emb.weight, std=init_std)
        self.convs = nn.ModuleList(
            HeteroConv(
                {RATES: SAGEConv((d, d), d), RATED_BY: SAGEConv((d, d), d)},
                aggr="sum",
            )
            for _ in range(self.num_layers)
        )
        #: [2, E] train (user, movie) edges the messages run over
        self.register_buffer("graph_edges", torch.zeros(2, 0, dtype=torch.long))
        self._cache: tuple[tuple, Tensor, Tensor] | None = None

    @classmethod
    def from_split(cls, split, data=None, **kwargs: Any) -> HeteroGNN:
        """Sized for ``split``, with the attributes ``data['user'].x`` and
        ``data['movie'].x`` of the graph (required)."""
        if data is None:
            raise ValueError("HeteroGNN reads node attributes: pass the graph as data=")
        return cls(split.num_users, split.num_movies, data["user"].x, data["movie"].x, **kwargs)

    # ------------------------------------------------------------------ graph
    def set_graph(self, edge_index: Tensor) -> HeteroGNN:
        """Pass messages over these [2, E] (user, movie) edges from now on."""
        edge_index = torch.as_tensor(edge_index, dtype=torch.long)
        if edge_index.dim() != 2 or edge_index.size(0) != 2:
            raise ValueError(f"edge_index must be [2, E], not {list(edge_index.shape)}")
        self.check_users(edge_index[0])
        self.check_movies(edge_index[1])
        self.graph_edges = edge_index.clone().to(self.graph_edges.device)
        self._cache = None
        return self

    def remember_seen(self, split) -> HeteroGNN:
        """Store the train movies per user and pass messages over the split's train edges."""
        super().remember_seen(split)
        return self.set_graph(split.train)

    def layer0(self, movie_mask: Tensor) -> tuple[Tensor, Tensor]:
        """``(users [num_users, d], movies [num_movies, d])`` layer-0 vectors; ``movie_mask``
        [num_movies] (1: the id embedding counts, 0: the movie is cold)."""
        hu, hm = self.user_emb.weight, self.movie_emb.weight * movie_mask.unsqueeze(1)
        if self.user_proj is not None:
            hu = hu + self.user_proj(self.user_x)
        if self.movie_proj is not None:
            hm = hm + self.movie_proj(self.movie_x)
        return hu, hm

    def propagate(self, cold: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Final and layer-0 vectors ``(users, movies, users0, movies0)``, each [N, d].

        ``cold`` [num_movies] bool: movies whose id embedding is zeroed and whose edges are
        dropped (default: the movies without a train positive). Cached in eval mode under
        ``torch.no_grad()`` when ``cold`` is the default."""
        if self.graph_edges.numel() == 0:
            raise RuntimeError(
                "HeteroGNN has no graph: call set_graph(split.train) or remember_seen(split) "
                "(fit does) before scoring"
            )
        cacheable = cold is None and not self.training and not torch.is_grad_enabled()
        key = tuple(p._version for p in self.parameters()) + (self.graph_edges.data_ptr(),)
        if cacheable and self._cache is not None and self._cache[0] == key:
            return self._cache[1], self._cache[2], None, None  # type: ignore[return-value]
        dev = self.user_emb.weight.device
        edges = self.graph_edges.to(dev)
        if cold is None:
            cold = self._edgeless(edges)
        edges = edges[:, ~cold[edges[1]]]
        hu0, hm0 = self.layer0((~cold).to(self.user_emb.weight.dtype))
        x = {"user": hu0, "movie": hm0}
        edge_index = {RATES: edges, RATED_BY: edges.flip(0)}
        for layer, conv in enumerate(self.convs):
            x = conv(x, edge_index)
            if layer < self.num_layers - 1:
                x = {k: v.relu() for k, v in x.items()}
        users, movies = x["user"], x["movie"]
        if cacheable:
            self._cache = (key, users, movies)
        return users, movies, hu0, hm0

    def _edgeless(self, edges: Tensor) -> Tensor:
        """[num_movies] bool: movies without an edge in the graph (after ``fit``: without a
        train positive, i.e. not :meth:`known_movies`)."""
        return torch.bincount(edges[1], minlength=self.num_movies) == 0

    def _load_from_state_dict(self, *args: Any, **kwargs: Any) -> None:
        self._cache = None
        super()._load_from_state_dict(*args, **kwargs)

    def train(self, mode: bool = True) -> HeteroGNN:
        self._cache = None
        return super().train(mode)

    # ------------------------------------------------------------------ contract
    def _final(self) -> tuple[Tensor, Tensor]:
        users, movies, _, _ = self.propagate()
        return users, movies

    def bpr_loss(self, users: Tensor, positives: Tensor, negatives: Tensor) -> Tensor:
        """BPR on final vectors of a batch of triples ([B] each), a fresh share
        ``cold_dropout`` of movies made cold, L2 on the batch's layer-0 vectors."""
        dev = self.user_emb.weight.device
        cold = self._edgeless(self.graph_edges.to(dev))
        if self.cold_dropout > 0:
            cold = cold | (torch.rand(self.num_movies, device=dev) < self.cold_dropout)
        eu, em, hu0, hm0 = self.propagate(cold)
        u, p, n = eu[users], em[positives], em[negatives]
        reg = self.reg * l2_per_example(hu0[users], hm0[positives], hm0[negatives])
        return bpr_loss((u * p).sum(-1), (u * n).sum(-1), reg if self.reg else 0.0)

    # ------------------------------------------------------------------ persistence
    def extra_state(self) -> dict[str, Any]:
        return {"num_graph_edges": int(self.graph_edges.size(1))}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        n = int(state.get("num_graph_edges", 0))
        self.graph_edges = torch.zeros(2, n, dtype=torch.long, device=self.graph_edges.device)
        self._cache = None


def _table(x: Tensor | None, rows: int, cols: int, name: str) -> Tensor:
    if x is None:
        return torch.zeros(rows, int(cols))
    x = torch.as_tensor(x, dtype=torch.float32)
    if x.dim() != 2 or x.size(0) != rows:
        raise ValueError(f"{name} must be [{rows}, F] (one row per node), not {list(x.shape)}")
    return x.detach().clone()
