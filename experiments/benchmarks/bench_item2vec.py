#!/usr/bin/env python
"""Benchmark the item2vec engine against its peers: walks vs pecanpy, skip-gram vs gensim.

(a) Weighted node2vec walks: graphrec.walks.WeightedWalker vs pecanpy's ``PreComp`` mode on
    the same weighted graph, in weighted steps per second, for each ``--pq`` setting:
    walks alone (pecanpy's warm walk kernel), per CPU-second, and tables + walks (our
    build against pecanpy's warm rebuild of its second-order tables; numba's one-time
    compilation left out of both).
(b) Skip-gram: graphrec.models.item2vec.SkipGram vs gensim ``Word2Vec(sg=1)`` on the same
    walks with the same dim / window / negatives / epochs / subsampling, gensim with 2
    workers: training time and neighbour quality (share of each node's top-10 cosine
    neighbours in its own planted community; only with community labels), plus the overlap
    of the two models' top-10 lists.

The graph is a seeded weighted stochastic block model shaped like the ML-100K movie
co-rating graph (981 nodes, ~150k undirected edges, 10 planted communities, log-normal
weights, heavier inside communities), or an edge-list file (``--edges FILE``: whitespace- or
tab-separated ``src dst weight`` per line, each undirected edge once; with ``--labels FILE``
of ``node label`` lines for the quality number).

Peers run in their own environment (pecanpy 2.0.9 needs NumPy < 2) through
``experiments/benchmarks/peers/item2vec_peers.py``; the benchmark finds its python in
``--peer-python`` or ``$GRAPHREC_PEERS_PYTHON`` (see ``experiments/benchmarks/peers/README.md``):

    python -m venv PEERS_VENV && PEERS_VENV/bin/pip install 'numpy<2' pecanpy gensim
    export GRAPHREC_PEERS_PYTHON=PEERS_VENV/bin/python

Without it the benchmark says so and reports graphrec alone. Results go to
``experiments/results/bench_item2vec.json`` (config, seed, versions, load average, numbers,
ratios ours/peer) and a short table on stdout.

    python experiments/benchmarks/bench_item2vec.py                 # SBM, both parts, ~5 min
    python experiments/benchmarks/bench_item2vec.py --skip-peers    # graphrec only, ~1 min
    python experiments/benchmarks/bench_item2vec.py --edges movies.tsv --labels genres.tsv
    python experiments/benchmarks/bench_item2vec.py --movie-graph --out \
        experiments/results/bench_item2vec_ml100k.json      # the real ML-100K movie graph
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from graphrec.models.item2vec import SkipGram
from graphrec.walks import WeightedWalker

HERE = Path(__file__).resolve().parent
PEER_SCRIPT = HERE / "peers" / "item2vec_peers.py"
PEER_ENV = "GRAPHREC_PEERS_PYTHON"


# ---------------------------------------------------------------------------- graphs
def weighted_sbm(
    num_nodes: int, num_edges: int, blocks: int, ratio: float, in_weight: float, seed: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Undirected weighted SBM: ``([2, E]`` each edge once, ``[E]`` weights, ``[N]`` labels).

    Edge probability inside a block is ``ratio`` times the one between blocks, set so that
    the expected number of edges is ``num_edges``; weights are log-normal(0, 1), times
    ``in_weight`` inside a block.
    """
    gen = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, blocks, (num_nodes,), generator=gen)
    iu = torch.triu_indices(num_nodes, num_nodes, 1)
    same = labels[iu[0]] == labels[iu[1]]
    n_same = int(same.sum())
    p_out = num_edges / (ratio * n_same + (iu.size(1) - n_same))
    p = torch.where(same, min(1.0, ratio * p_out), p_out)
    keep = torch.rand(iu.size(1), generator=gen) < p
    edges, same = iu[:, keep], same[keep]
    weight = torch.randn(edges.size(1), generator=gen).exp()
    weight = torch.where(same, weight * in_weight, weight)
    return edges, weight, labels


