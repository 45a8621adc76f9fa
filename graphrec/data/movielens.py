"""MovieLens sources and parsing: raw files -> three tables (ratings, users, movies).

Sources are tried in order and the one used is reported (``tables.source``):

1. ``local``: files already under the raw folder, in GroupLens's layout
   (``<raw_dir>/ml-100k/u.data`` ...) or as GroupLens's zip (``<raw_dir>/ml-100k.zip``);
2. ``grouplens``: the canonical GroupLens zip, downloaded with a short timeout;
3. ``registry`` (ml-100k only): RecBole 1.2.1's wheel carries ML-100K as atomic files;
   it is fetched with ``python -m pip download --no-deps recbole==1.2.1`` into a temporary
   folder and read there (recbole is never installed).

A ``raw_dir`` given explicitly is where the files must be: if it holds none, that is an error
naming what was looked for, never a quiet fall back to a download.

Two different checks guard the content:

- **validation** always runs, ``verify`` or not: every row must make sense (ids are
  non-negative integers, timestamps integer seconds in 0..253402300799, ratings on the data
  set's scale, no pair rated twice, the expected number of fields, no quote that swallows
  lines of a CSV file). A failure names the file, the line, the field, the value and the fix.
- **verification** (``verify=True``, the default) compares with the published data set: the
  zip's published MD5 where there is a zip, a SHA-256 over the parsed ratings table (sorted by
  user then movie, so that the order of the file does not matter) where one is pinned, and the
  published numbers of ratings, users and movies.

Titles always come out in canonical MovieLens form (``Star Wars (1977)``,
``Godfather, The (1972)``).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "DATASETS",
    "DatasetError",
    "ChecksumError",
    "DataUnavailableError",
    "DatasetInfo",
    "Tables",
    "default_root",
    "read_tables",
    "ratings_checksum",
    "source_identity",
]

DATA_ENV = "GRAPHREC_DATA"


class DatasetError(ValueError):
    """Raised when a data set cannot be found, read or trusted; the message says what to do."""


class ChecksumError(DatasetError):
    """Raised when files do not match the published data set."""


class DataUnavailableError(DatasetError):
    """Raised when no source could provide the files at all (nothing local, no download, no
    registry). Unlike other :class:`DatasetError` s it says nothing about the data: it is the
    one failure a caller may treat as "the data set is not available here"."""


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    url: str
    zip_md5: str | None
    ratings_sha256: str | None
    num_ratings: int
    num_users: int
    num_movies: int
    licence: str
    #: ratings allowed: ``lo..hi`` in steps of ``step``
    rating_scale: tuple[float, float, float] = (1.0, 5.0, 1.0)


DATASETS: dict[str, DatasetInfo] = {
    "ml-100k": DatasetInfo(
        "ml-100k",
        "https://files.grouplens.org/datasets/movielens/ml-100k.zip",
        "0e33842e24a9c977be4e0107933c0723",
        "2e410ef216ca4e1a4e6ac05148fac2ca2972f450c1523d5225dd913d2a1fa58c",
        100_000,
        943,
        1682,
        "GroupLens research licence: no redistribution without permission",
    ),
    "ml-latest-small": DatasetInfo(
        "ml-latest-small",
        "https://files.grouplens.org/datasets/movielens/ml-latest-small.zip",
        None,
        "29d4329c3540dea5e89aea7a74b22bda9268e9eaad6ca9ddf6d767b0ba323f21",
        100_836,
        610,
        9742,
        "GroupLens research licence (see README.txt in the data folder)",
        (0.5, 5.0, 0.5),
    ),
    "ml-1m": DatasetInfo(
        "ml-1m",
        "https://files.grouplens.org/datasets/movielens/ml-1m.zip",
        "c4d9eecfca2ab87c1945afe126590906",
        None,  # verified by the zip's MD5 and by its counts
        1_000_209,
        6040,
        3883,
        "GroupLens research licence: no redistribution without permission",
    ),
    # the full ml-latest-small layout (ratings.csv, movies.csv). The zip MD5s are those of
    # GroupLens's published sidecar files (<name>.zip.md5), as quoted in several independent
    # public projects that check downloads against them; the ratings file has no published
    # hash, so a folder (no zip) is verified by the published counts, checked after parsing
    "ml-20m": DatasetInfo(
        "ml-20m",
        "https://files.grouplens.org/datasets/movielens/ml-20m.zip",
        "cd245b17a1ae2cc31bb14903e1204af3",
        None,
        20_000_263,
        138_493,
        27_278,
        "GroupLens research licence (see README.txt in the zip)",
        (0.5, 5.0, 0.5),
    ),
    "ml-25m": DatasetInfo(
        "ml-25m",
        "https://files.grouplens.org/datasets/movielens/ml-25m.zip",
        "6b51fb2759a8657d3bfcbfc42b592ada",
        None,
        25_000_095,
        162_541,
        62_423,
        "GroupLens research licence (see README.txt in the zip)",
        (0.5, 5.0, 0.5),
    ),
}

ML100K_GENRES = [
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
]

ML1M_OCCUPATIONS = [
    "other",
    "academic/educator",
    "artist",
    "clerical/admin",
    "college/grad student",
    "customer service",
    "doctor/health care",
    "executive/managerial",
    "farmer",
    "homemaker",
    "K-12 student",
    "lawyer",
    "programmer",
    "retired",
    "sales/marketing",
    "scientist",
    "self-employed",
    "technician/engineer",
    "tradesman/craftsman",
    "unemployed",
    "writer",
]

RECBOLE_SPEC = "recbole==1.2.1"
RECBOLE_PREFIX = "recbole/dataset_example/ml-100k/ml-100k"

#: the files each data set's parser reads (what a cache of it depends on)
MEMBERS = {
    "ml-100k": ("u.data", "u.item", "u.user"),
    "ml-1m": ("ratings.dat", "movies.dat", "users.dat"),
    "ml-latest-small": ("ratings.csv", "movies.csv"),
    "ml-20m": ("ratings.csv", "movies.csv"),
    "ml-25m": ("ratings.csv", "movies.csv"),
}
MARKER = {name: members[0] for name, members in MEMBERS.items()}

#: the latest timestamp accepted: 9999-12-31 23:59:59 UTC, in seconds
MAX_TIMESTAMP = 253_402_300_799


@dataclass
class Tables:
    """The three MovieLens tables, ratings in source-file order.

    ``ratings``: user_id, movie_id, rating (float), timestamp (int64 seconds).
    ``users``: user_id, age, gender, occupation, zip (``None`` where the data set has none).
    ``movies``: movie_id, title (canonical), genres (``|``-joined), year (float, NaN if unknown).
    ``identity``: where the tables were read from (see :func:`source_identity`).
    """

    name: str
    ratings: pd.DataFrame
    movies: pd.DataFrame
    users: pd.DataFrame | None
    source: str
    dropped_rows: list[str] = field(default_factory=list)
    identity: dict | None = None


def default_root() -> Path:
    """The data root: ``$GRAPHREC_DATA``, else ``datasets/`` of a source checkout, else a
    user cache folder (``$XDG_CACHE_HOME/graphrec`` or ``~/.cache/graphrec``)."""
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file() and (checkout / "datasets").is_dir():
        return checkout / "datasets"
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "graphrec"


def info(name: str) -> DatasetInfo:
    try:
        return DATASETS[name]
    except KeyError:
        raise DatasetError(
            f"unknown dataset {name!r}; choose one of {', '.join(sorted(DATASETS))}"
        ) from None


def ratings_checksum(ratings: pd.DataFrame) -> str:
    """SHA-256 of the ratings table sorted by (user, movie): independent of file order."""
    r = ratings.sort_values(["user_id", "movie_id"], kind="stable")
    arr = np.stack(
        [
            r["user_id"].to_numpy(np.int64),
            r["movie_id"].to_numpy(np.int64),
            np.round(r["rating"].to_numpy(np.float64) * 2).astype(np.int64),
            r["timestamp"].to_numpy(np.int64),
        ],
        axis=1,
    )
    return hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest()


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------- source identity
def _stat(path: Path) -> list[int] | None:
    """[size, mtime_ns, ctime_ns] of a file, or None if it is not one (a cheap change mark:
    any rewrite, copy over or touch of the file changes it)."""
    try:
        st = path.stat()
    except OSError:
        return None
    if not path.is_file():
        return None
    return [int(st.st_size), int(st.st_mtime_ns), int(st.st_ctime_ns)]


def _local_identity(name: str, search: Path) -> dict | None:
    """The identity of the local files :func:`read_tables` would read, or None if none."""
    folder, zpath = search / name, search / f"{name}.zip"
    if (folder / MARKER[name]).is_file():
        return {
            "source": "local folder",
            "path": str(folder.resolve()),
            "files": {m: _stat(folder / m) for m in MEMBERS[name]},
        }
    if zpath.is_file():
        return {
            "source": "local zip",
            "path": str(zpath.resolve()),
            "files": {zpath.name: _stat(zpath)},
        }
    return None


def _remote_identity(name: str, kind: str) -> dict:
    if kind == "grouplens":
        return {"source": "grouplens", "url": info(name).url}
    return {"source": "registry", "spec": RECBOLE_SPEC}


def source_identity(
    name: str,
    raw_dir: str | os.PathLike | None = None,
    *,
    download_dir: str | os.PathLike | None = None,
    source: str = "auto",
) -> list[dict]:
    """The identities :func:`read_tables` (same arguments) could give its tables, cheaply.

    No file is read and nothing is downloaded: local files are described by their resolved
    path and, per file, ``[size, mtime_ns, ctime_ns]``; remote sources by their URL or package
    spec. A cache of the tables is valid only if its recorded identity is in this list. The
    list is empty when :func:`read_tables` would raise (e.g. ``raw_dir`` holds no files).
    """
    search = _search_dir(raw_dir, download_dir)
    if source in ("auto", "local"):
        local = _local_identity(name, search)
        if local is not None:
            return [local]
        if source == "local" or raw_dir is not None:
            return []
    out = []
    if source in ("auto", "grouplens"):
        out.append(_remote_identity(name, "grouplens"))
    if source in ("auto", "registry") and name == "ml-100k":
        out.append(_remote_identity(name, "registry"))
    return out


def _search_dir(raw_dir, download_dir) -> Path:
    if raw_dir is not None:
        return Path(raw_dir)
    return Path(download_dir) if download_dir is not None else default_root()


# --------------------------------------------------------------------------- readers
@dataclass(frozen=True)
class _Files:
    """Read access to one source's files: ``read(member)`` gives the bytes, ``where(member)``
    names the file in messages."""

    read: Callable[[str], bytes]
    where: Callable[[str], str]
    #: what to do about a bad file of this source
    fix: str = "correct that line, or replace the file with a fresh copy from GroupLens"


def _folder_files(folder: Path) -> _Files:
    def read(member: str) -> bytes:
        path = folder / member
        if not path.is_file():
            raise DatasetError(
                f"{path} is missing; the {folder.name} folder is incomplete (copy the whole "
                f"extracted folder of GroupLens's zip there)"
            )
        try:
            return path.read_bytes()
        except OSError as exc:
            raise DatasetError(f"cannot read {path} ({exc.strerror or exc})") from None

    return _Files(read, lambda member: str(folder / member))


@contextlib.contextmanager
def _zip_files(path: Path, top: str) -> Iterator[_Files]:
    try:
        zf = zipfile.ZipFile(path)
        bad = zf.testzip()
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise DatasetError(
            f"{path} is not a readable zip ({exc}); it is probably a truncated download: "
            f"delete it and run again, or place the extracted folder there instead"
        ) from None
    if bad is not None:
        raise DatasetError(f"{path} is corrupt (member {bad} fails its CRC); delete it and rerun")
    names = set(zf.namelist())

    def member_name(member: str) -> str | None:
        for cand in (f"{top}/{member}", member):
            if cand in names:
                return cand
        return None

    def read(member: str) -> bytes:
        cand = member_name(member)
        if cand is None:
            raise DatasetError(f"{path} has no {top}/{member}; is it the right zip?")
        return zf.read(cand)

    try:
        yield _Files(
            read,
            lambda member: f"{path}:{member_name(member) or member}",
            "replace the zip with a fresh copy from GroupLens",
        )
    finally:
        zf.close()


def _line_count(text: str) -> int:
    return text.count("\n") + (0 if text.endswith("\n") or not text else 1)


def _swallowing_quote(text: str, sep: str) -> tuple[int, int] | None:
    """(line, number of lines swallowed) of the first CSV record that spans several lines
    because a quote opened a field and did not close on that line; or None."""
    delim = sep if len(sep) == 1 else "\x1f"
    src = text if len(sep) == 1 else text.replace(sep, delim)
    reader = csv.reader(io.StringIO(src, newline=""), delimiter=delim)
    prev = 0
    for _ in reader:
        if reader.line_num - prev > 1:
            return prev + 1, reader.line_num - prev - 1
        prev = reader.line_num
    return None


def _quote_error(where: str, text: str, sep: str, fix: str) -> DatasetError | None:
    found = _swallowing_quote(text, sep)
    if found is None:
        return None
    line, swallowed = found
    start = text.splitlines()[line - 1][:60]
    return DatasetError(
        f'{where} line {line}: a quote (") opens a field and does not close on that line, so '
        f"the next {swallowed} line(s) were read into that field (the line starts {start!r}). "
        f'A quote inside a field is written twice inside a quoted field ("A ""B"" C"); {fix}'
    )


def _read_table(
    files: _Files,
    member: str,
    sep: str,
    names: list[str],
    encoding: str = "utf-8",
    header: bool = False,
    skip: int = 0,
    quoting: bool = False,
) -> tuple[pd.DataFrame, str, int]:
    """Parse one delimited file into string columns ``names``.

    Every line is one row (blank lines too, so that row ``i`` is line ``i + first_line``);
    trailing blank lines are ignored. ``header``: the first line names the columns (``names``
    must be among them); ``skip``: lines to skip before the data (typed header lines);
    ``quoting``: CSV quoting (``"a, b"``), off for GroupLens's ``|``, tab and ``::`` files,
    which never quote. Returns ``(table, where, first_line)``.
    """
    where = files.where(member)
    raw = files.read(member)
    try:
        text = raw.decode("utf-8-sig" if encoding == "utf-8" else encoding)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DatasetError(
            f"{where} line {line}: not {encoding} text (byte {raw[exc.start]:#04x}); {files.fix}"
        ) from None
    text = text.rstrip("\r\n")
    if not text.strip():
        raise DatasetError(f"{where} is empty; replace it with a fresh copy from GroupLens")
    first_line = 1 + skip + (1 if header else 0)
    try:
        df = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            header=None,
            engine="python" if len(sep) > 1 else "c",
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            skiprows=skip,
            quoting=csv.QUOTE_MINIMAL if quoting else csv.QUOTE_NONE,
        )
    except pd.errors.EmptyDataError:
        raise DatasetError(
            f"{where} is empty; replace it with a fresh copy from GroupLens"
        ) from None
    except (pd.errors.ParserError, csv.Error) as exc:
        if quoting and (err := _quote_error(where, text, sep, files.fix)) is not None:
            raise err from None
        text_of = " ".join(str(exc).split())
        fields = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text_of)
        if fields:
            want, line, got = fields.groups()
            raise DatasetError(
                f"{where} line {line}: {got} fields separated by {sep!r}, expected {want} "
                f"({', '.join(names)}); {files.fix}"
            ) from None
        raise DatasetError(f"{where}: malformed file ({text_of}); {files.fix}") from None
    if quoting and len(df) + skip != _line_count(text):  # pandas joined lines silently
        lines = _line_count(text) - skip
        raise _quote_error(where, text, sep, files.fix) or DatasetError(
            f"{where}: {lines} lines but {len(df)} rows were read; {files.fix}"
        )
    df = df.fillna("")  # the python engine marks missing trailing fields as NaN
    if header:
        columns = [str(c).strip() for c in df.iloc[0]]
        missing = [c for c in names if c not in columns]
        if missing:
            raise DatasetError(
                f"{where}: missing column(s) {missing}; found {columns}. Is this the GroupLens "
                f"file?"
            )
        df = df.iloc[1:].reset_index(drop=True)
        df.columns = columns
        df = df[names]
    elif df.shape[1] != len(names):
        raise DatasetError(
            f"{where} line {first_line}: {df.shape[1]} field(s) separated by {sep!r}, expected "
            f"{len(names)} ({', '.join(names)}); {files.fix}"
        )
    else:
        df.columns = names
    return df, where, first_line


def _bad(where, first_line, df, col, bad, expected, fix) -> DatasetError:
    i = int(np.flatnonzero(np.asarray(bad))[0])
    n = int(np.asarray(bad).sum())
    value = df[col].iloc[i]
    shown = "an empty field" if str(value).strip() == "" else repr(value)
    more = "" if n == 1 else f" ({n} such rows)"
    return DatasetError(
        f"{where} line {i + first_line}, field {list(df.columns).index(col) + 1} ({col}): "
        f"{shown} is not {expected}{more}; {fix}"
    )


def _integers(
    df: pd.DataFrame,
    cols: list[str],
    where: str,
    first_line: int,
    fix: str,
    lo: int = 0,
    hi: int = np.iinfo(np.int64).max,
    what: str = "a non-negative integer",
) -> pd.DataFrame:
    """Columns ``cols`` as int64, each value a plain integer in ``lo..hi`` (``1.9`` and
    ``1e20`` are errors, never truncated or wrapped)."""
    for col in cols:
        text = df[col].str.strip()
        values = pd.to_numeric(text, errors="coerce")
        if values.dtype.kind not in "iu":  # some value is not an integer (or is too large)
            ok = text.str.fullmatch(r"[+-]?\d{1,18}")
            if not ok.all():
                raise _bad(where, first_line, df, col, ~ok.to_numpy(), what, fix)
            values = text.astype(np.int64)
        if values.dtype.kind == "u" and (values > hi).any():
            raise _bad(where, first_line, df, col, (values > hi).to_numpy(), what, fix)
        values = values.astype(np.int64)
        out = ((values < lo) | (values > hi)).to_numpy()
        if out.any():
            raise _bad(where, first_line, df, col, out, what, fix)
        df[col] = values
    return df


def _unique(df: pd.DataFrame, col: str, where: str, first_line: int, what: str) -> None:
    dup = df[col].duplicated().to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise DatasetError(
            f"{where} line {i + first_line}: {what} {df[col].iloc[i]} is listed twice; "
            f"replace the file with a fresh copy from GroupLens"
        )


def _check_ratings(
    ratings: pd.DataFrame, meta: DatasetInfo, where: str, first_line: int, fix: str
) -> pd.DataFrame:
    if len(ratings) == 0:
        raise DatasetError(f"{where}: no ratings in the file; the data set is empty")
    ratings = _integers(ratings, ["user_id", "movie_id"], where, first_line, fix)
    ratings = _integers(
        ratings,
        ["timestamp"],
        where,
        first_line,
        fix,
        hi=MAX_TIMESTAMP,
        what=f"a Unix time in whole seconds (0..{MAX_TIMESTAMP})",
    )
    lo, hi, step = meta.rating_scale
    scale = (
        f"a rating on {meta.name}'s scale ("
        + (f"whole stars {lo:g}..{hi:g}" if step == 1 else f"{lo:g}..{hi:g} in steps of {step:g}")
        + ")"
    )
    values = pd.to_numeric(ratings["rating"].str.strip(), errors="coerce").to_numpy(np.float64)
    with np.errstate(invalid="ignore"):
        steps = (values - lo) / step
        bad = ~(
            np.isfinite(values)
            & (values >= lo)
            & (values <= hi)
            & (np.abs(steps - np.round(steps)) < 1e-9)
        )
    if bad.any():
        raise _bad(where, first_line, ratings, "rating", bad, scale, fix)
    ratings["rating"] = values
    dup = ratings.duplicated(["user_id", "movie_id"])
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise DatasetError(
            f"{where} line {i + first_line}: user {ratings['user_id'].iloc[i]} rated movie "
            f"{ratings['movie_id'].iloc[i]} twice; {fix}"
        )
    ratings.attrs.update(where=where, first_line=first_line)
    return ratings.reset_index(drop=True)


_YEAR = re.compile(r"\((\d{4})\)\s*$")


def _year_from_title(titles: pd.Series) -> pd.Series:
    return titles.str.extract(_YEAR, expand=False).astype(float)


def _parse_ml100k(files: _Files) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    meta = DATASETS["ml-100k"]
    ratings, where, first = _read_table(
        files, "u.data", "\t", ["user_id", "movie_id", "rating", "timestamp"]
    )
    ratings = _check_ratings(ratings, meta, where, first, files.fix)
    cols = ["movie_id", "title", "release_date", "video_date", "url", *ML100K_GENRES]
    items, where, first = _read_table(files, "u.item", "|", cols, encoding="latin-1")
    items = _integers(items, ["movie_id"], where, first, files.fix)
    items = _integers(items, ML100K_GENRES, where, first, files.fix, 0, 1, "a genre flag (0 or 1)")
    _unique(items, "movie_id", where, first, "movie")
    flags = items[ML100K_GENRES].to_numpy().astype(bool)
    genres = ["|".join(g for g, f in zip(ML100K_GENRES, row, strict=True) if f) for row in flags]
    movies = pd.DataFrame(
        {"movie_id": items["movie_id"], "title": items["title"].str.strip(), "genres": genres}
    )
    movies["year"] = _year_from_title(movies["title"])
    users, where, first = _read_table(
        files, "u.user", "|", ["user_id", "age", "gender", "occupation", "zip"]
    )
    users = _integers(users, ["user_id", "age"], where, first, files.fix)
    _unique(users, "user_id", where, first, "user")
    return ratings, movies, users


def _parse_recbole(files: _Files) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    meta = DATASETS["ml-100k"]
    cols = ["user_id", "movie_id", "rating", "timestamp"]
    ratings, where, first = _read_table(files, ".inter", "\t", cols, skip=1)  # typed header
    ratings = _check_ratings(ratings, meta, where, first, files.fix)
    cols = ["movie_id", "title", "year", "genres"]
    items, where, first = _read_table(files, ".item", "\t", cols, skip=1)
    items = _integers(items, ["movie_id"], where, first, files.fix)
    _unique(items, "movie_id", where, first, "movie")
    title = items["title"].str.strip().replace("unkonwn", "unknown")  # RecBole's typo
    year = pd.to_numeric(items["year"], errors="coerce")
    canonical = [t if np.isnan(y) else f"{t} ({int(y)})" for t, y in zip(title, year, strict=True)]
    movies = pd.DataFrame(
        {
            "movie_id": items["movie_id"],
            "title": canonical,
            "genres": items["genres"].str.split().str.join("|"),
            "year": year,
        }
    )
    cols = ["user_id", "age", "gender", "occupation", "zip"]
    users, where, first = _read_table(files, ".user", "\t", cols, skip=1)
    users = _integers(users, ["user_id", "age"], where, first, files.fix)
    _unique(users, "user_id", where, first, "user")
    return ratings, movies, users


def _parse_ml1m(files: _Files) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    meta = DATASETS["ml-1m"]
    ratings, where, first = _read_table(
        files, "ratings.dat", "::", ["user_id", "movie_id", "rating", "timestamp"], "latin-1"
    )
    ratings = _check_ratings(ratings, meta, where, first, files.fix)
    movies, where, first = _read_table(
        files, "movies.dat", "::", ["movie_id", "title", "genres"], "latin-1"
    )
    movies = _integers(movies, ["movie_id"], where, first, files.fix)
    _unique(movies, "movie_id", where, first, "movie")
    movies["year"] = _year_from_title(movies["title"])
    users, where, first = _read_table(
        files, "users.dat", "::", ["user_id", "gender", "age", "occupation", "zip"], "latin-1"
    )
    users = _integers(users, ["user_id", "age"], where, first, files.fix)
    users = _integers(
        users,
        ["occupation"],
        where,
        first,
        files.fix,
        0,
        len(ML1M_OCCUPATIONS) - 1,
        f"an occupation code (0..{len(ML1M_OCCUPATIONS) - 1})",
    )
    _unique(users, "user_id", where, first, "user")
    users["occupation"] = [ML1M_OCCUPATIONS[i] for i in users["occupation"]]
    return ratings, movies, users[["user_id", "age", "gender", "occupation", "zip"]]


def _parse_latest(
    files: _Files, name: str = "ml-latest-small"
) -> tuple[pd.DataFrame, pd.DataFrame, None]:
    """ratings.csv + movies.csv (ml-latest-small, ml-20m, ml-25m: the same layout)."""
    meta = DATASETS[name]
    cols = ["userId", "movieId", "rating", "timestamp"]
    ratings, where, first = _read_table(files, "ratings.csv", ",", cols, header=True, quoting=True)
    ratings.columns = ["user_id", "movie_id", "rating", "timestamp"]
    ratings = _check_ratings(ratings, meta, where, first, files.fix)
    cols = ["movieId", "title", "genres"]
    movies, where, first = _read_table(files, "movies.csv", ",", cols, header=True, quoting=True)
    movies.columns = ["movie_id", "title", "genres"]
    movies = _integers(movies, ["movie_id"], where, first, files.fix)
    _unique(movies, "movie_id", where, first, "movie")
    movies["title"] = movies["title"].str.strip()
    movies["genres"] = movies["genres"].replace("(no genres listed)", "")
    movies["year"] = _year_from_title(movies["title"])
    return ratings, movies, None


PARSERS = {
    "ml-100k": _parse_ml100k,
    "ml-1m": _parse_ml1m,
    "ml-latest-small": _parse_latest,
    "ml-20m": lambda files: _parse_latest(files, "ml-20m"),
    "ml-25m": lambda files: _parse_latest(files, "ml-25m"),
}


# --------------------------------------------------------------------------- sources
def _download(url: str, dest: Path, timeout: float) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, open(part, "wb") as fh:
            shutil.copyfileobj(resp, fh)
        os.replace(part, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            part.unlink()


@contextlib.contextmanager
def _recbole_files(verbose: bool) -> Iterator[_Files]:
    with tempfile.TemporaryDirectory(prefix="graphrec-recbole-") as tmp:
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "-q",
            RECBOLE_SPEC,
            "-d",
            tmp,
        ]
        if verbose:
            print(
                f"[graphrec] fetching ML-100K from the package registry ({RECBOLE_SPEC} wheel)",
                file=sys.stderr,
            )
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        wheels = list(Path(tmp).glob("recbole-*.whl"))
        if proc.returncode != 0 or not wheels:
            raise DataUnavailableError(
                f"could not fetch {RECBOLE_SPEC} with pip ({proc.stderr.strip()[-300:]})"
            )
        with zipfile.ZipFile(wheels[0]) as zf:
            names = set(zf.namelist())

            def read(member: str) -> bytes:
                name = RECBOLE_PREFIX + member
                if name not in names:
                    raise DatasetError(f"the {RECBOLE_SPEC} wheel has no {name}")
                return zf.read(name)

            yield _Files(
                read,
                lambda member: f"ml-100k{member} (in the {RECBOLE_SPEC} wheel)",
                "the package registry's copy is damaged: use GroupLens's zip instead (--raw-dir)",
            )


def _nothing_in_raw_dir(name: str, raw_dir: Path) -> DatasetError:
    folder, zpath = raw_dir / name, raw_dir / f"{name}.zip"
    marker = MARKER[name]
    looked = f"looked for {folder / marker} or {zpath}"
    if not raw_dir.exists():
        return DatasetError(f"raw_dir (--raw-dir) {raw_dir} does not exist ({looked})")
    hint = (
        f"; {raw_dir} itself holds {marker}: pass its parent, --raw-dir {raw_dir.parent}"
        if (raw_dir / marker).is_file()
        else f"; {folder} exists but has no {marker}"
        if folder.is_dir()
        else f". Place GroupLens's {name}.zip or its extracted {name}/ folder in {raw_dir}"
    )
    return DatasetError(f"raw_dir (--raw-dir) {raw_dir} holds no {name} files ({looked}){hint}")


def read_tables(
    name: str,
    raw_dir: str | os.PathLike | None = None,
    *,
    download_dir: str | os.PathLike | None = None,
    source: str = "auto",
    bad_rows: str = "error",
    verify: bool = True,
    timeout: float = 10.0,
    verbose: bool = True,
) -> Tables:
    """Find ``name`` (``ml-100k``, ``ml-latest-small``, ``ml-1m``, ``ml-20m``, ``ml-25m``)
    and parse its tables.

    Args:
        raw_dir: folder holding ``<name>/`` or ``<name>.zip``. Given, the files must be there
            (for ``source`` ``auto`` and ``local``): an error names what was looked for.
            Default: ``download_dir``, else the data root.
        download_dir: where a downloaded zip is kept (default: ``raw_dir``, else the root).
        source: ``auto`` (local, then grouplens, then registry), or one of those three.
        bad_rows: ``error`` (default) or ``drop``: what to do with ratings whose movie is
            not in the movie table, or whose user is not in the user table.
        verify: check the zip MD5 / ratings SHA-256 / counts against the published data set.
            Rows are validated (integer ids, sane timestamps, ratings on the scale) either way.
        timeout: seconds for the GroupLens download before falling back.

    Raises:
        DataUnavailableError: no source could provide the files.
        ChecksumError: the files differ from the published data set (``verify``).
        DatasetError: any other problem with the files, naming the file, line and fix.
    """
    meta = info(name)
    if source not in ("auto", "local", "grouplens", "registry"):
        raise DatasetError(f"unknown source {source!r}; use auto, local, grouplens or registry")
    if bad_rows not in ("error", "drop"):
        raise DatasetError(f"bad_rows must be 'error' or 'drop', not {bad_rows!r}")
    search = _search_dir(raw_dir, download_dir)
    download_dir = Path(download_dir) if download_dir is not None else search
    folder, zpath = search / name, search / f"{name}.zip"
    attempts: list[str] = []

    def finish(parsed, src: str, identity: dict) -> Tables:
        tables = _finish(meta, *parsed, source=src, bad_rows=bad_rows, verify=verify)
        tables.identity = identity
        return tables

    if source in ("auto", "local"):
        identity = _local_identity(name, search)
        if (folder / MARKER[name]).is_file():
            parsed = PARSERS[name](_folder_files(folder))
            return finish(parsed, f"local folder {folder}", identity)
        if zpath.is_file():
            _check_zip(meta, zpath, verify)
            with _zip_files(zpath, name) as files:
                return finish(PARSERS[name](files), f"local zip {zpath}", identity)
        if raw_dir is not None:
            raise _nothing_in_raw_dir(name, Path(raw_dir))
        attempts.append(f"no {folder}/ or {zpath}")
    if source in ("auto", "grouplens"):
        dest = download_dir / f"{name}.zip"
        try:
            if verbose:
                print(
                    f"[graphrec] downloading {meta.url} (timeout {timeout:.0f}s)", file=sys.stderr
                )
            _download(meta.url, dest, timeout)
        except OSError as exc:
            attempts.append(f"GroupLens download failed ({exc})")
        else:
            try:
                _check_zip(meta, dest, verify)
                with _zip_files(dest, name) as files:
                    parsed = PARSERS[name](files)
                    return finish(
                        parsed, f"grouplens {meta.url}", _remote_identity(name, "grouplens")
                    )
            except DatasetError:
                dest.unlink(missing_ok=True)  # never keep a bad download
                raise
    if source in ("auto", "registry") and name == "ml-100k":
        try:
            with _recbole_files(verbose) as files:
                parsed = _parse_recbole(files)
        except (OSError, subprocess.SubprocessError, DataUnavailableError) as exc:
            attempts.append(f"package registry failed ({exc})")
        else:  # a bad copy in the registry (parse or checksum) is an error, not "unavailable"
            return finish(
                parsed, f"registry ({RECBOLE_SPEC} wheel)", _remote_identity(name, "registry")
            )
    raise DataUnavailableError(
        f"could not get {name}: " + "; ".join(attempts) + f". Download {meta.url} elsewhere "
        f"and place the zip (or its extracted folder) in {search}, or pass --data-dir/--raw-dir"
    )


def _check_zip(meta: DatasetInfo, path: Path, verify: bool) -> None:
    if verify and meta.zip_md5 is not None:
        got = _md5(path)
        if got != meta.zip_md5:
            raise ChecksumError(
                f"{path} has MD5 {got}, but the published {meta.name}.zip has {meta.zip_md5}: "
                f"the file is truncated or modified. Delete it and run again (or pass "
                f"--no-verify to use a modified copy deliberately)"
            )


def _finish(
    meta: DatasetInfo,
    ratings: pd.DataFrame,
    movies: pd.DataFrame,
    users: pd.DataFrame | None,
    *,
    source: str,
    bad_rows: str,
    verify: bool,
) -> Tables:
    dropped: list[str] = []
    bad = ~ratings["movie_id"].isin(movies["movie_id"])
    if users is not None:
        bad |= ~ratings["user_id"].isin(users["user_id"])
    if bad.any():
        rows = ratings[bad]
        desc = [f"user {u} / movie {m}" for u, m in zip(rows.user_id, rows.movie_id, strict=True)]
        if bad_rows == "error":
            where = ratings.attrs.get("where", "the ratings file")
            line = rows.index[0] + ratings.attrs.get("first_line", 1)
            raise DatasetError(
                f"{meta.name}: {len(rows)} rating(s) name a user or movie missing from the "
                f"user/movie tables (first: {desc[0]}, at {where} line {line}). "
                f"Replace the files with a fresh copy, or pass bad_rows='drop' "
                f"(--drop-bad-rows) to skip those rows"
            )
        dropped = desc
        ratings = ratings[~bad].reset_index(drop=True)
        if len(ratings) == 0:
            raise DatasetError(f"{meta.name}: no ratings left after dropping bad rows")
    if verify:
        if meta.ratings_sha256 is not None:
            got = ratings_checksum(ratings)
            if got != meta.ratings_sha256:
                raise ChecksumError(
                    f"{meta.name} from {source}: the ratings do not match the published data "
                    f"set ({len(ratings)} ratings, SHA-256 {got[:12]}..., expected "
                    f"{meta.num_ratings} ratings, {meta.ratings_sha256[:12]}...). Replace the "
                    f"files with a fresh copy, or pass --no-verify to use them deliberately"
                )
        counts = [("ratings", len(ratings), meta.num_ratings)]
        counts.append(("movies", len(movies), meta.num_movies))
        if users is not None:
            counts.append(("users", len(users), meta.num_users))
        else:  # no users table: the users are those who rated
            counts.append(("users", int(ratings["user_id"].nunique()), meta.num_users))
        for what, got_n, want in counts:
            if got_n != want:
                raise ChecksumError(
                    f"{meta.name} from {source}: {got_n} {what}, the published data set has "
                    f"{want}. Replace the files with a fresh copy, or pass --no-verify to use "
                    f"them deliberately"
                )
    return Tables(
        meta.name,
        ratings,
        movies.reset_index(drop=True),
        None if users is None else users.reset_index(drop=True),
        source,
        dropped,
    )
