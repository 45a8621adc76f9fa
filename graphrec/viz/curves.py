"""Training curves and factor sweeps (matplotlib imported lazily, Agg backend).

- :func:`plot_history`: one run's loss, valid HR@K and valid NDCG@K per epoch (``curves.png``).
- :func:`plot_sweep`: valid HR@K and NDCG@K per epoch, one line per setting (``sweep.png``),
  the figure of the NCF paper's predictive-factor study.

Both accept a :class:`graphrec.train.History`, a ``pandas.DataFrame`` of its records or a list
of record dicts, and write the image atomically.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from graphrec.viz import save_figure

__all__ = ["plot_history", "plot_sweep"]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _integer_ticks():
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


def _records(history: Any) -> list[dict]:
    if hasattr(history, "epochs"):  # History
        return list(history.epochs)
    if hasattr(history, "to_dict"):  # DataFrame
        return history.to_dict("records")
    return list(history)


def _series(records: list[dict], key: str) -> tuple[list[int], list[float]]:
    pts = [(r["epoch"], r[key]) for r in records if r.get(key) is not None and r[key] == r[key]]
    return [p[0] for p in pts], [p[1] for p in pts]


def plot_history(
    history: Any,
    path: str | os.PathLike,
    k: int = 10,
    title: str | None = None,
    best_epoch: int | None = None,
) -> Path:
    """Loss, valid HR@``k`` and valid NDCG@``k`` per epoch, side by side, saved to ``path``.

    Args:
        history: a ``History``, a DataFrame of its records, or a list of record dicts.
        path: the image file (``.png``).
        k: the K of the metrics to draw.
        title: figure title.
        best_epoch: marked with a dashed line (default: ``history.best_epoch`` if present).
    """
    plt = _plt()
    records = _records(history)
    if best_epoch is None:
        best_epoch = getattr(history, "best_epoch", None)
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4), dpi=110)
    panels = [
        ("loss", "train loss"),
        (f"valid_hr@{k}", f"valid HR@{k}"),
        (f"valid_ndcg@{k}", f"valid NDCG@{k}"),
    ]
    for ax, (key, label) in zip(axes, panels, strict=True):
        x, y = _series(records, key)
        ax.plot(x, y, marker="o", markersize=3)
        if best_epoch:
            ax.axvline(best_epoch, color="grey", linestyle="--", linewidth=1)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(_integer_ticks())
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_sweep(
    histories: Mapping[str, Any],
    path: str | os.PathLike,
    k: int = 10,
    title: str | None = None,
) -> Path:
    """Valid HR@``k`` and NDCG@``k`` per epoch, one line per entry of ``histories``.

    Args:
        histories: ``{label: history}`` in legend order (e.g. ``{"factors=8": h8, ...}``).
        path: the image file (``.png``).
        k: the K of the metrics to draw.
        title: figure title.
    """
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), dpi=110)
    for label, history in histories.items():
        records = _records(history)
        for ax, key in zip(axes, (f"valid_hr@{k}", f"valid_ndcg@{k}"), strict=True):
            x, y = _series(records, key)
            ax.plot(x, y, marker="o", markersize=3, label=label)
    for ax, name in zip(axes, (f"HR@{k}", f"NDCG@{k}"), strict=True):
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(_integer_ticks())
        ax.set_ylabel(f"valid {name}")
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, path)
