"""The benchmark: every model on the same split, several seeds, both protocols.

Each model of :data:`graphrec.presets.MODELS` is built with its defaults (and the data set's
presets) by :func:`graphrec.presets.build_model`, trained once per seed by its own ``fit``
with its own training defaults, and evaluated on the test set under ``sampled`` (the held-out
movie + 99 negatives never rated by the user, drawn from the seed, so every model of a seed
ranks the same candidates) and ``full`` (every movie except the user's train and valid ones).
No setting is the benchmark's own: what a user of the library gets is what is measured.
:func:`write_outputs` fills a folder with

- ``benchmark.csv``: one row per (model, seed): HR@K / NDCG@K under both protocols, train
  and evaluation seconds, epochs run and the best (restored) epoch;
- ``benchmark.md``: mean ± std over seeds per model, the model ranking under each protocol
  and whether the two agree (Kendall's tau), the settings and the total wall time;
- ``benchmark.png``: bar charts of the means with ± std error bars, one panel per protocol;
- ``metrics.json``: the same summary as JSON.

``python experiments/run.py --task benchmark`` (:mod:`graphrec.cli.benchmark`) runs it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "PROTOCOLS",
    "train_one",
    "run_benchmark",
    "summarise",
    "kendall_tau",
    "agreement",
    "markdown_table",
    "write_outputs",
    "plot_benchmark",
]

PROTOCOLS = ("sampled", "full")


def train_one(
    name: str,
    split,
    data,
    seed: int,
    *,
    device: str = "auto",
    progress: bool | None = None,
    max_epochs: int | None = None,
):
    """Build model ``name`` (its defaults and the data set's presets), fit it with its own
    training defaults from ``seed``; returns ``(model, train_seconds)``. ``max_epochs`` caps
    the model's epoch budget."""
    from graphrec.presets import MODELS, build_model
    from graphrec.train import TrainConfig

    cls_name, variant = MODELS[name] if name in MODELS else (name, {})
    model = build_model(cls_name, split, data, seed=seed, **variant)
    cfg = TrainConfig(seed=seed, device=device, progress=progress)
    if max_epochs is not None:
        ids = getattr(split, "ids", None)
        own = cfg.resolve(model, ids.dataset if ids else None).epochs
        cfg = cfg.replace(epochs=max(1, min(own, int(max_epochs))))
    t0 = time.perf_counter()
    model.fit(split, cfg)
    wall = time.perf_counter() - t0
    hist = model.history
    if hist is not None and hist.epochs:
        model.meta["training"] = {"best_epoch": hist.best_epoch, "epochs_run": len(hist.epochs)}
        return model, hist.train_seconds
    return model, wall


# ---------------------------------------------------------------------- running
def run_benchmark(
    split,
    data,
    models: Sequence[str] | None = None,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    *,
    k: int = 10,
    device: str = "auto",
    progress: bool | None = None,
    max_epochs: int | None = None,
    on_model_done: Callable[[list[dict]], None] | None = None,
) -> list[dict]:
    """Train and evaluate every model for every seed; returns one row per (model, seed).

    Args:
        split: the interaction split every model trains on.
        data: the graph (for models that read node attributes).
        models: names in :data:`graphrec.presets.MODELS` (default: all, in its order).
        seeds: the seeds; seed ``s`` fixes initialisation, negatives and the sampled
            protocol's candidates.
        k: the K of HR@K and NDCG@K.
        max_epochs: cap on each model's epoch budget (None: each model's own).
        on_model_done: called with all rows so far after each model (to write partial files).
    """
    from tqdm.auto import tqdm

    from graphrec.evaluate import evaluate
    from graphrec.presets import MODELS
    from graphrec.train import progress_enabled

    names = list(MODELS) if models is None else list(models)
    unknown = [m for m in names if m not in MODELS]
    if unknown:
        raise ValueError(f"unknown model(s) {unknown}; registered: {list(MODELS)}")
    rows: list[dict] = []
    for name in names:
        bar = tqdm(
            list(seeds), desc=f"{name:>12s}", unit="seed", disable=not progress_enabled(progress)
        )
        for seed in bar:
            # one bar at a time: the per-epoch bars of fit would nest under the seeds' bar
            model, train_s = train_one(
                name, split, data, seed, device=device, progress=False, max_epochs=max_epochs
            )
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
