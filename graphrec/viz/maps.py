"""Embedding maps and loss curves for item2vec (matplotlib and umap imported lazily)."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import numpy as np

from graphrec.viz import save_figure

__all__ = ["plot_loss", "umap_map", "umap_coords", "cosine_knn", "cache_umap_kernels"]


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


def cosine_knn(emb: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact cosine ``k`` nearest neighbours of every row, itself first (UMAP's convention):
    ``(indices [N, k] int64, distances [N, k] float32)``, distance = 1 - cosine."""
    import torch

    x = torch.as_tensor(np.ascontiguousarray(emb), dtype=torch.float32)
    x = torch.nn.functional.normalize(x, dim=1)
    k = min(k, x.size(0))
    idx, dist = [], []
    for start in range(0, x.size(0), 2048):  # bounded memory: 2048 x N similarities at a time
        sim = x[start : start + 2048] @ x.T
        rows = torch.arange(start, start + sim.size(0))
        sim[torch.arange(sim.size(0)), rows] = 2.0  # itself first, whatever the rounding
        top = torch.topk(sim, k, dim=1)
        d = (1.0 - top.values).clamp_min(0.0)
        d[:, 0] = 0.0
        idx.append(top.indices)
        dist.append(d)
    return torch.cat(idx).numpy().astype(np.int64), torch.cat(dist).numpy().astype(np.float32)


_KERNELS_CACHED = False


def cache_umap_kernels() -> int:
    """Let numba keep umap-learn's compiled kernels on disk, so that only the first process
    ever pays their compilation (about 8 s on 2 cores; umap-learn compiles them in every
    process because its ``@numba.njit`` functions are declared without ``cache=True``).

    Each not-yet-compiled numba function of ``umap.utils``, ``umap.layouts`` and
    ``umap.umap_`` is replaced, in its module, by the same Python function jitted with the same
    options plus ``cache=True``; numba stores the machine code beside umap's sources (or in its
    user cache folder where those are read-only) and checks it against their timestamps. The
    results are the same (tested). Returns how many functions were swapped; 0 when numba's
    internals are not as expected, in which case umap runs as it always did.
    """
    global _KERNELS_CACHED
    if _KERNELS_CACHED:
        return 0
    _KERNELS_CACHED = True
    try:
        import numba
        import umap.layouts
        import umap.umap_
        import umap.utils
        from numba.core.caching import NullCache
        from numba.core.registry import CPUDispatcher
    except ImportError:  # pragma: no cover - depends on the installed versions
        return 0
    swapped: dict[int, object] = {}
    try:
        for module in (umap.utils, umap.layouts, umap.umap_):
            for name, obj in list(vars(module).items()):
                if not isinstance(obj, CPUDispatcher) or obj.signatures:
                    continue  # not a numba function, or compiled already (keep it)
                if not isinstance(obj._cache, NullCache):
                    continue  # cached by umap itself
                new = swapped.get(id(obj))
                if new is None:
                    opts = {k: v for k, v in obj.targetoptions.items() if k != "nopython"}
                    new = numba.njit(cache=True, **opts)(obj.py_func)
                    swapped[id(obj)] = new
                setattr(module, name, new)
    except Exception:  # pragma: no cover - numba internals changed: leave what is swapped
        return len(swapped)
    return len(swapped)


def umap_coords(
    emb: np.ndarray,
    seed: int = 0,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    cache: str | os.PathLike | None = None,
) -> np.ndarray:
    """2-D UMAP (cosine) of ``emb`` [N, d]: ``[N, 2]`` coordinates, seeded.

    The neighbour graph is our own exact cosine top-``n_neighbors`` (one matrix product)
    handed to umap-learn as ``precomputed_knn``, instead of its pair-at-a-time distances.
    With ``cache`` (a ``.npy`` path, e.g. ``run/umap.npy``) the coordinates are kept there
    with a key beside them (``.json``: seed, settings, a digest of the vectors) and reused
    only when the key matches. Needs ``umap-learn`` (``pip install graphrec[viz]``).
    """
    import hashlib
    import json

    from graphrec.io import atomic_write, write_json

    emb = np.ascontiguousarray(emb, dtype=np.float32)
    key = {
        "seed": int(seed),
        "n_neighbors": int(n_neighbors),
        "min_dist": float(min_dist),
        "metric": "cosine",
        "shape": list(emb.shape),
        "sha256": hashlib.sha256(emb.tobytes()).hexdigest(),
    }
    if cache is not None:
        cache = Path(cache)
        meta = cache.with_suffix(".json")
        try:
            if json.loads(meta.read_text()) == key:
                xy = np.load(cache, allow_pickle=False)
                if xy.shape == (emb.shape[0], 2) and np.isfinite(xy).all():
                    return xy
        except (OSError, ValueError):
            pass  # no cache, or a damaged one: computed again below
    try:
        import umap
    except ImportError as exc:  # pragma: no cover - depends on the extra
        raise ImportError("the UMAP map needs umap-learn: pip install 'graphrec[viz]'") from exc
    cache_umap_kernels()
    k = max(2, min(n_neighbors, emb.shape[0] - 1))
    knn = cosine_knn(emb, k)
    reducer = umap.UMAP(
        n_neighbors=k,
        min_dist=min_dist,
        metric="cosine",
        random_state=seed,
        n_components=2,
        n_jobs=1,  # a seed makes UMAP single-threaded anyway; saying so silences its warning
        precomputed_knn=(knn[0], knn[1], None),
    )
    import warnings

    with warnings.catch_warnings():  # "no search index": we never transform new points
        warnings.simplefilter("ignore", UserWarning)
        xy = reducer.fit_transform(emb).astype(np.float64)
    if cache is not None:
        with atomic_write(cache, "wb") as fh:
            np.save(fh, xy)
        write_json(cache.with_suffix(".json"), key)
    return xy


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
    xy: np.ndarray | None = None,
) -> np.ndarray:
    """2-D UMAP of ``emb`` [N, d] coloured by primary genre, ``label`` titles annotated.

    ``xy`` gives coordinates already computed (:func:`umap_coords`). Returns the [N, 2]
    coordinates. Needs ``umap-learn`` (``pip install graphrec[viz]``).
    """
    if xy is None:
        xy = umap_coords(emb, seed=seed, n_neighbors=n_neighbors, min_dist=min_dist)
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
