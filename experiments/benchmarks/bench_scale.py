#!/usr/bin/env python
"""Benchmark: how each stage of graphrec grows with the number of edges, on one machine.

    python experiments/benchmarks/bench_scale.py --sizes 1000000 5000000
    python experiments/benchmarks/bench_scale.py --sizes 1000000 5000000 25000000

Each size runs in a fresh subprocess (so its peak RSS, ``ru_maxrss``, is its own) on a
synthetic graph from :func:`graphrec.data.synthetic.synthetic_tables` with users and movies
growing with the edges at MovieLens-25M's ratio (25M edges: 160k users, 60k movies; power-law
activity and popularity). Stages, each timed and with its peak RSS sampled every 50 ms from
``/proc/self/status`` (VmRSS; VmHWM cannot be reset between stages):

- ``generate``: the synthetic tables (pandas), not part of the library's pipeline;
- ``build``: :func:`graphrec.data.graph.build_graph` (tables -> HeteroData);
- ``split``: :func:`graphrec.data.split.temporal_split`;
- ``bpr_epoch``: one epoch of BPR-MF through ``model.fit(split, epochs=1)`` with validation
  replaced by a no-op through the model's ``validation`` hook (its default batch size);
- ``lightgcn_epoch``: one epoch of LightGCN the same way, with ``--lightgcn-steps`` optimiser
  steps per epoch (batch size = train edges / steps). LightGCN propagates over the whole graph
  at every step, so at its default batch size (8192) an epoch costs (E / 8192) x O(E): see
  ``lightgcn_default_step``, the mean time of ``--probe-steps`` steps at batch 8192, and
  ``lightgcn_default_epoch_est`` = that x the number of batches (an extrapolation, marked so);
- ``rank``: :func:`graphrec.evaluate.full_ranking` of BPR-MF on test: top-10 over all movies
  for every evaluated user, 1024 users per chunk (a [1024, movies] block, never users x movies).

Torch runs with ``--threads`` (default 1) intra-op threads. Results go to
``experiments/results/bench_scale.json`` and ``bench_scale.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "results"
USERS_PER_EDGE = 160_000 / 25_000_000
MOVIES_PER_EDGE = 60_000 / 25_000_000
STAGES = ["generate", "build", "split", "bpr_epoch", "lightgcn_epoch", "rank", "lightgcn_probe"]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 5_000_000])
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lightgcn-steps", type=int, default=64, help="LightGCN steps per epoch")
    p.add_argument("--probe-steps", type=int, default=3, help="LightGCN steps at batch 8192")
    p.add_argument("--rank-batch", type=int, default=1024, help="users per ranking chunk")
    p.add_argument(
        "--stages",
        nargs="*",
        default=["bpr_epoch", "lightgcn_epoch"],
        choices=["bpr_epoch", "lightgcn_epoch"],
        help="training stages to run (default both; none: --stages alone; without bpr_epoch, "
        "rank an untrained BPR-MF)",
    )
    p.add_argument(
        "--append",
        action="store_true",
        help="keep the other sizes already in --out (each result records its command)",
    )
    p.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, default=RESULTS / "bench_scale.json")
    return p.parse_args(argv)


def _rss_gb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 2**20
    return float("nan")


class Sampler:
    """Samples VmRSS every ``interval`` seconds; :meth:`stage` gives a stage's peak."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval, self.peak = interval, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_gb())
            time.sleep(self.interval)

    @contextmanager
    def stage(self, out: dict, name: str):
        self.peak = start = _rss_gb()
        t0 = time.perf_counter()
        yield
        seconds = time.perf_counter() - t0
        self.peak = max(self.peak, _rss_gb())
        out[name] = {
            "seconds": round(seconds, 3),
            "peak_rss_gb": round(self.peak, 3),
            "rss_start_gb": round(start, 3),
            "rss_end_gb": round(_rss_gb(), 3),
        }
        print(f"  {name}: {seconds:.1f}s peak {self.peak:.2f} GB", file=sys.stderr, flush=True)


def _no_validation(split, cfg):
    return 0.0, {}, "none (benchmark)"


