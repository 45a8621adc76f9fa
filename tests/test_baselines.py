"""EASE and ItemKNN: the shared contract, their closed forms by hand, fold-in, refusals."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

from graphrec.data import temporal_split
from graphrec.models import EASE, ItemKNN
from graphrec.models.neighbourhood import TooManyMoviesError

from contract import ContractTests, shifted_checkerboard

pytestmark = pytest.mark.usefixtures("one_thread")


class TestEASEContract(ContractTests):
    def make_model(self, split):
        return EASE(split.num_users, split.num_movies).fit(split)  # l2 400


class TestItemKNNContract(ContractTests):
    def make_model(self, split):
        return ItemKNN(split.num_users, split.num_movies, neighbours=10).fit(split)


# a toy train matrix: 4 users x 3 movies
X = np.array([[1, 1, 0], [0, 1, 1], [1, 1, 1], [1, 0, 0]], dtype=float)


def toy_model(klass, **kwargs):
    users, movies = X.nonzero()
    model = klass(X.shape[0], X.shape[1], **kwargs)
    model.seen_ptr = torch.tensor([0, *np.cumsum(X.sum(1)).astype(int).tolist()])
    model.seen_movies = torch.tensor(movies)
    model.weights = model.item_matrix(torch.tensor(X)).float()
    return model


def test_ease_on_a_toy_matrix_is_the_papers_formula():
    lam = 0.5
    p = np.linalg.inv(X.T @ X + lam * np.eye(3))
    b = np.eye(3) - p / np.diag(p)  # B = I - P diagMat(1 / diag(P))
    assert np.allclose(np.diag(b), 0)
    model = toy_model(EASE, l2=lam)
    np.testing.assert_allclose(model.weights.numpy(), b, rtol=1e-5, atol=1e-6)
    # X^T X = [[3,2,1],[2,3,2],[1,2,2]] + 0.5 I: B[0, 1] = -P[0, 1] / P[1, 1] by hand
    np.testing.assert_allclose(float(model.weights[0, 1]), -p[0, 1] / p[1, 1], rtol=1e-5)
    scores = model.score_all(torch.arange(4))
    np.testing.assert_allclose(scores.numpy(), X @ b, rtol=1e-5, atol=1e-6)


def test_itemknn_cosine_by_hand():
    # columns: movie 0 = (1,0,1,1), movie 1 = (1,1,1,0), movie 2 = (0,1,1,0)
    # cos(0,1) = 2/(sqrt3 sqrt3) = 2/3, cos(0,2) = 1/(sqrt3 sqrt2), cos(1,2) = 2/(sqrt3 sqrt2)
    c01, c02, c12 = 2 / 3, 1 / np.sqrt(6), 2 / np.sqrt(6)
    full = np.array([[0, c01, c02], [c01, 0, c12], [c02, c12, 0]])
    model = toy_model(ItemKNN, neighbours=None)
    np.testing.assert_allclose(model.weights.numpy(), full, rtol=1e-5)
    # one neighbour each: 0 keeps 1, 1 keeps 2, 2 keeps 1
    top1 = np.array([[0, c01, 0], [0, 0, c12], [0, c12, 0]])
    np.testing.assert_allclose(toy_model(ItemKNN, neighbours=1).weights.numpy(), top1, rtol=1e-5)
    # shrink 1: cos(0,1) = 2 / (3 + 1)
    assert float(toy_model(ItemKNN, neighbours=None, shrink=1.0).weights[0, 1]) == pytest.approx(
        0.5
    )
    # user 3 rated movie 0 alone: its scores are row 0 of S
    np.testing.assert_allclose(model.score_all(torch.tensor([3]))[0].numpy(), full[0], rtol=1e-5)


@pytest.mark.parametrize("klass", [EASE, ItemKNN])
def test_fold_in_is_the_multi_hot_row_and_ignores_dislikes(klass):
    split = temporal_split(shifted_checkerboard())
    model = klass(split.num_users, split.num_movies).fit(split)
    users = torch.arange(split.num_users)
    profiles = [split.train_movies[split.train_ptr[u] : split.train_ptr[u + 1]] for u in users]
    torch.testing.assert_close(model.fold_in(profiles), model.user_vectors(users))
    # dislikes are not in the vector: they are only kept out of the list
    liked, disliked = profiles[0][:3], profiles[0][3:4]
    vec = model.fold_in(liked, disliked=disliked)
    torch.testing.assert_close(vec, model.fold_in(liked))
    top, _ = model.recommend_vectors(vec, k=5, exclude=[[*liked.tolist(), *disliked.tolist()]])
    assert int(disliked) not in top[0].tolist()


@pytest.mark.parametrize("klass", [EASE, ItemKNN])
def test_a_catalogue_too_large_for_a_dense_matrix_is_refused(klass):
    with pytest.raises(TooManyMoviesError, match=r"dense 30001 x 30001.*factorisation model"):
        klass(10, 30_001)


def test_bad_hyperparameters_are_refused():
    with pytest.raises(ValueError, match="l2 must be positive"):
        EASE(3, 3, l2=0.0)
    with pytest.raises(ValueError, match="neighbours must be at least 1"):
        ItemKNN(3, 3, neighbours=0)


needs_implicit = pytest.mark.skipif(
    importlib.util.find_spec("implicit") is None, reason="the peers need pip install implicit"
)


@needs_implicit
class TestImplicitALSContract(ContractTests):
    def make_model(self, split):
        from graphrec.models import ImplicitALS

        return ImplicitALS(split.num_users, split.num_movies, factors=8).fit(split)


@needs_implicit
class TestImplicitBPRContract(ContractTests):
    def make_model(self, split):
        from graphrec.models import ImplicitBPR

        return ImplicitBPR(split.num_users, split.num_movies, factors=8, learning_rate=0.05).fit(
            split
        )


@needs_implicit
def test_als_fold_in_is_implicits_recalculate_user():
    """The closed-form ALS user step on a profile is what implicit's recalculate_user gives."""
    from implicit.cpu.als import AlternatingLeastSquares

    from graphrec.models import ImplicitALS
    from graphrec.models.peers import train_csr

    split = temporal_split(shifted_checkerboard())
    model = ImplicitALS(split.num_users, split.num_movies, factors=8).fit(split)
    est = AlternatingLeastSquares(
        factors=8, regularization=model.regularization, alpha=1.0, use_cg=False
    )
    est.user_factors = model.user_factors.numpy()
    est.item_factors = model.item_factors.numpy()
    rows = train_csr(split)[:3]
    want = est.recalculate_user(np.arange(3), rows)
    profiles = [torch.tensor(rows[i].indices) for i in range(3)]
    np.testing.assert_allclose(model.fold_in(profiles).numpy(), want, rtol=1e-3, atol=1e-4)


def test_without_implicit_the_error_names_the_install(monkeypatch):
    import sys

    from graphrec.models import ImplicitALS

    monkeypatch.setitem(sys.modules, "implicit", None)
    split = temporal_split(shifted_checkerboard())
    with pytest.raises(ImportError, match="pip install implicit"):
        ImplicitALS(split.num_users, split.num_movies).fit(split)


@needs_implicit
@pytest.mark.parametrize("name", ["ImplicitALS", "ImplicitBPR"])
def test_implicit_peers_give_the_same_factors_for_the_same_seed(name):
    import graphrec.models as models

    split = temporal_split(shifted_checkerboard())
    klass = getattr(models, name)
    a, b = (klass(split.num_users, split.num_movies, factors=8, seed=3).fit(split) for _ in "ab")
    assert torch.equal(a.user_factors, b.user_factors)
    assert torch.equal(a.item_factors, b.item_factors)
