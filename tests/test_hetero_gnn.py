import pytest
import torch

from graphrec.data import temporal_split
from graphrec.models.base import Recommender
from graphrec.models.hetero_gnn import HeteroGNN

from contract import ContractTests, fit_checkerboard, shifted_checkerboard

pytestmark = pytest.mark.usefixtures("one_thread")


class TestHeteroGNNContract(ContractTests):
    #: the default BPR fold-in over a final vector gets 30/32 users' exact top 2 (seed 0)
    fold_in_min = 0.9

    def make_model(self, split):
        data = shifted_checkerboard(self.num_blocks, self.block_size)
        model = HeteroGNN.from_split(split, data, embedding_dim=16)
        return fit_checkerboard(model, split, epochs=40, lr=0.02)

    def test_graph_is_the_train_edges(self, model, split):
        assert torch.equal(model.graph_edges, split.train)

    def test_save_load_roundtrip_scores_the_same(self, model, split, tmp_path):
        again = Recommender.load(model.save(tmp_path / "m"))
        assert isinstance(again, HeteroGNN)
        assert torch.equal(again.graph_edges, model.graph_edges)
        assert torch.equal(again.movie_x, model.movie_x)
        users = torch.arange(split.num_users)
        model.eval()
        with torch.no_grad():
            torch.testing.assert_close(again.score_all(users), model.score_all(users))


def test_needs_the_graph_for_its_features():
    split = temporal_split(shifted_checkerboard())
    with pytest.raises(ValueError, match="data="):
        HeteroGNN.from_split(split)


def test_a_cold_movie_is_ranked_by_its_features():
    """Movie features are the one-hot block of the movie; movie 0 of block 0 loses every train
    edge. Block 0's users must rank it above every movie of the other blocks."""
    blocks, size = 4, 8
    data = shifted_checkerboard(blocks, size)
    n = blocks * size
    data["movie"].x = torch.nn.functional.one_hot(torch.arange(n) // size, blocks).float()
    cold = 0
    for rel in (("user", "rates", "movie"), ("movie", "rated_by", "user")):
        store = data[rel]
        keep = store.edge_index[1 if rel[0] == "user" else 0] != cold
        for attr in ("edge_index", "rating", "time"):
            value = store[attr]
            store[attr] = value[:, keep] if attr == "edge_index" else value[keep]
    split = temporal_split(data)
    model = HeteroGNN.from_split(split, data, embedding_dim=16, cold_dropout=0.3)
    fit_checkerboard(model, split, epochs=150, lr=0.02)
    assert not bool(model.known_movies()[cold])
    model.eval()
    with torch.no_grad():
        scores = model.score_all(torch.arange(size))  # block 0's users
    others = scores[:, size:]
    assert (scores[:, cold] > others.max(1).values).all()
