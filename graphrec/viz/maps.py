"""Embedding maps and loss curves for item2vec (matplotlib and umap imported lazily)."""

from __future__ import annotations

import os
from collections import Counter

import numpy as np

from graphrec.viz import save_figure

__all__ = ["plot_loss", "umap_map"]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_loss(losses: list[float], path: str | os.PathLike, title: str = "skip-gram loss"):
    """Loss per epoch as a line plot, saved to ``path``."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 3.2), dpi=120)
    ax.plot(range(1, len(losses) + 1), losses, marker="o")
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean loss per pair")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    save_figure(fig, path)


def _label_offsets(ax, fig, pts: np.ndarray, gap: float = 11.0, reach: float = 40.0):
    """Text offsets (points) for labels of ``pts`` that do not overlap each other: each label
    goes ``reach`` points sideways, towards the middle of the axes, and labels on the same side
    are pushed apart vertically to at least ``gap`` points (films that sit together on the map,
    such as a franchise, get a readable column of names instead of a pile)."""
    ax.figure.canvas.draw()  # fixes the axes limits, so data -> display is final
    disp = ax.transData.transform(pts) * 72.0 / fig.dpi  # in points
    mid = ax.transAxes.transform([(0.5, 0.5)])[0] * 72.0 / fig.dpi
    side = np.where(disp[:, 0] > mid[0], -1.0, 1.0)  # right half -> labels to the left
    target = disp[:, 1].copy()
    for s in (-1.0, 1.0):
        idx = np.flatnonzero(side == s)
        if idx.size < 2:
            continue
        order = idx[np.argsort(-target[idx])]  # top to bottom
        ys = target[order]
        for i in range(1, ys.size):  # push down
            ys[i] = min(ys[i], ys[i - 1] - gap)
        shift = (disp[order, 1] - ys).mean()  # re-centre the column on its points
        target[order] = ys + shift
    return [
        (float(s * reach), float(t - d)) for s, t, d in zip(side, target, disp[:, 1], strict=True)
    ]


def umap_map(
    emb: np.ndarray,
    titles: list[str],
    genres: list[str],
    path: str | os.PathLike,
    label: list[str] | None = None,
    seed: int = 0,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    title: str = "item2vec movie embedding (UMAP, cosine)",
) -> np.ndarray:
    """2-D UMAP of ``emb`` [N, d] coloured by primary genre, ``label`` titles annotated.

    Returns the [N, 2] coordinates. Needs ``umap-learn`` (``pip install graphrec[viz]``).
    """
    try:
        import umap
    except ImportError as exc:  # pragma: no cover - depends on the extra
        raise ImportError("the UMAP map needs umap-learn: pip install 'graphrec[viz]'") from exc
    reducer = umap.UMAP(
        n_neighbors=n_neighbors,
        min_dist=min_dist,
        metric="cosine",
        random_state=seed,
        n_components=2,
        n_jobs=1,  # a seed makes UMAP single-threaded anyway; saying so silences its warning
    )
    xy = reducer.fit_transform(emb)
    primary = [g.split("|")[0] if g else "(none)" for g in genres]
    common = [g for g, _ in Counter(primary).most_common(9)]
    plt = _plt()
    fig, ax = plt.subplots(figsize=(10, 8), dpi=120)
    cmap = plt.get_cmap("tab10")
    for i, g in enumerate([*common, "other"]):
        sel = np.array([(p == g) if g != "other" else (p not in common) for p in primary])
        if sel.any():
            ax.scatter(
                xy[sel, 0],
                xy[sel, 1],
                s=9,
                alpha=0.7,
                color=cmap(i % 10),
                label=f"{g} ({int(sel.sum())})",
                linewidths=0,
            )
    index = {t: i for i, t in enumerate(titles)}
    shown = [t for t in (label or []) if t in index]
    if shown:
        pts = np.array([xy[index[t]] for t in shown])
        ax.scatter(pts[:, 0], pts[:, 1], s=40, facecolors="none", edgecolors="black", lw=1)
        for t, (x, y), off in zip(shown, pts, _label_offsets(ax, fig, pts), strict=True):
            ax.annotate(
                t,
                (x, y),
                xytext=off,
                textcoords="offset points",
                ha="left" if off[0] >= 0 else "right",
                va="center",
                fontsize=7.5,
                arrowprops={"arrowstyle": "-", "lw": 0.5, "color": "0.3"},
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "alpha": 0.85, "lw": 0},
            )
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(title="primary genre", fontsize=8, markerscale=2, loc="best", framealpha=0.8)
    fig.tight_layout()
    save_figure(fig, path)
    return xy
