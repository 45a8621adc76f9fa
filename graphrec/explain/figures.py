"""The explanation figures: ``attributions.png``, ``agreement.png``, ``faithfulness.png``.

Each figure states its units on the axes and its takeaway in the title, from the same
functions the printed summary uses (:func:`graphrec.explain.reasons.contributions`,
:func:`~graphrec.explain.compare.agreement_reading`,
:func:`~graphrec.explain.compare.faithfulness_reading`), so figure and text name the same
drivers. matplotlib is imported inside the functions, with the Agg backend.

- :func:`plot_attributions`: (1) the prediction split into the baseline plus signed terms
  in the model's output units (rating points), the id embeddings included and the terms
  not shown summed in one bar; (2) the feature methods side by side on one axis in the
  same units (ids held fixed), with Saliency, a gradient magnitude and not a share of the
  prediction, on a panel of its own; (3) the global view, mean ``|contribution|`` over the
  sampled test edges.
- :func:`plot_agreement`: the Spearman matrices with annotated cells, the diagonal (always
  1) greyed out and a colour scale over the range the off-diagonal cells span, stated on
  the colour bar (diverging around 0 when some pair disagrees).
- :func:`plot_faithfulness`: deletion curves with one colour, marker and line style per
  method, and the same curves minus a random order's, where the methods separate.
"""

from __future__ import annotations

import math
import os
import textwrap
from collections import Counter
from pathlib import Path

import numpy as np

from graphrec.explain.compare import agreement_reading, faithfulness_reading, faithfulness_summary
from graphrec.explain.explainer import Attributions
from graphrec.explain.reasons import (
    ID_LABELS,
    contributions,
    mean_abs_contributions,
    units,
)
from graphrec.viz import save_figure

__all__ = ["plot_attributions", "plot_agreement", "plot_faithfulness", "METHOD_STYLE"]

#: one colour, marker and line style per method, shared by every figure
METHOD_STYLE = {
    "IntegratedGradients": {"color": "C0", "marker": "o", "linestyle": "-"},
    "DeepLift": {"color": "C1", "marker": "s", "linestyle": "--"},
    "GradientShap": {"color": "C2", "marker": "^", "linestyle": "-."},
    "FeatureAblation": {"color": "C3", "marker": "D", "linestyle": ":"},
    "Saliency": {"color": "C4", "marker": "v", "linestyle": "-"},
    "SHAP": {"color": "C5", "marker": "P", "linestyle": "--"},
    "LIME": {"color": "C6", "marker": "X", "linestyle": "-."},
}
_UP, _DOWN, _REST, _IDS = "#1a9850", "#d73027", "#9e9e9e", "#4a6fa5"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _style(method: str, i: int) -> dict:
    markers, lines = "o^sDvPX*", ["-", "--", "-.", ":"]
    return METHOD_STYLE.get(
        method, {"color": f"C{i % 10}", "marker": markers[i % 8], "linestyle": lines[i % 4]}
    )


def _wrap(text: str, width: int = 110) -> str:
    return textwrap.fill(text, width=width)


def _what(objective: str) -> str:
    return "rating" if objective == "rating" else "score"


# ---------------------------------------------------------------------------- attributions
def _headline(ax, att: Attributions, top: int, title: str, objective: str) -> str:
    """The prediction as baseline + terms (ids included); returns the reading."""
    c = contributions(att, 0, top=top, objective=objective)
    labels = [n for n, _ in c.terms]
    values = [v for _, v in c.terms]
    colors = [_UP if v > 0 else _DOWN for v in values]
    if c.rest_count:
        labels.append(f"{c.rest_count} other terms (sum)")
        values.append(c.rest)
        colors.append(_REST)
    y = np.arange(len(values))
    ax.barh(y, values, color=colors, height=0.65)
    span = max(abs(v) for v in values) if values else 1.0
    for yi, v in zip(y, values, strict=True):
        ax.text(
            v + (0.01 * span if v >= 0 else -0.01 * span),
            yi,
            f"{v:+.2f}",
            va="center",
            ha="left" if v >= 0 else "right",
            fontsize=9,
        )
    ax.set_yticks(y, labels, fontsize=9)
    for tick, label in zip(ax.get_yticklabels(), labels, strict=True):
        if label in ID_LABELS.values():
            tick.set_fontweight("bold")
    ax.invert_yaxis()
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlim(-1.25 * span, 1.25 * span)
    ax.set_xlabel(f"contribution to the predicted {_what(objective)} ({c.units})")
    err = c.completeness_error
    err = "" if err is None else f"; completeness error {err:+.3f}"
    sign = "+" if c.total >= 0 else "-"
    ax.set_title(
        f"{title}: predicted {_what(objective)} {c.prediction:.2f} = "
        f"{c.baseline:.2f} for {c.baseline_description.split(' (', 1)[0]} "
        f"{sign} {abs(c.total):.2f} from the bars\n"
        f"baseline: {c.baseline_description}; terms: {c.method}{err}",
        fontsize=10,
    )
    ax.grid(axis="x", alpha=0.3)
    return c.reading()


