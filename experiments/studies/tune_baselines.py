#!/usr/bin/env python
"""Choose EASE's ``l2`` and ItemKNN's ``neighbours`` (and ``shrink``) on ML-100K by numbers.

Each grid row is the class built with one setting changed, fitted in closed form on the
temporal split's train stage. Selection uses only the **valid** stage (sampled NDCG@10, 99
sampled negatives, seed 0); the test numbers are reported beside them but never used to
choose. Writes ``experiments/results/tune_baselines.json`` (the command, the grid, every
row's numbers and the chosen settings).

    python experiments/studies/tune_baselines.py
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "results"

GRID = {
    "EASE": [{"l2": v} for v in (10.0, 50.0, 100.0, 200.0, 400.0, 800.0, 1600.0, 3200.0)],
    "ItemKNN": [
        {"neighbours": k, "shrink": s}
        for s in (0.0, 10.0)
        for k in (10, 25, 50, 100, 200, 400, None)
    ],
}


def main() -> None:
    import torch

    from graphrec.data import load_movielens, temporal_split
    from graphrec.evaluate import evaluate
    from graphrec.models import EASE, ItemKNN

    torch.set_num_threads(1)
    split = temporal_split(load_movielens("ml-100k"))
    classes = {"EASE": EASE, "ItemKNN": ItemKNN}
    rows, best = [], {}
    for name, grid in GRID.items():
        for setting in grid:
            t0 = time.perf_counter()
            model = classes[name](split.num_users, split.num_movies, **setting).fit(split)
            fit_s = time.perf_counter() - t0
            row = {"model": name, **setting, "fit_seconds": round(fit_s, 2)}
            for stage in ("valid", "test"):
                m = evaluate(model, split, stage, "sampled", k=10, seed=0)
                row[f"{stage}_sampled_ndcg@10"] = round(m["ndcg@10"], 4)
                row[f"{stage}_sampled_hr@10"] = round(m["hr@10"], 4)
            full = evaluate(model, split, "valid", "full", k=10, seed=0)
            row["valid_full_ndcg@10"] = round(full["ndcg@10"], 4)
            rows.append(row)
            print(row, flush=True)
            key = "valid_sampled_ndcg@10"
            if name not in best or row[key] > best[name][key]:
                best[name] = row
    out = {
        "command": "python " + " ".join(["experiments/studies/tune_baselines.py", *sys.argv[1:]]),
        "dataset": "ml-100k",
        "selection": "valid sampled NDCG@10 (99 negatives, seed 0); test shown, never used",
        "grid": GRID,
        "rows": rows,
        "chosen": {
            name: {k: v for k, v in r.items() if k in GRID[name][0]} for name, r in best.items()
        },
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "tune_baselines.json").write_text(json.dumps(out, indent=2) + "\n")
    print("chosen:", out["chosen"])


if __name__ == "__main__":
    main()
