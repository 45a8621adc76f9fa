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
