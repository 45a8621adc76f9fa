"""MovieLens tables -> one heterogeneous PyG graph, with a processed cache.

The graph (``torch_geometric.data.HeteroData``):

- ``data['user']``: ``x`` [num_users, F_u] (age scaled to [0, 1], ``gender=F``/``gender=M``,
  ``occupation=<name>`` one-hot, ``zip_region=<first digit>`` one-hot; ``F_u = 0`` where the
  data set has no demographics), ``raw_id`` [num_users], ``feature_names`` (list of str).
- ``data['movie']``: ``x`` [num_movies, F_m] (``genre=<name>`` multi-hot, ``year`` scaled to
  [0, 1]), ``raw_id``, ``title`` (list of canonical titles), ``genres`` (list of ``|``-joined
  genre strings), ``feature_names``.
- ``data['user', 'rates', 'movie']``: ``edge_index`` [2, E], ``rating`` [E] float,
  ``time`` [E] int64, in the order of the source file (nothing downstream depends on that
  order: the split sorts by time and a fixed per-pair key); and the reverse
  ``data['movie', 'rated_by', 'user']`` with the same attributes.
- graph attributes ``name`` and ``source``.

Node indices are contiguous and 0-based; ``raw_id`` maps them back to MovieLens ids.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch_geometric.data import HeteroData

from graphrec.data.ids import IdMaps, UnknownMovieError, UnknownUserError
from graphrec.data.movielens import (
    DatasetError,
    Tables,
    default_root,
    info,
    read_tables,
    source_identity,
)
from graphrec.io import load_tensors, read_json

try:  # POSIX: locks tell a cache file being written from one a killed load left behind
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

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
CACHE_VERSION = 2


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
# ``processed/<name><variant>.pt`` (plain tensors) + ``.json`` (titles, names, identity). The
# JSON records the identity of the files the graph was built from (resolved path and, per
# file, size / mtime / ctime; or the remote source): a load whose source differs, or whose
# files changed, rebuilds the cache rather than being served another source's data. Both
# files carry the same random build token, so a .pt that does not belong to its JSON (another
# data set's, a concurrent writer's) is detected, as is any missing key, tensor or shape.
_TENSORS = {
    "user_x": ("user", "x", torch.float32),
    "user_raw_id": ("user", "raw_id", torch.int64),
    "movie_x": ("movie", "x", torch.float32),
    "movie_raw_id": ("movie", "raw_id", torch.int64),
    "edge_index": (RATES, "edge_index", torch.int64),
    "rating": (RATES, "rating", torch.float32),
    "time": (RATES, "time", torch.int64),
}
_META = {
    "version": int,
    "name": str,
    "variant": str,
    "source": str,
    "identity": dict,
    "build": str,
    "user_feature_names": list,
    "movie_feature_names": list,
    "title": list,
    "genres": list,
    "dropped_rows": list,
}
_ORPHAN_AGE = 1.0  # seconds: a temporary file this old whose writer holds no lock is an orphan


class _Stale(Exception):
    """The cache cannot be used; the message (if any) says why."""


@contextlib.contextmanager
def _cache_write(path: Path) -> Iterator:
    """Write ``path`` atomically (temporary name, then rename), holding an exclusive lock on
    the temporary file until it is renamed: a later load removes temporary files no one holds
    (left by a killed load) without touching one that is being written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual permissions
            os.replace(tmp, path)  # still locked: the lock goes with the file's last close
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _remove_orphans(folder: Path) -> None:
    """Delete temporary cache files whose writer is gone (a load killed while writing)."""
    for tmp in folder.glob(".*.tmp"):
        try:
            fd = os.open(tmp, os.O_RDONLY)
        except OSError:
            continue
        try:
            age = time.time() - os.fstat(fd).st_mtime
            if fcntl is None:
                orphan = age > 3600.0  # no locks here: only files far older than any write
            else:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    continue  # a live writer holds it
                orphan = age > _ORPHAN_AGE
            if orphan:
                with contextlib.suppress(OSError):
                    tmp.unlink()
        finally:
            os.close(fd)


def _save_cache(data: HeteroData, stem: Path, extra: dict) -> None:
    build = secrets.token_hex(16)
    tensors = {k: data[t][a].detach().cpu() for k, (t, a, _) in _TENSORS.items()}
    tensors["build"] = torch.tensor(list(bytes.fromhex(build)), dtype=torch.uint8)
    meta = {
        "version": CACHE_VERSION,
        "name": data.name,
        "source": data.source,
        "build": build,
        "user_feature_names": data["user"].feature_names,
        "movie_feature_names": data["movie"].feature_names,
        "title": data["movie"].title,
        "genres": data["movie"].genres,
        **extra,
    }
    # tensors first, JSON last: the JSON's presence marks a complete cache
    with _cache_write(stem.with_suffix(".pt")) as fh:
        torch.save(tensors, fh)
    with _cache_write(stem.with_suffix(".json")) as fh:
        fh.write((json.dumps(meta, indent=1) + "\n").encode())


def _describe(identity: dict) -> str:
    where = identity.get("path") or identity.get("url") or identity.get("spec")
    return f"{identity.get('source')} {where}"


def _in_range(ei: torch.Tensor, nu: int, nm: int) -> bool:
    """Every edge joins a user in ``0..nu-1`` and a movie in ``0..nm-1`` (numpy: one thread,
    no thread-pool wake-ups on a busy machine)."""
    if ei.numel() == 0:
        return True
    e = ei.numpy()
    return bool(e.min() >= 0 and e[0].max() < nu and e[1].max() < nm)


