import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from graphrec.data import temporal_split
from graphrec.data.graph import build_graph
from graphrec.data.movielens import Tables
from graphrec.data.synthetic import synthetic_graph
from graphrec.models.base import Recommender
from graphrec.models.feature_mlp import FeatureMLP, IdEmbedding
from graphrec.train import TrainConfig

from contract import ContractTests, fit_checkerboard

ROOT = Path(__file__).resolve().parents[1]


def run_cli(argv):
    """The command line's ``main`` (``graphrec.cli.main``)."""
    from graphrec.cli.main import main

    return main(argv)


class TestFeatureMLPContract(ContractTests):
    """Ranking objective with id embeddings: must learn the checkerboard from the ids."""

    def make_model(self, split):
        from graphrec.data.synthetic import checkerboard_graph

        data = checkerboard_graph(self.num_blocks, self.block_size)
        model = FeatureMLP.from_graph(
            data, objective="ranking", embedding_dim=16, layers=(32, 16), dropout=0.0
        )
        assert model.fit_objective == "bce"  # the ranking objective trains with BCE
        return fit_checkerboard(model, split, epochs=20, batch_size=128, lr=0.02)

    def test_features_are_buffers_and_survive_save_load(self, model, tmp_path):
        names = dict(model.named_buffers())
        assert "user_x" in names and "movie_x" in names
        assert model.feature_names[0] == "age" and model.feature_names[-1] == "year"
        model.save(tmp_path / "m")
        again = Recommender.load(tmp_path / "m")
        assert torch.equal(again.user_x, model.user_x)
        assert torch.equal(again.movie_x, model.movie_x)
        assert again.feature_names == model.feature_names
        assert json.loads((tmp_path / "m" / "model.json").read_text())["hparams"]["use_ids"]

    def test_forward_is_a_function_of_the_concatenated_features(self, model):
        users, movies = torch.tensor([0, 5]), torch.tensor([3, 9])
        x = model.features(users, movies)
        assert x.shape == (2, model.num_user_features + model.num_movie_features)
        with torch.no_grad():
            torch.testing.assert_close(model(x, users, movies), model.score(users, movies))
        x = x.clone().requires_grad_()
        model(x, users, movies).sum().backward()
        assert x.grad is not None and x.grad.abs().sum() > 0


def _rating_graph(num_users=150, num_movies=60, per_user=20, seed=0):
    """Ratings driven by attributes only: old users and Dramas rate high."""
    rng = np.random.default_rng(seed)
    ages = rng.integers(15, 70, num_users)
    drama = rng.random(num_movies) < 0.5
    rows = []
    for u in range(num_users):
        for t, m in enumerate(rng.choice(num_movies, per_user, replace=False)):
            r = 1 + 2 * (ages[u] - 15) / 55 + 2 * drama[m] + rng.normal(0, 0.2)
            rows.append((u + 1, m + 1, float(np.clip(np.round(r), 1, 5)), 1000 + t))
    ratings = pd.DataFrame(rows, columns=["user_id", "movie_id", "rating", "timestamp"])
    users = pd.DataFrame(
        {
            "user_id": np.arange(1, num_users + 1),
            "age": ages,
            "gender": rng.choice(["F", "M"], num_users),
            "occupation": rng.choice(["a", "b", "c"], num_users),
            "zip": rng.integers(0, 10, num_users).astype(str),
        }
    )
    movies = pd.DataFrame(
        {
            "movie_id": np.arange(1, num_movies + 1),
            "title": [f"M{i} (1990)" for i in range(num_movies)],
            "genres": np.where(drama, "Drama", "Comedy"),
            "year": 1990.0 + np.arange(num_movies) % 10,
        }
    )
    return build_graph(Tables("rating-toy", ratings, movies, users, source="test"))


