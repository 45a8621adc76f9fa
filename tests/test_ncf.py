"""GMF, MLP and NeuMF: the model contract, reproducibility, checkpoints, pretraining, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from graphrec.data import UnknownUserError, temporal_split
from graphrec.data.synthetic import synthetic_graph
from graphrec.models import ncf
from graphrec.models.base import Recommender
from graphrec.models.ncf import GMF, MLP, NeuMF
from graphrec.train import TrainConfig, fit

from contract import ContractTests, fit_checkerboard

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """These models are tiny: one intra-op thread is faster, and avoids OpenMP
    oversubscription stalls on busy 2-core machines."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _fit_checkerboard(model, split, lr, epochs):
    return fit_checkerboard(
        model, split, epochs=epochs, batch_size=256, lr=lr, eval_k=10, eval_every=epochs, seed=0
    )


class TestGMFContract(ContractTests):
    def make_model(self, split):
        return _fit_checkerboard(
            GMF(split.num_users, split.num_movies, embedding_dim=8), split, 1e-2, 40
        )


class TestMLPContract(ContractTests):
    # An MLP learns the block (dot-product-like) structure only approximately (Rendle et
    # al., RecSys 2020): across seeds 29-32 of the 32 users come out right, so allow 90%.
    known_answer_min = 0.9

    def make_model(self, split):
        return _fit_checkerboard(
            MLP(split.num_users, split.num_movies, embedding_dim=32), split, 3e-2, 50
        )


class TestNeuMFContract(ContractTests):
    def make_model(self, split):
        model = NeuMF(split.num_users, split.num_movies, embedding_dim=8, mlp_embedding_dim=16)
        return _fit_checkerboard(model, split, 1e-2, 40)


# ---------------------------------------------------------------------------- quality
def taste_groups(groups=4, size=40, per_user=20, own_share=0.9, seed=0):
    """Users in ``groups`` taste groups: each rates ``per_user`` movies drawn by a global
    Zipf popularity, ``own_share`` of the weight on its own group's movies. Popularity alone
    gets ItemPop a sampled HR@10 of about .4 here; beating it takes the groups."""
    import numpy as np
    import pandas as pd

    from graphrec.data.graph import build_graph
    from graphrec.data.synthetic import synthetic_tables

    rng = np.random.default_rng(seed)
    n = groups * size
    tables = synthetic_tables(n, n, 100, seed=seed)  # users' and movies' attribute tables
    popularity = rng.permutation((np.arange(n) + 1.0) ** -1.0)
    group = np.arange(n) // size
    users, movies = [], []
    for u in range(n):
        w = popularity * np.where(group == group[u], own_share, 1 - own_share)
        users += [u] * per_user
        movies += rng.choice(n, per_user, replace=False, p=w / w.sum()).tolist()
    tables.ratings = pd.DataFrame(
        {
            "user_id": np.array(users) + 1,
            "movie_id": np.array(movies) + 1,
            "rating": 5.0,
            "timestamp": rng.permutation(len(users)).astype(np.int64),
        }
    )
    return build_graph(tables)


def test_gmf_beats_itempop_where_tastes_differ():
    from graphrec.evaluate import evaluate
    from graphrec.models.pop import ItemPop

    split = temporal_split(taste_groups())
    pop = ItemPop(split.num_users, split.num_movies).fit(split)
    gmf = GMF(split.num_users, split.num_movies, embedding_dim=8, seed=0)
    config = TrainConfig(
        epochs=10,
        batch_size=256,
        lr=1e-2,
        weight_decay=0.0,
        lr_decay=1.0,
        num_negatives=4,
        patience=0,
        eval_every=10,
        progress=False,
    )
    gmf.fit(split, config)
    for protocol in ("sampled", "full"):
        base = evaluate(pop, split, "test", protocol, k=10)["hr@10"]
        ours = evaluate(gmf, split, "test", protocol, k=10)["hr@10"]
        assert base > 0.3, (protocol, base)  # popularity is a real baseline on this graph
        assert ours > base + 0.08, (protocol, ours, base)


