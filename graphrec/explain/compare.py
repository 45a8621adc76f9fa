"""Comparing attribution methods by numbers: agreement, faithfulness, figures, summaries.

- :func:`agreement`: Spearman rank correlation of ``|attribution|`` between every pair of
  methods, for one prediction (``local``) and for the mean ``|attribution|`` over a sample
  of edges (``global``).
- :func:`deletion_curves`: faithfulness. For each method, the variables of each edge are
  set to the reference row (the mean training row) in order of decreasing
  ``|attribution|``, one more at a time, and the prediction is recorded; a method whose
  ranking is faithful moves the prediction furthest with the fewest variables. The
  summary number is the area under the mean ``|f(x) - f(x with top-k removed)|`` curve
  (``deletion_auc``, rating units, higher is better), next to a random order's.
- :func:`plot_attributions`, :func:`plot_agreement`, :func:`plot_faithfulness`: the
  figures ``attributions.png``, ``agreement.png``, ``faithfulness.png`` (matplotlib is
  imported inside them, with the Agg backend).
- :func:`summary_text`: the readable sentence; :func:`explanation_record`: the JSON.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from graphrec.explain.explainer import Attributions
from graphrec.viz import save_figure

__all__ = [
    "spearman",
    "agreement",
    "deletion_curves",
    "faithfulness_summary",
    "plot_attributions",
    "plot_agreement",
    "plot_faithfulness",
    "summary_text",
    "explanation_record",
]

#: the method whose signed values the summary sentence quotes, in order of preference
_SUMMARY_METHODS = ("IntegratedGradients", "SHAP", "DeepLift", "GradientShap", "FeatureAblation")


def _ranks(a: np.ndarray) -> np.ndarray:
    """Average ranks (ties share the mean rank), as in Spearman's rho."""
    order = np.argsort(a, kind="stable")
    ranks = np.empty(len(a), dtype=np.float64)
    sorted_a = a[order]
    i = 0
    while i < len(a):
        j = i
        while j + 1 < len(a) and sorted_a[j + 1] == sorted_a[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0
        i = j + 1
    return ranks


def spearman(a, b) -> float:
    """Spearman rank correlation of two equal-length vectors (NaN if either is constant)."""
    ra, rb = _ranks(np.asarray(a, dtype=np.float64)), _ranks(np.asarray(b, dtype=np.float64))
    ra, rb = ra - ra.mean(), rb - rb.mean()
    den = math.sqrt(float((ra**2).sum() * (rb**2).sum()))
    return float((ra * rb).sum() / den) if den > 0 else float("nan")


def _matrix(vectors: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    names = list(vectors)
    return {a: {b: spearman(vectors[a], vectors[b]) for b in names} for a in names}


def agreement(local: Attributions | None, global_: Attributions | None) -> dict:
    """``{"local": {m1: {m2: rho}}, "global": {...}, "mean_pairwise": {...}}`` on
    ``|attribution|`` per variable (local: the first explained edge; global: the mean
    over the sample)."""
    out: dict = {"statistic": "spearman rank correlation of |attribution| per variable"}
    for key, att in (("local", local), ("global", global_)):
        if att is None or not att.methods:
            continue
        if key == "local":
            vecs = {m: att.variables[m][0].abs().numpy() for m in att.methods}
        else:
            vecs = {m: att.variables[m].abs().mean(0).numpy() for m in att.methods}
        mat = _matrix(vecs)
        out[key] = mat
        pairs = [mat[a][b] for i, a in enumerate(mat) for b in list(mat)[i + 1 :]]
        pairs = [p for p in pairs if not math.isnan(p)]
        out.setdefault("mean_pairwise", {})[key] = float(np.mean(pairs)) if pairs else None
    return out


@torch.no_grad()
def deletion_curves(model, att: Attributions, random_orders: int = 5, seed: int = 0) -> dict:
    """Predictions as the top-k variables (by ``|attribution|``) are set to the reference.

    Returns ``{"k": [0..V], "curves": {method: [N, V + 1] predictions}, "random":
    [N, V + 1]`` (the mean over ``random_orders`` random orders)}``.
    """
    model.eval()
    space, x = att.space, att.x.to(model.user_x.device)
    users, movies = att.users.to(x.device), att.movies.to(x.device)
    n, v = x.size(0), len(space)
    ref = att.reference_row.to(x)

    def curve(order: Tensor) -> Tensor:  # order [N, V] variable indices, most important first
        rows = []
        drop = torch.zeros(n, v, dtype=torch.bool, device=x.device)
        rows.append(model(x, users, movies).cpu())
        for k in range(v):
            drop[torch.arange(n), order[:, k].to(x.device)] = True
            rows.append(model(space.remove(x, drop, ref), users, movies).cpu())
        return torch.stack(rows, 1)

    curves = {
        m: curve(torch.argsort(att.variables[m].abs(), dim=1, descending=True, stable=True))
        for m in att.methods
    }
    gen = torch.Generator().manual_seed(seed)
    rand = [
        curve(torch.argsort(torch.rand(n, v, generator=gen), dim=1)) for _ in range(random_orders)
    ]
    return {"k": list(range(v + 1)), "curves": curves, "random": torch.stack(rand).mean(0)}


def faithfulness_summary(curves: dict) -> dict:
    """``{method: {"deletion_auc", "change_after_top", "mean_abs_change": [V + 1]}}`` plus
    ``random``: the mean ``|f(x) - f(x_k)|`` per k over the edges, its mean over k and its
    value after the top 1, 3 and 5 variables (higher: more faithful)."""
    out = {}
    items = [*curves["curves"].items(), ("random", curves["random"])]
    for m, c in items:
        change = (c - c[:, :1]).abs().mean(0)
        out[m] = {
            "deletion_auc": float(change.mean()),
            "change_after_top": {str(k): float(change[k]) for k in (1, 3, 5) if k < len(change)},
            "mean_abs_change": change.tolist(),
        }
    return out


# ---------------------------------------------------------------------------- figures
def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _normalised(values: np.ndarray) -> np.ndarray:
    top = np.abs(values).max()
    return values / top if top > 0 else values


def plot_attributions(
    local: Attributions | None,
    global_: Attributions | None,
    path: str | os.PathLike,
    top: int = 10,
    title: str = "",
) -> Path:
    """Grouped bars of the top variables across all methods: signed attributions of one
    prediction (top panel) and mean ``|attribution|`` over a sample (bottom panel), each
    method scaled to its own largest value so that the methods share an axis."""
    plt = _pyplot()
    panels = [(k, a) for k, a in (("local", local), ("global", global_)) if a is not None]
    fig, axes = plt.subplots(len(panels), 1, figsize=(12, 4.2 * len(panels)), squeeze=False)
    for ax, (key, att) in zip(axes[:, 0], panels, strict=True):
        methods = att.methods
        if key == "local":
            names = att.space.display_names(att.x[0])
            vals = {m: _normalised(att.variables[m][0].numpy()) for m in methods}
        else:
            names = att.space.names
            vals = {m: _normalised(att.variables[m].abs().mean(0).numpy()) for m in methods}
        score = np.mean([np.abs(v) for v in vals.values()], axis=0)
        pick = np.argsort(-score, kind="stable")[:top]
        width = 0.8 / max(len(methods), 1)
        xs = np.arange(len(pick))
        for i, m in enumerate(methods):
            ax.bar(xs + (i - (len(methods) - 1) / 2) * width, vals[m][pick], width, label=m)
        ax.set_xticks(xs, [names[j] for j in pick], rotation=30, ha="right")
        ax.axhline(0, color="black", lw=0.6)
        if key == "local":
            u, mv = int(att.users[0]), int(att.movies[0])
            ax.set_title(
                f"{title or f'user {u}, movie {mv}'}: prediction {float(att.prediction[0]):.2f}"
                f" (reference {float(att.reference_prediction[0]):.2f}); signed, / max |.|"
            )
            ax.set_ylabel("attribution / method's max |attribution|")
        else:
            ax.set_title(f"global: mean |attribution| over {len(att)} test edges, / max")
            ax.set_ylabel("mean |attribution| / method's max")
        ax.legend(fontsize=8, ncol=4)
    fig.tight_layout()
    return save_figure(fig, path, dpi=120, bbox_inches="tight")


def plot_agreement(agree: dict, path: str | os.PathLike) -> Path:
    """Heatmaps of the Spearman matrices (local and global)."""
    plt = _pyplot()
    keys = [k for k in ("local", "global") if k in agree]
    fig, axes = plt.subplots(1, len(keys), figsize=(6.2 * len(keys), 5.2), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        names = list(agree[key])
        mat = np.array([[agree[key][a][b] for b in names] for a in names], dtype=float)
        im = ax.imshow(mat, vmin=-1, vmax=1, cmap="RdBu")
        ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(len(names)), names, fontsize=8)
        for i in range(len(names)):
            for j in range(len(names)):
                txt = "-" if math.isnan(mat[i, j]) else f"{mat[i, j]:.2f}"
                ax.text(j, i, txt, ha="center", va="center", fontsize=7)
        mean = agree.get("mean_pairwise", {}).get(key)
        sub = f" (mean pairwise {mean:.2f})" if mean is not None else ""
        ax.set_title(f"{key}: Spearman of |attribution|{sub}", fontsize=10)
        fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    return save_figure(fig, path, dpi=120, bbox_inches="tight")


def plot_faithfulness(
    local_curves: dict | None, global_curves: dict | None, path: str | os.PathLike
) -> Path:
    """Deletion curves: the prediction of one edge (left) and the mean absolute change over
    the sample (right) as the top-k variables of each method are set to the reference."""
    plt = _pyplot()
    panels = [(k, c) for k, c in (("local", local_curves), ("global", global_curves)) if c]
    fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 4.5), squeeze=False)
    for ax, (key, c) in zip(axes[0], panels, strict=True):
        k = c["k"]
        summ = faithfulness_summary(c)
        for m, cur in c["curves"].items():
            y = cur[0] if key == "local" else (cur - cur[:, :1]).abs().mean(0)
            ax.plot(k, y.numpy(), marker=".", label=f"{m} ({summ[m]['deletion_auc']:.3f})")
        r = c["random"]
        y = r[0] if key == "local" else (r - r[:, :1]).abs().mean(0)
        lab = f"random order ({summ['random']['deletion_auc']:.3f})"
        ax.plot(k, y.numpy(), "k--", label=lab)
        ax.set_xlabel("variables set to the reference (most important first)")
        if key == "local":
            ax.set_ylabel("prediction")
            ax.set_title("one prediction: deletion curve (legend: area under |change|)")
        else:
            ax.set_ylabel("mean |prediction change|")
            ax.set_title(f"{c['curves'][next(iter(c['curves']))].size(0)} edges: deletion curves")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, path, dpi=120, bbox_inches="tight")


