"""The benchmark: every model on the same split, several seeds, both protocols.

Each model of :data:`graphrec.presets.MODELS` is built with its defaults (and the data set's
presets) by :func:`graphrec.presets.build_model`, trained once per seed by its own ``fit``
with its own training defaults, and evaluated on the test set under ``sampled`` (the held-out
movie + 99 negatives never rated by the user, drawn from the seed, so every model of a seed
ranks the same candidates) and ``full`` (every movie except the user's train and valid ones).
No setting is the benchmark's own: what a user of the library gets is what is measured.
:func:`write_outputs` fills a folder with

- ``benchmark.csv``: one row per (model, seed): HR@K / NDCG@K under both protocols, the
  beyond-accuracy measures of the ``full`` protocol's top-K lists (catalogue coverage@K,
  average popularity@K, novelty@K: :func:`graphrec.metrics.beyond_accuracy`), train and
  evaluation seconds, epochs run and the best (restored) epoch;
- ``benchmark.md``: mean ± std over seeds per model, the p-value of each model against the
  best one on NDCG@K under each protocol (:func:`significance`: Wilcoxon signed-rank, paired
  over (seed, user)), the model ranking under each protocol and whether the two agree
  (Kendall's tau), the split, the settings and the total wall time;
- ``benchmark.png``: bar charts of the means with ± std error bars, one panel per protocol;
- ``metrics.json``: the same summary as JSON (with the significance tests);
- ``benchmark_users.npz``: the per-user NDCG@K vectors behind the tests, one array per
  (model, seed, protocol) named ``model|seed|protocol``.

``python experiments/run.py --task benchmark`` (:mod:`graphrec.cli.benchmark`) runs it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

__all__ = [
    "PROTOCOLS",
    "train_one",
    "run_benchmark",
    "summarise",
    "kendall_tau",
    "agreement",
    "significance",
    "BEYOND",
    "markdown_table",
    "write_outputs",
    "plot_benchmark",
]

PROTOCOLS = ("sampled", "full")
#: the beyond-accuracy measures of the ``full`` protocol's top-K lists (column stems)
BEYOND = ("coverage", "avg_popularity", "novelty")
#: how the significance column is computed (named in benchmark.md)
TEST_NAME = "Wilcoxon signed-rank, paired over (seed, user)"


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
    per_user: dict | None = None,
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
        per_user: a dict to fill with ``{(model, seed, protocol): [U] float64 numpy array}``,
            each test user's NDCG@K (the users in the split's order, the same for every model
            of a seed), for :func:`significance`; None keeps none.

    The beyond-accuracy columns (``coverage@K``, ``avg_popularity@K``, ``novelty@K``) are
    measured on the ``full`` protocol's top-K list of every evaluated test user, with the
    split's train interactions as popularity (:func:`graphrec.metrics.beyond_accuracy`).
    """
    from tqdm.auto import tqdm

    from graphrec.evaluate import evaluate_ranks, full_ranking
    from graphrec.metrics import beyond_accuracy, ndcg_per_user, ranking_metrics
    from graphrec.presets import MODELS
    from graphrec.train import progress_enabled

    names = list(MODELS) if models is None else list(models)
    unknown = [m for m in names if m not in MODELS]
    if unknown:
        raise ValueError(f"unknown model(s) {unknown}; registered: {list(MODELS)}")
    rows: list[dict] = []
    if names:
        popularity = split.train_degree()
        train_users = int((torch.bincount(split.train[0], minlength=split.num_users) > 0).sum())
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
            beyond: dict[str, float] = {}
            for p in PROTOCOLS:
                # the ranks of graphrec.evaluate.evaluate, kept per user; full also gives lists
                if p == "sampled":
                    ranks = evaluate_ranks(model, split, "test", p, seed=seed)
                else:
                    ranks, top = full_ranking(model, split, "test", k)
                    beyond = beyond_accuracy(top, popularity, train_users, k)
                m = ranking_metrics(ranks, k)
                row[f"{p}_hr@{k}"] = m[f"hr@{k}"]
                row[f"{p}_ndcg@{k}"] = m[f"ndcg@{k}"]
                if per_user is not None:
                    per_user[(name, seed, p)] = ndcg_per_user(ranks, k).numpy()
            row.update(beyond)
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


def beyond_columns(k: int = 10) -> list[str]:
    return [f"{b}@{k}" for b in BEYOND]


