"""Weighted node2vec walks: exact transition laws, p/q behaviour, padding, seeds, errors."""

from __future__ import annotations

import math

import pytest
import torch

from graphrec.walks import PAD, WeightedWalker, alias_tables, random_walks

# A small weighted undirected graph (each edge listed once, symmetrised below) with a
# triangle 0-1-2, a square 1-2-3-4 and a chord, so that from most (prev, cur) pairs the
# next node can be the previous one, a common neighbour, or a node farther away.
EDGES = [(0, 1, 1.0), (0, 2, 2.0), (1, 2, 1.0), (1, 3, 3.0), (2, 4, 1.0), (3, 4, 2.0), (2, 3, 0.5)]
NUM_NODES = 5


def undirected(edges: list[tuple[int, int, float]]) -> tuple[torch.Tensor, torch.Tensor]:
    src = [a for a, b, _ in edges] + [b for a, b, _ in edges]
    dst = [b for a, b, _ in edges] + [a for a, b, _ in edges]
    weight = [w for _, _, w in edges] * 2
    return torch.tensor([src, dst]), torch.tensor(weight)


def dense(edge_index: torch.Tensor, edge_weight: torch.Tensor, n: int) -> torch.Tensor:
    adj = torch.zeros(n, n, dtype=torch.float64)
    adj.index_put_((edge_index[0], edge_index[1]), edge_weight.double(), accumulate=True)
    return adj


def second_order_law(adj: torch.Tensor, t: int, v: int, p: float, q: float) -> torch.Tensor:
    """node2vec's P(x | prev=t, cur=v), by the formula of Grover & Leskovec (2016)."""
    alpha = torch.full((adj.size(0),), 1.0 / q, dtype=torch.float64)
    alpha[adj[t] > 0] = 1.0
    alpha[t] = 1.0 / p
    law = adj[v] * alpha
    return law / law.sum()