def test_rating_objective_learns_attributes_and_generalises():
    data = _rating_graph()
    split = temporal_split(data)
    torch.manual_seed(0)
    model = FeatureMLP.from_graph(data, use_ids=False, layers=(16,), dropout=0.0)
    assert model.fit_objective == "rating"
    config = TrainConfig(epochs=20, batch_size=256, lr=1e-2, patience=5, eval_k=5)
    hist = model.fit(split, config, eval_protocol="full", progress=False).history
    assert hist.objective == "rating" and "RMSE" in hist.selection
    test = model.rating_metrics(split, "test")
    mean = float(split.train_rating.mean())
    baseline = math.sqrt(float(((split.test_rating - mean) ** 2).mean()))
    assert test["rmse"] < 0.5 * baseline, (test, baseline)
    assert test["mae"] <= test["rmse"] and test["ratings"] == split.test.size(1)
    rec = hist.epochs[-1]
    assert {"loss", "valid_rmse", "valid_mae", "valid_hr@5", "valid_ndcg@5"} <= set(rec)
    assert -hist.best_score == min(e["valid_rmse"] for e in hist.epochs)
    # an attribute-only model scores a brand-new user from attributes alone
    x = torch.cat([data["user"].x[:1], data["movie"].x[:1]], dim=1)
    with torch.no_grad():
        assert torch.isfinite(model(x)).all()


def test_training_defaults_follow_the_objective():
    data = synthetic_graph(30, 50, 400, seed=3)
    rating = TrainConfig().resolve(FeatureMLP.from_graph(data))
    assert (rating.batch_size, rating.lr, rating.patience, rating.epochs) == (2048, 3e-3, 3, 30)
    ranking = TrainConfig().resolve(FeatureMLP.from_graph(data, objective="ranking"))
    assert (ranking.batch_size, ranking.lr, ranking.patience) == (4096, 5e-3, 5)
    assert ranking.num_negatives == 4
    with pytest.raises(ValueError, match="pass the graph"):
        FeatureMLP.from_split(temporal_split(data))


def test_score_all_matches_score_without_ids_and_in_chunks(monkeypatch):
    import graphrec.models.feature_mlp as fm

    data = synthetic_graph(30, 50, 400, seed=3)
    torch.manual_seed(0)
    model = FeatureMLP.from_graph(data, use_ids=False).eval()
    users = torch.arange(30)
    monkeypatch.setattr(fm, "_SCORE_ALL_CHUNK", 50 * 64 * 4)  # 4 users per chunk
    with torch.no_grad():
        full = model.score_all(users)
        pairs = model.score(users.repeat_interleave(50), torch.arange(50).repeat(30))
    torch.testing.assert_close(full, pairs.view(30, 50), rtol=1e-5, atol=1e-5)


def test_id_embedding_minus_one_is_zero():
    emb = IdEmbedding(5, 3)
    out = emb(torch.tensor([2, -1, 0]))
    assert torch.equal(out[1], torch.zeros(3))
    assert torch.equal(out[0], emb.weight[2])


def test_constructor_errors():
    x = torch.zeros(4, 2)
    with pytest.raises(ValueError, match="objective"):
        FeatureMLP(4, 3, x, torch.zeros(3, 1), objective="clicks")
    with pytest.raises(ValueError, match=r"user_x must be \[num_users=5"):
        FeatureMLP(5, 3, x, torch.zeros(3, 1))
    with pytest.raises(ValueError, match="names"):
        FeatureMLP(4, 3, x, torch.zeros(3, 1), user_feature_names=["a"])
    with pytest.raises(ValueError, match="no input"):
        FeatureMLP(4, 3, use_ids=False)
    model = FeatureMLP(4, 3, x, torch.zeros(3, 1), objective="ranking")
    with pytest.raises(ValueError, match="objective='rating'"):
        model.rating_metrics(None)
    with pytest.raises(ValueError, match="pass users and movies"):
        model(torch.zeros(1, 3))


def test_features_task_writes_the_run_folder(tmp_path, monkeypatch):
    import graphrec.cli.features as task

    data = synthetic_graph(40, 300, 1200, seed=1)
    monkeypatch.setattr(task, "load_graph", lambda args: data)
    out = tmp_path / "run"
    rc = run_cli(["--task", "features", "--epochs", "2", "--quiet", "--out", str(out)])
    assert rc == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"] == "features" and metrics["model"] == "FeatureMLP"
    for stage in ("valid", "test"):
        assert set(metrics[stage]) == {"sampled", "full"}
        assert metrics[stage]["full"]["users"] == 40
    assert {"rmse", "mae", "ratings", "valid", "baseline_train_mean"} <= set(metrics["rating"])
    assert (out / "history.csv").is_file() and (out / "model" / "weights.pt").is_file()
    assert isinstance(Recommender.load(out / "model"), FeatureMLP)