# ---------------------------------------------------------------------------- small graph
@pytest.fixture(scope="module")
def small_split():
    return temporal_split(synthetic_graph(120, 200, 3000, seed=3))


def _train(model, split, seed=0, epochs=2):
    # the old loop's settings: constant lr, no weight decay, 4 negatives per positive
    config = TrainConfig(
        epochs=epochs,
        batch_size=512,
        lr=5e-3,
        weight_decay=0.0,
        lr_decay=1.0,
        num_negatives=4,
        progress=False,
        seed=seed,
    )
    return fit(model, split, config)


@pytest.mark.parametrize("cls", [GMF, MLP, NeuMF])
def test_score_all_matrix_form_matches_pairs(cls, small_split, monkeypatch):
    torch.manual_seed(0)
    model = cls(small_split.num_users, small_split.num_movies, embedding_dim=8)
    _train(model, small_split, epochs=1)
    users = torch.arange(small_split.num_users)
    with torch.no_grad():
        full = model.score_all(users)
        pairs = model.score(
            users.repeat_interleave(model.num_movies),
            torch.arange(model.num_movies).repeat(len(users)),
        )
        torch.testing.assert_close(full, pairs.view_as(full), rtol=1e-5, atol=1e-5)
        monkeypatch.setattr(ncf, "_SCORE_ALL_CHUNK", 3 * model.num_movies * 64)  # many chunks
        torch.testing.assert_close(model.score_all(users), full)


def test_same_seed_gives_identical_metrics(small_split):
    runs = []
    for _ in range(2):
        model = NeuMF(
            small_split.num_users, small_split.num_movies, embedding_dim=8, dropout=0.2, seed=7
        )
        h = _train(model, small_split, seed=7)
        runs.append(
            (
                [
                    {k: v for k, v in e.items() if "seconds" not in k and k != "elapsed"}
                    for e in h.epochs
                ],
                model.score_all(torch.arange(5)),
            )
        )
    assert runs[0][0] == runs[1][0]
    assert torch.equal(runs[0][1], runs[1][1])
    other = NeuMF(
        small_split.num_users, small_split.num_movies, embedding_dim=8, dropout=0.2, seed=8
    )
    h = _train(other, small_split, seed=8)
    assert h.epochs[0]["loss"] != runs[0][0][0]["loss"]


@pytest.mark.parametrize(
    "make",
    [
        lambda u, m: GMF(u, m, embedding_dim=4),
        lambda u, m: MLP(u, m, layers=[24, 12, 6], embedding_dim=10, dropout=0.1),
        lambda u, m: NeuMF(u, m, embedding_dim=6, layers=[16, 8], mlp_embedding_dim=5, dropout=0.3),
    ],
)
def test_checkpoint_reload_gives_identical_scores(make, small_split, tmp_path):
    torch.manual_seed(0)
    model = make(small_split.num_users, small_split.num_movies)
    _train(model, small_split, epochs=1)
    model.save(tmp_path / "m")
    again = Recommender.load(tmp_path / "m")
    assert type(again) is type(model) and again.hparams == model.hparams
    users = torch.arange(small_split.num_users)
    with torch.no_grad():
        assert torch.equal(again.score_all(users), model.score_all(users))
    assert torch.equal(
        again.recommend_indices(users, k=5)[0], model.recommend_indices(users, k=5)[0]
    )
    raw = small_split.ids.users  # raw ids 1..n: the id maps travel with the checkpoint
    assert again.ids == model.ids == small_split.ids
    assert torch.equal(again.recommend(raw, k=5)[0], model.recommend(raw, k=5)[0])


