"""The shared contract test every model's tests subclass (after implicit's test mixin).

Subclass :class:`ContractTests` and define ``make_model(self, split)`` returning a fitted
model (trained with ``model.fit(split, ...)``, e.g. by :func:`fit_checkerboard`). The graph is
a checkerboard (:func:`graphrec.data.synthetic.checkerboard_graph`): each user's two held-out
movies are the only unseen movies of its own block, so a personalised model must put exactly
those two first. Its raw ids are shifted away from the node indices (user ``i`` is raw id
``1000 + i``, movie ``j`` raw id ``5000 + j``), so a model that confused the two would fail.
Non-personalised models override ``test_known_answer``.
"""

from __future__ import annotations

import pytest
import torch

from graphrec.data import UnknownUserError, temporal_split
from graphrec.data.synthetic import checkerboard_graph
from graphrec.evaluate import evaluate
from graphrec.train import TrainConfig

USER_OFFSET, MOVIE_OFFSET = 1000, 5000


def shifted_checkerboard(num_blocks: int = 4, block_size: int = 8):
    """The checkerboard graph with raw user id = index + 1000, raw movie id = index + 5000."""
    data = checkerboard_graph(num_blocks, block_size)
    data["user"].raw_id = torch.arange(data["user"].num_nodes) + USER_OFFSET
    data["movie"].raw_id = torch.arange(data["movie"].num_nodes) + MOVIE_OFFSET
    return data


def fit_checkerboard(model, split, epochs=40, batch_size=64, lr=0.05, **overrides):
    """``model.fit(split, ...)`` on the checkerboard, validated under ``full`` at K = 2, never
    stopping early; returns the model (its history in ``model.history``). The other settings
    are pinned (4 negatives per positive, no weight decay, constant lr) so that the result does
    not move with a model's training defaults."""
    config = TrainConfig(
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        weight_decay=0.0,
        lr_decay=1.0,
        num_negatives=4,
        patience=0,
        eval_k=2,
        eval_protocol="full",
        progress=False,
    )
    out = model.fit(split, config, **overrides)
    assert out is model, "fit returns the model"
    hist = model.history
    assert hist is not None and len(hist.epochs) == hist.config["epochs"] == epochs
    return model