def _load_cache(stem: Path, name: str, variant: str, expected: list[dict]) -> HeteroData:
    """The cached graph, or :class:`_Stale` saying why it cannot be used."""
    js, pt = stem.with_suffix(".json"), stem.with_suffix(".pt")
    if not (js.is_file() and pt.is_file()):
        raise _Stale()
    try:
        meta = read_json(js)
    except (OSError, ValueError) as exc:
        raise _Stale(f"the cache {js} is damaged ({exc})") from None
    if not isinstance(meta, dict):
        raise _Stale(f"the cache {js} is damaged (not a JSON object)")
    if meta.get("version") != CACHE_VERSION:
        raise _Stale(f"the cache {js} was written by another version of graphrec")
    bad = [k for k, typ in _META.items() if not isinstance(meta.get(k), typ)]
    if bad:
        raise _Stale(f"the cache {js} is damaged (missing or malformed: {', '.join(bad)})")
    if meta["name"] != name or meta["variant"] != variant:
        raise _Stale(f"the cache {js} holds {meta['name']}{meta['variant']}, not {name}{variant}")
    if meta["identity"] not in expected:
        old, new = meta["identity"], expected[0]
        same = old.get("source") == new.get("source") and old.get("path") == new.get("path")
        raise _Stale(
            f"the raw files in {new.get('path')} changed since the cache was built"
            if same
            else f"the cache was built from {_describe(old)}, this load reads "
            + " or ".join(_describe(e) for e in expected)
        )
    try:
        t = load_tensors(pt)
    except Exception as exc:  # any failure to read is a damaged cache, rebuilt
        raise _Stale(f"the cache {pt} is damaged ({type(exc).__name__})") from None
    if not isinstance(t, dict) or set(t) != {*_TENSORS, "build"}:
        raise _Stale(f"the cache {pt} holds other tensors than a graphrec graph")
    if not all(isinstance(v, torch.Tensor) for v in t.values()) or any(
        t[k].dtype != dtype for k, (_, _, dtype) in _TENSORS.items()
    ):
        raise _Stale(f"the cache {pt} holds tensors of the wrong type")
    if bytes(t["build"].tolist()).hex() != meta["build"]:
        raise _Stale(f"the cache {pt} does not belong to {js.name} (another build's tensors)")
    nu, nm = t["user_raw_id"].numel(), t["movie_raw_id"].numel()
    ei = t["edge_index"]
    shapes_ok = (
        t["user_x"].shape == (nu, len(meta["user_feature_names"]))
        and t["movie_x"].shape == (nm, len(meta["movie_feature_names"]))
        and len(meta["title"]) == len(meta["genres"]) == nm
        and ei.dim() == 2
        and ei.size(0) == 2
        and t["rating"].shape == t["time"].shape == (ei.size(1),)
        and _in_range(ei, nu, nm)
    )
    if not shapes_ok:
        raise _Stale(f"the cache {pt} is damaged (its shapes do not fit {js.name})")
    data = HeteroData()
    data.name, data.source = meta["name"], f"cache ({meta['source']})"
    data["user"].x, data["user"].raw_id = t["user_x"], t["user_raw_id"]
    data["user"].feature_names = meta["user_feature_names"]
    data["user"].num_nodes = int(nu)
    data["movie"].x, data["movie"].raw_id = t["movie_x"], t["movie_raw_id"]
    data["movie"].title, data["movie"].genres = meta["title"], meta["genres"]
    data["movie"].feature_names = meta["movie_feature_names"]
    data["movie"].num_nodes = int(nm)
    for etype, e in ((RATES, ei), (RATED_BY, ei.flip(0))):
        data[etype].edge_index, data[etype].rating, data[etype].time = e, t["rating"], t["time"]
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
        name: ``ml-100k`` (default), ``ml-latest-small``, ``ml-1m``, ``ml-20m`` or ``ml-25m``.
        root: data root holding raw files and ``processed/`` caches (default: ``$GRAPHREC_DATA``,
            else ``datasets/`` in a source checkout, else ``~/.cache/graphrec``).
        raw_dir: where to look for already-downloaded files (default: ``root``). Given, the
            files must be there: an error names what was looked for.
        source: ``auto``, ``local``, ``grouplens`` or ``registry`` (see
            :func:`graphrec.data.movielens.read_tables`).
        bad_rows: ``error`` or ``drop`` ratings that name unknown users/movies.
        verify: check content against the published checksums and counts (rows are
            validated either way).
        force_reload: ignore the processed cache.
        verbose: report the source and timings on stderr.

    Returns:
        The graph; ``data.source`` says where it came from (``cache (...)`` when cached). The
        cache is used only if it was built from the same source (same files, unchanged) with
        the same ``bad_rows`` / ``verify``; otherwise it is rebuilt.
    """
    info(name)  # unknown names fail before anything touches the disk
    root = Path(root) if root is not None else default_root()
    variant = "" if (verify and bad_rows == "error") else f"-{bad_rows}{'' if verify else '-nv'}"
    stem = root / "processed" / f"{name}{variant}"
    t0 = time.perf_counter()
    if stem.parent.is_dir():
        _remove_orphans(stem.parent)
    expected = source_identity(name, raw_dir, download_dir=root, source=source)
    if not force_reload and expected:
        try:
            data = _load_cache(stem, name, variant, expected)
        except _Stale as why:
            if verbose and str(why):
                print(f"[graphrec] {name}: {why}; rebuilding it", file=sys.stderr)
        else:
            if verbose:
                print(
                    f"[graphrec] {name}: loaded from cache {stem}.pt in "
                    f"{time.perf_counter() - t0:.2f}s",
                    file=sys.stderr,
                )
            return data
    tables = read_tables(
        name,
        raw_dir,
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
    extra = {"variant": variant, "identity": tables.identity, "dropped_rows": tables.dropped_rows}
    try:
        _save_cache(data, stem, extra)
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
