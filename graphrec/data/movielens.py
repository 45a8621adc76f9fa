"""MovieLens sources and parsing: raw files -> three tables (ratings, users, movies).

Sources are tried in order and the one used is reported (``tables.source``):

1. ``local``: files already under the raw folder, in GroupLens's layout
   (``<raw_dir>/ml-100k/u.data`` ...) or as GroupLens's zip (``<raw_dir>/ml-100k.zip``);
2. ``grouplens``: the canonical GroupLens zip, downloaded with a short timeout;
3. ``registry`` (ml-100k only): RecBole 1.2.1's wheel carries ML-100K as atomic files;
   it is fetched with ``python -m pip download --no-deps recbole==1.2.1`` into a temporary
   folder and read there (recbole is never installed).

Whatever the source, content is verified: the zip's published MD5 where there is a zip, and
a SHA-256 over the parsed ratings table (sorted by user then movie, so that the order of the
file does not matter) where one is pinned. Titles always come out in canonical MovieLens form
(``Star Wars (1977)``, ``Godfather, The (1972)``).
"""

from __future__ import annotations

import contextlib
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
    "DatasetInfo",
    "Tables",
    "default_root",
    "read_tables",
    "ratings_checksum",
]

DATA_ENV = "GRAPHREC_DATA"


class DatasetError(ValueError):
    """Raised when a data set cannot be found, read or trusted; the message says what to do."""


class ChecksumError(DatasetError):
    """Raised when files do not match the published data set."""


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


@dataclass
class Tables:
    """The three MovieLens tables, ratings in source-file order.

    ``ratings``: user_id, movie_id, rating (float), timestamp (int64 seconds).
    ``users``: user_id, age, gender, occupation, zip (``None`` where the data set has none).
    ``movies``: movie_id, title (canonical), genres (``|``-joined), year (float, NaN if unknown).
    """

    name: str
    ratings: pd.DataFrame
    movies: pd.DataFrame
    users: pd.DataFrame | None
    source: str
    dropped_rows: list[str] = field(default_factory=list)


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


# --------------------------------------------------------------------------- readers
Opener = Callable[[str], bytes]


def _folder_opener(folder: Path) -> Opener:
    def read(member: str) -> bytes:
        path = folder / member
        if not path.is_file():
            raise DatasetError(f"{path} is missing; the {folder.name} folder is incomplete")
        return path.read_bytes()

    return read


@contextlib.contextmanager
def _zip_opener(path: Path, top: str) -> Iterator[Opener]:
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

    def read(member: str) -> bytes:
        for cand in (f"{top}/{member}", member):
            if cand in names:
                return zf.read(cand)
        raise DatasetError(f"{path} has no {top}/{member}; is it the right zip?")

    try:
        yield read
    finally:
        zf.close()


def _read_table(
    raw: bytes,
    where: str,
    sep: str,
    names: list[str],
    encoding: str = "utf-8",
    header: bool = False,
) -> pd.DataFrame:
    try:
        df = pd.read_csv(
            io.BytesIO(raw),
            sep=sep,
            header=0 if header else None,
            names=None if header else names,
            encoding=encoding,
            engine="python" if len(sep) > 1 else "c",
            dtype=str,
            keep_default_na=False,
        )
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{where}: malformed file ({exc})") from None
    if header:
        missing = [c for c in names if c not in df.columns]
        if missing:
            raise DatasetError(
                f"{where}: missing column(s) {missing}; found {list(df.columns)}. "
                f"Is this the GroupLens file?"
            )
        df = df[names]
    return df


def _numeric(df: pd.DataFrame, cols: list[str], where: str, first_line: int, kind=float):
    for col in cols:
        values = pd.to_numeric(
            df[col].str.strip() if df[col].dtype == object else df[col], errors="coerce"
        )
        bad = values.isna() | (df[col].astype(str).str.strip() == "")
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DatasetError(
                f"{where} line {i + first_line}: malformed row, column {col!r} is "
                f"{df[col].iloc[i]!r} (expected a number); {int(bad.sum())} such row(s). "
                f"Replace the file with a fresh copy from GroupLens"
            )
        df[col] = values.astype(np.int64) if kind is int else values.astype(np.float64)
    return df


def _check_ratings(ratings: pd.DataFrame, where: str, first_line: int) -> pd.DataFrame:
    if len(ratings) == 0:
        raise DatasetError(f"{where}: no ratings in the file; the data set is empty")
    ratings = _numeric(ratings, ["user_id", "movie_id", "timestamp"], where, first_line, int)
    ratings = _numeric(ratings, ["rating"], where, first_line, float)
    out = ~ratings["rating"].between(0.5, 5.0)
    if out.any():
        i = int(np.flatnonzero(out.to_numpy())[0])
        raise DatasetError(
            f"{where} line {i + first_line}: rating {ratings['rating'].iloc[i]} is outside 0.5..5"
        )
    dup = ratings.duplicated(["user_id", "movie_id"])
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise DatasetError(
            f"{where} line {i + first_line}: user {ratings['user_id'].iloc[i]} rated movie "
            f"{ratings['movie_id'].iloc[i]} twice; the file is not a MovieLens ratings file"
        )
    return ratings.reset_index(drop=True)


