"""Checkpoints: refused when damaged, foreign, pickled or made for other data; never unpickled."""

from __future__ import annotations

import json
import pickle

import pytest
import torch

from graphrec.data import temporal_split
from graphrec.data.synthetic import checkerboard_graph, synthetic_graph
from graphrec.io import CheckpointError
from graphrec.models.base import CheckpointMismatchError, Recommender
from graphrec.models.ncf import GMF
from graphrec.models.pop import ItemPop

from contract import shifted_checkerboard


class _RunsCode:
    """Unpickling this creates ``flag``: what a hostile weights.pt would do instead."""

    def __init__(self, flag) -> None:
        self.flag = str(flag)

    def __reduce__(self):
        return (open, (self.flag, "w"))


@pytest.fixture
def saved(tmp_path):
    return GMF(5, 7, embedding_dim=4, seed=0).save(tmp_path / "m")


@pytest.mark.parametrize("writer", ["torch.save", "pickle.dump"])
def test_a_pickled_payload_is_refused_and_never_runs(saved, tmp_path, writer):
    flag = tmp_path / "payload-ran"
    payload = {"user_embedding.weight": _RunsCode(flag)}
    with open(saved / "weights.pt", "wb") as fh:
        (torch.save if writer == "torch.save" else pickle.dump)(payload, fh)
    with pytest.raises(CheckpointError) as exc:
        Recommender.load(saved)
    message = str(exc.value)
    assert f"{saved / 'weights.pt'} is not a graphrec checkpoint" in message
    assert "is refused" in message and "weights_only" not in message
    assert not flag.exists(), "loading the checkpoint ran the pickled code"


@pytest.mark.parametrize(
    "text, message",
    [
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "has no 'class': not a graphrec checkpoint"),
        ('{"hparams": {}}', "has no 'class': not a graphrec checkpoint"),
        ('{"class": "GMF"}', "has no 'hparams': not a graphrec checkpoint"),
        (b"\xff\xfe", "is not valid JSON"),
    ],
)
def test_a_damaged_model_json_is_a_clear_error_naming_the_file(saved, text, message):
    spec = saved / "model.json"
    spec.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(CheckpointError, match=message) as exc:
        Recommender.load(saved)
    assert str(spec) in str(exc.value)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_weights_are_refused(tmp_path, value):
    model = GMF(5, 7, embedding_dim=4, seed=0)
    with torch.no_grad():
        model.user_emb.weight[2, 1] = value
    folder = model.save(tmp_path / "m")
    with pytest.raises(CheckpointError) as exc:
        Recommender.load(folder)
    assert str(exc.value) == (
        f"{folder / 'weights.pt'} holds NaN/inf in user_emb.weight: the checkpoint is "
        "damaged; retrain"
    )


def test_other_tensors_or_a_missing_weights_file_are_clear_errors(saved):
    torch.save({"something.else": torch.zeros(3)}, saved / "weights.pt")
    with pytest.raises(CheckpointError, match="does not fit the GMF"):
        Recommender.load(saved)
    (saved / "weights.pt").write_bytes(b"not a tensor file")
    with pytest.raises(CheckpointError, match="not a graphrec checkpoint: it is not a tensor"):
        Recommender.load(saved)
    (saved / "weights.pt").write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"cannot be read as a tensor file \(EOFError"):
        Recommender.load(saved)
    (saved / "weights.pt").unlink()
    with pytest.raises(CheckpointError, match="weights.pt not found: the checkpoint"):
        Recommender.load(saved)


def test_model_json_records_the_id_maps_and_loading_checks_them(tmp_path):
    split = temporal_split(checkerboard_graph())
    folder = ItemPop(split.num_users, split.num_movies).fit(split).save(tmp_path / "m")
    spec = json.loads((folder / "model.json").read_text())
    assert spec["ids"]["users"] == split.ids.users and spec["ids"]["movies"] == split.ids.movies
    assert len(spec["ids_digest"]) == len(spec["train_digest"]) == 16
    assert Recommender.load(folder, data=split).ids == split.ids  # its own data: accepted
    assert Recommender.load(folder, data=checkerboard_graph()).ids == split.ids
    # the same sizes, other raw ids: counts alone would accept it
    shifted = temporal_split(shifted_checkerboard())
    with pytest.raises(CheckpointMismatchError) as exc:
        Recommender.load(folder, data=shifted)
    mine, theirs = split.ids, shifted.ids
    from graphrec.models.base import _ids_digest

    assert str(exc.value) == (
        f"{folder} was trained on checkerboard (32 users, 32 movies, ids {_ids_digest(mine)}) "
        f"but is used with checkerboard (32 users, 32 movies, ids {_ids_digest(theirs)}): use "
        "it with the data it was trained on, or retrain it on this data"
    )
    other = temporal_split(synthetic_graph(40, 50, 400, seed=1))
    with pytest.raises(CheckpointMismatchError, match=r"is used with synthetic \(40 users, 50"):
        Recommender.load(folder, data=other.ids)


def test_a_checkpoint_is_refused_for_another_split_of_the_same_graph(tmp_path):
    graph = synthetic_graph(40, 50, 600, seed=1)
    split, liked = temporal_split(graph), temporal_split(graph, min_rating=4)
    folder = ItemPop(split.num_users, split.num_movies).fit(split).save(tmp_path / "m")
    Recommender.load(folder, data=graph)  # the id maps match: accepted
    with pytest.raises(CheckpointMismatchError, match="was trained on another split of synth"):
        Recommender.load(folder, data=liked)


def test_edited_id_maps_are_refused(tmp_path):
    split = temporal_split(checkerboard_graph())
    folder = ItemPop(split.num_users, split.num_movies).fit(split).save(tmp_path / "m")
    spec = json.loads((folder / "model.json").read_text())
    users = spec["ids"]["users"]
    users[0], users[1] = users[1], users[0]  # two users swapped: the model's rows mean others
    (folder / "model.json").write_text(json.dumps(spec))
    with pytest.raises(CheckpointError, match="id maps do not match their digest"):
        Recommender.load(folder)