def summarise(rows: list[dict], k: int = 10) -> list[dict]:
    """Per model (first-seen order): ``seeds`` and ``<col>_mean`` / ``<col>_std`` (sample
    standard deviation; 0 for one seed) of every metric, of the beyond-accuracy columns
    where every row of the model has them, and of ``train_seconds``."""
    out: list[dict] = []
    order = list(dict.fromkeys(r["model"] for r in rows))
    for name in order:
        mine = [r for r in rows if r["model"] == name]
        s: dict[str, Any] = {"model": name, "seeds": len(mine)}
        extra = [c for c in beyond_columns(k) if all(c in r for r in mine)]
        for col in [*metric_columns(k), *extra, "train_seconds"]:
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


def significance(
    summary: list[dict], per_user: dict, k: int = 10, metric: str = "ndcg"
) -> dict[str, dict[str, Any]]:
    """Each model against the best one, per protocol, on the per-user ``metric``@K.

    The best model of a protocol is the one with the highest mean (``<p>_<metric>@K_mean``
    of ``summary``). For every other model the per-user values of each seed both models ran
    are paired user by user ((seed, user) pairs, seeds pooled: every model of a seed ranks
    the same users) and compared by the Wilcoxon signed-rank test
    (``scipy.stats.wilcoxon``, two-sided, its default ``zero_method="wilcox"``: pairs with
    no difference are dropped). Identical vectors (no pair differs) get p = 1.

    Args:
        summary: :func:`summarise` of the rows.
        per_user: ``{(model, seed, protocol): [U] array}`` (:func:`run_benchmark`).

    Returns ``{protocol: {"metric", "best", "test", "pairs": {model: n}, "p": {model: p}}}``,
    ``p`` None for the best model itself and for a model that shares no seed with it.
    """
    import numpy as np
    from scipy.stats import wilcoxon

    out: dict[str, dict[str, Any]] = {}
    for p in PROTOCOLS:
        col = f"{p}_{metric}@{k}"
        if not summary:
            continue
        best = ranking(summary, col)[0]
        pvals: dict[str, float | None] = {}
        pairs: dict[str, int] = {}
        for s in summary:
            name = s["model"]
            if name == best:
                pvals[name] = None
                continue
            seeds = sorted(
                {sd for (m, sd, pr) in per_user if m == name and pr == p}
                & {sd for (m, sd, pr) in per_user if m == best and pr == p}
            )
            if not seeds:
                pvals[name] = None
                continue
            a = np.concatenate([np.asarray(per_user[(best, sd, p)]) for sd in seeds])
            b = np.concatenate([np.asarray(per_user[(name, sd, p)]) for sd in seeds])
            if a.shape != b.shape:
                raise ValueError(f"{best} and {name} were evaluated on different users ({p})")
            pairs[name] = int(a.size)
            pvals[name] = 1.0 if not np.any(a != b) else float(wilcoxon(a, b).pvalue)
        out[p] = {
            "metric": f"{metric}@{k}",
            "best": best,
            "test": f"{TEST_NAME}, vs {best}",
            "pairs": pairs,
            "p": pvals,
        }
    return out


def _p(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.2g}" if value >= 1e-4 else f"{value:.1e}"


def markdown_table(summary: list[dict], k: int = 10, sig: dict | None = None) -> str:
    """The table of means ± std; the beyond-accuracy columns where the summary has them, and
    one p-value column per protocol where ``sig`` (:func:`significance`) is given."""
    beyond = [c for c in beyond_columns(k) if summary and all(f"{c}_mean" in s for s in summary)]
    names = {
        f"coverage@{k}": f"coverage@{k}",
        f"avg_popularity@{k}": f"avg pop@{k}",
        f"novelty@{k}": f"novelty@{k}",
    }
    head = (
        f"| model | seeds | sampled HR@{k} | sampled NDCG@{k} | full HR@{k} | full NDCG@{k} "
        + "".join(f"| {names[c]} " for c in beyond)
        + "".join(f"| p {p} NDCG@{k} " for p in PROTOCOLS if sig and p in sig)
        + "| train s |"
    )
    ncols = 4 + len(beyond) + sum(1 for p in PROTOCOLS if sig and p in sig)
    lines = [head, "|---|---:|" + "---:|" * ncols + "---:|"]
    for s in summary:
        cells = [_pm(s[f"{c}_mean"], s[f"{c}_std"]) for c in metric_columns(k)]
        for c in beyond:
            digits = 1 if c.startswith("avg_popularity") else (2 if c.startswith("nov") else 3)
            cells.append(_pm(s[f"{c}_mean"], s[f"{c}_std"], digits))
        for p in PROTOCOLS:
            if sig and p in sig:
                cells.append(_p(sig[p]["p"].get(s["model"])))
        t = _pm(s["train_seconds_mean"], s["train_seconds_std"], 1)
        lines.append(f"| {s['model']} | {s['seeds']} | " + " | ".join(cells) + f" | {t} |")
    return "\n".join(lines)


