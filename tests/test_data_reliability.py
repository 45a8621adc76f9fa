"""The loader's reliability: caches that never serve other data, a split that does not depend
on row order, validation that always runs, a raw folder that must hold the files, one-line
errors for malformed files, and the evaluation masks."""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import signal
import subprocess
import time
import zipfile
from pathlib import Path

import pytest
import torch
from conftest import ML100K_ITEMS, ML100K_RATINGS, ML100K_USERS, load_or_skip, write_ml100k

from graphrec.data import RATES, ChecksumError, DatasetError, graph, load_movielens, temporal_split
from graphrec.data import movielens as ml
from graphrec.data.sampling import sample_negatives, sampled_candidates
from graphrec.data.synthetic import synthetic_graph
from graphrec.evaluate import evaluate, evaluate_ranks
from graphrec.models import ItemPop
from graphrec.models.base import Recommender


def load(raw, root, **kw):
    kw.setdefault("verify", False)
    kw.setdefault("source", "local")
    return load_movielens("ml-100k", root, raw_dir=raw, verbose=False, **kw)


def same_graph(a, b) -> bool:
    return (
        torch.equal(a[RATES].edge_index, b[RATES].edge_index)
        and torch.equal(a[RATES].rating, b[RATES].rating)
        and torch.equal(a[RATES].time, b[RATES].time)
        and torch.equal(a["user"].x, b["user"].x)
        and torch.equal(a["movie"].x, b["movie"].x)
        and a["movie"].title == b["movie"].title
    )


def fake_registry(monkeypatch, ratings=ML100K_RATINGS, title="Toy Story", fail=False):
    """Stand in for ``pip download recbole==1.2.1``: write a wheel holding the tiny data set in
    RecBole's atomic-file format into pip's ``-d`` folder (or fail as pip does offline)."""
    real_run = subprocess.run
    calls = []

    def run(cmd, *args, **kwargs):
        if "download" not in cmd:
            return real_run(cmd, *args, **kwargs)
        calls.append(cmd)
        if fail:
            return subprocess.CompletedProcess(cmd, 1, "", "ERROR: network is unreachable")
        dest = Path(cmd[cmd.index("-d") + 1])
        inter = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n" + "".join(
            "\t".join(map(str, r)) + "\n" for r in ratings
        )
        items = "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
        items += f"1\t{title}\t1995\tAnimation Children's Comedy\n2\tGoldenEye\t1995\tAction\n"
        items += "3\tGodfather, The\t1972\tCrime Drama\n4\tunknown\t\tunknown\n"
        users = "user_id:token\tage:token\tgender:token\toccupation:token\tzip_code:token\n"
        users += "".join(u.replace("|", "\t") + "\n" for u in ML100K_USERS)
        with zipfile.ZipFile(dest / "recbole-1.2.1-py3-none-any.whl", "w") as zf:
            for ext, text in ((".inter", inter), (".item", items), (".user", users)):
                zf.writestr(ml.RECBOLE_PREFIX + ext, text)
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(subprocess, "run", run)
    return calls


def no_network(monkeypatch):
    """Fail the test if the loader tries GroupLens or the package registry."""

    def refuse(*args, **kwargs):
        raise AssertionError("the loader tried to download")

    monkeypatch.setattr(ml, "_download", refuse)
    real_run = subprocess.run
    monkeypatch.setattr(
        subprocess,
        "run",
        lambda cmd, *a, **k: refuse() if "download" in cmd else real_run(cmd, *a, **k),
    )


# --------------------------------------------------------------------------- 3. the cache
def test_cache_is_not_served_for_another_raw_dir(tmp_path):
    a = write_ml100k(tmp_path / "a" / "ml-100k").parent
    rows = [r for r in ML100K_RATINGS if r[0] != 4]
    items = [ML100K_ITEMS[0].replace("Toy Story", "Toy Story B"), *ML100K_ITEMS[1:]]
    b = write_ml100k(tmp_path / "b" / "ml-100k", ratings=rows, items=items).parent
    root = tmp_path / "root"
    first = load(a, root)
    second = load(b, root)
    assert second.source.startswith(f"local folder {b}")
    assert second[RATES].edge_index.size(1) == len(rows)
    assert second["movie"].title[0] == "Toy Story B (1995)"
    again = load(a, root)  # and back: a's data, not b's
    assert same_graph(again, first)