def test_neumf_pretraining_init_copies_gmf_and_mlp(small_split):
    torch.manual_seed(0)
    u, m = small_split.num_users, small_split.num_movies
    gmf, mlp = GMF(u, m, embedding_dim=8), MLP(u, m, embedding_dim=16, dropout=0.1)
    _train(gmf, small_split, epochs=1)
    _train(mlp, small_split, epochs=1)
    neu = NeuMF.from_pretrained(gmf, mlp, alpha=0.3)
    assert neu.hparams["embedding_dim"] == 8 and neu.hparams["layers"] == mlp.hparams["layers"]
    assert neu.hparams["mlp_embedding_dim"] == 16 and neu.ids == gmf.ids == small_split.ids
    assert torch.equal(neu.gmf_user.weight, gmf.user_emb.weight)
    assert torch.equal(neu.gmf_movie.weight, gmf.movie_emb.weight)
    assert torch.equal(neu.mlp_user.weight, mlp.user_emb.weight)
    assert torch.equal(neu.mlp_movie.weight, mlp.movie_emb.weight)
    for a, b in zip(neu.tower.parameters(), mlp.tower.parameters(), strict=True):
        assert torch.equal(a, b)
    assert torch.equal(neu.out.weight[:, :8], 0.3 * gmf.out.weight)
    assert torch.equal(neu.out.weight[:, 8:], 0.7 * mlp.out.weight)
    # so the initial NeuMF logit is the alpha-mix of the two pretrained logits
    users, movies = small_split.train
    for mod in (neu, gmf, mlp):
        mod.eval()
    with torch.no_grad():
        mix = 0.3 * gmf.score(users, movies) + 0.7 * mlp.score(users, movies)
        torch.testing.assert_close(neu.score(users, movies), mix, rtol=1e-5, atol=1e-6)
    # and it is a copy: training NeuMF leaves GMF untouched
    before = gmf.user_emb.weight.clone()
    _train(neu, small_split, epochs=1)
    assert torch.equal(gmf.user_emb.weight, before)
    with pytest.raises(ValueError, match="different graphs"):
        NeuMF.from_pretrained(gmf, MLP(u + 1, m, embedding_dim=16))


@pytest.mark.parametrize("cls", [GMF, MLP, NeuMF])
def test_unknown_user_names_id_and_range(cls):
    model = cls(10, 20, embedding_dim=4)
    with pytest.raises(UnknownUserError, match=r"user index 12 .*0\.\.9"):
        model.score(torch.tensor([1, 12]), torch.tensor([0, 0]))
    with pytest.raises(UnknownUserError, match=r"user index 10 .*0\.\.9"):
        model.recommend_indices([10], k=3, exclude_seen=False)
    with pytest.raises(RuntimeError, match="no raw-id maps"):  # never fitted on a split
        model.recommend([1], k=3, exclude_seen=False)


def test_constructor_defaults_one_name_per_knob():
    gmf, mlp, neu = GMF(10, 20), MLP(10, 20), NeuMF(10, 20)
    assert gmf.hparams["embedding_dim"] == 32 and gmf.user_emb.weight.shape == (10, 32)
    assert mlp.hparams["embedding_dim"] == 64 and mlp.hparams["layers"] == [128, 64, 32]
    assert neu.hparams["embedding_dim"] == 32 and neu.hparams["mlp_embedding_dim"] == 32
    assert neu.hparams["layers"] == [64, 32, 16]  # (2m, m, m/2) for m = mlp_embedding_dim
    assert NeuMF(10, 20, embedding_dim=8, mlp_embedding_dim=16).hparams["layers"] == [32, 16, 8]
    # every constructor seeds its initial weights: same seed, same weights
    assert torch.equal(GMF(10, 20, seed=3).user_emb.weight, GMF(10, 20, seed=3).user_emb.weight)
    assert not torch.equal(GMF(10, 20, seed=3).user_emb.weight, GMF(10, 20).user_emb.weight)


