#!/usr/bin/env python3
"""Run one RecBole 1.2.1 model on ML-100K under graphrec's benchmark protocol.

Runs INSIDE the RecBole venv made by ``setup_recbole_env.sh`` (not graphrec's venv):

    $RECBOLE_PYTHON experiments/benchmarks/peers/recbole_run.py \
        --model NeuMF --epochs 20 --seed 2020 --out experiments/results/recbole_neumf_sampled.json

Protocol (the product's): ML-100K atomic files shipped inside the recbole wheel
(``recbole/dataset_example/ml-100k``); every rating is a positive (no threshold, no
filtering); temporal leave-one-out per user (last interaction -> test, second to last ->
valid); ``sampled`` = each held-out positive ranked against 100 uniformly sampled
negatives (RecBole ``mode: uni100``), ``full`` = ranked against all items the user has
not interacted with in training (``mode: full``); Hit@10 and NDCG@10; model selection on
valid NDCG@10; no early stopping.

Per epoch it records wall seconds of ``Trainer._train_epoch`` and ``Trainer._valid_epoch``
(timed by wrapping those two methods on the trainer instance: no log parsing), the train
loss and valid Hit@10 / NDCG@10; at the end the best-valid epoch and the test metrics of
the checkpoint RecBole saved for it. Everything goes to ``--out`` as JSON.

RecBole writes ``saved/``, ``log/`` and ``log_tensorboard/`` into its working directory,
so the run happens in a temporary directory that is deleted afterwards (``--keep-workdir``
keeps it).
"""

from __future__ import annotations

import os

# RecBole's Trainer.evaluate(load_best_model=True) calls torch.load() on a checkpoint that
# pickles RecBole's Config object; torch >= 2.6 defaults to weights_only=True and refuses
# it. Must be set before torch is imported.
os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

MODELS = ("NeuMF", "BPR", "Pop", "LightGCN")
POINTWISE = {"NeuMF"}  # trained with BCE on (positive, label 1) / (negative, label 0) rows


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", choices=MODELS, required=True)
    p.add_argument("--epochs", type=int, default=20, help="ignored by Pop (RecBole: 1 epoch)")
    p.add_argument("--seed", type=int, default=2020)
    p.add_argument("--batch-size", type=int, default=256, help="train_batch_size")
    p.add_argument("--lr", type=float, default=1e-3, help="learning_rate (Adam)")
    p.add_argument(
        "--embedding-size",
        type=int,
        default=32,
        help="NeuMF: mf_embedding_size and mlp_embedding_size; BPR/LightGCN: embedding_size",
    )
    p.add_argument(
        "--mlp-hidden", type=int, nargs="+", default=[64, 32, 16], help="NeuMF mlp_hidden_size"
    )
    p.add_argument("--dropout", type=float, default=0.0, help="NeuMF dropout_prob")
    p.add_argument(
        "--neg",
        type=int,
        default=None,
        help="training negatives per positive (default: 4 for NeuMF, 1 for BPR/LightGCN)",
    )
    p.add_argument(
        "--protocol",
        choices=("sampled", "full"),
        default="sampled",
        help="sampled: 1 positive + 100 uniform negatives (uni100); full: all items",
    )
    p.add_argument("--valid-every", type=int, default=1, help="eval_step (epochs)")
    p.add_argument("--eval-batch-size", type=int, default=4096)
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch.set_num_threads (default: torch's own choice)",
    )
    p.add_argument("--out", required=True, help="JSON file to write")
    p.add_argument(
        "--keep-workdir",
        action="store_true",
        help="keep RecBole's temporary working dir (saved/, log/)",
    )
    p.add_argument("--verbose", action="store_true", help="let RecBole log at INFO")
    return p.parse_args(argv)


def dataset_example_dir() -> str:
    import recbole

    d = os.path.join(os.path.dirname(recbole.__file__), "dataset_example")
    if not os.path.isfile(os.path.join(d, "ml-100k", "ml-100k.inter")):
        raise SystemExit(f"ml-100k atomic files not found under {d}")
    return d


