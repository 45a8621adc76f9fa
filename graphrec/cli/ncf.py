"""``--task gmf | mlp | neumf | sweep``: neural collaborative filtering (He et al., WWW 2017).

- ``gmf``, ``mlp``, ``neumf``: train one model on the ``rates`` edges (BCE on train positives
  plus ``--num-negatives`` fresh uniform negatives each epoch), early-stop on valid NDCG@K and
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

from graphrec.cli.common import at_least, bounded, load_graph, log, make_split, open_run, positive
from graphrec.cli.options import add_training_arguments, train_config
from graphrec.cli.training import (
    add_model_task_arguments,
    build_from_args,
    train_and_report,
    write_history,
)
from graphrec.models.ncf import GMF, MLP, NeuMF
from graphrec.presets import build_model
from graphrec.runs import RunDir

__all__ = ["add_arguments", "run", "sweep_model", "train_neumf_pretrained", "run_sweep"]

MODELS = {"gmf": GMF, "mlp": MLP, "neumf": NeuMF}

#: tasks of this module that train data-parallel under torchrun (graphrec.distributed);
#: neumf without --pretrain only
DATA_PARALLEL = ("gmf", "mlp", "neumf")


def add_arguments(parser) -> None:
    # build_parser passes the group "<task> options": tell the tasks apart by its title
    task = (getattr(parser, "title", None) or "neumf options").split()[0]
    if task == "sweep":
        _sweep_arguments(parser)
        return
    add_model_task_arguments(parser, MODELS[task])
    if task != "neumf":
        return
    parser.add_argument(
        "--pretrain",
        action="store_true",
        help="train GMF and MLP first (each with its own defaults) and start NeuMF from them",
    )
    parser.add_argument(
        "--alpha",
        type=bounded(float, 0, 1),
        default=0.5,
        help="--pretrain: weight of GMF's output layer (default 0.5)",
    )
    parser.add_argument(
        "--pretrain-epochs",
        type=at_least(1),
        default=None,
        help="--pretrain: maximum epochs of GMF and of MLP (default: theirs)",
    )
    parser.add_argument(
        "--finetune-lr",
        type=positive(),
        default=None,
        help="--pretrain: learning rate of the NeuMF stage (default: NeuMF's lr / 5)",
    )


def _sweep_arguments(parser) -> None:
    parser.add_argument(
        "--sweep-model",
        choices=sorted(MODELS),
        default="neumf",
        help="which model (default neumf)",
    )
    parser.add_argument(
        "--sweep-factors",
        type=at_least(1),
        nargs="+",
        default=[8, 16, 32, 64],
        help="predictive factors f to train: GMF embeddings of f, MLP embeddings of 2f under "
        "the tower 4f-2f-f (default 8 16 32 64)",
    )
    add_training_arguments(parser)  # defaults: the swept model's own, never early stopping


def sweep_model(name: str, split, factors: int, seed: int = 0):
    """GMF / MLP / NeuMF with ``factors`` predictive factors (the NCF paper's study)."""
    if name == "gmf":
        return build_model("GMF", split, seed=seed, embedding_dim=factors)
    if name == "mlp":
        return build_model("MLP", split, seed=seed, embedding_dim=2 * factors)
    return build_model(
        "NeuMF", split, seed=seed, embedding_dim=factors, mlp_embedding_dim=2 * factors
    )


def train_neumf_pretrained(split, args, run_dir: RunDir | None = None):
    """GMF and MLP (each with its own training defaults), then NeuMF from them, fine-tuned;
    returns ``(neumf, history, pretrain_info, seconds)``, ``seconds`` the wall time of the two
    pretraining fits."""
    t0 = time.perf_counter()
    shape = build_from_args(args, "NeuMF", split).hparams
    pre_cfg = train_config(args).replace(
        **{f: None for f in ("lr", "lr_decay", "weight_decay", "batch_size", "patience")},
        epochs=args.pretrain_epochs,
    )
    gmf = build_model("GMF", split, seed=args.seed, embedding_dim=shape["embedding_dim"])
    gmf.fit(split, pre_cfg)
    mlp = build_model(
        "MLP",
        split,
        seed=args.seed,
        embedding_dim=shape["mlp_embedding_dim"],
        layers=shape["layers"],
        dropout=shape["dropout"],
    )
    mlp.fit(split, pre_cfg)
    seconds = time.perf_counter() - t0
    info: dict[str, Any] = {}
    for name, m in (("gmf", gmf), ("mlp", mlp)):
        h = m.history
        info[name] = {**h.summary(), "best_valid_ndcg": h.best_score}
        log(
            args,
            f"pretrain {name}: best valid score {h.best_score:.4f} "
            f"(epoch {h.best_epoch}, {h.train_seconds:.1f}s)",
        )
        if run_dir is not None:
            k = h.config.get("eval_k", 10)
            write_history(h, run_dir, f"history_{name}", k=k, title=f"{name} pretraining")
    model = NeuMF.from_pretrained(gmf, mlp, alpha=args.alpha)
    cfg = train_config(args)
    lr = args.finetune_lr
    if lr is None:
        lr = (cfg.lr or model.training_defaults()["lr"]) / 5
    info["alpha"], info["finetune_lr"] = args.alpha, lr
    model.fit(split, cfg.replace(lr=lr))
    return model, model.history, info, seconds


def run(args) -> dict:
    task = args.task
    data = load_graph(args)
    split = make_split(args, data)
    run_dir = open_run(args, task)
    if task == "sweep":
        return run_sweep(split, args, run_dir)
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
        model = build_from_args(args, MODELS[task].__name__, split, data)
        metrics, _ = train_and_report(model, split, args, run_dir, task=task)
    if run_dir is not None:  # rank 0 (or the one process)
        run_dir.report()
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

    k = args.eval_k or 10
    histories, rows = {}, []
    cfg = train_config(args)
    if cfg.patience is None:
        cfg = cfg.replace(patience=0)  # the paper's curves: every epoch, no early stopping
    for f in args.sweep_factors:
        log(args, f"sweep: {args.sweep_model} with {f} factors")
        sub = RunDir("sweep", run_dir / f"factors-{f}")
        model = sweep_model(args.sweep_model, split, f, args.seed)
        metrics, h = train_and_report(model, split, args, sub, task="sweep", config=cfg)
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
        f"Best values over {h.config['epochs']} epochs; valid and test under `sampled` (1 + 99 "
        f"negatives) unless marked full; test is the best-valid-NDCG@{k} epoch. One seed: "
        f"differences of ~0.01 are within seed-to-seed noise.",
        "",
        f"Settings: {name}, MLP tower 4f-2f-f on 2f-d embeddings, batch "
        f"{h.config['batch_size']}, Adam lr {h.config['lr']:g} (decay "
        f"{h.config['lr_decay']:g}/epoch), weight decay {h.config['weight_decay']:g}, "
        f"{h.config['num_negatives']} negatives per positive.",
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
    run_dir.report()
    return summary


def _markdown(table) -> str:
    cols = list(table.columns)
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in table.to_dict("records"):
        cells = [f"{v:.4f}" if isinstance(v, float) else str(v) for v in r.values()]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)
