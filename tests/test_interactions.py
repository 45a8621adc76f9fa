"""Your own data (:func:`graphrec.data.load_interactions`): string ids with commas, quotes and
non-ASCII letters, CSV / TSV / Parquet / DataFrame input, every refused input, and the CLI from
a CSV to ``--task recommend --user <string id>``."""

from __future__ import annotations

import csv
import json

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import SHARED_DATA

from graphrec.data import DatasetError, IdMaps, load_interactions, temporal_split
from graphrec.data.interactions import parse_columns, string_key
from graphrec.data.split import tie_keys

# user, item, rating, time: 10 lines; ids with a comma, a quote and non-ASCII letters
ROWS = [
    ("ann, jr", 'the "one"', 4, 10),
    ("ann, jr", "zoë", 5, 11),
    ("ann, jr", "m3", 3, 12),
    ('bo"b', 'the "one"', 2, 10),
    ('bo"b', "zoë", 4, 11),
    ('bo"b', "m3", 4, 12),
    ("José", "zoë", 5, 13),
    ("José", "m3", 1, 14),
    ("José", 'the "one"', 4, 15),
    ("solo", "m3", 3, 16),
]
ITEMS = [
    ('the "one"', "One, The (1999)", "Action|Comedy", 10),
    ("zoë", "Zoë (2001)", "Drama", 20),
    ("m3", "Third (2005)", "Action", 30),
]


def _write(path, header, rows, sep=","):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter=sep)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture
def files(tmp_path):
    return (
        _write(tmp_path / "r.csv", ["uid", "mid", "stars", "ts"], ROWS),
        _write(tmp_path / "m.csv", ["mid", "title", "genres", "budget"], ITEMS),
    )


def _check(data):
    assert data["user"].raw_name == ["José", "ann, jr", 'bo"b', "solo"]  # sorted ids
    assert data["movie"].raw_name == ["m3", 'the "one"', "zoë"]
    assert data["movie"].title == ["Third (2005)", "One, The (1999)", "Zoë (2001)"]
    assert data["movie"].feature_names == ["genre=Action", "genre=Comedy", "genre=Drama", "budget"]
    assert data["movie"].x.tolist() == [[1, 0, 0, 1], [1, 1, 0, 0], [0, 0, 1, 0.5]]
    ei = data["user", "rates", "movie"].edge_index
    assert ei.size(1) == 10 and data["movie", "rated_by", "user"].edge_index.size(1) == 10
    ids = IdMaps.from_graph(data)
    pairs = [(ids.users[u], ids.movies[m]) for u, m in ei.t().tolist()]
    assert pairs == [(u, m) for u, m, _, _ in ROWS]  # file order kept
    assert data["user", "rates", "movie"].rating.tolist() == [r for _, _, r, _ in ROWS]
    assert data["user", "rates", "movie"].time.tolist() == [t for *_, t in ROWS]
    assert data.load_summary["users_with_one_interaction"] == 1
    assert data.load_summary["users_train_only"] == 1
    assert data.load_summary["item_numeric_columns"] == ["budget"]


def test_csv_with_awkward_string_ids(files):
    r, m = files
    data = load_interactions(r, "uid", "mid", "stars", "ts", items=m)
    _check(data)
    ids = IdMaps.from_graph(data)
    assert ids.user_index("ann, jr") == 1 and ids.user_index('bo"b') == 2
    assert ids.movie_index("zoë") == 2 and ids.movie_index("the one") == 1  # id, then title
    # the raw_id of a string id is its stable hash, which the split's tie-break uses
    assert data["movie"].raw_id.tolist() == [string_key(s) for s in data["movie"].raw_name]
    assert string_key("zoë") == int.from_bytes(
        __import__("hashlib").blake2b("zoë".encode(), digest_size=8).digest(), "little", signed=True
    )
    split = temporal_split(data)
    # 3 users with 3 ratings are evaluated; "solo" (1 rating) stays in train
    assert split.test.size(1) == 3 and split.valid.size(1) == 3 and split.train.size(1) == 4
    assert "solo" in {ids.users[u] for u in split.train[0].tolist()}
    assert "solo" not in {ids.users[u] for u in split.test[0].tolist()}


def test_tsv_parquet_dataframe_and_sniffing_agree(files, tmp_path):
    r, m = files
    df = pd.read_csv(r, dtype=str, keep_default_na=False)
    tsv = _write(tmp_path / "r.tsv", list(df.columns), df.values.tolist(), sep="\t")
    semi = _write(tmp_path / "r.txt", list(df.columns), df.values.tolist(), sep=";")
    df.to_parquet(tmp_path / "r.parquet")
    for source in (tsv, semi, tmp_path / "r.parquet", df):
        _check(load_interactions(source, "uid", "mid", "stars", "ts", items=m))
    items = pd.DataFrame(ITEMS, columns=["mid", "title", "genres", "budget"])
    _check(load_interactions(df, "uid", "mid", "stars", "ts", items=items))