def test_train_config_fills_none_from_the_model_defaults():
    from graphrec.models.lightgcn import LightGCN

    neu = TrainConfig().resolve(NeuMF(10, 20))
    assert (neu.lr, neu.lr_decay, neu.weight_decay, neu.epochs) == (1e-2, 0.8, 3e-6, 20)
    assert (neu.eval_k, neu.eval_protocol, neu.eval_every) == (10, "sampled", 1)  # fallbacks
    gcn = TrainConfig().resolve(LightGCN(10, 20))
    assert (gcn.batch_size, gcn.num_negatives, gcn.patience) == (8192, 1, 20)
    gmf = TrainConfig().resolve(GMF(10, 20))
    assert (gmf.epochs, gmf.lr, gmf.lr_decay) == (30, 5e-3, 1.0)
    # a given field wins over the model's default; the others still come from the model
    mine = TrainConfig(lr=1e-3, batch_size=64, patience=0).resolve(NeuMF(10, 20))
    assert (mine.lr, mine.batch_size, mine.patience, mine.lr_decay) == (1e-3, 64, 0, 0.8)
    assert TrainConfig(lr=1e-3).lr == 1e-3 and TrainConfig().lr is None  # resolve copies


@pytest.mark.parametrize(
    "field,value",
    [
        ("epochs", 0),
        ("batch_size", 0),
        ("lr", 0.0),
        ("weight_decay", -1.0),
        ("lr_decay", 1.5),
        ("num_negatives", 0),
        ("patience", -1),
        ("eval_k", 0),
        ("eval_protocol", "half"),
        ("eval_every", 0),
    ],
)
def test_train_config_out_of_range_names_the_field(field, value):
    with pytest.raises(ValueError, match=rf"TrainConfig\.{field}="):
        TrainConfig(**{field: value}).resolve(GMF(10, 20))


def test_fit_records_the_resolved_config_and_overrides_win(small_split):
    model = NeuMF(small_split.num_users, small_split.num_movies, embedding_dim=4)
    out = model.fit(small_split, TrainConfig(epochs=3, batch_size=1024, progress=False), epochs=1)
    assert out is model and len(model.history.epochs) == 1
    cfg = model.history.config
    assert (cfg["epochs"], cfg["batch_size"], cfg["lr"], cfg["lr_decay"]) == (1, 1024, 1e-2, 0.8)
    assert model.history.objective == "bce" and TrainConfig.from_dict(cfg).epochs == 1
    with pytest.raises(ValueError, match="unknown training setting"):
        TrainConfig.from_dict({**cfg, "factors": 8})


def test_bad_hyperparameters_are_clear_errors():
    with pytest.raises(ValueError, match="dropout"):
        MLP(10, 20, dropout=1.0)
    with pytest.raises(ValueError, match="layers"):
        NeuMF(10, 20, layers=[8, 0])
    with pytest.raises(ValueError, match="embedding_dim"):
        GMF(10, 20, embedding_dim=0)
    with pytest.raises(ValueError, match="embedding_dim"):
        NeuMF(10, 20, embedding_dim=0)


# ---------------------------------------------------------------------------- CLI tasks
@pytest.fixture
def cli(monkeypatch, small_split):
    """``experiments/run.py`` main with the data loader replaced by a small synthetic graph."""
    import graphrec.cli.ncf as task
    from graphrec.cli.main import main

    monkeypatch.setattr(task, "load_graph", lambda args: synthetic_graph(120, 200, 3000, seed=3))
    return main


