import torch

from graphrec.models import ItemPop

from contract import ContractTests


class TestItemPopContract(ContractTests):
    def make_model(self, split):
        return ItemPop(split.num_users, split.num_movies).fit(split)

    def test_known_answer(self, model, split):
        # not personalised: every user gets the unseen movies in order of train popularity
        pop = torch.bincount(split.train[1], minlength=split.num_movies).float()
        ids, scores = model.recommend_indices(
            torch.arange(split.num_users), k=3, exclude_seen=False
        )
        assert torch.equal(scores[0], torch.sort(pop, descending=True).values[:3])
        assert (ids == ids[0]).all()


def test_pop_counts_hand_example():
    from graphrec.data import temporal_split
    from graphrec.data.synthetic import synthetic_graph

    split = temporal_split(synthetic_graph(50, 30, 400, seed=1))
    model = ItemPop(split.num_users, split.num_movies).fit(split)
    counts = torch.zeros(split.num_movies)
    for m in split.train[1].tolist():
        counts[m] += 1
    assert torch.equal(model.popularity, counts)


def test_evaluate_refuses_a_k_that_every_model_hits():
    """k >= the sampled protocol's 100 candidates makes HR@k 1 for any model: refused, naming
    the fix; k = 99 and full ranking at k = 100 still evaluate."""
    import pytest

    from graphrec.data import temporal_split
    from graphrec.data.synthetic import synthetic_graph
    from graphrec.evaluate import evaluate

    split = temporal_split(synthetic_graph(60, 300, 3000, seed=0))
    model = ItemPop(split.num_users, split.num_movies).fit(split)
    with pytest.raises(ValueError, match="not below the sampled protocol's 100 candidates"):
        evaluate(model, split, "test", "sampled", k=100)
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        evaluate(model, split, "test", "full", k=0)
    assert "hr@99" in evaluate(model, split, "test", "sampled", k=99)
    assert 0.0 < evaluate(model, split, "test", "full", k=100)["hr@100"] < 1.0
