r"""item2vec on the movie graph: one model from the train edges to movie vectors.

:class:`Item2Vec` is a :class:`~graphrec.models.base.Recommender` whose ``fit`` runs the whole
pipeline: the train ``rates`` edges projected onto a movie-movie graph
(:func:`graphrec.data.projection.movie_graph`), weighted second-order node2vec walks over it
(:func:`graphrec.walks.random_walks`), and skip-gram with negative sampling on the walks
(:class:`SkipGram`, the trainer). It is saved, loaded and asked for recommendations like every
other model; :meth:`Item2Vec.similar_items` gives similar movies (CSLS or cosine).
"""

from __future__ import annotations

import math
import time
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphrec.models.base import Recommender
from graphrec.walks import torch_threads

__all__ = ["Item2Vec", "SkipGram", "MAX_STEP"]


#: default cap on the norm of one batch's update to one row (see :meth:`SkipGram.fit`)
MAX_STEP = 1.0


def _clipped_add(table: Tensor, ids: Tensor, grads: Tensor, lr: float, max_step: float) -> None:
    """``table[ids] -= lr * grads`` summed per row, each row's total scaled to norm <= max_step."""
    if table.size(0) <= 2 * ids.numel():  # small table: a dense buffer beats sorting ids
        delta = torch.zeros_like(table).index_add_(0, ids, grads, alpha=-lr)
        norm = torch.linalg.vector_norm(delta, dim=1, keepdim=True)
        table.add_(delta.mul_((max_step / norm.clamp_min(1e-30)).clamp_(max=1.0)))
        return
    rows, inverse = torch.unique(ids, return_inverse=True)
    delta = torch.zeros(rows.numel(), grads.size(1), dtype=grads.dtype, device=grads.device)
    delta.index_add_(0, inverse, grads, alpha=-lr)
    norm = torch.linalg.vector_norm(delta, dim=1, keepdim=True)
    delta.mul_((max_step / norm.clamp_min(1e-30)).clamp_(max=1.0))
    table.index_add_(0, rows, delta)


