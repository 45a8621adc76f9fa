"""Shared fixtures: small MovieLens-format files written on the fly (tests never download)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import torch

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

# user, movie, rating, timestamp (u.data order); user 3 has two ratings in the same second
ML100K_RATINGS = [
    (1, 1, 5, 100),
    (1, 2, 3, 200),
    (1, 3, 4, 300),
    (1, 4, 1, 400),
    (2, 2, 4, 100),
    (2, 3, 2, 150),
    (2, 1, 5, 160),
    (3, 4, 5, 500),
    (3, 1, 4, 500),
    (3, 2, 3, 400),
    (3, 3, 2, 500),
    (4, 1, 4, 100),
    (4, 2, 5, 200),
]
ML100K_ITEMS = [
    "1|Toy Story (1995)|01-Jan-1995||http://x|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0",
    "2|GoldenEye (1995)|01-Jan-1995||http://x|0|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0|1|0|0",
    "3|Godfather, The (1972)|01-Jan-1972||http://x|0|1|0|0|0|0|1|0|1|0|0|0|0|0|0|0|0|0|0",
    "4|unknown|||http://x|1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0",
]
ML100K_USERS = [
    "1|24|M|technician|85711",
    "2|53|F|other|94043",
    "3|23|M|writer|32067",
    "4|33|F|doctor|T8H1N",
]


def write_ml100k(folder: Path, ratings=None, items=None, users=None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rows = ML100K_RATINGS if ratings is None else ratings
    (folder / "u.data").write_text(
        "".join(r if isinstance(r, str) else "\t".join(map(str, r)) + "\n" for r in rows)
    )
    (folder / "u.item").write_text(
        "\n".join(ML100K_ITEMS if items is None else items) + "\n", encoding="latin-1"
    )
    (folder / "u.user").write_text("\n".join(ML100K_USERS if users is None else users) + "\n")
    return folder


def zip_folder(folder: Path, dest: Path) -> Path:
    with zipfile.ZipFile(dest, "w") as zf:
        for f in sorted(folder.iterdir()):
            zf.write(f, f"{folder.name}/{f.name}")
    return dest


def load_or_skip(*args, **kwargs):
    """``load_movielens(*args, **kwargs)`` for real-data tests: skip only when the data set
    cannot be had at all here (no network, no local or cached copy); any other failure of the
    loader (a checksum or a parse error) fails the test."""
    from graphrec.data import load_movielens
    from graphrec.data.movielens import DataUnavailableError

    try:
        return load_movielens(*args, **kwargs)
    except DataUnavailableError as exc:
        pytest.skip(f"the data set is not available here (no network, no copy): {exc}")


@pytest.fixture
def ml100k_dir(tmp_path):
    write_ml100k(tmp_path / "raw" / "ml-100k")
    return tmp_path / "raw"


@pytest.fixture
def shared_latest_small():
    folder = SHARED_DATA / "ml-latest-small"
    if not (folder / "ratings.csv").is_file():
        pytest.skip(f"real ml-latest-small files not found at {folder}")
    return SHARED_DATA


@pytest.fixture(scope="module")
def one_thread():
    """One intra-op thread: tiny models are 10x slower with two threads on a busy 2-core
    machine (threads wait for each other); restored afterwards. Use with
    ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
