"""The experiment runner's common edge: --help, stats, pop, and errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_ml100k

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cli():
    from graphrec.cli.main import main

    return main


def test_help_lists_every_task():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "experiments/run.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0
    from graphrec.cli import TASKS

    for name in TASKS:
        assert name in proc.stdout


def test_task_help_shows_common_options(cli, capsys):
    with pytest.raises(SystemExit) as exc:
        cli(["--task", "pop", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for opt in ("--dataset", "--data-dir", "--out", "--seed", "--device", "--quiet"):
        assert opt in out


def test_unknown_task_and_dataset_are_usage_errors(cli, capsys):
    with pytest.raises(SystemExit) as exc:
        cli(["--task", "nope"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        cli(["--task", "stats", "--dataset", "ml-5k"])
    assert exc.value.code == 2
    assert "invalid choice: 'ml-5k'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "task, option",
    [
        ("pop", "--eval-k"),
        ("gmf", "--eval-k"),
        ("lightgcn", "--eval-k"),
        ("benchmark", "--eval-k"),
        ("item2vec", "--topk"),  # the length of item2vec's printed lists
    ],
)
def test_k_below_one_is_a_usage_error(cli, task, option, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        cli(["--task", task, option, "0", "--out", str(tmp_path / "run")])
    assert exc.value.code == 2
    assert f"argument {option}: must be an integer >= 1, got 0" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("task", ["pop", "gmf", "lightgcn", "benchmark"])
def test_topk_is_not_the_metrics_k_of_training_tasks(cli, task, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        cli(["--task", task, "--topk", "5", "--out", str(tmp_path / "run")])
    assert exc.value.code == 2
    assert "unrecognized arguments: --topk" in capsys.readouterr().err


def _help(cli, capsys, task: str) -> str:
    with pytest.raises(SystemExit) as exc:
        cli(["--task", task, "--help"])
    assert exc.value.code == 0
    return " ".join(capsys.readouterr().out.split())  # argparse wraps lines


def test_model_options_come_from_the_constructor(cli, capsys):
    import re

    out = _help(cli, capsys, "gmf")
    assert re.search(r"--embedding-dim EMBEDDING_DIM [^-]*\(default: 32\)", out)
    assert "--factors" not in out and "--negatives " not in out
    for opt in ("--num-negatives", "--eval-k", "--patience", "--epochs", "--threads"):
        assert opt in out
    assert re.search(r"--epochs EPOCHS maximum epochs \(default: 30\)", out)  # GMF's own
    for other in ("--walk-length", "--knn", "--window", "--num-layers", "--topk"):
        assert other not in out, other  # options of other models are not gmf's
    neumf = _help(cli, capsys, "neumf")
    assert re.search(r"--lr LR Adam learning rate \(default: 0\.01\)", neumf)
    assert "--mlp-embedding-dim" in neumf and "--pretrain" in neumf
    gcn = _help(cli, capsys, "lightgcn")
    assert "--num-layers" in gcn and re.search(r"--batch-size [^-]*\(default: 8192\)", gcn)
    attention = _help(cli, capsys, "attention")
    assert "--residual, --no-residual" in attention
    features = _help(cli, capsys, "features")
    assert "--use-ids, --no-use-ids" in features and "--objective" in features


@pytest.mark.parametrize(
    "task, option, message",
    [
        # before parse-time checks: a ZeroDivisionError after training an epoch, a model
        # trained without negatives, --threads 0 silently ignored, errors after data loading
        ("gmf", ["--eval-every", "0"], "--eval-every: must be an integer >= 1, got 0"),
        ("mlp", ["--num-negatives", "0"], "--num-negatives: must be an integer >= 1, got 0"),
        ("neumf", ["--threads", "0"], "--threads: must be an integer >= 1, got 0"),
        ("mlp", ["--dropout", "2"], "--dropout: must be a number >= 0 and < 1, got 2.0"),
        ("attention", ["--dropout", "-0.1"], "--dropout: must be a number >= 0 and < 1"),
        ("features", ["--layers", "64", "0"], "--layers: must be an integer >= 1, got 0"),
        ("gmf", ["--lr", "-1"], "--lr: must be a number > 0, got -1.0"),
        ("gmf", ["--weight-decay", "inf"], "--weight-decay: must be a number >= 0, got inf"),
        ("neumf", ["--alpha", "1.5"], "--alpha: must be a number >= 0 and <= 1, got 1.5"),
        ("lightgcn", ["--num-layers", "-1"], "--num-layers: must be an integer >= 0"),
        ("bpr", ["--reg", "-1"], "--reg: must be a number >= 0, got -1.0"),
        ("explain", ["--shap-samples", "0"], "--shap-samples: must be an integer >= 1, got 0"),
        ("benchmark", ["--seeds", "0"], "--seeds: must be an integer >= 1, got 0"),
        ("stats", ["--seed", "-1"], "--seed: must be an integer >= 0, got -1"),
        ("stats", ["--min-rating", "nan"], "--min-rating: must be a number, got nan"),
    ],
)
def test_out_of_range_options_are_usage_errors(cli, task, option, message, tmp_path, capsys):
    data = tmp_path / "d"
    with pytest.raises(SystemExit) as exc:
        cli(["--task", task, *option, "--data-dir", str(data), "--out", str(tmp_path / "run")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "usage:" in err
    assert not data.exists() and not (tmp_path / "run").exists()  # nothing read or written


def test_bounded_reads_and_checks_numbers():
    import argparse

    from graphrec.cli.common import at_least, bounded, fraction, positive

    assert at_least(2)("7") == 7 and positive()("0.5") == 0.5 and fraction()("0") == 0.0
    assert bounded(float, 0, 1)("1") == 1.0  # closed ends are allowed
    for parse, text in [
        (at_least(2), "1"),
        (at_least(0), "1.5"),
        (positive(), "0"),
        (positive(), "-inf"),
        (fraction(), "1"),
        (bounded(float, 0, 1, low_open=True), "0"),
    ]:
        with pytest.raises(argparse.ArgumentTypeError):
            parse(text)


def test_missing_data_offline_is_a_clear_error(cli, tmp_path, capsys):
    rc = cli(
        [
            "--task",
            "stats",
            "--dataset",
            "ml-1m",
            "--source",
            "local",
            "--data-dir",
            str(tmp_path / "d"),
            "--out",
            str(tmp_path / "o"),
            "--quiet",
        ]
    )
    assert rc == 2
    assert "could not get ml-1m" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def _bigger_fixture(folder: Path) -> Path:
    """6 users x 30 ratings over 150 movies: enough for the 1 + 99 protocol."""
    items = [
        f"{i}|Movie {i} (1990)|01-Jan-1990||http://x|"
        + "|".join("1" if g == i % 19 else "0" for g in range(19))
        for i in range(1, 151)
    ]
    ratings = [
        (u, 1 + (u * 7 + j * 3) % 150, 1 + j % 5, 1000 + j) for u in range(1, 7) for j in range(30)
    ]
    users = [f"{u}|{20 + u}|M|writer|1234{u}" for u in range(1, 7)]
    return write_ml100k(folder / "ml-100k", ratings=ratings, items=items, users=users).parent


def test_stats_and_pop_on_a_fixture(cli, tmp_path, capsys):
    raw = _bigger_fixture(tmp_path / "raw")
    common = [
        "--data-dir",
        str(tmp_path / "d"),
        "--raw-dir",
        str(raw),
        "--source",
        "local",
        "--no-verify",
        "--quiet",
    ]
    assert cli(["--task", "stats", *common, "--out", str(tmp_path / "s")]) == 0
    stats = json.loads((tmp_path / "s" / "stats.json").read_text())
    assert stats["users"] == 6 and stats["movies"] == 150 and stats["ratings"] == 180
    assert stats["source"].startswith("local folder")
    config = json.loads((tmp_path / "s" / "config.json").read_text())
    assert config["seed"] == 0 and "torch" in config["versions"]
    assert cli(["--task", "pop", *common, "--out", str(tmp_path / "p")]) == 0
    m = json.loads((tmp_path / "p" / "metrics.json").read_text())
    assert m["task"] == "pop" and m["model"] == "ItemPop" and m["seed"] == 0
    for stage in ("valid", "test"):
        assert set(m[stage]) == {"sampled", "full"}
        assert m[stage]["full"]["protocol"] == "full"
    assert m["test"]["full"]["users"] == 6
    assert m["test"]["sampled"]["negatives"] == 99


@pytest.mark.realdata
def test_stats_on_real_ml_latest_small(cli, shared_latest_small, tmp_path, capsys):
    args = [
        "--task",
        "stats",
        "--dataset",
        "ml-latest-small",
        "--raw-dir",
        str(shared_latest_small),
        "--data-dir",
        str(tmp_path / "d"),
        "--out",
        str(tmp_path / "o"),
        "--quiet",
    ]
    assert cli(args) == 2  # the shared copy has one rating beyond the published data
    assert "--drop-bad-rows" in capsys.readouterr().err
    assert cli([*args, "--drop-bad-rows"]) == 0
    stats = json.loads((tmp_path / "o" / "stats.json").read_text())
    assert (stats["users"], stats["movies"], stats["ratings"]) == (610, 9742, 100_836)


def test_config_replay_rejects_a_missing_file_and_another_task(cli, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        cli(["--config", str(tmp_path / "nope.json")])
    assert "not a graphrec run's config.json" in str(exc.value)
    recorded = tmp_path / "config.json"
    recorded.write_text(json.dumps({"task": "pop", "seed": 0, "config": {"task": "pop"}}))
    with pytest.raises(SystemExit) as exc:
        cli(["--task", "gmf", "--config", str(recorded)])
    assert "is a 'pop' run, not 'gmf'" in str(exc.value)
    assert not (tmp_path / "runs").exists()
