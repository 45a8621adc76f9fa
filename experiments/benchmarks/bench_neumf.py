#!/usr/bin/env python
"""Benchmark: RecBole 1.2.1's NeuMF against graphrec's, on the same machine, in one run.

    python experiments/benchmarks/bench_neumf.py                  # peer, then ours
    python experiments/benchmarks/bench_neumf.py --skip-peer      # ours alone
    python experiments/benchmarks/bench_neumf.py --peer-python ~/venvs/recbole/bin/python

Protocol (both sides): ML-100K, every rating a positive, temporal leave-one-out (last rating
per user -> test, second to last -> valid), 4 training negatives per positive, validation
every epoch on HR@10 / NDCG@10 under the sampled protocol (RecBole: 1 + 100 negatives,
``uni100``; graphrec: 1 + 99), best valid NDCG@10 epoch kept for test.

1. **RecBole** (``experiments/benchmarks/peers/recbole_run.py`` in its own venv, made by
   ``experiments/benchmarks/peers/setup_recbole_env.sh``; its python from ``--peer-python`` or
   ``$RECBOLE_PYTHON``): 32-d GMF and MLP embeddings, MLP 64-32-16, batch 256, Adam lr 1e-3,
   ``--peer-epochs`` epochs (default 20, no early stopping).
2. **graphrec, same settings** for ``--same-epochs`` epochs (default 3): the per-epoch time of
   the same computation in both frameworks.
3. **graphrec, its defaults**: ``build_model("NeuMF", split, seed=s)`` then
   ``model.fit(split, TrainConfig(seed=s, threads=...))``, i.e. NeuMF's own settings, early
   stopping included (``--model-args`` / ``--train-args`` change them for an experiment), once
   per ``--seeds`` (default 0 1 2): per-epoch time and **time to quality**: our wall time
   (training + validation since the start of ``fit``) until valid NDCG@10 first reaches
   RecBole's best valid NDCG@10, against RecBole's wall time (training + validation) up to its
   best epoch. The headline ratio is the median over our seeds (a seed that never gets there
   counts as infinitely slow), since one seed's valid NDCG@10 moves by about +-0.005.

Both sides run with the same number of torch threads (``--threads``, default 1: on a busy
2-core machine two OpenMP threads per process can stall for a second per step). Results go to
``experiments/results/bench_neumf.json`` and a table is printed. The machine may be shared with
other jobs: the load average at start and end is recorded, and timings are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXPERIMENTS = Path(__file__).resolve().parents[1]
PEER_SCRIPT = Path(__file__).resolve().parent / "peers" / "recbole_run.py"
PEER_ENV = "RECBOLE_PYTHON"
PEER = {"batch_size": 256, "lr": 1e-3, "embedding_size": 32, "mlp_hidden": [64, 32, 16], "neg": 4}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[0, 1, 2],
        help="our seeds (default 0 1 2); the time to quality is their median",
    )
    p.add_argument("--peer-seed", type=int, default=2020, help="RecBole's seed (default 2020)")
    p.add_argument("--peer-epochs", type=int, default=20)
    p.add_argument(
        "--peer-python",
        default=os.environ.get(PEER_ENV),
        help=f"python of the RecBole environment (default: ${PEER_ENV})",
    )
    p.add_argument("--skip-peer", action="store_true", help="run ours alone")
    p.add_argument(
        "--peer-json",
        default=None,
        help="reuse this recbole_run.py result instead of running the peer (the "
        "comparison is then not from one run; recorded as such)",
    )
    p.add_argument(
        "--same-epochs",
        type=int,
        default=3,
        help="epochs of ours at the peer's settings (timing only; 0 skips)",
    )
    p.add_argument(
        "--model-args",
        type=json.loads,
        default={},
        metavar="JSON",
        help="NeuMF constructor arguments to change for ours (default: none, NeuMF's "
        "defaults), e.g. '{\"embedding_dim\": 16}'",
    )
    p.add_argument(
        "--train-args",
        type=json.loads,
        default={},
        metavar="JSON",
        help="TrainConfig fields to change for ours (default: none, NeuMF's defaults), "
        "e.g. '{\"lr\": 5e-3}'",
    )
    p.add_argument("--threads", type=int, default=1, help="torch threads, both sides")
    p.add_argument("--out", default=str(EXPERIMENTS / "results" / "bench_neumf.json"))
    return p.parse_args(argv)


def loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def run_peer(a) -> dict:
    """RecBole's run as recorded by recbole_run.py, or {"error": ...}."""
    if a.peer_json:
        data = json.loads(Path(a.peer_json).read_text())
        data["reused_from"] = a.peer_json
        return data
    script = PEER_SCRIPT
    if not a.peer_python or not Path(a.peer_python).is_file():
        where = f"{a.peer_python} does not exist" if a.peer_python else "not given"
        return {
            "error": f"RecBole's python {where}: pass --peer-python or set {PEER_ENV} to the "
            "python of the venv made by experiments/benchmarks/peers/setup_recbole_env.sh"
        }
    if not script.is_file():
        return {"error": f"{script} is missing"}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "peer.json"
        cmd = [
            a.peer_python,
            str(script),
            "--model",
            "NeuMF",
            "--epochs",
            str(a.peer_epochs),
            "--seed",
            str(a.peer_seed),
            "--batch-size",
            str(PEER["batch_size"]),
            "--lr",
            str(PEER["lr"]),
            "--embedding-size",
            str(PEER["embedding_size"]),
            "--mlp-hidden",
            *map(str, PEER["mlp_hidden"]),
            "--neg",
            str(PEER["neg"]),
            "--protocol",
            "sampled",
            "--threads",
            str(a.threads),
            "--out",
            str(out),
        ]
        print("[bench] peer:", " ".join(cmd), file=sys.stderr)
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if proc.returncode != 0 or not out.is_file():
            return {
                "error": f"recbole_run.py failed (exit {proc.returncode}): "
                f"{proc.stderr.strip()[-800:]}",
                "command": cmd,
            }
        data = json.loads(out.read_text())
    data["command"] = cmd
    data["process_wall_seconds"] = round(wall, 2)
    return data


