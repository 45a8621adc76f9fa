"""``--task recommend`` end to end on a small MovieLens-format fixture: a known user, a new
user folded in, similar movies, the feature MLP's attributes, and every refusal."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import write_ml100k

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def cli():
    from graphrec.cli.main import main

    return main


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    """Two taste groups (users 1-10 rate movies 1-80, users 11-20 movies 81-160); movie 161
    is never rated; "Twin (1990)" names two movies."""
    root = tmp_path_factory.mktemp("rec")
    items = []
    for i in range(1, 162):
        title = "Twin (1990)" if i in (30, 110) else f"Movie {i} ({1950 + i % 40})"
        genre = 1 if i <= 80 else 5
        flags = "|".join("1" if g == genre else "0" for g in range(19))
        items.append(f"{i}|{title}|01-Jan-1990||u|{flags}")
    rng = np.random.default_rng(0)
    ratings = []
    for u in range(1, 21):
        lo = 1 if u <= 10 else 81
        for t, m in enumerate(rng.choice(np.arange(lo, lo + 80), 30, replace=False)):
            ratings.append((u, int(m), 5, 1000 + t))
    users = [f"{u}|{18 + 2 * u}|{'F' if u % 2 else 'M'}|writer|5432{u % 10}" for u in range(1, 21)]
    write_ml100k(root / "raw" / "ml-100k", ratings=ratings, items=items, users=users)
    return root


def _common(raw):
    return [
        "--raw-dir",
        str(raw / "raw"),
        "--data-dir",
        str(raw / "d"),
        "--source",
        "local",
        "--no-verify",
        "--quiet",
    ]


@pytest.fixture(scope="module")
def runs(cli, raw):
    """A BPR-MF run and a ranking feature-MLP run, trained by their tasks."""
    out = {}
    bpr = ["--epochs", "20", "--batch-size", "64", "--lr", "0.02"]
    for task, extra in (("bpr", bpr), ("features", ["--objective", "ranking"])):
        out[task] = raw / "runs" / task
        args = ["--task", task, *_common(raw), *extra, "--out", str(out[task])]
        assert cli([*args, "--epochs", "3"] if task == "features" else args) == 0
    return out


def _recommend(cli, raw, run, out, *extra):
    return cli(["--task", "recommend", "--run", str(run), *_common(raw), "--out", str(out), *extra])


def test_a_known_user_gets_unseen_movies_with_reasons(cli, raw, runs, tmp_path, capsys):
    assert _recommend(cli, raw, runs["bpr"], tmp_path / "o", "--user", "3", "--k", "5") == 0
    printed = capsys.readouterr().out
    assert "BPRMF on ml-100k: top 5 for user 3 (28 train movies)" in printed
    assert "because you liked: Movie" in printed
    rec = json.loads((tmp_path / "o" / "recommendations.json").read_text())
    assert rec["model"] == "BPRMF" and rec["dataset"] == "ml-100k" and rec["user"] == 3
    assert rec["run"] == str(runs["bpr"])
    profile = set(rec["profile"])
    assert len(profile) == 28 and all(1 <= m <= 80 for m in profile)  # user 3's group
    assert [it["rank"] for it in rec["items"]] == [1, 2, 3, 4, 5]
    for it in rec["items"]:
        assert it["movie_id"] not in profile, "seen movies are never recommended"
        assert set(it) >= {"movie_id", "title", "year", "genres", "score", "because"}
        assert len(it["because"]) == 3 and {b["movie_id"] for b in it["because"]} <= profile
        weights = [b["weight"] for b in it["because"]]
        assert weights == sorted(weights, reverse=True)
    scores = [it["score"] for it in rec["items"]]
    assert scores == sorted(scores, reverse=True)


def test_a_new_user_folded_in_from_titles(cli, raw, runs, tmp_path, capsys):
    liked = ["movie 81", "Movie 82 (1952)", "85", "MOVIE 90"]  # as people type them
    assert _recommend(cli, raw, runs["bpr"], tmp_path / "o", "--liked", *liked,
                      "--disliked", "Movie 86") == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "top 10 for a new user (4 liked, 1 disliked movies)" in out
    rec = json.loads((tmp_path / "o" / "recommendations.json").read_text())
    assert rec["user"] is None and rec["liked"] == [81, 82, 85, 90] and rec["disliked"] == [86]
    got = [it["movie_id"] for it in rec["items"]]
    assert not set(got) & {81, 82, 85, 86, 90}
    assert sum(81 <= m <= 160 for m in got) >= 8, "the liked movies' taste group comes first"
    for it in rec["items"]:
        assert {b["movie_id"] for b in it["because"]} <= {81, 82, 85, 90}


def test_similar_movies_from_a_saved_run(cli, raw, runs, tmp_path, capsys):
    assert _recommend(cli, raw, runs["bpr"], tmp_path / "o", "--query", "movie 5", "--k", "4") == 0
    assert (
        "movies most similar to Movie 5 (1955) (BPRMF, ranked by cosine)" in capsys.readouterr().out
    )
    rec = json.loads((tmp_path / "o" / "similar.json").read_text())
    near = rec["similar"]["Movie 5 (1955)"]
    assert len(near) == 4 and 5 not in [n["movie_id"] for n in near]
    assert sum(n["movie_id"] <= 80 for n in near) >= 3


def test_the_feature_mlp_names_features_and_takes_attributes(cli, raw, runs, tmp_path, capsys):
    assert _recommend(cli, raw, runs["features"], tmp_path / "u", "--user", "4", "--k", "3") == 0
    assert "features (against the average train pair's " in capsys.readouterr().out
    rec = json.loads((tmp_path / "u" / "recommendations.json").read_text())
    for it in rec["items"]:
        assert len(it["features"]) == 4 and len(it["because"]) == 3
    assert "IntegratedGradients" in rec["features_are"]
    args = ["--age", "30", "--gender", "f", "--occupation", "Writer"]
    assert _recommend(cli, raw, runs["features"], tmp_path / "n", *args) == 0
    rec = json.loads((tmp_path / "n" / "recommendations.json").read_text())
    assert rec["attributes"]["gender"] == "F" and rec["attributes"]["age"] == 30
    assert rec["attributes"]["zip_region"] == "average" and rec["profile"] == []
    assert all(it["because"] == [] and it["features"] for it in rec["items"])


def test_k_above_the_unseen_movies_is_capped_and_said(cli, raw, runs, tmp_path, capsys):
    assert _recommend(cli, raw, runs["bpr"], tmp_path / "o", "--user", "3", "--k", "500") == 0
    err = capsys.readouterr().err
    assert "note: --k 500 is more than the 133 movies user 3 has not seen: showing 133" in err
    rec = json.loads((tmp_path / "o" / "recommendations.json").read_text())
    assert len(rec["items"]) == 133 and rec["k_asked"] == 500


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--user", "99"], "user 99 is not in ml-100k (20 users, ids 1..20)"),
        (
            ["--liked", "Twin", "Movie 5 (1901)", "Movie 7"],
            "2 of the movies given are not resolved in ml-100k: title 'Twin' is ambiguous: "
            "Twin (1990) (id 30), Twin (1990) (id 110)",
        ),
        (["--user", "3", "--liked", "Movie 7"], "--user and --liked given together"),
        ([], "say whom to recommend for: --user RAW_ID"),
        (["--liked", " "], "--liked names no movie (only blank entries)"),
        (["--liked", "Movie 161"], "every liked movie is unknown to this BPRMF (no train ratings"),
        (["--liked", "Movie 7", "--disliked", "movie 7"], "is both liked and disliked"),
        (["--disliked", "Movie 7"], "--disliked needs --liked"),
        (["--liked", "Movie 7", "--age", "30"], "only the feature MLP reads a new user's attr"),
        (["--user", "3", "--dataset", "ml-latest-small"], "was trained on ml-100k, not on ml-l"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(cli, raw, runs, tmp_path, capsys, extra, message):
    assert _recommend(cli, raw, runs["bpr"], tmp_path / "o", *extra) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err, err
    assert not (tmp_path / "o").exists()


def test_a_run_folder_without_a_model_is_refused(cli, raw, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert _recommend(cli, raw, tmp_path / "empty", tmp_path / "o", "--user", "3") == 2
    err = capsys.readouterr().err
    assert "holds no saved model (no model/model.json)" in err
    assert not (tmp_path / "o").exists()
    assert _recommend(cli, raw, tmp_path / "nope", tmp_path / "o", "--user", "3") == 2
    assert "--run " in capsys.readouterr().err and not (tmp_path / "o").exists()


@pytest.mark.parametrize("task", ["ease", "itemknn", "gnn"])
def test_the_baseline_tasks_write_a_run_that_recommends(cli, raw, tmp_path, capsys, task):
    """--task ease / itemknn / gnn write a run folder (closed form: no epochs, no curves) whose
    model recommends user 3 movies of user 3's own taste group (movies 1-80)."""
    run = tmp_path / task
    extra = ["--epochs", "15", "--batch-size", "64", "--lr", "0.02"] if task == "gnn" else []
    assert cli(["--task", task, *_common(raw), *extra, "--out", str(run)]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["task"] == task and set(metrics["test"]) == {"sampled", "full"}
    closed = task != "gnn"
    assert (metrics["training"]["objective"] == "closed form") is closed
    assert (run / "curves.png").exists() is not closed
    config = json.loads((run / "config.json").read_text())
    assert config["split"]["kind"] == "leave-one-out" and config["world_size"] == 1
    capsys.readouterr()
    assert _recommend(cli, raw, run, tmp_path / "o", "--user", "3", "--k", "5") == 0
    rec = json.loads((tmp_path / "o" / "recommendations.json").read_text())
    assert len(rec["items"]) == 5 and all(1 <= it["movie_id"] <= 80 for it in rec["items"])