def _method_dots(ax, names: list[str], vals: dict[str, np.ndarray], pick: np.ndarray) -> None:
    methods = list(vals)
    y = np.arange(len(pick))
    offsets = np.linspace(-0.28, 0.28, len(methods)) if len(methods) > 1 else [0.0]
    for i, m in enumerate(methods):
        st = _style(m, i)
        ax.scatter(
            vals[m][pick],
            y + offsets[i],
            color=st["color"],
            marker=st["marker"],
            s=28,
            label=m,
            zorder=3,
        )
    ax.set_yticks(y, [names[j] for j in pick], fontsize=9)
    for yi in y[1:]:
        ax.axhline(yi - 0.5, color="#dddddd", lw=0.6)
    ax.invert_yaxis()
    ax.axvline(0, color="black", lw=0.8)
    ax.grid(axis="x", alpha=0.3)


def _legend_below(ax) -> None:
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=4, frameon=False)


def _consensus(names: list[str], vals: dict[str, np.ndarray]) -> str:
    firsts = Counter(names[int(np.argmax(np.abs(v)))] for v in vals.values())
    name, count = firsts.most_common(1)[0]
    return f"{count} of {len(vals)} methods put {name} first"


def _global_panel(ax, att: Attributions, top: int, objective: str) -> None:
    unit = units(objective)
    additive = [m for m in att.methods if m != "Saliency"]
    per_method = {m: att.mean_abs(m) for m in additive}
    dec = mean_abs_contributions(att)
    if dec:
        names = sorted(dec, key=lambda n: -dec[n])[:top]
        y = np.arange(len(names))
        ids = set(ID_LABELS.values())
        ax.barh(
            y,
            [dec[n] for n in names],
            height=0.6,
            color=[_IDS if n in ids else "#b0c4de" for n in names],
            label="decomposition (features and ids)" if ids & set(dec) else "decomposition",
        )
        head = names[0]
        feature = next((n for n in names if n not in ids), None)
        reading = f"{'the ' if head in ids else ''}{head} matters most ({dec[head]:.2f} {unit})"
        if head in ids and feature is not None:
            reading += f"; of the features, {feature} ({dec[feature]:.2f})"
    else:
        score = {n: np.mean([d[n] for d in per_method.values()]) for n in att.space.names}
        names = sorted(score, key=lambda n: -score[n])[:top]
        y = np.arange(len(names))
        reading = f"{names[0]} matters most"
    offsets = np.linspace(-0.25, 0.25, len(additive)) if len(additive) > 1 else [0.0]
    for i, m in enumerate(additive):
        st = _style(m, i)
        rows = [
            (yi, per_method[m][n]) for yi, n in zip(y, names, strict=True) if n in per_method[m]
        ]
        if rows:
            ax.scatter(
                [v for _, v in rows],
                [yi + offsets[i] for yi, _ in rows],
                color=st["color"],
                marker=st["marker"],
                s=22,
                label=f"{m} (features only)",
                zorder=3,
            )
    ax.set_yticks(y, names, fontsize=9)
    ax.invert_yaxis()
    ax.set_xlim(left=0)
    ax.grid(axis="x", alpha=0.3)
    ax.set_xlabel(f"mean |contribution| over {len(att)} test edges ({unit})")
    ax.set_title(f"global view, {len(att)} test edges: {reading}", fontsize=10)
    _legend_below(ax)


