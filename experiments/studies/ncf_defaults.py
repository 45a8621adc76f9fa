#!/usr/bin/env python
"""Study: the NCF models' defaults against the other settings graphrec used before, on valid.

    python experiments/studies/ncf_defaults.py [--seeds 0 1 2] [--threads 1]

Before the library redesign GMF, MLP and NeuMF had two sets of settings: the benchmark's (32
predictive factors, batch 4096, Adam lr 5e-3, 4 negatives, weight decay 0, 30 epochs, patience
5) and the command line's (the same but weight decay 1e-5); NeuMF's defaults are now the
settings of the NeuMF benchmark against RecBole (lr 1e-2 decayed by .8 per epoch, weight decay
3e-6, 32-d GMF and MLP embeddings, MLP 64-32-16, 20 epochs). Each row trains one model per seed
on ML-100K and reports its best valid NDCG@10 (sampled, 1 + 99; the epoch chosen and restored)
and HR@10. Only the valid stage is read: this is how the defaults are checked, never the test.
Writes ``experiments/results/ncf_defaults.json``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "results"

#: (row, model, constructor arguments, TrainConfig fields); "defaults" rows pass nothing
ROWS = [
    ("GMF, weight decay 0 (old benchmark)", "GMF", {}, {"weight_decay": 0.0}),
    ("GMF, weight decay 1e-5 (old CLI)", "GMF", {}, {"weight_decay": 1e-5}),
    ("MLP, weight decay 0 (old benchmark)", "MLP", {}, {"weight_decay": 0.0}),
    ("MLP, weight decay 1e-5 (old CLI)", "MLP", {}, {"weight_decay": 1e-5}),
    ("NeuMF defaults", "NeuMF", {}, {}),
    (
        "NeuMF, old benchmark settings",
        "NeuMF",
        {"embedding_dim": 32, "mlp_embedding_dim": 64},
        {"lr": 5e-3, "lr_decay": 1.0, "weight_decay": 0.0, "epochs": 30},
    ),
    (
        "NeuMF, old CLI settings",
        "NeuMF",
        {"embedding_dim": 32, "mlp_embedding_dim": 64},
        {"lr": 5e-3, "lr_decay": 1.0, "weight_decay": 1e-5, "epochs": 30},
    ),
]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--only", nargs="+", default=None, help="rows whose name starts with these")
    p.add_argument("--out", default=str(RESULTS / "ncf_defaults.json"))
    args = p.parse_args(argv)

    from graphrec.data import load_movielens, temporal_split
    from graphrec.io import package_versions, write_json
    from graphrec.presets import build_model
    from graphrec.train import TrainConfig

    split = temporal_split(load_movielens("ml-100k", verbose=False))
    rows = []
    for name, model_name, kwargs, train in ROWS:
        if args.only and not any(name.startswith(o) for o in args.only):
            continue
        per_seed = []
        for seed in args.seeds:
            model = build_model(model_name, split, seed=seed, **kwargs)
            t0 = time.perf_counter()
            model.fit(split, TrainConfig(seed=seed, threads=args.threads, progress=False, **train))
            h = model.history
            best = h.epochs[h.best_epoch - 1]
            per_seed.append(
                {
                    "seed": seed,
                    "valid_ndcg@10": best["valid_ndcg@10"],
                    "valid_hr@10": best["valid_hr@10"],
                    "best_epoch": h.best_epoch,
                    "epochs_run": len(h.epochs),
                    "seconds": round(time.perf_counter() - t0, 2),
                }
            )
        ndcg = [r["valid_ndcg@10"] for r in per_seed]
        row = {
            "row": name,
            "model": model_name,
            "model_args": kwargs,
            "train": train,
            "resolved": h.config,
            "hparams": {
                k: v for k, v in model.hparams.items() if k not in ("num_users", "num_movies")
            },
            "valid_ndcg@10_mean": statistics.mean(ndcg),
            "per_seed": per_seed,
        }
        rows.append(row)
        print(
            f"{name:40s} valid NDCG@10 {row['valid_ndcg@10_mean']:.4f}  "
            + " ".join(f"{x:.4f}" for x in ndcg)
        )
    write_json(
        args.out,
        {
            "command": "python experiments/studies/ncf_defaults.py "
            + " ".join(sys.argv[1:] if argv is None else argv),
            "protocol": "valid, sampled (1 + 99), best epoch restored",
            "seeds": args.seeds,
            "rows": rows,
            "versions": package_versions(),
        },
    )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
