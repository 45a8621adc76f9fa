"""Comparing attribution methods by numbers: agreement, faithfulness, readings, summaries.

- :func:`agreement`: Spearman rank correlation of ``|attribution|`` between every pair of
  methods, for one prediction (``local``) and for the mean ``|attribution|`` over a sample
  of edges (``global``).
- :func:`deletion_curves`: faithfulness. For each method, the variables of each edge are
  set to the reference row (the mean training row) in order of decreasing
  ``|attribution|``, one more at a time, and the prediction is recorded; a method whose
  ranking is faithful moves the prediction furthest with the fewest variables. The
  summary number is the area under the mean ``|f(x) - f(x with top-k removed)|`` curve
  (``deletion_auc``, rating units, higher is better), next to a random order's.
- :func:`agreement_reading`, :func:`faithfulness_reading`: each comparison's takeaway in
  one line (the figures' titles and the printed summary).
- :func:`plot_attributions`, :func:`plot_agreement`, :func:`plot_faithfulness`: the
  figures, defined in :mod:`graphrec.explain.figures` and importable from here.
- :func:`summary_text`: the readable summary (its lead names the same drivers as
  ``attributions.png``: :func:`graphrec.explain.reasons.contributions`);
  :func:`explanation_record`: the JSON.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from graphrec.explain.explainer import Attributions
from graphrec.explain.reasons import contributions, mean_abs_contributions, units

__all__ = [
    "spearman",
    "agreement",
    "deletion_curves",
    "faithfulness_summary",
    "agreement_reading",
    "faithfulness_reading",
    "summary_text",
    "explanation_record",
]


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


# ---------------------------------------------------------------------------- readings
def _agreement_level(rho: float) -> str:
    if rho >= 0.7:
        return "largely agree"
    if rho >= 0.4:
        return "partly agree"
    return "disagree"


def agreement_reading(agree: dict, key: str = "global") -> str:
    """The takeaway of one agreement matrix (``key``: ``local`` or ``global``), e.g.
    ``the methods largely agree on which features matter (mean pairwise Spearman 0.85;
    0.97 without Saliency, the odd one out at 0.54)``.

    A method is named the odd one out when its mean Spearman with the others is at least
    0.15 below the mean pairwise Spearman of the rest; ``""`` when ``key`` is missing or
    has fewer than two methods.
    """
    mat = agree.get(key)
    if not mat or len(mat) < 2:
        return ""
    names = list(mat)

    def mean_pairs(keep: list[str]) -> float:
        vals = [mat[a][b] for i, a in enumerate(keep) for b in keep[i + 1 :]]
        vals = [v for v in vals if not math.isnan(v)]
        return float(np.mean(vals)) if vals else math.nan

    overall = mean_pairs(names)
    if math.isnan(overall):
        return ""
    line = (
        f"the methods {_agreement_level(overall)} on which features matter (mean pairwise "
        f"Spearman {overall:.2f}"
    )
    if len(names) >= 3:
        per = {}
        for m in names:
            vals = [mat[m][o] for o in names if o != m and not math.isnan(mat[m][o])]
            per[m] = float(np.mean(vals)) if vals else math.nan
        odd = min((m for m in names if not math.isnan(per[m])), key=per.get, default=None)
        if odd is not None:
            rest = mean_pairs([m for m in names if m != odd])
            if not math.isnan(rest) and rest - per[odd] >= 0.15:
                line += f"; {rest:.2f} without {odd}, the odd one out at {per[odd]:.2f}"
    return line + ")"


def faithfulness_reading(summary: dict, k: int = 3, objective: str = "rating") -> str:
    """The takeaway of a :func:`faithfulness_summary`: which method's ranking moves the
    predictions most when its top ``k`` variables are reset to the reference, by how much
    against a random order, and which is slowest, e.g. ``resetting each method's top 3
    variables moves predictions by 0.19 rating points for DeepLift (IntegratedGradients,
    FeatureAblation within 2%) vs 0.04 for a random order; slowest: Saliency (0.14); largest
    area under the whole curve: DeepLift (0.204, random 0.122)``.

    ``k`` falls back to the largest of 1, 3, 5 the summary has; methods within 2% of the
    best count as tied with it.
    """
    methods = [m for m in summary if m != "random"]
    if not methods or "random" not in summary:
        return ""
    have = summary["random"]["change_after_top"]
    key = str(k) if str(k) in have else max(have, key=int, default=None)
    if key is None:
        return ""
    at = {m: summary[m]["change_after_top"][key] for m in methods}
    order = sorted(methods, key=lambda m: -at[m])
    best, rnd = order[0], have[key]
    tied = [m for m in order[1:] if at[m] >= 0.98 * at[best]]
    word = "variable" if key == "1" else "variables"
    line = (
        f"resetting each method's top {key} {word} moves predictions by {at[best]:.2f} "
        f"{units(objective)} for {best}"
    )
    if tied:
        line += f" ({', '.join(tied)} within 2%)"
    line += f" vs {rnd:.2f} for a random order"
    if len(order) > 1 and order[-1] not in tied:
        line += f"; slowest: {order[-1]} ({at[order[-1]]:.2f})"
    area = max(methods, key=lambda m: summary[m]["deletion_auc"])
    line += (
        f"; largest area under the whole curve: {area} ({summary[area]['deletion_auc']:.3f}, "
        f"random {summary['random']['deletion_auc']:.3f})"
    )
    return line


def __getattr__(name: str):
    """The figures live in :mod:`graphrec.explain.figures` (imported on first use)."""
    if name in ("plot_attributions", "plot_agreement", "plot_faithfulness"):
        from graphrec.explain import figures

        return getattr(figures, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ---------------------------------------------------------------------------- text + JSON
def summary_text(
    att: Attributions,
    user_label: str,
    movie_label: str,
    top: int = 3,
    objective: str = "rating",
) -> str:
    """The printed summary of one explained prediction (row 0 of ``att``).

    The lead reads ``the predicted rating 3.85 for user 196 / Kolya (1996) is driven mostly
    by the movie id embedding (+0.71), occupation=writer (-0.10), ...``: the ``top`` terms
    of :func:`graphrec.explain.reasons.contributions` (the decomposition with the id
    embeddings when ``att`` has one), in the model's output units, with the baseline they
    start from, the sum of the terms left out and the one-line reading. Then one line per
    method on the features (ids held fixed; Saliency as a sensitivity, not a
    contribution), the LayerIntegratedGradients id attributions and the reference row's
    prediction. A genre the movie lacks reads ``genre=Action absent``.
    """
    pred, ref = float(att.prediction[0]), float(att.reference_prediction[0])
    what = "predicted rating" if objective == "rating" else "score (logit)"
    unit = units(objective)
    shown = dict(
        zip(att.space.local_names(att.x[0]), att.space.display_names(att.x[0]), strict=True)
    )
    lines = []
    try:
        c = contributions(att, 0, top=top, objective=objective)
    except ValueError:
        c = None
    if c is not None:
        parts = ", ".join(
            f"{'the ' if n.endswith('id embedding') else ''}{n} ({v:+.2f})" for n, v in c.terms
        )
        rest = f"; {c.rest_count} other terms {c.rest:+.2f}" if c.rest_count else ""
        short = c.baseline_description.split(" (", 1)[0]
        lines.append(
            f"the {what} {pred:.2f} for {user_label} / {movie_label} is driven mostly by "
            f"{parts} ({unit}, from {c.baseline:.2f} for {short}{rest})"
        )
        lines.append(f"  reading: {c.reading()}")
        err = "" if c.completeness_error is None else f", error {c.completeness_error:+.3f}"
        lines.append(f"  baseline: {c.baseline_description}; terms: {c.method}{err}")
    else:
        lines.append(f"the {what} {pred:.2f} for {user_label} / {movie_label}")
    if att.methods:
        lines.append(f"  per method, features only (ids held fixed; {unit} vs. each baseline):")
    for m in att.methods:
        items = sorted(att.local(m).items(), key=lambda kv: -abs(kv[1]))[:top]
        if m == "Saliency":
            vals = ", ".join(f"{shown[n]} {a:.3f}" for n, a in items)
            lines.append(f"  {m:20s} {vals} (|d output / d feature|: a sensitivity, not a share)")
        else:
            lines.append(f"  {m:20s} " + ", ".join(f"{shown[n]} {a:+.3f}" for n, a in items))
    if att.ids:
        lines.append(
            f"  {'id embeddings (LIG)':20s} user_id {float(att.ids['user_id'][0]):+.3f}, "
            f"movie_id {float(att.ids['movie_id'][0]):+.3f} (vs. zero embeddings, features "
            f"kept: {float(att.ids['reference'][0]):.2f})"
        )
    lines.append(f"  reference row (mean training pair, this pair's ids) predicts {ref:.2f}")
    return "\n".join(lines)


def _f(t) -> float | None:
    v = float(t)
    return None if math.isnan(v) else v


def explanation_record(
    local: Attributions, global_: Attributions | None = None, objective: str = "rating"
) -> dict:
    """The ``explanations.json`` body: method -> feature -> attribution for the explained
    prediction, the prediction and its references, per-column and per-block values, the
    id attributions, completeness checks and timings, the global mean |attribution|, and
    (when ``local`` has one) the ``decomposition``: every term with the id embeddings, in
    ``units``, largest first."""
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
    if a.decomposition:
        c = contributions(a, 0, top=len(a.space) + 2, objective=objective)
        rec["decomposition"] = c.as_dict()
        rec["decomposition"]["groups"] = {
            b: float(v) for b, v in zip(a.space.blocks, a.decomposition["blocks"][0], strict=True)
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
        if g.decomposition:
            rec["global"]["decomposition"] = {
                "statistic": "mean |contribution| over the same edges",
                "units": units(objective),
                "terms": mean_abs_contributions(g),
            }
        if g.ids:
            rec["global"]["ids"] = {
                "user_id": float(g.ids["user_id"].abs().mean()),
                "movie_id": float(g.ids["movie_id"].abs().mean()),
            }
    return rec