def run_ours(split, seed: int, threads: int, model_args: dict, train_args: dict, evaluate_test):
    """Train graphrec's NeuMF (its defaults, changed by ``model_args`` / ``train_args``);
    returns (record, history)."""
    from graphrec.evaluate import evaluate
    from graphrec.presets import build_model
    from graphrec.train import TrainConfig

    model = build_model("NeuMF", split, seed=seed, **model_args)
    cfg = TrainConfig(seed=seed, threads=threads, progress=False).replace(**train_args)
    model.fit(split, cfg)
    h = model.history
    out = {
        "config": {"model": model.hparams, "train": h.config},
        "epochs": [
            {k: (round(v, 5) if isinstance(v, float) else v) for k, v in e.items()}
            for e in h.epochs
        ],
        "summary": {
            "epochs_run": len(h.epochs),
            "train_seconds_median": statistics.median(h.epoch_seconds),
            "valid_seconds_median": statistics.median(h.eval_seconds),
            "fit_seconds": h.train_seconds,
            "best_valid_epoch": h.best_epoch,
            "best_valid_hit@10": h.epochs[h.best_epoch - 1]["valid_hr@10"],
            "best_valid_ndcg@10": h.best_score,
        },
    }
    if evaluate_test:
        for proto in ("sampled", "full"):
            m = evaluate(model, split, "test", proto, seed=seed)
            out["summary"][f"test_{proto}_hit@10"] = m["hr@10"]
            out["summary"][f"test_{proto}_ndcg@10"] = m["ndcg@10"]
    return out, h