def beyond_note(summary: list[dict], k: int = 10) -> list[str]:
    """The lines that define the beyond-accuracy columns, where ``summary`` has them."""
    if not any(f"{c}_mean" in s for s in summary for c in beyond_columns(k)):
        return []
    return [
        f"Beyond accuracy, on the `full` protocol's top-{k} list of every test user: "
        f"coverage@{k} = fraction of all movies in at least one user's top-{k} "
        f"(PyG `LinkPredCoverage`); avg pop@{k} = mean number of train interactions of "
        f"the recommended movies (PyG `LinkPredAveragePopularity`); novelty@{k} = mean "
        "self-information -log2(train interactions / train users) of the recommended "
        "movies, in bits.",
        "",
    ]


def split_description(meta: dict[str, Any]) -> str:
    """The split named in ``meta`` (``split``, ``cuts``), as benchmark.md's header says it."""
    kind = meta.get("split", "leave-one-out")
    if kind == "global-time":
        c = meta.get("cuts") or {}
        tv = f" (t = {c['t_valid']})" if "t_valid" in c else ""
        tt = f" (t = {c['t_test']})" if "t_test" in c else ""
        return (
            "global temporal split (one cut time for every user: train = positives before the "
            f"{c.get('valid_quantile', 0.8):g} quantile of all rating times{tv}; valid = each "
            "user's first positive between that cut and the "
            f"{c.get('test_quantile', 0.9):g} quantile{tt}; test = each user's first positive "
            "after it)"
        )
    return "temporal leave-one-out split"


def write_outputs(
    out: str | Path,
    rows: list[dict],
    meta: dict[str, Any],
    k: int = 10,
    plot: bool = True,
    per_user: dict | None = None,
) -> dict[str, Any]:
    """Write benchmark.csv, benchmark.md, benchmark.png (``plot``) and return the summary.

    With ``per_user`` (filled by :func:`run_benchmark`) also the significance of every model
    against the best (:func:`significance`, in benchmark.md and metrics.json) and the per-user
    vectors in ``benchmark_users.npz``. ``meta["split"]`` / ``meta["cuts"]`` name the split
    (default: temporal leave-one-out)."""
    import pandas as pd

    from graphrec.io import atomic_write, write_json

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_write(out / "benchmark.csv", "w") as fh:
        pd.DataFrame(rows).to_csv(fh, index=False, float_format="%.6g")
    summary = summarise(rows, k)
    agree = agreement(summary, k)
    sig = significance(summary, per_user, k) if per_user else None
    if per_user:
        import numpy as np

        arrays = {f"{m}|{sd}|{p}": np.asarray(v) for (m, sd, p), v in per_user.items()}
        with atomic_write(out / "benchmark_users.npz", "wb") as fh:
            np.savez_compressed(fh, **arrays)
    excluded = (
        "except the user's train and valid movies"
        if meta.get("split", "leave-one-out") == "leave-one-out"
        else "except the user's train and valid movies and the user's other movies after the cut"
    )
    md = [
        f"# Benchmark on {meta.get('dataset', '?')}",
        "",
        f"Test set, mean ± std over seeds {meta.get('seeds')}; every model trains on the same "
        f"{split_description(meta)} and is selected on valid NDCG@10 (sampled) with its best "
        "weights restored. `sampled`: the held-out movie against 99 movies the user never "
        "rated (the same candidates for every model of a seed); `full`: against every movie "
        f"{excluded}. Train seconds include per-epoch validation.",
        "",
        markdown_table(summary, k, sig),
        "",
    ]
    md += beyond_note(summary, k)
    if sig:
        for p, t in sig.items():
            md.append(f"- p {p} NDCG@{k}: {t['test']} (two-sided; {t['best']}'s own row: —)")
        md.append("")
    md += [
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
    if sig:
        result["significance"] = sig
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
