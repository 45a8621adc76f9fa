#!/usr/bin/env python
"""Recommendation speed from saved runs: top 10 with reasons, fold-in, the whole command.

    python experiments/benchmarks/bench_recommend.py --runs RUNS_DIR [--models neumf ...]

For each run folder of ``RUNS_DIR`` (one per model, written by its training task), on one
thread as ``--task recommend`` runs:

- ``load_ms``: ``Recommender.load`` of its ``model/`` (median of 3);
- ``top10_with_reasons_ms``: the top 10 of raw user 196 with its reasons from the loaded model
  (:func:`graphrec.explain.recommendations.recommend_with_reasons`; median of ``--repeats``
  after two warm-up calls); for the feature MLP with its attributions and, apart, without them;
- ``fold_in_ms``: folding in user 196's train movies as a new user (median of 5);
- ``command_user_s`` / ``command_liked_s``: wall seconds of the whole command,
  ``experiments/run.py --task recommend --run DIR --user 196`` and the same with ``--liked``
  and the titles of user 196's train movies (median of 3 each; Python start-up, imports,
  loading and writing included).

The machine's load average is recorded beside the numbers (the machines are shared). Writes
``experiments/results/bench_recommend.json``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "experiments" / "results"


def _median_ms(fn, repeats: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return round(1000 * statistics.median(times), 2)


def _command_s(args: list[str], repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            proc = subprocess.run(
                [
                    sys.executable,
                    str(ROOT / "experiments" / "run.py"),
                    *args,
                    "--quiet",
                    "--out",
                    str(Path(tmp) / "out"),
                ],  # fmt: skip
                capture_output=True,
                text=True,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
            times.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            raise SystemExit(f"error: {' '.join(args)} failed: {proc.stderr.strip()}")
    return round(statistics.median(times), 3)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", required=True, help="folder of run folders, one per model")
    p.add_argument("--models", nargs="+", default=None, help="run folder names (default: all)")
    p.add_argument("--repeats", type=int, default=20, help="timed calls (default 20)")
    p.add_argument("--out", default=str(RESULTS / "bench_recommend.json"))
    args = p.parse_args(argv)

    import torch

    import graphrec.models  # noqa: F401
    from graphrec.explain.recommendations import recommend_with_reasons
    from graphrec.io import package_versions, write_json
    from graphrec.models.base import Recommender
    from graphrec.models.feature_mlp import FeatureMLP

    torch.set_num_threads(1)
    runs = Path(args.runs)
    names = args.models or sorted(d.name for d in runs.iterdir() if (d / "model").is_dir())
    load_before = [round(x, 2) for x in os.getloadavg()]
    rows = []
    for name in names:
        folder = runs / name
        t_load = []
        for _ in range(3):
            t0 = time.perf_counter()
            model = Recommender.load(folder / "model")
            t_load.append(time.perf_counter() - t0)
        ids = model.ids
        u = ids.user_index(196)
        profile = model.seen_movies[model.seen_ptr[u] : model.seen_ptr[u + 1]]
        with torch.no_grad():
            vector = model.user_vectors([u])
        row = {"run": name, "model": type(model).__name__, "profile": int(profile.numel())}
        row["load_ms"] = round(1000 * statistics.median(t_load), 2)
        row["top10_with_reasons_ms"] = _median_ms(
            lambda m=model, v=vector, pr=profile: recommend_with_reasons(m, v, pr, 10, exclude=pr),
            args.repeats,
        )
        if isinstance(model, FeatureMLP):
            row["top10_with_movie_reasons_only_ms"] = _median_ms(
                lambda m=model, v=vector, pr=profile: recommend_with_reasons(
                    m, v, pr, 10, exclude=pr, features=False
                ),
                args.repeats,
            )
        row["fold_in_ms"] = _median_ms(lambda m=model, pr=profile: m.fold_in(pr), 5, warmup=1)
        titles = [ids.titles[i] for i in profile.tolist()]
        row["command_user_s"] = _command_s(["--task", "recommend", "--run", str(folder),
                                            "--user", "196"])  # fmt: skip
        row["command_liked_s"] = _command_s(["--task", "recommend", "--run", str(folder),
                                             "--liked", *titles])  # fmt: skip
        rows.append(row)
        extra = (
            f" (movie reasons only {row['top10_with_movie_reasons_only_ms']:.1f} ms)"
            if "top10_with_movie_reasons_only_ms" in row
            else ""
        )
        print(
            f"{name:10s} load {row['load_ms']:7.1f} ms  top 10 + reasons "
            f"{row['top10_with_reasons_ms']:7.1f} ms{extra}  fold-in {row['fold_in_ms']:8.1f} ms  "
            f"command --user {row['command_user_s']:.2f} s, --liked {row['command_liked_s']:.2f} s",
            flush=True,
        )
    write_json(
        args.out,
        {
            "command": " ".join(
                ["python", "experiments/benchmarks/bench_recommend.py", *sys.argv[1:]]
            ),
            "user": 196,
            "threads": 1,
            "cpus": os.cpu_count(),
            "load_average_before": load_before,
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "rows": rows,
            "versions": package_versions(),
        },
    )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