def read_edges(path: str) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Edge list ``src dst [weight]`` -> (``[2, E]`` each undirected edge once, ``[E]``, ids).

    Node ids are remapped to ``0..N-1`` (``ids[i]`` is the original id of node ``i``); an edge
    listed in both directions or twice is kept once with its largest weight; self-loops are
    dropped.
    """
    import pandas as pd

    df = pd.read_csv(path, sep=r"\s+", header=None, comment="#", dtype=str)
    if df.shape[1] < 2:
        raise ValueError(f"{path}: need columns src dst [weight], got {df.shape[1]} column(s)")
    weight = df[2].astype(float).to_numpy() if df.shape[1] > 2 else np.ones(len(df))
    ids, codes = np.unique(
        np.concatenate([df[0].to_numpy(), df[1].to_numpy()]), return_inverse=True
    )
    src, dst = codes[: len(df)], codes[len(df) :]
    lo, hi = np.minimum(src, dst), np.maximum(src, dst)
    keep = lo != hi
    frame = pd.DataFrame({"a": lo[keep], "b": hi[keep], "w": weight[keep]})
    frame = frame.groupby(["a", "b"], as_index=False)["w"].max()
    edges = torch.tensor(frame[["a", "b"]].to_numpy().T, dtype=torch.long)
    return edges, torch.tensor(frame["w"].to_numpy(), dtype=torch.float64), [str(i) for i in ids]


def ml100k_movie_graph(args) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, dict]:
    """The ML-100K movie graph as graphrec's item2vec builds it, compacted to the movies with
    an edge: (``[2, E]`` each undirected edge once, ``[E]`` weights, ``[N]`` primary-genre
    codes, description)."""
    from graphrec.data import load_movielens, temporal_split
    from graphrec.data.projection import movie_graph

    data = load_movielens("ml-100k", verbose=False)
    split = temporal_split(data)
    g = movie_graph(
        split,
        min_rating=args.graph_min_rating,
        min_count=args.graph_min_count,
        knn=args.graph_knn or None,
        mutual_weight=args.graph_mutual_weight if args.graph_knn else 1.0,
    )
    src, dst = g.edge_index
    nodes = torch.unique(src)
    remap = torch.full((split.num_movies,), -1, dtype=torch.long)
    remap[nodes] = torch.arange(nodes.numel())
    once = src < dst
    edges = remap[torch.stack([src[once], dst[once]])]
    primary = [data["movie"].genres[int(m)].split("|")[0] for m in nodes]
    names = sorted(set(primary))
    labels = torch.tensor([names.index(x) for x in primary])
    desc = {
        "source": "ML-100K movie graph (cosine projection of the train split)",
        "min_rating": args.graph_min_rating,
        "min_count": args.graph_min_count,
        "knn": args.graph_knn,
        "mutual_weight": args.graph_mutual_weight if args.graph_knn else 1.0,
        "labels": "primary genre",
    }
    return edges, g.edge_weight[once].double(), labels, desc


def read_labels(path: str, ids: list[str]) -> torch.Tensor:
    """``node label`` lines -> ``[N]`` label codes (-1 for nodes without a label)."""
    import pandas as pd

    df = pd.read_csv(path, sep=r"\s+", header=None, comment="#", dtype=str)
    lookup = dict(zip(df[0], df[1], strict=True))
    names = sorted(set(lookup.values()))
    code = {name: i for i, name in enumerate(names)}
    return torch.tensor([code.get(lookup.get(i, ""), -1) for i in ids])


# ---------------------------------------------------------------------------- helpers
def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def community_share(emb: torch.Tensor, labels: torch.Tensor, k: int = 10) -> float:
    """Mean share of each labelled node's top-k cosine neighbours with the same label."""
    emb = torch.nn.functional.normalize(emb.double(), dim=1)
    sims = emb @ emb.t()
    sims.fill_diagonal_(-2.0)
    top = sims.topk(k, dim=1).indices
    has = labels >= 0
    return float((labels[top] == labels.view(-1, 1))[has].double().mean())


def top_k(emb: torch.Tensor, k: int = 10) -> torch.Tensor:
    emb = torch.nn.functional.normalize(emb.double(), dim=1)
    sims = emb @ emb.t()
    sims.fill_diagonal_(-2.0)
    return sims.topk(k, dim=1).indices


def overlap_at_k(a: torch.Tensor, b: torch.Tensor, k: int = 10) -> float:
    """Mean share of common entries between two models' top-k lists."""
    ta, tb = top_k(a, k), top_k(b, k)
    common = (ta.unsqueeze(2) == tb.unsqueeze(1)).any(2).sum(1)
    return float(common.double().mean() / k)


