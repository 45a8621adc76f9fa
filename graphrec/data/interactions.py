"""Your own data: an interactions table (CSV, TSV, Parquet or a DataFrame) -> the graphrec graph.

:func:`load_interactions` builds the same ``HeteroData`` layout as
:func:`graphrec.data.load_movielens` (see :mod:`graphrec.data.graph`), with these rules:

- raw ids are kept as given: a column whose every value is an integer gives integer ids
  (``raw_id`` holds them, as for MovieLens); any other gives string ids, kept in
  ``data[node].raw_name`` (list of str) while ``raw_id`` holds a stable 64-bit hash of each
  id's UTF-8 bytes (:func:`string_key`), which the split's tie-break uses. Nodes are the sorted
  ids; indices are contiguous and 0-based;
- no rating column: implicit feedback, every rating is 1; no time column: the file's row order
  is the time (``time`` = row number), and ``data.load_summary['time']`` says so;
- a (user, item) pair given twice keeps its latest row (by time, else by file order); the
  number dropped is ``load_summary['duplicates_dropped']``;
- items / users tables are joined on the item / user column: ``title`` gives the titles,
  ``genres`` (``|``-separated) the multi-hot ``genre=<name>`` features, every other numeric
  column a feature scaled to [0, 1] (``load_summary`` lists the columns used and ignored).

``data.load_summary`` also counts users with fewer than 3 interactions: the temporal split
keeps them in train only (nothing of theirs is evaluated).
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch_geometric.data import HeteroData

from graphrec.data.movielens import DatasetError

__all__ = ["load_interactions", "string_key", "parse_columns", "COLUMN_ROLES"]

#: the roles ``--columns`` may name
COLUMN_ROLES = ("user", "item", "rating", "time", "title", "genres")
_INT = re.compile(r"^-?(0|[1-9]\d{0,17})$")  # integers that print back as given


def string_key(raw: str) -> int:
    """A stable 64-bit key of a string id: BLAKE2b (8 bytes) of its UTF-8 bytes, as int64."""
    digest = hashlib.blake2b(str(raw).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def parse_columns(text: str | None) -> dict[str, str]:
    """``"user=uid,item=mid"`` -> ``{"user": "uid", "item": "mid"}`` (the ``--columns`` value)."""
    out: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        role, sep, name = part.partition("=")
        role, name = role.strip(), name.strip()
        if not sep or role not in COLUMN_ROLES or not name:
            raise DatasetError(
                f"--columns entry {part!r} is not ROLE=COLUMN with ROLE one of "
                f"{', '.join(COLUMN_ROLES)} (e.g. --columns user=uid,item=mid)"
            )
        out[role] = name
    return out


def _read(source: Any, what: str, sep: str | None) -> tuple[pd.DataFrame, str]:
    """A table from a DataFrame or a path; CSV / TSV by extension or sniffing, Parquet."""
    if isinstance(source, pd.DataFrame):
        return source.reset_index(drop=True), f"the {what} DataFrame"
    path = Path(os.fspath(source))
    where = f"{what} file {path}"
    if not path.is_file():
        raise DatasetError(f"{where} does not exist; give the path of a CSV, TSV or Parquet file")
    if path.suffix.lower() in (".parquet", ".pq"):
        df = pd.read_parquet(path)
    else:
        if path.stat().st_size == 0:
            raise DatasetError(f"{where} is empty; it needs a header line and one row per {what}")
        if sep is None:
            ext = path.suffix.lower()
            if ext in (".tsv", ".tab"):
                sep = "\t"
            elif ext == ".csv":
                sep = ","
            else:
                with open(path, encoding="utf-8", newline="") as fh:
                    head = fh.read(65536)
                try:
                    sep = csv.Sniffer().sniff(head, delimiters=",\t;|").delimiter
                except csv.Error:
                    sep = ","
        try:
            df = pd.read_csv(
                path, sep=sep, dtype=str, keep_default_na=False, encoding="utf-8", engine="c"
            )
        except pd.errors.EmptyDataError:
            raise DatasetError(f"{where} is empty; it needs a header line") from None
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise DatasetError(f"{where} cannot be parsed ({exc}); save it as UTF-8 CSV") from None
    if len(df) == 0:
        raise DatasetError(f"{where} has a header but no rows; it needs one row per {what}")
    return df, where


def _need(df: pd.DataFrame, col: str, role: str, where: str) -> None:
    if col not in df.columns:
        found = ", ".join(map(str, df.columns))
        raise DatasetError(
            f"{where} has no {role} column {col!r} (columns found: {found}); name it with "
            f"--columns {role}=COLUMN (or {role}= in load_interactions)"
        )


def _ids(values: pd.Series) -> pd.Series:
    """Raw ids as given: integers when every value is one, else strings."""
    if pd.api.types.is_integer_dtype(values):
        return values.astype(np.int64)
    text = values.astype(str)
    if len(text) and text.str.match(_INT).all():
        return text.astype(np.int64)
    return text


def _numbers(df: pd.DataFrame, col: str, role: str, where: str, fix: str) -> np.ndarray:
    values = pd.to_numeric(df[col], errors="coerce")
    bad = values.isna() | ~np.isfinite(values.to_numpy(np.float64, na_value=np.nan))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        row = ", ".join(f"{c}={df.iloc[i][c]!r}" for c in df.columns)
        raise DatasetError(
            f"{where}: {role} column {col!r} holds {int(bad.sum())} non-numeric value(s); the "
            f"first is row {i + 1} ({row}); {fix}"
        )
    return values.to_numpy(np.float64)


def _times(df: pd.DataFrame, col: str, where: str) -> np.ndarray:
    values = pd.to_numeric(df[col], errors="coerce")
    if values.isna().any():  # dates as text: seconds since 1970
        dates = pd.to_datetime(df[col], errors="coerce", utc=True)
        if dates.isna().any():
            i = int(np.flatnonzero(dates.isna().to_numpy())[0])
            raise DatasetError(
                f"{where}: time column {col!r} row {i + 1} holds {df.iloc[i][col]!r}, neither a "
                "number nor a date; fix the value or drop time= (the file order is then used)"
            )
        return (dates.astype("int64") // 1_000_000_000).to_numpy(np.int64)
    return values.to_numpy(np.float64).astype(np.int64)


def _node_ids(*columns: pd.Series) -> np.ndarray:
    kinds = {pd.api.types.is_integer_dtype(c) for c in columns}
    if len(kinds) > 1:  # integers in one table, strings in the other: compare as text
        columns = tuple(c.astype(str) for c in columns)
    return np.array(sorted(set().union(*(set(c.tolist()) for c in columns))), dtype=object)


def _features(
    table: pd.DataFrame | None, key: str, skip: set[str], node_ids: np.ndarray, genres_col: str
) -> tuple[np.ndarray, list[str], list[str], list[str]]:
    """[n, F] features of the nodes from ``table``: genre multi-hot and scaled numeric columns;
    also the numeric columns used and the other columns ignored."""
    n = len(node_ids)
    if table is None:
        return np.zeros((n, 0), np.float32), [], [], []
    blocks, names, used, ignored = [], [], [], []
    if genres_col in table.columns:
        lists = table[genres_col].astype(str).str.split("|")
        found = {g.strip() for gl in lists for g in gl if g.strip()}
        genres = sorted(found - {"(no genres listed)"})
        gidx = {g: i for i, g in enumerate(genres)}
        block = np.zeros((n, len(genres)), np.float32)
        for row, gl in enumerate(lists):
            for g in gl:
                if g.strip() in gidx:
                    block[row, gidx[g.strip()]] = 1.0
        blocks.append(block)
        names += [f"genre={g}" for g in genres]
    for col in table.columns:
        if col == key or col in skip or col == genres_col:
            continue
        values = pd.to_numeric(table[col], errors="coerce")
        given = table[col].astype(str).str.strip() != ""
        if given.any() and values[given].notna().all():
            v = values.to_numpy(np.float64)
            fill = np.nanmean(v) if np.isfinite(v).any() else 0.0
            v = np.where(np.isfinite(v), v, fill)
            lo, hi = v.min(), v.max()
            blocks.append((((v - lo) / (hi - lo)) if hi > lo else np.zeros_like(v))[:, None])
            names.append(str(col))
            used.append(str(col))
        else:
            ignored.append(str(col))
    x = np.concatenate(blocks, axis=1).astype(np.float32) if blocks else np.zeros((n, 0))
    return x.astype(np.float32), names, used, ignored


def _join(table: pd.DataFrame, key: str, node_ids: np.ndarray, where: str, what: str):
    """``table`` in node order (one row per node; nodes it lacks get empty values)."""
    table = table.copy()
    table[key] = _ids(table[key])
    ids = pd.Series(list(node_ids))
    if pd.api.types.is_integer_dtype(table[key]) != pd.api.types.is_integer_dtype(ids):
        table[key] = table[key].astype(str)
        ids = ids.astype(str)
    dup = table[key].duplicated()
    if dup.any():
        raise DatasetError(
            f"{where}: {what} {table[key][dup].iloc[0]!r} has two rows; keep one row per {what}"
        )
    return table.set_index(key).reindex(ids.tolist()).reset_index(names=key).fillna("")


def _store_ids(store, ids: np.ndarray) -> None:
    if all(isinstance(i, (int, np.integer)) for i in ids):
        store.raw_id = torch.tensor([int(i) for i in ids], dtype=torch.int64)
    else:
        names = [str(i) for i in ids]
        store.raw_name = names
        store.raw_id = torch.tensor([string_key(s) for s in names], dtype=torch.int64)
    store.num_nodes = len(ids)


def load_interactions(
    interactions: str | os.PathLike | pd.DataFrame,
    user: str = "user",
    item: str = "item",
    rating: str | None = None,
    time: str | None = None,
    items: str | os.PathLike | pd.DataFrame | None = None,
    users: str | os.PathLike | pd.DataFrame | None = None,
    *,
    title: str | None = None,
    genres: str | None = None,
    sep: str | None = None,
    bad_rows: str = "error",
    name: str = "csv",
) -> HeteroData:
    """Load your own user-item interactions as a graphrec graph (see the module docstring).

    Args:
        interactions: a CSV / TSV (by extension, else sniffed) or Parquet path, or a DataFrame,
            one row per interaction.
        user, item: the id columns (also the join keys of ``users`` / ``items``).
        rating: the rating column (None: implicit feedback, every rating 1).
        time: the time column, numbers or dates (None: the row order is the time).
        items, users: optional node tables (path or DataFrame) joined on ``item`` / ``user``.
        title, genres: the items table's title and ``|``-separated genres columns (default:
            ``title`` and ``genres`` when the table has them).
        sep: the field separator of text files (default: from the extension, else sniffed).
        bad_rows: ``error`` (default) or ``drop`` the rows naming a user / item that the given
            users / items table lacks (counted in ``load_summary``).
        name: the graph's name (``data.name``; checkpoints record it as the data set).

    Returns:
        ``HeteroData`` with ``data.load_summary`` (dict) saying what was read and dropped.
    """
    df, where = _read(interactions, "interactions", sep)
    for col, role in ((user, "user"), (item, "item"), (rating, "rating"), (time, "time")):
        if col is not None:
            _need(df, col, role, where)
    n_rows = len(df)
    u_raw, m_raw = _ids(df[user]), _ids(df[item])
    r = (
        _numbers(
            df,
            rating,
            "rating",
            where,
            "fix or remove that row, or drop rating= for implicit feedback",
        )
        if rating is not None
        else np.ones(n_rows)
    )
    order = np.arange(n_rows, dtype=np.int64)
    t = _times(df, time, where) if time is not None else order.copy()

    utab = mtab = None
    if users is not None:
        utab, uwhere = _read(users, "users", sep)
        _need(utab, user, "user", uwhere)
    if items is not None:
        mtab, mwhere = _read(items, "items", sep)
        _need(mtab, item, "item", mwhere)
        for col, role in ((title, "title"), (genres, "genres")):
            if col is not None:
                _need(mtab, col, role, mwhere)
    if bad_rows not in ("error", "drop"):
        raise DatasetError(f"bad_rows={bad_rows!r}: use 'error' or 'drop'")

    # rows naming a user / item the given table lacks: refused, or dropped and counted
    frame = pd.DataFrame({"u": u_raw, "m": m_raw, "r": r, "t": t, "o": order})
    unknown = np.zeros(n_rows, dtype=bool)
    for col, table, key, what in (("u", utab, user, "user"), ("m", mtab, item, "item")):
        if table is None:
            continue
        known = set(_ids(table[key]).astype(str).tolist())
        missing = ~frame[col].astype(str).isin(known).to_numpy()
        if missing.any() and bad_rows == "error":
            i = int(np.flatnonzero(missing)[0])
            raise DatasetError(
                f"{where}: {int(missing.sum())} row(s) name a {what} missing from the {what}s "
                f"table; the first is row {i + 1} ({what} {frame[col].iloc[i]!r}); add it to "
                "that table, or drop such rows (bad_rows='drop', --drop-bad-rows)"
            )
        unknown |= missing
    dropped = [int(i) + 1 for i in np.flatnonzero(unknown)]
    frame = frame[~unknown]
    if len(frame) == 0:
        raise DatasetError(f"{where}: no interactions left after dropping rows of unknown ids")

    # duplicates: the latest row of each pair (by time, then by file order)
    frame = frame.sort_values(["t", "o"], kind="stable")
    keep = ~frame.duplicated(["u", "m"], keep="last")
    duplicates = int((~keep).sum())
    frame = frame[keep].sort_values("o", kind="stable").reset_index(drop=True)

    summary: dict[str, Any] = {
        "source": where,
        "rows": n_rows,
        "interactions": len(frame),
        "rows_dropped_unknown_id": len(dropped),
        "dropped_rows": dropped[:20],
        "duplicates_dropped": duplicates,
        "duplicate_policy": "latest row of each (user, item) pair, by time then file order",
        "feedback": "explicit" if rating is not None else "implicit (every rating 1)",
        "time": f"column {time!r}" if time is not None else "file order (row number)",
    }

    user_ids = _node_ids(frame["u"], *([_ids(utab[user])] if utab is not None else []))
    movie_ids = _node_ids(frame["m"], *([_ids(mtab[item])] if mtab is not None else []))
    upos = {v: i for i, v in enumerate(user_ids.tolist())}
    mpos = {v: i for i, v in enumerate(movie_ids.tolist())}
    as_text_u = not all(isinstance(v, (int, np.integer)) for v in user_ids)
    as_text_m = not all(isinstance(v, (int, np.integer)) for v in movie_ids)
    eu = np.array([upos[str(v) if as_text_u else v] for v in frame["u"].tolist()], np.int64)
    em = np.array([mpos[str(v) if as_text_m else v] for v in frame["m"].tolist()], np.int64)

    data = HeteroData()
    data.name = name
    data.source = where
    _store_ids(data["user"], user_ids)
    _store_ids(data["movie"], movie_ids)

    if utab is not None:
        utab = _join(utab, user, user_ids, uwhere, "user")
    ux, unames, uused, uignored = _features(utab, user, set(), user_ids, "\0")
    data["user"].x = torch.from_numpy(ux)
    data["user"].feature_names = unames

    title_col = title or ("title" if mtab is not None and "title" in mtab.columns else None)
    genres_col = genres or ("genres" if mtab is not None and "genres" in mtab.columns else "\0")
    if mtab is not None:
        mtab = _join(mtab, item, movie_ids, mwhere, "item")
        if title_col is not None:
            names = mtab[title_col].astype(str).tolist()
            ids = movie_ids.tolist()
            data["movie"].title = [t or str(i) for t, i in zip(names, ids, strict=True)]
        data["movie"].genres = (
            mtab[genres_col].astype(str).tolist()
            if genres_col in mtab.columns
            else [""] * len(movie_ids)
        )
    mx, mnames, mused, mignored = _features(
        mtab, item, {title_col} if title_col else set(), movie_ids, genres_col
    )
    data["movie"].x = torch.from_numpy(mx)
    data["movie"].feature_names = mnames

    ei = torch.from_numpy(np.stack([eu, em]))
    rt = torch.tensor(frame["r"].to_numpy(np.float32))
    tt = torch.tensor(frame["t"].to_numpy(np.int64))
    from graphrec.data.graph import RATED_BY, RATES

    data[RATES].edge_index, data[RATES].rating, data[RATES].time = ei, rt, tt
    data[RATED_BY].edge_index, data[RATED_BY].rating, data[RATED_BY].time = ei.flip(0), rt, tt

    deg = np.bincount(eu, minlength=len(user_ids))
    summary.update(
        users=len(user_ids),
        items=len(movie_ids),
        users_with_one_interaction=int((deg == 1).sum()),
        users_train_only=int((deg < 3).sum()),
        train_only_rule="users with < 3 interactions stay in train (temporal_split)",
        titles=title_col is not None,
        item_features=mnames if mnames else [],
        item_numeric_columns=mused,
        item_columns_ignored=mignored,
        user_numeric_columns=uused,
        user_columns_ignored=uignored,
    )
    data.load_summary = summary
    return data
