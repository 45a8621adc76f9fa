"""``--task benchmark``: every model x N seeds under both protocols (:mod:`graphrec.benchmark`).

Writes ``benchmark.csv`` (rewritten after every model, so an interrupted run keeps what it
finished), ``benchmark.md``, ``benchmark.png``, ``metrics.json`` and ``benchmark_users.npz``
in the run folder. ``--split global-time`` runs it on the global temporal split; its default
run folder is then ``runs/benchmark-global-time/<timestamp>/`` (leave-one-out:
``runs/benchmark/<timestamp>/``), and the split and its cut times are in ``config.json`` and
the header of ``benchmark.md``.
"""

from __future__ import annotations

import time
from typing import Any

import torch

from graphrec.benchmark import markdown_table, run_benchmark, write_outputs
from graphrec.cli.common import at_least, load_graph, log, make_split, open_run
from graphrec.cli.options import add_training_arguments, progress_flag
from graphrec.presets import MODELS

__all__ = ["add_arguments", "run"]


def add_arguments(parser) -> None:
    parser.add_argument(
        "--models",
        nargs="+",
        default=None,
        metavar="MODEL",
        help=f"models to run (default: all of {', '.join(MODELS)})",
    )
    parser.add_argument(
        "--seeds",
        type=at_least(1),
        default=5,
        help="number of seeds: --seed, --seed+1, ... (default 5)",
    )
    parser.add_argument(
        "--max-epochs",
        type=at_least(1),
        default=None,
        help="cap every model's epoch budget (default: each model's own)",
    )
    add_training_arguments(parser, only=["eval_k", "threads"])


def run(args) -> dict:
    if args.models:
        unknown = [m for m in args.models if m not in MODELS]
        if unknown:
            raise SystemExit(f"error: unknown model(s) {unknown}; choose from {', '.join(MODELS)}")
    if args.threads:
        torch.set_num_threads(args.threads)
    t_start = time.perf_counter()
    data = load_graph(args)
    split = make_split(args, data)
    run_dir = open_run(args, "benchmark")
    seeds = list(range(args.seed, args.seed + args.seeds))
    k = args.eval_k or 10
    meta: dict[str, Any] = {
        "dataset": args.dataset,
        "seeds": seeds,
        "k": k,
        "max_epochs": args.max_epochs,
        "threads": torch.get_num_threads(),
        "device": args.device,
        "split": split.kind,
        **({"cuts": split.cuts} if split.cuts else {}),
        "test_users": int(split.test.size(1)),
    }
    per_user: dict = {}

    def partial(rows: list[dict]) -> None:
        write_outputs(
            run_dir.path, rows, {**meta, "partial": True}, k, plot=False, per_user=per_user
        )

    rows = run_benchmark(
        split,
        data,
        args.models,
        seeds,
        k=k,
        device=args.device,
        progress=progress_flag(args),
        max_epochs=args.max_epochs,
        on_model_done=partial,
        per_user=per_user,
    )
    meta["total_wall_seconds"] = round(time.perf_counter() - t_start, 1)
    meta["title"] = (
        f"{args.dataset} ({split.kind}): test HR@{k} / NDCG@{k}, mean ± std over {len(seeds)} seeds"
    )
    result = write_outputs(run_dir.path, rows, meta, k, per_user=per_user)
    log(args, markdown_table(result["summary"], k, result.get("significance")))
    for metric, a in result["agreement"].items():
        log(
            args,
            f"{metric}: protocols {'agree' if a['same_order'] else 'disagree'} "
            f"(Kendall's tau {a['kendall_tau']:.2f})",
        )
    log(args, f"total wall time {meta['total_wall_seconds']:.0f} s")
    run_dir.report()
    return result
