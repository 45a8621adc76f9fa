"""The one fit loop: early stopping and divergence, on models whose answer is known."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from graphrec.data import temporal_split
from graphrec.data.synthetic import checkerboard_graph
from graphrec.models.base import Recommender
from graphrec.models.ncf import GMF
from graphrec.train import TrainConfig, TrainingDivergedError, fit

pytestmark = pytest.mark.usefixtures("one_thread")


class _SameScoreForAll(Recommender):
    """Scores every movie alike (one learned bias): its ranking, so its valid NDCG, can never
    change, whatever training does to the bias."""

    def __init__(self, num_users: int, num_movies: int, seed: int | None = None) -> None:
        super().__init__(num_users, num_movies, seed)
        self.bias = nn.Parameter(torch.zeros(1))

    def score(self, users, movies):
        return self.bias.expand(users.numel())


@pytest.fixture(scope="module")
def split():
    return temporal_split(checkerboard_graph())


def _config(**changes):
    base = dict(epochs=6, batch_size=64, lr=0.05, eval_k=2, eval_protocol="full", progress=False)
    return TrainConfig(**{**base, **changes})


@pytest.mark.parametrize("patience, epochs_run", [(1, 2), (3, 4), (0, 6)])
def test_early_stopping_fires_after_patience_validations(split, patience, epochs_run):
    model = _SameScoreForAll(split.num_users, split.num_movies)
    hist = fit(model, split, _config(patience=patience))
    scores = {e["valid_ndcg@2"] for e in hist.epochs}
    assert len(scores) == 1  # the valid score never moved
    assert len(hist.epochs) == epochs_run and hist.best_epoch == 1
    assert hist.stopped_early is (patience > 0)


def test_a_diverging_learning_rate_raises_naming_the_epoch(split):
    model = GMF(split.num_users, split.num_movies, embedding_dim=4, seed=0)
    with pytest.raises(TrainingDivergedError) as exc:
        fit(model, split, _config(lr=1e30, patience=0))
    assert exc.value.epoch == 1 and isinstance(exc.value, FloatingPointError)
    assert str(exc.value) == (
        "training GMF diverged in epoch 1: the loss became nan at learning rate 1e+30; train "
        "with a lower --lr (TrainConfig.lr), e.g. a tenth of it"
    )


def test_a_seed_torch_cannot_take_is_a_clear_error():
    with pytest.raises(ValueError, match=r"TrainConfig.seed=18446744073709551616 is out of range"):
        TrainConfig(seed=2**64).check()