def test_integer_ids_stay_integers_and_keep_the_split_tie_break():
    df = pd.DataFrame({"user": [7, 7, 7, 3], "item": [10, 20, 30, 10], "time": [5, 5, 5, 1]})
    data = load_interactions(df, time="time")
    assert "raw_name" not in data["user"] and data["user"].raw_id.tolist() == [3, 7]
    assert data["movie"].raw_id.tolist() == [10, 20, 30]
    ids = IdMaps.from_graph(data)
    assert ids.users == [3, 7] and ids.user_index("7") == 1
    # integer ids go through tie_keys unchanged (the numbers of existing splits do not move)
    k = tie_keys(torch.tensor([7]), torch.tensor([20]))
    assert (
        k.dtype == np.uint64
        and k.tolist() == tie_keys(torch.tensor([7]), torch.tensor([20])).tolist()
    )
    # "007" is not the integer 7: such a column stays text
    text = load_interactions(pd.DataFrame({"user": ["007", "7"], "item": ["1", "2"]}))
    assert text["user"].raw_name == ["007", "7"]


def test_implicit_feedback_and_file_order_time(tmp_path):
    p = _write(tmp_path / "r.csv", ["user", "item"], [("a", "x"), ("a", "y"), ("b", "x")])
    data = load_interactions(p)
    e = data["user", "rates", "movie"]
    assert e.rating.tolist() == [1.0, 1.0, 1.0] and e.time.tolist() == [0, 1, 2]
    s = data.load_summary
    assert s["feedback"].startswith("implicit") and s["time"].startswith("file order")
    notes = temporal_split(data).summary()  # the split says so too
    assert notes["time"] == "file order (row number)" and notes["feedback"].startswith("implicit")
    assert "title" not in data["movie"] and data["movie"].x.shape == (2, 0)
    with pytest.raises(KeyError, match="has no titles to match it against"):
        IdMaps.from_graph(data).movie_index("some film")


def test_duplicates_keep_the_latest(tmp_path):
    rows = [("a", "x", 1, 50), ("a", "x", 5, 90), ("a", "y", 2, 10), ("a", "x", 3, 70)]
    p = _write(tmp_path / "r.csv", ["user", "item", "r", "t"], rows)
    data = load_interactions(p, rating="r", time="t")
    assert data["user", "rates", "movie"].rating.tolist() == [5.0, 2.0]  # latest by time
    assert data.load_summary["duplicates_dropped"] == 2
    untimed = load_interactions(p, rating="r")  # no time: the last row in the file wins
    assert untimed["user", "rates", "movie"].rating.tolist() == [2.0, 3.0]


def test_refusals_name_the_fix(tmp_path, files):
    r, m = files
    with pytest.raises(DatasetError, match=r"no user column 'user' \(columns found: uid, mid, "):
        load_interactions(r)
    with pytest.raises(DatasetError, match="--columns user=COLUMN"):
        load_interactions(r, item="mid")
    with pytest.raises(DatasetError, match="no title column 'name'"):
        load_interactions(r, "uid", "mid", items=m, title="name")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DatasetError, match="is empty"):
        load_interactions(tmp_path / "empty.csv")
    (tmp_path / "header.csv").write_text("user,item\n")
    with pytest.raises(DatasetError, match="has a header but no rows"):
        load_interactions(tmp_path / "header.csv")
    bad = _write(tmp_path / "bad.csv", ["user", "item", "r"], [("a", "x", 4), ("b", "y", "five")])
    with pytest.raises(DatasetError, match=r"first is row 2 \(user='b', item='y', r='five'\)"):
        load_interactions(bad, rating="r")
    orphan = _write(tmp_path / "o.csv", ["uid", "mid"], [("a", "m3"), ("a", "nope")])
    with pytest.raises(DatasetError, match=r"row 2 \(item 'nope'\); add it to that table"):
        load_interactions(orphan, "uid", "mid", items=m)
    kept = load_interactions(orphan, "uid", "mid", items=m, bad_rows="drop")
    assert kept.load_summary["rows_dropped_unknown_id"] == 1 and kept["movie"].num_nodes == 3
    with pytest.raises(DatasetError, match="does not exist"):
        load_interactions(tmp_path / "nope.csv")
    with pytest.raises(DatasetError, match="ROLE=COLUMN"):
        parse_columns("user=uid,colour=red")
    assert parse_columns("user=uid, item=mid") == {"user": "uid", "item": "mid"}


