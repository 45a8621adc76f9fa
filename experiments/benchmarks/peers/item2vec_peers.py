"""Peer runs for experiments/benchmarks/bench_item2vec.py (and the gensim rows of
experiments/studies/franchise_orders.py): pecanpy walks and gensim skip-gram.

Runs in the peer environment (pecanpy 2.0.9 needs NumPy < 2), never in graphrec's own; the
scripts that call it find that environment's python in ``$GRAPHREC_PEERS_PYTHON`` (or their
``--peer-python``):

    python -m venv PEERS_VENV && PEERS_VENV/bin/pip install 'numpy<2' pecanpy gensim
    export GRAPHREC_PEERS_PYTHON=PEERS_VENV/bin/python

Two subcommands, each printing one JSON object on stdout:

    walks     pecanpy PreComp walks on an edge-list file (src dst weight, tab-separated,
              each undirected edge once): preprocessing time, a cold ``simulate_walks`` call
              (numba compilation and id mapping included), warm runs of the walk kernel
              and warm rebuilds of the second-order tables.
    word2vec  gensim Word2Vec(sg=1) on walks from a .npy file ([num_walks, walk_length]
              int64, -1 = padding), negative sampling or (--hs) hierarchical softmax;
              writes the input vectors to --emb-out as .npy ([num_nodes, dim], row = node
              id; zeros for nodes absent from the walks). gensim seeds each vector from
              Python's string hash: run it with PYTHONHASHSEED set and --workers 1 for
              the same vectors every time (its callers set it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time


def _versions() -> dict[str, str]:
    import numpy as np

    out = {"python": sys.version.split()[0], "numpy": np.__version__}
    for name in ("pecanpy", "gensim", "numba"):
        try:
            from importlib.metadata import version

            out[name] = version(name)
        except Exception:  # noqa: BLE001 - a missing peer is reported, not fatal
            out[name] = "missing"
    return out


def run_walks(args: argparse.Namespace) -> dict:
    import numpy as np
    from numba_progress import ProgressBar
    from pecanpy import pecanpy as node2vec

    t0 = time.perf_counter()
    g = node2vec.PreComp(p=args.p, q=args.q, workers=args.workers, random_state=args.seed)
    g.read_edg(args.edges, weighted=True, directed=False, delimiter="\t")
    t_read = time.perf_counter() - t0

    t0 = time.perf_counter()
    g.preprocess_transition_probs()
    t_pre = time.perf_counter() - t0

    # Cold call, as a user makes it: compiles the numba kernels, walks, maps ids to strings.
    t0 = time.perf_counter()
    walks = g.simulate_walks(num_walks=args.walks_per_node, walk_length=args.steps)
    t_cold = time.perf_counter() - t0
    cold_steps = sum(len(w) - 1 for w in walks)

    # Warm kernel: the same numba walk loop simulate_walks runs, with compiled functions.
    nodes = np.arange(g.num_nodes, dtype=np.uint32)
    starts = np.concatenate([nodes] * args.walks_per_node)
    np.random.seed(args.seed)
    np.random.shuffle(starts)
    move_forward = g.get_move_forward()
    has_nbrs = g.get_has_nbrs()
    warm, warm_cpu = [], []
    steps = 0
    for rep in range(args.repeats + 1):
        t0, c0 = time.perf_counter(), time.process_time()
        with ProgressBar(total=starts.size, disable=True) as progress:
            mat = g._random_walks(
                starts.size, args.steps, args.seed + rep, starts, has_nbrs, move_forward, progress
            )
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        steps = int((mat[:, -1].astype(np.int64) - 1).sum())
        if rep > 0:  # rep 0 compiles the kernel for this move_forward
            warm.append(dt)
            warm_cpu.append(dc)
    best = min(warm)
    # Warm precompute: the same second-order tables built again with compiled kernels, so
    # that "tables + walks" can be compared without numba's one-time compilation.
    warm_pre = []
    for _ in range(args.preprocess_repeats):
        t0 = time.perf_counter()
        g.preprocess_transition_probs()
        warm_pre.append(time.perf_counter() - t0)
    return {
        "peer": "pecanpy.PreComp",
        "p": args.p,
        "q": args.q,
        "workers": args.workers,
        "num_nodes": int(g.num_nodes),
        "num_directed_edges": int(g.indices.size),
        "read_s": t_read,
        "preprocess_s": t_pre,
        "warm_preprocess_s": warm_pre,
        "cold_simulate_walks_s": t_cold,
        "cold_steps": int(cold_steps),
        "cold_steps_per_s": cold_steps / t_cold,
        "warm_walk_s": warm,
        "warm_steps": steps,
        "warm_steps_per_s": steps / best,
        "warm_walk_cpu_s": warm_cpu,
        "warm_steps_per_cpu_s": steps / min(warm_cpu),
        "versions": _versions(),
    }


def run_word2vec(args: argparse.Namespace) -> dict:
    import numpy as np
    from gensim.models import Word2Vec
    from gensim.models.word2vec import FAST_VERSION

    walks = np.load(args.walks)
    sentences = [[str(int(v)) for v in row if v >= 0] for row in walks]
    t0 = time.perf_counter()
    model = Word2Vec(
        vector_size=args.dim,
        window=args.window,
        min_count=0,
        sg=1,
        hs=int(args.hs),
        negative=0 if args.hs else args.negatives,
        ns_exponent=0.75,
        sample=args.sample,
        workers=args.workers,
        seed=args.seed,
    )
    model.build_vocab(sentences)
    t_vocab = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    model.train(sentences, total_examples=len(sentences), epochs=args.epochs)
    t_train, c_train = time.perf_counter() - t0, time.process_time() - c0
    num_nodes = args.num_nodes or int(walks.max()) + 1
    emb = np.zeros((num_nodes, args.dim), dtype=np.float32)
    for token, index in model.wv.key_to_index.items():
        emb[int(token)] = model.wv.vectors[index]
    tmp = args.emb_out + ".tmp.npy"
    np.save(tmp, emb)
    os.replace(tmp, args.emb_out)
    return {
        "peer": "gensim.Word2Vec(sg=1)",
        "objective": "hierarchical softmax" if args.hs else "negative sampling",
        "dim": args.dim,
        "window": args.window,
        "negatives": 0 if args.hs else args.negatives,
        "epochs": args.epochs,
        "sample": args.sample,
        "workers": args.workers,
        "gensim_fast_version": int(FAST_VERSION),
        "vocab_s": t_vocab,
        "train_s": t_train,
        "train_cpu_s": c_train,
        "versions": _versions(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("walks", help="pecanpy PreComp walk throughput")
    w.add_argument("--edges", required=True, help="tab-separated src dst weight, undirected")
    w.add_argument("--p", type=float, default=1.0)
    w.add_argument("--q", type=float, default=1.0)
    w.add_argument("--steps", type=int, default=39, help="steps per walk (nodes - 1)")
    w.add_argument("--walks-per-node", type=int, default=10)
    w.add_argument("--workers", type=int, default=2)
    w.add_argument("--repeats", type=int, default=3)
    w.add_argument(
        "--preprocess-repeats",
        type=int,
        default=2,
        help="timed rebuilds of the second-order tables after the cold one",
    )
    w.add_argument("--seed", type=int, default=0)
    v = sub.add_parser("word2vec", help="gensim skip-gram on given walks")
    v.add_argument("--walks", required=True, help=".npy [num_walks, walk_length] int64")
    v.add_argument("--emb-out", required=True, help="where to write the .npy embeddings")
    v.add_argument("--num-nodes", type=int, default=0)
    v.add_argument("--dim", type=int, default=64)
    v.add_argument("--window", type=int, default=5)
    v.add_argument("--negatives", type=int, default=5)
    v.add_argument("--epochs", type=int, default=5)
    v.add_argument("--sample", type=float, default=1e-3)
    v.add_argument("--workers", type=int, default=2)
    v.add_argument(
        "--hs", action="store_true", help="hierarchical softmax instead of negative sampling"
    )
    v.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.cmd == "walks" and min(args.repeats, args.preprocess_repeats) < 1:
        parser.error("--repeats and --preprocess-repeats must be >= 1 (the best run is reported)")
    result = run_walks(args) if args.cmd == "walks" else run_word2vec(args)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
