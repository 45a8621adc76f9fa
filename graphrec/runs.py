"""The run folder every task writes: config, metrics, history, figures, checkpoint.

``runs/<task>/<timestamp>/`` by default (``--out DIR`` to choose). ``config.json`` holds the
resolved configuration, the seed and the package versions; ``metrics.json`` follows one
schema for every task::

    {"task", "dataset", "model", "seed",
     "valid": {"sampled": {"hr@10", "ndcg@10", ...}, "full": {...}},
     "test":  {"sampled": {...}, "full": {...}},
     "timing": {...}}

**A folder holds one run, and a run owns its folder.**

- The default folder is made with an exclusive ``mkdir`` (``runs/<task>/<timestamp>``, else
  ``<timestamp>-1``, ``-2``, ...): two runs started in the same second get two folders.
- ``--out DIR`` must name a folder that does not exist yet or is empty; a folder that holds
  anything is refused (:class:`RunDirError`) unless ``overwrite`` is given. An existing empty
  folder is claimed by creating the hidden marker ``.graphrec-run`` exclusively, so two runs
  cannot both take it.
- ``overwrite`` (``--overwrite``) replaces an old run folder (one that holds a
  ``config.json``; any other non-empty folder is refused, so a typo cannot move a home
  folder away): the old folder is renamed aside to a hidden sibling
  ``.<name>.replaced-<pid>-<n>``, the new run is written into a fresh folder of the old name,
  and the old one is deleted only when the new run finishes (:func:`finish_created`). A run
  that fails or is interrupted is removed and the old folder is renamed back, untouched. A
  folder that another live process is writing (its marker names a running pid) is never
  replaced. After a ``kill -9`` the old run stays in the hidden sibling.
- While a run is being written its folder holds ``.graphrec-run`` (the pid, the task); a run
  that finishes removes it (and the folder, if the task wrote nothing there). Cleanup
  (:func:`discard_created`) only ever removes folders this process created itself, never one
  that existed before.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphrec.io import package_versions, write_json

__all__ = [
    "RunDir",
    "RunDirError",
    "MARKER",
    "evaluate_all",
    "check_k",
    "created_count",
    "discard_created",
    "finish_created",
]

#: the hidden file that marks a folder as claimed by a run being written
MARKER = ".graphrec-run"


class RunDirError(ValueError):
    """A run folder that cannot be used: it holds another run, is a file, or cannot be
    written. The message names the folder and what to pass instead."""


@dataclass
class _Claim:
    path: Path
    #: the folder existed (empty) before this run: cleanup empties it but leaves it
    existed: bool = False
    #: an old run renamed aside by ``overwrite``: restored on failure, deleted on success
    backup: Path | None = None


#: folders this process claimed for runs, in order (see :func:`discard_created`)
_CREATED: list[_Claim] = []


def _stamp() -> str:
    return _dt.datetime.now().strftime("%Y%m%d-%H%M%S")


def _why(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _listing(path: Path, limit: int = 4) -> str:
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in path.iterdir())
    shown = ", ".join(names[:limit])
    if len(names) > limit:
        shown += f", ... ({len(names)} entries)"
    try:
        task = json.loads((path / "config.json").read_text()).get("task")
    except (OSError, ValueError, AttributeError):
        task = None
    return f"a {task} run: {shown}" if task else shown


def _marker_pid(path: Path) -> int | None:
    """The pid named by the folder's marker, if that process is still running."""
    try:
        pid = int(json.loads((path / MARKER).read_text())["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:  # alive, someone else's
        return pid
    return pid


def _write_marker(path: Path, task: str) -> None:
    """Create ``path/.graphrec-run`` exclusively (``FileExistsError`` if it is there)."""
    fd = os.open(path / MARKER, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "w") as fh:
        json.dump({"pid": os.getpid(), "task": task, "started": _dt.datetime.now().isoformat()}, fh)


class RunDir:
    """A run folder this process owns (see the module docstring for the rules). Files are
    written atomically, so a crash leaves no half-written file.

    Args:
        task: the task name (the default folder is ``<root>/<task>/<timestamp>``).
        out: the folder to write (default: a new timestamped one).
        overwrite: replace an old run folder at ``out`` (moved aside, deleted when the new run
            finishes, restored if it fails).
        root: where default folders go (default ``runs``).
        name: the folder under ``root`` that holds the default folders (default: ``task``).

    Raises:
        RunDirError: ``out`` holds files (and ``overwrite`` is not given or it is not a run
            folder), is a file, or cannot be created.
    """

    def __init__(
        self,
        task: str,
        out: str | os.PathLike | None = None,
        *,
        overwrite: bool = False,
        root: str | os.PathLike = "runs",
        name: str | None = None,
    ) -> None:
        self.task = task
        parent = Path(root) / (name or task)
        claim = _claim_default(parent) if out is None else _claim(Path(out), overwrite)
        try:
            _write_marker(claim.path, task)
        except FileExistsError:  # only for an existing empty folder: another run took it
            raise RunDirError(
                f"--out {claim.path} was just claimed by another run; pass another --out"
            ) from None
        except OSError as exc:
            _undo(claim)
            raise RunDirError(
                f"--out {claim.path}: cannot write in the folder ({_why(exc)}); pass a "
                "writable --out"
            ) from None
        _CREATED.append(claim)
        self.path = claim.path

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    def write_config(self, config: dict[str, Any], seed: int, split: dict | None = None) -> Path:
        """``config.json``: the task, seed, options, the processes that trained together, and
        (``split``) the split's kind and cuts."""
        from graphrec import distributed

        return write_json(
            self.path / "config.json",
            {
                "task": self.task,
                "seed": seed,
                # processes that trained together (torchrun) and their backend (None: one)
                "world_size": distributed.world_size(),
                "backend": distributed.backend(),
                "config": {k: v for k, v in config.items() if not k.startswith("_")},
                **({"split": split} if split is not None else {}),
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


def _claim_default(parent: Path) -> _Claim:
    """``parent/<timestamp>``, else ``-1``, ``-2``, ...: the first one an exclusive
    ``mkdir`` makes (so concurrent runs never share one)."""
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunDirError(
            f"cannot create the run folder under {parent} ({_why(exc)}); pass a writable --out"
        ) from None
    base = parent / _stamp()
    for i in range(10_000):
        path = base if i == 0 else Path(f"{base}-{i}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        except OSError as exc:
            raise RunDirError(
                f"cannot create the run folder {path} ({_why(exc)}); pass a writable --out"
            ) from None
        return _Claim(path)
    raise RunDirError(f"{base}-* : 10000 run folders in one second; pass --out")


def _claim(path: Path, overwrite: bool) -> _Claim:
    """Own ``path``: create it, claim it if it is empty, or (``overwrite``) move an old run
    aside and create it afresh."""
    if path.exists() and not path.is_dir():
        raise RunDirError(f"--out {path} is a file, not a folder; pass a folder for the run")
    for above in path.parents:
        if above.exists():
            if not above.is_dir():
                raise RunDirError(
                    f"--out {path}: {above} is a file, not a folder; pass another --out"
                )
            break
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunDirError(
            f"--out {path}: cannot create its parent folder ({_why(exc)}); pass a writable --out"
        ) from None
    try:
        path.mkdir()
        return _Claim(path)
    except FileExistsError:
        pass
    except OSError as exc:
        raise RunDirError(
            f"--out {path}: cannot create the folder ({_why(exc)}); pass a writable --out"
        ) from None
    if not path.is_dir():
        raise RunDirError(f"--out {path} is a file, not a folder; pass a folder for the run")
    if not any(path.iterdir()):
        return _Claim(path, existed=True)  # the marker, created exclusively, claims it
    if not overwrite:
        raise RunDirError(
            f"--out {path} already holds a run ({_listing(path)}); pass --overwrite or "
            "another --out"
        )
    pid = _marker_pid(path)
    if pid is not None and pid != os.getpid():
        raise RunDirError(
            f"--out {path} is being written by a run in process {pid}; pass another --out"
        )
    if not (path / "config.json").is_file():
        raise RunDirError(
            f"--out {path} holds files that are not a graphrec run ({_listing(path)}; no "
            "config.json): --overwrite only replaces run folders; pass another --out"
        )
    for n in range(10_000):
        backup = path.parent / f".{path.name}.replaced-{os.getpid()}-{n}"
        if not backup.exists():
            break
    try:
        os.rename(path, backup)
    except OSError as exc:
        raise RunDirError(
            f"--out {path}: cannot move the old run aside ({_why(exc)}); pass another --out"
        ) from None
    try:
        path.mkdir()
    except OSError as exc:  # someone made it in between: give the old run back
        with contextlib.suppress(OSError):
            os.rename(backup, path)
        raise RunDirError(
            f"--out {path}: cannot create the folder after moving the old run aside "
            f"({_why(exc)}); pass another --out"
        ) from None
    return _Claim(path, backup=backup)


def _undo(claim: _Claim) -> bool:
    """Remove what the run wrote in ``claim`` and put back what was there; True when the
    folder was there to remove."""
    path = claim.path
    found = path.exists()
    if claim.existed:  # an empty folder the user made: empty it again
        for child in list(path.iterdir()) if found else []:
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    child.unlink()
    elif found:
        shutil.rmtree(path, ignore_errors=True)
    if claim.backup is not None and claim.backup.exists() and not path.exists():
        os.rename(claim.backup, path)
    return found


def created_count() -> int:
    """How many run folders this process has claimed so far (a mark for
    :func:`discard_created` and :func:`finish_created`)."""
    return len(_CREATED)


def discard_created(since: int = 0) -> list[Path]:
    """Remove the run folders this process claimed after mark ``since`` (a task that failed
    or was interrupted part way: its folder holds a config but no results, and would pass
    for a run), newest first, and put back any old run ``overwrite`` moved aside. Returns
    what was removed. Folders that existed before are never removed: an empty one is emptied
    again, an overwritten one restored."""
    removed = []
    while len(_CREATED) > since:
        claim = _CREATED.pop()
        if _undo(claim):
            removed.append(claim.path)
    return removed


def finish_created(since: int = 0) -> list[Path]:
    """Mark the run folders claimed after ``since`` as finished: remove their
    ``.graphrec-run`` markers and delete the old runs ``overwrite`` moved aside. A folder
    this process made that is still empty (a task that wrote nothing there, e.g. one that
    adds to another run's folder) is removed. Returns the finished folders."""
    done = []
    while len(_CREATED) > since:
        claim = _CREATED.pop()
        with contextlib.suppress(FileNotFoundError):
            (claim.path / MARKER).unlink()
        if not claim.existed:
            with contextlib.suppress(OSError):  # not empty: it holds the run
                claim.path.rmdir()
        if claim.backup is not None:
            shutil.rmtree(claim.backup, ignore_errors=True)
        done.append(claim.path)
    return done[::-1]


def check_k(split, k: int, option: str = "k", num_negatives: int = 99) -> None:
    """Raise ``ValueError`` unless ``k`` is below the number of candidates every evaluated user
    has under both protocols.

    HR@K is the share of users whose held-out movie ranks in the top K of its candidates. A
    user with K or fewer candidates is a hit by construction. Under ``sampled`` every user has
    ``1 + num_negatives`` candidates (100), so HR@100 is 1 for every model; under ``full`` a
    user's candidates are every movie but their train movies (and, for test, their valid
    movie). The rule: ``k`` < min(100, the fewest full-protocol candidates of any valid or
    test user); on ML-100K that is ``k`` <= 99. Also raises when a user has fewer than
    ``num_negatives`` unrated movies, so the sampled protocol cannot be drawn at all.
    """
    limit = 1 + num_negatives
    why = (
        f"the sampled protocol ranks each held-out movie among {limit} candidates "
        f"(1 + {num_negatives} negatives), so HR@{k} would be 1 by construction"
    )
    import torch

    counts = split.train_ptr[1:] - split.train_ptr[:-1]
    rated = torch.bincount(split.rated_keys // split.num_movies, minlength=split.num_users)
    for stage, extra in (("valid", 0), ("test", 1)):
        users, _ = split.held_out(stage)
        if users.numel() == 0:
            continue
        unrated = split.num_movies - int(rated[users].max())
        if unrated < num_negatives:  # found now, not after training
            raise ValueError(
                f"the sampled protocol ranks each held-out movie against {num_negatives} movies "
                f"the user never rated, but a {stage} user rated all but {unrated} of the "
                f"{split.num_movies} movies: this data set is too small for it"
            )
        fewest = split.num_movies - int(counts[users].max()) - extra
        if fewest < limit:
            limit = fewest
            why = (
                f"under the full protocol a {stage} user has only {fewest} candidates "
                f"({split.num_movies} movies minus their train"
                + (" and valid" if extra else "")
                + f" movies) and would be a hit at K = {k} by construction"
            )
    if k >= limit:
        raise ValueError(f"{option} {k} is too large: {why}; pass {option} {limit - 1} or less")


def evaluate_all(
    model, split, k: int = 10, seed: int = 0, stages=("valid", "test"), protocols=None
) -> dict[str, dict[str, dict]]:
    """``{stage: {protocol: metrics}}`` for the metrics.json schema (``k`` checked by
    :func:`check_k`)."""
    from graphrec.evaluate import PROTOCOLS, evaluate

    check_k(split, k, "k")
    protocols = PROTOCOLS if protocols is None else protocols
    return {
        st: {p: evaluate(model, split, st, p, k=k, seed=seed) for p in protocols} for st in stages
    }