class ContractTests:
    num_blocks = 4
    block_size = 8
    #: share of users whose top-2 must be exactly their two held-out movies
    known_answer_min = 1.0
    #: share of users whose folded-in copy must get their top 2 (default: known_answer_min)
    fold_in_min: float | None = None

    def make_model(self, split):  # pragma: no cover - abstract
        raise NotImplementedError

    # built once per test class (cached on the class: fixtures stay function-scoped)
    @pytest.fixture
    def split(self):
        cls = type(self)
        if "_split" not in cls.__dict__:
            cls._split = temporal_split(shifted_checkerboard(self.num_blocks, self.block_size))
        return cls._split

    @pytest.fixture
    def model(self, split):
        cls = type(self)
        if "_model" not in cls.__dict__:
            torch.manual_seed(0)
            cls._model = self.make_model(split)
        return cls._model

    def test_score_shapes_and_consistency(self, model, split):
        users = torch.tensor([0, 1, split.num_users - 1])
        movies = torch.tensor([2, 0, split.num_movies - 1])
        with torch.no_grad():
            s = model.score(users, movies)
            full = model.score_all(users)
        assert s.shape == (3,)
        assert full.shape == (3, split.num_movies)
        torch.testing.assert_close(full[torch.arange(3), movies], s, rtol=1e-4, atol=1e-5)

    def test_recommend_excludes_train_movies(self, model, split):
        users = torch.arange(split.num_users)
        ids, scores = model.recommend_indices(users, k=5)
        assert ids.shape == scores.shape == (split.num_users, 5)
        assert (scores[:, :-1] >= scores[:, 1:]).all(), "recommendations must be best first"
        seen = set(zip(split.train[0].tolist(), split.train[1].tolist(), strict=True))
        for u in range(split.num_users):
            assert not any((u, m) in seen for m in ids[u].tolist())
        # without the exclusion the answer is known too: a user's whole block (its train
        # movies and its two held-out ones) first; a non-personalised model gives every user
        # one list
        k = self.block_size
        ids_all, _ = model.recommend_indices(users, k=k, exclude_seen=False)
        assert ids_all.shape == (split.num_users, k)
        if not model.personalised:
            assert (ids_all == ids_all[0]).all()
            return
        own = [set(range(u // k * k, u // k * k + k)) for u in range(split.num_users)]
        ok = [set(ids_all[u].tolist()) == own[u] for u in range(split.num_users)]
        assert sum(ok) / len(ok) >= self.known_answer_min, f"{sum(ok)}/{len(ok)} users right"

    def test_recommend_takes_and_returns_raw_ids(self, model, split):
        assert model.ids == split.ids, "fit(split) takes the split's id maps"
        raw_users = [USER_OFFSET + u for u in range(split.num_users)]
        movies, scores = model.recommend(raw_users, k=5)
        top, top_scores = model.recommend_indices(torch.arange(split.num_users), k=5)
        assert torch.equal(movies, top + MOVIE_OFFSET)
        torch.testing.assert_close(scores, top_scores)
        one, _ = model.recommend(USER_OFFSET + 3, k=5)  # one raw id
        assert torch.equal(one.view(-1), movies[3])

    def test_known_answer(self, model, split):
        ids, _ = model.recommend_indices(torch.arange(split.num_users), k=2)
        held = {
            u: {int(split.valid[1, i]), int(split.test[1, i])}
            for i, u in enumerate(split.test[0].tolist())
        }
        ok = [set(ids[u].tolist()) == held[u] for u in held]
        assert sum(ok) / len(ok) >= self.known_answer_min, f"{sum(ok)}/{len(ok)} users right"
        metrics = evaluate(model, split, "test", "full", k=2)
        assert metrics["hr@2"] >= self.known_answer_min

    def test_unknown_user_is_a_clear_error(self, model, split):
        with pytest.raises(UnknownUserError, match=f"user index {split.num_users + 5}"):
            model.recommend_indices([split.num_users + 5], k=3)
        with pytest.raises(UnknownUserError, match=f"0..{split.num_users - 1}"):
            model.score_all(torch.tensor([-1]))
        # a node index is not a raw id: the error names the id and the data set
        with pytest.raises(UnknownUserError, match=r"user 5 is not in checkerboard"):
            model.recommend([5], k=3)

    def test_save_load_round_trip(self, model, split, tmp_path):
        from graphrec.models.base import Recommender

        model.save(tmp_path / "m")
        again = Recommender.load(tmp_path / "m")
        assert type(again) is type(model)
        assert again.ids == model.ids == split.ids, "the checkpoint keeps the id maps"
        users = torch.arange(split.num_users)
        with torch.no_grad():
            torch.testing.assert_close(again.score_all(users), model.score_all(users))
        assert torch.equal(
            again.recommend_indices(users, k=3)[0], model.recommend_indices(users, k=3)[0]
        )
        raw_users = split.ids.users
        assert torch.equal(again.recommend(raw_users, k=3)[0], model.recommend(raw_users, k=3)[0])

    # ------------------------------------------------------------------ users as vectors
    def test_user_vectors_score_as_score_all(self, model, split):
        users = torch.arange(split.num_users)
        rows, movies = torch.tensor([0, 1, 2]), torch.tensor([2, 0, split.num_movies - 1])
        with torch.no_grad():
            vectors = model.user_vectors(users)
            assert vectors.dim() == 2 and vectors.size(0) == split.num_users
            torch.testing.assert_close(
                model.score_user_vectors(vectors), model.score_all(users), rtol=1e-4, atol=1e-5
            )
            torch.testing.assert_close(
                model.score_vector_pairs(vectors, rows, movies),
                model.score(rows, movies),
                rtol=1e-4,
                atol=1e-5,
            )

    @pytest.mark.usefixtures("one_thread")  # many small steps: threads only wait on each other
    def test_a_folded_in_copy_of_a_user_gets_that_users_recommendations(self, model, split):
        """Each user's train movies folded in as a new user (weights frozen) give the same
        top 2 as the trained user: its two held-out movies."""
        users = torch.arange(split.num_users)
        profiles = [
            split.train_movies[split.train_ptr[u] : split.train_ptr[u + 1]] for u in users.tolist()
        ]
        vectors = model.fold_in(profiles)
        assert vectors.shape == model.user_vectors(users).shape
        folded, _ = model.recommend_vectors(vectors, k=2, exclude=profiles)
        trained, _ = model.recommend_indices(users, k=2)
        same = [set(a) == set(b) for a, b in zip(folded.tolist(), trained.tolist(), strict=True)]
        least = self.known_answer_min if self.fold_in_min is None else self.fold_in_min
        assert sum(same) / len(same) >= least, f"{sum(same)}/{len(same)} same"
        # the same call gives the same vectors (seeded), and a profile folded in alone gets
        # the vector it gets among others
        again = model.fold_in(profiles[:3])
        torch.testing.assert_close(again, model.fold_in(profiles[:3]))
        alone = model.fold_in(profiles[2])
        torch.testing.assert_close(alone[0], vectors[2], rtol=1e-4, atol=1e-4)

    def test_item_vectors_put_a_block_together(self, model, split):
        """Movies of one checkerboard block are nearer each other in the model's item space
        than movies of other blocks (the reasons and similar-movie queries rest on this)."""
        try:
            vectors = model.item_vectors()
        except NotImplementedError:
            pytest.skip(f"{type(model).__name__} has no item space")
        assert vectors.shape[0] == split.num_movies and torch.isfinite(vectors).all()
        unit = torch.nn.functional.normalize(vectors.float(), dim=1)
        cos = unit @ unit.T
        block = torch.arange(split.num_movies) // self.block_size
        same = block.view(-1, 1) == block.view(1, -1)
        off_diagonal = ~torch.eye(split.num_movies, dtype=torch.bool)
        assert cos[same & off_diagonal].mean() > cos[~same].mean() + 0.2
