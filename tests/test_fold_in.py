"""Fold-in beyond the shared contract test: disliked movies, refusals, the feature MLP's
attributes, item2vec's closed form and scoring folded-in users under both protocols."""

from __future__ import annotations

import pytest
import torch

from graphrec.data import UnknownMovieError, temporal_split
from graphrec.evaluate import evaluate
from graphrec.foldin import FoldedUsers, fold_in_users, train_profiles
from graphrec.models import BPRMF, FeatureMLP, Item2Vec
from graphrec.models.base import FoldInError, fold_in_models
from graphrec.presets import MODELS

from contract import fit_checkerboard, shifted_checkerboard

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def graph():
    return shifted_checkerboard()


@pytest.fixture(scope="module")
def split(graph):
    return temporal_split(graph)


@pytest.fixture(scope="module")
def bpr(split):
    torch.manual_seed(0)
    return fit_checkerboard(BPRMF(split.num_users, split.num_movies, embedding_dim=16), split)


def test_every_benchmark_model_folds_in():
    assert set(fold_in_models()) >= {cls for cls, _ in MODELS.values()}


def test_a_disliked_movie_is_pushed_down_and_never_recommended(bpr, split):
    profile = train_profiles(split, torch.tensor([0]))[0]
    held = sorted({int(split.valid[1, 0]), int(split.test[1, 0])})
    top, _ = bpr.recommend_vectors(bpr.fold_in(profile), k=2, exclude=[profile])
    assert sorted(top[0].tolist()) == held
    # disliking one of the two: it leaves the list and scores below the other
    vec = bpr.fold_in(profile, disliked=[held[0]])
    top, _ = bpr.recommend_vectors(vec, k=3, exclude=[[*profile.tolist(), held[0]]])
    assert held[0] not in top[0].tolist() and held[1] in top[0].tolist()
    with torch.no_grad():
        scores = bpr.score_user_vectors(vec)[0]
    assert scores[held[0]] < scores[held[1]]


def test_bad_profiles_are_refused(bpr):
    with pytest.raises(FoldInError, match="likes no movie"):
        bpr.fold_in([])
    with pytest.raises(FoldInError, match="both likes and dislikes movie index 3"):
        bpr.fold_in([1, 2, 3], disliked=[3])
    with pytest.raises(UnknownMovieError, match="movie index 999 is out of range"):
        bpr.fold_in([1, 999])


def test_folded_users_with_the_trained_vectors_score_as_the_model(bpr, split):
    users = split.held_out("test")[0]
    same = FoldedUsers(bpr, users, bpr.user_vectors(users))
    for protocol in ("sampled", "full"):
        # (24 unrated movies per user: 20 sampled negatives)
        got, want = (evaluate(m, split, "test", protocol, 2, 20) for m in (same, bpr))
        assert all(got[key] == want[key] for key in ("hr@2", "ndcg@2", "mrr", "users"))
    folded = FoldedUsers(bpr, users, fold_in_users(bpr, split, users, batch_size=7))
    assert evaluate(folded, split, "test", "full", k=2)["hr@2"] == 1.0  # the known answer


def test_item2vec_folds_in_its_own_profile_exactly(split):
    emb = torch.randn(split.num_movies, 8, generator=torch.Generator().manual_seed(0))
    model = Item2Vec.from_embeddings(emb, split)
    users = torch.arange(split.num_users)
    folded = model.fold_in(train_profiles(split, users))
    torch.testing.assert_close(folded, model.user_vectors(users))


def test_feature_mlp_folds_in_from_attributes_and_liked_movies(graph, split):
    torch.manual_seed(0)
    model = FeatureMLP.from_graph(
        graph, objective="ranking", embedding_dim=8, layers=(16,), dropout=0.0
    )
    fit_checkerboard(model, split, epochs=5)
    # attributes alone: the known user's row with the model's "no id" (id -1)
    u = 3
    vec = model.fold_in([], user_features=model.user_x[u])
    movies = torch.arange(split.num_movies)
    with torch.no_grad():
        want = model(
            model.features(torch.full_like(movies, u), movies), torch.full_like(movies, -1), movies
        )
        torch.testing.assert_close(model.score_user_vectors(vec)[0], want, rtol=1e-4, atol=1e-5)
    # the attribute row from values; what is not given is the average user's
    row, used = model.user_features({"gender": "f", "occupation": "Writer"})
    names = model.hparams["user_feature_names"]
    assert row[names.index("gender=F")] == 1 and row[names.index("gender=M")] == 0
    assert row[names.index("occupation=writer")] == 1
    assert used["gender"] == "F" and used["age"] == "average"
    assert row[names.index("age")] == pytest.approx(float(model.user_x[:, 0].mean()))
    with pytest.raises(FoldInError, match="occupation 'pilot' is not one of this data set's"):
        model.user_features({"occupation": "pilot"})
    with pytest.raises(FoldInError, match="no user attribute 'income'"):
        model.user_features({"income": 3})
    # liked movies move only the id embedding, never the attributes
    liked = model.fold_in(train_profiles(split, torch.tensor([u]))[0], user_features=row)
    assert torch.equal(liked[0, : model.num_user_features], row)
    assert liked[0, model.num_user_features :].abs().sum() > 0
