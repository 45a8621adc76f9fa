"""ml-20m / ml-25m registry entries: the ml-latest-small layout (ratings.csv, movies.csv) read
from small fixtures; verification by the published counts, checked after parsing."""

from __future__ import annotations

import dataclasses
import zipfile

import pytest

from graphrec.data import DATASETS, ChecksumError, load_movielens
from graphrec.data import movielens as ml

RATINGS = "userId,movieId,rating,timestamp\n1,1,4.0,100\n1,2,2.5,200\n2,1,5.0,150\n"
MOVIES = 'movieId,title,genres\n1,Toy Story (1995),Comedy\n2,"Heat, The (1995)",Action\n'


def _write(folder):
    folder.mkdir(parents=True)
    (folder / "ratings.csv").write_text(RATINGS)
    (folder / "movies.csv").write_text(MOVIES)
    return folder


def test_published_counts_and_layout():
    for name, (n, u, m) in {
        "ml-20m": (20_000_263, 138_493, 27_278),
        "ml-25m": (25_000_095, 162_541, 62_423),
    }.items():
        meta = DATASETS[name]
        assert (meta.num_ratings, meta.num_users, meta.num_movies) == (n, u, m)
        assert meta.url.endswith(f"/{name}.zip") and meta.rating_scale == (0.5, 5.0, 0.5)
        assert meta.ratings_sha256 is None  # GroupLens publishes none for the ratings file
        assert ml.MEMBERS[name] == ("ratings.csv", "movies.csv")
    # the MD5s of GroupLens's sidecar files, as public projects quote them
    assert DATASETS["ml-20m"].zip_md5 == "cd245b17a1ae2cc31bb14903e1204af3"
    assert DATASETS["ml-25m"].zip_md5 == "6b51fb2759a8657d3bfcbfc42b592ada"


@pytest.mark.parametrize("name", ["ml-20m", "ml-25m"])
def test_a_fixture_in_the_layout_loads_from_a_folder_and_a_zip(tmp_path, name):
    folder = _write(tmp_path / "raw" / name)
    data = load_movielens(name, tmp_path / "root", raw_dir=tmp_path / "raw", source="local",
                          verify=False, verbose=False)  # fmt: skip
    assert data.name == name and data["user"].raw_id.tolist() == [1, 2]
    assert data["movie"].title == ["Toy Story (1995)", "Heat, The (1995)"]
    assert data["user", "rates", "movie"].rating.tolist() == [4.0, 2.5, 5.0]
    zdir = tmp_path / "zipped"
    zdir.mkdir()
    with zipfile.ZipFile(zdir / f"{name}.zip", "w") as zf:
        for f in sorted(folder.iterdir()):
            zf.write(f, f"{name}/{f.name}")
    again = load_movielens(name, tmp_path / "root2", raw_dir=zdir, source="local",
                           verify=False, verbose=False)  # fmt: skip
    assert again["user", "rates", "movie"].edge_index.tolist() == (
        data["user", "rates", "movie"].edge_index.tolist()
    )


def test_counts_are_checked_after_parsing(tmp_path, monkeypatch):
    _write(tmp_path / "raw" / "ml-25m")
    with pytest.raises(ChecksumError, match="3 ratings, the published data set has 25000095"):
        load_movielens("ml-25m", tmp_path / "root", raw_dir=tmp_path / "raw", source="local",
                       verbose=False)  # fmt: skip
    # right ratings and movies, wrong users: the users (those who rated) are counted too
    fake = dataclasses.replace(DATASETS["ml-25m"], num_ratings=3, num_movies=2, num_users=5)
    monkeypatch.setitem(ml.DATASETS, "ml-25m", fake)
    with pytest.raises(ChecksumError, match="2 users, the published data set has 5"):
        load_movielens("ml-25m", tmp_path / "r2", raw_dir=tmp_path / "raw", source="local",
                       verbose=False)  # fmt: skip
    monkeypatch.setitem(ml.DATASETS, "ml-25m", dataclasses.replace(fake, num_users=2))
    data = load_movielens("ml-25m", tmp_path / "r3", raw_dir=tmp_path / "raw", source="local",
                          verbose=False)  # fmt: skip
    assert data["user"].num_nodes == 2


def test_a_zip_that_is_not_the_published_one_is_refused(tmp_path):
    """A fixture zip named ml-25m.zip is not GroupLens's: verification names both MD5s."""
    folder = _write(tmp_path / "src" / "ml-25m")
    zdir = tmp_path / "zipped"
    zdir.mkdir()
    with zipfile.ZipFile(zdir / "ml-25m.zip", "w") as zf:
        for f in sorted(folder.iterdir()):
            zf.write(f, f"ml-25m/{f.name}")
    with pytest.raises(ChecksumError, match="6b51fb2759a8657d3bfcbfc42b592ada"):
        load_movielens("ml-25m", tmp_path / "root", raw_dir=zdir, source="local", verbose=False)
    assert not list((tmp_path / "root").rglob("*.pt"))  # nothing cached from a refused file