_YEAR = re.compile(r"\((\d{4})\)\s*$")


def _year_from_title(titles: pd.Series) -> pd.Series:
    return titles.str.extract(_YEAR, expand=False).astype(float)


def _parse_ml100k(read: Opener) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    ratings = _read_table(
        read("u.data"), "u.data", "\t", ["user_id", "movie_id", "rating", "timestamp"]
    )
    ratings = _check_ratings(ratings, "u.data", 1)
    cols = ["movie_id", "title", "release_date", "video_date", "url", *ML100K_GENRES]
    items = _read_table(read("u.item"), "u.item", "|", cols, encoding="latin-1")
    items = _numeric(items, ["movie_id", *ML100K_GENRES], "u.item", 1, int)
    flags = items[ML100K_GENRES].to_numpy().astype(bool)
    genres = ["|".join(g for g, f in zip(ML100K_GENRES, row, strict=True) if f) for row in flags]
    movies = pd.DataFrame(
        {"movie_id": items["movie_id"], "title": items["title"].str.strip(), "genres": genres}
    )
    movies["year"] = _year_from_title(movies["title"])
    users = _read_table(
        read("u.user"), "u.user", "|", ["user_id", "age", "gender", "occupation", "zip"]
    )
    users = _numeric(users, ["user_id", "age"], "u.user", 1, int)
    return ratings, movies, users


def _parse_recbole(read: Opener) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    ratings = _read_table(
        read(".inter"),
        "ml-100k.inter",
        "\t",
        ["user_id", "movie_id", "rating", "timestamp"],
        header=False,
    )
    ratings = ratings.iloc[1:].reset_index(drop=True)  # typed header line
    ratings = _check_ratings(ratings, "ml-100k.inter", 2)
    items = (
        _read_table(read(".item"), "ml-100k.item", "\t", ["movie_id", "title", "year", "genres"])
        .iloc[1:]
        .reset_index(drop=True)
    )
    items = _numeric(items, ["movie_id"], "ml-100k.item", 2, int)
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
    users = _read_table(
        read(".user"), "ml-100k.user", "\t", ["user_id", "age", "gender", "occupation", "zip"]
    ).iloc[1:]
    users = _numeric(users.reset_index(drop=True), ["user_id", "age"], "ml-100k.user", 2, int)
    return ratings, movies, users


def _parse_ml1m(read: Opener) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    ratings = _read_table(
        read("ratings.dat"),
        "ratings.dat",
        "::",
        ["user_id", "movie_id", "rating", "timestamp"],
        encoding="latin-1",
    )
    ratings = _check_ratings(ratings, "ratings.dat", 1)
    movies = _read_table(
        read("movies.dat"), "movies.dat", "::", ["movie_id", "title", "genres"], encoding="latin-1"
    )
    movies = _numeric(movies, ["movie_id"], "movies.dat", 1, int)
    movies["year"] = _year_from_title(movies["title"])
    users = _read_table(
        read("users.dat"),
        "users.dat",
        "::",
        ["user_id", "gender", "age", "occupation", "zip"],
        encoding="latin-1",
    )
    users = _numeric(users, ["user_id", "age", "occupation"], "users.dat", 1, int)
    if not users["occupation"].between(0, len(ML1M_OCCUPATIONS) - 1).all():
        raise DatasetError("users.dat: occupation codes must be 0..20")
    users["occupation"] = [ML1M_OCCUPATIONS[i] for i in users["occupation"]]
    return ratings, movies, users[["user_id", "age", "gender", "occupation", "zip"]]


def _parse_latest(read: Opener) -> tuple[pd.DataFrame, pd.DataFrame, None]:
    ratings = _read_table(
        read("ratings.csv"),
        "ratings.csv",
        ",",
        ["userId", "movieId", "rating", "timestamp"],
        header=True,
    )
    ratings.columns = ["user_id", "movie_id", "rating", "timestamp"]
    ratings = _check_ratings(ratings, "ratings.csv", 2)
    movies = _read_table(
        read("movies.csv"), "movies.csv", ",", ["movieId", "title", "genres"], header=True
    )
    movies.columns = ["movie_id", "title", "genres"]
    movies = _numeric(movies, ["movie_id"], "movies.csv", 2, int)
    movies["title"] = movies["title"].str.strip()
    movies["genres"] = movies["genres"].replace("(no genres listed)", "")
    movies["year"] = _year_from_title(movies["title"])
    return ratings, movies, None