def test_cli_gmf_writes_a_complete_run_folder(cli, tmp_path, small_split, capsys):
    out = tmp_path / "run"
    rc = cli(
        [
            *"--task gmf --epochs 2 --embedding-dim 8 --batch-size 512 --quiet --out".split(),
            str(out),
        ]
    )
    assert rc == 0
    for name in ("config.json", "metrics.json", "history.csv", "curves.png", "model/weights.pt"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"task", "dataset", "model", "seed", "valid", "test", "timing"} <= set(metrics)
    assert set(metrics["valid"]) == set(metrics["test"]) == {"sampled", "full"}
    assert metrics["model"] == "GMF" and metrics["test"]["sampled"]["protocol"] == "sampled"
    assert len(metrics["timing"]["epoch_seconds"]) == 2
    config = json.loads((out / "config.json").read_text())
    assert config["config"]["embedding_dim"] == 8 and "torch" in config["versions"]
    model = Recommender.load(out / "model")
    from graphrec.evaluate import evaluate

    again = evaluate(model, small_split, "test", "sampled", seed=0)
    assert again["hr@10"] == metrics["test"]["sampled"]["hr@10"]
    assert again["ndcg@10"] == metrics["test"]["sampled"]["ndcg@10"]
    assert model.ids == small_split.ids  # the checkpoint answers in raw ids
    printed = capsys.readouterr().out
    assert f"wrote {out}/: config.json, curves.png, history.csv, metrics.json" in printed
    # the resolved settings are recorded, so --config replays the run exactly
    assert config["config"]["lr"] == 5e-3 and config["config"]["num_negatives"] == 4
    replay = tmp_path / "replay"
    assert cli(["--config", str(out / "config.json"), "--quiet", "--out", str(replay)]) == 0
    replayed = json.loads((replay / "metrics.json").read_text())
    for p in ("sampled", "full"):
        for key in ("hr@10", "ndcg@10", "mrr"):
            assert replayed["test"][p][key] == metrics["test"][p][key], (p, key)
    assert replayed["hparams"] == metrics["hparams"]
    assert replayed["training"]["config"] == metrics["training"]["config"]


def test_cli_neumf_pretrain_and_sweep(cli, tmp_path):
    out = tmp_path / "neumf"
    args = "--task neumf --pretrain --epochs 1 --embedding-dim 4 --batch-size 1024 --quiet --out"
    rc = cli([*args.split(), str(out)])
    assert rc == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["model"] == "NeuMF" and {"gmf", "mlp"} <= set(metrics["pretrain"])
    assert (out / "history_gmf.csv").is_file() and (out / "curves_mlp.png").is_file()
    assert metrics["timing"]["train_seconds"] > metrics["timing"]["fit_seconds"]

    sweep = tmp_path / "sweep"
    args = "--task sweep --sweep-model gmf --sweep-factors 4 8 --epochs 2 --batch-size 1024 --quiet"
    rc = cli([*args.split(), "--out", str(sweep)])
    assert rc == 0
    for name in (
        "sweep.png",
        "sweep.csv",
        "sweep.md",
        "factors-4/metrics.json",
        "factors-8/model/model.json",
    ):
        assert (sweep / name).is_file(), name
    summary = json.loads((sweep / "metrics.json").read_text())
    assert [r["factors"] for r in summary["table"]] == [4, 8]
    assert "8 > 4" in (sweep / "sweep.md").read_text()


@pytest.mark.realdata
def test_cli_gmf_one_epoch_on_ml100k(tmp_path):
    """One real epoch through the unpatched CLI (ml-100k from the cache or the registry)."""
    from graphrec.cli.main import main

    rc = main(["--task", "gmf", "--epochs", "1", "--out", str(tmp_path / "r"), "--quiet"])
    assert rc == 0
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metrics["dataset"] == "ml-100k" and metrics["valid"]["sampled"]["users"] == 943
    # a floor far above random (0.10 at 1 + 99) for one epoch, not a quality claim: ItemPop
    # scores ~.41 here and one epoch of GMF less; test_gmf_beats_itempop_where_tastes_differ
    # checks that GMF learns what popularity cannot
    assert metrics["test"]["sampled"]["hr@10"] > 0.3


def test_a_checkpoint_of_an_earlier_version_is_a_clear_error(tmp_path):
    # before the redesign GMF's size was called "factors"; such a model.json cannot rebuild
    folder = GMF(10, 20, embedding_dim=4).save(tmp_path / "m")
    spec = json.loads((folder / "model.json").read_text())
    spec["hparams"]["factors"] = spec["hparams"].pop("embedding_dim")
    (folder / "model.json").write_text(json.dumps(spec))
    with pytest.raises(ValueError, match="earlier version: retrain it"):
        Recommender.load(folder)