class SkipGram(nn.Module):
    r"""Skip-gram with negative sampling (SGNS) over walks on an item graph.

    Implements word2vec's skip-gram with negative sampling (Mikolov et al., NeurIPS 2013,
    "Distributed Representations of Words and Phrases and their Compositionality") applied to
    items as in item2vec (Barkan & Koenigstein, MLSP 2016), with sentences replaced by random
    walks on the item graph as in DeepWalk / node2vec (see :mod:`graphrec.walks`).

    Every node ``v`` has an input vector :math:`\mathbf{u}_v` and an output vector
    :math:`\mathbf{v}_v`. For each pair of a centre token ``c`` and a context token ``x``
    within the window, the loss is

    .. math::

        \ell(x, c) = -\log\sigma(\mathbf{u}_x^\top \mathbf{v}_c)
            - \sum_{k=1}^{K} \log\sigma(-\mathbf{u}_x^\top \mathbf{v}_{n_k}),
        \qquad n_k \sim P(n) \propto \mathrm{count}(n)^{0.75},

    summed over all pairs of the epoch (the loss reported per epoch is its mean per pair).
    Similarity of two nodes is the cosine of their input vectors.

    The corpus follows word2vec: each epoch drops every token ``v`` with probability
    :math:`1 - \min\big(1, (\sqrt{f_v / t} + 1)\, t / f_v\big)` (``f_v`` its share of all
    tokens, ``t = subsample``), closes up the gaps, and gives each centre a window size drawn
    uniformly from ``1..window``.

    How it is computed, for speed on CPUs. Rather than materialising one vector per pair and
    per negative, a batch of walks is embedded once (``[walks, length, dim]`` for each table)
    and all centre-context scores of a walk come from one batched matrix product
    (``[length, dim] x [dim, length]``), masked to the window; the work per token therefore
    grows with the walk length (fine up to walks of ~100 nodes). Negatives are shared, as in
    the BLAS-3 formulation of Ji et al. (2016, "Parallelizing Word2Vec in Shared and
    Distributed Memory"): each walk draws ``neg_pool`` nodes from :math:`P(n)` and every
    token of the walk is scored against all of them with weight ``K / neg_pool`` per pair it
    takes part in. For every pair the expected negative term is exactly the one above; only
    the correlation between pairs of the same walk differs from word2vec, whose per-pair
    draws also skip a negative equal to the centre (this does not).

    Updates are word2vec's: plain SGD on the closed-form gradients, ``lr`` per pair decaying
    linearly to ``lr / 100``, added with ``index_add_`` straight into both tables (no autograd,
    no optimiser state); the updates of a batch are summed, and each row's sum is capped at norm
    ``max_step`` (a hub that fills half a batch would otherwise take one huge step and diverge;
    on the ML-100K movie graph the cap changes valid NDCG@10 by < .003). Measured on a 981-node
    weighted SBM (see ``experiments/benchmarks/bench_item2vec.py``): with gensim's own
    ``lr = 0.025`` this matches gensim's neighbour quality, while dense Adam through autograd was
    slower per epoch and, at batches large enough to be fast, stayed on the loss plateau where
    vectors encode only node frequency (sparse gradients / ``SparseAdam`` cannot help with
    tables of ~10^3 rows).

    Args:
        num_nodes (int): number of nodes (rows of both tables); walk entries are node ids in
            ``[0, num_nodes)``, ``-1`` is padding.
        dim (int): embedding size. (default: ``64``)
        seed (int): seed of the initialisation (input vectors uniform in
            ``[-0.5 / dim, 0.5 / dim]``, output vectors zero, as in word2vec). (default: ``0``)

    Example:
        >>> walks = random_walks(edge_index, edge_weight, walk_length=40, walks_per_node=10)
        >>> model = SkipGram(num_nodes, dim=64)
        >>> losses = model.fit(walks, epochs=5)
        >>> ids, scores = model.similar(torch.tensor([0, 1]), k=10)
    """

    def __init__(self, num_nodes: int, dim: int = 64, seed: int = 0) -> None:
        super().__init__()
        if num_nodes < 1:
            raise ValueError(f"num_nodes must be >= 1, got {num_nodes}")
        if dim < 1:
            raise ValueError(f"dim must be >= 1, got {dim}")
        self.num_nodes = int(num_nodes)
        self.dim = int(dim)
        self.seed = int(seed)
        gen = torch.Generator().manual_seed(self.seed)
        weight = (torch.rand(num_nodes, dim, generator=gen) - 0.5) / dim
        self.in_embedding = nn.Embedding(num_nodes, dim, _weight=weight)
        self.out_embedding = nn.Embedding(num_nodes, dim, _weight=torch.zeros(num_nodes, dim))
        #: ``[num_nodes]`` token counts of the walks of the last :meth:`fit` (0: never seen).
        self.register_buffer("counts", torch.zeros(num_nodes, dtype=torch.long))
        #: mean loss per pair of each epoch of the last :meth:`fit`.
        self.history: list[float] = []

    # ------------------------------------------------------------------ training
    def fit(
        self,
        walks: Tensor,
        epochs: int = 5,
        window: int = 5,
        negatives: int = 5,
        lr: float = 0.025,
        batch_size: int | None = None,
        neg_pool: int = 20,
        subsample: float = 1e-3,
        dynamic_window: bool = True,
        max_step: float | None = MAX_STEP,
        seed: int = 0,
        progress: bool = True,
        num_threads: int | None = 1,
    ) -> list[float]:
        """Train on ``walks`` and return the mean loss per pair of each epoch.

        Args:
            walks (Tensor): ``[num_walks, walk_length]`` node ids, ``-1`` for padding.
            epochs (int): passes over the walks. (default: ``5``)
            window (int): largest distance between centre and context. (default: ``5``)
            negatives (int): ``K``, negatives per positive pair. (default: ``5``)
            lr (float): learning rate per pair, as word2vec's ``alpha``, decayed linearly to
                ``lr / 100`` over the run. (default: ``0.025``)
            batch_size (int, optional): walks per update. Updates are summed over the pairs
                of a batch, so a batch in which a node occurs many times acts like a larger
                step on it. ``None`` sizes batches to about two tokens per distinct node
                (``2 * nodes_seen / walk_length`` walks; 49 for 981 nodes and walks of 40),
                which trained stably from 24 to 981 nodes. (default: ``None``)
            neg_pool (int): negatives drawn per walk and shared by its tokens.
                (default: ``20``)
            subsample (float): word2vec's down-sampling threshold ``t`` for frequent nodes;
                ``0`` keeps every token. (default: ``1e-3``)
            dynamic_window (bool): draw each centre's window from ``1..window`` as word2vec
                does; ``False`` uses ``window`` everywhere. (default: ``True``)
            max_step (float, optional): largest norm of one batch's summed update to any
                row (larger ones are scaled down to it); ``None`` applies updates unclipped.
                A node that occurs many times in a batch (a hub of the walks, or a frequent
                negative) otherwise gets the sum of all its pair updates computed at the same
                point, which can overshoot and diverge. (default: :data:`MAX_STEP`)
            seed (int): seed of the generator behind shuffling, subsampling, windows and
                negatives. (default: ``0``)
            progress (bool): show a tqdm bar over batches. (default: ``True``)
            num_threads (int, optional): torch threads while training (see
                :func:`graphrec.walks.torch_threads`); ``None`` keeps the current setting.
                (default: ``1``)

        Returns:
            list[float]: ``[epochs]`` mean loss per positive pair (also in :attr:`history`).

        Raises:
            ValueError: on malformed walks or arguments.
            FloatingPointError: if training diverges (loss not finite); lower ``lr`` or
                ``batch_size``.
        """
        walks = self._check_walks(walks)
        for name, value in (("epochs", epochs), ("window", window), ("batch_size", batch_size)):
            if value is not None and value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        if negatives < 0 or neg_pool < 1:
            raise ValueError(f"need negatives >= 0 and neg_pool >= 1, got {negatives}, {neg_pool}")
        if not (lr > 0 and math.isfinite(lr)):
            raise ValueError(f"lr must be a positive finite number, got {lr}")
        if subsample < 0:
            raise ValueError(f"subsample must be >= 0, got {subsample}")
        if max_step is not None and not (max_step > 0 and math.isfinite(max_step)):
            raise ValueError(f"max_step must be a positive finite number or None, got {max_step}")

        from tqdm.auto import tqdm

        # Sampling runs on the CPU (one seeded generator); the update runs where the model is.
        device = self.in_embedding.weight.device
        gen = torch.Generator().manual_seed(seed)
        counts = torch.bincount(walks[walks >= 0], minlength=self.num_nodes)
        if int(counts.sum()) == 0:
            raise ValueError("walks hold no node ids (all padding); nothing to train on")
        self.counts.copy_(counts.to(self.counts.device))
        freq = counts.double() / counts.sum()
        keep_prob = torch.ones(self.num_nodes, dtype=torch.float64)
        if subsample > 0:
            seen = counts > 0
            keep_prob[seen] = ((freq[seen] / subsample).sqrt() + 1) * subsample / freq[seen]
            keep_prob.clamp_(max=1.0)
        noise = counts.double().pow(0.75)
        noise /= noise.sum()

        num_walks, length = walks.shape
        if batch_size is None:
            batch_size = max(1, round(2 * int((counts > 0).sum()) / length))
        num_batches = math.ceil(num_walks / batch_size)
        total_steps = epochs * num_batches
        # bands[r * L + i, j] = 1 where 0 < |i - j| <= r: the contexts j of centre i, reach r.
        pos = torch.arange(length)
        dist = (pos.view(1, -1) - pos.view(-1, 1)).abs()
        bands = (dist > 0) & (dist <= torch.arange(window + 1).view(-1, 1, 1))
        bands = bands.float().view(-1, length)  # [(window + 1) * L, L]
        neg_weight = negatives / neg_pool
        self.history = []
        step = 0
        bar = tqdm(
            total=total_steps,
            disable=not progress,
            desc="item2vec",
            unit="batch",
            leave=False,
            dynamic_ncols=True,
        )
        with torch_threads(num_threads):
            try:
                for _ in range(epochs):
                    perm = torch.randperm(num_walks, generator=gen)
                    negs = torch.multinomial(noise, num_walks * neg_pool, True, generator=gen)
                    negs = negs.view(num_walks, neg_pool)
                    epoch_loss, epoch_pairs = 0.0, 0.0
                    for b in range(num_batches):
                        rows = perm[b * batch_size : (b + 1) * batch_size]
                        batch = self._subsample(walks.index_select(0, rows), keep_prob, gen)
                        if dynamic_window:
                            reach = torch.randint(1, window + 1, batch.shape, generator=gen)
                        else:
                            reach = torch.full(batch.shape, window)
                        # mask[b, i, j] = 1: token j is a context of centre i.
                        mask = bands.index_select(0, (reach * length + pos).view(-1))
                        mask = mask.view(batch.size(0), length, length)
                        valid = batch >= 0
                        if not bool(valid.all()):
                            valid = valid.float()
                            mask.mul_(valid.unsqueeze(2)).mul_(valid.unsqueeze(1))
                        step_lr = lr * (1.0 - 0.99 * step / total_steps)
                        loss, pairs = self._sgd_step(
                            batch.clamp(min=0).to(device),
                            mask.to(device),
                            negs.index_select(0, rows).to(device),
                            neg_weight,
                            step_lr,
                            max_step,
                        )
                        if not math.isfinite(loss):
                            raise FloatingPointError(
                                f"item2vec diverged in epoch {len(self.history) + 1} "
                                f"(loss {loss}); lower lr (now {lr}) or batch_size "
                                f"(now {batch_size})"
                            )
                        epoch_loss += loss
                        epoch_pairs += pairs
                        step += 1
                        bar.update(1)
                    self.history.append(epoch_loss / max(epoch_pairs, 1.0))
                    bar.set_postfix(loss=f"{self.history[-1]:.4f}")
            finally:
                bar.close()
        return list(self.history)

    @torch.no_grad()
    def _sgd_step(
        self,
        ids: Tensor,
        mask: Tensor,
        neg: Tensor,
        neg_weight: float,
        lr: float,
        max_step: float | None = None,
    ) -> tuple[float, float]:
        """One SGD update on a batch of walks (gradients in closed form, no autograd).

        Args:
            ids (Tensor): ``[B, L]`` node ids (padding clamped to any valid id; ``mask``
                removes it).
            mask (Tensor): ``[B, L, L]`` float, ``mask[b, i, j] = 1`` where token ``j`` is a
                context of centre ``i``.
            neg (Tensor): ``[B, P]`` negatives shared by the tokens of each walk.
            neg_weight (float): ``K / P``.
            lr (float): step size per pair.
            max_step (float, optional): cap on the norm of each row's summed update.

        Returns:
            tuple[float, float]: summed loss and number of pairs of the batch.
        """
        w_in, w_out = self.in_embedding.weight, self.out_embedding.weight
        bsz, length = ids.shape
        flat, neg_flat = ids.view(-1), neg.reshape(-1)
        u = w_in.index_select(0, flat).view(bsz, length, -1)  # [B, L, D] context side
        v = w_out.index_select(0, flat).view(bsz, length, -1)  # [B, L, D] centre side
        v_neg = w_out.index_select(0, neg_flat).view(bsz, neg.size(1), -1)  # [B, P, D]
        pos = torch.bmm(v, u.transpose(1, 2))  # [B, L(i), L(j)]: v_i . u_j
        negs = torch.bmm(u, v_neg.transpose(1, 2)).neg_()  # [B, L(j), P]: -u_j . v_n
        per_token = mask.sum(1)  # [B, L] pairs in which token j is the context
        num_pairs = float(per_token.sum())
        weight = per_token.mul_(neg_weight).unsqueeze(2)  # [B, L, 1]
        # The loss needs log sigma, the gradient sigma: take the log of the sigmoids (much
        # cheaper than logsigmoid on this CPU; the clamp only guards against log(0)).
        sig_pos = torch.sigmoid(pos).clamp_min_(1e-30)
        sig_neg = torch.sigmoid(negs).clamp_min_(1e-30)  # sigma(-u_j . v_n)
        loss = -float(torch.dot(sig_pos.log().view(-1), mask.view(-1)))
        loss -= float(torch.dot(sig_neg.log().sum(2).view(-1), weight.view(-1)))
        g_pos = sig_pos.sub_(1.0).mul_(mask)  # d loss / d pos
        g_neg = sig_neg.sub_(1.0).neg_().mul_(weight)  # d loss / d (u_j . v_n)
        d_u = torch.bmm(g_pos.transpose(1, 2), v).baddbmm_(g_neg, v_neg)  # [B, L, D]
        d_v = torch.bmm(g_pos, u)  # [B, L, D]
        d_neg = torch.bmm(g_neg.transpose(1, 2), u)  # [B, P, D]
        if max_step is None:
            w_in.index_add_(0, flat, d_u.view(-1, self.dim), alpha=-lr)
            w_out.index_add_(0, flat, d_v.view(-1, self.dim), alpha=-lr)
            w_out.index_add_(0, neg_flat, d_neg.view(-1, self.dim), alpha=-lr)
        else:
            _clipped_add(w_in, flat, d_u.view(-1, self.dim), lr, max_step)
            _clipped_add(
                w_out,
                torch.cat([flat, neg_flat]),
                torch.cat([d_v.view(-1, self.dim), d_neg.view(-1, self.dim)]),
                lr,
                max_step,
            )
        return loss, num_pairs

    @staticmethod
    def _subsample(batch: Tensor, keep_prob: Tensor, gen: torch.Generator) -> Tensor:
        """Drop tokens with probability ``1 - keep_prob[token]`` and close up the gaps.

        ``batch [B, L]`` -> ``[B, L]`` with the kept tokens first in their order, then ``-1``.
        """
        valid = batch >= 0
        keep = valid & (
            torch.rand(batch.shape, generator=gen, dtype=torch.float64)
            < keep_prob[batch.clamp(min=0)]
        )
        if bool((keep == valid).all()):
            return batch
        # Stable sort puts kept tokens first, in walk order.
        order = torch.sort((~keep).to(torch.uint8), dim=1, stable=True).indices
        out = batch.gather(1, order)
        out[~keep.gather(1, order)] = -1
        return out

    def _check_walks(self, walks: Tensor) -> Tensor:
        if not isinstance(walks, Tensor) or walks.dim() != 2:
            raise ValueError("walks must be a [num_walks, walk_length] tensor of node ids")
        if walks.dtype.is_floating_point or walks.dtype == torch.bool:
            raise ValueError(f"walks must hold integer node ids, got dtype {walks.dtype}")
        walks = walks.to(torch.long).cpu()
        if walks.numel() == 0:
            raise ValueError("walks is empty; nothing to train on")
        lo, hi = int(walks.min()), int(walks.max())
        if lo < -1 or hi >= self.num_nodes:
            raise ValueError(
                f"walks hold ids in [{lo}, {hi}]; expected node ids in "
                f"[0, num_nodes={self.num_nodes}) and -1 for padding"
            )
        return walks

    # ------------------------------------------------------------------ inference
    def embeddings(self) -> Tensor:
        """``[num_nodes, dim]`` node embeddings: the input vectors (as gensim's ``wv``)."""
        return self.in_embedding.weight.detach().clone()

    @torch.no_grad()
    def similar(self, ids: Tensor, k: int = 10) -> tuple[Tensor, Tensor]:
        """Cosine top-``k`` neighbours of each node in ``ids``, the node itself excluded.

        Nodes that never occurred in the training walks (untrained vectors) are never
        returned as neighbours.

        Args:
            ids (Tensor): ``[n]`` node ids.
            k (int): neighbours per node. (default: ``10``)

        Returns:
            tuple[Tensor, Tensor]: ``([n, k]`` neighbour ids, ``[n, k]`` cosine similarities),
            most similar first.
        """
        ids = torch.as_tensor(ids, dtype=torch.long).view(-1)
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= self.num_nodes):
            raise ValueError(
                f"ids must be node ids in [0, num_nodes={self.num_nodes}), got "
                f"[{int(ids.min())}, {int(ids.max())}]"
            )
        candidates = int((self.counts > 0).sum()) if int(self.counts.sum()) else self.num_nodes
        if not 1 <= k < candidates:
            raise ValueError(f"k must be in [1, {candidates - 1}] (trained nodes - 1), got {k}")
        emb = F.normalize(self.in_embedding.weight, dim=1)
        ids = ids.to(emb.device)
        scores = emb.index_select(0, ids) @ emb.t()  # [n, num_nodes]
        scores[torch.arange(ids.numel(), device=emb.device), ids] = -math.inf
        if int(self.counts.sum()):
            scores[:, self.counts == 0] = -math.inf
        top = scores.topk(k, dim=1)
        return top.indices, top.values


