"""Figures: training curves, embedding maps, attention maps (one module each)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["save_figure"]


def save_figure(fig, path: str | os.PathLike, **savefig_kwargs) -> Path:
    """Write a matplotlib figure to ``path`` and close it.

    The image goes to a temporary file beside ``path`` and is renamed onto it only once
    complete, so a failure leaves no half-written image (nor the temporary file). The format
    comes from the file's suffix (``.png`` when there is none); ``savefig_kwargs`` go to
    ``fig.savefig`` (e.g. ``dpi=120, bbox_inches="tight"``). The figure is closed either way.
    """
    import matplotlib.pyplot as plt

    from graphrec.io import atomic_write

    path = Path(path)
    try:
        with atomic_write(path, "wb") as fh:
            fig.savefig(fh, format=path.suffix.lstrip(".") or "png", **savefig_kwargs)
    finally:
        plt.close(fig)
    return path
