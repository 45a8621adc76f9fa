"""Arguments and steps shared by every task of ``experiments/run.py``."""

from __future__ import annotations

import argparse
import sys

from graphrec.data.graph import load_movielens
from graphrec.data.movielens import DATASETS
from graphrec.data.split import InteractionSplit, temporal_split
from graphrec.runs import RunDir

__all__ = [
    "add_common_arguments",
    "task_defaults",
    "load_graph",
    "make_split",
    "open_run",
    "log",
]


def add_common_arguments(parser: argparse.ArgumentParser, default_dataset: str = "ml-100k"):
    g = parser.add_argument_group("common options")
    g.add_argument(
        "--dataset",
        default=default_dataset,
        choices=sorted(DATASETS),
        help=f"MovieLens data set (default: {default_dataset})",
    )
    g.add_argument(
        "--data-dir",
        default=None,
        help="data root for raw files and caches (default: $GRAPHREC_DATA, else "
        "datasets/ in a checkout, else ~/.cache/graphrec)",
    )
    g.add_argument(
        "--raw-dir",
        default=None,
        help="where already-downloaded files are (default: the data root), e.g. "
        "../shared/data for ml-latest-small",
    )
    g.add_argument(
        "--source",
        default="auto",
        choices=["auto", "local", "grouplens", "registry"],
        help="where to get the data (default: auto = local, GroupLens, registry)",
    )
    g.add_argument(
        "--drop-bad-rows",
        action="store_true",
        help="skip ratings naming unknown users/movies instead of failing",
    )
    g.add_argument(
        "--no-verify",
        action="store_true",
        help="do not check the data against the published checksums",
    )
    g.add_argument(
        "--min-rating",
        type=float,
        default=None,
        help="only ratings >= this are positives (default: every rating)",
    )
    g.add_argument("--out", default=None, help="run folder (default: runs/<task>/<timestamp>/)")
    g.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    g.add_argument("--device", default="auto", help="auto (default), cpu or cuda[:N]")
    g.add_argument("--quiet", action="store_true", help="no progress bars or chatter")
    return parser


def task_defaults(module, **overrides) -> argparse.Namespace:
    """The arguments a task module would get from ``experiments/run.py`` with no options given,
    with ``overrides`` (keyword names as attributes, e.g. ``batch_size=4096``) applied.

    Lets code call a task's functions with exactly the CLI's defaults (the benchmark does).
    Unknown override names raise, so a renamed option cannot be silently ignored.
    """
    parser = argparse.ArgumentParser(add_help=False)
    add_common_arguments(parser)
    module.add_arguments(parser)
    args = parser.parse_args([])
    unknown = sorted(set(overrides) - set(vars(args)))
    if unknown:
        raise ValueError(f"{module.__name__} has no option(s) {unknown}")
    for key, value in overrides.items():
        setattr(args, key, value)
    return args


def log(args, *msg) -> None:
    if not getattr(args, "quiet", False):
        print(*msg, file=sys.stderr)


def load_graph(args):
    return load_movielens(
        args.dataset,
        args.data_dir,
        raw_dir=args.raw_dir,
        source=args.source,
        bad_rows="drop" if args.drop_bad_rows else "error",
        verify=not args.no_verify,
        verbose=not args.quiet,
    )


def make_split(args, data) -> InteractionSplit:
    return temporal_split(data, min_rating=args.min_rating)


def open_run(args, task: str) -> RunDir:
    run = RunDir(task, args.out)
    run.write_config({k: v for k, v in vars(args).items()}, args.seed)
    return run