PARSERS = {"ml-100k": _parse_ml100k, "ml-1m": _parse_ml1m, "ml-latest-small": _parse_latest}
MARKER = {"ml-100k": "u.data", "ml-1m": "ratings.dat", "ml-latest-small": "ratings.csv"}


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
def _recbole_opener(verbose: bool) -> Iterator[Opener]:
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
            raise DatasetError(
                f"could not fetch {RECBOLE_SPEC} with pip ({proc.stderr.strip()[-300:]})"
            )
        with zipfile.ZipFile(wheels[0]) as zf:
            names = set(zf.namelist())

            def read(member: str) -> bytes:
                name = RECBOLE_PREFIX + member
                if name not in names:
                    raise DatasetError(f"the {RECBOLE_SPEC} wheel has no {name}")
                return zf.read(name)

            yield read


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
    """Find ``name`` (``ml-100k``, ``ml-latest-small``, ``ml-1m``) and parse its tables.

    Args:
        raw_dir: folder holding ``<name>/`` or ``<name>.zip`` (default: the data root).
        download_dir: where a downloaded zip is kept (default: ``raw_dir``).
        source: ``auto`` (local, then grouplens, then registry), or one of those three.
        bad_rows: ``error`` (default) or ``drop``: what to do with ratings whose movie is
            not in the movie table, or whose user is not in the user table.
        verify: check the zip MD5 / ratings SHA-256 / counts against the published data set.
        timeout: seconds for the GroupLens download before falling back.
    """
    meta = info(name)
    if source not in ("auto", "local", "grouplens", "registry"):
        raise DatasetError(f"unknown source {source!r}; use auto, local, grouplens or registry")
    if bad_rows not in ("error", "drop"):
        raise DatasetError(f"bad_rows must be 'error' or 'drop', not {bad_rows!r}")
    raw_dir = Path(raw_dir) if raw_dir is not None else default_root()
    download_dir = Path(download_dir) if download_dir is not None else raw_dir
    folder, zpath = raw_dir / name, raw_dir / f"{name}.zip"
    attempts: list[str] = []

    def finish(parsed, src: str) -> Tables:
        return _finish(meta, *parsed, source=src, bad_rows=bad_rows, verify=verify)

    if source in ("auto", "local"):
        if (folder / MARKER[name]).is_file():
            return finish(PARSERS[name](_folder_opener(folder)), f"local folder {folder}")
        if zpath.is_file():
            _check_zip(meta, zpath, verify)
            with _zip_opener(zpath, name) as read:
                return finish(PARSERS[name](read), f"local zip {zpath}")
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
                with _zip_opener(dest, name) as read:
                    return finish(PARSERS[name](read), f"grouplens {meta.url}")
            except DatasetError:
                dest.unlink(missing_ok=True)  # never keep a bad download
                raise
    if source in ("auto", "registry") and name == "ml-100k":
        try:
            with _recbole_opener(verbose) as read:
                return finish(_parse_recbole(read), f"registry ({RECBOLE_SPEC} wheel)")
        except (OSError, subprocess.SubprocessError, DatasetError) as exc:
            if isinstance(exc, ChecksumError):
                raise
            attempts.append(f"package registry failed ({exc})")
    raise DatasetError(
        f"could not get {name}: " + "; ".join(attempts) + f". Download {meta.url} elsewhere "
        f"and place the zip (or its extracted folder) in {raw_dir}, or pass --data-dir/--raw-dir"
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
    if movies["movie_id"].duplicated().any():
        raise DatasetError(f"{meta.name}: the movie table lists a movie id twice")
    dropped: list[str] = []
    bad = ~ratings["movie_id"].isin(movies["movie_id"])
    if users is not None:
        bad |= ~ratings["user_id"].isin(users["user_id"])
    if bad.any():
        rows = ratings[bad]
        desc = [f"user {u} / movie {m}" for u, m in zip(rows.user_id, rows.movie_id, strict=True)]
        if bad_rows == "error":
            raise DatasetError(
                f"{meta.name}: {len(rows)} rating(s) name a user or movie missing from the "
                f"user/movie tables (first: {desc[0]}, at ratings row {rows.index[0] + 1}). "
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
        elif len(ratings) != meta.num_ratings:
            raise ChecksumError(
                f"{meta.name} from {source}: {len(ratings)} ratings, the published data set has "
                f"{meta.num_ratings}. Replace the files, or pass --no-verify"
            )
    return Tables(
        meta.name,
        ratings,
        movies.reset_index(drop=True),
        None if users is None else users.reset_index(drop=True),
        source,
        dropped,
    )