@pytest.mark.usefixtures("one_thread")
def test_cli_from_a_csv_to_recommendations_for_a_string_user(tmp_path, capsys):
    from graphrec.cli.main import main

    rng = np.random.default_rng(0)
    rows = []
    for u in range(16):
        lo = 0 if u < 8 else 80
        name = 'u"1, é' if u == 0 else f"u{u}"
        for t, m in enumerate(rng.choice(np.arange(lo, lo + 80), 20, replace=False)):
            rows.append((name, f"m,{m}", 5, 100 + t))
    items = [
        (f"m,{i}", f"Film {i} ({1950 + i % 40})", "Action" if i < 80 else "Drama")
        for i in range(160)
    ]
    r = _write(tmp_path / "r.csv", ["uid", "mid", "stars", "ts"], rows)
    m = _write(tmp_path / "m.csv", ["mid", "title", "genres"], items)
    run = tmp_path / "run"
    common = ["--dataset", "csv", "--interactions", str(r), "--items", str(m), "--quiet"]
    cols = ["--columns", "user=uid,item=mid,rating=stars,time=ts"]
    assert main(["--task", "bpr", *common, *cols, "--epochs", "3", "--out", str(run)]) == 0
    model = json.loads((run / "model" / "model.json").read_text())
    assert 'u"1, é' in model["ids"]["users"] and "m,7" in model["ids"]["movies"]
    capsys.readouterr()
    out = tmp_path / "rec"
    assert main(["--task", "recommend", "--run", str(run), "--user", 'u"1, é', "--k", "3",
                 "--out", str(out)]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert 'top 3 for user u"1, é' in printed and "Film " in printed
    rec = json.loads((out / "recommendations.json").read_text())
    assert rec["user"] == 'u"1, é' and all(it["movie_id"].startswith("m,") for it in rec["items"])
    assert all(it["title"].startswith("Film ") for it in rec["items"])
    # what the data lacks is said: the feature MLP without attributes
    bare = ["--dataset", "csv", "--interactions", str(r), "--quiet", *cols]
    capsys.readouterr()
    assert main(["--task", "features", *bare, "--epochs", "1", "--out", str(tmp_path / "f")]) == 2
    assert "no user or movie attributes" in capsys.readouterr().err
    assert main(["--task", "item2vec", *bare, "--out", str(tmp_path / "i")]) == 2
    assert "has no titles: give --items with a title column" in capsys.readouterr().err
    argv = ["--task", "stats", "--dataset", "csv", "--quiet", "--out", str(tmp_path / "s")]
    assert main(argv) == 2
    assert "--dataset csv needs --interactions" in capsys.readouterr().err
    for name in ("f", "i", "s"):
        assert not (tmp_path / name).exists()  # a refused run leaves no folder


@pytest.mark.realdata
def test_ml_latest_small_with_renamed_columns_and_string_ids(tmp_path):
    folder = SHARED_DATA / "ml-latest-small"
    if not (folder / "ratings.csv").is_file():
        pytest.skip(f"{folder} is not here")
    ratings = pd.read_csv(folder / "ratings.csv")
    movies = pd.read_csv(folder / "movies.csv")
    out = pd.DataFrame(
        {
            "who": "u" + ratings["userId"].astype(str),
            "what": "m" + ratings["movieId"].astype(str),
            "stars": ratings["rating"],
            "when": ratings["timestamp"],
        }
    )
    out.to_csv(tmp_path / "r.csv", index=False)
    movies.assign(what="m" + movies["movieId"].astype(str)).drop(columns="movieId").to_csv(
        tmp_path / "m.csv", index=False
    )
    args = (tmp_path / "r.csv", "who", "what", "stars", "when")
    # the shared copy carries one extra row (user 999, movie 999999, not in movies.csv):
    # refused by default, dropped and counted on request
    with pytest.raises(DatasetError, match=r"row 100837 \(item 'm999999'\)"):
        load_interactions(*args, items=tmp_path / "m.csv")
    data = load_interactions(*args, items=tmp_path / "m.csv", bad_rows="drop")
    assert data["user", "rates", "movie"].edge_index.size(1) == len(ratings) - 1 == 100_836
    assert data.load_summary["rows_dropped_unknown_id"] == 1
    assert data.load_summary["dropped_rows"] == [100_837]
    assert data.load_summary["duplicates_dropped"] == 0
    assert data["user"].num_nodes == 610 and data["movie"].num_nodes == 9742
    ids = IdMaps.from_graph(data)
    assert ids.title("m1") == "Toy Story (1995)"
    assert ids.movie_index("toy story") == ids.movie_index("m1")
    split = temporal_split(data)
    assert split.test.size(1) == 610
