"""Weighted node2vec random walks in pure torch.

Implements the biased second-order random walk of node2vec (Grover & Leskovec, KDD 2016,
"node2vec: Scalable Feature Learning for Networks") on a weighted graph, without pyg-lib or
torch-cluster. All walkers move together: each walk step is a handful of vectorised tensor
operations over every walker; the only Python loops are over walk steps and over the few
rounds of rejection sampling inside a step.

Transition rule. A walker that arrived at ``v`` from ``t`` moves to a neighbour ``x`` of ``v``
with probability proportional to ``alpha_pq(t, x) * w(v, x)``, where

.. math::

    \\alpha_{pq}(t, x) = \\begin{cases} 1/p & x = t \\\\ 1 & (t, x) \\in E \\\\
    1/q & \\text{otherwise} \\end{cases}

First-order draws (the first step of a walk, and every step when ``p = q = 1``) use
``P(x | v) = w(v, x) / sum_y w(v, y)`` by inverse CDF on the global cumulative sum of the CSR
edge weights. A plain ``torch.searchsorted`` over all edges is memory-latency bound on these
machines (~0.2-0.7 us per draw), so a guide table (Chen & Asau, 1974) with 4 equal-mass
buckets per edge maps a draw to its edge with one gather and one comparison; the few draws
in buckets holding several edge boundaries (0.5% on a 981-node SBM) fall back to
``searchsorted``.

Second-order draws use exact rejection sampling (KnightKing, Yang et al., SOSP 2019). The
cumulative ("outlier") path treats the return edge as an outlier: with ``c = max(1, 1/q)``
and ``W = sum_y w(v, y)``, a trial returns to ``t`` with probability
``(w(v, t) / p) / (w(v, t) / p + c (W - w(v, t)))``; otherwise it proposes ``x`` from the
first-order rule with the edge back to ``t`` left out (one shift of the draw on the
cumulative scale) and accepts it with probability ``alpha_pq(t, x) / c``. Trials are
repeated until one succeeds; every node ``x`` comes out with probability proportional to
``alpha_pq(t, x) w(v, x)``, exactly (up to the 2^-24 resolution of the float32 acceptance
coins). Keeping the return move out of the envelope makes any ``p`` cheap (a leaf returns
at once even for ``p = 1e6``) and takes about 1.8 trials per step at ``p = 0.5, q = 2`` on
a 981-node SBM; the acceptance rate can still fall towards ``min(q, 1/q)`` where ``q`` is
far from 1 (e.g. ``q = 0.01`` in a clique), which slows those steps but never changes the
law.

By default (``sampler="auto"``) second-order proposals come instead from per-row alias
tables (Walker 1977; built for all rows at once by prefix sums, :func:`alias_tables`): a
trial gathers from 4 per-edge tables instead of the cumulative path's 9 (one of them the
guide table, 4 entries per edge), and one float64 uniform gives the bucket, the alias coin
and the acceptance coin. Where ``1/p <= c`` the way back is proposed like any other move
and accepted with ``(1/p) / c``; where ``1/p > c`` (a likely return) it is drawn apart with
its exact chance ``(w(v, t) / p) / (w(v, t) / p + c W)`` and a proposal that lands on ``t``
fails. Only where ``p`` is large (``1/p < min(1, 1/q) / 4``; a walker at a leaf would need
about ``p`` trials to go back) does the cumulative outlier path above take over. On the
ML-100K movie graph (974 nodes, 149k edges, 9740 walks of 40 nodes, one thread) the alias
path took 77 / 53 / 57 ms against the outlier path's 105 / 106 / 117 ms at
``(p, q) = (0.5, 2) / (2, 0.5) / (1, 0.5)`` (best of 5, alternating;
``experiments/benchmarks/bench_item2vec.py --movie-graph``).

Walkers take their second-order steps asynchronously: each iteration gives every walker one
trial (several where most trials fail, and for the last few walkers) and moves on those that
succeeded, while the others try again from where they are in the next iteration. Every walk
follows the exact law above, and an iteration is one batch of vector operations over all
walkers, where retrying inside each step costs several rounds per step (on the ML-100K
movie graph at p = 0.5, q = 2, 9740 walks of 40 nodes: 55 iterations for 38 second-order
steps, where retrying inside each step took 150 rounds; 1.5x the steps per second).

The test ``(t, x) in E`` is one gather from an ``N x N`` byte table (up to 4096 nodes) or bit
table (up to 16384), else a ``searchsorted`` into the sorted CSR keys ``row * N + col``.
Memory stays O(E) (plus that table; the first-order alias tables are one row per node),
where node2vec's precomputed second-order alias tables (pecanpy's ``PreComp``) cost
``sum_v deg(v)^2`` entries.

The graph is taken as given: edges are directed ``src -> dst`` as listed, so an undirected
graph must list both directions (``torch_geometric.utils.to_undirected`` does this). Edges of
weight zero are dropped: they can never be walked and do not count as edges in the test
``(t, x) in E``. Parallel edges are merged by summing their weights.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor

__all__ = ["WeightedWalker", "alias_tables", "random_walks", "torch_threads"]

#: Value written into a walk after the walker reached a node without out-edges.
PAD = -1
#: Guide-table buckets per edge (memory: 8 bytes * GUIDE per edge).
GUIDE = 4
#: Trials per iteration below which second-order walkers get several trials each.
TAIL_TRIALS = 2048
#: How much harder than the hardest other move the way back may be to accept for the
#: alias-table path to be used by ``sampler="auto"`` (``1/p >= min(1, 1/q) / RETURN_SLACK``).
RETURN_SLACK = 4.0
#: Second-order samplers of :class:`WeightedWalker`.
SAMPLERS = ("auto", "alias", "outlier")


@contextmanager
def torch_threads(num_threads: int | None) -> Iterator[None]:
    """Run a block with ``torch.set_num_threads(num_threads)``, then restore the old value.

    ``None`` leaves the setting alone. The walker and the skip-gram trainer run many small
    operations (about 10^4 elements each); on the shared 2-core machines this project runs
    on, torch's intra-op threads then wait on each other (a batched ``bmm`` of 2 small
    matrices went from 19 us to 11 ms with 2 threads on a loaded machine), so both default
    to one thread. The setting is process-wide while the block runs.
    """
    if num_threads is None:
        yield
        return
    if num_threads < 1:
        raise ValueError(f"num_threads must be >= 1 or None, got {num_threads}")
    old = torch.get_num_threads()
    torch.set_num_threads(num_threads)
    try:
        yield
    finally:
        torch.set_num_threads(old)


class WeightedWalker:
    r"""Batched weighted node2vec walker over a fixed graph (CSR built once).

    Args:
        edge_index (Tensor): ``[2, num_edges]`` integer edge list ``src -> dst``. The graph is
            used as given; symmetrise it first for an undirected graph.
        edge_weight (Tensor, optional): ``[num_edges]`` non-negative finite weights.
            ``None`` means all ones. (default: ``None``)
        num_nodes (int, optional): number of nodes; ``None`` means ``edge_index.max() + 1``.
            (default: ``None``)
        p (float): return parameter; a small ``p`` makes the walk step back to the node it
            came from more often. (default: ``1.0``)
        q (float): in-out parameter; ``q > 1`` keeps the walk near where it came from
            (BFS-like), ``q < 1`` pushes it outward (DFS-like). (default: ``1.0``)
        num_threads (int, optional): torch threads while building and walking (see
            :func:`torch_threads`); ``None`` keeps the current setting. (default: ``1``)
        sampler (str): how second-order steps propose moves: ``"alias"`` (per-row alias
            tables), ``"outlier"`` (cumulative weights with the way back left out and drawn
            apart), or ``"auto"``: alias unless ``1/p < min(1, 1/q) / 4`` (large ``p``,
            where a walker at a leaf would need about ``p`` alias trials to go back). Both
            follow the same exact law; they differ in speed (see the module docstring).
            Unused when ``p = q = 1``. :attr:`second_order` tells which one is in use.
            (default: ``"auto"``)

    Raises:
        ValueError: on a malformed ``edge_index``, a weight that is negative or not finite,
            a node id outside ``[0, num_nodes)``, a graph without any edge of positive weight,
            ``p``/``q`` that are not positive finite numbers, or an unknown ``sampler``.

    Example:
        >>> walker = WeightedWalker(edge_index, edge_weight, p=0.5, q=2.0)
        >>> walks = walker.walk(torch.arange(walker.num_nodes), walk_length=40)
    """

    def __init__(
        self,
        edge_index: Tensor,
        edge_weight: Tensor | None = None,
        num_nodes: int | None = None,
        p: float = 1.0,
        q: float = 1.0,
        num_threads: int | None = 1,
        sampler: str = "auto",
    ) -> None:
        if num_threads is not None and num_threads < 1:
            raise ValueError(f"num_threads must be >= 1 or None, got {num_threads}")
        if sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")
        self.num_threads = num_threads
        with torch_threads(num_threads):
            self._build(edge_index, edge_weight, num_nodes, p, q, sampler)

    def _build(
        self,
        edge_index: Tensor,
        edge_weight: Tensor | None,
        num_nodes: int | None,
        p: float,
        q: float,
        sampler: str = "auto",
    ) -> None:
        """Check the input; build the CSR, guide table, reverse edges and membership."""
        for name, value in (("p", p), ("q", q)):
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive finite number, got {value!r}")
        self.p = float(p)
        self.q = float(q)

        if not isinstance(edge_index, Tensor) or edge_index.dim() != 2 or edge_index.size(0) != 2:
            shape = tuple(edge_index.shape) if isinstance(edge_index, Tensor) else type(edge_index)
            raise ValueError(f"edge_index must be a [2, num_edges] tensor, got {shape}")
        if edge_index.dtype.is_floating_point or edge_index.dtype == torch.bool:
            raise ValueError(f"edge_index must hold integer node ids, got dtype {edge_index.dtype}")
        edge_index = edge_index.to(torch.long).cpu()
        num_edges = edge_index.size(1)
        if num_edges == 0:
            raise ValueError("the graph is empty (edge_index has no edges); nothing to walk on")

        if edge_weight is None:
            weight = torch.ones(num_edges, dtype=torch.float64)
        else:
            if edge_weight.shape != (num_edges,):
                raise ValueError(
                    f"edge_weight must have shape [num_edges] = [{num_edges}], "
                    f"got {tuple(edge_weight.shape)}"
                )
            weight = edge_weight.detach().cpu().to(torch.float64)
            if not bool(torch.isfinite(weight).all()):
                raise ValueError("edge_weight holds NaN or infinite values")
            if bool((weight < 0).any()):
                bad = int((weight < 0).nonzero()[0, 0])
                raise ValueError(
                    f"edge_weight must be non-negative; edge {bad} has weight {weight[bad].item()}"
                )

        lo, hi = int(edge_index.min()), int(edge_index.max())
        if num_nodes is None:
            num_nodes = hi + 1
        if lo < 0 or hi >= num_nodes:
            raise ValueError(
                f"edge_index holds node ids in [{lo}, {hi}], outside [0, num_nodes={num_nodes}); "
                "pass the right num_nodes or reindex the nodes"
            )
        self.num_nodes = int(num_nodes)

        keep = weight > 0
        if not bool(keep.any()):
            raise ValueError("every edge has weight 0; the graph has nothing to walk on")
        src, dst, weight = edge_index[0, keep], edge_index[1, keep], weight[keep]
        n = self.num_nodes

        # Sort by (src, dst) and merge parallel edges, so that the keys row * N + col are
        # unique and sorted: the CSR doubles as an edge-membership index.
        key = src * n + dst
        key, inverse = torch.unique(key, sorted=True, return_inverse=True)
        weight = torch.zeros(key.numel(), dtype=torch.float64).index_add_(0, inverse, weight)
        row = key // n

        #: ``[num_edges]`` sorted edge keys ``row * num_nodes + col``.
        self.keys: Tensor = key
        #: ``[num_edges]`` CSR column indices (destination nodes).
        self.col: Tensor = key % n
        #: ``[num_nodes]`` out-degree (number of distinct out-neighbours).
        self.degree: Tensor = torch.bincount(row, minlength=n)
        #: ``[num_nodes + 1]`` CSR row pointer.
        self.rowptr: Tensor = torch.zeros(n + 1, dtype=torch.long)
        self.rowptr[1:] = torch.cumsum(self.degree, 0)
        #: ``[num_edges]`` merged edge weights (float64).
        self.weight: Tensor = weight
        #: ``[num_edges + 1]`` global cumulative weights, ``cum[0] = 0`` (float64).
        self.cum: Tensor = torch.cat([weight.new_zeros(1), torch.cumsum(weight, 0)])

        # Per-node step data in one [N, 6] float64 table (one gather per step):
        # first guide bucket and number of guide buckets of the row (see below), cumulative
        # weight before the row, total row weight. (Integers below 2**53 are exact.)
        start, end = self.rowptr[:-1], self.rowptr[1:]
        cum_start = self.cum[start]
        self._node_table = torch.stack(
            [
                (GUIDE * start).double(),
                (GUIDE * self.degree).double(),
                cum_start,
                self.cum[end] - cum_start,
                # the largest float below the row's end and the row's last guide bucket:
                # clamping to them keeps rounding in r and in the bucket inside the row
                torch.nextafter(self.cum[end], torch.tensor(-math.inf, dtype=torch.float64)),
                (GUIDE * end - 1).double(),
            ],
            1,
        )

        # Guide table (Chen & Asau 1974): row v is cut into GUIDE * deg(v) buckets of equal
        # probability mass, and _guide[GUIDE * rowptr[v] + b] is the first edge that bucket b
        # overlaps. A draw in bucket b is that edge or, if the bucket holds a boundary, the
        # next one: one comparison. Draws in the rare buckets that hold two or more
        # boundaries (_guide_multi; 0.5% of draws on a 981-node SBM) take a global
        # searchsorted instead.
        buckets = GUIDE * self.degree
        b_row = torch.repeat_interleave(torch.arange(n), buckets)
        b_idx = torch.arange(int(buckets.sum())) - torch.repeat_interleave(GUIDE * start, buckets)
        row_cum, row_total = cum_start[b_row], (self.cum[end] - cum_start)[b_row]
        row_start, row_last = start[b_row], end[b_row] - 1
        width = buckets[b_row].double()
        lower = torch.addcmul(row_cum, b_idx.double() / width, row_total)
        upper = torch.addcmul(row_cum, (b_idx + 1).double() / width, row_total)
        cum_incl = self.cum[1:]
        guide = torch.searchsorted(cum_incl, lower, right=True)
        guide = torch.minimum(torch.maximum(guide, row_start), row_last)
        guide_hi = torch.searchsorted(cum_incl, upper, right=True)
        guide_hi = torch.minimum(torch.maximum(guide_hi, row_start), row_last)
        self._guide = guide
        self._guide_multi = (guide_hi - guide) >= 2

        # Edge membership for the second-order rule, by graph size: a byte per node pair
        # (N <= 4096, at most 16 MiB: one gather), a bit per pair (N <= 16384, at most
        # 32 MiB), else a binary search in the sorted keys.
        self._set_membership("bytes" if n <= 4096 else "bits" if n <= 16384 else "search")

        # Whether some edge leads to a node without out-edges (walkers can get stuck).
        self._has_sinks = bool((self.degree[self.col] == 0).any())

        # Reverse edge of every edge (-1 where the graph has none) and its weight:
        # w(v, t) for a walker that came along t -> v, the mass of the return move.
        rev_key = self.col * n + row
        pos = torch.searchsorted(key, rev_key).clamp_(max=key.numel() - 1)
        found = key[pos] == rev_key
        self._rev = torch.where(found, pos, -1)
        # For a walker that came along edge t -> v: the weight w(v, t) of the way back, where
        # that edge starts on the cumulative scale (inf if there is none), and the chance
        # (w(v, t) / p) / (w(v, t) / p + c * (W(v) - w(v, t))) that a trial returns; see
        # _second_order.
        self._back_w = torch.where(found, weight[pos], 0.0)
        self._back_cum = torch.where(found, self.cum[pos], math.inf)
        back = self._back_w / self.p
        rest = (self.cum[end] - cum_start)[self.col] - self._back_w
        self._ret_prob = back / (back + max(1.0, 1.0 / self.q) * rest.clamp_min(0.0))

        self._biased = not (self.p == 1.0 and self.q == 1.0)
        # Second-order proposals from per-row alias tables (see _alias_trials) where the
        # return move fits under the envelope c = max(1, 1/q) (1/p <= c) and is not much
        # harder to accept than the other moves (1/p >= min(1, 1/q) / RETURN_SLACK, so that a
        # walker at a leaf needs at most RETURN_SLACK times the trials of the outlier path);
        # elsewhere, e.g. p = 0.5 or p = 1e6 at q = 1, the outlier path above.
        back = 1.0 / self.p
        c = max(1.0, 1.0 / self.q)
        # alias unless the way back is far harder to accept than any other move (large p:
        # a walker at a leaf would need about p trials to go back; the outlier path draws
        # it apart with its exact probability)
        fits = back >= min(1.0, 1.0 / self.q) / RETURN_SLACK
        self._use_alias = self._biased and (sampler == "alias" or (sampler == "auto" and fits))
        #: whether alias trials draw the way back apart (1/p > c: a likely return) rather
        #: than propose it like any other move
        self._return_apart = self._use_alias and back > c
        if self._use_alias:
            self._alias_prob, self._alias_edge = alias_tables(self.rowptr, self.weight)
            self._deg_f64 = self.degree.double()
            # acceptance alpha_pq(prev, x) / c by kind: 0 far, 1 near, 2 and 3 the way back
            # (proposed like any move, or, drawn apart, never accepted when proposed)
            way_back = 0.0 if self._return_apart else back / c
            self._alias_accept = torch.tensor(
                [1.0 / self.q / c, 1.0 / c, way_back, way_back], dtype=torch.float64
            )
            if self._return_apart:
                # chance that a trial takes the way back, for a walker that came along each
                # edge t -> v: (w(v, t) / p) / (w(v, t) / p + c W(v)); the proposals then
                # cover the whole row, and one that lands on t fails
                self._ret_prob = self._back_w / self.p
                self._ret_prob /= self._ret_prob + c * (self.cum[end] - cum_start)[self.col]

    @property
    def num_edges(self) -> int:
        """Number of distinct directed edges of positive weight."""
        return int(self.keys.numel())

    @property
    def second_order(self) -> str | None:
        """The sampler second-order steps use: ``"alias"``, ``"outlier"``, or ``None`` for a
        first-order walk (``p = q = 1``)."""
        if not self._biased:
            return None
        return "alias" if self._use_alias else "outlier"

    def nodes_with_edges(self) -> Tensor:
        """``[k]`` ids of the nodes that have at least one out-edge, ascending."""
        return (self.degree > 0).nonzero().view(-1)

    # ------------------------------------------------------------------ steps
    def _first_order(
        self,
        cur: Tensor,
        u: Tensor,
        info: Tensor | None = None,
        skip: tuple[Tensor, Tensor] | None = None,
    ) -> Tensor:
        """Edge ids ``[n]`` drawn from ``w(cur, .)`` by inverse CDF at the uniforms ``u [n]``.

        Every node in ``cur`` must have an out-edge; ``u`` is float64 in ``[0, 1)``.
        ``info`` is ``_node_table[cur]`` when the caller already has it. ``skip`` =
        (``[n]`` start on the cumulative scale, ``[n]`` weight) of one edge per row to leave
        out of the draw (start ``inf``: none).
        """
        if info is None:
            info = self._node_table.index_select(0, cur)
        g_start, g_len, cum_start, total, r_max, g_last = info.unbind(1)
        if skip is None:
            r = torch.addcmul(cum_start, u, total)  # the draw, on the cumulative scale
        else:
            skip_start, skip_w = skip
            r = torch.addcmul(cum_start, u, total - skip_w)
            r = torch.where(r >= skip_start, r + skip_w, r)  # jump over the skipped edge
            u = (r - cum_start).div_(total)  # where r sits in its row, in [0, 1)
        r.clamp_max_(r_max)
        slot = torch.addcmul(g_start, u, g_len).clamp_max_(g_last).long()  # its guide bucket
        edge = self._guide.index_select(0, slot)
        cum_incl = self.cum[1:]
        edge += cum_incl.index_select(0, edge) <= r  # past the bucket's one boundary?
        multi = self._guide_multi.index_select(0, slot)
        if bool(multi.any()):
            idx = multi.nonzero().view(-1)
            edge.index_copy_(
                0, idx, torch.searchsorted(cum_incl, r.index_select(0, idx), right=True)
            )
        return edge

    def _set_membership(self, kind: str) -> None:
        """Build the edge-membership index: ``"bytes"``, ``"bits"`` or ``"search"``."""
        n, key = self.num_nodes, self.keys
        self._member_kind = kind
        self._member: Tensor | None = None
        if kind == "bytes":
            self._member = torch.zeros(n * n, dtype=torch.bool)
            self._member[key] = True
        elif kind == "bits":
            byte = torch.zeros((n * n + 7) // 8, dtype=torch.int32)
            byte.index_add_(0, key >> 3, (1 << (key & 7)).to(torch.int32))
            self._member = byte.to(torch.uint8)
        elif kind != "search":
            raise ValueError(f"unknown membership index {kind!r}")

    def _is_edge(self, src: Tensor, dst: Tensor) -> Tensor:
        """``[n]`` bool: whether ``src -> dst`` is an edge."""
        key = src * self.num_nodes + dst
        if self._member_kind == "bytes":
            return self._member.index_select(0, key)
        if self._member_kind == "bits":
            return ((self._member.index_select(0, key >> 3) >> (key & 7)) & 1).bool()
        pos = torch.searchsorted(self.keys, key).clamp_(max=self.keys.numel() - 1)
        return self.keys.index_select(0, pos) == key

    def _trials(
        self, prev: Tensor, cur: Tensor, last: Tensor, m: int, gen: torch.Generator | None
    ) -> tuple[Tensor, Tensor, Tensor]:
        """``m`` rejection trials per walker for ``alpha_pq(prev, x) * w(cur, x)``.

        ``last [n]`` is the edge id ``prev -> cur`` each walker came along. Returns ``[n]``
        edge ids, ``[n]`` their end nodes and ``[n]`` bool: the edge of each walker's first
        successful trial, and whether it had one (where it had none the edge is a rejected
        proposal). The first success of independent trials has the same law as trying one at
        a time.
        """
        if self._use_alias:
            return self._alias_trials(prev, cur, last, m, gen)
        # A non-return proposal x is accepted with probability alpha(prev, x) / c: for q >= 1
        # (c = 1) always if x is a neighbour of prev, else with probability 1/q; for q < 1
        # (c = 1/q) always if it is not, else with probability q.
        bfs = self.q >= 1.0
        keep_other = 1.0 / self.q if bfs else self.q
        if m > 1:
            prev, cur, last = (t.repeat_interleave(m) for t in (prev, cur, last))
        u = torch.rand(2, cur.numel(), generator=gen)  # float32 coins
        ret = u[0] < self._ret_prob.index_select(0, last)
        skip = (self._back_cum.index_select(0, last), self._back_w.index_select(0, last))
        u_edge = torch.rand(cur.numel(), generator=gen, dtype=torch.float64)
        e = self._first_order(cur, u_edge, skip=skip)
        x = self.col.index_select(0, e)
        near = self._is_edge(prev, x)
        accept = (near if bfs else ~near) | (u[1] < keep_other)
        accept = ret | (accept & (x != prev))
        e = torch.where(ret, self._rev.index_select(0, last), e)
        x = torch.where(ret, prev, x)  # the way back leads to prev
        return self._first_success(e, x, accept, m)

    @staticmethod
    def _first_success(
        e: Tensor, x: Tensor, accept: Tensor, m: int
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Each walker's first successful trial of its ``m`` (consecutive entries): edge,
        node, and whether it had one (where it had none, trial 0's rejected proposal). The
        first success of independent trials has the same law as trying one at a time."""
        if m == 1:
            return e, x, accept
        accept = accept.view(-1, m)
        first = accept.to(torch.uint8).argmax(1, keepdim=True)  # first success (or trial 0)
        e, x = (t.view(-1, m).gather(1, first).view(-1) for t in (e, x))
        return e, x, accept.any(1)

    def _alias_trials(
        self, prev: Tensor, cur: Tensor, last: Tensor, m: int, gen: torch.Generator | None
    ) -> tuple[Tensor, Tensor, Tensor]:
        """:meth:`_trials` with proposals from the alias tables.

        One float64 uniform per trial. Where the way back is drawn apart (``1/p > c``), the
        trial first returns with its exact chance ``r`` (see ``_ret_prob``), else goes on
        with ``(u - r) / (1 - r)``. Then ``u * deg(cur)`` picks the bucket (its integer
        part) and the alias coin (its fraction); what is left of the fraction once the coin
        is decided is again uniform on ``[0, 1)`` and independent of the proposal, and
        serves as the acceptance coin for ``alpha_pq(prev, x) / c``.
        """
        if m > 1:
            prev, cur, last = (t.repeat_interleave(m) for t in (prev, cur, last))
        u = torch.rand(cur.numel(), generator=gen, dtype=torch.float64)
        if self._return_apart:
            r = self._ret_prob.index_select(0, last)
            ret = u < r
            u.sub_(r).div_((1.0 - r).clamp_min_(2**-53))
            u.clamp_(0.0, 1.0 - 2**-53)  # (a returner's draw is left unused)
        u.mul_(self._deg_f64.index_select(0, cur))
        bucket = u.long()
        u.sub_(bucket)  # the fraction: the alias coin
        k = bucket.add_(self.rowptr.index_select(0, cur))  # the bucket's edge id
        keep_prob = self._alias_prob.index_select(0, k)
        own = u < keep_prob
        e = torch.where(own, k, self._alias_edge.index_select(0, k))
        coin = torch.where(own, u / keep_prob, (u - keep_prob) / (1.0 - keep_prob))
        x = self.col.index_select(0, e)
        kind = self._is_edge(prev, x).long()
        kind += 2 * (x == prev)
        accept = coin < self._alias_accept.index_select(0, kind)
        if self._return_apart:
            accept |= ret
            e = torch.where(ret, self._rev.index_select(0, last), e)
            x = torch.where(ret, prev, x)  # the way back leads to prev
        return self._first_success(e, x, accept, m)

    def _walk_biased(
        self,
        walks: Tensor,
        rows: Tensor,
        prev: Tensor,
        cur: Tensor,
        last: Tensor,
        gen: torch.Generator | None,
    ) -> None:
        """Fill ``walks [walk_length, num_starts]`` from position 2 on, second-order steps.

        ``rows [n]`` are the columns of the walkers still moving, which arrived at ``cur``
        along edge ``last`` from ``prev``. Walkers move asynchronously: each iteration gives
        every walker ``m`` trials (``m = 1`` while most trials succeed) and advances those
        with a success by one node; the others try again in the next iteration from where
        they are. Each walker's steps therefore follow the exact law, while an iteration
        costs one batch of vector operations over all walkers instead of one per retry
        round of every step (see the module docstring for the measured counts).
        """
        length, width = walks.shape
        flat = walks.view(-1)
        pos = torch.full_like(rows, 2)  # the next position each walker fills
        budget = max(rows.numel(), 1024)  # trials per iteration the tail may use
        m = 1
        iteration = 0
        while rows.numel():
            n = rows.numel()
            e, nxt, ok = self._trials(prev, cur, last, m, gen)
            # A walker without success writes its proposal; a later success overwrites it.
            flat.index_copy_(0, pos * width + rows, nxt)
            pos += ok
            prev = torch.where(ok, cur, prev)
            cur = torch.where(ok, nxt, cur)
            if self._return_apart or not self._use_alias:  # the edge walked in on matters
                last = torch.where(ok, e, last)
            iteration += 1
            # Walkers finish on filling the last position (at the earliest in iteration
            # length - 2), or on reaching a node without out-edges.
            done = None
            if iteration >= length - 2:
                done = pos >= length
            if self._has_sinks:
                stuck = ok & (self.degree.index_select(0, cur) == 0)
                done = stuck if done is None else done | stuck
            successes = int(ok.sum())
            if done is not None and bool(done.any()):
                keep = (~done).nonzero().view(-1)
                rows, pos, prev, cur, last = (
                    t.index_select(0, keep) for t in (rows, pos, prev, cur, last)
                )
            # Trials per walker for the next iteration: enough that about 95% of walkers
            # advance, given the success rate per trial seen now, within a budget: while
            # most trials succeed, one trial each until few walkers are left (an iteration
            # of under ~2k trials costs about its fixed overhead, so the tail takes more);
            # where most fail, up to as many trials as there were walkers.
            share = successes / n  # walkers that advanced, after m trials each
            left = rows.numel()
            cap = budget if share < 0.5 else TAIL_TRIALS
            if left == 0 or (m == 1 and left * 2 > cap):
                continue
            miss = (1.0 - share) ** (1.0 / m)  # failure rate of one trial
            want = math.ceil(math.log(0.05) / math.log(min(max(miss, 1e-9), 1.0 - 1e-9)))
            m = max(1, min(want, cap // left))

    # ------------------------------------------------------------------ walk
    def walk(
        self,
        start: Tensor,
        walk_length: int,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Walk from every node in ``start`` at once.

        Args:
            start (Tensor): ``[num_starts]`` start node ids (repeats allowed).
            walk_length (int): number of nodes per walk, start included
                (``walk_length - 1`` steps).
            generator (torch.Generator, optional): source of randomness; ``None`` uses torch's
                global generator. Equal generator states give equal walks.

        Returns:
            Tensor: ``[num_starts, walk_length]`` int64 node ids. A walker that reaches a node
            without out-edges stops there; the rest of its row is ``-1`` (:data:`PAD`).
        """
        if walk_length < 1:
            raise ValueError(f"walk_length must be >= 1, got {walk_length}")
        start = torch.as_tensor(start).to(torch.long).view(-1).cpu()
        if start.numel() and (int(start.min()) < 0 or int(start.max()) >= self.num_nodes):
            raise ValueError(
                f"start holds node ids outside [0, num_nodes={self.num_nodes}): "
                f"[{int(start.min())}, {int(start.max())}]"
            )
        with torch_threads(self.num_threads):
            return self._walk(start, walk_length, generator)

    def _walk(self, start: Tensor, walk_length: int, generator: torch.Generator | None) -> Tensor:
        # Step-major buffer, so that each step writes one contiguous row.
        walks = torch.full((walk_length, start.numel()), PAD, dtype=torch.long)
        walks[0] = start
        # Walkers still moving (None: all of them); a walker stops for good at a dead end.
        alive: Tensor | None = None
        if not bool((self.degree.index_select(0, start) > 0).all()):
            alive = (self.degree.index_select(0, start) > 0).nonzero().view(-1)
        cur = start if alive is None else start.index_select(0, alive)
        prev = last = cur  # placeholders until the first step
        for step in range(1, walk_length):
            if cur.numel() == 0:
                break
            if step == 2 and self._biased:  # second-order steps: walkers move on their own
                rows = torch.arange(start.numel()) if alive is None else alive
                self._walk_biased(walks, rows, prev, cur, last, generator)
                break
            u = torch.rand(cur.numel(), generator=generator, dtype=torch.float64)
            edge = self._first_order(cur, u)
            nxt = self.col.index_select(0, edge)
            if alive is None:
                walks[step] = nxt
            else:
                walks[step].index_copy_(0, alive, nxt)
            if not self._has_sinks:
                prev, cur, last = cur, nxt, edge
                continue
            moving = self.degree.index_select(0, nxt) > 0
            if not bool(moving.all()):
                keep = moving.nonzero().view(-1)
                alive = keep if alive is None else alive.index_select(0, keep)
                nxt, cur, edge = (t.index_select(0, keep) for t in (nxt, cur, edge))
            prev, cur, last = cur, nxt, edge
        return walks.t().contiguous()


def alias_tables(rowptr: Tensor, weight: Tensor) -> tuple[Tensor, Tensor]:
    """Walker's alias tables (Walker 1977) for every CSR row at once, without a Python loop.

    Row ``v`` (edges ``rowptr[v]:rowptr[v+1]``, weights ``w``, degree ``d``) gets ``d``
    buckets of mass ``1/d``: bucket ``k`` yields edge ``k`` with probability ``prob[k]`` and
    edge ``alias[k]`` (a global edge id in the same row) otherwise, so that edge ``i`` comes
    out with probability ``w_i / sum(w)``. Built by the sweep of Hübschle-Schneider and
    Sanders ("Parallel Weighted Random Sampling", 2022) with prefix sums: with scaled
    weights ``s_i = d w_i / sum(w)``, light items (``s < 1``) take their deficit ``1 - s``
    from the heavy items in order, light ``i`` from the heavy whose cumulative surplus
    interval holds the light's cumulative deficit start; a heavy item whose surplus runs
    out keeps what is left of itself in its own bucket and borrows the rest from the next
    heavy. Every step is a sort, a prefix sum or a gather over all edges. The prefix sums
    run over all rows at once in float64, so rounding moves a probability by about 1e-14 on
    graphs of a few hundred edges (measured in the tests), more on graphs of millions.

    Args:
        rowptr (Tensor): ``[num_nodes + 1]`` CSR row pointer: starts at 0, never decreases,
            ends at ``num_edges``.
        weight (Tensor): ``[num_edges]`` positive finite weights in CSR order (computed in
            float64).

    Returns:
        tuple: ``prob`` ``[num_edges]`` float64 and ``alias`` ``[num_edges]`` int64.

    Raises:
        ValueError: on a malformed ``rowptr`` or a weight that is not positive and finite.
    """
    if rowptr.dim() != 1 or rowptr.numel() < 1 or weight.dim() != 1:
        raise ValueError(
            f"rowptr must be [num_nodes + 1] and weight [num_edges], got shapes "
            f"{tuple(rowptr.shape)} and {tuple(weight.shape)}"
        )
    rowptr = rowptr.to(torch.long)
    weight = weight.to(torch.float64)
    num_edges = weight.numel()
    if int(rowptr[0]) != 0 or int(rowptr[-1]) != num_edges or bool((rowptr.diff() < 0).any()):
        raise ValueError(
            f"rowptr must start at 0, never decrease and end at num_edges = {num_edges}; "
            f"got {rowptr[0].item()} .. {rowptr[-1].item()}"
        )
    if not bool((torch.isfinite(weight) & (weight > 0)).all()):
        raise ValueError("weight must be positive and finite (drop zero-weight edges first)")
    deg = rowptr[1:] - rowptr[:-1]
    n = deg.numel()
    row = torch.repeat_interleave(torch.arange(n), deg)
    # row sums by index_add, not by differences of one global cumulative sum, which would
    # lose a light row's digits next to heavy ones
    total = torch.zeros(n, dtype=torch.float64).index_add_(0, row, weight).index_select(0, row)
    scaled = weight * deg.index_select(0, row).double() / total
    heavy = scaled >= 1.0
    amount = torch.where(heavy, scaled - 1.0, 1.0 - scaled)  # surplus or deficit

    # Edges grouped by (row, light/heavy), in edge order inside each group, and the
    # exclusive prefix sum of the amounts inside each group.
    group = 2 * row + heavy.long()
    order = torch.argsort(group, stable=True)
    amt = amount.index_select(0, order)
    excl = torch.cumsum(amt, 0) - amt
    sizes = torch.bincount(group, minlength=2 * n)
    first = torch.cumsum(sizes, 0) - sizes  # where each group starts in `order`
    g_sorted = group.index_select(0, order)
    excl = excl - excl.index_select(0, first.index_select(0, g_sorted).clamp_max(num_edges - 1))
    is_heavy = heavy.index_select(0, order)
    row_s = row.index_select(0, order)

    # Events on each row's demand line: light starts (cumulative deficit before the light)
    # and heavy ends (cumulative surplus including the heavy). Sorted by (row, position),
    # heavy ends first on ties, so a light starting exactly where a heavy's surplus ends
    # goes to the next heavy.
    pos = torch.where(is_heavy, excl + amt, excl)
    ev = torch.argsort(is_heavy.logical_not().long(), stable=True)  # heavies before lights
    ev = ev.index_select(0, torch.argsort(pos.index_select(0, ev), stable=True))
    ev = ev.index_select(0, torch.argsort(row_s.index_select(0, ev), stable=True))
    ev_heavy = is_heavy.index_select(0, ev)
    ev_row = row_s.index_select(0, ev)

    heavy_per_row = torch.bincount(row_s[is_heavy], minlength=n)
    heavy_before_row = torch.cumsum(heavy_per_row, 0) - heavy_per_row
    heavy_edges = order[is_heavy]  # each row's heavy edges, in edge order, rows in order

    # A light's heavy: the number of heavy ends before its start in its row.
    rank = torch.cumsum(ev_heavy.long(), 0) - ev_heavy.long()
    rank = rank - heavy_before_row.index_select(0, ev_row)
    prob = torch.ones(num_edges, dtype=torch.float64)
    alias = torch.arange(num_edges)
    lights = (~ev_heavy).nonzero().view(-1)
    l_edge = order.index_select(0, ev.index_select(0, lights))
    l_row = ev_row.index_select(0, lights)
    l_count = heavy_per_row.index_select(0, l_row)
    l_rank = torch.minimum(rank.index_select(0, lights), (l_count - 1).clamp_min(0))
    last_heavy = max(heavy_edges.numel() - 1, 0)  # every graph has a heavy edge; for safety
    l_heavy = heavy_edges.index_select(
        0, (heavy_before_row.index_select(0, l_row) + l_rank).clamp_max(last_heavy)
    )
    has_heavy = l_count > 0  # float rounding can leave a row of lights only: keep them whole
    prob[l_edge] = torch.where(has_heavy, scaled.index_select(0, l_edge), 1.0)
    alias[l_edge] = torch.where(has_heavy, l_heavy, l_edge)

    # A heavy's own bucket: 1 - (end of the light whose deficit straddles the heavy's end
    # - the heavy's end); its alias is the row's next heavy. The last heavy keeps itself.
    idx = torch.arange(ev.numel())
    last_light = torch.cummax(torch.where(ev_heavy, -1, idx), 0).values
    heavies = ev_heavy.nonzero().view(-1)
    h_edge = order.index_select(0, ev.index_select(0, heavies))
    h_row = ev_row.index_select(0, heavies)
    h_end = pos.index_select(0, ev.index_select(0, heavies))
    ll = last_light.index_select(0, heavies)
    ll_ok = (ll >= 0) & (ev_row.index_select(0, ll.clamp_min(0)) == h_row)
    ll_sorted = ev.index_select(0, ll.clamp_min(0))
    light_end = excl.index_select(0, ll_sorted) + amt.index_select(0, ll_sorted)
    straddle = torch.where(ll_ok, light_end, h_end)
    h_rank = rank.index_select(0, heavies)
    is_last = h_rank >= heavy_per_row.index_select(0, h_row) - 1
    nxt = heavy_edges.index_select(
        0, (heavy_before_row.index_select(0, h_row) + h_rank + 1).clamp_max(last_heavy)
    )
    prob[h_edge] = torch.where(is_last, 1.0, (1.0 - (straddle - h_end)).clamp(0.0, 1.0))
    alias[h_edge] = torch.where(is_last, h_edge, nxt)
    return prob, alias


def random_walks(
    edge_index: Tensor,
    edge_weight: Tensor | None = None,
    num_nodes: int | None = None,
    walk_length: int = 40,
    walks_per_node: int = 10,
    p: float = 1.0,
    q: float = 1.0,
    seed: int = 0,
    num_threads: int | None = 1,
) -> Tensor:
    """``walks_per_node`` weighted node2vec walks from every node that has an out-edge.

    Args:
        edge_index (Tensor): ``[2, num_edges]`` edges ``src -> dst`` (symmetrise first for an
            undirected graph).
        edge_weight (Tensor, optional): ``[num_edges]`` non-negative weights. (default: ``None``)
        num_nodes (int, optional): number of nodes. (default: ``edge_index.max() + 1``)
        walk_length (int): nodes per walk, start included. (default: ``40``)
        walks_per_node (int): walks started from each node. (default: ``10``)
        p (float): node2vec return parameter. (default: ``1.0``)
        q (float): node2vec in-out parameter. (default: ``1.0``)
        seed (int): seed of the ``torch.Generator`` that drives every draw. (default: ``0``)
        num_threads (int, optional): torch threads while building and walking (see
            :func:`torch_threads`). (default: ``1``)

    Returns:
        Tensor: ``[num_nodes_with_edges * walks_per_node, walk_length]`` int64 node ids; row
        ``i`` starts at ``nodes_with_edges[i % num_nodes_with_edges]``. Nodes without
        out-edges start no walk; a walk that reaches one (directed graphs only) is padded
        with ``-1`` after it.
    """
    if walks_per_node < 1:
        raise ValueError(f"walks_per_node must be >= 1, got {walks_per_node}")
    walker = WeightedWalker(edge_index, edge_weight, num_nodes, p, q, num_threads=num_threads)
    generator = torch.Generator().manual_seed(seed)
    start = walker.nodes_with_edges().repeat(walks_per_node)
    return walker.walk(start, walk_length, generator=generator)
