"""Arguments and steps shared by every task of ``experiments/run.py``."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable

from graphrec.data.graph import load_movielens
from graphrec.data.movielens import DATASETS
from graphrec.data.split import InteractionSplit, temporal_split
from graphrec.runs import RunDir

__all__ = [
    "bounded",
    "at_least",
    "positive",
    "non_negative",
    "fraction",
    "add_common_arguments",
    "load_graph",
    "make_split",
    "open_run",
    "log",
]


def bounded(
    kind: type = float,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
    hint: str = "",
) -> Callable[[str], int | float]:
    """An argparse ``type`` that reads an ``int`` or a finite ``float`` and checks its range.

    A value outside ``[low, high]`` (``(low, ...`` with ``low_open``, ``..., high)`` with
    ``high_open``; ``None``: unbounded) is a usage error at parse time, before any data is
    read, e.g. ``argument --epochs: must be an integer >= 1, got 0``. ``hint`` is added to
    the message (what the edge values mean, e.g. ``"0 keeps every neighbour"``).
    """
    noun = "an integer" if kind is int else "a number"
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {low:g}")
    if high is not None:
        parts.append(f"{'<' if high_open else '<='} {high:g}")
    need = f"must be {noun}" + (" " + " and ".join(parts) if parts else "")
    if hint:
        need += f" ({hint})"

    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{need}, got {text!r}") from None
        if kind is float and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{need}, got {value}")
        too_low = low is not None and (value <= low if low_open else value < low)
        too_high = high is not None and (value >= high if high_open else value > high)
        if too_low or too_high:
            raise argparse.ArgumentTypeError(f"{need}, got {value}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its other messages
    return parse


def at_least(low: int, hint: str = "") -> Callable[[str], int | float]:
    """argparse ``type``: an integer ``>= low``."""
    return bounded(int, low, hint=hint)


def positive(hint: str = "") -> Callable[[str], int | float]:
    """argparse ``type``: a finite number ``> 0``."""
    return bounded(float, 0, low_open=True, hint=hint)


def non_negative(hint: str = "") -> Callable[[str], int | float]:
    """argparse ``type``: a finite number ``>= 0``."""
    return bounded(float, 0, hint=hint)


def fraction(hint: str = "") -> Callable[[str], int | float]:
    """argparse ``type``: a number in ``[0, 1)`` (a dropout rate)."""
    return bounded(float, 0, 1, high_open=True, hint=hint)


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
        help="folder holding the data set's folder or zip, e.g. ../shared/data for "
        "ml-latest-small (default: the data root); given, the files must be there",
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
        help="do not compare the data with the published checksums and counts (rows are "
        "still validated)",
    )
    g.add_argument(
        "--min-rating",
        type=bounded(float),
        default=None,
        help="only ratings >= this are positives (default: every rating)",
    )
    g.add_argument("--out", default=None, help="run folder (default: runs/<task>/<timestamp>/)")
    g.add_argument(
        "--config",
        default=None,
        metavar="FILE",
        help="replay a run: take every option from its config.json (options given here win; "
        "the run goes to a new folder unless --out is given)",
    )
    g.add_argument("--seed", type=at_least(0), default=0, help="random seed (default: 0)")
    g.add_argument("--device", default="auto", help="auto (default), cpu or cuda[:N]")
    g.add_argument("--quiet", action="store_true", help="no progress bars or chatter")
    g.add_argument(
        "--progress",
        action="store_true",
        help="progress bars even when standard error is not a terminal (default: only on one)",
    )
    return parser


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