class Item2Vec(Recommender):
    r"""item2vec (Barkan & Koenigstein, MLSP 2016) on node2vec walks (Grover & Leskovec, KDD
    2016) over the movie graph projected from the train ``rates`` edges.

    ``fit(split)``:

    1. **projection**: movie-movie edges weighted by ``weighting`` over the users who rated
       both (:func:`~graphrec.data.projection.movie_graph`); each movie keeps its ``knn``
       strongest neighbours (union over both ends) and the edges both ends chose are weighted
       by ``mutual_weight`` (a popular film is in the top ``knn`` of hundreds of films and would
       otherwise pull every walk towards it);
    2. **walks**: ``walks_per_node`` weighted second-order walks of ``walk_length`` nodes from
       every movie with an edge (return parameter ``p``, in-out parameter ``q``);
    3. **skip-gram** with negative sampling on the walks (:class:`SkipGram`): ``window``,
       ``embedding_dim``; the epochs, learning rate, negatives and batch come from the
       :class:`~graphrec.train.TrainConfig` (defaults in :attr:`train_defaults`).

    A user's profile is the normalised mean of the normalised vectors of their train movies,
    and a movie scores its cosine to it:

    .. math::
        p_u = \mathrm{norm}\Big(\sum_{j \in \mathcal{I}_u} \mathrm{norm}(e_j)\Big), \qquad
        \hat{y}_{u,i} = p_u^\top \mathrm{norm}(e_i)

    Movies without an edge in the movie graph keep untrained vectors and are never returned by
    :meth:`similar_items`. A new user folds in in closed form, its profile made from the movies
    it liked exactly as a known user's (:meth:`~graphrec.models.base.Recommender.fold_in`; the
    unit vectors of disliked movies are subtracted). Skip-gram trains for a fixed number of
    epochs (no validation).

    Args:
        num_users: number of users.
        num_movies: number of movies.
        embedding_dim: size of the movie vectors (default 64).
        weighting: edge weights of the movie graph, ``cosine``, ``jaccard``, ``pmi`` or raw
            ``count`` (default cosine; raw counts send the walks to a few popular hubs).
        graph_min_rating: only ratings >= this make co-rating edges (default: all).
        min_count: drop movie pairs co-rated by fewer users (default 1).
        knn: keep each movie's strongest K neighbours; 0 keeps all (default 10; 6 on
            ml-100k, see :mod:`graphrec.presets`).
        mutual_weight: multiply the weight of edges both movies chose by this; 1 turns it off
            (default 10; 4 on ml-100k).
        walk_length: nodes per walk (default 40).
        walks_per_node: walks started from every movie (default 10).
        p: node2vec return parameter (default 1).
        q: node2vec in-out parameter (default 1).
        window: skip-gram window (default 5).
        hubness_k: similar movies are ranked by CSLS, ``2 cos(x, y) - r(y)`` with ``r(y)`` the
            mean cosine of ``y`` to its K nearest movies; 0 ranks by plain cosine (default 50,
            fewer where the graph has too few movies).
        seed: seeds the initial vectors (default 0).
    """

    fit_objective = "skip-gram"
    train_defaults = {"epochs": 15, "lr": 0.025, "num_negatives": 5, "batch_size": None}
    WEIGHTING_CHOICES = ("cosine", "jaccard", "pmi", "count")

    def __init__(
        self,
        num_users: int,
        num_movies: int,
        embedding_dim: int = 64,
        weighting: str = "cosine",
        graph_min_rating: float | None = None,
        min_count: int = 1,
        knn: int = 10,
        mutual_weight: float = 10.0,
        walk_length: int = 40,
        walks_per_node: int = 10,
        p: float = 1.0,
        q: float = 1.0,
        window: int = 5,
        hubness_k: int = 50,
        seed: int | None = 0,
    ) -> None:
        super().__init__(num_users, num_movies, seed)
        if weighting not in self.WEIGHTING_CHOICES:
            raise ValueError(
                f"weighting must be one of {self.WEIGHTING_CHOICES}, not {weighting!r}"
            )
        checks = {
            "knn": knn >= 0,
            "mutual_weight": mutual_weight > 0,
            "walk_length": walk_length >= 2,
            "walks_per_node": walks_per_node >= 1,
            "p": p > 0,
            "q": q > 0,
            "window": window >= 1,
            "hubness_k": hubness_k >= 0,
            "min_count": min_count >= 1,
        }
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"Item2Vec: {name}={locals()[name]!r} is out of range")
        self.hparams.update(
            embedding_dim=int(embedding_dim),
            weighting=weighting,
            graph_min_rating=graph_min_rating,
            min_count=int(min_count),
            knn=int(knn),
            mutual_weight=float(mutual_weight),
            walk_length=int(walk_length),
            walks_per_node=int(walks_per_node),
            p=float(p),
            q=float(q),
            window=int(window),
            hubness_k=int(hubness_k),
        )
        self.skipgram = SkipGram(num_movies, dim=embedding_dim, seed=0 if seed is None else seed)
        self.register_buffer("has_edge", torch.zeros(num_movies, dtype=torch.bool))
        self.register_buffer("movie_unit", torch.zeros(num_movies, embedding_dim))
        self.register_buffer("user_profile", torch.zeros(num_users, embedding_dim))
        #: the movie graph and walks of the last ``fit`` (not saved)
        self.graph = None
        self.walks: Tensor | None = None
        self.timing: dict[str, float] = {}
        self._hub: tuple[int, Tensor] | None = None

    # ------------------------------------------------------------------ training
    def movie_graph(self, split):
        """The projected movie graph of ``split`` with this model's settings."""
        from graphrec.data.projection import movie_graph

        hp = self.hparams
        knn = hp["knn"] or None
        return movie_graph(
            split,
            weighting=hp["weighting"],
            min_rating=hp["graph_min_rating"],
            min_count=hp["min_count"],
            knn=knn,
            mutual_weight=hp["mutual_weight"] if knn else 1.0,
        )

    def fit(self, split, config=None, graph=None, **overrides: Any) -> Item2Vec:
        """Project, walk and train skip-gram on ``split``; returns the model.

        Args:
            split: the interaction split (only train edges are used).
            config: a :class:`~graphrec.train.TrainConfig`: ``epochs``, ``lr`` (per pair,
                decayed linearly), ``num_negatives``, ``batch_size`` (walks per step; None:
                about two tokens per distinct movie), ``seed`` (walks, negatives), ``device``,
                ``progress``; fields left None take :attr:`train_defaults`.
            graph: a movie graph of your own to walk instead of the projection (``Data`` with
                ``edge_index`` [2, E], both directions of each edge, and ``edge_weight`` [E],
                over the split's movie indices).
            overrides: fields of the config to change.
        """
        from graphrec.distributed import single_process_only
        from graphrec.io import resolve_device

        single_process_only("Item2Vec", "trains skip-gram with its own loop")
        from graphrec.train import History, TrainConfig, progress_enabled
        from graphrec.walks import random_walks

        ids = getattr(split, "ids", None)
        cfg = (config or TrainConfig()).replace(**overrides).resolve(self, ids and ids.dataset)
        self.remember_seen(split)
        timing: dict[str, float] = {}
        t_start = t0 = time.perf_counter()
        if graph is None:
            graph = self.movie_graph(split)
        else:
            ei = graph.edge_index
            if ei.numel() and (int(ei.min()) < 0 or int(ei.max()) >= split.num_movies):
                raise ValueError(
                    f"graph has movie ids in [{int(ei.min())}, {int(ei.max())}], but the split's "
                    f"are 0..{split.num_movies - 1}: build it over the split's movie indices"
                )
        timing["graph_seconds"] = time.perf_counter() - t0
        hp = self.hparams
        t0 = time.perf_counter()
        walks = random_walks(
            graph.edge_index,
            graph.edge_weight,
            split.num_movies,
            walk_length=hp["walk_length"],
            walks_per_node=hp["walks_per_node"],
            p=hp["p"],
            q=hp["q"],
            seed=cfg.seed,
        )
        timing["walk_seconds"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        device = resolve_device(cfg.device)
        self.skipgram.to(device)
        losses = self.skipgram.fit(
            walks.to(device),
            epochs=cfg.epochs,
            window=hp["window"],
            negatives=cfg.num_negatives,
            lr=cfg.lr,
            batch_size=cfg.batch_size,
            seed=cfg.seed,
            progress=progress_enabled(cfg.progress),
        )
        self.skipgram.cpu()
        timing["train_seconds"] = time.perf_counter() - t0
        self.graph, self.walks, self.timing = graph, walks.cpu(), timing
        self.has_edge = torch.bincount(graph.edge_index[0], minlength=split.num_movies) > 0
        self._set_profiles(split)
        hist = History(config=cfg.to_dict(), objective="skip-gram")
        hist.selection = f"the last of {cfg.epochs} skip-gram epochs (no validation)"
        hist.epochs = [{"epoch": i + 1, "loss": loss} for i, loss in enumerate(losses)]
        hist.best_epoch, hist.train_seconds = len(losses), time.perf_counter() - t_start
        self.history = hist
        self.meta["loss"] = list(losses)
        return self

    @classmethod
    def from_embeddings(cls, emb: Tensor, split, **kwargs: Any) -> Item2Vec:
        """An Item2Vec over given movie vectors ``emb`` [num_movies, d] (e.g. from another
        trainer), every movie counted as having an edge; users are scored as after ``fit``."""
        if emb.dim() != 2 or emb.size(0) != split.num_movies:
            raise ValueError(
                f"embeddings must be [{split.num_movies}, d] for the split's movies, not "
                f"{list(emb.shape)}"
            )
        model = cls(split.num_users, split.num_movies, embedding_dim=emb.size(1), **kwargs)
        with torch.no_grad():
            model.skipgram.in_embedding.weight.copy_(emb.detach().float().cpu())
        model.has_edge = torch.ones(split.num_movies, dtype=torch.bool)
        model.remember_seen(split)
        model._set_profiles(split)
        return model

    def _set_profiles(self, split) -> None:
        z = F.normalize(self.skipgram.embeddings().float().cpu(), dim=1)
        profile = torch.zeros(split.num_users, z.size(1)).index_add_(
            0, split.train[0].cpu(), z[split.train[1].cpu()]
        )
        self.movie_unit = z.to(self.movie_unit.device)
        self.user_profile = F.normalize(profile, dim=1).to(self.user_profile.device)
        self._hub = None

    # ------------------------------------------------------------------ contract
    def embeddings(self) -> Tensor:
        """[num_movies, embedding_dim] the movie vectors (skip-gram's input vectors)."""
        return self.skipgram.embeddings()

    def score(self, users: Tensor, movies: Tensor) -> Tensor:
        users, movies = self.check_users(users), self.check_movies(movies)
        return (self.user_profile[users] * self.movie_unit[movies]).sum(-1)

    def score_all(self, users: Tensor) -> Tensor:
        return self.user_profile[self.check_users(users)] @ self.movie_unit.T

    # ------------------------------------------------------------------ users as vectors
    def user_vectors(self, users: Tensor) -> Tensor:
        """[B, d] the users' profiles :math:`p_u` (unit length)."""
        return self.user_profile[self.check_users(users)]

    def score_vector_pairs(self, vectors: Tensor, rows: Tensor, movies: Tensor) -> Tensor:
        return (vectors[rows] * self.movie_unit[movies]).sum(-1)

    def score_user_vectors(self, vectors: Tensor) -> Tensor:
        return vectors @ self.movie_unit.T

    def item_vectors(self) -> Tensor:
        """[num_movies, d] the movie vectors (skip-gram's input vectors)."""
        return self.embeddings()

    def known_movies(self) -> Tensor:
        """[num_movies] bool: movies with an edge in the movie graph (trained vectors)."""
        return self.has_edge.clone()

    def _fold_in(self, liked, disliked, **options) -> Tensor:
        """A new user's profile in closed form, as a known user's: the normalised sum of the
        unit vectors of its liked movies, less those of its disliked ones."""
        rows = [
            self.movie_unit[pos].sum(0) - self.movie_unit[neg].sum(0)
            for pos, neg in zip(liked, disliked, strict=True)
        ]
        return F.normalize(torch.stack(rows), dim=1)

    def effective_hubness_k(self) -> int:
        """``hubness_k``, capped to the movies with an edge (CSLS needs more than K)."""
        return max(0, min(self.hparams["hubness_k"], int(self.has_edge.sum()) - 1))

    def hub_scores(self) -> Tensor | None:
        """CSLS's ``r`` [num_movies] for this embedding (None with plain cosine), measured once
        per fit."""
        from graphrec.similarity import hubness

        k = self.effective_hubness_k()
        if not k:
            return None
        if self._hub is None or self._hub[0] != k:
            self._hub = (k, hubness(self.movie_unit, k, self.has_edge))
        return self._hub[1]

    @torch.no_grad()
    def similar_indices(self, movies: Tensor, k: int = 10) -> tuple[Tensor, Tensor]:
        """Top-``k`` similar movies of node indices ``movies``: ``(indices [n, k], ranking
        scores [n, k])`` by CSLS (``hubness_k`` > 0) or cosine, among movies with an edge."""
        from graphrec.similarity import top_similar

        movies = self.check_movies(movies).cpu()
        return top_similar(
            self.embeddings(),
            movies,
            k,
            allowed=self.has_edge,
            hubness_k=self.effective_hubness_k(),
            hub=self.hub_scores(),
        )

    def similar_items(self, movies: Any, k: int = 10) -> tuple[Tensor, Tensor]:
        """Similar movies of raw movie id(s) or title(s): ``(raw ids [n, k], scores [n, k])``."""
        ids = self._id_maps()
        keys = [movies] if isinstance(movies, (int, str)) else list(movies)
        index = torch.tensor(ids.movie_indices(keys), dtype=torch.long)
        top, scores = self.similar_indices(index, k)
        return torch.as_tensor(ids.movies)[top], scores