def build_config_dict(a, workdir: str) -> dict:
    neg = a.neg if a.neg is not None else (4 if a.model in POINTWISE else 1)
    cfg = {
        # environment
        "seed": a.seed,
        "reproducibility": True,
        "use_gpu": False,
        "state": "INFO" if a.verbose else "WARNING",
        "show_progress": False,
        "checkpoint_dir": os.path.join(workdir, "saved"),
        # data: ML-100K atomic files from the wheel; every rating is a positive
        "data_path": dataset_example_dir(),
        "load_col": {"inter": ["user_id", "item_id", "rating", "timestamp"]},
        "threshold": None,
        "val_interval": None,
        "user_inter_num_interval": None,
        "item_inter_num_interval": None,
        "rm_dup_inter": None,
        # training
        "epochs": a.epochs,
        "train_batch_size": a.batch_size,
        "learner": "adam",
        "learning_rate": a.lr,
        "weight_decay": 0.0,
        "train_neg_sample_args": {
            "distribution": "uniform",
            "sample_num": neg,
            "alpha": 1.0,
            "dynamic": False,
            "candidate_num": 0,
        },
        "eval_step": a.valid_every,
        "stopping_step": 10**9,  # no early stopping before the requested epochs
        # evaluation: temporal leave-one-out
        "eval_args": {
            "split": {"LS": "valid_and_test"},
            "order": "TO",
            "group_by": "user",
            "mode": "uni100" if a.protocol == "sampled" else "full",
        },
        "repeatable": False,
        "metrics": ["Hit", "NDCG"],
        "topk": [10],
        "valid_metric": "NDCG@10",
        "valid_metric_bigger": True,
        "eval_batch_size": a.eval_batch_size,
    }
    if a.model == "NeuMF":
        cfg.update(
            {
                "mf_embedding_size": a.embedding_size,
                "mlp_embedding_size": a.embedding_size,
                "mlp_hidden_size": list(a.mlp_hidden),
                "dropout_prob": a.dropout,
                "mf_train": True,
                "mlp_train": True,
                "use_pretrain": False,
            }
        )
    elif a.model in ("BPR", "LightGCN"):
        cfg["embedding_size"] = a.embedding_size
    return cfg


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (str, int, bool)) or x is None:
        return x
    try:
        return float(x)
    except (TypeError, ValueError):
        return str(x)


def _quiet(verbose: bool):
    if verbose:
        return
    warnings.filterwarnings("ignore")
    logging.getLogger().setLevel(logging.WARNING)


