#!/usr/bin/env python
"""Foundation benchmarks: full-ranking evaluation speed, and graph build + split + negative
sampling at scale.

1. ``eval``: full-ranking evaluation (every movie scored, train movies masked) of all ML-100K
   users with a 64-d dot-product model, our vectorised ``evaluate`` against a per-user Python
   loop baseline doing the same work, reported as a ratio. Goal: <= 50 ms for 943 users.
2. ``scale``: synthetic graphs of growing size (default 1M, 5M, 25M edges); for each, in a
   fresh process: table -> HeteroData build, temporal split, one epoch of pointwise negative
   sampling (4 per positive); wall time of each step and the process's peak memory (max RSS).
   Goal: linear growth, < 8 GB at 25M edges.

Writes ``experiments/results/bench_foundation.json`` (config, versions, numbers).

    python experiments/benchmarks/bench_foundation.py              # both
    python experiments/benchmarks/bench_foundation.py --only eval  # just the evaluation part
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "results"

SIZES = {  # edges: (users, movies), shaped like MovieLens (ML-25M: 162k users, 62k movies)
    1_000_000: (10_000, 5_000),
    5_000_000: (50_000, 20_000),
    25_000_000: (160_000, 60_000),
}


def bench_eval(repeats: int) -> dict:
    import torch
    from torch import nn

    from graphrec.data import load_movielens, temporal_split
    from graphrec.evaluate import evaluate
    from graphrec.metrics import ranking_metrics
    from graphrec.models.base import Recommender

    class Dot(Recommender):
        def __init__(self, num_users: int, num_movies: int, dim: int = 64) -> None:
            super().__init__(num_users, num_movies)
            self.u, self.m = nn.Embedding(num_users, dim), nn.Embedding(num_movies, dim)

        def score(self, users, movies):
            return (self.u(users) * self.m(movies)).sum(-1)

        def score_all(self, users):
            return self.u(self.check_users(users)) @ self.m.weight.T

    split = temporal_split(load_movielens("ml-100k", verbose=False))
    torch.manual_seed(0)
    model = Dot(split.num_users, split.num_movies).eval()

    def ours():
        return evaluate(model, split, "test", "full")

    @torch.no_grad()
    def loop():  # the straightforward per-user version of the same protocol
        ranks = []
        valid = dict(zip(split.valid[0].tolist(), split.valid[1].tolist(), strict=True))
        for u, t in zip(split.test[0].tolist(), split.test[1].tolist(), strict=True):
            s = model.score(torch.full((split.num_movies,), u), torch.arange(split.num_movies))
            seen = split.train_movies[split.train_ptr[u] : split.train_ptr[u + 1]]
            s[seen] = float("-inf")
            s[valid[u]] = float("-inf")
            ranks.append(int((s > s[t]).sum() + (s == s[t]).sum() - 1))
        return ranking_metrics(torch.tensor(ranks))

    a, b = ours(), loop()
    assert abs(a["hr@10"] - b["hr@10"]) < 1e-6, "the two evaluations disagree"
    t_ours, t_loop = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        ours()
        t_ours.append(time.perf_counter() - t0)
    for _ in range(max(3, repeats // 5)):
        t0 = time.perf_counter()
        loop()
        t_loop.append(time.perf_counter() - t0)
    med_o, med_l = statistics.median(t_ours), statistics.median(t_loop)
    return {
        "users": int(split.test.size(1)),
        "movies": split.num_movies,
        "ours_ms_median": round(med_o * 1000, 2),
        "loop_ms_median": round(med_l * 1000, 2),
        "speedup_vs_loop": round(med_l / med_o, 1),
        "goal_ms": 50,
        "meets_goal": med_o * 1000 <= 50,
        "repeats": repeats,
    }


def scale_child(edges: int) -> None:
    """Run in a fresh process; prints one JSON line."""
    import torch

    from graphrec.data import PointwiseSampler, temporal_split
    from graphrec.data.graph import build_graph
    from graphrec.data.synthetic import synthetic_tables

    users, movies = SIZES.get(edges, (max(edges // 150, 100), max(edges // 400, 100)))
    t0 = time.perf_counter()
    tables = synthetic_tables(users, movies, edges, seed=0)
    t1 = time.perf_counter()
    gen_peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    data = build_graph(tables)
    del tables
    t2 = time.perf_counter()
    build_peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    split = temporal_split(data)
    t3 = time.perf_counter()
    split_peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    u, m, y = PointwiseSampler(split, 4).epoch(torch.Generator().manual_seed(0))
    t4 = time.perf_counter()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "edges": edges,
                "users": users,
                "movies": movies,
                "generate_s": round(t1 - t0, 2),
                "build_s": round(t2 - t1, 2),
                "split_s": round(t3 - t2, 2),
                "negatives_s": round(t4 - t3, 2),
                "build_split_sample_s": round(t4 - t1, 2),
                "samples": int(y.numel()),
                "peak_rss_gb": round(peak_kb / 1024**2, 2),
                "peak_rss_after_generate_gb": round(gen_peak_kb / 1024**2, 2),
                "peak_rss_after_build_gb": round(build_peak_kb / 1024**2, 2),
                "peak_rss_after_split_gb": round(split_peak_kb / 1024**2, 2),
            }
        )
    )


def bench_scale(sizes: list[int]) -> list[dict]:
    rows = []
    for edges in sizes:
        proc = subprocess.run(
            [sys.executable, __file__, "--child", str(edges)], capture_output=True, text=True
        )
        if proc.returncode != 0:
            raise SystemExit(f"scale run at {edges} edges failed:\n{proc.stderr[-2000:]}")
        row = json.loads(proc.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(
            f"  {edges:>11,} edges: build {row['build_s']:6.2f}s  split {row['split_s']:6.2f}s"
            f"  negatives {row['negatives_s']:6.2f}s  peak {row['peak_rss_gb']:.2f} GB",
            flush=True,
        )
    base = rows[0]
    for row in rows:
        row["seconds_per_M_edges"] = round(row["build_split_sample_s"] / (row["edges"] / 1e6), 3)
        row["time_ratio_vs_smallest_per_edge"] = round(
            row["seconds_per_M_edges"] / base["seconds_per_M_edges"], 2
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=["eval", "scale"], default=None)
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=sorted(SIZES),
        help="edge counts for the scale benchmark (default: 1M 5M 25M)",
    )
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--out", default=str(RESULTS / "bench_foundation.json"))
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        scale_child(args.child)
        return
    from graphrec.io import package_versions, write_json

    out = {
        "config": vars(args),
        "versions": package_versions(),
        "machine": {"cpus": os.cpu_count()},
        "load_average_start": os.getloadavg(),
    }
    if args.only in (None, "eval"):
        print("full-ranking evaluation of all ML-100K users:")
        out["eval"] = bench_eval(args.repeats)
        e = out["eval"]
        print(
            f"  ours {e['ours_ms_median']} ms (median of {e['repeats']}), per-user loop "
            f"{e['loop_ms_median']} ms -> {e['speedup_vs_loop']}x; goal <= 50 ms: "
            f"{'met' if e['meets_goal'] else 'NOT met'}"
        )
    if args.only in (None, "scale"):
        print("graph build + split + one epoch of negatives on synthetic graphs:")
        out["scale"] = bench_scale(args.sizes)
    out["load_average_end"] = os.getloadavg()
    path = Path(args.out)
    if path.exists():  # keep the other part's last numbers when running one part
        old = json.loads(path.read_text())
        out = {**old, **out}
    write_json(path, out)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
