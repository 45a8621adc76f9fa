"""The command line: ``graphrec --task TASK [options]`` (or ``python experiments/run.py``).

``--help`` lists the tasks; ``--task TASK --help`` lists that task's options and the common
ones. Each task module of this package has ``add_arguments(parser)`` and ``run(args)``; the
registry :data:`graphrec.cli.TASKS` imports a module only when its task runs.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from graphrec.cli import TASKS

__all__ = ["build_parser", "main"]


def build_parser(task: str | None, prog: str = "graphrec") -> argparse.ArgumentParser:
    lines = "\n".join(f"  {name:12s} {doc}" for name, (_, doc) in TASKS.items())
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run a graphrec task on MovieLens as one heterogeneous PyG graph.",
        epilog=f"tasks:\n{lines}\n\nexample: {prog} --task item2vec",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--task", required=True, choices=list(TASKS), help="what to run")
    if task in TASKS:
        module = importlib.import_module(TASKS[task][0])
        from graphrec.cli.common import add_common_arguments

        add_common_arguments(parser, getattr(module, "DEFAULT_DATASET", "ml-100k"))
        module.add_arguments(parser.add_argument_group(f"{task} options"))
    return parser


def replay_defaults(path: str, task: str | None) -> tuple[str, dict]:
    """``(task, options)`` recorded in a run's ``config.json`` (``--config FILE``)."""
    import json
    from pathlib import Path

    file = Path(path)
    if file.is_dir():
        file = file / "config.json"
    try:
        recorded = json.loads(file.read_text())
        options, recorded_task = dict(recorded["config"]), recorded["task"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SystemExit(
            f"error: --config {path}: not a graphrec run's config.json ({exc}); pass the "
            "config.json a run folder holds"
        ) from None
    recorded_task = options.get("task", recorded_task)
    if task is not None and task != recorded_task:
        raise SystemExit(f"error: --config {path} is a {recorded_task!r} run, not {task!r}")
    for key in ("task", "out", "config"):  # a replay never writes into the recorded folder
        options.pop(key, None)
    return recorded_task, options


def main(argv: list[str] | None = None, prog: str = "graphrec") -> int:
    argv = sys.argv[1:] if argv is None else argv
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--task")
    pre.add_argument("--config")
    known, _ = pre.parse_known_args(argv)
    task, replay = known.task, {}
    if known.config:
        task, replay = replay_defaults(known.config, known.task)
        if known.task is None:
            argv = ["--task", task, *argv]
    parser = build_parser(task, prog)
    if replay:
        dests = {a.dest for a in parser._actions}
        parser.set_defaults(**{k: v for k, v in replay.items() if k in dests})
    args = parser.parse_args(argv)
    module = importlib.import_module(TASKS[args.task][0])
    from graphrec.data.graph import UnknownMovieError, UnknownUserError
    from graphrec.data.movielens import DatasetError
    from graphrec.runs import created_count, discard_created

    mark = created_count()
    try:
        module.run(args)
    except (DatasetError, UnknownUserError, UnknownMovieError, ValueError) as exc:
        discard_created(mark)  # no half-written run folder left behind
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BaseException:
        discard_created(mark)
        raise
    return 0


def console() -> None:
    """Entry point of the ``graphrec`` console script."""
    sys.exit(main())
