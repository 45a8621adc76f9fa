#!/usr/bin/env python
"""Benchmark: one process against ``torchrun --nproc-per-node N`` (DDP, gloo) on BPR-MF.

    python experiments/benchmarks/bench_ddp.py                       # ML-100K, 10 epochs
    python experiments/benchmarks/bench_ddp.py --data-dir /work/main/datasets --repeats 2

Both sides run the same task, ``experiments/run.py --task bpr`` on ML-100K (graphrec's loader,
``--data-dir``), the same seed and the same fixed number of epochs (``--epochs``, default 10;
``--patience 0``: no early stopping), one torch thread per process (``--threads 1`` and
``OMP_NUM_THREADS=1``). The total batch is BPR-MF's default on both sides (DDP splits each
global batch across the ranks). The runs alternate A B A B (``--repeats`` each): A is one
process, B is torchrun with ``--nproc``. Reported per run: the wall time of the whole command
(start-up, data, training, final evaluation), the fit seconds of ``metrics.json`` (training and
rank 0's validation), the median epoch's training seconds (no validation) and the test
HR@10 / NDCG@10 under both protocols, so one sees the quality is the same; each ratio is the
median time of A over the median time of B (> 1: DDP is faster). Results go to
``experiments/results/bench_ddp.json``. The machine may be shared with other jobs: the load
average at start and end is recorded, and timings are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "experiments" / "results" / "bench_ddp.json"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", default="ml-100k")
    p.add_argument("--data-dir", default=None, help="graphrec's data root (--data-dir)")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--nproc", type=int, default=2, help="processes of the DDP side (default 2)")
    p.add_argument("--repeats", type=int, default=2, help="runs of each side (default 2)")
    p.add_argument("--out", type=Path, default=RESULTS)
    return p.parse_args(argv)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def task_args(args, out: Path) -> list[str]:
    extra = ["--data-dir", args.data_dir] if args.data_dir else []
    return [
        str(ROOT / "experiments" / "run.py"), "--task", "bpr", "--dataset", args.dataset,
        *extra, "--epochs", str(args.epochs), "--patience", "0", "--threads", "1",
        "--seed", str(args.seed), "--quiet", "--out", str(out),
    ]  # fmt: skip


def run_once(args, side: str, out: Path) -> dict:
    if side == "A":
        cmd = [sys.executable, *task_args(args, out)]
    else:
        cmd = [
            sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(args.nproc),
            "--master-port", str(_free_port()), *task_args(args, out), "--backend", "gloo",
        ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{side} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    metrics = json.loads((out / "metrics.json").read_text())
    config = json.loads((out / "config.json").read_text())
    test = {
        f"{p}_{m}@10": round(metrics["test"][p][f"{m}@10"], 4)
        for p in ("sampled", "full")
        for m in ("hr", "ndcg")
    }
    return {
        "side": side,
        "world_size": config["world_size"],
        "backend": config["backend"],
        "wall_seconds": round(wall, 2),
        "fit_seconds": metrics["timing"]["fit_seconds"],
        "epoch_seconds": metrics["timing"]["epoch_seconds"],
        "median_epoch_seconds": statistics.median(metrics["timing"]["epoch_seconds"]),
        "epochs_run": metrics["training"]["epochs_run"],
        "best_epoch": metrics["training"]["best_epoch"],
        "test": test,
        "command": " ".join(["python", *cmd[1:]]),
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    from graphrec.io import package_versions

    load_start = os.getloadavg()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            for side in ("A", "B"):
                r = run_once(args, side, Path(tmp) / f"{side}{i}")
                print(
                    f"{side} (world {r['world_size']}): wall {r['wall_seconds']:.1f} s, fit "
                    f"{r['fit_seconds']:.1f} s, test {r['test']}",
                    file=sys.stderr,
                )
                runs.append(r)

    def med(side, key):
        return statistics.median(r[key] for r in runs if r["side"] == side)

    summary = {
        key: {
            "one_process": med("A", key),
            f"torchrun_{args.nproc}": med("B", key),
            "ratio_one_over_ddp": round(med("A", key) / med("B", key), 3),
        }
        for key in ("wall_seconds", "fit_seconds", "median_epoch_seconds")
    }
    result = {
        "benchmark": "bench_ddp",
        "command": " ".join([sys.executable, *sys.argv]),
        "dataset": args.dataset,
        "model": "BPRMF (its default settings; total batch the same on both sides)",
        "epochs": args.epochs,
        "seed": args.seed,
        "nproc": args.nproc,
        "backend": "gloo",
        "threads_per_process": 1,
        "order": " ".join(["A", "B"] * args.repeats),
        "cpus": os.cpu_count(),
        "load_average_start": [round(x, 2) for x in load_start],
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "note": "the machine's CPUs were shared with other jobs (other helpers' tests and "
        "runs) while this ran; times are noisy, the ratio is a median of "
        f"{args.repeats} runs per side",
        "versions": package_versions(),
        "summary": summary,
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
