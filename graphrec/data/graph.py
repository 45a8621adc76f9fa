"""MovieLens tables -> one heterogeneous PyG graph, with a processed cache.

The graph (``torch_geometric.data.HeteroData``):

- ``data['user']``: ``x`` [num_users, F_u] (age scaled to [0, 1], ``gender=F``/``gender=M``,
  ``occupation=<name>`` one-hot, ``zip_region=<first digit>`` one-hot; ``F_u = 0`` where the
  data set has no demographics), ``raw_id`` [num_users], ``feature_names`` (list of str).
- ``data['movie']``: ``x`` [num_movies, F_m] (``genre=<name>`` multi-hot, ``year`` scaled to
  [0, 1]), ``raw_id``, ``title`` (list of canonical titles), ``genres`` (list of ``|``-joined
  genre strings), ``feature_names``.
- ``data['user', 'rates', 'movie']``: ``edge_index`` [2, E], ``rating`` [E] float,
  ``time`` [E] int64, in the order of the source file (the split breaks timestamp ties by it);
  and the reverse ``data['movie', 'rated_by', 'user']`` with the same attributes.
- graph attributes ``name`` and ``source``.

Node indices are contiguous and 0-based; ``raw_id`` maps them back to MovieLens ids.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch_geometric.data import HeteroData

from graphrec.data.ids import IdMaps, UnknownMovieError, UnknownUserError
from graphrec.data.movielens import DatasetError, Tables, default_root, info, read_tables
from graphrec.io import load_tensors, read_json, save_tensors, write_json

__all__ = [
    "RATES",
    "RATED_BY",
    "build_graph",
    "load_movielens",
    "graph_summary",
    "UnknownUserError",
    "UnknownMovieError",
    "user_index",
    "movie_index",
]

RATES = ("user", "rates", "movie")
RATED_BY = ("movie", "rated_by", "user")
CACHE_VERSION = 1


def _minmax(values: np.ndarray) -> np.ndarray:
    values = values.astype(np.float64)
    fill = np.nanmean(values) if np.isfinite(values).any() else 0.0
    values = np.where(np.isfinite(values), values, fill)
    lo, hi = values.min(), values.max()
    return (values - lo) / (hi - lo) if hi > lo else np.zeros_like(values)


def _one_hot(values: pd.Series, prefix: str) -> tuple[np.ndarray, list[str]]:
    cats = sorted(values.astype(str).unique())
    idx = {c: i for i, c in enumerate(cats)}
    out = np.zeros((len(values), len(cats)), dtype=np.float32)
    out[np.arange(len(values)), [idx[v] for v in values.astype(str)]] = 1.0
    return out, [f"{prefix}={c}" for c in cats]


def _zip_region(zips: pd.Series) -> pd.Series:
    first = zips.astype(str).str.strip().str[:1]
    return first.where(first.str.isdigit(), "other")


def build_graph(tables: Tables) -> HeteroData:
    """Build the user-movie ``HeteroData`` from parsed tables (see the module docstring)."""
    ratings, movies, users = tables.ratings, tables.movies, tables.users
    if len(ratings) == 0:
        raise DatasetError(f"{tables.name}: empty ratings table; nothing to build a graph from")
    user_ids = np.unique(
        users["user_id"].to_numpy(np.int64)
        if users is not None
        else ratings["user_id"].to_numpy(np.int64)
    )
    movies = movies.sort_values("movie_id", kind="stable").reset_index(drop=True)
    movie_ids = movies["movie_id"].to_numpy(np.int64)
    u = np.searchsorted(user_ids, ratings["user_id"].to_numpy(np.int64))
    m = np.searchsorted(movie_ids, ratings["movie_id"].to_numpy(np.int64))
    if (u >= len(user_ids)).any() or (
        user_ids[np.minimum(u, len(user_ids) - 1)] != ratings["user_id"].to_numpy()
    ).any():
        raise DatasetError(f"{tables.name}: a rating names a user missing from the user table")
    if (m >= len(movie_ids)).any() or (
        movie_ids[np.minimum(m, len(movie_ids) - 1)] != ratings["movie_id"].to_numpy()
    ).any():
        raise DatasetError(f"{tables.name}: a rating names a movie missing from the movie table")

    data = HeteroData()
    data.name = tables.name
    data.source = tables.source

    # user features
    if users is not None:
        users = users.set_index("user_id").loc[user_ids].reset_index()
        blocks = [_minmax(users["age"].to_numpy())[:, None].astype(np.float32)]
        names = ["age"]
        for col, prefix in (("gender", "gender"), ("occupation", "occupation")):
            block, n = _one_hot(users[col], prefix)
            blocks.append(block)
            names += n
        block, n = _one_hot(_zip_region(users["zip"]), "zip_region")
        blocks.append(block)
        names += n
        ux = np.concatenate(blocks, axis=1)
    else:
        ux, names = np.zeros((len(user_ids), 0), dtype=np.float32), []
    data["user"].x = torch.from_numpy(ux)
    data["user"].raw_id = torch.from_numpy(user_ids)
    data["user"].feature_names = names
    data["user"].num_nodes = len(user_ids)

    # movie features
    genre_lists = movies["genres"].fillna("").str.split("|")
    genres = sorted({g for gl in genre_lists for g in gl if g})
    gidx = {g: i for i, g in enumerate(genres)}
    mx = np.zeros((len(movies), len(genres) + 1), dtype=np.float32)
    for row, gl in enumerate(genre_lists):
        for g in gl:
            if g:
                mx[row, gidx[g]] = 1.0
    mx[:, -1] = _minmax(movies["year"].to_numpy(np.float64))
    data["movie"].x = torch.from_numpy(mx)
    data["movie"].raw_id = torch.from_numpy(movie_ids.copy())
    data["movie"].title = movies["title"].astype(str).tolist()
    data["movie"].genres = movies["genres"].fillna("").astype(str).tolist()
    data["movie"].feature_names = [f"genre={g}" for g in genres] + ["year"]
    data["movie"].num_nodes = len(movie_ids)

    edge_index = torch.from_numpy(np.stack([u, m]).astype(np.int64))
    rating = torch.tensor(ratings["rating"].to_numpy(np.float32))
    ts = torch.tensor(ratings["timestamp"].to_numpy(np.int64))
    data[RATES].edge_index = edge_index
    data[RATES].rating = rating
    data[RATES].time = ts
    data[RATED_BY].edge_index = edge_index.flip(0)
    data[RATED_BY].rating = rating
    data[RATED_BY].time = ts
    return data


# --------------------------------------------------------------------------- cache
_TENSORS = {
    "user_x": ("user", "x"),
    "user_raw_id": ("user", "raw_id"),
    "movie_x": ("movie", "x"),
    "movie_raw_id": ("movie", "raw_id"),
    "edge_index": (RATES, "edge_index"),
    "rating": (RATES, "rating"),
    "time": (RATES, "time"),
}


def _save_cache(data: HeteroData, stem: Path, checksum_note: dict) -> None:
    tensors = {k: data[t][a] for k, (t, a) in _TENSORS.items()}
    meta = {
        "version": CACHE_VERSION,
        "name": data.name,
        "source": data.source,
        "user_feature_names": data["user"].feature_names,
        "movie_feature_names": data["movie"].feature_names,
        "title": data["movie"].title,
        "genres": data["movie"].genres,
        **checksum_note,
    }
    # tensors first, JSON last: the JSON's presence marks a complete cache
    save_tensors(stem.with_suffix(".pt"), tensors)
    write_json(stem.with_suffix(".json"), meta)


def _load_cache(stem: Path) -> HeteroData | None:
    js, pt = stem.with_suffix(".json"), stem.with_suffix(".pt")
    if not (js.is_file() and pt.is_file()):
        return None
    try:
        meta = read_json(js)
        if meta.get("version") != CACHE_VERSION:
            return None
        t = load_tensors(pt)
    except Exception:  # a stale or damaged cache is rebuilt, never trusted
        return None
    data = HeteroData()
    data.name, data.source = meta["name"], f"cache ({meta['source']})"
    data["user"].x, data["user"].raw_id = t["user_x"], t["user_raw_id"]
    data["user"].feature_names = meta["user_feature_names"]
    data["user"].num_nodes = int(t["user_raw_id"].numel())
    data["movie"].x, data["movie"].raw_id = t["movie_x"], t["movie_raw_id"]
    data["movie"].title, data["movie"].genres = meta["title"], meta["genres"]
    data["movie"].feature_names = meta["movie_feature_names"]
    data["movie"].num_nodes = int(t["movie_raw_id"].numel())
    for etype, ei in ((RATES, t["edge_index"]), (RATED_BY, t["edge_index"].flip(0))):
        data[etype].edge_index, data[etype].rating, data[etype].time = ei, t["rating"], t["time"]
    return data


def load_movielens(
    name: str = "ml-100k",
    root: str | os.PathLike | None = None,
    *,
    raw_dir: str | os.PathLike | None = None,
    source: str = "auto",
    bad_rows: str = "error",
    verify: bool = True,
    force_reload: bool = False,
    verbose: bool = True,
) -> HeteroData:
    """Load a MovieLens data set as one ``HeteroData`` graph (the library's entry point).

    Args:
        name: ``ml-100k`` (default), ``ml-latest-small`` or ``ml-1m``.
        root: data root holding raw files and ``processed/`` caches (default: ``$GRAPHREC_DATA``,
            else ``datasets/`` in a source checkout, else ``~/.cache/graphrec``).
        raw_dir: where to look for already-downloaded files (default: ``root``).
        source: ``auto``, ``local``, ``grouplens`` or ``registry`` (see
            :func:`graphrec.data.movielens.read_tables`).
        bad_rows: ``error`` or ``drop`` ratings that name unknown users/movies.
        verify: check content against the published checksums and counts.
        force_reload: ignore the processed cache.
        verbose: report the source and timings on stderr.

    Returns:
        The graph; ``data.source`` says where it came from (``cache (...)`` when cached).
    """
    info(name)  # unknown names fail before anything touches the disk
    root = Path(root) if root is not None else default_root()
    variant = "" if (verify and bad_rows == "error") else f"-{bad_rows}{'' if verify else '-nv'}"
    stem = root / "processed" / f"{name}{variant}"
    t0 = time.perf_counter()
    if not force_reload and (data := _load_cache(stem)) is not None:
        if verbose:
            print(
                f"[graphrec] {name}: loaded from cache {stem}.pt in "
                f"{time.perf_counter() - t0:.2f}s",
                file=sys.stderr,
            )
        return data
    tables = read_tables(
        name,
        raw_dir if raw_dir is not None else root,
        download_dir=root,
        source=source,
        bad_rows=bad_rows,
        verify=verify,
        verbose=verbose,
    )
    if tables.dropped_rows and verbose:
        print(
            f"[graphrec] {name}: dropped {len(tables.dropped_rows)} bad rating row(s): "
            f"{', '.join(tables.dropped_rows[:5])}",
            file=sys.stderr,
        )
    data = build_graph(tables)
    try:
        _save_cache(data, stem, {"dropped_rows": tables.dropped_rows})
    except OSError as exc:  # a read-only root still gives a graph
        if verbose:
            print(f"[graphrec] could not write the cache under {root} ({exc})", file=sys.stderr)
    if verbose:
        print(
            f"[graphrec] {name}: read from {tables.source} in {time.perf_counter() - t0:.2f}s",
            file=sys.stderr,
        )
    return data


def graph_summary(data: HeteroData) -> dict:
    """Counts and basic statistics of the graph (what ``--task stats`` prints)."""
    ei = data[RATES].edge_index
    nu, nm = data["user"].num_nodes, data["movie"].num_nodes
    user_deg = torch.bincount(ei[0], minlength=nu)
    movie_deg = torch.bincount(ei[1], minlength=nm)
    rating = data[RATES].rating
    t = data[RATES].time
    return {
        "dataset": data.name,
        "source": data.source,
        "users": int(nu),
        "movies": int(nm),
        "movies_rated": int((movie_deg > 0).sum()),
        "ratings": int(ei.size(1)),
        "density": float(ei.size(1) / max(nu * nm, 1)),
        "ratings_per_user": {
            "min": int(user_deg.min()),
            "median": float(user_deg.median()),
            "max": int(user_deg.max()),
        },
        "ratings_per_movie": {
            "min": int(movie_deg.min()),
            "median": float(movie_deg.median()),
            "max": int(movie_deg.max()),
        },
        "rating_mean": float(rating.mean()),
        "rating_values": sorted({float(v) for v in rating.unique().tolist()}),
        "time_range": [int(t.min()), int(t.max())],
        "user_features": len(data["user"].feature_names),
        "movie_features": len(data["movie"].feature_names),
    }


def user_index(data: HeteroData, raw_id: int) -> int:
    """Node index of a raw user id, or :class:`UnknownUserError`."""
    return IdMaps.from_graph(data).user_index(raw_id)


def movie_index(data: HeteroData, key: int | str) -> int:
    """Node index of a movie given its raw id or its title as people type it (see
    :meth:`graphrec.data.ids.IdMaps.movie_index`), or :class:`UnknownMovieError` naming the
    closest titles or listing the candidates of an ambiguous one."""
    return IdMaps.from_graph(data).movie_index(key)