# ---------------------------------------------------------------------------- text + JSON
def summary_text(
    att: Attributions,
    user_label: str,
    movie_label: str,
    top: int = 3,
    objective: str = "rating",
) -> str:
    """``the predicted rating 4.1 for user 196 / Kolya (1996) is driven mostly by
    genre=Comedy (+0.40), age (-0.20) ...`` plus one line per method and the id
    attributions; a genre the movie lacks reads ``not genre=Action``."""
    pred, ref = float(att.prediction[0]), float(att.reference_prediction[0])
    what = "predicted rating" if objective == "rating" else "score (logit)"
    lines = []
    lead = next((m for m in _SUMMARY_METHODS if m in att.variables), None)
    if lead is None and att.methods:
        lead = att.methods[0]
    shown = dict(
        zip(att.space.local_names(att.x[0]), att.space.display_names(att.x[0]), strict=True)
    )
    if lead is not None:
        items = sorted(att.local(lead).items(), key=lambda kv: -abs(kv[1]))[:top]
        parts = ", ".join(f"{shown[n]} ({a:+.2f})" for n, a in items)
        base = float(att.references[lead][0])
        base_txt = "" if math.isnan(base) else f", relative to {base:.2f} for the reference"
        lines.append(
            f"the {what} {pred:.2f} for {user_label} / {movie_label} is driven mostly by "
            f"{parts} ({lead}{base_txt})"
        )
    else:
        lines.append(f"the {what} {pred:.2f} for {user_label} / {movie_label}")
    for m in att.methods:
        items = sorted(att.local(m).items(), key=lambda kv: -abs(kv[1]))[:top]
        lines.append(f"  {m:20s} " + ", ".join(f"{shown[n]} {a:+.3f}" for n, a in items))
    if att.ids:
        lines.append(
            f"  {'id embeddings (LIG)':20s} user_id {float(att.ids['user_id'][0]):+.3f}, "
            f"movie_id {float(att.ids['movie_id'][0]):+.3f} (vs. zero embeddings: "
            f"{float(att.ids['reference'][0]):.2f})"
        )
    lines.append(f"  reference row (mean training pair) predicts {ref:.2f}")
    return "\n".join(lines)