@pytest.mark.parametrize(
    "member, change",
    [
        ("u.data", lambda t: t.replace("\t3\t200\n", "\t1\t200\n")),  # a rating
        ("u.item", lambda t: t.replace("GoldenEye", "GoldenEye II")),  # a title
        ("u.user", lambda t: t.replace("|writer|", "|artist|")),  # a user's occupation
    ],
)
def test_cache_is_rebuilt_when_a_raw_file_changes(ml100k_dir, tmp_path, member, change):
    root = tmp_path / "root"
    load(ml100k_dir, root)
    path = ml100k_dir / "ml-100k" / member
    text = path.read_text(encoding="latin-1")
    path.write_text(change(text), encoding="latin-1")
    got = load(ml100k_dir, root)
    fresh = load(ml100k_dir, tmp_path / "fresh")
    assert not got.source.startswith("cache") and same_graph(got, fresh)
    assert load(ml100k_dir, root).source.startswith("cache")  # rebuilt, then used


def test_cache_is_not_served_for_another_source(ml100k_dir, tmp_path, monkeypatch):
    calls = fake_registry(monkeypatch, title="Toy Story Registry")
    root = tmp_path / "root"
    write_ml100k(root / "ml-100k")
    local = load_movielens("ml-100k", root, verify=False, verbose=False)  # auto: local files
    assert local.source.startswith("local folder") and not calls
    reg = load_movielens("ml-100k", root, source="registry", verify=False, verbose=False)
    assert reg.source.startswith("registry") and len(calls) == 1
    assert reg["movie"].title[0] == "Toy Story Registry (1995)"
    back = load_movielens("ml-100k", root, verify=False, verbose=False)
    assert back["movie"].title[0] == "Toy Story (1995)" and same_graph(back, local)


def _another_build(tmp_path, rows):
    other = write_ml100k(tmp_path / "other" / "ml-100k", ratings=rows).parent
    load(other, tmp_path / "other-root")
    return tmp_path / "other-root" / "processed" / "ml-100k-error-nv"


def _damage(kind: str, stem: Path, tmp_path: Path) -> None:
    js, pt = stem.with_suffix(".json"), stem.with_suffix(".pt")
    if kind == "json missing a key":
        meta = json.loads(js.read_text())
        del meta["title"]
        js.write_text(json.dumps(meta))
    elif kind == "json not an object":
        js.write_text("[1, 2]")
    elif kind == "json not json":
        js.write_text('{"version": ')
    elif kind == "pt with other tensors":
        torch.save({"weights": torch.zeros(3)}, pt)
    elif kind == "pt truncated":
        pt.write_bytes(pt.read_bytes()[:100])
    elif kind == "pt of another data set":  # other counts: 3 users, 11 ratings
        other = _another_build(tmp_path, [r for r in ML100K_RATINGS if r[0] != 4])
        pt.write_bytes(other.with_suffix(".pt").read_bytes())
    elif kind == "pt of another build, same shapes":  # one rating differs, same counts
        rows = [(1, 1, 1, 100), *ML100K_RATINGS[1:]]
        pt.write_bytes(_another_build(tmp_path, rows).with_suffix(".pt").read_bytes())
    else:
        raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind",
    [
        "json missing a key",
        "json not an object",
        "json not json",
        "pt with other tensors",
        "pt truncated",
        "pt of another data set",
        "pt of another build, same shapes",
    ],
)
def test_a_damaged_cache_is_detected_and_rebuilt(ml100k_dir, tmp_path, kind, capsys):
    root = tmp_path / "root"
    good = load(ml100k_dir, root)
    stem = root / "processed" / "ml-100k-error-nv"
    assert stem.with_suffix(".json").is_file()
    _damage(kind, stem, tmp_path)
    capsys.readouterr()
    got = load_movielens(
        "ml-100k", root, raw_dir=ml100k_dir, source="local", verify=False, verbose=True
    )
    assert not got.source.startswith("cache") and same_graph(got, good)
    err = capsys.readouterr().err
    assert "rebuilding" in err and str(stem.parent) in err  # one line naming the cache
    assert load(ml100k_dir, root).source.startswith("cache")  # and rewritten whole


