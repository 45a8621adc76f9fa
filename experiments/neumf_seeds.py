#!/usr/bin/env python
"""NeuMF on ML-100K over several seeds: mean ± std of valid and test HR@10 / NDCG@10.

    python experiments/neumf_seeds.py                       # seeds 0-4, the tuned settings
    python experiments/neumf_seeds.py --preset scratch --out experiments/results/x.json
    python experiments/neumf_seeds.py --seeds 0 1 -- --factors 16 --lr 1e-3

Each seed is one ``experiments/run.py --task neumf`` run (its run folder under ``--runs``);
arguments after ``--`` replace the tuned defaults below. Settings were chosen on the valid
set only (see the ``tuning`` note in the results file); test is reported, never used to choose.
Writes ``experiments/results/neumf_5seeds.json``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "experiments"))

#: chosen on valid NDCG@10 (sampled) only; see TUNING_NOTE
TUNED = [
    "--factors", "32", "--mlp-embedding-dim", "32", "--layers", "64", "32", "16",
    "--batch-size", "4096", "--lr", "5e-3", "--weight-decay", "1e-5", "--negatives", "4",
    "--pretrain", "--pretrain-epochs", "30", "--finetune-lr", "1e-3", "--alpha", "0.5",
    "--epochs", "20", "--patience", "5",
]  # fmt: skip
#: the fast from-scratch settings of experiments/bench_neumf.py (no pretraining)
SCRATCH = [
    "--factors", "32", "--mlp-embedding-dim", "32", "--layers", "64", "32", "16",
    "--batch-size", "4096", "--lr", "1e-2", "--lr-decay", "0.8", "--weight-decay", "3e-6",
    "--negatives", "4", "--epochs", "20", "--patience", "5",
]  # fmt: skip
PRESETS = {"pretrained": TUNED, "scratch": SCRATCH}
TUNING_NOTE = (
    "selected on valid NDCG@10 (sampled 1+99) only, mostly seed 0 (some seeds 1-3), 32-d "
    "RecBole-shaped NeuMF: from scratch, weight decay 0 / 1e-6 / 3e-6 / 1e-5 / 1e-4 -> valid "
    "~.404 (wd 0, seeds 0-2) vs ~.412 (wd 1e-5); negatives 4 / 6 / 8, batch 2048-16384 with lr "
    "2e-3..2e-2 and per-epoch lr decay 0.7-0.85, dropout 0.1 / 0.2, factors 64: all within "
    "~.40-.42. GMF+MLP pretraining (30 epochs each, wd 1e-5) then NeuMF at lr 1e-3: valid .427 "
    "(seeds 0 and 1; fine-tune lr 5e-4 / 2e-3 gave .4285 / .4233); short pretraining (GMF 10-15, "
    "MLP 2-5 epochs) only .40-.413"
)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    extra: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1 :]
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--runs", default=str(ROOT / "runs" / "neumf_seeds"), help="run folders")
    p.add_argument("--out", default=str(ROOT / "experiments" / "results" / "neumf_5seeds.json"))
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default="pretrained",
        help="pretrained (default, best valid) or scratch (the benchmark's settings)",
    )
    a = p.parse_args(argv)

    import run as runner
    import torch

    from graphrec.io import package_versions, read_json, write_json

    torch.set_num_threads(a.threads)
    task_args = PRESETS[a.preset] + extra
    per_seed = []
    for seed in a.seeds:
        out = Path(a.runs) / f"seed-{seed}"
        cmd = ["--task", "neumf", *task_args, "--seed", str(seed), "--out", str(out), "--quiet"]
        cmd += ["--threads", str(a.threads)]
        print("[neumf_seeds] experiments/run.py " + " ".join(cmd), file=sys.stderr)
        t0 = time.perf_counter()
        rc = runner.main(cmd)
        if rc != 0:
            raise SystemExit(f"seed {seed} failed (exit {rc})")
        m = read_json(out / "metrics.json")
        row = {
            "seed": seed,
            "run": str(out),
            "wall_seconds": round(time.perf_counter() - t0, 1),
            "best_epoch": m["training"]["best_epoch"],
            "train_seconds": m["timing"]["train_seconds"],
        }
        for stage in ("valid", "test"):
            for proto in ("sampled", "full"):
                for k in ("hr@10", "ndcg@10"):
                    row[f"{stage}_{proto}_{k}"] = m[stage][proto][k]
        per_seed.append(row)
        print(
            f"[neumf_seeds] seed {seed}: valid sampled NDCG@10 "
            f"{row['valid_sampled_ndcg@10']:.4f}, test sampled HR@10 "
            f"{row['test_sampled_hr@10']:.4f} NDCG@10 {row['test_sampled_ndcg@10']:.4f} "
            f"(best epoch {row['best_epoch']}, {row['wall_seconds']:.0f}s)",
            file=sys.stderr,
        )

    keys = [k for k in per_seed[0] if k.startswith(("valid_", "test_"))]
    summary = {}
    for k in keys:
        vals = [r[k] for r in per_seed]
        summary[k] = {
            "mean": statistics.fmean(vals),
            "std": statistics.stdev(vals) if len(vals) > 1 else 0.0,
        }
    targets = {"test_sampled_hr@10": 0.68, "test_sampled_ndcg@10": 0.40}
    result = {
        "what": "NeuMF on ML-100K, temporal leave-one-out; sampled = 1 held-out + 99 "
        "never-rated negatives (drawn with the run's seed); full = all movies minus train "
        "(and, for test, the valid movie); best valid NDCG@10 (sampled) epoch restored",
        "command": "experiments/run.py --task neumf " + " ".join(task_args) + " --seed S",
        "preset": a.preset,
        "tuning": TUNING_NOTE,
        "seeds": a.seeds,
        "threads": a.threads,
        "mean_std": summary,
        "targets": {k: {"target": v, "met": summary[k]["mean"] >= v} for k, v in targets.items()},
        "recbole_reference": {
            "valid_hr@10": 0.683,
            "valid_ndcg@10": 0.413,
            "test_hr@10": 0.647,
            "test_ndcg@10": 0.374,
            "protocol": "uni100 (1 + 100 negatives), seed 2020, no pretraining",
        },
        "per_seed": per_seed,
        "versions": package_versions(),
    }
    write_json(a.out, result)
    print(f"{'metric':24s} {'mean':>7s} {'std':>7s}")
    for k in keys:
        print(f"{k:24s} {summary[k]['mean']:7.4f} {summary[k]['std']:7.4f}")
    for k, t in result["targets"].items():
        print(f"target {k} >= {t['target']}: {'met' if t['met'] else 'NOT met'}")
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
