import pytest
import torch

from graphrec.data import temporal_split
from graphrec.data.synthetic import checkerboard_graph
from graphrec.models.bpr import BPRMF

from contract import ContractTests, fit_checkerboard

pytestmark = pytest.mark.usefixtures("one_thread")


class TestBPRMFContract(ContractTests):
    def make_model(self, split):
        model = BPRMF(split.num_users, split.num_movies, embedding_dim=16)
        fit_checkerboard(model, split)
        return model


def test_score_all_is_the_dot_product():
    torch.manual_seed(0)
    model = BPRMF(5, 7, embedding_dim=3)
    with torch.no_grad():
        expected = model.user_emb.weight[[1, 4]] @ model.movie_emb.weight.T
        torch.testing.assert_close(model.score_all(torch.tensor([1, 4])), expected)


def test_bpr_loss_decreases():
    split = temporal_split(checkerboard_graph(4, 8))
    assert BPRMF.fit_objective == "bpr"
    hist = fit_checkerboard(BPRMF(split.num_users, split.num_movies, 8), split, epochs=8).history
    losses = [e["loss"] for e in hist.epochs]
    assert losses[-1] < losses[0] - 0.05
