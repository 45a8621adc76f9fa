"""``--task pop``: the ItemPop baseline under the ``sampled`` and ``full`` protocols."""

from __future__ import annotations

import time

from graphrec.cli.common import load_graph, log, make_split, open_run
from graphrec.cli.options import add_training_arguments
from graphrec.models.pop import ItemPop
from graphrec.runs import evaluate_all


def add_arguments(parser) -> None:
    add_training_arguments(parser, only=["eval_k"])  # --eval-k, as every task that evaluates


def run(args) -> dict:
    data = load_graph(args)
    split = make_split(args, data)
    run_dir = open_run(args, "pop")
    t0 = time.perf_counter()
    model = ItemPop(split.num_users, split.num_movies).fit(split)
    train_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    results = evaluate_all(model, split, k=args.eval_k or 10, seed=args.seed)
    metrics = {
        "task": "pop",
        "dataset": args.dataset,
        "model": "ItemPop",
        "seed": args.seed,
        **results,
        "timing": {
            "train_seconds": round(train_s, 4),
            "eval_seconds": round(time.perf_counter() - t0, 4),
        },
    }
    run_dir.write_metrics(metrics)
    model.save(run_dir / "model")
    k = args.eval_k or 10
    for stage in ("valid", "test"):
        for p, m in results[stage].items():
            log(args, f"{stage:5s} {p:7s} HR@{k} {m[f'hr@{k}']:.4f}  NDCG@{k} {m[f'ndcg@{k}']:.4f}")
    run_dir.report()
    return metrics
