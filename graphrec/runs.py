"""The run folder every task writes: config, metrics, history, figures, checkpoint.

``runs/<task>/<timestamp>/`` by default (``--out DIR`` to choose). ``config.json`` holds the
resolved configuration, the seed and the package versions; ``metrics.json`` follows one
schema for every task::

    {"task", "dataset", "model", "seed",
     "valid": {"sampled": {"hr@10", "ndcg@10", ...}, "full": {...}},
     "test":  {"sampled": {...}, "full": {...}},
     "timing": {...}}
"""

from __future__ import annotations

import datetime as _dt
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from graphrec.evaluate import PROTOCOLS, evaluate
from graphrec.io import package_versions, write_json

__all__ = ["RunDir", "evaluate_all", "created_count", "discard_created"]

#: folders this process created for runs (see :func:`discard_created`)
_CREATED: list[Path] = []


class RunDir:
    """A run folder. Files are written atomically, so a crash leaves no half-written file."""

    def __init__(self, task: str, out: str | os.PathLike | None = None) -> None:
        if out is None:
            stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            base = Path("runs") / task / stamp
            path, i = base, 1
            while path.exists():
                path, i = Path(f"{base}-{i}"), i + 1
        else:
            path = Path(out)
        if not path.exists():
            _CREATED.append(path)
        path.mkdir(parents=True, exist_ok=True)
        self.path, self.task = path, task

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    def write_config(self, config: dict[str, Any], seed: int) -> Path:
        return write_json(
            self.path / "config.json",
            {
                "task": self.task,
                "seed": seed,
                "config": {k: v for k, v in config.items() if not k.startswith("_")},
                "versions": package_versions(),
                "command": sys.argv,
                "created": _dt.datetime.now().isoformat(timespec="seconds"),
            },
        )

    def write_metrics(self, metrics: dict[str, Any]) -> Path:
        return write_json(self.path / "metrics.json", metrics)

    def write_json(self, name: str, obj: Any) -> Path:
        return write_json(self.path / name, obj)

    def files(self) -> list[str]:
        """The files in the folder now (relative paths, sorted; hidden files left out)."""
        return sorted(
            str(p.relative_to(self.path))
            for p in self.path.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.parts)
        )

    def report(self, out=None) -> None:
        """Print the folder and the files actually in it (on standard output)."""
        listed = ", ".join(self.files())
        print(f"wrote {self.path}/: {listed}", file=out or sys.stdout)


def created_count() -> int:
    """How many run folders this process has created so far (a mark for
    :func:`discard_created`)."""
    return len(_CREATED)


def discard_created(since: int = 0) -> list[Path]:
    """Remove the run folders this process created after mark ``since`` (a task that failed
    part way: its folder holds a config but no results, and would pass for a run). Returns
    what was removed; folders that existed before (``--out`` pointing at an old run) and
    folders created before the mark are left alone."""
    removed = []
    while len(_CREATED) > since:
        path = _CREATED.pop()
        if path.exists():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def evaluate_all(
    model, split, k: int = 10, seed: int = 0, stages=("valid", "test"), protocols=PROTOCOLS
) -> dict[str, dict[str, dict]]:
    """``{stage: {protocol: metrics}}`` for the metrics.json schema."""
    return {
        st: {p: evaluate(model, split, st, p, k=k, seed=seed) for p in protocols} for st in stages
    }