def plot_attributions(
    local: Attributions | None,
    global_: Attributions | None,
    path: str | os.PathLike,
    top: int = 10,
    title: str = "",
    objective: str = "rating",
) -> Path:
    """``attributions.png``: what the prediction is made of, method by method.

    Panels (each where its data is there): the decomposition of ``local``'s first row
    (baseline + the ``top`` largest terms, id embeddings included, the rest summed); the
    feature attributions of every method but Saliency on one axis in the model's output
    units, ids held fixed, beside Saliency's ``|gradient|`` on its own axis; the global
    mean ``|contribution|`` over ``global_``'s edges. The title is the one-line reading
    (:meth:`graphrec.explain.reasons.Contributions.reading`).
    """
    plt = _pyplot()
    unit = units(objective)
    has_dec = local is not None and bool(local.decomposition)
    additive = [m for m in (local.methods if local else []) if m != "Saliency"]
    saliency = local is not None and "Saliency" in local.methods
    rows: list[tuple[str, float]] = []
    if has_dec:
        rows.append(("headline", 0.36 * (top + 1) + 1.6))
    if additive or saliency:
        rows.append(("methods", 0.42 * top + 1.6))
    if global_ is not None and global_.methods:
        rows.append(("global", 0.36 * top + 1.5))
    if not rows:
        raise ValueError("nothing to draw: no attributions")
    rows.append(("notes", 0.5))
    fig = plt.figure(figsize=(13, sum(h for _, h in rows) + 0.8), layout="constrained")
    grid = fig.add_gridspec(len(rows), 2, height_ratios=[h for _, h in rows], width_ratios=[2.3, 1])
    reading = ""
    label = title
    if local is not None and not label:
        label = f"user {int(local.users[0])}, movie {int(local.movies[0])}"
    for r, (kind, _) in enumerate(rows):
        if kind == "headline":
            reading = _headline(fig.add_subplot(grid[r, :]), local, top, label, objective)
        elif kind == "methods":
            names = local.space.display_names(local.x[0])
            vals = {m: local.variables[m][0].numpy() for m in additive}
            base = vals or {"Saliency": local.variables["Saliency"][0].numpy()}
            score = np.mean([np.abs(v) for v in base.values()], axis=0)
            pick = np.argsort(-score, kind="stable")[:top]
            if additive:
                ax = fig.add_subplot(grid[r, 0] if saliency else grid[r, :])
                _method_dots(ax, names, vals, pick)
                ax.set_xlabel(
                    f"contribution ({unit}) relative to each method's baseline; "
                    "ids held at this pair's"
                )
                ax.set_title(
                    f"feature attributions by method: {_consensus(names, vals)}", fontsize=10
                )
                _legend_below(ax)
                if not reading:
                    try:
                        lead = contributions(local, 0, top=1, objective=objective)
                        reading = f"{lead.reading()} ({lead.method})"
                    except ValueError:  # only LIME: no baseline the terms add up to
                        m = additive[0]
                        j = int(np.argmax(np.abs(vals[m])))
                        v = float(vals[m][j])
                        reading = f"{names[j]} moves the prediction most ({v:+.2f}, {m})"
            if saliency:
                ax2 = fig.add_subplot(grid[r, 1] if additive else grid[r, :])
                sal = local.variables["Saliency"][0].numpy()
                own = np.argsort(-sal, kind="stable")[:top]  # its own top rows
                y = np.arange(len(own))
                ax2.barh(y, sal[own], color=_style("Saliency", 4)["color"], height=0.6)
                ax2.set_yticks(y, [names[j] for j in own], fontsize=8)
                ax2.invert_yaxis()
                ax2.set_xlabel("|d output / d feature| (per unit of the feature)")
                ax2.set_title(
                    "Saliency: a sensitivity, not a share\n(own axis, own top features)",
                    fontsize=10,
                )
                ax2.grid(axis="x", alpha=0.3)
                if not reading:
                    reading = (
                        f"the prediction is most sensitive to {names[int(np.argmax(sal))]} "
                        f"(Saliency; no method in {unit} was run)"
                    )
        elif kind == "global":
            _global_panel(fig.add_subplot(grid[r, :]), global_, top, objective)
    notes = [
        "'genre=X absent': the effect of the movie not having genre X (the baseline has a "
        "fraction of it)"
    ]
    if has_dec and "user_id" in local.decomposition:
        notes.insert(
            0,
            "id embedding: what the model learned about this user / movie from the training "
            "ratings, beyond the features",
        )
    if has_dec and additive:
        notes.append(
            "the per-method panel holds the ids at this pair's, so its values differ from "
            "the decomposition's, whose baseline is the average pair"
        )
    if saliency:
        notes.append("Saliency is left out of the rating-point panels")
    ax = fig.add_subplot(grid[len(rows) - 1, :])
    ax.axis("off")
    ax.text(0, 1, _wrap("Notes: " + "; ".join(notes) + ".", 160), fontsize=8, va="top")
    fig.suptitle(_wrap(f"Reading: {reading}", 100), fontsize=12, fontweight="bold")
    return save_figure(fig, path, dpi=110, bbox_inches="tight")