def _f(t) -> float | None:
    v = float(t)
    return None if math.isnan(v) else v


def explanation_record(local: Attributions, global_: Attributions | None = None) -> dict:
    """The ``explanations.json`` body: method -> feature -> attribution for the explained
    prediction, the prediction and its references, per-column and per-block values, the
    id attributions, completeness checks and timings, and the global mean |attribution|."""
    a = local
    rec: dict = {
        "prediction": float(a.prediction[0]),
        "baseline": {
            "description": "reference row = mean feature row of the training edges",
            "prediction": float(a.reference_prediction[0]),
            "features": {
                n: float(v) for n, v in zip(a.space.column_names, a.reference_row, strict=True)
            },
        },
        "attributions": {m: a.local(m) for m in a.methods},
        "values": {  # the explained row's value of each variable (category: 1 = active)
            n: float(a.x[0, v.columns].max()) if v.kind == "onehot" else float(a.x[0, v.columns[0]])
            for n, v in zip(a.space.local_names(a.x[0]), a.space.variables, strict=True)
        },
        "references": {m: _f(a.references[m][0]) for m in a.methods},
        "groups": {
            m: {b: float(v) for b, v in zip(a.space.blocks, a.blocks[m][0], strict=True)}
            for m in a.methods
        },
        "columns": {
            m: {c: float(v) for c, v in zip(a.space.column_names, a.columns[m][0], strict=True)}
            for m in a.columns
        },
        "checks": {m: {"completeness_error": _f(a.deltas[m][0])} for m in a.deltas},
        "seconds": {m: round(s, 4) for m, s in a.seconds.items()},
    }
    if "LIME" in a.extra:
        e = a.extra["LIME"]
        names = a.space.local_names(a.x[0])
        rec["lime"] = {
            "weights": {n: float(w) for n, w in zip(names, e["weights"][0], strict=True)},
            "r2": float(e["score"][0]),
            "local_prediction": float(e["local_prediction"][0]),
        }
    if a.ids:
        rec["ids"] = {
            "method": "LayerIntegratedGradients",
            "user_id": float(a.ids["user_id"][0]),
            "movie_id": float(a.ids["movie_id"][0]),
            "reference_prediction": float(a.ids["reference"][0]),
            "reference": "both id embeddings zero, features unchanged",
            "completeness_error": float(a.ids["delta"][0]),
        }
    if global_ is not None:
        g = global_
        rec["global"] = {
            "edges": len(g),
            "statistic": "mean |attribution| over a seeded sample of test edges",
            "attributions": {m: g.mean_abs(m) for m in g.methods},
            "groups": {m: g.mean_abs_blocks(m) for m in g.methods},
            "seconds": {m: round(s, 4) for m, s in g.seconds.items()},
            "max_abs_completeness_error": {
                m: _f(d.abs().max()) for m, d in g.deltas.items() if not torch.isnan(d).all()
            },
        }
        if g.ids:
            rec["global"]["ids"] = {
                "user_id": float(g.ids["user_id"].abs().mean()),
                "movie_id": float(g.ids["movie_id"].abs().mean()),
            }
    return rec