def main(argv=None) -> int:
    a = parse_args(argv)
    import torch

    from graphrec.data import load_movielens, temporal_split
    from graphrec.io import package_versions, write_json

    torch.set_num_threads(a.threads)
    result: dict = {
        "benchmark": "NeuMF on ML-100K, temporal leave-one-out, sampled protocol",
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": {
            "cpu_count": os.cpu_count(),
            "torch_threads": a.threads,
            "loadavg_start": loadavg(),
        },
        "versions": package_versions(),
        "note": "shared 2-core machine: other jobs may run at the same time; timings are "
        "noisy (see loadavg_start / loadavg_end)",
    }
    peer = None
    if not a.skip_peer:
        peer = run_peer(a)
        if "error" in peer:
            print(f"[bench] RecBole peer could not run: {peer['error']}", file=sys.stderr)
        result["recbole"] = peer
    split = temporal_split(load_movielens("ml-100k", verbose=False))
    if a.same_epochs > 0:
        same_model = {
            "embedding_dim": PEER["embedding_size"],
            "mlp_embedding_dim": PEER["embedding_size"],
            "layers": PEER["mlp_hidden"],
        }
        same_train = {
            "batch_size": PEER["batch_size"],
            "lr": PEER["lr"],
            "lr_decay": 1.0,
            "num_negatives": PEER["neg"],
            "weight_decay": 0.0,
            "epochs": a.same_epochs,
            "patience": 0,
        }
        print(f"[bench] ours, RecBole's settings: {same_model} {same_train}", file=sys.stderr)
        same, _ = run_ours(split, a.seeds[0], a.threads, same_model, same_train, False)
        result["ours_same_settings"] = same
    ok_peer = peer is not None and "error" not in peer
    target = peer["summary"]["best_valid_ndcg@10"] if ok_peer else None
    runs = []
    for seed in a.seeds:
        changes = (
            f"changed by {a.model_args} {a.train_args}" if a.model_args or a.train_args else ""
        )
        print(f"[bench] ours, seed {seed}: NeuMF's defaults {changes}", file=sys.stderr)
        rec, hist = run_ours(split, seed, a.threads, a.model_args, a.train_args, True)
        if target is not None:
            ttq = hist.time_to("valid_ndcg@10", target)
            rec["summary"]["seconds_to_target"] = ttq
            rec["summary"]["epoch_reaching_target"] = next(
                (e["epoch"] for e in hist.epochs if e["valid_ndcg@10"] >= target), None
            )
        runs.append(rec)
    result["ours"] = runs
    result["machine"]["loadavg_end"] = loadavg()

    cmp: dict = {}
    if ok_peer:
        ps = peer["summary"]
        best_ep = ps["best_valid_epoch"]
        peer_ttq = sum(
            e["train_seconds"] + e.get("valid_seconds", 0.0) for e in peer["epochs"][:best_ep]
        )
        ours_epoch = statistics.median(r["summary"]["train_seconds_median"] for r in runs)
        ttqs = [r["summary"]["seconds_to_target"] for r in runs]
        # a seed that never reaches the target counts as infinitely slow
        med = statistics.median(float("inf") if t is None else t for t in ttqs)
        cmp = {
            "peer_train_seconds_per_epoch": ps["train_seconds_median"],
            "ours_train_seconds_per_epoch": ours_epoch,
            "per_epoch_speedup": ps["train_seconds_median"] / ours_epoch,
            "target_valid_ndcg@10": target,
            "peer_seconds_to_best": peer_ttq,
            "peer_best_epoch": best_ep,
            "ours_seconds_to_target_per_seed": dict(zip(a.seeds, ttqs, strict=True)),
            "ours_seeds_reaching_target": sum(t is not None for t in ttqs),
            "ours_seconds_to_target_median": None if med == float("inf") else med,
            "time_to_quality_ratio_per_seed": {
                s: (None if t is None else t / peer_ttq) for s, t in zip(a.seeds, ttqs, strict=True)
            },
            "time_to_quality_ratio_median": None if med == float("inf") else med / peer_ttq,
            "goal": "median over our seeds of seconds to target <= RecBole's seconds to best / 5",
        }
        cmp["goal_met"] = cmp["time_to_quality_ratio_median"] is not None and (
            cmp["time_to_quality_ratio_median"] <= 0.2
        )
        if "ours_same_settings" in result:
            s = result["ours_same_settings"]["summary"]["train_seconds_median"]
            cmp["ours_same_settings_train_seconds_per_epoch"] = s
            cmp["same_settings_speedup"] = ps["train_seconds_median"] / s
        if "reused_from" in peer:
            cmp["caveat"] = f"peer numbers reused from {peer['reused_from']}, not this run"
    else:
        cmp["peer"] = "not run" if peer is None else f"failed: {peer['error']}"
    result["comparison"] = cmp
    write_json(a.out, result)
    print_table(result)
    print(f"wrote {a.out}")
    return 0