def main(argv=None) -> int:
    a = parse_args(argv)
    out_path = os.path.abspath(a.out)
    _quiet(a.verbose)

    import numpy as np
    import pandas as pd
    import recbole
    import scipy
    import torch
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.utils import get_model, get_trainer, init_seed

    if a.threads:
        torch.set_num_threads(a.threads)

    load_start = os.getloadavg()
    cwd = os.getcwd()
    # a SIGTERM (e.g. a timeout) still runs the finally: below and removes the workdir
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    workdir = tempfile.mkdtemp(prefix="recbole_peer_")
    os.chdir(workdir)  # RecBole writes saved/, log/, log_tensorboard/ into cwd
    try:
        t_start = time.perf_counter()
        # RecBole's Config also parses sys.argv ("--key=value" would override the config
        # and the rest is reported as unused): hand it an empty command line.
        argv_saved, sys.argv = sys.argv, sys.argv[:1]
        try:
            config = Config(
                model=a.model, dataset="ml-100k", config_dict=build_config_dict(a, workdir)
            )
        finally:
            sys.argv = argv_saved
        init_seed(config["seed"], config["reproducibility"])
        t0 = time.perf_counter()
        dataset = create_dataset(config)
        train_data, valid_data, test_data = data_preparation(config, dataset)
        data_seconds = time.perf_counter() - t0

        init_seed(config["seed"] + config["local_rank"], config["reproducibility"])
        model = get_model(config["model"])(config, train_data._dataset).to(config["device"])
        trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model)

        # per-epoch timing hook: wrap the two bound methods fit() calls each epoch
        epochs: list[dict] = []
        orig_train, orig_valid = trainer._train_epoch, trainer._valid_epoch

        def timed_train(train_data, epoch_idx, *args, **kw):
            t = time.perf_counter()
            loss = orig_train(train_data, epoch_idx, *args, **kw)
            rec = {
                "epoch": int(epoch_idx) + 1,
                "train_seconds": time.perf_counter() - t,
                "train_loss": _jsonable(loss),
            }
            epochs.append(rec)
            return loss

        def timed_valid(valid_data, *args, **kw):
            t = time.perf_counter()
            score, result = orig_valid(valid_data, *args, **kw)
            rec = epochs[-1]
            rec["valid_seconds"] = time.perf_counter() - t
            rec["valid_hit@10"] = float(result["hit@10"])
            rec["valid_ndcg@10"] = float(result["ndcg@10"])
            return score, result

        trainer._train_epoch = timed_train
        trainer._valid_epoch = timed_valid

        t0 = time.perf_counter()
        best_valid_score, best_valid_result = trainer.fit(
            train_data, valid_data, saved=True, show_progress=False
        )
        fit_seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        test_result = trainer.evaluate(test_data, load_best_model=True, show_progress=False)
        test_seconds = time.perf_counter() - t0
        total_seconds = time.perf_counter() - t_start

        validated = [e for e in epochs if "valid_ndcg@10" in e]
        # RecBole keeps the first epoch with the strictly highest valid NDCG@10
        best = max(validated, key=lambda e: (e["valid_ndcg@10"], -e["epoch"]))
        train_secs = [e["train_seconds"] for e in epochs]
        valid_secs = [e["valid_seconds"] for e in validated]

        result = {
            "peer": "RecBole",
            "model": a.model,
            "protocol": a.protocol,
            "dataset": {
                "name": "ml-100k",
                "source": os.path.join(config["data_path"]),
                "users": int(dataset.user_num - 1),  # RecBole reserves id 0 for padding
                "items": int(dataset.item_num - 1),
                "interactions": int(dataset.inter_num),
                "train_interactions": int(len(train_data._dataset)),
                "valid_interactions": int(len(valid_data._dataset)),
                "test_interactions": int(len(test_data._dataset)),
            },
            "args": vars(a),
            "config": {
                k: _jsonable(config[k])
                for k in (
                    "seed",
                    "reproducibility",
                    "epochs",
                    "train_batch_size",
                    "learner",
                    "learning_rate",
                    "weight_decay",
                    "train_neg_sample_args",
                    "eval_step",
                    "stopping_step",
                    "eval_args",
                    "metrics",
                    "topk",
                    "valid_metric",
                    "eval_batch_size",
                    "threshold",
                    "MODEL_TYPE",
                    "device",
                    "mf_embedding_size",
                    "mlp_embedding_size",
                    "mlp_hidden_size",
                    "dropout_prob",
                    "embedding_size",
                    "n_layers",
                    "reg_weight",
                )
                if k in config
            },
            "epochs": epochs,
            "summary": {
                "epochs_run": len(epochs),
                "train_seconds_median": statistics.median(train_secs) if train_secs else None,
                "valid_seconds_median": statistics.median(valid_secs) if valid_secs else None,
                "train_seconds_total": sum(train_secs),
                "valid_seconds_total": sum(valid_secs),
                "data_seconds": data_seconds,
                "fit_seconds": fit_seconds,
                "test_seconds": test_seconds,
                "total_seconds": total_seconds,
                "best_valid_epoch": best["epoch"],
                "best_valid_hit@10": best["valid_hit@10"],
                "best_valid_ndcg@10": best["valid_ndcg@10"],
                "recbole_best_valid_score": float(best_valid_score),
                "test_hit@10": float(test_result["hit@10"]),
                "test_ndcg@10": float(test_result["ndcg@10"]),
            },
            "versions": {
                "recbole": recbole.__version__,
                "torch": torch.__version__,
                "numpy": np.__version__,
                "scipy": scipy.__version__,
                "pandas": pd.__version__,
                "python": platform.python_version(),
            },
            "machine": {
                "platform": platform.platform(),
                "cpu_count": os.cpu_count(),
                "torch_threads": torch.get_num_threads(),
                # other jobs on this shared machine slow a run down: judge timings with these
                "loadavg_1_5_15_start": list(load_start),
                "loadavg_1_5_15_end": list(os.getloadavg()),
            },
            "env": {
                "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": os.environ.get(
                    "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"
                )
            },
        }
    finally:
        os.chdir(cwd)
        if a.keep_workdir:
            print(f"[recbole_run] kept workdir {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    os.makedirs(os.path.dirname(out_path) or ".", exist_ok=True)
    with open(out_path, "w") as f:
        json.dump(result, f, indent=2)
    s = result["summary"]
    print(
        f"[recbole_run] {a.model} {a.protocol} seed={a.seed} epochs={s['epochs_run']} "
        f"train s/epoch median={s['train_seconds_median']:.2f} "
        f"valid s/epoch median={s['valid_seconds_median']:.2f} | "
        f"best valid epoch {s['best_valid_epoch']}: HR@10 {s['best_valid_hit@10']:.4f} "
        f"NDCG@10 {s['best_valid_ndcg@10']:.4f} | test HR@10 {s['test_hit@10']:.4f} "
        f"NDCG@10 {s['test_ndcg@10']:.4f} -> {out_path}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
