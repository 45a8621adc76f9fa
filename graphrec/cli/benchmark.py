"""``--task benchmark``: every model on the same split, several seeds, both protocols.

Each model in :data:`BUILDERS` is trained once per seed (``--seed`` .. ``--seed + --seeds - 1``)
on the same temporal split and evaluated on the test set under ``sampled`` (1 held-out
movie + 99 negatives never rated by the user, drawn from the seed, so every model of a seed
ranks the same candidates) and ``full`` (every movie except the user's train and valid ones)
ranking. The run folder gets:

- ``benchmark.csv``: one row per (model, seed): HR@K / NDCG@K under both protocols, train
  and evaluation seconds, epochs run and the best (restored) epoch; rewritten after every
  model, so an interrupted benchmark keeps what it finished;
- ``benchmark.md``: mean ± std over seeds per model, the model ranking under each protocol
  and whether the two agree (Kendall's tau), the settings and the total wall time;
- ``benchmark.png``: bar charts of the means with ± std error bars, one panel per protocol;
- ``metrics.json``: the same summary as JSON.

Adding a model: register a builder ``name -> callable(split, data, seed, device, progress,
**options) -> (fitted model, train_seconds)``::

    @register("FeatureMLP")
    def _feature_mlp(split, data, seed, device, progress, **options):
        torch.manual_seed(seed)
        model = FeatureMLP.from_graph(data, objective="ranking")
        t0 = time.perf_counter()
        model.fit(split, epochs=_epochs(20, options), seed=seed, device=device,
                  progress=progress)
        return model, time.perf_counter() - t0

``options`` holds ``max_epochs`` only when ``--max-epochs`` is given (a cap on each model's
own epoch budget); a builder that trains for epochs should honour it with :func:`_epochs`.
A builder may store ``{"best_epoch", "epochs_run"}`` in ``model.meta["training"]`` for the csv.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from graphrec.cli.common import at_least, load_graph, log, make_split, open_run

__all__ = [
    "BUILDERS",
    "Builder",
    "register",
    "run_benchmark",
    "summarise",
    "kendall_tau",
    "write_outputs",
    "add_arguments",
    "run",
]

#: ``(split, data, seed, device, progress, **options) -> (fitted model, train_seconds)``
Builder = Callable[..., tuple[Any, float]]
BUILDERS: dict[str, Builder] = {}
PROTOCOLS = ("sampled", "full")


def register(name: str) -> Callable[[Builder], Builder]:
    """Decorator: add a builder to :data:`BUILDERS` under ``name`` (the table's model name)."""

    def deco(fn: Builder) -> Builder:
        BUILDERS[name] = fn
        return fn

    return deco


def _epochs(default: int, options: dict[str, Any]) -> int:
    cap = options.get("max_epochs")
    return default if cap is None else max(1, min(default, int(cap)))


def _with_history(model, hist) -> tuple[Any, float]:
    model.meta["training"] = {"best_epoch": hist.best_epoch, "epochs_run": len(hist.epochs)}
    return model, hist.train_seconds


# ---------------------------------------------------------------------- the models
@register("ItemPop")
def _itempop(split, data, seed, device, progress, **options):
    from graphrec.models.pop import ItemPop

    t0 = time.perf_counter()
    model = ItemPop(split.num_users, split.num_movies).fit(split)
    return model, time.perf_counter() - t0


def _bpr_family(name: str):
    def build(split, data, seed, device, progress, **options):
        from graphrec.cli import lightgcn as task

        epochs = _epochs(task.DEFAULTS[name]["epochs"], options)
        model, hist = task.train(name, split, seed, device, progress, epochs=epochs)
        return _with_history(model, hist)

    return build


register("BPR-MF")(_bpr_family("bpr"))

#: NCF settings (the NCF tasks' defaults: 32 predictive factors, the paper's tower; 30
#: epochs rather than 20 because MLP sometimes still improves at epoch 20)
NCF_SETTINGS: dict[str, Any] = {
    "factors": 32,
    "epochs": 30,
    "batch_size": 4096,
    "lr": 5e-3,
    "negatives": 4,
    "patience": 5,
}


def _ncf(name: str):
    def build(split, data, seed, device, progress, **options):
        from graphrec.models import ncf
        from graphrec.train import fit_settings

        s = {**NCF_SETTINGS, "epochs": _epochs(NCF_SETTINGS["epochs"], options)}
        torch.manual_seed(seed)
        model = getattr(ncf, name)(split.num_users, split.num_movies, factors=s["factors"])
        hist = fit_settings(model, split, s, "bce", seed, device, progress)
        return _with_history(model, hist)

    return build


for _name in ("GMF", "MLP", "NeuMF"):
    register(_name)(_ncf(_name))


@register("AttentionNCF")
def _attention(split, data, seed, device, progress, **options):
    from graphrec.cli import attention as task

    epochs = _epochs(task.DEFAULTS["epochs"], options)
    model, hist = task.train(split, seed, device, progress, epochs=epochs)
    return _with_history(model, hist)


register("LightGCN")(_bpr_family("lightgcn"))

#: FeatureMLP as a recommender: the ``--task features`` model with the ranking objective
#: (node attributes + id embeddings, sampled negatives, early stopping on valid NDCG@10)
FEATURE_SETTINGS: dict[str, Any] = {
    "objective": "ranking",
    "batch_size": 4096,
    "lr": 5e-3,
    "patience": 5,
}


@register("FeatureMLP")
def _feature_mlp(split, data, seed, device, progress, **options):
    from graphrec.cli import features as task
    from graphrec.cli.common import task_defaults

    args = task_defaults(task, seed=seed, device=device, quiet=not progress, **FEATURE_SETTINGS)
    args.epochs = _epochs(args.epochs, options)
    model = task.build_model(data, args)
    hist = task.fit_model(model, split, args)
    return _with_history(model, hist)


@register("item2vec")
def _item2vec(split, data, seed, device, progress, **options):
    """``--task item2vec``'s defaults but for the movie graph, which is each movie's top 10
    with mutual edges x10, the projection chosen on valid NDCG@10 (on ML-100K the task's own
    default, top 6 x4, is chosen for similar movies and ranks users' items .014 valid NDCG@10
    worse; see :data:`graphrec.cli.item2vec.PROJECTION_DEFAULTS`). The user profile is the
    mean of their train movies' embeddings
    (:class:`~graphrec.models.item2vec_recommender.Item2VecRecommender`). Not selected on
    valid: skip-gram trains for its fixed number of epochs."""
    from graphrec.cli import item2vec as task
    from graphrec.cli.common import task_defaults
    from graphrec.io import resolve_device
    from graphrec.models.item2vec_recommender import Item2VecRecommender

    args = task_defaults(task, seed=seed, quiet=not progress, knn=10, mutual_weight=10.0)
    args.epochs = _epochs(args.epochs, options)
    t0 = time.perf_counter()
    res = task.train_item2vec(split, args, device=resolve_device(device))
    model = Item2VecRecommender.from_embeddings(res.emb, split)
    model.meta["training"] = {"best_epoch": args.epochs, "epochs_run": args.epochs}
    return model, time.perf_counter() - t0


# ---------------------------------------------------------------------- running
def run_benchmark(
    split,
    data,
    models: Sequence[str] | None = None,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    *,
    k: int = 10,
    device: str = "auto",
    progress: bool = True,
    max_epochs: int | None = None,
    on_model_done: Callable[[list[dict]], None] | None = None,
) -> list[dict]:
    """Train and evaluate every model for every seed; returns one row per (model, seed).

    Args:
        split: the interaction split every model trains on.
        data: the graph (for models that read node attributes).
        models: names in :data:`BUILDERS` (default: all, in registry order).
        seeds: the seeds; seed ``s`` fixes initialisation, negatives and the sampled
            protocol's candidates.
        k: the K of HR@K and NDCG@K.
        max_epochs: cap on each model's epoch budget (None: each model's own).
        on_model_done: called with all rows so far after each model (to write partial files).
    """
    from tqdm.auto import tqdm

    from graphrec.evaluate import evaluate

    names = list(BUILDERS) if models is None else list(models)
    unknown = [m for m in names if m not in BUILDERS]
    if unknown:
        raise ValueError(f"unknown model(s) {unknown}; registered: {list(BUILDERS)}")
    options = {} if max_epochs is None else {"max_epochs": max_epochs}
    rows: list[dict] = []
    for name in names:
        bar = tqdm(list(seeds), desc=f"{name:>12s}", unit="seed", disable=not progress)
        for seed in bar:
            model, train_s = BUILDERS[name](split, data, seed, device, progress, **options)
            row: dict[str, Any] = {"model": name, "seed": seed}
            t0 = time.perf_counter()
            for p in PROTOCOLS:
                m = evaluate(model, split, "test", p, k=k, seed=seed)
                row[f"{p}_hr@{k}"] = m[f"hr@{k}"]
                row[f"{p}_ndcg@{k}"] = m[f"ndcg@{k}"]
            row["train_seconds"] = round(float(train_s), 3)
            row["eval_seconds"] = round(time.perf_counter() - t0, 3)
            info = getattr(model, "meta", {}).get("training", {})
            row["epochs_run"] = info.get("epochs_run")
            row["best_epoch"] = info.get("best_epoch")
            rows.append(row)
            bar.set_postfix(ndcg=f"{row[f'sampled_ndcg@{k}']:.3f}/{row[f'full_ndcg@{k}']:.3f}")
        bar.close()
        if on_model_done is not None:
            on_model_done(rows)
    return rows


def metric_columns(k: int = 10) -> list[str]:
    return [f"{p}_{m}@{k}" for p in PROTOCOLS for m in ("hr", "ndcg")]


def summarise(rows: list[dict], k: int = 10) -> list[dict]:
    """Per model (first-seen order): ``seeds`` and ``<col>_mean`` / ``<col>_std`` (sample
    standard deviation; 0 for one seed) of every metric and of ``train_seconds``."""
    out: list[dict] = []
    order = list(dict.fromkeys(r["model"] for r in rows))
    for name in order:
        mine = [r for r in rows if r["model"] == name]
        s: dict[str, Any] = {"model": name, "seeds": len(mine)}
        for col in [*metric_columns(k), "train_seconds"]:
            vals = [float(r[col]) for r in mine]
            mean = sum(vals) / len(vals)
            var = sum((v - mean) ** 2 for v in vals) / (len(vals) - 1) if len(vals) > 1 else 0.0
            s[f"{col}_mean"], s[f"{col}_std"] = mean, math.sqrt(var)
        out.append(s)
    return out


def kendall_tau(a: Sequence[float], b: Sequence[float]) -> float:
    """Kendall's tau-b of two score lists (1: same order, -1: reversed)."""
    n = len(a)
    conc = disc = ties_a = ties_b = 0
    for i in range(n):
        for j in range(i + 1, n):
            da, db = a[i] - a[j], b[i] - b[j]
            if da == 0 and db == 0:
                continue
            if da == 0:
                ties_a += 1
            elif db == 0:
                ties_b += 1
            elif (da > 0) == (db > 0):
                conc += 1
            else:
                disc += 1
    denom = math.sqrt((conc + disc + ties_a) * (conc + disc + ties_b))
    return (conc - disc) / denom if denom else float("nan")


def ranking(summary: list[dict], col: str) -> list[str]:
    """Model names, best first, by ``<col>_mean``."""
    return [s["model"] for s in sorted(summary, key=lambda s: -s[f"{col}_mean"])]


def _pm(mean: float, std: float, digits: int = 3) -> str:
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def agreement(summary: list[dict], k: int = 10) -> dict[str, Any]:
    """Rankings under each protocol and Kendall's tau between them, for HR@K and NDCG@K."""
    out: dict[str, Any] = {}
    for m in ("hr", "ndcg"):
        a = [s[f"sampled_{m}@{k}_mean"] for s in summary]
        b = [s[f"full_{m}@{k}_mean"] for s in summary]
        rs, rf = ranking(summary, f"sampled_{m}@{k}"), ranking(summary, f"full_{m}@{k}")
        out[f"{m}@{k}"] = {
            "sampled": rs,
            "full": rf,
            "kendall_tau": kendall_tau(a, b) if len(summary) > 1 else float("nan"),
            "same_order": rs == rf,
        }
    return out


def markdown_table(summary: list[dict], k: int = 10) -> str:
    head = (
        f"| model | seeds | sampled HR@{k} | sampled NDCG@{k} | full HR@{k} | full NDCG@{k} "
        "| train s |"
    )
    lines = [head, "|---|---:|---:|---:|---:|---:|---:|"]
    for s in summary:
        cells = [_pm(s[f"{c}_mean"], s[f"{c}_std"]) for c in metric_columns(k)]
        t = _pm(s["train_seconds_mean"], s["train_seconds_std"], 1)
        lines.append(f"| {s['model']} | {s['seeds']} | " + " | ".join(cells) + f" | {t} |")
    return "\n".join(lines)


def write_outputs(
    out: str | Path, rows: list[dict], meta: dict[str, Any], k: int = 10, plot: bool = True
) -> dict[str, Any]:
    """Write benchmark.csv, benchmark.md, benchmark.png (``plot``) and return the summary."""
    import pandas as pd

    from graphrec.io import atomic_write, write_json

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_write(out / "benchmark.csv", "w") as fh:
        pd.DataFrame(rows).to_csv(fh, index=False, float_format="%.6g")
    summary = summarise(rows, k)
    agree = agreement(summary, k)
    md = [
        f"# Benchmark on {meta.get('dataset', '?')}",
        "",
        f"Test set, mean ± std over seeds {meta.get('seeds')}; every model trains on the same "
        "temporal leave-one-out split and is selected on valid NDCG@10 (sampled) with its best "
        "weights restored. `sampled`: the held-out movie against 99 movies the user never "
        "rated (the same candidates for every model of a seed); `full`: against every movie "
        "except the user's train and valid movies. Train seconds include per-epoch validation.",
        "",
        markdown_table(summary, k),
        "",
        "Ranking by mean (best first):",
        "",
    ]
    for metric, a in agree.items():
        same = "the same order" if a["same_order"] else "a different order"
        md += [
            f"- {metric} sampled: {' > '.join(a['sampled'])}",
            f"- {metric} full:    {' > '.join(a['full'])}",
            f"- {metric}: {same} (Kendall's tau {a['kendall_tau']:.2f})",
        ]
    settings = ", ".join(f"{key}={v}" for key, v in meta.items() if key != "title")
    md += ["", f"Settings: {settings}", ""]
    with atomic_write(out / "benchmark.md", "w") as fh:
        fh.write("\n".join(md))
    result = {"meta": meta, "summary": summary, "agreement": agree}
    write_json(out / "metrics.json", {"task": "benchmark", **result})
    if plot:
        plot_benchmark(summary, out / "benchmark.png", k, title=meta.get("title"))
    return result


def plot_benchmark(summary: list[dict], path: str | Path, k: int = 10, title=None) -> Path:
    """Bars of mean HR@K and NDCG@K with ± std, one panel per protocol."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from graphrec.viz import save_figure

    names = [s["model"] for s in summary]
    x = range(len(names))
    fig, axes = plt.subplots(2, 1, figsize=(max(7.0, 1.0 * len(names) + 2.5), 8.0))
    for ax, p in zip(axes, PROTOCOLS, strict=True):
        top = max(s[f"{p}_hr@{k}_mean"] + s[f"{p}_hr@{k}_std"] for s in summary)
        for off, (m, color) in zip(
            (-0.2, 0.2), (("hr", "#4c72b0"), ("ndcg", "#dd8452")), strict=True
        ):
            col = f"{p}_{m}@{k}"
            means = [s[f"{col}_mean"] for s in summary]
            stds = [s[f"{col}_std"] for s in summary]
            bars = ax.bar(
                [i + off for i in x],
                means,
                0.4,
                yerr=stds,
                capsize=3,
                color=color,
                label=f"{m.upper()}@{k}",
                error_kw={"elinewidth": 1},
            )
            for b, v, e in zip(bars, means, stds, strict=True):
                ax.text(
                    b.get_x() + b.get_width() / 2,
                    v + e + top * 0.01,
                    f"{v:.3f}",
                    ha="center",
                    va="bottom",
                    fontsize=7,
                )
        ax.set_xticks(list(x), names, fontsize=8)
        label = "held-out movie vs 99 sampled negatives" if p == "sampled" else "vs all movies"
        ax.set_title(f"{p}: {label}", fontsize=10)
        ax.set_ylim(0, top * 1.15)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8, loc="upper right", ncols=2)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return save_figure(fig, path, dpi=120)


# ---------------------------------------------------------------------- CLI
def add_arguments(parser) -> None:
    parser.add_argument(
        "--models",
        nargs="+",
        default=None,
        metavar="MODEL",
        help=f"models to run (default: all of {', '.join(BUILDERS)})",
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
    parser.add_argument(
        "--topk", type=at_least(1), default=10, help="K of HR@K and NDCG@K (default 10)"
    )
    parser.add_argument(
        "--threads",
        type=at_least(1),
        default=None,
        help="torch intra-op threads (default: torch's choice; 1 is much "
        "faster for these small models on a busy machine)",
    )


def run(args) -> dict:
    if args.models:
        unknown = [m for m in args.models if m not in BUILDERS]
        if unknown:
            raise SystemExit(f"unknown model(s) {unknown}; choose from {', '.join(BUILDERS)}")
    if args.threads:
        torch.set_num_threads(args.threads)
    t_start = time.perf_counter()
    data = load_graph(args)
    split = make_split(args, data)
    run_dir = open_run(args, "benchmark")
    seeds = list(range(args.seed, args.seed + args.seeds))
    k = args.topk
    meta: dict[str, Any] = {
        "dataset": args.dataset,
        "seeds": seeds,
        "k": k,
        "max_epochs": args.max_epochs,
        "threads": torch.get_num_threads(),
        "device": args.device,
    }

    def partial(rows: list[dict]) -> None:
        write_outputs(run_dir.path, rows, {**meta, "partial": True}, k, plot=False)

    rows = run_benchmark(
        split,
        data,
        args.models,
        seeds,
        k=k,
        device=args.device,
        progress=not args.quiet,
        max_epochs=args.max_epochs,
        on_model_done=partial,
    )
    meta["total_wall_seconds"] = round(time.perf_counter() - t_start, 1)
    meta["title"] = f"{args.dataset}: test HR@{k} / NDCG@{k}, mean ± std over {len(seeds)} seeds"
    result = write_outputs(run_dir.path, rows, meta, k)
    log(args, markdown_table(result["summary"], k))
    for metric, a in result["agreement"].items():
        log(
            args,
            f"{metric}: protocols {'agree' if a['same_order'] else 'disagree'} "
            f"(Kendall's tau {a['kendall_tau']:.2f})",
        )
    log(args, f"total wall time {meta['total_wall_seconds']:.0f} s")
    print(f"wrote {run_dir / 'benchmark.md'}, benchmark.csv, benchmark.png")
    return result