def run_one(edges: int, args) -> dict:
    import torch

    torch.set_num_threads(args.threads)
    from graphrec.data.graph import build_graph
    from graphrec.data.sampling import PairwiseSampler
    from graphrec.data.split import temporal_split
    from graphrec.data.synthetic import synthetic_tables
    from graphrec.evaluate import full_ranking
    from graphrec.models.bpr import BPRMF
    from graphrec.models.lightgcn import LightGCN

    users = max(100, round(edges * USERS_PER_EDGE))
    movies = max(100, round(edges * MOVIES_PER_EDGE))
    sampler = Sampler()
    st: dict = {}
    with sampler.stage(st, "generate"):
        tables = synthetic_tables(users, movies, edges, seed=args.seed)
    with sampler.stage(st, "build"):
        data = build_graph(tables)
    del tables
    with sampler.stage(st, "split"):
        split = temporal_split(data)
    del data
    extra: dict = {"train_edges": int(split.train.size(1)), "test_users": int(split.test.size(1))}

    bpr = BPRMF(split.num_users, split.num_movies, seed=args.seed)
    if "bpr_epoch" in args.stages:
        with sampler.stage(st, "bpr_epoch"):
            bpr.validation = _no_validation
            fit = bpr.fit(split, epochs=1, device="cpu", progress=False, threads=args.threads)
        extra["bpr_batch_size"] = fit.history.config["batch_size"]
        extra["bpr_fit_epoch_seconds"] = round(fit.history.epochs[0]["seconds"], 3)
    else:  # rank with the untrained model: the same work
        bpr.remember_seen(split).eval()

    with sampler.stage(st, "rank"):
        ranks, top = full_ranking(bpr, split, "test", k=10, batch_size=args.rank_batch)
    extra["rank_users"] = int(top.size(0))
    extra["rank_scores"] = int(top.size(0)) * split.num_movies
    del bpr, ranks, top

    batch = -(-split.train.size(1) // args.lightgcn_steps)
    gcn = LightGCN(split.num_users, split.num_movies, seed=args.seed)
    if "lightgcn_epoch" in args.stages:
        with sampler.stage(st, "lightgcn_epoch"):
            gcn.validation = _no_validation
            gcn.fit(
                split,
                epochs=1,
                batch_size=batch,
                device="cpu",
                progress=False,
                threads=args.threads,
            )
        extra["lightgcn_batch_size"] = batch
    else:
        gcn.remember_seen(split)

    # LightGCN at its default batch size: time a few steps, extrapolate to an epoch
    default_batch = LightGCN.train_defaults["batch_size"]
    with sampler.stage(st, "lightgcn_probe"):
        opt = torch.optim.Adam(gcn.parameters(), lr=1e-2)
        gcn.train()
        a, b, c = PairwiseSampler(split).epoch(torch.Generator().manual_seed(args.seed))
        gcn.propagate()  # builds the adjacency once, outside the timed steps
        t0 = time.perf_counter()
        for s in range(args.probe_steps):
            sl = slice(s * default_batch, (s + 1) * default_batch)
            loss = gcn.bpr_loss(a[sl], b[sl], c[sl])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        step = (time.perf_counter() - t0) / args.probe_steps
    n_batches = -(-a.numel() // default_batch)
    extra["lightgcn_default_step_seconds"] = round(step, 4)
    extra["lightgcn_default_batches"] = n_batches
    extra["lightgcn_default_epoch_est_seconds"] = round(step * n_batches, 1)

    return {
        "edges": edges,
        "users": split.num_users,
        "movies": split.num_movies,
        "stages": st,
        "extra": extra,
        "ru_maxrss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 3),
    }


def _versions() -> dict:
    import numpy
    import pandas
    import torch
    import torch_geometric

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_geometric": torch_geometric.__version__,
        "numpy": numpy.__version__,
        "pandas": pandas.__version__,
    }


def table(results: list[dict]) -> str:
    head = ["edges", "users", "movies"]
    for s in STAGES:
        head += [f"{s} s", f"{s} GB"]
    head += ["peak RSS GB"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        row = [f"{r['edges']:,}", f"{r['users']:,}", f"{r['movies']:,}"]
        for s in STAGES:
            got = r["stages"].get(s)
            row += [f"{got['seconds']:.1f}", f"{got['peak_rss_gb']:.2f}"] if got else ["-", "-"]
        row += [f"{r['ru_maxrss_gb']:.2f}"]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def growth(results: list[dict]) -> dict:
    lo, hi = results[0], results[-1]
    edge_ratio = hi["edges"] / lo["edges"]
    out = {"from": lo["edges"], "to": hi["edges"], "edges_ratio": round(edge_ratio, 2)}
    for s in STAGES:
        if s in lo["stages"] and s in hi["stages"]:
            a, b = lo["stages"][s]["seconds"], hi["stages"][s]["seconds"]
            out[s] = round(b / a, 2) if a > 0 else None
    out["rank_scores_ratio"] = round(hi["extra"]["rank_scores"] / lo["extra"]["rank_scores"], 2)
    key = "lightgcn_default_epoch_est_seconds"
    out["lightgcn_default_epoch_est"] = round(hi["extra"][key] / lo["extra"][key], 2)
    return out


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.one is not None:
        print(json.dumps(run_one(args.one, args)))
        return
    command = "python experiments/benchmarks/bench_scale.py " + " ".join(argv or sys.argv[1:])
    results = []
    if args.append and args.out.exists():
        old = json.loads(args.out.read_text())
        results = [r for r in old["results"] if r["edges"] not in args.sizes]
    t0 = time.time()
    for edges in args.sizes:
        print(f"{edges:,} edges", file=sys.stderr, flush=True)
        cmd = [sys.executable, __file__, "--one", str(edges)]
        for name in ("threads", "seed", "lightgcn_steps", "probe_steps", "rank_batch"):
            cmd += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
        cmd += ["--stages", *args.stages]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env=os.environ.copy())
        if proc.returncode != 0:
            raise SystemExit(f"size {edges} failed (exit {proc.returncode})")
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        results[-1]["command"], results[-1]["stages_run"] = command, args.stages
        results[-1]["load_after"] = os.getloadavg()
    results.sort(key=lambda r: r["edges"])
    out = {
        "command": command,
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "seed": args.seed,
        "versions": _versions(),
        "machine": {"cpus": os.cpu_count(), "load_start": os.getloadavg()},
        "wall_seconds": round(time.time() - t0, 1),
        "results": results,
        "growth": growth(results) if len(results) > 1 else None,
    }
    out["machine"]["load_end"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    md = [
        "# Scale benchmark (generated by experiments/benchmarks/bench_scale.py)",
        "",
        f"Command: `{out['command']}`; torch threads {args.threads}; seed {args.seed}.",
        "",
        table(results),
        "",
        f"Growth {out['growth']}" if out["growth"] else "",
        "",
    ]
    args.out.with_suffix(".md").write_text("\n".join(md))
    print(table(results))
    print(json.dumps(out["growth"]))


if __name__ == "__main__":
    main()
