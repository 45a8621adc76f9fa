"""Heat maps of attention weights (matplotlib imported lazily, Agg backend)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from torch import Tensor

__all__ = ["plot_attention"]


def plot_attention(
    panels: Mapping[str, Tensor],
    path: str | os.PathLike,
    token_names: Sequence[str],
    title: str | None = None,
) -> Path:
    """One heat map per panel of a mean [T, T] attention matrix (rows: queries, columns: keys).

    Args:
        panels: ``{label: weights [T, T]}``, e.g. test positives and sampled negatives.
        path: the image to write (atomically).
        token_names: the T token labels.
        title: figure title.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from graphrec.viz import save_figure

    n = len(panels)
    t = len(token_names)
    size = max(3.2, 0.5 * t + 1.4)
    fig, axes = plt.subplots(
        1, n, figsize=(size * n + 1.2, size + 1.0), squeeze=False, layout="constrained"
    )
    mats = {label: w.detach().float().cpu() for label, w in panels.items()}
    # a shared colour scale from the smallest to the largest mean weight: near-uniform
    # attention (every weight close to 1/T) would otherwise look like one flat colour
    vmin = min(float(w.min()) for w in mats.values())
    vmax = max(float(w.max()) for w in mats.values())
    im = None
    for ax, (label, w) in zip(axes[0], mats.items(), strict=True):
        im = ax.imshow(w.numpy(), cmap="viridis", vmin=vmin, vmax=vmax)
        ax.set_xticks(range(t), token_names, rotation=60, ha="right", fontsize=8)
        ax.set_yticks(range(t), token_names, fontsize=8)
        ax.set_xlabel("key (attended to)")
        ax.set_title(label, fontsize=9)
        if t <= 10:
            mid = (vmin + vmax) / 2
            for i in range(t):
                for j in range(t):
                    v = float(w[i, j])
                    ax.text(
                        j,
                        i,
                        f"{v:.3f}",
                        ha="center",
                        va="center",
                        fontsize=6.5,
                        color="white" if v < mid else "black",
                    )
    axes[0][0].set_ylabel("query")
    fig.colorbar(
        im,
        ax=axes[0].tolist(),
        shrink=0.8,
        label=f"mean attention weight (uniform = 1/{t} = {1 / t:.3f})",
    )
    if title:
        fig.suptitle(title, fontsize=10)
    return save_figure(fig, path, dpi=120, bbox_inches="tight")
