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


def main(argv: list[str] | None = None, prog: str = "graphrec") -> int:
    argv = sys.argv[1:] if argv is None else argv
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--task")
    known, _ = pre.parse_known_args(argv)
    parser = build_parser(known.task, prog)
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
