"""MovieLens sources, parsing, the graph schema, the cache, and bad input."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from conftest import ML100K_RATINGS, write_ml100k, zip_folder

from graphrec.data import RATED_BY, RATES, ChecksumError, DatasetError, load_movielens
from graphrec.data import movielens as ml
from graphrec.data.graph import UnknownMovieError, UnknownUserError, movie_index, user_index


def load(raw, tmp_path, **kw):
    kw.setdefault("verify", False)
    return load_movielens(
        "ml-100k", tmp_path / "root", raw_dir=raw, source="local", verbose=False, **kw
    )


def cache_files(tmp_path):
    proc = tmp_path / "root" / "processed"
    return sorted(p.name for p in proc.iterdir()) if proc.exists() else []


def test_ml100k_folder_to_graph_schema(ml100k_dir, tmp_path):
    data = load(ml100k_dir, tmp_path)
    assert data["user"].num_nodes == 4 and data["movie"].num_nodes == 4
    ei = data[RATES].edge_index
    assert ei.shape == (2, len(ML100K_RATINGS))
    # contiguous indices in file order, raw ids kept
    assert data["user"].raw_id.tolist() == [1, 2, 3, 4]
    assert ei[:, 0].tolist() == [0, 0] and ei[:, 4].tolist() == [1, 1]
    assert data[RATES].rating[:3].tolist() == [5.0, 3.0, 4.0]
    assert data[RATES].time[:3].tolist() == [100, 200, 300]
    assert torch.equal(data[RATED_BY].edge_index, ei.flip(0))
    # human-readable feature names, one per column
    unames, mnames = data["user"].feature_names, data["movie"].feature_names
    assert len(unames) == data["user"].x.size(1) and len(mnames) == data["movie"].x.size(1)
    assert unames[0] == "age" and "gender=F" in unames and "occupation=doctor" in unames
    assert "zip_region=other" in unames  # the Canadian zip code T8H1N
    assert "genre=Comedy" in mnames and mnames[-1] == "year"
    x = data["user"].x
    assert x[:, 0].min() == 0 and x[:, 0].max() == 1  # age scaled
    assert x[3, unames.index("occupation=doctor")] == 1
    toy = data["movie"].x[0]
    assert {mnames[i] for i in torch.nonzero(toy[:-1]).view(-1).tolist()} == {
        "genre=Animation",
        "genre=Children's",
        "genre=Comedy",
    }
    assert data["movie"].title[2] == "Godfather, The (1972)"


def test_cache_is_used_on_second_load(ml100k_dir, tmp_path, monkeypatch):
    first = load(ml100k_dir, tmp_path)
    assert first.source.startswith("local folder")

    def no_parse(files):
        raise AssertionError("the raw files were parsed again")

    monkeypatch.setitem(ml.PARSERS, "ml-100k", no_parse)
    second = load(ml100k_dir, tmp_path)
    assert second.source.startswith("cache")
    assert torch.equal(first[RATES].edge_index, second[RATES].edge_index)
    assert first["movie"].title == second["movie"].title


def test_zip_source(tmp_path):
    folder = write_ml100k(tmp_path / "build" / "ml-100k")
    raw = tmp_path / "raw"
    raw.mkdir()
    zip_folder(folder, raw / "ml-100k.zip")
    data = load(raw, tmp_path)
    assert data.source.startswith("local zip") and data[RATES].edge_index.size(1) == 13


def test_truncated_zip_is_a_clear_error_and_leaves_nothing(tmp_path):
    folder = write_ml100k(tmp_path / "build" / "ml-100k")
    raw = tmp_path / "raw"
    raw.mkdir()
    blob = zip_folder(folder, tmp_path / "full.zip").read_bytes()
    (raw / "ml-100k.zip").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DatasetError, match="truncated"):
        load(raw, tmp_path)
    assert cache_files(tmp_path) == []


def _pin(monkeypatch, **changes):
    info = dataclasses.replace(ml.DATASETS["ml-100k"], **changes)
    monkeypatch.setitem(ml.DATASETS, "ml-100k", info)


def test_checksum_of_parsed_ratings(ml100k_dir, tmp_path, monkeypatch):
    good = ml.read_tables("ml-100k", ml100k_dir, source="local", verify=False, verbose=False)
    _pin(
        monkeypatch,
        ratings_sha256=ml.ratings_checksum(good.ratings),
        num_ratings=13,
        num_users=4,
        num_movies=4,
    )
    assert load(ml100k_dir, tmp_path, verify=True)["user"].num_nodes == 4
    rows = list(ML100K_RATINGS)
    rows[0] = (1, 1, 4, 100)  # one rating changed
    other = tmp_path / "other"
    write_ml100k(other / "ml-100k", ratings=rows)
    with pytest.raises(ChecksumError, match="do not match the published"):
        load_movielens("ml-100k", tmp_path / "root2", raw_dir=other, source="local", verbose=False)
    assert not (tmp_path / "root2" / "processed").exists()


def test_zip_md5_mismatch(tmp_path, monkeypatch):
    folder = write_ml100k(tmp_path / "build" / "ml-100k")
    raw = tmp_path / "raw"
    raw.mkdir()
    zip_folder(folder, raw / "ml-100k.zip")
    _pin(monkeypatch, zip_md5="0" * 32)
    with pytest.raises(ChecksumError, match="MD5"):
        load(raw, tmp_path, verify=True)


@pytest.mark.parametrize(
    "rows, match",
    [
        ([(1, 1, 5, 100), "1\t2\tfour\t200\n"], r"line 2, field 3 \(rating\): 'four' is not"),
        (
            [(1, 1, 5, 100), "1\t2\t3\n"],
            r"line 2, field 4 \(timestamp\): an empty field is not a Unix time",
        ),
        ([(1, 1, 5, 100), (1, 2, 9, 200)], r"line 2, field 3 \(rating\): '9' is not a rating on"),
        ([(1, 1, 5, 100), (1, 1, 4, 200)], "rated movie 1 twice"),
        ([], "u.data is empty"),
        ([(1, 99, 5, 100)], "missing from the user/movie tables .*/u.data line 1"),
    ],
)
def test_bad_ratings_files(tmp_path, rows, match):
    raw = tmp_path / "raw"
    write_ml100k(raw / "ml-100k", ratings=rows)
    with pytest.raises(DatasetError, match=match):
        load(raw, tmp_path)
    assert cache_files(tmp_path) == []


def test_bad_rows_can_be_dropped(tmp_path):
    raw = tmp_path / "raw"
    write_ml100k(raw / "ml-100k", ratings=[*ML100K_RATINGS, (1, 99, 5, 100)])
    data = load(raw, tmp_path, bad_rows="drop")
    assert data[RATES].edge_index.size(1) == len(ML100K_RATINGS)


def test_missing_column_in_csv(tmp_path):
    folder = tmp_path / "raw" / "ml-latest-small"
    folder.mkdir(parents=True)
    (folder / "ratings.csv").write_text("userId,movieId,timestamp\n1,1,100\n")
    (folder / "movies.csv").write_text("movieId,title,genres\n1,Toy Story (1995),Comedy\n")
    with pytest.raises(DatasetError, match=r"missing column\(s\) \['rating'\]"):
        load_movielens(
            "ml-latest-small",
            tmp_path / "root",
            raw_dir=tmp_path / "raw",
            source="local",
            verify=False,
            verbose=False,
        )


def test_unknown_dataset_name(tmp_path):
    with pytest.raises(DatasetError, match="unknown dataset 'ml-5k'; choose one of"):
        load_movielens("ml-5k", tmp_path)
    assert not any(tmp_path.iterdir())


def test_nothing_found_offline_names_the_fix(tmp_path):
    with pytest.raises(DatasetError, match="place the zip"):
        load_movielens("ml-1m", tmp_path, source="local", verbose=False)


def test_ml1m_double_colon_format(tmp_path):
    folder = tmp_path / "raw" / "ml-1m"
    folder.mkdir(parents=True)
    (folder / "ratings.dat").write_text(
        "1::10::5::978300760\n1::20::3::978302109\n2::10::4::978301968\n2::30::1::978300275\n"
    )
    (folder / "movies.dat").write_bytes(
        "10::Toy Story (1995)::Animation|Children's|Comedy\n20::Jumanji (1995)::Adventure\n"
        "30::Bront\xeb (1979)::Drama\n".encode("latin-1")
    )
    (folder / "users.dat").write_text("1::F::1::10::48067\n2::M::56::16::70072\n")
    data = load_movielens(
        "ml-1m",
        tmp_path / "root",
        raw_dir=tmp_path / "raw",
        source="local",
        verify=False,
        verbose=False,
    )
    assert data["user"].num_nodes == 2 and data["movie"].num_nodes == 3
    assert data["movie"].title[2] == "Bront\xeb (1979)"
    assert "occupation=K-12 student" in data["user"].feature_names
    assert "occupation=self-employed" in data["user"].feature_names
    with pytest.raises(ChecksumError, match="1000209"):
        load_movielens(
            "ml-1m", tmp_path / "root3", raw_dir=tmp_path / "raw", source="local", verbose=False
        )


def test_lookups_give_clear_errors(ml100k_dir, tmp_path):
    data = load(ml100k_dir, tmp_path)
    assert user_index(data, 3) == 2
    with pytest.raises(UnknownUserError, match=r"user 99 is not in ml-100k \(4 users, ids 1..4\)"):
        user_index(data, 99)
    assert movie_index(data, "Godfather, The (1972)") == 2
    assert movie_index(data, "godfather, the (1972)") == 2
    assert movie_index(data, 4) == 3
    # titles as people type them: leading article, no year, any case
    assert movie_index(data, "The Godfather (1972)") == 2
    assert movie_index(data, "the godfather") == 2
    with pytest.raises(UnknownMovieError, match="did you mean: Godfather, The"):
        movie_index(data, "Godfathr, The (1972)")
    with pytest.raises(UnknownMovieError, match="movie id 77"):
        movie_index(data, 77)


@pytest.mark.realdata
def test_real_ml_latest_small(shared_latest_small, tmp_path):
    # the shared copy carries one extra rating (user 999, movie 999999) beyond the published
    # 100,836: strict loading refuses it, dropping it gives exactly the published data set
    with pytest.raises(DatasetError, match="user 999 / movie 999999"):
        load_movielens(
            "ml-latest-small", tmp_path, raw_dir=shared_latest_small, source="local", verbose=False
        )
    data = load_movielens(
        "ml-latest-small",
        tmp_path,
        raw_dir=shared_latest_small,
        source="local",
        bad_rows="drop",
        verbose=False,
    )
    assert data["user"].num_nodes == 610
    assert data["movie"].num_nodes == 9742
    assert data[RATES].edge_index.size(1) == 100_836
    assert data["user"].x.shape == (610, 0)
    assert "genre=IMAX" in data["movie"].feature_names
    with pytest.raises(UnknownMovieError, match="ambiguous"):
        movie_index(data, "Emma (1996)")
