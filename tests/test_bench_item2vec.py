"""experiments/benchmarks/bench_item2vec.py runs end to end (as a subprocess, the way it is
used) and computes its ratios from what it measured.

The peer environment (pecanpy, gensim) is not part of the test setup: one test runs graphrec
alone, the others stand a fixed peer answer in for pecanpy, so that the ratio arithmetic is
checked against numbers known in advance, and check how the peers' python is found.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "experiments" / "benchmarks" / "bench_item2vec.py"
SMALL = ["--nodes", "60", "--num-edges", "300", "--blocks", "3", "--repeats", "1"]
PEER_ENV = "GRAPHREC_PEERS_PYTHON"


def _run(tmp_path: Path, *extra: str, peer_env: str | None = None) -> tuple[dict, str]:
    """Run the script; ``peer_env``: the value of $GRAPHREC_PEERS_PYTHON (None: unset)."""
    out = tmp_path / "bench.json"
    env = {k: v for k, v in os.environ.items() if k != PEER_ENV}
    if peer_env is not None:
        env[PEER_ENV] = peer_env
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), *SMALL, "--skip-skipgram", "--out", str(out), *extra],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(out.read_text()), proc.stdout


def test_graphrec_alone(tmp_path):
    result, stdout = _run(tmp_path, "--skip-peers", "--pq", "1,1", "2,0.5")
    assert [(w["ours"]["p"], w["ours"]["q"]) for w in result["walks"]] == [(1.0, 1.0), (2.0, 0.5)]
    for w in result["walks"]:
        assert w["peer"] is None and w["ratio"] is None
        # 60 nodes, 10 walks each, 39 steps per walk on a connected SBM
        assert w["ours"]["steps"] == 60 * 10 * 39
        assert w["ours"]["steps_per_s"] > 0
    assert result["config"]["seed"] == 0 and "torch" in result["versions"]
    assert "walks p=2 q=0.5" in stdout
    # p = 2, q = 0.5 walks by alias tables, timed against the outlier sampler too
    first, biased = (w["ours"] for w in result["walks"])
    assert first["sampler"] is None and "alias_vs_outlier_speedup" not in first
    assert biased["sampler"] == "alias" and len(biased["outlier_sampler_walk_s"]) == 1
    ratio = min(biased["outlier_sampler_walk_s"]) / min(biased["walk_s"])
    assert biased["alias_vs_outlier_speedup"] == pytest.approx(ratio)
    assert "sampler: alias vs outlier" in stdout


PEER = {
    "peer": "pecanpy.PreComp",
    "read_s": 0.5,
    "preprocess_s": 10.0,
    "warm_preprocess_s": [2.0, 1.75],
    "cold_steps_per_s": 100.0,
    "warm_walk_s": [0.5, 0.25],
    "warm_steps": 1000,
    "warm_steps_per_s": 4000.0,
    "warm_walk_cpu_s": [0.5, 0.5],
    "warm_steps_per_cpu_s": 2000.0,
    "versions": {"pecanpy": "fake"},
}


def _fake_peer(tmp_path: Path) -> Path:
    fake = tmp_path / "fake-python"
    fake.write_text(f"#!/bin/sh\necho '{json.dumps(PEER)}'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    return fake


@pytest.mark.skipif(sys.platform == "win32", reason="the stand-in peer is a shell script")
def test_ratios_use_the_peer_numbers(tmp_path):
    fake = _fake_peer(tmp_path)
    result, stdout = _run(tmp_path, "--peer-python", str(fake), "--pq", "2,0.5")
    (w,) = result["walks"]
    ours, ratio = w["ours"], w["ratio"]
    # tables + walks: 1000 steps in 1.75 s (best rebuild) + 0.25 s (best walk)
    assert w["peer"]["warm_steps_per_s_with_preprocess"] == pytest.approx(500.0)
    assert ratio["steps_per_s_with_build_vs_warm_preprocess_and_kernel"] == pytest.approx(
        ours["steps_per_s_with_build"] / 500.0
    )
    assert ratio["steps_per_s_vs_warm_kernel"] == pytest.approx(ours["steps_per_s"] / 4000.0)
    assert ratio["build_s_vs_preprocess_s"] == pytest.approx(ours["build_s"] / 10.5)
    assert result["versions"]["peer_pecanpy"] == "fake"
    assert "tables + walks" in stdout and "(tables 1.8s)" in stdout


@pytest.mark.skipif(sys.platform == "win32", reason="the stand-in peer is a shell script")
def test_the_peer_python_comes_from_the_environment(tmp_path):
    fake = _fake_peer(tmp_path)
    result, _ = _run(tmp_path, "--pq", "1,1", peer_env=str(fake))
    (w,) = result["walks"]
    assert w["peer"]["peer"] == "pecanpy.PreComp" and w["ratio"] is not None
    assert result["config"]["peer_python"] == str(fake)


def test_without_a_peer_python_it_says_where_to_give_one(tmp_path):
    missing = str(tmp_path / "no-such-python")
    result, stdout = _run(tmp_path, "--skip-walks", peer_env=missing)
    assert result["walks"] == [] and result["skipgram"] is None  # graphrec alone: a result
    assert f"peer environment {missing} does not exist; reporting graphrec alone" in stdout
    assert "--peer-python" in stdout and PEER_ENV in stdout
