#!/usr/bin/env python
"""Check HeteroGNN's defaults on ML-100K's valid stage: one setting changed at a time.

Each row is ``HeteroGNN`` built by :func:`graphrec.presets.build_model` with its defaults and
one constructor or training setting changed, trained by its own ``fit`` (seed 0, one thread,
early stopping on valid sampled NDCG@10 with the best weights restored). Selection uses only
the **valid** stage (sampled NDCG@10, 99 negatives, seed 0); test numbers are not computed.
``--part I --parts N`` runs every N-th row (to use several cores); ``--merge`` joins the part
files into ``experiments/results/tune_hetero_gnn.json`` with the chosen row.

    python experiments/studies/tune_hetero_gnn.py --part 0 --parts 2 &
    python experiments/studies/tune_hetero_gnn.py --part 1 --parts 2
    python experiments/studies/tune_hetero_gnn.py --merge
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "results"
OUT = RESULTS / "tune_hetero_gnn.json"

#: (constructor changes, training changes); the first row is the defaults
GRID: list[tuple[dict, dict]] = [
    ({}, {}),
    ({"reg": 1e-5}, {}),
    ({"reg": 1e-3}, {}),
    ({"cold_dropout": 0.0}, {}),
    ({"cold_dropout": 0.3}, {}),
    ({"num_layers": 1}, {}),
    ({"num_layers": 3}, {}),
    ({}, {"lr": 1e-2}),
    ({}, {"lr": 2e-3}),
    ({"embedding_dim": 32}, {}),
]


def run_part(part: int, parts: int) -> None:
    import torch

    from graphrec.data import load_movielens, temporal_split
    from graphrec.evaluate import evaluate
    from graphrec.presets import build_model
    from graphrec.train import TrainConfig

    torch.set_num_threads(1)
    data = load_movielens("ml-100k", verbose=False)
    split = temporal_split(data)
    rows = []
    for i, (model_kw, train_kw) in enumerate(GRID):
        if i % parts != part:
            continue
        t0 = time.perf_counter()
        model = build_model("HeteroGNN", split, data, seed=0, **model_kw)
        model.fit(split, TrainConfig(seed=0, threads=1, progress=False, **train_kw))
        row = {
            "row": i,
            "model": model_kw,
            "training": train_kw,
            "fit_seconds": round(time.perf_counter() - t0, 1),
            "epochs_run": len(model.history.epochs),
            "best_epoch": model.history.best_epoch,
        }
        for p in ("sampled", "full"):
            m = evaluate(model, split, "valid", p, k=10, seed=0)
            row[f"valid_{p}_ndcg@10"] = round(m["ndcg@10"], 4)
            row[f"valid_{p}_hr@10"] = round(m["hr@10"], 4)
        rows.append(row)
        print(row, flush=True)
    path = OUT.with_name(f"tune_hetero_gnn.part{part}.json")
    path.write_text(json.dumps({"command": " ".join(sys.argv), "rows": rows}, indent=2) + "\n")


def merge() -> None:
    from graphrec.runs import package_versions

    parts = sorted(OUT.parent.glob("tune_hetero_gnn.part*.json"))
    rows = sorted(
        (r for p in parts for r in json.loads(p.read_text())["rows"]), key=lambda r: r["row"]
    )
    if not rows:
        raise SystemExit("error: no part files; run --part I --parts N first")
    key = "valid_sampled_ndcg@10"
    best = max(rows, key=lambda r: r[key])
    out = {
        "command": "python experiments/studies/tune_hetero_gnn.py --part I --parts 2, then --merge",
        "dataset": "ml-100k",
        "selection": "valid sampled NDCG@10 (99 negatives, seed 0); test not computed",
        "grid": [{"model": m, "training": t} for m, t in GRID],
        "rows": rows,
        "defaults_row": rows[0] if rows[0]["row"] == 0 else None,
        "best_row": best,
        "versions": package_versions(),
    }
    OUT.write_text(json.dumps(out, indent=2) + "\n")
    for p in parts:
        p.unlink()
    print(f"best: {best}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--part", type=int, default=0)
    p.add_argument("--parts", type=int, default=1)
    p.add_argument("--merge", action="store_true")
    a = p.parse_args()
    if a.merge:
        merge()
    else:
        run_part(a.part, a.parts)


if __name__ == "__main__":
    main()