def run_peer(python: str, args: list[str], timeout: int) -> dict:
    # gensim seeds its vectors from Python's string hash: fix it for repeatable runs.
    out = subprocess.run(
        [python, str(PEER_SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    if out.returncode != 0:
        raise RuntimeError(f"peer run failed ({out.returncode}): {out.stderr.strip()[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------- parts
def bench_walks(
    edges: torch.Tensor, weight: torch.Tensor, num_nodes: int, args, p: float, q: float
) -> dict:
    edge_index = torch.cat([edges, edges.flip(0)], 1)
    edge_weight = torch.cat([weight, weight])
    t0 = time.perf_counter()
    walker = WeightedWalker(edge_index, edge_weight, num_nodes, p=p, q=q, num_threads=args.threads)
    build = time.perf_counter() - t0
    start = walker.nodes_with_edges().repeat(args.walks_per_node)
    gen = torch.Generator().manual_seed(args.seed)
    walker.walk(start[:64], 5, gen)  # warm-up
    # Where the walker picked alias tables, the other exact sampler (the only one before
    # them) walks the same starts too, alternating run by run with the timed one.
    other = None
    if walker.second_order == "alias":
        other = WeightedWalker(
            edge_index, edge_weight, num_nodes, p=p, q=q, num_threads=args.threads,
            sampler="outlier",
        )  # fmt: skip
        other.walk(start[:64], 5, gen)
    times, cpu, alt, steps = [], [], [], 0
    for _ in range(args.repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        walks = walker.walk(start, args.walk_length, gen)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        steps = int((walks[:, 1:] >= 0).sum())
        if other is not None:
            t0 = time.perf_counter()
            other.walk(start, args.walk_length, gen)
            alt.append(time.perf_counter() - t0)
    out = {
        "p": p,
        "q": q,
        "threads": args.threads,
        "sampler": walker.second_order,
        "build_s": build,
        "walk_s": times,
        "steps": steps,
        "steps_per_s": steps / min(times),
        "walk_cpu_s": cpu,
        "steps_per_cpu_s": steps / min(cpu),
        "steps_per_s_with_build": steps / (min(times) + build),
    }
    if other is not None:
        out["outlier_sampler_walk_s"] = alt
        out["alias_vs_outlier_speedup"] = min(alt) / min(times)
    return out


def bench_skipgram(walks: torch.Tensor, num_nodes: int, args) -> tuple[dict, torch.Tensor]:
    times, cpu, embs, losses = [], [], [], []
    for rep in range(args.sg_repeats):
        model = SkipGram(num_nodes, args.dim, seed=args.seed)
        t0, c0 = time.perf_counter(), time.process_time()
        losses = model.fit(
            walks,
            epochs=args.epochs,
            window=args.window,
            negatives=args.negatives,
            subsample=args.sample,
            seed=args.seed + rep,
            progress=False,
            num_threads=args.threads,
        )
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        embs.append(model.embeddings())
    result = {"train_s": times, "best_train_s": min(times), "train_cpu_s": cpu}
    result.update(best_train_cpu_s=min(cpu), losses=losses)
    if len(embs) > 1:  # the noise floor of neighbour lists: same walks, another seed
        result["overlap_at_10_seed_vs_seed"] = overlap_at_k(embs[0], embs[1])
    return result, embs[0]


# ---------------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n\n".join(__doc__.split("\n\n")[1:]),
    )
    g = ap.add_argument_group("graph")
    g.add_argument("--edges", help="edge-list file (src dst weight); default: synthetic SBM")
    g.add_argument("--labels", help="node label file (node label) for --edges")
    g.add_argument(
        "--movie-graph",
        action="store_true",
        help="the real ML-100K movie graph (graphrec's cosine projection of the train split, "
        "primary genre as the label); shape it with the --graph-* options",
    )
    g.add_argument("--graph-min-rating", type=float, default=4.0, help="(default 4)")
    g.add_argument("--graph-min-count", type=int, default=5, help="(default 5)")
    g.add_argument(
        "--graph-knn",
        type=int,
        default=0,
        help="kNN sparsification (default 0: none; the defaults give 974 nodes / 149k edges, "
        "the shape of the graph the item2vec issue measured pecanpy on)",
    )
    g.add_argument("--graph-mutual-weight", type=float, default=1.0, help="(default 1)")
    g.add_argument("--nodes", type=int, default=981, help="SBM nodes (default 981)")
    g.add_argument("--num-edges", type=int, default=150_000, help="SBM undirected edges")
    g.add_argument("--blocks", type=int, default=10, help="SBM communities (default 10)")
    g.add_argument(
        "--ratio", type=float, default=2.2, help="SBM in/out edge-probability ratio (2.2)"
    )
    g.add_argument("--in-weight", type=float, default=1.5, help="SBM in-block weight factor")
    w = ap.add_argument_group("walks")
    w.add_argument("--walk-length", type=int, default=40, help="nodes per walk (default 40)")
    w.add_argument("--walks-per-node", type=int, default=10, help="walks per node (default 10)")
    w.add_argument(
        "--pq",
        nargs="+",
        default=["1,1", "0.5,2"],
        help="node2vec p,q settings to time (default: 1,1 0.5,2)",
    )
    w.add_argument("--repeats", type=int, default=3, help="timed walk runs (best counts)")
    s = ap.add_argument_group("skip-gram")
    s.add_argument("--sg-pq", default="1,1", help="p,q of the walks skip-gram trains on")
    s.add_argument("--dim", type=int, default=64)
    s.add_argument("--window", type=int, default=5)
    s.add_argument("--negatives", type=int, default=5)
    s.add_argument("--epochs", type=int, default=5)
    s.add_argument("--sample", type=float, default=1e-3, help="subsampling threshold")
    s.add_argument(
        "--sg-repeats",
        type=int,
        default=2,
        help="timed skip-gram runs, seeds seed, seed+1, ... (best time; default 2)",
    )
    o = ap.add_argument_group("run")
    o.add_argument("--threads", type=int, default=1, help="torch threads for graphrec (1)")
    o.add_argument("--workers", type=int, default=2, help="peer workers (default 2)")
    o.add_argument("--seed", type=int, default=0)
    o.add_argument(
        "--peer-python",
        default=os.environ.get(PEER_ENV),
        help=f"python of the peers' environment (default: ${PEER_ENV})",
    )
    o.add_argument("--skip-peers", action="store_true", help="time graphrec only")
    o.add_argument("--skip-walks", action="store_true", help="skip part (a)")
    o.add_argument("--skip-skipgram", action="store_true", help="skip part (b)")
    o.add_argument("--timeout", type=int, default=1800, help="seconds per peer run")
    o.add_argument("--out", default=str(HERE.parent / "results" / "bench_item2vec.json"))
    args = ap.parse_args()

    load_start = load_average()
    if args.movie_graph:
        edges, weight, labels, graph = ml100k_movie_graph(args)
        num_nodes = int(labels.numel())
    elif args.edges:
        edges, weight, ids = read_edges(args.edges)
        num_nodes = len(ids)
        labels = read_labels(args.labels, ids) if args.labels else None
        graph = {"source": args.edges, "labels": args.labels}
    else:
        edges, weight, labels = weighted_sbm(
            args.nodes, args.num_edges, args.blocks, args.ratio, args.in_weight, args.seed
        )
        num_nodes = args.nodes
        graph = {
            "source": "weighted SBM",
            "blocks": args.blocks,
            "ratio": args.ratio,
            "in_weight": args.in_weight,
        }
    graph.update(num_nodes=num_nodes, undirected_edges=int(edges.size(1)))
    print(f"graph: {graph['source']}, {num_nodes} nodes, {edges.size(1)} undirected edges")

    peers = not args.skip_peers
    if peers and (not args.peer_python or not Path(args.peer_python).exists()):
        where = f"{args.peer_python} does not exist" if args.peer_python else "not given"
        print(
            f"peer environment {where}; reporting graphrec alone. Pass --peer-python or set "
            f"{PEER_ENV} to the python of a venv with 'numpy<2' pecanpy gensim (see "
            "experiments/benchmarks/peers/README.md)"
        )
        peers = False

    result: dict = {
        "config": {k: v for k, v in vars(args).items()},
        "seed": args.seed,
        "graph": graph,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "numpy": np.__version__,
        },
        "load_average_start": load_start,
        "walks": [],
        "skipgram": None,
        "notes": "times are wall-clock on a shared machine; see load averages",
    }
    rows: list[tuple[str, str, str, str]] = []

    with tempfile.TemporaryDirectory() as tmp:
        edge_file = Path(tmp) / "edges.tsv"
        np.savetxt(
            edge_file,
            np.column_stack([edges[0].numpy(), edges[1].numpy(), weight.double().numpy()]),
            fmt=["%d", "%d", "%.9g"],
            delimiter="\t",
        )
        if not args.skip_walks:
            for pq in args.pq:
                p, q = (float(x) for x in pq.split(","))
                ours = bench_walks(edges, weight, num_nodes, args, p, q)
                entry = {"ours": ours, "peer": None, "ratio": None}
                peer_txt = "n/a"
                if peers:
                    peer = run_peer(
                        args.peer_python,
                        [
                            "walks",
                            "--edges",
                            str(edge_file),
                            "--p",
                            str(p),
                            "--q",
                            str(q),
                            "--steps",
                            str(args.walk_length - 1),
                            "--walks-per-node",
                            str(args.walks_per_node),
                            "--workers",
                            str(args.workers),
                            "--repeats",
                            str(args.repeats),
                            "--seed",
                            str(args.seed),
                        ],
                        args.timeout,
                    )
                    entry["peer"] = peer
                    # Tables + walks, both warm: ours builds its CSR and guide table, pecanpy
                    # its per-edge second-order alias tables (numba compilation excluded).
                    peer["warm_steps_per_s_with_preprocess"] = peer["warm_steps"] / (
                        min(peer["warm_preprocess_s"]) + min(peer["warm_walk_s"])
                    )
                    entry["ratio"] = {
                        "steps_per_s_vs_warm_kernel": ours["steps_per_s"]
                        / peer["warm_steps_per_s"],
                        "steps_per_cpu_s_vs_warm_kernel": ours["steps_per_cpu_s"]
                        / peer["warm_steps_per_cpu_s"],
                        "steps_per_s_vs_cold_simulate_walks": ours["steps_per_s"]
                        / peer["cold_steps_per_s"],
                        "steps_per_s_with_build_vs_warm_preprocess_and_kernel": ours[
                            "steps_per_s_with_build"
                        ]
                        / peer["warm_steps_per_s_with_preprocess"],
                        "build_s_vs_preprocess_s": ours["build_s"]
                        / (peer["read_s"] + peer["preprocess_s"]),
                    }
                    result["versions"].update({f"peer_{k}": v for k, v in peer["versions"].items()})
                    peer_txt = (
                        f"{peer['warm_steps_per_s'] / 1e6:.3f} M/s warm kernel "
                        f"({peer['cold_steps_per_s'] / 1e6:.3f} cold), "
                        f"precompute {peer['preprocess_s']:.1f}s"
                    )
                result["walks"].append(entry)
                ratio = f"{entry['ratio']['steps_per_s_vs_warm_kernel']:.2f}x" if peers else "-"
                rows.append(
                    (
                        f"walks p={p:g} q={q:g} (steps/s)",
                        f"{ours['steps_per_s'] / 1e6:.3f} M/s, build {ours['build_s']:.2f}s",
                        peer_txt,
                        ratio,
                    )
                )
                if "alias_vs_outlier_speedup" in ours:
                    rows.append(
                        (
                            "  sampler: alias vs outlier",
                            f"{min(ours['walk_s']) * 1e3:.0f} ms vs "
                            f"{min(ours['outlier_sampler_walk_s']) * 1e3:.0f} ms",
                            "",
                            f"{ours['alias_vs_outlier_speedup']:.2f}x",
                        )
                    )
                rows.append(
                    (
                        "  per CPU-second",
                        f"{ours['steps_per_cpu_s'] / 1e6:.3f} M/cpu-s",
                        f"{entry['peer']['warm_steps_per_cpu_s'] / 1e6:.3f} M/cpu-s"
                        if peers
                        else "",
                        f"{entry['ratio']['steps_per_cpu_s_vs_warm_kernel']:.2f}x" if peers else "",
                    )
                )

                rows.append(
                    (
                        "  tables + walks",
                        f"{ours['steps_per_s_with_build'] / 1e6:.3f} M/s",
                        f"{entry['peer']['warm_steps_per_s_with_preprocess'] / 1e6:.3f} M/s "
                        f"(tables {min(entry['peer']['warm_preprocess_s']):.1f}s)"
                        if peers
                        else "",
                        f"{entry['ratio']['steps_per_s_with_build_vs_warm_preprocess_and_kernel']:.2f}x"
                        if peers
                        else "",
                    )
                )

        if not args.skip_skipgram:
            p, q = (float(x) for x in args.sg_pq.split(","))
            edge_index = torch.cat([edges, edges.flip(0)], 1)
            walker = WeightedWalker(
                edge_index,
                torch.cat([weight, weight]),
                num_nodes,
                p=p,
                q=q,
                num_threads=args.threads,
            )
            start = walker.nodes_with_edges().repeat(args.walks_per_node)
            walks = walker.walk(start, args.walk_length, torch.Generator().manual_seed(args.seed))
            walk_file = Path(tmp) / "walks.npy"
            np.save(walk_file, walks.numpy())
            ours, emb = bench_skipgram(walks, num_nodes, args)
            sg = {"walks": list(walks.shape), "walk_pq": [p, q], "ours": ours, "peer": None}
            if labels is not None:
                ours["community_share_at_10"] = community_share(emb, labels)
            peer_txt, ratio, q_txt = "n/a", "-", ""
            if peers:
                emb_file = Path(tmp) / "gensim.npy"
                peer = run_peer(
                    args.peer_python,
                    [
                        "word2vec",
                        "--walks",
                        str(walk_file),
                        "--emb-out",
                        str(emb_file),
                        "--num-nodes",
                        str(num_nodes),
                        "--dim",
                        str(args.dim),
                        "--window",
                        str(args.window),
                        "--negatives",
                        str(args.negatives),
                        "--epochs",
                        str(args.epochs),
                        "--sample",
                        str(args.sample),
                        "--workers",
                        str(args.workers),
                        "--seed",
                        str(args.seed),
                    ],
                    args.timeout,
                )
                peer_emb = torch.from_numpy(np.load(emb_file))
                if labels is not None:
                    peer["community_share_at_10"] = community_share(peer_emb, labels)
                sg["peer"] = peer
                sg["overlap_at_10_ours_vs_peer"] = overlap_at_k(emb, peer_emb)
                sg["ratio"] = {
                    "train_s": ours["best_train_s"] / peer["train_s"],
                    "train_cpu_s": ours["best_train_cpu_s"] / peer["train_cpu_s"],
                    "train_s_vs_vocab_plus_train": ours["best_train_s"]
                    / (peer["train_s"] + peer["vocab_s"]),
                }
                if labels is not None:
                    sg["ratio"]["community_share_at_10"] = (
                        ours["community_share_at_10"] / peer["community_share_at_10"]
                    )
                    q_txt = (
                        f"; top-10 same community {ours['community_share_at_10']:.3f} vs "
                        f"{peer['community_share_at_10']:.3f} "
                        f"({sg['ratio']['community_share_at_10']:.2f}x)"
                    )
                result["versions"].update({f"peer_{k}": v for k, v in peer["versions"].items()})
                peer_txt = f"{peer['train_s']:.2f}s ({args.workers} workers)"
                ratio = f"{sg['ratio']['train_s']:.2f}x"
            elif labels is not None:
                q_txt = f"; top-10 same community {ours['community_share_at_10']:.3f}"
            result["skipgram"] = sg
            rows.append(
                (
                    f"skip-gram {args.epochs} epochs (s)",
                    f"{ours['best_train_s']:.2f}s ({args.threads} thread)",
                    peer_txt,
                    ratio,
                )
            )
            rows.append(
                (
                    "  CPU seconds",
                    f"{ours['best_train_cpu_s']:.2f}s",
                    f"{sg['peer']['train_cpu_s']:.2f}s" if peers else "",
                    f"{sg['ratio']['train_cpu_s']:.2f}x" if peers else "",
                )
            )
            if q_txt:
                rows.append(("  neighbour quality", q_txt.lstrip("; "), "", ""))
            if peers:
                seeds = ours.get("overlap_at_10_seed_vs_seed")
                rows.append(
                    (
                        "  top-10 overlap ours/gensim",
                        f"{sg['overlap_at_10_ours_vs_peer']:.3f}"
                        + (f" (ours seed/seed: {seeds:.3f})" if seeds is not None else ""),
                        "",
                        "",
                    )
                )

    result["load_average_end"] = load_average()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = out.with_name(f".{out.name}.tmp")
    tmp_out.write_text(json.dumps(result, indent=2) + "\n")
    os.replace(tmp_out, out)

    width = [
        max(len(r[i]) for r in rows + [("", "graphrec", "peer", "ours/peer")]) for i in range(4)
    ]
    header = ("", "graphrec", "peer", "ours/peer")
    for row in [header, *rows]:
        print("  ".join(cell.ljust(width[i]) for i, cell in enumerate(row)).rstrip())
    print(f"load average start {load_start}, end {result['load_average_end']}; wrote {out}")


if __name__ == "__main__":
    main()
