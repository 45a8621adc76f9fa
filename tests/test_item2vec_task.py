"""``--task item2vec`` end to end: outputs, query errors, and (real data) the franchise check."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import load_or_skip, write_ml100k

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cli():
    from graphrec.cli.main import main

    return main


@pytest.fixture
def raw(tmp_path):
    # two taste groups: users 1-10 rate movies 1-150, users 11-20 rate movies 151-300
    items = [
        f"{i}|Movie {i} (1990)|01-Jan-1990||u|"
        + "|".join("1" if g == (1 if i <= 150 else 5) else "0" for g in range(19))
        for i in range(1, 301)
    ]
    rng = np.random.default_rng(0)
    ratings = []
    for u in range(1, 21):
        lo = 1 if u <= 10 else 151
        for t, m in enumerate(rng.choice(np.arange(lo, lo + 150), 60, replace=False)):
            ratings.append((u, int(m), 5, 1000 + t))
    users = [f"{u}|30|F|writer|5432{u % 10}" for u in range(1, 21)]
    write_ml100k(tmp_path / "raw" / "ml-100k", ratings=ratings, items=items, users=users)
    return tmp_path / "raw"


def _args(raw, tmp_path, *extra):
    return [
        "--task",
        "item2vec",
        "--raw-dir",
        str(raw),
        "--data-dir",
        str(tmp_path / "d"),
        "--source",
        "local",
        "--no-verify",
        "--quiet",
        "--no-umap",
        "--walks-per-node",
        "3",
        "--epochs",
        "2",
        "--out",
        str(tmp_path / "run"),
        *extra,
    ]


def test_item2vec_task_outputs(cli, raw, tmp_path, capsys):
    assert cli(_args(raw, tmp_path, "--query", "Movie 5 (1990)", "Movie 170 (1990)")) == 0
    out = capsys.readouterr().out
    assert "movies most similar to Movie 5 (1990)" in out
    run = tmp_path / "run"
    similar = json.loads((run / "similar.json").read_text())
    assert set(similar) == {"Movie 5 (1990)", "Movie 170 (1990)"}
    # the two taste groups do not mix: neighbours come from the query's own group
    for query, lo in (("Movie 5 (1990)", 1), ("Movie 170 (1990)", 151)):
        ids = [int(n["title"].split()[1]) for n in similar[query]]
        assert len(ids) == 10 and all(lo <= i < lo + 150 for i in ids)
        # ranked by CSLS (the default); "score" is the plain cosine, as the issue asks
        csls = [n["csls"] for n in similar[query]]
        assert csls == sorted(csls, reverse=True)
    emb = np.load(run / "embeddings.npy")
    items = (run / "items.csv").read_text().splitlines()
    assert emb.shape[0] == len(items) - 1 <= 300
    row = {r["movie_id"]: int(r["row"]) for r in csv.DictReader(items)}  # movie_id -> row
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    for query, qid in (("Movie 5 (1990)", "5"), ("Movie 170 (1990)", "170")):
        for n in similar[query]:
            cos = float(unit[row[qid]] @ unit[row[str(n["movie_id"])]])
            assert n["score"] == pytest.approx(cos, abs=1e-4)
    assert "cosine 0." in out and "CSLS " in out
    m = json.loads((run / "metrics.json").read_text())
    assert m["task"] == "item2vec" and set(m["test"]) == {"sampled", "full"}
    assert m["similarity"]["ranking"] == "CSLS (hubness K=50)"
    config = json.loads((run / "config.json").read_text())["config"]
    assert config["hubness_k"] == 50
    # the files are ML-100K's: its projection defaults (top 6, mutual x4), recorded as run
    assert (config["knn"], config["mutual_weight"]) == (6, 4.0)
    assert (m["graph"]["knn"], m["graph"]["mutual_weight"]) == (6, 4.0)
    coh = m["similarity"]["genre_coherence@10"]
    assert coh["coherence"] > coh["random_baseline"]
    for name in ("config.json", "loss.png", "model/model.json", "model/weights.pt"):
        assert (run / name).exists()
    assert not (run / "skipgram").exists()  # the model folder holds the skip-gram tables
    # the files listed at the end are the files written (no umap.png with --no-umap)
    listed = out.strip().splitlines()[-1]
    assert listed.startswith(f"wrote {run}/:") and "umap.png" not in listed
    assert "similar.json" in listed and "model/weights.pt" in listed


def test_projection_presets_depend_on_the_data_set_and_yield_to_given_options():
    from dataclasses import replace

    from graphrec.data import temporal_split
    from graphrec.data.synthetic import synthetic_graph
    from graphrec.presets import build_model, model_preset

    assert model_preset("Item2Vec", "ml-100k") == {"knn": 6, "mutual_weight": 4.0}
    assert model_preset("Item2Vec", "ml-latest-small") == {}
    split = temporal_split(synthetic_graph(30, 40, 400, seed=0))

    def built(dataset, **kw):
        s = replace(split, ids=replace(split.ids, dataset=dataset))
        hp = build_model("item2vec", s, **kw).hparams
        return hp["knn"], hp["mutual_weight"]

    assert built("ml-100k") == (6, 4.0)
    assert built("ml-latest-small") == (10, 10.0) == built("ml-1m")  # the class defaults
    assert built("ml-100k", knn=0) == (0, 4.0)  # 0 is given, not None
    assert built("ml-100k", mutual_weight=10.0) == (6, 10.0)


def test_given_projection_options_are_used_and_recorded(cli, raw, tmp_path):
    assert cli(_args(raw, tmp_path, "--knn", "4", "--query", "Movie 5 (1990)")) == 0
    config = json.loads((tmp_path / "run" / "config.json").read_text())["config"]
    assert (config["knn"], config["mutual_weight"]) == (4, 4.0)
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert (m["graph"]["knn"], m["graph"]["mutual_weight"]) == (4, 4.0)


def test_map_labels_the_queries_and_their_nearest_neighbours(cli, raw, tmp_path, monkeypatch):
    # the labelling runs after every output file is written; UMAP itself is replaced by a
    # stand-in that records what the task asked it to draw
    import graphrec.viz.maps as maps

    drawn = {}

    def fake_umap_coords(emb, seed=0, cache=None, **kw):
        drawn.update(coords_rows=len(emb), cache=cache)
        return np.random.default_rng(seed).normal(size=(len(emb), 2))

    def fake_umap_map(emb, titles, genres, path, label=None, seed=0, xy=None, **kw):
        drawn.update(rows=len(titles), label=label, path=path, xy=xy)
        return xy

    monkeypatch.setattr(maps, "umap_coords", fake_umap_coords)
    monkeypatch.setattr(maps, "umap_map", fake_umap_map)
    args = [a for a in _args(raw, tmp_path, "--query", "Movie 5 (1990)") if a != "--no-umap"]
    assert cli(args) == 0
    run = tmp_path / "run"
    first = json.loads((run / "similar.json").read_text())["Movie 5 (1990)"][0]["title"]
    assert drawn["label"] == sorted({"Movie 5 (1990)", first})
    assert drawn["rows"] == drawn["coords_rows"] == np.load(run / "embeddings.npy").shape[0]
    assert Path(drawn["path"]) == run / "umap.png" and drawn["cache"] == run / "umap.npy"
    # the interactive page comes from the same coordinates, one point per mapped movie
    page = (run / "map.html").read_text()
    assert "Movie 5 (1990)" in page and f"{drawn['rows']} movies" in page


def test_map_task_draws_a_finished_run(cli, raw, tmp_path, monkeypatch, capsys):
    import graphrec.viz.maps as maps

    calls = []

    def fake_umap_coords(emb, seed=0, cache=None, **kw):
        calls.append(cache)
        return np.random.default_rng(seed).normal(size=(len(emb), 2))

    monkeypatch.setattr(maps, "umap_coords", fake_umap_coords)
    monkeypatch.setattr(maps, "umap_map", lambda *a, xy=None, **kw: xy)
    assert cli(_args(raw, tmp_path)) == 0  # a run without maps (--no-umap)
    run = tmp_path / "run"
    assert not (run / "map.html").exists()
    capsys.readouterr()
    assert cli(["--task", "map", "--run", str(run), "--quiet"]) == 0
    assert f"wrote {run / 'map.html'}" in capsys.readouterr().out
    assert calls == [run / "umap.npy"]
    page = (run / "map.html").read_text()
    assert "Item2Vec on ml-100k" in page and "Movie 170 (1990)" in page
    # one user's movies and recommendations, on a page of their own
    assert cli(["--task", "map", "--run", str(run), "--user", "3", "--quiet"]) == 0
    page = (run / "map-user-3.html").read_text()
    # 60 ratings: 58 in train (one valid, one test), all on the map; 10 recommendations
    assert "rated by user 3 (58)" in page and "top 10 for user 3 (10)" in page
    # a new user, folded in from two liked titles (typed loosely)
    assert cli(["--task", "map", "--run", str(run), "--liked", "movie 5", "Movie 7 (1990)"]) == 0
    page = (run / "map-liked.html").read_text()
    assert "liked (new user) (2)" in page and "top 10 for the new user (10)" in page


def test_map_task_errors(cli, raw, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli(["--task", "map", "--run", str(tmp_path / "nothing"), "--quiet"]) == 2
    assert "no saved model there" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()  # a map adds to a run; it claims no folder
    pop = ["--task", "pop", "--raw-dir", str(raw), "--data-dir", str(tmp_path / "d")]
    pop += ["--source", "local", "--no-verify", "--quiet", "--out", str(tmp_path / "pop")]
    assert cli(pop) == 0
    assert cli(["--task", "map", "--run", str(tmp_path / "pop"), "--quiet"]) == 2
    assert "ItemPop has no movie vectors" in capsys.readouterr().err
    assert not (tmp_path / "pop" / "map.html").exists()


def test_default_hubness_k_shrinks_to_a_small_catalogue(cli, raw, tmp_path):
    # pairs co-rated by >= 6 users are rare here: few movies keep an edge, fewer than the 50
    # nearest movies CSLS would measure, so K becomes their number - 1, and metrics.json
    # records the K that was used
    assert cli(_args(raw, tmp_path, "--min-count", "6", "--topk", "3")) == 0
    run = tmp_path / "run"
    m = json.loads((run / "metrics.json").read_text())
    movies = m["graph"]["movies_with_edges"]
    assert 4 < movies <= 50
    assert m["similarity"]["ranking"] == f"CSLS (hubness K={movies - 1})"


def test_unknown_query_fails_before_training_with_suggestions(cli, raw, tmp_path, capsys):
    assert cli(_args(raw, tmp_path, "--query", "Movie 5 (1991)")) == 2
    err = capsys.readouterr().err
    assert "no movie titled 'Movie 5 (1991)'" in err and "did you mean" in err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "option, message",
    [
        (["--hubness-k", "-1"], "--hubness-k: must be an integer >= 0 (0: plain cosine), got -1"),
        (["--topk", "0"], "--topk: must be an integer >= 1, got 0"),
        (["--eval-k", "0"], "--eval-k: must be an integer >= 1, got 0"),
        (["--mutual-weight", "0"], "--mutual-weight: must be a number > 0 (1 turns it off)"),
        (["--knn", "-3"], "--knn: must be an integer >= 0 (0 keeps every neighbour), got -3"),
        (["--walk-length", "1"], "--walk-length: must be an integer >= 2"),
        (["--min-count", "0"], "--min-count: must be an integer >= 1, got 0"),
        (["--epochs", "0"], "--epochs: must be an integer >= 1, got 0"),
        (["--batch-size", "0"], "--batch-size: must be an integer >= 1, got 0"),
        (["--p", "-1"], "--p: must be a number > 0, got -1.0"),
        (["--q", "nan"], "--q: must be a number > 0, got nan"),
        (["--lr", "0"], "--lr: must be a number > 0, got 0.0"),
        (["--embedding-dim", "x"], "--embedding-dim: must be an integer >= 1, got 'x'"),
        (["--weighting", "euclid"], "--weighting: invalid choice: 'euclid'"),
    ],
)
def test_bad_graph_options_fail_before_training(cli, raw, tmp_path, capsys, option, message):
    with pytest.raises(SystemExit) as exc:  # a usage error: nothing is read or written
        cli(_args(raw, tmp_path, *option))
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "d").exists() and not (tmp_path / "run").exists()


def test_a_failure_after_training_leaves_no_run_folder(cli, raw, tmp_path, capsys, monkeypatch):
    # a failure once the embedding and most files exist (drawing the loss curve, here)
    import graphrec.viz.maps as maps

    def broken(*a, **k):
        raise ValueError("the loss figure could not be drawn")

    monkeypatch.setattr(maps, "plot_loss", broken)
    assert cli(_args(raw, tmp_path)) == 2
    assert "could not be drawn" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


@pytest.fixture(scope="module")
def ml100k_run(cli, tmp_path_factory):
    load_or_skip("ml-100k", verbose=False)  # skip only if no copy and no network
    out = tmp_path_factory.mktemp("i2v")
    args = [
        "--task",
        "item2vec",
        "--quiet",
        "--no-umap",
        "--out",
        str(out),
        "--query",
        "Star Wars (1977)",
        "Godfather, The (1972)",
    ]
    assert cli(args) == 0
    return out


@pytest.fixture(scope="module")
def ml100k_similar(ml100k_run):
    similar = json.loads((ml100k_run / "similar.json").read_text())
    return {q: {n["title"] for n in nb} for q, nb in similar.items()}


@pytest.mark.realdata
def test_star_wars_and_godfather_find_their_sequels(ml100k_similar, ml100k_run):
    m = json.loads((ml100k_run / "metrics.json").read_text())
    assert m["similarity"]["ranking"] == "CSLS (hubness K=50)"  # the default ranking
    assert "Return of the Jedi (1983)" in ml100k_similar["Star Wars (1977)"]
    assert "Godfather: Part II, The (1974)" in ml100k_similar["Godfather, The (1972)"]


@pytest.mark.realdata
def test_default_run_beats_item_cosine_on_franchise_siblings(ml100k_run):
    fr = json.loads((ml100k_run / "metrics.json").read_text())["similarity"]
    fr = fr["franchise_sibling@10"]
    assert fr["films"] == 56
    assert fr["item2vec"] > fr["item_cosine"]


@pytest.mark.realdata
def test_star_wars_finds_the_empire_strikes_back(ml100k_similar):
    assert "Empire Strikes Back, The (1980)" in ml100k_similar["Star Wars (1977)"]
