"""``--task gmf | mlp | neumf | sweep``: neural collaborative filtering (He et al., WWW 2017).

- ``gmf``, ``mlp``, ``neumf``: train one model on the ``rates`` edges (BCE on train positives
  plus ``--negatives`` fresh uniform negatives each epoch), early-stop on valid NDCG@K and
  write the run folder (config.json, metrics.json, history.csv, curves.png, model/).
- ``neumf --pretrain``: train GMF and MLP first (their histories go to
  ``history_gmf.csv`` / ``history_mlp.csv``), then NeuMF initialised from them
  (:meth:`graphrec.models.ncf.NeuMF.from_pretrained`, ``--alpha``) and fine-tuned at
  ``--finetune-lr``.
- ``sweep``: the paper's predictive-factor study: one model per ``--sweep-factors``
  (default 8 16 32 64), each in ``factors-<f>/`` as a full run folder; ``sweep.png`` (valid
  HR@K and NDCG@K per epoch, one line per factor), ``sweep.csv`` / ``sweep.md`` (best values)
  and whether the ordering 64 > 32 > 16 > 8 holds. No early stopping unless ``--patience``
  is given.
"""

from __future__ import annotations

import time
from typing import Any

import torch

from graphrec.cli.common import (
    at_least,
    bounded,
    fraction,
    load_graph,
    log,
    make_split,
    open_run,
    positive,
)
from graphrec.cli.training import add_training_arguments, fit_from_args, train_and_report
from graphrec.models.ncf import GMF, MLP, NeuMF
from graphrec.runs import RunDir

__all__ = ["add_arguments", "run", "build_model", "train_neumf_pretrained", "run_sweep"]

MODELS = {"gmf": GMF, "mlp": MLP, "neumf": NeuMF}


def add_arguments(parser) -> None:
    # patience None: 5 for gmf/mlp/neumf, no early stopping for the sweep
    add_training_arguments(parser, factors=32, patience=None, epochs=30, weight_decay=1e-5)
    parser.add_argument(
        "--layers",
        type=at_least(1),
        nargs="+",
        default=None,
        help="MLP hidden sizes (default: 4f 2f f for --factors f)",
    )
    parser.add_argument(
        "--mlp-embedding-dim",
        type=at_least(1),
        default=None,
        help="size of each MLP embedding (default: 2f)",
    )
    parser.add_argument(
        "--dropout",
        type=fraction(),
        default=0.0,
        help="dropout after each MLP hidden layer (default 0)",
    )
    parser.add_argument(
        "--pretrain",
        action="store_true",
        help="neumf: train GMF and MLP first and start NeuMF from them",
    )
    parser.add_argument(
        "--alpha",
        type=bounded(float, 0, 1),
        default=0.5,
        help="neumf --pretrain: weight of GMF's output layer (default 0.5)",
    )
    parser.add_argument(
        "--pretrain-epochs",
        type=at_least(1),
        default=None,
        help="neumf --pretrain: maximum epochs of GMF and of MLP (default: --epochs)",
    )
    parser.add_argument(
        "--finetune-lr",
        type=positive(),
        default=None,
        help="neumf --pretrain: learning rate of the NeuMF stage (default: --lr / 5)",
    )
    parser.add_argument(
        "--sweep-model",
        choices=sorted(MODELS),
        default="neumf",
        help="sweep: which model (default neumf)",
    )
    parser.add_argument(
        "--sweep-factors",
        type=at_least(1),
        nargs="+",
        default=[8, 16, 32, 64],
        help="sweep: predictive factors to train (default 8 16 32 64)",
    )


def build_model(name: str, split, args, factors: int | None = None):
    """A fresh, seeded GMF / MLP / NeuMF from the CLI arguments."""
    f = args.factors if factors is None else factors
    torch.manual_seed(args.seed)
    u, m = split.num_users, split.num_movies
    if name == "gmf":
        return GMF(u, m, factors=f)
    layers = args.layers if factors is None else None  # the sweep scales the tower with f
    if name == "mlp":
        return MLP(
            u,
            m,
            factors=f,
            layers=layers,
            embedding_dim=args.mlp_embedding_dim,
            dropout=args.dropout,
        )
    if name == "neumf":
        return NeuMF(
            u,
            m,
            factors=f,
            layers=layers,
            mlp_embedding_dim=args.mlp_embedding_dim,
            dropout=args.dropout,
        )
    raise ValueError(f"unknown NCF model {name!r}; choose one of {sorted(MODELS)}")


def _patience(args, default: int | None) -> None:
    if args.patience is None:
        args.patience = default if default is not None else 0


def train_neumf_pretrained(split, args, run_dir: RunDir | None = None):
    """GMF and MLP, then NeuMF from them; returns ``(neumf, history, pretrain_info, seconds)``.

    ``seconds`` is the wall time of the two pretraining fits.
    """
    from graphrec.cli.training import write_history

    t0 = time.perf_counter()
    epochs = args.pretrain_epochs or args.epochs
    gmf = build_model("gmf", split, args)
    h_gmf = fit_from_args(gmf, split, args, epochs=epochs)
    mlp = build_model("mlp", split, args)
    h_mlp = fit_from_args(mlp, split, args, epochs=epochs)
    seconds = time.perf_counter() - t0
    info: dict[str, Any] = {}
    for name, h in (("gmf", h_gmf), ("mlp", h_mlp)):
        info[name] = {**h.summary(), "best_valid_ndcg": h.best_score}
        log(
            args,
            f"pretrain {name}: best valid NDCG@{args.topk} {h.best_score:.4f} "
            f"(epoch {h.best_epoch}, {h.train_seconds:.1f}s)",
        )
        if run_dir is not None:
            write_history(h, run_dir, f"history_{name}", k=args.topk, title=f"{name} pretraining")
    model = NeuMF.from_pretrained(gmf, mlp, alpha=args.alpha)
    lr = args.finetune_lr if args.finetune_lr is not None else args.lr / 5
    info["alpha"], info["finetune_lr"] = args.alpha, lr
    history = fit_from_args(model, split, args, lr=lr)
    return model, history, info, seconds