def transitions(walks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """All (prev, cur, next) triples of the walks, padding dropped."""
    t, v, x = walks[:, :-2].reshape(-1), walks[:, 1:-1].reshape(-1), walks[:, 2:].reshape(-1)
    keep = x >= 0
    return t[keep], v[keep], x[keep]


def assert_law(observed: torch.Tensor, law: torch.Tensor, what: str) -> None:
    """Chi-square goodness of fit on the support of ``law`` (and nothing off it)."""
    n = int(observed.sum())
    assert n >= 200, f"too few samples for {what}: {n}"
    support = law > 0
    assert int(observed[~support].sum()) == 0, f"{what}: moves outside the support"
    expected = law[support] * n
    if support.sum() > 1:
        stat = ((observed[support] - expected) ** 2 / expected).sum()
        dof = torch.tensor((int(support.sum()) - 1) / 2, dtype=torch.float64)
        pvalue = float(torch.special.gammaincc(dof, stat / 2))  # chi-square survival function
        assert pvalue > 1e-4, f"{what}: chi-square p = {pvalue:.2e}, {observed} vs {law * n}"


def assert_walks_follow_law(walks, edge_index, edge_weight, p, q, min_moves=0) -> None:
    """Every (prev -> cur) edge's next moves fit node2vec's law (edges walked fewer than
    ``min_moves`` times are skipped; with ``min_moves=0`` each must have 200 moves)."""
    n = int(edge_index.max()) + 1
    adj = dense(edge_index, edge_weight, n)
    t, v, x = transitions(walks)
    for a, b in edge_index.t().tolist():
        sel = (t == a) & (v == b)
        if int(sel.sum()) >= min_moves:
            observed = torch.bincount(x[sel], minlength=n)
            assert_law(observed, second_order_law(adj, a, b, p, q), f"p={p} q={q} {a}->{b}")


@pytest.fixture(scope="module")
def graph() -> tuple[torch.Tensor, torch.Tensor]:
    return undirected(EDGES)


def test_first_order_frequencies_match_normalised_weights(graph):
    edge_index, edge_weight = graph
    # A duplicate edge must add its weight: 0 -> 1 now has weight 1 + 1.5.
    edge_index = torch.cat([edge_index, torch.tensor([[0], [1]])], 1)
    edge_weight = torch.cat([edge_weight, torch.tensor([1.5])])
    walker = WeightedWalker(edge_index, edge_weight, NUM_NODES)
    gen = torch.Generator().manual_seed(1)
    walks = walker.walk(torch.arange(NUM_NODES).repeat(400), 30, gen)
    adj = dense(edge_index, edge_weight, NUM_NODES)
    src, dst = walks[:, :-1].reshape(-1), walks[:, 1:].reshape(-1)
    counts = torch.zeros(NUM_NODES, NUM_NODES, dtype=torch.long)
    counts.index_put_((src, dst), torch.ones_like(src), accumulate=True)
    for a in range(NUM_NODES):
        assert_law(counts[a], adj[a] / adj[a].sum(), f"first order from {a}")


def test_first_order_inverse_cdf_at_bucket_boundaries(graph):
    # The guide table splits each row into equal-mass buckets; draws exactly on (and just
    # below) a bucket edge must still land on the edge a full inverse CDF gives.
    edge_index, edge_weight = graph
    walker = WeightedWalker(edge_index, edge_weight, NUM_NODES)
    for node in range(NUM_NODES):
        deg = int(walker.degree[node])
        cuts = [k / deg for k in range(deg)] + [1 - 1e-12, 0.5, 1 / 3]
        edges = torch.tensor(cuts, dtype=torch.float64)
        below = torch.nextafter(edges, torch.zeros((), dtype=torch.float64)).clamp(min=0)
        u = torch.cat([edges, below, torch.rand(200, dtype=torch.float64)])
        cur = torch.full_like(u, node, dtype=torch.long)
        got = walker._first_order(cur, u)
        start, end = int(walker.rowptr[node]), int(walker.rowptr[node + 1])
        r = walker.cum[start] + u * (walker.cum[end] - walker.cum[start])
        want = torch.searchsorted(walker.cum[1:], r, right=True).clamp(start, end - 1)
        assert torch.equal(got, want)


@pytest.mark.parametrize(
    "weights",
    ["uniform", "small integers", "uniform(0, 1)", "log-normal, sigma 4"],
)
def test_alias_tables_give_each_edge_its_exact_probability(weights):
    gen = torch.Generator().manual_seed(11)
    deg = torch.randint(1, 40, (60,), generator=gen)
    deg[:3] = torch.tensor([1, 2, 1])  # single-edge rows, and a pair
    rowptr = torch.cat([torch.zeros(1, dtype=torch.long), deg.cumsum(0)])
    num_edges = int(deg.sum())
    w = {
        "uniform": torch.ones(num_edges, dtype=torch.float64),
        "small integers": torch.randint(1, 4, (num_edges,), generator=gen).double(),
        "uniform(0, 1)": torch.rand(num_edges, generator=gen, dtype=torch.float64) + 1e-3,
        "log-normal, sigma 4": torch.exp(4 * torch.randn(num_edges, generator=gen).double()),
    }[weights]
    prob, alias = alias_tables(rowptr, w)
    row = torch.repeat_interleave(torch.arange(deg.numel()), deg)
    assert torch.equal(row[alias], row)  # an alias stays in its row
    assert bool(((prob >= 0) & (prob <= 1)).all())
    # P(edge) = (its own bucket's keep share + the alias shares pointing at it) / degree
    mass = prob.clone().index_add_(0, alias, 1.0 - prob) / deg[row].double()
    exact = w / torch.zeros(deg.numel(), dtype=torch.float64).index_add_(0, row, w)[row]
    assert float((mass - exact).abs().max()) < 1e-12


@pytest.mark.parametrize(
    "rowptr, weight, message",
    [
        ([0, 2], [0.0, 1.0], "positive and finite"),
        ([0, 2], [1.0, math.nan], "positive and finite"),
        ([0, 3], [1.0, 2.0], "end at num_edges = 2"),
        ([0, 2, 1], [1.0, 1.0], "never decrease"),
        ([1, 2], [1.0, 1.0], "start at 0"),
        ([], [], r"rowptr must be \[num_nodes \+ 1\]"),
    ],
)
def test_alias_tables_reject_bad_input(rowptr, weight, message):
    with pytest.raises(ValueError, match=message):
        alias_tables(torch.tensor(rowptr, dtype=torch.long), torch.tensor(weight))


def test_alias_tables_of_no_edges_and_float32_weights():
    prob, alias = alias_tables(torch.zeros(3, dtype=torch.long), torch.zeros(0))
    assert prob.numel() == alias.numel() == 0
    prob, alias = alias_tables(torch.tensor([0, 2]), torch.tensor([1.0, 3.0]))  # float32 in
    assert prob.dtype == torch.float64 and prob.tolist() == [0.5, 1.0] and alias.tolist() == [1, 1]


def test_auto_sampler_takes_alias_tables_unless_p_is_large(graph):
    edge_index, edge_weight = graph

    def path(p, q):
        w = WeightedWalker(edge_index, edge_weight, p=p, q=q)
        return w.second_order, w._return_apart

    # the way back proposed like any move: 1/p <= c = max(1, 1/q)
    assert (
        path(1.0, 4.0)
        == path(4.0, 0.25)
        == path(2.0, 0.5)
        == path(1.0, 0.02)
        == (
            "alias",
            False,
        )
    )
    # drawn apart with its exact chance: 1/p > c
    assert path(0.25, 1.0) == path(0.5, 2.0) == ("alias", True)
    # large p: the way back is far harder to accept than other moves, so the outlier path
    assert path(1e6, 1.0) == path(10.0, 2.0) == ("outlier", False)
    assert path(1.0, 1.0) == (None, False)  # first-order walks need neither
    with pytest.raises(ValueError, match="sampler must be one of"):
        WeightedWalker(edge_index, edge_weight, sampler="fast")


@pytest.mark.parametrize("sampler", ["auto", "alias", "outlier"])
@pytest.mark.parametrize(
    "p,q,membership",
    [
        (1.0, 1.0, "bytes"),
        (0.25, 1.0, "bytes"),
        (1.0, 4.0, "bytes"),
        (4.0, 0.25, "bytes"),
        (0.5, 2.0, "bits"),
        (0.5, 2.0, "search"),
        (2.0, 0.5, "search"),
        (2.0, 0.5, "bits"),
    ],
)
def test_second_order_frequencies_match_node2vec_law(graph, p, q, membership, sampler):
    edge_index, edge_weight = graph
    walker = WeightedWalker(edge_index, edge_weight, NUM_NODES, p=p, q=q, sampler=sampler)
    if membership != "bytes":
        walker._set_membership(membership)  # the paths of graphs with more than 4096 nodes
    walks = walker.walk(torch.arange(NUM_NODES).repeat(300), 25, torch.Generator().manual_seed(2))
    assert_walks_follow_law(walks, edge_index, edge_weight, p, q)


@pytest.mark.parametrize("p,q", [(0.5, 3.0), (2.0, 0.5)])  # outlier path, alias path
def test_second_order_on_directed_graph_without_return_edges(p, q):
    # 0 -> 1 -> {0 (return exists), 2}, 2 -> {3}, 3 -> {1, 2}: 2 -> 3 has no way back.
    edge_index = torch.tensor([[0, 1, 1, 2, 3, 3], [1, 0, 2, 3, 1, 2]])
    edge_weight = torch.tensor([1.0, 2.0, 1.0, 1.0, 1.0, 3.0])
    walker = WeightedWalker(edge_index, edge_weight, 4, p=p, q=q)
    walks = walker.walk(torch.arange(4).repeat(500), 20, torch.Generator().manual_seed(3))
    assert_walks_follow_law(walks, edge_index, edge_weight, p, q, min_moves=200)


def test_second_order_law_where_almost_every_trial_fails():
    # In a clique every proposal is a neighbour of the node the walker came from, so with
    # q = 0.02 (DFS-like) a trial succeeds with probability ~q: the walkers take many
    # iterations and several trials each, and must still follow the exact law.
    n = 5
    pairs = [(a, b, 1.0 + a + b) for a in range(n) for b in range(a + 1, n)]
    edge_index, edge_weight = undirected(pairs)
    p, q = 1.0, 0.02
    walker = WeightedWalker(edge_index, edge_weight, n, p=p, q=q)
    walks = walker.walk(torch.arange(n).repeat(400), 14, torch.Generator().manual_seed(7))
    assert (walks >= 0).all()
    assert_walks_follow_law(walks, edge_index, edge_weight, p, q)


def _move_shares(walks: torch.Tensor, adj: torch.Tensor, p: float, q: float):
    """Measured and exact shares of (return, stay near t, move away from t) moves."""
    t, v, x = transitions(walks)
    kinds = torch.where(x == t, 0, torch.where(adj[t, x] > 0, 1, 2))
    measured = torch.bincount(kinds, minlength=3).double() / kinds.numel()
    exact = torch.zeros(3, dtype=torch.float64)
    n_nodes = adj.size(0)
    keys, counts = torch.unique(t * n_nodes + v, return_counts=True)
    for key, n in zip(keys.tolist(), counts.tolist(), strict=True):
        a, b = divmod(key, n_nodes)
        law = second_order_law(adj, a, b, p, q)
        near = adj[a] > 0
        near[a] = False
        far = ~near
        far[a] = False
        exact += n * torch.stack([law[a], law[near].sum(), law[far].sum()])
    return measured, exact / counts.sum()


def test_p_and_q_push_the_walk_the_expected_way(graph):
    edge_index, edge_weight = graph
    adj = dense(edge_index, edge_weight, NUM_NODES)
    start = torch.arange(NUM_NODES).repeat(400)
    shares = {}
    for p, q in [(0.25, 1.0), (1.0, 1.0), (4.0, 1.0), (1.0, 4.0), (1.0, 0.25)]:
        walker = WeightedWalker(edge_index, edge_weight, NUM_NODES, p=p, q=q)
        walks = walker.walk(start, 25, torch.Generator().manual_seed(4))
        measured, exact = _move_shares(walks, adj, p, q)
        n = (walks[:, 2:] >= 0).sum()
        sigma = (exact * (1 - exact) / n).sqrt()
        assert ((measured - exact).abs() <= 5 * sigma + 1e-12).all(), (p, q, measured, exact)
        shares[p, q] = measured
    ret, far = 0, 2
    # Small p returns more often; large q (BFS-like) stays near, small q (DFS-like) moves out.
    assert shares[0.25, 1.0][ret] > shares[1.0, 1.0][ret] > shares[4.0, 1.0][ret]
    assert shares[1.0, 4.0][far] < shares[1.0, 1.0][far] < shares[1.0, 0.25][far]
    assert shares[0.25, 1.0][ret] > 3 * shares[4.0, 1.0][ret]


def test_extreme_p_at_leaves_stays_fast():
    # A star: from a leaf the only move is back to the centre, whatever p says. The return
    # move sits outside the rejection envelope, so even p = 1e6 costs one trial there.
    edge_index = torch.tensor([[0, 1, 0, 2, 0, 3], [1, 0, 2, 0, 3, 0]])
    walker = WeightedWalker(edge_index, p=1e6, q=1.0)
    walks = walker.walk(torch.arange(1, 4).repeat(50), 12, torch.Generator().manual_seed(6))
    assert (walks[:, 1::2] == 0).all() and (walks[:, ::2] > 0).all()
    # and from the centre it never goes back to the leaf it came from (probability ~1e-6)
    assert (walks[:, 2:-1:2] != walks[:, 0:-3:2]).float().mean() > 0.99


@pytest.mark.parametrize("p,q", [(1.0, 1.0), (0.5, 2.0), (2.0, 0.5)])
def test_walks_only_follow_existing_edges(p, q):
    gen = torch.Generator().manual_seed(5)
    n = 60
    edge_index = torch.randint(0, n, (2, 400), generator=gen)
    edge_weight = torch.rand(400, generator=gen)
    edge_weight[:20] = 0.0  # weight-0 edges are never walked
    walks = random_walks(edge_index, edge_weight, n, walk_length=15, walks_per_node=5, p=p, q=q)
    src, dst = walks[:, :-1].reshape(-1), walks[:, 1:].reshape(-1)
    moved = dst >= 0
    pairs = zip(*edge_index.tolist(), edge_weight.tolist(), strict=True)
    allowed = {(a, b) for a, b, w in pairs if w > 0}
    taken = set(zip(src[moved].tolist(), dst[moved].tolist(), strict=True))
    assert taken <= allowed
    # Padding only ever follows padding.
    assert not ((walks[:, :-1] == PAD) & (walks[:, 1:] != PAD)).any()


def test_dead_ends_and_isolated_nodes_are_padded():
    # 0 -> 1 -> 2 (sink), node 3 isolated.
    edge_index = torch.tensor([[0, 1], [1, 2]])
    walker = WeightedWalker(edge_index, num_nodes=4, p=0.5, q=2.0)
    walks = walker.walk(torch.tensor([0, 3, 2]), 5)
    assert walks.tolist() == [[0, 1, 2, -1, -1], [3, -1, -1, -1, -1], [2, -1, -1, -1, -1]]
    walks = random_walks(edge_index, num_nodes=4, walk_length=4, walks_per_node=3)
    assert walks.shape == (2 * 3, 4)  # only nodes 0 and 1 have out-edges
    assert walks[:, 0].tolist() == [0, 1] * 3


def test_random_walks_shape_and_seed_determinism(graph):
    edge_index, edge_weight = graph
    kw = dict(walk_length=12, walks_per_node=4, p=0.5, q=2.0)
    a = random_walks(edge_index, edge_weight, **kw, seed=7)
    b = random_walks(edge_index, edge_weight, **kw, seed=7)
    c = random_walks(edge_index, edge_weight, **kw, seed=8)
    assert a.shape == (NUM_NODES * 4, 12) and a.dtype == torch.long
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert a[:, 0].tolist() == list(range(NUM_NODES)) * 4


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(edge_weight=torch.tensor([1.0, -1.0])), "non-negative"),
        (dict(edge_weight=torch.tensor([1.0, math.nan])), "NaN"),
        (dict(edge_weight=torch.tensor([1.0])), "shape"),
        (dict(edge_weight=torch.tensor([0.0, 0.0])), "weight 0"),
        (dict(p=0.0), "p must be"),
        (dict(q=-1.0), "q must be"),
        (dict(p=math.inf), "p must be"),
        (dict(num_nodes=2), "outside"),
        (dict(edge_index=torch.tensor([[0, -1], [1, 0]])), "outside"),
        (dict(edge_index=torch.zeros(2, 0, dtype=torch.long)), "empty"),
        (dict(edge_index=torch.tensor([0, 1])), r"\[2, num_edges\]"),
        (dict(edge_index=torch.tensor([[0.0, 1.0], [1.0, 2.0]])), "integer"),
    ],
)
def test_bad_input_raises_clear_errors(kwargs, message):
    args = dict(edge_index=torch.tensor([[0, 1], [1, 2]]), edge_weight=None, num_nodes=None)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        WeightedWalker(**args)


def test_bad_walk_arguments_raise():
    walker = WeightedWalker(torch.tensor([[0, 1], [1, 0]]))
    with pytest.raises(ValueError, match="walk_length"):
        walker.walk(torch.tensor([0]), 0)
    with pytest.raises(ValueError, match="start"):
        walker.walk(torch.tensor([5]), 3)
    with pytest.raises(ValueError, match="walks_per_node"):
        random_walks(torch.tensor([[0, 1], [1, 0]]), walks_per_node=0)