# ---------------------------------------------------------------------------- agreement
def _agreement_scale(mat: np.ndarray):
    """(cmap, norm, colour bar label) for the off-diagonal cells of ``mat``."""
    from matplotlib import colors

    off = mat[~np.eye(len(mat), dtype=bool)]
    off = off[~np.isnan(off)]
    lo = float(off.min()) if off.size else 0.0
    if lo >= 0:
        vmin = min(math.floor(lo * 10) / 10, 0.9)
        cmap = _cmap("viridis")
        return cmap, colors.Normalize(vmin, 1.0), f"Spearman rho (colours span {vmin:.1f} to 1)"
    vmin = min(math.floor(lo * 10) / 10, -0.1)
    cmap = _cmap("RdBu")
    norm = colors.TwoSlopeNorm(vmin=vmin, vcenter=0.0, vmax=1.0)
    return cmap, norm, f"Spearman rho (red: opposite rankings; scale {vmin:.1f} to 1)"


def _cmap(name: str):
    import matplotlib

    return matplotlib.colormaps[name].with_extremes(bad="#eeeeee")


def plot_agreement(agree: dict, path: str | os.PathLike) -> Path:
    """``agreement.png``: the Spearman matrices (local and global) with every cell
    annotated; the title is :func:`~graphrec.explain.compare.agreement_reading`."""
    plt = _pyplot()
    keys = [k for k in ("local", "global") if k in agree]
    if not keys:
        raise ValueError("nothing to draw: the agreement has no local or global matrix")
    fig, axes = plt.subplots(
        1, len(keys), figsize=(6.6 * len(keys), 6.2), squeeze=False, layout="constrained"
    )
    what = {"local": "one prediction", "global": "mean |attribution| over the sampled edges"}
    for ax, key in zip(axes[0], keys, strict=True):
        names = list(agree[key])
        mat = np.array([[agree[key][a][b] for b in names] for a in names], dtype=float)
        cmap, norm, label = _agreement_scale(mat)
        shown = np.ma.masked_array(mat, mask=np.eye(len(names), dtype=bool) | np.isnan(mat))
        im = ax.imshow(shown, cmap=cmap, norm=norm)
        ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(len(names)), names, fontsize=8)
        for i in range(len(names)):
            for j in range(len(names)):
                if i == j:
                    ax.text(j, i, "self", ha="center", va="center", fontsize=7, color="#777777")
                    continue
                v = mat[i, j]
                if math.isnan(v):
                    ax.text(j, i, "n/a", ha="center", va="center", fontsize=7)
                    continue
                r, g, b, _ = cmap(norm(v))
                dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5
                ax.text(
                    j,
                    i,
                    f"{v:.2f}",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if dark else "black",
                )
        mean = agree.get("mean_pairwise", {}).get(key)
        sub = f" (mean pairwise {mean:.2f})" if mean is not None else ""
        ax.set_title(f"{what[key]}{sub}", fontsize=10)
        fig.colorbar(im, ax=ax, fraction=0.046, label=label)
    main = agreement_reading(agree, "global" if "global" in agree else "local")
    fig.suptitle(
        _wrap(f"Do the methods rank the features alike? {main}", 110),
        fontsize=11,
        fontweight="bold",
    )
    fig.supxlabel(
        "Spearman rank correlation of |attribution| per variable between two methods: "
        "1 = same order of importance, 0 = unrelated, -1 = reversed.",
        fontsize=8,
    )
    return save_figure(fig, path, dpi=120, bbox_inches="tight")