def run(args) -> dict:
    task = args.task
    data = load_graph(args)
    split = make_split(args, data)
    if task == "sweep":
        _patience(args, None)
        run_dir = open_run(args, "sweep")
        return run_sweep(split, args, run_dir)
    _patience(args, 5)
    run_dir = open_run(args, task)
    if task == "neumf" and args.pretrain:
        model, history, info, seconds = train_neumf_pretrained(split, args, run_dir)
        metrics, _ = train_and_report(
            model,
            split,
            args,
            run_dir,
            task=task,
            history=history,
            extra={"pretrain": info},
            extra_seconds=seconds,
        )
    else:
        if args.pretrain:
            raise SystemExit("--pretrain only applies to --task neumf")
        model = build_model(task, split, args)
        metrics, _ = train_and_report(model, split, args, run_dir, task=task)
    print(f"wrote {run_dir / 'metrics.json'}")
    return metrics


def _ordering(values: dict[int, float]) -> bool:
    """True when a larger factor always gives a strictly larger value."""
    fs = sorted(values)
    return all(values[a] < values[b] for a, b in zip(fs[:-1], fs[1:], strict=True))


def run_sweep(split, args, run_dir: RunDir) -> dict:
    """Train ``args.sweep_model`` for each of ``args.sweep_factors``; write the sweep files."""
    import pandas as pd

    from graphrec.io import atomic_write
    from graphrec.viz.curves import plot_sweep

    k = args.topk
    histories, rows = {}, []
    for f in args.sweep_factors:
        log(args, f"sweep: {args.sweep_model} with {f} factors")
        sub = RunDir("sweep", run_dir / f"factors-{f}")
        model = build_model(args.sweep_model, split, args, factors=f)
        metrics, h = train_and_report(model, split, args, sub, task="sweep")
        histories[f"factors={f}"] = h
        hr = [e[f"valid_hr@{k}"] for e in h.epochs if f"valid_hr@{k}" in e]
        rows.append(
            {
                "factors": f,
                f"best_valid_hr@{k}": max(hr),
                f"best_valid_ndcg@{k}": h.best_score,
                "best_epoch": h.best_epoch,
                f"test_hr@{k}": metrics["test"]["sampled"][f"hr@{k}"],
                f"test_ndcg@{k}": metrics["test"]["sampled"][f"ndcg@{k}"],
                f"test_full_hr@{k}": metrics["test"]["full"][f"hr@{k}"],
                f"test_full_ndcg@{k}": metrics["test"]["full"][f"ndcg@{k}"],
                "train_seconds": round(h.train_seconds, 2),
                "mean_epoch_seconds": round(sum(h.epoch_seconds) / len(h.epoch_seconds), 3),
            }
        )
    table = pd.DataFrame(rows)
    name = {"gmf": "GMF", "mlp": "MLP", "neumf": "NeuMF"}[args.sweep_model]
    plot_sweep(
        histories,
        run_dir / "sweep.png",
        k=k,
        title=f"{name} on {args.dataset}: predictive factors (valid, sampled 1+99)",
    )
    with atomic_write(run_dir / "sweep.csv", "w") as fh:
        table.to_csv(fh, index=False, float_format="%.4f")
    ordering = {
        col: _ordering(dict(zip(table["factors"], table[col], strict=True)))
        for col in (f"best_valid_hr@{k}", f"best_valid_ndcg@{k}", f"test_hr@{k}", f"test_ndcg@{k}")
    }
    desc = " > ".join(str(f) for f in sorted(args.sweep_factors, reverse=True))
    verdict = [
        f"- {col}: {desc} {'holds' if ok else 'does NOT hold'}" for col, ok in ordering.items()
    ]
    md = [
        f"# {name} factor sweep on {args.dataset} (seed {args.seed})",
        "",
        f"Best values over {args.epochs} epochs; valid and test under `sampled` (1 + 99 "
        f"negatives) unless marked full; test is the best-valid-NDCG@{k} epoch. One seed: "
        f"differences of ~0.01 are within seed-to-seed noise.",
        "",
        f"Settings: {name}, MLP tower 4f-2f-f on 2f-d embeddings, batch {args.batch_size}, "
        f"Adam lr {args.lr:g} (decay {args.lr_decay:g}/epoch), weight decay "
        f"{args.weight_decay:g}, {args.negatives} negatives per positive, dropout "
        f"{args.dropout:g}.",
        "",
        _markdown(table),
        "",
        "Ordering (larger factors strictly better):",
        *verdict,
        "",
    ]
    with atomic_write(run_dir / "sweep.md", "w") as fh:
        fh.write("\n".join(md))
    summary = {
        "task": "sweep",
        "dataset": args.dataset,
        "model": name,
        "seed": args.seed,
        "factors": list(args.sweep_factors),
        "table": rows,
        "ordering_holds": ordering,
    }
    run_dir.write_metrics(summary)
    log(args, "\n".join(md[4:]))
    print(f"wrote {run_dir / 'sweep.png'}, sweep.csv, sweep.md")
    return summary


def _markdown(table) -> str:
    cols = list(table.columns)
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in table.to_dict("records"):
        cells = [f"{v:.4f}" if isinstance(v, float) else str(v) for v in r.values()]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)
