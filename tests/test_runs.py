"""Run folders: a failed task removes the folder it created, never one that existed."""

from __future__ import annotations

from graphrec.runs import RunDir, created_count, discard_created


def test_discard_created_removes_only_new_folders(tmp_path):
    earlier = RunDir("t", tmp_path / "earlier")  # a finished run before the mark
    mark = created_count()
    old = tmp_path / "old"
    old.mkdir()
    (old / "metrics.json").write_text("{}")
    RunDir("t", old).write_config({"a": 1}, seed=0)
    new = RunDir("t", tmp_path / "new" / "run")
    new.write_config({"a": 1}, seed=0)
    assert discard_created(mark) == [tmp_path / "new" / "run"]
    assert not (tmp_path / "new" / "run").exists()
    assert (old / "metrics.json").exists() and (old / "config.json").exists()
    assert discard_created(mark) == [] and earlier.path.exists()