# ---------------------------------------------------------------------------- faithfulness
def plot_faithfulness(
    local_curves: dict | None,
    global_curves: dict | None,
    path: str | os.PathLike,
    objective: str = "rating",
) -> Path:
    """``faithfulness.png``: deletion curves, variables reset to the reference row in each
    method's order of importance. Panels: one prediction (the prediction itself); over
    the sample, the mean ``|change|``; and that minus a random order's, where the methods
    separate. The title is :func:`~graphrec.explain.compare.faithfulness_reading`."""
    plt = _pyplot()
    unit, what = units(objective), _what(objective)
    panels: list[tuple[str, dict]] = []
    if local_curves:
        panels.append(("local", local_curves))
    if global_curves:
        panels += [("global", global_curves), ("vs_random", global_curves)]
    if not panels:
        raise ValueError("nothing to draw: no deletion curves")
    fig, axes = plt.subplots(
        1, len(panels), figsize=(6.0 * len(panels), 5.0), squeeze=False, layout="constrained"
    )
    for ax, (kind, c) in zip(axes[0], panels, strict=True):
        k = np.asarray(c["k"])
        summ = faithfulness_summary(c)
        rnd = c["random"]
        rnd_change = (rnd - rnd[:, :1]).abs().mean(0).numpy()
        for i, (m, cur) in enumerate(c["curves"].items()):
            st = _style(m, i)
            if kind == "local":
                y = cur[0].numpy()
            else:
                y = (cur - cur[:, :1]).abs().mean(0).numpy()
                if kind == "vs_random":
                    y = y - rnd_change
            ax.plot(
                k,
                y,
                color=st["color"],
                marker=st["marker"],
                linestyle=st["linestyle"],
                markersize=4,
                lw=1.3,
                alpha=0.9,
                label=f"{m} (area {summ[m]['deletion_auc']:.3f})",
            )
        lab = f"random order (area {summ['random']['deletion_auc']:.3f})"
        if kind == "local":
            ax.plot(k, rnd[0].numpy(), color="black", ls="--", lw=2, label=lab)
            ax.set_ylabel(f"predicted {what} ({unit})")
            ax.set_title(
                "one prediction: the prediction as its variables are reset\n"
                "(most important first; it ends at the reference row's prediction)",
                fontsize=9,
            )
        elif kind == "global":
            ax.plot(k, rnd_change, color="black", ls="--", lw=2, label=lab)
            ax.set_ylabel(f"mean |change in the prediction| ({unit})")
            n = next(iter(c["curves"].values())).size(0)
            ax.set_title(
                f"{n} test edges: how far the predictions move\n(higher sooner: more faithful)",
                fontsize=9,
            )
        else:
            ax.axhline(0, color="black", ls="--", lw=2, label="random order")
            ax.set_ylabel(f"mean |change| minus a random order's ({unit})")
            ax.set_title(
                "the same minus a random order's\n(how much sooner each ranking finds "
                "the variables that matter)",
                fontsize=9,
            )
        ax.set_xlabel("variables reset to the reference (most important first)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    summ = faithfulness_summary(global_curves or local_curves)
    scope = "over the sampled test edges" if global_curves else "for this prediction"
    fig.suptitle(
        _wrap(f"Faithfulness {scope}: {faithfulness_reading(summ, objective=objective)}", 120),
        fontsize=11,
        fontweight="bold",
    )
    return save_figure(fig, path, dpi=120, bbox_inches="tight")
