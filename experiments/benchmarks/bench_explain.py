#!/usr/bin/env python
"""Explanation speed: seconds to explain one feature-MLP prediction with each method.

On ML-100K, a FeatureMLP (rating objective, id embeddings on; ``--run DIR`` to use a model
trained by ``--task features``, else a quick 3-epoch one is trained here) is explained for
``--edges`` held-out test edges, one edge per call, ``--repeats`` times each, with every
method of :mod:`graphrec.explain` at its default settings (IntegratedGradients 50 steps,
GradientShap 50 draws, Kernel SHAP 1024 coalitions on 64 background rows, LIME 2000
samples). The first call of each method (imports, Captum hooks, numba) is timed apart.
Also timed: all methods together for one prediction, and each method's cost per edge when
``--global-edges`` edges are explained in one batch (the global view).

Writes ``experiments/results/bench_explain.json`` (config, machine, versions, numbers).

    python experiments/benchmarks/bench_explain.py
    python experiments/benchmarks/bench_explain.py --run runs/features/ml100k-rating --threads 2
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", default=None, help="features run folder (default: train one)")
    parser.add_argument("--edges", type=int, default=5, help="test edges timed (default 5)")
    parser.add_argument("--repeats", type=int, default=3, help="calls per edge (default 3)")
    parser.add_argument(
        "--global-edges",
        type=int,
        default=50,
        help="edges of the batched global timing (default 50; 0 skips)",
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's choice)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(RESULTS / "bench_explain.json"))
    args = parser.parse_args(argv)

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from graphrec.data import load_movielens, temporal_split
    from graphrec.explain import ID_METHOD, METHODS, Explainer
    from graphrec.io import package_versions, write_json
    from graphrec.models.base import Recommender
    from graphrec.models.feature_mlp import FeatureMLP
    from graphrec.train import TrainConfig

    data = load_movielens("ml-100k", verbose=False)
    split = temporal_split(data)
    if args.run:
        folder = Path(args.run)
        model = Recommender.load(folder / "model" if (folder / "model").is_dir() else folder)
        trained = {"run": str(args.run)}
    else:
        model = FeatureMLP.from_graph(data, seed=args.seed)
        t0 = time.perf_counter()
        cfg = TrainConfig(epochs=3, batch_size=2048, lr=3e-3, seed=args.seed, progress=False)
        model.fit(split, cfg)
        trained = {"epochs": 3, "train_seconds": round(time.perf_counter() - t0, 2)}
        trained.update({k: round(v, 4) for k, v in model.rating_metrics(split).items()})
    model.eval()
    explainer = Explainer(model, split.train, seed=args.seed)
    methods = [*METHODS, ID_METHOD]
    users, movies = split.test[0, : args.edges], split.test[1, : args.edges]
    load = os.getloadavg()

    first, per_call = {}, {}
    for method in methods:
        t0 = time.perf_counter()
        explainer.explain(int(users[0]), int(movies[0]), [method])
        first[method] = time.perf_counter() - t0
        times = []
        for u, m in zip(users.tolist(), movies.tolist(), strict=True):
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                explainer.explain(u, m, [method])
                times.append(time.perf_counter() - t0)
        per_call[method] = {
            "median": statistics.median(times),
            "min": min(times),
            "max": max(times),
            "calls": len(times),
        }
        print(
            f"{method:26s} median {per_call[method]['median'] * 1e3:8.1f} ms "
            f"(first call {first[method]:.2f} s)",
            flush=True,
        )
    together = []
    for u, m in zip(users.tolist(), movies.tolist(), strict=True):
        t0 = time.perf_counter()
        explainer.explain(u, m, methods)
        together.append(time.perf_counter() - t0)
    print(f"{'all methods, one prediction':26s} median {statistics.median(together):.3f} s")
    batched = {}
    if args.global_edges > 0:
        att = explainer.explain_edges(split.test, methods, sample=args.global_edges, progress=False)
        batched = {m: s / len(att) for m, s in att.seconds.items()}
        for m, s in batched.items():
            print(f"{m:26s} {s * 1e3:8.1f} ms per edge in a batch of {len(att)}")
    result = {
        "benchmark": "explain one FeatureMLP prediction on ML-100K",
        "config": vars(args),
        "model": {k: model.hparams[k] for k in ("use_ids", "embedding_dim", "layers", "objective")},
        "trained": trained,
        "settings": {
            "IntegratedGradients_steps": explainer.n_steps,
            "GradientShap_samples": explainer.gradient_shap_samples,
            "SHAP": f"KernelExplainer, {explainer.shap_nsamples} coalitions, "
            f"{explainer.background.size(0)} background rows",
            "LIME": f"LimeTabularExplainer, {explainer.lime_samples} samples",
            "variables": len(explainer.space),
            "columns": len(explainer.space.column_names),
        },
        "machine": {
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "load_average_at_start": [round(x, 2) for x in load],
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        },
        "versions": package_versions(),
        "seconds_per_prediction": {m: round(v["median"], 5) for m, v in per_call.items()},
        "per_call": {
            m: {k: round(v, 5) if isinstance(v, float) else v for k, v in d.items()}
            for m, d in per_call.items()
        },
        "first_call_seconds": {m: round(v, 3) for m, v in first.items()},
        "all_methods_one_prediction_seconds": {
            "median": round(statistics.median(together), 4),
            "max": round(max(together), 4),
        },
        "batched_seconds_per_edge": {m: round(v, 5) for m, v in batched.items()},
    }
    write_json(args.out, result)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