def print_table(r: dict) -> None:
    rows = []
    peer = r.get("recbole")
    nan = float("nan")
    if peer and "error" not in peer:
        s = peer["summary"]
        rows.append(
            (
                "RecBole NeuMF (b256, lr1e-3)",
                s["train_seconds_median"],
                s["valid_seconds_median"],
                s["best_valid_epoch"],
                s["best_valid_hit@10"],
                s["best_valid_ndcg@10"],
                s["test_hit@10"],
                s["test_ndcg@10"],
                nan,
            )
        )
    if "ours_same_settings" in r:
        s = r["ours_same_settings"]["summary"]
        rows.append(
            (
                "graphrec NeuMF (b256, lr1e-3)",
                s["train_seconds_median"],
                s["valid_seconds_median"],
                s["best_valid_epoch"],
                s["best_valid_hit@10"],
                s["best_valid_ndcg@10"],
                nan,
                nan,
                nan,
            )
        )
    for run in r["ours"]:
        s, c = run["summary"], run["config"]["train"]
        name = f"graphrec NeuMF (b{c['batch_size']}, lr{c['lr']:g}) s{c['seed']}"
        ttq = s.get("seconds_to_target")
        rows.append(
            (
                name,
                s["train_seconds_median"],
                s["valid_seconds_median"],
                s["best_valid_epoch"],
                s["best_valid_hit@10"],
                s["best_valid_ndcg@10"],
                s["test_sampled_hit@10"],
                s["test_sampled_ndcg@10"],
                nan if ttq is None else ttq,
            )
        )
    head = (
        f"{'run':48s} {'train s/ep':>10s} {'valid s':>8s} {'best ep':>7s} {'vHR@10':>7s} "
        f"{'vNDCG@10':>8s} {'tHR@10':>7s} {'tNDCG@10':>8s} {'s->target':>9s}"
    )
    print(head)
    print("-" * len(head))
    for name, tr, va, be, vh, vn, th, tn, tt in rows:
        print(
            f"{name:48s} {tr:10.3f} {va:8.3f} {be:7d} {vh:7.4f} {vn:8.4f} {th:7.4f} "
            f"{tn:8.4f} {tt:9.2f}"
        )
    c = r["comparison"]
    if "per_epoch_speedup" in c:
        print(
            f"\nper-epoch train time: RecBole {c['peer_train_seconds_per_epoch']:.2f}s, ours "
            f"{c['ours_train_seconds_per_epoch']:.2f}s -> {c['per_epoch_speedup']:.1f}x faster"
        )
        if "same_settings_speedup" in c:
            print(
                f"same settings (b256, lr1e-3): ours "
                f"{c['ours_same_settings_train_seconds_per_epoch']:.2f}s/epoch -> "
                f"{c['same_settings_speedup']:.1f}x faster"
            )
        ratios = ", ".join(
            f"seed {k}: " + ("never" if v is None else f"{v:.3f}")
            for k, v in c["time_to_quality_ratio_per_seed"].items()
        )
        med = c["time_to_quality_ratio_median"]
        print(
            f"time to RecBole's best valid NDCG@10 ({c['target_valid_ndcg@10']:.4f}): RecBole "
            f"{c['peer_seconds_to_best']:.1f}s (epoch {c['peer_best_epoch']}); ours/RecBole "
            f"{ratios}; median "
            + ("never" if med is None else f"{med:.3f}")
            + f" (goal <= 0.2: {'met' if c['goal_met'] else 'NOT met'})"
        )
    else:
        print(f"\nRecBole: {c.get('peer')}; ours reported alone")
    print(
        f"load average start {r['machine']['loadavg_start']} end {r['machine']['loadavg_end']}"
        " (shared machine: timings are noisy)"
    )


if __name__ == "__main__":
    sys.exit(main())
