"""What every training task shares: build the model from its options, fit it with the one
loop, evaluate it under both protocols and fill the run folder.

A model task reads::

    def add_arguments(parser):
        add_model_task_arguments(parser, GMF)

    def run(args):
        return run_model_task(args, "GMF")

:func:`train_and_report` writes ``history.csv``, ``curves.png``, ``metrics.json`` (the schema
of :mod:`graphrec.runs`) and the checkpoint ``model/``, and rewrites ``config.json`` with the
resolved model and training settings, so ``--config config.json`` replays the run exactly.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from graphrec.cli.common import load_graph, log, make_split, open_run
from graphrec.cli.options import (
    add_model_arguments,
    add_training_arguments,
    model_kwargs,
    train_config,
)
from graphrec.runs import RunDir, evaluate_all
from graphrec.train import History, TrainConfig

__all__ = [
    "add_model_task_arguments",
    "run_model_task",
    "train_and_report",
    "write_history",
    "log_metrics",
]


def add_model_task_arguments(parser, klass: type, *, skip=(), training=None) -> None:
    """The model's constructor options, then the training options with its defaults."""
    from graphrec.presets import PRESETS

    presets: dict[str, Any] = {}
    for (name, dataset), entry in PRESETS.items():
        if name == klass.__name__:
            for key, value in entry.get("model", {}).items():
                presets[key] = f"{value} on {dataset}"
    names = add_model_arguments(parser, klass, skip=skip, presets=presets)
    parser.set_defaults(_model_options=names)
    defaults = klass.train_defaults if isinstance(klass.train_defaults, dict) else {}
    by_objective = getattr(klass, "train_defaults_by_objective", None)
    if by_objective:  # defaults that depend on --objective: show each where they differ
        from graphrec.train import TRAIN_DEFAULTS

        keys = {k for d in by_objective.values() for k in d}
        defaults = {}
        for key in keys:
            values = {o: d.get(key, TRAIN_DEFAULTS[key]) for o, d in by_objective.items()}
            defaults[key] = (
                next(iter(values.values()))
                if len(set(values.values())) == 1
                else ", ".join(f"{v:g} for --objective {o}" for o, v in values.items())
            )
    add_training_arguments(parser, defaults, only=training)


def build_from_args(args: argparse.Namespace, name: str, split, data=None, **overrides: Any):
    """The model ``name`` with the options given on the command line (others: defaults and
    the data set's presets), seeded by ``--seed``."""
    from graphrec.presets import build_model

    kwargs = {**model_kwargs(args, getattr(args, "_model_options", [])), **overrides}
    return build_model(name, split, data, seed=args.seed, **kwargs)


def run_model_task(args: argparse.Namespace, name: str, **overrides: Any) -> dict:
    """Load, split, build ``name`` from the options, train and report; returns metrics."""
    data = load_graph(args)
    split = make_split(args, data)
    run_dir = open_run(args, args.task)
    model = build_from_args(args, name, split, data, **overrides)
    metrics, _ = train_and_report(model, split, args, run_dir, task=args.task)
    if run_dir is not None:  # rank 0 (or the one process)
        run_dir.report()
    return metrics


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


def record_resolved(args: argparse.Namespace, run_dir: RunDir, model, cfg: TrainConfig) -> None:
    """Rewrite ``config.json`` with every setting that ran (the model's arguments and the
    resolved training config), so that ``--config`` replays the run whatever the defaults
    become later."""
    for name in getattr(args, "_model_options", []):
        if name in model.hparams:
            setattr(args, name, model.hparams[name])
    for key, value in cfg.to_dict().items():
        if hasattr(args, key) and key not in ("seed", "device", "progress"):
            setattr(args, key, value)
    run_dir.write_config(vars(args), args.seed, split=getattr(args, "_split_info", None))


def train_and_report(
    model,
    split,
    args: argparse.Namespace,
    run_dir: RunDir,
    *,
    task: str,
    history: History | None = None,
    extra: dict[str, Any] | None = None,
    extra_seconds: float = 0.0,
    save_model: bool = True,
    config: TrainConfig | None = None,
) -> tuple[dict[str, Any], History]:
    """Train ``model`` (unless ``history`` is given: then it is already trained), evaluate it
    under both protocols on valid and test, and write the run folder.

    Args:
        model: a :class:`~graphrec.models.base.Recommender`; left at its best valid epoch.
        split: the interaction split.
        args: the parsed options (training options, ``--seed``, ``--dataset`` ...).
        run_dir: the run folder.
        task: the task name recorded in ``metrics.json``.
        history: skip training and report this history instead.
        extra: more top-level entries for ``metrics.json`` (e.g. pretraining results).
        extra_seconds: training seconds spent outside this call (e.g. pretraining), added to
            ``timing.train_seconds`` (``timing.fit_seconds`` keeps this fit alone).
        save_model: write the checkpoint to ``run_dir/model``.
        config: the training config (default: from ``args``).

    Returns:
        ``(metrics, history)``; ``metrics`` is what ``metrics.json`` holds.
    """
    if history is None:
        cfg = config or train_config(args)
        t0 = time.perf_counter()
        history = model.fit(split, cfg).history
        if history is None:  # a closed-form model (EASE, ItemKNN, ...): no epochs to record
            history = History(
                train_seconds=time.perf_counter() - t0,
                objective="closed form",
                selection="none: fitted in closed form, nothing selected on valid",
            )
    if run_dir is None:  # a rank other than 0 of a data-parallel run: rank 0 reports
        return {}, history
    cfg = TrainConfig.from_dict(history.config) if history.config else train_config(args)
    k = cfg.eval_k or 10
    record_resolved(args, run_dir, model, cfg)
    if history.epochs:
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
            "objective": history.objective,
            "best_epoch": history.best_epoch if history.epochs else None,
            "epochs_run": len(history.epochs),
            "stopped_early": history.stopped_early,
            "best_valid_score": history.best_score if history.epochs else None,
            "selection": history.selection,
            "config": history.config,
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
