"""Embedding maps and loss curves for item2vec (matplotlib and umap imported lazily)."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import numpy as np

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
    _save(fig, path)
    plt.close(fig)


def _save(fig, path) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    fig.savefig(tmp)
    os.replace(tmp, path)


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
    offsets = [(8, 10), (8, -16), (-90, 12), (-90, -16)]  # alternate sides to limit overlap
    for n, t in enumerate(label or []):
        if t in index:
            x, y = xy[index[t]]
            ax.scatter([x], [y], s=40, facecolors="none", edgecolors="black", linewidths=1)
            ax.annotate(
                t,
                (x, y),
                xytext=offsets[n % len(offsets)],
                textcoords="offset points",
                fontsize=7.5,
                arrowprops={"arrowstyle": "-", "lw": 0.5, "color": "0.3"},
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "alpha": 0.8, "lw": 0},
            )
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(title="primary genre", fontsize=8, markerscale=2, loc="best", framealpha=0.8)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
    return xy
