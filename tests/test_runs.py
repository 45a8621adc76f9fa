"""Run folders: a failed task removes the folder it created, never one that existed."""

from __future__ import annotations

import os

from graphrec.runs import RunDir, created_count, discard_created


def test_discard_created_removes_only_new_folders(tmp_path):
    earlier = RunDir("t", tmp_path / "earlier")  # a run claimed before the mark
    mark = created_count()
    new = RunDir("t", tmp_path / "new" / "run")
    new.write_config({"a": 1}, seed=0)
    assert discard_created(mark) == [tmp_path / "new" / "run"]
    assert not (tmp_path / "new" / "run").exists()
    assert discard_created(mark) == [] and earlier.path.exists()


def test_report_lists_the_files_actually_written(tmp_path, capsys):
    import json

    run = RunDir("t", tmp_path / "run")
    run.write_config({"epochs": 3, "_model_options": ["embedding_dim"]}, seed=1)
    run.write_json("metrics.json", {"a": 1})
    (run.path / "model").mkdir()
    (run.path / "model" / "weights.pt").write_bytes(b"x")
    (run.path / ".partial").write_text("")  # hidden files are not reported
    run.report()
    out = capsys.readouterr().out.strip()
    assert out == f"wrote {run.path}/: config.json, metrics.json, model/weights.pt"
    config = json.loads((run.path / "config.json").read_text())
    assert config["config"] == {"epochs": 3} and config["seed"] == 1  # private keys dropped


# ------------------------------------------------------------------ one run per folder
def _old_run(path, task="gmf"):
    """A finished run folder, as an earlier task left it."""
    from graphrec.runs import finish_created

    mark = created_count()
    run = RunDir(task, path)
    run.write_config({"task": task}, seed=0)
    run.write_json("metrics.json", {"task": task})
    (run.path / "history.csv").write_text("epoch,loss\n1,0.5\n")
    finish_created(mark)
    return run.path


def _snapshot(path):
    return {
        str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()
    }


def test_a_folder_that_holds_anything_is_refused_without_overwrite(tmp_path):
    import pytest

    from graphrec.runs import RunDirError

    old = _old_run(tmp_path / "run")
    before = _snapshot(old)
    with pytest.raises(RunDirError, match=r"already holds a run \(a gmf run: config\.json"):
        RunDir("pop", old)
    stray = tmp_path / "notes"
    stray.mkdir()
    (stray / "todo.txt").write_text("x")
    with pytest.raises(RunDirError, match=r"notes already holds a run \(todo\.txt\); pass "):
        RunDir("pop", stray)
    # --overwrite replaces run folders only: a folder without config.json stays as it is
    with pytest.raises(RunDirError, match="not a graphrec run .*no config.json"):
        RunDir("pop", stray, overwrite=True)
    assert _snapshot(old) == before and (stray / "todo.txt").read_text() == "x"


def test_overwrite_keeps_the_old_run_until_the_new_one_finishes(tmp_path):
    from graphrec.runs import finish_created

    old = _old_run(tmp_path / "run")
    before = _snapshot(old)
    # a new run that fails: its files go, the old run comes back untouched
    mark = created_count()
    new = RunDir("pop", old, overwrite=True)
    assert new.path == old and new.files() == []  # a fresh folder: nothing of the old run
    new.write_config({"task": "pop"}, seed=1)
    assert discard_created(mark) == [old]
    assert _snapshot(old) == before
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no moved-aside copy left
    # a new run that finishes: only its own files remain
    mark = created_count()
    new = RunDir("pop", old, overwrite=True)
    new.write_config({"task": "pop"}, seed=1)
    new.write_json("metrics.json", {"task": "pop"})
    assert finish_created(mark) == [old]
    assert new.files() == ["config.json", "metrics.json"]  # no history.csv of the old run
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_a_finished_run_that_wrote_nothing_leaves_no_folder(tmp_path):
    from graphrec.runs import finish_created

    mark = created_count()
    RunDir("map", tmp_path / "unused")  # e.g. a task that writes into another run's folder
    assert finish_created(mark) == [tmp_path / "unused"] and not (tmp_path / "unused").exists()


def test_an_empty_folder_is_claimed_and_given_back_empty(tmp_path):
    import pytest

    from graphrec.runs import RunDirError

    empty = tmp_path / "empty"
    empty.mkdir()
    mark = created_count()
    run = RunDir("pop", empty)
    run.write_config({}, seed=0)
    with pytest.raises(RunDirError, match="already holds a run"):
        RunDir("pop", empty)  # claimed: a second run cannot take it
    assert discard_created(mark) == [empty]
    assert empty.is_dir() and list(empty.iterdir()) == []  # the user's folder stays


def test_a_file_or_an_unwritable_place_is_a_clear_error(tmp_path):
    import pytest

    from graphrec.runs import RunDirError

    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(RunDirError, match="afile is a file, not a folder; pass a folder"):
        RunDir("pop", afile)
    with pytest.raises(RunDirError, match=r"afile/x/run: .*afile is a file, not a folder; pass"):
        RunDir("pop", afile / "x" / "run")
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o555)
        with pytest.raises(RunDirError, match=r"cannot create the folder \(Permission denied\)"):
            RunDir("pop", locked / "run")
    assert afile.read_text() == "x"


# ------------------------------------------------------------------ runs started together
def _claim_in_child(cwd, barrier, results, fail):
    import os
    import pathlib

    import graphrec.runs as runs

    os.chdir(cwd)
    runs._stamp = lambda: "20250101-000000"  # every process races for the same name
    mark = runs.created_count()
    try:
        barrier.wait()
        # the race at its worst: each process sees the name free, as when all of them look
        # before any creates it; only an exclusive mkdir can then tell them apart
        exists = pathlib.Path.exists
        pathlib.Path.exists = lambda self, **kw: False
        try:
            run = runs.RunDir("t")
        finally:
            pathlib.Path.exists = exists
        run.write_config({"fail": fail}, seed=0)
        barrier.wait()  # every process holds its folder
        if fail:
            runs.discard_created(mark)  # a failing run cleans up
        barrier.wait()
        results.put((str(run.path), fail, (run.path / "config.json").is_file()))
    except Exception as exc:  # report it at once rather than leave the others waiting
        barrier.abort()
        results.put(("error", fail, repr(exc)))


def test_runs_started_together_get_their_own_folders(tmp_path):
    import multiprocessing as mp

    ctx = mp.get_context("fork")  # no re-import: the processes start within milliseconds
    n = 4
    barrier, results = ctx.Barrier(n, timeout=30), ctx.Queue()
    procs = [
        ctx.Process(target=_claim_in_child, args=(tmp_path, barrier, results, i == 0))
        for i in range(n)
    ]
    for p in procs:
        p.start()
    got = [results.get(timeout=60) for _ in range(n)]
    for p in procs:
        p.join(timeout=30)
    errors = [what for path, _, what in got if path == "error"]
    assert not errors, errors
    paths = sorted(path for path, _, _ in got)
    assert len(set(paths)) == n, f"runs shared a folder: {paths}"
    base = "runs/t/20250101-000000"
    assert paths == sorted([base, *(f"{base}-{i}" for i in range(1, n))])
    for path, failed, has_config in got:
        # the failing run removed its own folder and nobody else's
        assert has_config is not failed, (path, failed)
        assert (tmp_path / path).exists() is not failed