def test_orphan_temporary_files_are_removed_but_not_a_live_writers(ml100k_dir, tmp_path):
    root = tmp_path / "root"
    proc = root / "processed"
    proc.mkdir(parents=True)
    orphan = proc / ".ml-100k-error-nv.pt.k1ll3d.tmp"  # what a load killed mid-write leaves
    orphan.write_bytes(b"\x00" * 1000)
    old = time.time() - 60
    os.utime(orphan, (old, old))
    live = proc / ".ml-100k.pt.wr1t1n.tmp"  # another process is writing this one right now
    live.write_bytes(b"\x00" * 10)
    os.utime(live, (old, old))
    with open(live, "rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        load(ml100k_dir, root)
        assert not orphan.exists() and live.exists()
    assert sorted(p.name for p in proc.iterdir()) == [
        ".ml-100k.pt.wr1t1n.tmp",
        "ml-100k-error-nv.json",
        "ml-100k-error-nv.pt",
    ]


def test_a_load_killed_while_writing_leaves_nothing_after_the_next_load(
    ml100k_dir, tmp_path, monkeypatch
):
    """A real SIGKILL of a (forked) process in the middle of writing the cache."""
    root = tmp_path / "root"
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a load whose cache write stalls half-way
        try:

            def stalled_save(obj, fh):
                fh.write(b"partial")
                fh.flush()
                os.write(ready_w, b"x")
                time.sleep(60)

            torch.save = stalled_save
            load(ml100k_dir, root)
        finally:
            os._exit(1)
    try:
        assert os.read(ready_r, 1) == b"x"
        assert len(list((root / "processed").glob(".*.tmp"))) == 1
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    monkeypatch.setattr(graph, "_ORPHAN_AGE", 0.0)  # no need to wait out the guard here
    assert load(ml100k_dir, root).source.startswith("local folder")
    assert not list((root / "processed").glob(".*.tmp"))


# --------------------------------------------------------------------------- 4. row order
def _permuted(data, order):
    out = data.clone()
    for attr in ("edge_index", "rating", "time"):
        value = data[RATES][attr]
        out[RATES][attr] = value[:, order] if attr == "edge_index" else value[order]
    return out


def test_the_split_does_not_depend_on_row_order():
    data = synthetic_graph(300, 200, 6000, seed=3)
    data[RATES].time = data[RATES].time // 1_000_000  # coarse times: many ties
    split = temporal_split(data)
    ties = 0
    for u in split.test[0].tolist()[:100]:
        t = data[RATES].time[data[RATES].edge_index[0] == u]
        ties += int((t == t.max()).sum() > 1)
    assert ties > 20  # the case that matters: a tied latest rating
    for seed in range(3):
        order = torch.randperm(6000, generator=torch.Generator().manual_seed(seed))
        other = temporal_split(_permuted(data, order))
        for part in ("train", "valid", "test", "train_rating", "test_rating", "train_ptr"):
            assert torch.equal(getattr(split, part), getattr(other, part)), part


def test_ties_are_not_broken_by_movie_id():
    """Every user rated 4 movies in one second: the held-out one must not systematically be
    the highest (or lowest) id, which on ML-100K means the most obscure (or popular) film."""
    users = torch.arange(400).repeat_interleave(4)
    movies = torch.stack([torch.randperm(50, generator=torch.Generator().manual_seed(i))[:4]
                          for i in range(400)]).view(-1)  # fmt: skip
    data = synthetic_graph(400, 50, 1600, seed=0)
    data[RATES].edge_index = torch.stack([users, movies])
    data[RATES].rating = torch.ones(1600)
    data[RATES].time = torch.zeros(1600, dtype=torch.long)
    split = temporal_split(data)
    mine = movies.view(400, 4)
    highest = (split.test[1] == mine.max(1).values).float().mean()
    lowest = (split.test[1] == mine.min(1).values).float().mean()
    assert 0.15 < highest < 0.35 and 0.15 < lowest < 0.35  # about 1 in 4 each


def _pin_to(monkeypatch, raw):
    tables = ml.read_tables("ml-100k", raw, source="local", verify=False, verbose=False)
    info = dataclasses.replace(
        ml.DATASETS["ml-100k"],
        ratings_sha256=ml.ratings_checksum(tables.ratings),
        num_ratings=len(tables.ratings),
        num_users=len(tables.users),
        num_movies=len(tables.movies),
    )
    monkeypatch.setitem(ml.DATASETS, "ml-100k", info)


def test_a_shuffled_ratings_file_verifies_and_gives_the_same_numbers(tmp_path, monkeypatch):
    a = write_ml100k(tmp_path / "a" / "ml-100k").parent
    b = write_ml100k(tmp_path / "b" / "ml-100k", ratings=ML100K_RATINGS[::-1]).parent
    _pin_to(monkeypatch, a)
    results = []
    for raw in (a, b):
        data = load(raw, tmp_path / f"root-{raw.name}", verify=True)  # both pass verification
        split = temporal_split(data)
        model = ItemPop(split.num_users, split.num_movies).fit(split)
        metrics = [
            evaluate(model, split, stage, "full", k=2)[m]
            for stage in ("valid", "test")
            for m in ("hr@2", "ndcg@2", "mrr")
        ]
        results.append((split.train.tolist(), split.valid.tolist(), split.test.tolist(), metrics))
    assert results[0] == results[1]


# --------------------------------------------------------------------------- 5. validation
BAD_U_DATA = [
    ("1.9\t1\t5\t100", "1 (user_id)", "'1.9'"),
    ("1\t2.0\t5\t100", "2 (movie_id)", "'2.0'"),
    ("-1\t1\t5\t100", "1 (user_id)", "'-1'"),
    ("1\t1\t5\t1e20", "4 (timestamp)", "'1e20'"),
    ("1\t1\t5\t-5", "4 (timestamp)", "'-5'"),
    ("1\t1\t5\t99999999999999999999", "4 (timestamp)", "'99999999999999999999'"),
    ("1\t1\t5\t100.5", "4 (timestamp)", "'100.5'"),
    ("1\t1\t2.7\t100", "3 (rating)", "'2.7'"),
    ("1\t1\t0.5\t100", "3 (rating)", "'0.5'"),
    ("1\t1\tnan\t100", "3 (rating)", "'nan'"),
    ("1\t1\t\t100", "3 (rating)", "an empty field"),
]


@pytest.mark.parametrize("verify", [True, False])
@pytest.mark.parametrize("line, fieldname, value", BAD_U_DATA)
def test_rows_are_validated_with_or_without_verification(tmp_path, line, fieldname, value, verify):
    raw = tmp_path / "raw"
    rows = [*ML100K_RATINGS[1:3], line + "\n", *ML100K_RATINGS[4:]]
    write_ml100k(raw / "ml-100k", ratings=rows)
    with pytest.raises(DatasetError) as exc:
        load(raw, tmp_path / "root", verify=verify)
    msg = str(exc.value)
    assert f"{raw / 'ml-100k' / 'u.data'} line 3, field {fieldname}: {value} is not" in msg
    assert "fresh copy from GroupLens" in msg and "\n" not in msg
    assert not (tmp_path / "root" / "processed").exists()


@pytest.mark.parametrize(
    "member, lines, match",
    [
        ("u.user", [*ML100K_USERS[:3], "4.5|33|F|doctor|T8H1N"], r"u.user line 4, field 1 "),
        ("u.user", [*ML100K_USERS, "4|33|F|doctor|T8H1N"], r"u.user line 5: user 4 is listed"),
        ("u.item", [ML100K_ITEMS[0].replace("|0|0|0|1|", "|0|0|0|2|"), *ML100K_ITEMS[1:]],
         r"u.item line 1, field 9 \(Animation\): '2' is not a genre flag"),
        ("u.item", [*ML100K_ITEMS, ML100K_ITEMS[0]], r"u.item line 5: movie 1 is listed twice"),
    ],
)  # fmt: skip
def test_other_tables_are_validated_too(tmp_path, member, lines, match):
    raw = tmp_path / "raw"
    write_ml100k(raw / "ml-100k", **{"users" if member == "u.user" else "items": lines})
    with pytest.raises(DatasetError, match=match):
        load(raw, tmp_path / "root")


def write_latest(folder: Path, ratings: str, movies: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ratings.csv").write_text(ratings)
    (folder / "movies.csv").write_text(
        movies
        if movies is not None
        else 'movieId,title,genres\n1,Toy Story (1995),Comedy\n2,"Heat, The (1995)",Action\n'
    )
    return folder.parent


def load_latest(raw, root, **kw):
    return load_movielens(
        "ml-latest-small", root, raw_dir=raw, source="local", verify=False, verbose=False, **kw
    )


@pytest.mark.parametrize(
    "rating, ok", [("2.5", True), ("0.5", True), ("5", True), ("2.7", False), ("0", False),
                   ("5.5", False), ("inf", False)],
)  # fmt: skip
def test_half_star_scale_of_ml_latest_small(tmp_path, rating, ok):
    raw = write_latest(
        tmp_path / "raw" / "ml-latest-small",
        f"userId,movieId,rating,timestamp\n1,1,4.0,100\n1,2,{rating},200\n",
    )
    if ok:
        data = load_latest(raw, tmp_path / "root")
        assert data[RATES].rating.tolist() == [4.0, float(rating)]
    else:
        with pytest.raises(DatasetError, match=r"ratings.csv line 3, field 3 \(rating\): "):
            load_latest(raw, tmp_path / "root")


# --------------------------------------------------------------------------- 6. raw_dir
def test_an_empty_raw_dir_is_an_error_not_a_download(tmp_path, monkeypatch):
    no_network(monkeypatch)
    empty = tmp_path / "empty"
    empty.mkdir()
    for source in ("auto", "local"):
        with pytest.raises(DatasetError) as exc:
            load_movielens("ml-100k", tmp_path / "root", raw_dir=empty, source=source)
        msg = str(exc.value)
        assert f"{empty / 'ml-100k' / 'u.data'} or {empty / 'ml-100k.zip'}" in msg
        assert "holds no ml-100k files" in msg


def test_the_inner_folder_as_raw_dir_says_to_pass_its_parent(ml100k_dir, tmp_path, monkeypatch):
    no_network(monkeypatch)
    inner = ml100k_dir / "ml-100k"
    with pytest.raises(DatasetError, match=f"pass its parent, --raw-dir {ml100k_dir}$"):
        load_movielens("ml-100k", tmp_path / "root", raw_dir=inner, verbose=False)
    with pytest.raises(DatasetError, match="does not exist"):
        load_movielens("ml-100k", tmp_path / "root", raw_dir=tmp_path / "typo", verbose=False)


def test_a_cache_is_not_served_for_a_raw_dir_that_holds_nothing(ml100k_dir, tmp_path, monkeypatch):
    root = tmp_path / "root"
    write_ml100k(root / "ml-100k")
    load_movielens("ml-100k", root, verify=False, verbose=False)  # a cache from root's files
    no_network(monkeypatch)
    with pytest.raises(DatasetError, match="holds no ml-100k files"):
        load_movielens("ml-100k", root, raw_dir=tmp_path / "raw" / "ml-100k", verify=False)


def test_cli_reports_an_empty_raw_dir_in_one_line(tmp_path, capsys, monkeypatch):
    from graphrec.cli.main import main

    no_network(monkeypatch)
    (tmp_path / "empty").mkdir()
    args = ["--task", "stats", "--raw-dir", str(tmp_path / "empty"), "--quiet"]
    args += ["--data-dir", str(tmp_path / "d"), "--out", str(tmp_path / "o")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: raw_dir (--raw-dir)") and err.count("\n") == 1


# --------------------------------------------------------------------------- 9. malformed files
def test_an_empty_ratings_file_is_named(tmp_path):
    for content in ("", "\n"):
        raw = write_latest(tmp_path / "raw" / "ml-latest-small", content)
        with pytest.raises(DatasetError, match=r"ml-latest-small/ratings.csv is empty; replace"):
            load_latest(raw, tmp_path / "root")
    raw = write_latest(tmp_path / "raw" / "ml-latest-small", "userId,movieId,rating,timestamp\n")
    with pytest.raises(DatasetError, match=r"ml-latest-small/ratings.csv: no ratings"):
        load_latest(raw, tmp_path / "root")
    write_ml100k(tmp_path / "raw" / "ml-100k", ratings=[])
    with pytest.raises(DatasetError, match=r"ml-100k/u.data is empty"):
        load(tmp_path / "raw", tmp_path / "root")


RATINGS_12 = "userId,movieId,rating,timestamp\n1,1,4.0,100\n1,2,3.0,200\n"


@pytest.mark.parametrize(
    "movies",
    [
        # the quote opens on line 3 and a later quote closes it: pandas swallows line 4
        'movieId,title,genres\n1,Toy Story (1995),Comedy\n2,"Heat (1995),Action\n'
        '3,"Casino, The (1995)",Drama\n4,Up (2009),Comedy\n',
        # the quote opens on line 3 and never closes
        'movieId,title,genres\n1,Toy Story (1995),Comedy\n2,"Heat (1995),Action\n'
        "3,Casino (1995),Drama\n",
    ],
)
def test_an_unbalanced_quote_in_movies_csv_is_named(tmp_path, movies):
    raw = write_latest(tmp_path / "raw" / "ml-latest-small", RATINGS_12, movies)
    with pytest.raises(DatasetError) as exc:
        load_latest(raw, tmp_path / "root")
    msg = str(exc.value)
    assert 'movies.csv line 3: a quote (") opens a field and does not close' in msg
    assert "'2,\"Heat (1995),Action'" in msg and "\n" not in msg


def _variants():
    """Malformed versions of each file of the tiny ML-100K: (member, content)."""
    good = {
        "u.data": "".join("\t".join(map(str, r)) + "\n" for r in ML100K_RATINGS),
        "u.item": "\n".join(ML100K_ITEMS) + "\n",
        "u.user": "\n".join(ML100K_USERS) + "\n",
    }
    out = []
    for member, text in good.items():
        lines = text.splitlines()
        sep = "\t" if member == "u.data" else "|"
        out += [
            (member, ""),
            (member, "\n".join(lines[:2]) + "\n\n" + "\n".join(lines[2:]) + "\n"),  # blank line
            (member, "\n".join(line + sep + "x" for line in lines) + "\n"),  # a field more
            (member, "\n".join(sep.join(line.split(sep)[:-1]) for line in lines) + "\n"),
            (member, lines[0] + "\n" + lines[1] + sep + "extra\n" + "\n".join(lines[2:])),
            (member, "\n".join(lines[:1]) + "\n" + '"' + "\n".join(lines[1:]) + "\n"),
            (member, text.replace(lines[1], lines[1].replace(sep, ",", 1))),
            (member, "\x00\xff\xfe garbage \x01\n" * 3),
            (member, text + lines[0] + "\n"),  # a row twice
        ]
    return out


@pytest.mark.parametrize("member, content", _variants())
def test_every_malformed_file_is_a_dataset_error(tmp_path, member, content):
    folder = write_ml100k(tmp_path / "raw" / "ml-100k")
    (folder / member).write_bytes(content.encode("latin-1"))
    with pytest.raises(DatasetError) as exc:
        load(tmp_path / "raw", tmp_path / "root")
    assert f"{folder / member}" in str(exc.value) and "\n" not in str(exc.value)


def test_a_folder_in_place_of_a_file_is_a_dataset_error(tmp_path):
    folder = write_ml100k(tmp_path / "raw" / "ml-100k")
    (folder / "u.user").unlink()
    (folder / "u.user").mkdir()
    with pytest.raises(DatasetError, match="u.user is missing"):
        load(tmp_path / "raw", tmp_path / "root")


# --------------------------------------------------------------------------- 11. skips
def _no_skip(*args, **kwargs):
    """``load_or_skip``, but a skip fails the test (a skip would hide what it must report)."""
    try:
        return load_or_skip(*args, **kwargs)
    except pytest.skip.Exception as exc:
        pytest.fail(f"skipped instead of failing: {exc}")


def test_real_data_tests_skip_only_when_the_data_cannot_be_had(tmp_path, monkeypatch):
    fake_registry(monkeypatch, fail=True)
    with pytest.raises(pytest.skip.Exception, match="not available here"):
        load_or_skip("ml-100k", tmp_path / "a", source="registry", verbose=False)
    # a copy that does not verify (the tiny data set against the published checksum), or one
    # that does not parse, fails the test: it is a bug or bad data, not a missing network
    fake_registry(monkeypatch)
    with pytest.raises(ChecksumError):
        _no_skip("ml-100k", tmp_path / "b", source="registry", verbose=False)
    fake_registry(monkeypatch, ratings=[*ML100K_RATINGS, (1, 1, "x", 5)])
    with pytest.raises(DatasetError, match=r"ml-100k.inter \(in the recbole==1.2.1 wheel\)"):
        _no_skip("ml-100k", tmp_path / "c", source="registry", verbose=False)


# --------------------------------------------------------------------------- 11. masks
def test_low_rated_movies_are_never_evaluation_negatives():
    """With ``min_rating``, a movie the user rated low is not a positive, but it is rated: it
    must never be drawn as one of the sampled protocol's negatives (nor by
    ``sample_negatives(exclude='rated')``)."""
    data = synthetic_graph(100, 200, 5000, seed=2)
    r = torch.randint(1, 6, (5000,), generator=torch.Generator().manual_seed(0)).float()
    data[RATES].rating = r
    split = temporal_split(data, min_rating=4)
    ei = data[RATES].edge_index
    low = {(u, m) for u, m, x in zip(*ei.tolist(), r.tolist(), strict=True) if x < 4}
    assert len(low) > 1000
    for stage in ("valid", "test"):
        cands = sampled_candidates(split, stage, 50, seed=1)
        users = split.held_out(stage)[0]
        drawn = {(u, m) for u, row in zip(users.tolist(), cands[:, 1:].tolist(), strict=True)
                 for m in row}  # fmt: skip
        assert not drawn & low
    neg = sample_negatives(split, users, 30, torch.Generator().manual_seed(0), exclude="rated")
    drawn = {(u, m) for u, row in zip(users.tolist(), neg.tolist(), strict=True) for m in row}
    assert not drawn & low


class _Ranker(Recommender):
    """Scores: the user's test movie 3, valid movie 2, train movies 10, the rest 1 - m/1000."""

    def __init__(self, split):
        super().__init__(split.num_users, split.num_movies)
        self.table = 1 - torch.arange(split.num_movies).float().repeat(split.num_users, 1) / 1000
        self.table[split.train[0], split.train[1]] = 10.0
        self.table[split.valid[0], split.valid[1]] = 2.0
        self.table[split.test[0], split.test[1]] = 3.0

    def score(self, users, movies):
        return self.table[users, movies]

    def score_all(self, users):
        return self.table[users]


def test_full_ranking_masks_train_for_valid_and_train_plus_valid_for_test():
    split = temporal_split(synthetic_graph(40, 60, 800, seed=1))
    model = _Ranker(split)
    # valid: train masked; the test movie (a later rating, not known at valid time) stays
    # in and outranks the valid movie: rank 1 for every user
    assert evaluate_ranks(model, split, "valid", "full").tolist() == [1] * split.valid.size(1)
    # test: train and valid masked; nothing else scores above 1, so the test movie is first
    assert evaluate_ranks(model, split, "test", "full").tolist() == [0] * split.test.size(1)
    assert evaluate(model, split, "valid", "full", k=1)["hr@1"] == 0.0
