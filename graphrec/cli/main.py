"""The command line: ``graphrec --task TASK [options]`` (or ``python experiments/run.py``).

``--help`` lists the tasks; ``--task TASK --help`` lists that task's options and the common
ones. Each task module of this package has ``add_arguments(parser)`` and ``run(args)``; the
registry :data:`graphrec.cli.TASKS` imports a module only when its task runs.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import signal
import sys
import threading

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
    # a replay never writes into the recorded folder, nor replaces another one
    for key in ("task", "out", "config", "overwrite"):
        options.pop(key, None)
    return recorded_task, options


class Interrupted(BaseException):
    """SIGTERM or SIGHUP arrived: the run ends the way Ctrl-C ends it (a ``BaseException``, so
    no ``except Exception`` in a task swallows it)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


#: the signals that end a run like Ctrl-C: a killed job (SIGTERM), a closed terminal (SIGHUP)
END_SIGNALS = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n))


@contextlib.contextmanager
def _signals_end_the_run():
    """While the task runs, SIGTERM and SIGHUP raise :class:`Interrupted` in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise Interrupted(signum)

    old = {sig: signal.signal(sig, handler) for sig in END_SIGNALS}
    try:
        yield
    finally:
        for sig, previous in old.items():
            signal.signal(sig, previous)


@contextlib.contextmanager
def _signals_held():
    """Hold SIGINT, SIGTERM and SIGHUP (delivered afterwards) while a run folder is removed or
    restored, so a second signal cannot leave it half done."""
    held = {signal.SIGINT, *END_SIGNALS}
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def main(argv: list[str] | None = None, prog: str = "graphrec") -> int:
    """Run one task; returns the exit status.

    0: done. 2: an error of the input (the data, an option, a file), printed as one line
    ``error: ...``. 128 + N: ended by signal N (SIGINT 130, SIGTERM 143, SIGHUP 129). Every
    way a run ends early ends the same way: the run folder it claimed is removed (an old run
    that ``--overwrite`` moved aside is put back) before the status is returned. Any other
    exception is a bug in graphrec: its traceback is printed, after the same cleanup.
    """
    argv = sys.argv[1:] if argv is None else argv
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--task")
    pre.add_argument("--config")
    known, _ = pre.parse_known_args(argv)
    task, replay = known.task, {}
    if known.config:
        try:
            task, replay = replay_defaults(known.config, known.task)
        except SystemExit as exc:
            if not isinstance(exc.code, str):
                raise
            print(exc.code, file=sys.stderr)
            return 2
        if known.task is None:
            argv = ["--task", task, *argv]
    parser = build_parser(task, prog)
    if replay:
        dests = {a.dest for a in parser._actions}
        parser.set_defaults(**{k: v for k, v in replay.items() if k in dests})
    args = parser.parse_args(argv)
    module = importlib.import_module(TASKS[args.task][0])
    from graphrec.cli.common import start_run
    from graphrec.data.graph import UnknownMovieError, UnknownUserError
    from graphrec.data.movielens import DatasetError
    from graphrec.runs import created_count, discard_created, finish_created

    def cleanup() -> list:
        with _signals_held():
            return discard_created(mark)

    mark = created_count()
    with _signals_end_the_run():
        try:
            _join_process_group(module, args)
            # the device and the run folder, checked before any data is read
            start_run(args, claim=getattr(module, "RUN_FOLDER", True))
            module.run(args)
            with _signals_held():
                finish_created(mark)
        except (
            DatasetError,
            UnknownUserError,
            UnknownMovieError,
            ValueError,
            FloatingPointError,
        ) as exc:
            cleanup()  # no half-written run folder left behind
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except SystemExit as exc:
            cleanup()
            if not isinstance(exc.code, str):  # argparse's --help (0) and usage errors (2)
                raise
            message = exc.code if exc.code.startswith("error: ") else f"error: {exc.code}"
            print(message, file=sys.stderr)
            return 2
        except (Interrupted, KeyboardInterrupt) as exc:
            signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
            removed = cleanup()
            what = (
                f"removed the unfinished run folder {removed[0]}"
                if removed
                else "no run folder was left"
            )
            print(f"error: interrupted by {signal.Signals(signum).name}; {what}", file=sys.stderr)
            return 128 + int(signum)
        except BaseException:
            cleanup()
            raise
        finally:
            from graphrec.distributed import teardown

            teardown()
    return 0


def _join_process_group(module, args: argparse.Namespace) -> None:
    """Under ``torchrun --nproc-per-node N`` (N > 1): check that the task trains
    data-parallel, join the process group (``--backend``) and silence the ranks other than
    0 (they print errors only). A single process: nothing."""
    from graphrec import distributed

    if not distributed.launched():
        return
    tasks = getattr(module, "DATA_PARALLEL", ())
    if args.task not in tasks or (args.task == "neumf" and getattr(args, "pretrain", False)):
        raise ValueError(
            f"--task {args.task}{' --pretrain' if args.task == 'neumf' else ''} does not run "
            "data-parallel (torchrun --nproc-per-node N); the tasks that do: bpr, lightgcn, "
            "gmf, mlp, neumf (without --pretrain). Run it as one process"
        )
    distributed.init(args.backend, args.device)
    if not distributed.is_main():
        args.quiet, args.progress = True, False


def console() -> None:
    """Entry point of the ``graphrec`` console script."""
    sys.exit(main())
