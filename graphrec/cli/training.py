"""Shared pieces of every training task (GMF/MLP/NeuMF, attention-NCF, LightGCN, feature MLP).

- :func:`add_training_arguments`: ``--epochs --factors --batch-size --lr --negatives
  --patience --weight-decay --lr-decay --eval-every --threads --topk``; a task passes its own
  defaults.
- :func:`fit_from_args`: :func:`graphrec.train.fit` with those arguments.
- :func:`train_and_report`: fit, then fill the run folder: ``history.csv``, ``curves.png``,
  ``metrics.json`` (the schema of :mod:`graphrec.runs`) and the checkpoint ``model/``
  (:meth:`graphrec.models.base.Recommender.save`).

A task module then reads::

    def run(args):
        data = load_graph(args); split = make_split(args, data); run_dir = open_run(args, "x")
        torch.manual_seed(args.seed)
        model = X(split.num_users, split.num_movies, factors=args.factors)
        metrics, history = train_and_report(model, split, args, run_dir, task="x")
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from graphrec.cli.common import at_least, log, non_negative, positive
from graphrec.runs import RunDir, evaluate_all
from graphrec.train import History, fit

__all__ = [
    "TRAINING_DEFAULTS",
    "add_training_arguments",
    "fit_from_args",
    "train_and_report",
    "write_history",
    "log_metrics",
]

#: defaults of the training arguments (a task may override any of them)
TRAINING_DEFAULTS: dict[str, Any] = {
    "epochs": 20,
    "factors": 8,
    "batch_size": 4096,
    "lr": 5e-3,
    "negatives": 4,
    "patience": 5,
    "weight_decay": 0.0,
    "lr_decay": 1.0,
    "eval_every": 1,
    "topk": 10,
}


def training_subset(settings: dict[str, Any]) -> dict[str, Any]:
    """The keys of a model family's settings dict that are training options (those of
    :data:`TRAINING_DEFAULTS`), to pass to :func:`add_training_arguments`."""
    return {k: v for k, v in settings.items() if k in TRAINING_DEFAULTS}


def add_training_arguments(parser, **defaults: Any):
    """Add the common training options to ``parser`` (a parser or an argument group).

    Keyword arguments override :data:`TRAINING_DEFAULTS` (e.g. ``factors=64``).
    """
    unknown = set(defaults) - set(TRAINING_DEFAULTS)
    if unknown:
        raise TypeError(f"unknown training default(s) {sorted(unknown)}")
    d = {**TRAINING_DEFAULTS, **defaults}
    parser.add_argument(
        "--epochs",
        type=at_least(1),
        default=d["epochs"],
        help=f"maximum epochs (default {d['epochs']})",
    )
    parser.add_argument(
        "--factors",
        type=at_least(1),
        default=d["factors"],
        help=f"predictive factors / embedding size (default {d['factors']})",
    )
    parser.add_argument(
        "--batch-size",
        type=at_least(1),
        default=d["batch_size"],
        help=f"examples per optimiser step (default {d['batch_size']})",
    )
    parser.add_argument(
        "--lr", type=positive(), default=d["lr"], help=f"Adam learning rate (default {d['lr']:g})"
    )
    parser.add_argument(
        "--negatives",
        type=at_least(1),
        default=d["negatives"],
        help=f"training negatives per positive (default {d['negatives']})",
    )
    parser.add_argument(
        "--patience",
        type=at_least(0, "0 never stops"),
        default=d["patience"],
        help="epochs without a better valid NDCG@K before stopping; 0 never "
        f"stops (default {d['patience']})",
    )
    parser.add_argument(
        "--weight-decay",
        type=non_negative(),
        default=d["weight_decay"],
        help=f"Adam L2 penalty (default {d['weight_decay']:g})",
    )
    parser.add_argument(
        "--lr-decay",
        type=positive(),
        default=d["lr_decay"],
        help=f"multiply the learning rate by this after each epoch (default {d['lr_decay']:g})",
    )
    parser.add_argument(
        "--eval-every",
        type=at_least(1),
        default=d["eval_every"],
        help=f"validate every N epochs (default {d['eval_every']})",
    )
    parser.add_argument(
        "--threads",
        type=at_least(1),
        default=None,
        help="torch intra-op threads (default: torch's choice; 1 avoids OpenMP stalls when "
        "the machine is busy with other jobs)",
    )
    parser.add_argument(
        "--topk",
        type=at_least(1),
        default=d["topk"],
        help=f"K of HR@K and NDCG@K (default {d['topk']})",
    )
    return parser


def fit_from_args(
    model, split, args: argparse.Namespace, objective: str = "bce", **overrides: Any
) -> History:
    """:func:`graphrec.train.fit` with the training arguments of ``args``.

    ``overrides`` replace any keyword of ``fit`` (e.g. ``lr=1e-3`` for a fine-tuning stage).
    """
    threads = getattr(args, "threads", None)
    if threads:
        import torch

        torch.set_num_threads(threads)
    patience = getattr(args, "patience", TRAINING_DEFAULTS["patience"])
    kw: dict[str, Any] = dict(
        objective=objective,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        weight_decay=getattr(args, "weight_decay", 0.0),
        lr_decay=getattr(args, "lr_decay", 1.0),
        num_negatives=args.negatives,
        patience=patience if patience and patience > 0 else None,
        k=getattr(args, "topk", 10),
        eval_every=getattr(args, "eval_every", 1),
        seed=args.seed,
        device=getattr(args, "device", "auto"),
        progress=not getattr(args, "quiet", False),
    )
    kw.update(overrides)
    return fit(model, split, **kw)


def write_history(
    history: History, run_dir: RunDir, name: str = "history", k: int = 10, title: str | None = None
) -> None:
    """``<name>.csv`` and ``curves.png`` (``curves_<suffix>.png`` for ``history_<suffix>``)."""
    from graphrec.viz.curves import plot_history

    history.to_csv(run_dir / f"{name}.csv")
    png = "curves.png" if name == "history" else f"curves{name[len('history') :]}.png"
    plot_history(history, run_dir / png, k=k, title=title)


def log_metrics(args, results: dict, k: int = 10) -> None:
    """One line per stage and protocol on stderr (unless ``--quiet``)."""
    for stage in ("valid", "test"):
        for p, m in results.get(stage, {}).items():
            log(args, f"{stage:5s} {p:7s} HR@{k} {m[f'hr@{k}']:.4f}  NDCG@{k} {m[f'ndcg@{k}']:.4f}")


def train_and_report(
    model,
    split,
    args: argparse.Namespace,
    run_dir: RunDir,
    *,
    task: str,
    objective: str = "bce",
    history: History | None = None,
    extra: dict[str, Any] | None = None,
    extra_seconds: float = 0.0,
    save_model: bool = True,
    **fit_overrides: Any,
) -> tuple[dict[str, Any], History]:
    """Train ``model`` (unless ``history`` is given: then it is already trained), evaluate it
    under both protocols on valid and test, and write the run folder.

    Args:
        model: a :class:`~graphrec.models.base.Recommender`; left at its best valid epoch.
        split: the interaction split.
        args: the parsed CLI arguments (training options, ``--seed``, ``--dataset`` ...).
        run_dir: the run folder.
        task: the task name recorded in ``metrics.json``.
        objective: ``bce`` or ``bpr``.
        history: skip training and report this history instead.
        extra: more top-level entries for ``metrics.json`` (e.g. pretraining results).
        extra_seconds: training seconds spent outside this call (e.g. pretraining), added to
            ``timing.train_seconds`` (``timing.fit_seconds`` keeps this fit alone).
        save_model: write the checkpoint to ``run_dir/model``.
        fit_overrides: keywords passed on to :func:`fit_from_args`.

    Returns:
        ``(metrics, history)``; ``metrics`` is what ``metrics.json`` holds.
    """
    k = getattr(args, "topk", 10)
    if history is None:
        history = fit_from_args(model, split, args, objective, **fit_overrides)
    write_history(history, run_dir, k=k, title=f"{type(model).__name__} on {args.dataset}")
    t0 = time.perf_counter()
    results = evaluate_all(model, split, k=k, seed=args.seed)
    eval_seconds = time.perf_counter() - t0
    metrics: dict[str, Any] = {
        "task": task,
        "dataset": args.dataset,
        "model": type(model).__name__,
        "seed": args.seed,
        **results,
        "timing": {
            "train_seconds": round(history.train_seconds + extra_seconds, 3),
            "fit_seconds": round(history.train_seconds, 3),
            "epoch_seconds": [round(s, 4) for s in history.epoch_seconds],
            "valid_seconds": [round(s, 4) for s in history.eval_seconds],
            "final_eval_seconds": round(eval_seconds, 3),
        },
        "training": {
            "objective": objective,
            "best_epoch": history.best_epoch,
            "epochs_run": len(history.epochs),
            "stopped_early": history.stopped_early,
            "best_valid_ndcg": history.best_score,
            "selection": f"valid ndcg@{k} (sampled), best weights restored",
        },
        "hparams": dict(getattr(model, "hparams", {})),
    }
    if extra:
        metrics.update(extra)
    run_dir.write_metrics(metrics)
    if save_model:
        model.save(run_dir / "model")
    log_metrics(args, results, k)
    return metrics, history
