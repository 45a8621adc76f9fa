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
    for opt in ("--dataset", "--data-dir", "--out", "--overwrite", "--seed", "--device", "--quiet"):
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
        ("stats", ["--seed", "-1"], "--seed: must be an integer >= 0 and <= 4294967295, got -1"),
        # numpy's seeding takes 32 bits: before the bound, an overflow after the data load
        ("pop", ["--seed", str(2**64)], "--seed: must be an integer >= 0 and <= 4294967295, got"),
        ("stats", ["--device", "banana"], "--device: must be auto, cpu, cuda or cuda:N, got 'b"),
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


def test_missing_data_offline_is_a_clear_error(cli, tmp_path, capsys, monkeypatch):
    import graphrec.cli.stats as task

    seen, real = [], task.load_graph

    def spy(args):  # the run folder is claimed before the data is read: the failure is late
        seen.append((tmp_path / "o").is_dir())
        return real(args)

    monkeypatch.setattr(task, "load_graph", spy)
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
    assert seen == [True] and not (tmp_path / "o").exists()


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
    assert cli(["--config", str(tmp_path / "nope.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "not a graphrec run's config.json" in err
    recorded = tmp_path / "config.json"
    recorded.write_text(json.dumps({"task": "pop", "seed": 0, "config": {"task": "pop"}}))
    assert cli(["--task", "gmf", "--config", str(recorded)]) == 2
    assert "is a 'pop' run, not 'gmf'" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


# ---------------------------------------------------------------- run folders and failures
@pytest.fixture
def synthetic(monkeypatch):
    """Every task reads one small synthetic graph instead of MovieLens; returns the list of
    tasks that loaded data (empty: the run was refused before reading any)."""
    import importlib

    from graphrec.data.synthetic import synthetic_graph

    graph = synthetic_graph(120, 200, 3000, seed=3)
    loads: list[str] = []

    def load(args):
        loads.append(args.task)
        return graph

    for name in ("stats", "pop", "ncf", "item2vec", "features"):
        monkeypatch.setattr(importlib.import_module(f"graphrec.cli.{name}"), "load_graph", load)
    return loads


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


GMF_QUICK = ["--task", "gmf", "--epochs", "1", "--embedding-dim", "4", "--quiet"]


def test_a_run_folder_is_never_overwritten_without_overwrite(cli, synthetic, tmp_path, capsys):
    out = tmp_path / "run"
    assert cli([*GMF_QUICK, "--out", str(out)]) == 0
    gmf = _files(out)
    synthetic.clear()
    assert cli(["--task", "pop", "--quiet", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"error: --out {out} already holds a run (a gmf run: config.json, curves.png, "
        "history.csv, metrics.json, ... (5 entries)); pass --overwrite or another --out\n"
    )
    assert synthetic == [] and _files(out) == gmf  # refused before reading any data
    # a failing --overwrite run (training diverges) gives the old run back, byte for byte
    assert cli([*GMF_QUICK, "--lr", "1e30", "--overwrite", "--out", str(out)]) == 2
    assert "diverged in epoch 1" in capsys.readouterr().err
    assert _files(out) == gmf and sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    # --overwrite: the folder then holds the pop run and nothing of the gmf run
    assert cli(["--task", "pop", "--quiet", "--overwrite", "--out", str(out)]) == 0
    assert sorted(_files(out)) == [
        "config.json",
        "metrics.json",
        "model/model.json",
        "model/weights.pt",
    ]
    assert json.loads((out / "config.json").read_text())["task"] == "pop"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # the old run is gone


@pytest.mark.parametrize(
    "out, message",
    [
        ("afile", "--out {tmp}/afile is a file, not a folder; pass a folder for the run"),
        (
            "afile/run",
            "--out {tmp}/afile/run: {tmp}/afile is a file, not a folder; pass another --out",
        ),
    ],
)
def test_out_naming_a_file_is_a_one_line_error(cli, synthetic, tmp_path, capsys, out, message):
    (tmp_path / "afile").write_text("mine")
    assert cli(["--task", "pop", "--quiet", "--out", str(tmp_path / out)]) == 2
    assert capsys.readouterr().err == f"error: {message.format(tmp=tmp_path)}\n"
    assert synthetic == [] and (tmp_path / "afile").read_text() == "mine"


@pytest.mark.parametrize("task", ["stats", "pop", "gmf"])
def test_a_device_torch_cannot_see_is_refused_before_the_data(
    cli, synthetic, tmp_path, capsys, monkeypatch, task
):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert cli(["--task", task, "--device", "cuda", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --device cuda was asked for but torch sees no CUDA device")
    assert "use --device cpu" in err and err.count("\n") == 1
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert cli(["--task", task, "--device", "cuda:3", "--out", str(tmp_path / "run")]) == 2
    assert "--device cuda:3: torch sees 1 CUDA device(s), cuda:0..cuda:0" in capsys.readouterr().err
    assert synthetic == [] and not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "task, option, value, limit",
    [
        ("pop", "--eval-k", "2000", "the sampled protocol ranks each held-out movie among 100"),
        ("pop", "--eval-k", "100", "so HR@100 would be 1 by construction; pass --eval-k 99 or"),
        ("gmf", "--eval-k", "100", "pass --eval-k 99 or less"),
        ("item2vec", "--topk", "5000", "movies have a train rating"),
    ],
)
def test_k_above_the_candidates_is_refused_before_any_work(
    cli, synthetic, tmp_path, capsys, monkeypatch, task, option, value, limit
):
    from graphrec.models.base import Recommender

    def no_training(*a, **k):
        raise AssertionError("trained before checking K")

    monkeypatch.setattr(Recommender, "fit", no_training)
    argv = ["--task", task, option, value, "--quiet", "--out", str(tmp_path / "run")]
    assert cli(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {option} {value} is too large: ") and limit in err
    assert not (tmp_path / "run").exists()


def test_item2vec_topk_limit_is_the_rated_movies(cli, synthetic, tmp_path, capsys):
    from graphrec.data import temporal_split
    from graphrec.data.synthetic import synthetic_graph

    split = temporal_split(synthetic_graph(120, 200, 3000, seed=3))
    rated = int((split.train_degree() > 0).sum())
    argv = ["--task", "item2vec", "--topk", str(rated), "--quiet", "--out", str(tmp_path / "run")]
    assert cli(argv) == 2
    assert capsys.readouterr().err == (
        f"error: --topk {rated} is too large: only {rated} movies have a train rating, and a "
        f"movie's neighbours are the other ones; pass --topk {rated - 1} or less\n"
    )


def test_a_diverging_lr_is_a_one_line_error_and_leaves_no_folder(
    cli, synthetic, tmp_path, capsys, monkeypatch
):
    import graphrec.cli.ncf as task

    out, seen = tmp_path / "run", []
    real = task.open_run

    def spy(args, name):  # the failure comes late: after the folder and its config exist
        run = real(args, name)
        seen.append((run.path / "config.json").is_file())
        return run

    monkeypatch.setattr(task, "open_run", spy)
    assert cli([*GMF_QUICK, "--lr", "1e30", "--out", str(out)]) == 2
    assert capsys.readouterr().err == (
        "error: training GMF diverged in epoch 1: the loss became nan at learning rate 1e+30; "
        "train with a lower --lr (TrainConfig.lr), e.g. a tenth of it\n"
    )
    assert seen == [True] and not out.exists()


@pytest.mark.parametrize(
    "error, status",
    [
        (RuntimeError("a bug"), None),  # a bug: its traceback is shown
        (OSError(28, "No space left on device"), None),
        (KeyboardInterrupt(), 130),
        (FloatingPointError("diverged"), 2),
        ("UnknownUserError", 2),
        ("DatasetError", 2),
        (ValueError("bad value"), 2),
        (SystemExit("error: a task's own exit"), 2),
        (SystemExit("a task's own exit without the prefix"), 2),
    ],
)
def test_every_failure_after_the_folder_exists_removes_it(
    cli, tmp_path, capsys, monkeypatch, error, status
):
    import graphrec.cli.stats as task
    from graphrec.cli.common import open_run

    if error == "UnknownUserError":
        from graphrec.data.ids import UnknownUserError

        error = UnknownUserError("user 7 is not in x")
    elif error == "DatasetError":
        from graphrec.data.movielens import DatasetError

        error = DatasetError("u.data: line 3 is short")
    out, seen = tmp_path / "run", []

    def run(args):
        run_dir = open_run(args, "stats")
        seen.append((run_dir.path / "config.json").is_file())
        raise error

    monkeypatch.setattr(task, "run", run)
    argv = ["--task", "stats", "--out", str(out)]
    try:
        if status is None:
            with pytest.raises(type(error)):
                cli(argv)
        else:
            assert cli(argv) == status
            err = capsys.readouterr().err
            assert err.startswith("error: ") and err.count("\n") == 1, err
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C escaped main() instead of ending the run")
    assert seen == [True] and not out.exists()


@pytest.mark.parametrize(
    "damage, message",
    [
        ("no-json", "model/model.json is not valid JSON"),
        ("no-class", "model/model.json has no 'class': not a graphrec checkpoint"),
        ("pickle", "model/weights.pt is not a graphrec checkpoint: it holds pickled Python"),
        ("nan", "model/weights.pt holds NaN/inf in user_emb.weight: the checkpoint is damaged"),
    ],
)
def test_a_bad_checkpoint_is_a_one_line_error(cli, synthetic, tmp_path, capsys, damage, message):
    import torch

    from graphrec.models.ncf import GMF

    model = GMF(5, 7, embedding_dim=4, seed=0)
    if damage == "nan":
        with torch.no_grad():
            model.user_emb.weight[0, 0] = float("nan")
    folder = model.save(tmp_path / "old" / "model")
    flag = tmp_path / "payload-ran"
    if damage == "no-json":
        (folder / "model.json").write_text('{"class": "GMF", ')
    elif damage == "no-class":
        (folder / "model.json").write_text('{"hparams": {}}')
    elif damage == "pickle":
        torch.save({"x": _RunsCode(flag)}, folder / "weights.pt")
    argv = ["--task", "explain", "--run", str(tmp_path / "old"), "--out", str(tmp_path / "run")]
    assert cli(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {tmp_path}/old/") and message in err and err.count("\n") == 1
    assert "weights_only" not in err and not flag.exists()
    assert synthetic == [] and not (tmp_path / "run").exists()


class _RunsCode:
    def __init__(self, flag) -> None:
        self.flag = str(flag)

    def __reduce__(self):
        return (open, (self.flag, "w"))


def test_sigterm_ends_a_real_run_like_ctrl_c(tmp_path):
    """A GMF run on the small fixture that would train for ever, sent SIGTERM once its folder
    and config.json exist: before, it died leaving a folder that held only config.json."""
    import signal
    import time

    raw = _bigger_fixture(tmp_path / "raw")
    out = tmp_path / "run"
    argv = [
        sys.executable,
        str(ROOT / "experiments/run.py"),
        *("--task gmf --epochs 1000000 --patience 0 --batch-size 64 --quiet".split()),
        *("--source local --no-verify --threads 1".split()),
        *("--raw-dir", str(raw), "--data-dir", str(tmp_path / "d"), "--out", str(out)),
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (out / "config.json").is_file():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the run never started"
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert err == f"error: interrupted by SIGTERM; removed the unfinished run folder {out}\n"
    assert not out.exists()


@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP"])
def test_a_signal_ends_a_run_the_same_way(cli, tmp_path, capsys, monkeypatch, name):
    import os
    import signal
    import time

    import graphrec.cli.stats as task
    from graphrec.cli.common import open_run

    sig = getattr(signal, name)

    def unhandled(signum, frame):  # main() did not take the signal over: fail, do not die
        raise AssertionError(f"{name} reached the default handler")

    before = signal.signal(sig, unhandled)
    out, seen = tmp_path / "run", []

    def run(args):
        run_dir = open_run(args, "stats")
        seen.append((run_dir.path / "config.json").is_file())
        os.kill(os.getpid(), sig)
        time.sleep(5)  # the handler interrupts this
        raise AssertionError("the signal did not end the run")

    monkeypatch.setattr(task, "run", run)
    try:
        assert cli(["--task", "stats", "--out", str(out)]) == 128 + sig
    finally:
        assert signal.signal(sig, before) is unhandled  # main() put the handler back
    assert capsys.readouterr().err == (
        f"error: interrupted by {name}; removed the unfinished run folder {out}\n"
    )
    assert seen == [True] and not out.exists()


def test_features_help_shows_the_models_own_training_defaults(capsys):
    """--task features --help shows FeatureMLP's defaults per objective (30 epochs, batch 2048
    for rating, 4096 for ranking), not the library's fallback of 20 epochs; explain its 8."""
    from graphrec.cli.main import main

    for task, expected in (("features", "(default: 30)"), ("explain", "(default: 8)")):
        with pytest.raises(SystemExit):
            main(["--task", task, "--help"])
        out = " ".join(capsys.readouterr().out.split())
        epochs = out.split("--epochs EPOCHS", 2)[2].split("--batch-size")[0]
        assert expected in epochs, (task, epochs)
    assert "2048 for --objective rating, 4096 for --objective ranking" in out


# ---------------------------------------------------------------- --split
def test_split_global_time_is_run_and_recorded(cli, synthetic, tmp_path, monkeypatch):
    """--split global-time reaches the task's split; its kind and cut times are recorded in
    config.json, and the default run folder names the split."""
    from graphrec.data.split import global_time_split
    from graphrec.data.synthetic import synthetic_graph

    out = tmp_path / "pop"
    quiet = ["--quiet"]
    assert cli(["--task", "pop", "--split", "global-time", "--out", str(out), *quiet]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["config"]["split"] == "global-time"
    assert config["split"]["kind"] == "global-time"
    assert set(config["split"]["cuts"]) == {"valid_quantile", "test_quantile", "t_valid", "t_test"}
    metrics = json.loads((out / "metrics.json").read_text())
    expected = global_time_split(synthetic_graph(120, 200, 3000, seed=3))
    assert metrics["test"]["full"]["users"] == expected.test.size(1)
    assert config["split"]["cuts"]["t_test"] == expected.cuts["t_test"]

    # leave-one-out (the default) is recorded too, with no cuts
    assert cli(["--task", "pop", "--out", str(tmp_path / "loo"), *quiet]) == 0
    config = json.loads((tmp_path / "loo" / "config.json").read_text())
    assert config["config"]["split"] == "leave-one-out"
    assert config["split"] == {"kind": "leave-one-out", "cuts": None}

    monkeypatch.chdir(tmp_path)
    assert cli(["--task", "pop", "--split", "global-time", *quiet]) == 0
    assert len(list((tmp_path / "runs" / "pop-global-time").iterdir())) == 1
    assert not (tmp_path / "runs" / "pop").exists()


def test_split_bad_value_is_a_usage_error(cli, capsys):
    with pytest.raises(SystemExit) as exc:
        cli(["--task", "pop", "--split", "random"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--split: invalid choice: 'random'" in err and "global-time" in err


def test_benchmark_task_takes_the_split(cli, tmp_path, monkeypatch):
    import graphrec.cli.benchmark as bench
    from graphrec.data.synthetic import synthetic_graph

    graph = synthetic_graph(120, 200, 3000, seed=3)
    monkeypatch.setattr(bench, "load_graph", lambda args: graph)
    monkeypatch.chdir(tmp_path)
    argv = ["--task", "benchmark", "--models", "ItemPop", "--seeds", "2", "--quiet"]
    assert cli([*argv, "--split", "global-time", "--threads", "1"]) == 0
    (run,) = (tmp_path / "runs" / "benchmark-global-time").iterdir()
    md = (run / "benchmark.md").read_text()
    assert "global temporal split" in md and "split=global-time" in md and "t_test" in md
    assert json.loads((run / "metrics.json").read_text())["meta"]["split"] == "global-time"
    assert json.loads((run / "config.json").read_text())["split"]["kind"] == "global-time"
    assert (run / "benchmark_users.npz").is_file()
    assert cli([*argv, "--threads", "1"]) == 0  # leave-one-out: its own folder
    (loo,) = (tmp_path / "runs" / "benchmark").iterdir()
    assert "temporal leave-one-out split" in (loo / "benchmark.md").read_text()
