"""Data-parallel training (graphrec.distributed): the epoch's sharding, the per-rank samplers,
the single-process guards, and a real ``torchrun --nproc-per-node 2`` run on a checkerboard."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from graphrec import distributed
from graphrec.data.sampling import PairwiseSampler, PointwiseSampler, RatingSampler
from graphrec.data.split import temporal_split
from graphrec.data.synthetic import checkerboard_graph

ROOT = Path(__file__).resolve().parents[1]


def _pairs(a, b) -> list[tuple[int, int]]:
    """Sorted (a[i], b[i]) pairs."""
    return sorted(map(tuple, torch.stack([a, b], 1).tolist()))


def _shards(n, batch, world):
    return [distributed.epoch_shard(n, batch, r, world) for r in range(world)]


def test_epoch_shard_by_hand():
    """10 examples, global batch 4, 2 ranks: each global batch is cut in two halves."""
    (p0, s0), (p1, s1) = _shards(10, 4, 2)
    assert p0.tolist() == [0, 1, 4, 5, 8] and p1.tolist() == [2, 3, 6, 7, 9]
    assert s0 == s1 == [(2, 1.0), (2, 1.0), (1, 1.0)]
    # 9 examples: the last global batch holds one example, rank 0 takes it at weight 2, rank 1
    # makes the step on a stand-in of weight 0 (every rank must join every step)
    (p0, s0), (p1, s1) = _shards(9, 4, 2)
    assert p0.tolist() == [0, 1, 4, 5, 8] and s0[-1] == (1, 2.0)
    assert p1.tolist() == [2, 3, 6, 7, 8] and s1[-1] == (1, 0.0)


@pytest.mark.parametrize("n, batch, world", [(10, 4, 2), (9, 4, 2), (1000, 64, 3), (7, 2, 4)])
def test_epoch_shard_slices_are_disjoint_and_cover_the_epoch(n, batch, world):
    shards = _shards(n, batch, world)
    taken = []
    for positions, steps in shards:
        assert len(steps) == -(-n // batch)  # the same number of steps on every rank
        at = 0
        for count, weight in steps:
            if weight:
                taken += positions[at : at + count].tolist()
            at += count
        assert at == positions.numel()
    assert sorted(taken) == list(range(n))  # disjoint (no repeats) and covering
    # per step, the weighted parts average to the global batch's mean: sum of weights = world
    for i in range(len(shards[0][1])):
        assert sum(s[i][1] for _, s in shards) == pytest.approx(world)


def test_epoch_shard_rejects_a_rank_outside_the_world():
    with pytest.raises(ValueError, match="rank 2 is not in 0..1"):
        distributed.epoch_shard(10, 4, 2, 2)


@pytest.fixture(scope="module")
def split():
    return temporal_split(checkerboard_graph(4, 8))


def _rank_examples(sampler, world, batch, seed=0):
    out = []
    for r in range(world):
        positions, _ = distributed.epoch_shard(len(sampler), batch, r, world)
        shuffle = torch.Generator().manual_seed(seed)  # the same on every rank
        negatives = torch.Generator().manual_seed(seed + r)  # one per rank
        out.append(sampler.shard(positions, shuffle, negatives))
    return out


def test_pairwise_shards_cover_every_train_positive_once(split):
    u, m = split.train
    triples = _rank_examples(PairwiseSampler(split, 1), 2, 16)
    users = torch.cat([t[0] for t in triples])
    pos = torch.cat([t[1] for t in triples])
    assert users.numel() == u.numel()
    assert _pairs(users, pos) == _pairs(u, m)
    train = set(_pairs(u, m))
    for users_r, _, neg_r in triples:  # negatives: movies the user has no train edge with
        assert not train & set(_pairs(users_r, neg_r))


def test_pointwise_shards_hold_each_positive_once_and_k_negatives_each(split):
    u, m = split.train
    k = 3
    parts = _rank_examples(PointwiseSampler(split, k), 2, 20)
    users = torch.cat([p[0] for p in parts])
    movies = torch.cat([p[1] for p in parts])
    labels = torch.cat([p[2] for p in parts])
    assert users.numel() == u.numel() * (1 + k) and int(labels.sum()) == u.numel()
    positive = labels == 1
    assert _pairs(users[positive], movies[positive]) == _pairs(u, m)
    assert not set(_pairs(u, m)) & set(_pairs(users[~positive], movies[~positive]))
    # every user gets k negatives per train positive
    assert torch.equal(torch.bincount(users[~positive]), torch.bincount(u) * k)


def test_rating_shards_are_a_permutation_of_the_train_edges(split):
    u, m = split.train
    parts = _rank_examples(RatingSampler(split), 2, 10)
    got = _pairs(torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts]))
    assert got == _pairs(u, m)


def test_one_process_is_rank_0_of_1():
    assert not distributed.is_distributed()
    assert (distributed.rank(), distributed.world_size(), distributed.backend()) == (0, 1, None)
    assert distributed.is_main() and distributed.broadcast_object({"a": 1}) == {"a": 1}
    assert distributed.init() is False  # no WORLD_SIZE: no process group


def test_closed_form_models_refuse_to_run_under_torchrun(split, monkeypatch):
    from graphrec.models import EASE, ItemPop

    monkeypatch.setenv("WORLD_SIZE", "2")
    for klass in (ItemPop, EASE):
        with pytest.raises(ValueError, match=f"{klass.__name__} fits in closed form and does not"):
            klass.from_split(split).fit(split)


def test_a_task_that_is_not_data_parallel_is_a_one_line_error(monkeypatch, capsys, tmp_path):
    from graphrec.cli.main import main

    monkeypatch.setenv("WORLD_SIZE", "2")
    assert main(["--task", "pop", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --task pop does not run data-parallel")
    assert not (tmp_path / "run").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_torchrun_two_processes_train_bpr_on_the_checkerboard(tmp_path):
    """``torchrun --nproc-per-node 2 experiments/run.py --task bpr`` (gloo): one run folder,
    written by rank 0, recording world_size 2; the model puts each user's block first."""
    graph = checkerboard_graph(16, 8)  # 128 movies: the sampled protocol needs 99 unrated
    edges = graph["user", "rates", "movie"]
    u, m = edges.edge_index
    csv = tmp_path / "checkerboard.csv"
    pd.DataFrame({"user": u.numpy(), "item": m.numpy(), "time": edges.time.numpy()}).to_csv(
        csv, index=False
    )
    runs = tmp_path / "runs"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
        "--master-port", str(_free_port()), str(ROOT / "experiments" / "run.py"),
        "--task", "bpr", "--dataset", "csv", "--interactions", str(csv),
        "--columns", "user=user,item=item,time=time", "--epochs", "30", "--batch-size", "64",
        "--lr", "0.05", "--eval-k", "2", "--threads", "1", "--out", str(runs / "bpr"),
    ]  # fmt: skip
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert [p.name for p in runs.iterdir()] == ["bpr"]  # exactly one run folder
    assert not (tmp_path / "runs" / "bpr" / "runs").exists()
    assert done.stdout.count("wrote ") == 1  # rank 0 alone reports
    assert done.stderr.count("[graphrec] csv:") == 1  # and rank 1 prints nothing
    config = json.loads((runs / "bpr" / "config.json").read_text())
    assert (config["world_size"], config["backend"]) == (2, "gloo")
    metrics = json.loads((runs / "bpr" / "metrics.json").read_text())
    assert metrics["training"]["epochs_run"] == 30 or metrics["training"]["stopped_early"]

    from graphrec.models.base import Recommender

    model = Recommender.load(runs / "bpr" / "model")
    users = list(range(128))
    top, _ = model.recommend(users, k=2)  # train movies excluded: valid + test movie remain
    in_block = (torch.as_tensor(top) // 8 == torch.tensor(users).view(-1, 1) // 8).float()
    assert in_block[:, 0].mean() >= 0.95, in_block.mean(1)  # the top movie: the user's block
    assert in_block.mean() >= 0.9


def test_a_one_process_run_records_world_size_1_and_no_backend(tmp_path):
    from graphrec.runs import RunDir

    run = RunDir("bpr", tmp_path / "run")
    run.write_config({"task": "bpr"}, 0)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert (config["world_size"], config["backend"]) == (1, None)
