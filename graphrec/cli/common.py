"""Arguments and steps shared by every task of ``experiments/run.py``."""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Callable

from graphrec.data.graph import load_movielens
from graphrec.data.movielens import DATASETS, DatasetError
from graphrec.data.split import SPLITS, InteractionSplit, make_interaction_split
from graphrec.io import resolve_device
from graphrec.runs import RunDir, check_k

__all__ = [
    "SEED_MAX",
    "bounded",
    "device_option",
    "at_least",
    "positive",
    "non_negative",
    "fraction",
    "add_common_arguments",
    "load_graph",
    "make_split",
    "default_folder",
    "check_k_options",
    "start_run",
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

    def shown(v: float) -> str:  # integers in full (a seed's limit is not 4.29497e+09)
        return str(int(v)) if kind is int else f"{v:g}"

    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {shown(low)}")
    if high is not None:
        parts.append(f"{'<' if high_open else '<='} {shown(high)}")
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


#: the largest --seed: numpy's legacy seeding (np.random.seed) takes 32 bits, torch 64; within
#: 0..2**32-1 every generator takes the seed as given, so two seeds never share a stream
SEED_MAX = 2**32 - 1

_DEVICE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def device_option(text: str) -> str:
    """argparse ``type`` of ``--device``: ``auto``, ``cpu``, ``cuda`` or ``cuda:N`` (whether that
    device exists is checked by :func:`start_run`, before any data is read)."""
    value = text.strip().lower()
    if not _DEVICE.match(value):
        raise argparse.ArgumentTypeError(f"must be auto, cpu, cuda or cuda:N, got {text!r}")
    return value


def add_common_arguments(parser: argparse.ArgumentParser, default_dataset: str = "ml-100k"):
    g = parser.add_argument_group("common options")
    g.add_argument(
        "--dataset",
        default=default_dataset,
        choices=[*sorted(DATASETS), "csv"],
        help=f"MovieLens data set, or csv for your own --interactions file (default: "
        f"{default_dataset})",
    )
    g.add_argument(
        "--interactions",
        default=None,
        metavar="PATH",
        help="--dataset csv: the interactions file (CSV, TSV or Parquet), one row per rating",
    )
    g.add_argument(
        "--items",
        default=None,
        metavar="PATH",
        help="--dataset csv: an items table (title, |-separated genres, numeric features)",
    )
    g.add_argument(
        "--users",
        default=None,
        metavar="PATH",
        help="--dataset csv: a users table (numeric columns become features)",
    )
    g.add_argument(
        "--columns",
        default=None,
        metavar="ROLE=COL,...",
        help="--dataset csv: column names, e.g. user=uid,item=mid,rating=stars,time=ts,"
        "title=name,genres=tags (default: user, item; no rating = implicit, no time = file "
        "order)",
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
    g.add_argument(
        "--split",
        default=SPLITS[0],
        choices=list(SPLITS),
        help="how train / valid / test are cut: leave-one-out (default: each user's latest "
        "positive is test, the one before valid) or global-time (one cut time for everyone, "
        "no user's future in train; the default run folder is then runs/<task>-global-time/)",
    )
    g.add_argument(
        "--out",
        default=None,
        help="run folder: a new or empty folder (default: a new runs/<task>/<timestamp>/); a "
        "folder that holds anything is refused unless --overwrite",
    )
    g.add_argument(
        "--overwrite",
        action="store_true",
        help="let --out replace an old run folder: the old one is moved aside, deleted when "
        "this run finishes and put back if it fails or is interrupted",
    )
    g.add_argument(
        "--config",
        default=None,
        metavar="FILE",
        help="replay a run: take every option from its config.json (options given here win; "
        "the run goes to a new folder unless --out is given)",
    )
    g.add_argument(
        "--seed",
        type=bounded(int, 0, SEED_MAX),
        default=0,
        help=f"random seed, 0..{SEED_MAX} (default: 0)",
    )
    g.add_argument(
        "--device",
        type=device_option,
        default="auto",
        help="auto (default: CUDA when torch sees one), cpu, cuda or cuda:N; checked before "
        "any data is read, also by tasks that run on the CPU only (stats, pop)",
    )
    g.add_argument(
        "--backend",
        default="auto",
        choices=["auto", "gloo", "nccl"],
        help="torch.distributed backend under torchrun --nproc-per-node N (default: auto = "
        "nccl on CUDA, gloo on the CPU); one process ignores it",
    )
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
    if getattr(args, "dataset", None) == "csv":
        return _load_csv(args)
    return load_movielens(
        args.dataset,
        args.data_dir,
        raw_dir=args.raw_dir,
        source=args.source,
        bad_rows="drop" if args.drop_bad_rows else "error",
        verify=not args.no_verify,
        verbose=not args.quiet,
    )


def _load_csv(args):
    """The graph of ``--dataset csv --interactions PATH [--items] [--users] [--columns]``."""
    from graphrec.data.interactions import load_interactions, parse_columns

    if not getattr(args, "interactions", None):
        raise SystemExit(
            "error: --dataset csv needs --interactions PATH (a CSV, TSV or Parquet file with a "
            "user and an item column; see --columns)"
        )
    try:
        cols = parse_columns(args.columns)
        data = load_interactions(
            args.interactions,
            user=cols.get("user", "user"),
            item=cols.get("item", "item"),
            rating=cols.get("rating"),
            time=cols.get("time"),
            items=args.items,
            users=args.users,
            title=cols.get("title"),
            genres=cols.get("genres"),
            bad_rows="drop" if args.drop_bad_rows else "error",
        )
    except DatasetError as exc:
        raise SystemExit(f"error: {exc}") from None
    s = data.load_summary
    log(
        args,
        f"[graphrec] csv: {s['interactions']} interactions, {s['users']} users, {s['items']} "
        f"items from {s['source']}; {s['feedback']}; time: {s['time']}; "
        f"{s['rows_dropped_unknown_id']} row(s) of unknown ids dropped; "
        f"{s['duplicates_dropped']} duplicate pair(s) dropped (latest kept); "
        f"{s['users_train_only']} user(s) with < 3 interactions stay train-only",
    )
    return data


def make_split(args, data) -> InteractionSplit:
    """The split ``--split`` of ``data`` (:func:`graphrec.data.split.make_interaction_split`),
    with the task's K options checked against it (before any training:
    :func:`check_k_options`). Its kind and cuts go into the run's ``config.json``
    (:func:`open_run`)."""
    kind = getattr(args, "split", None) or SPLITS[0]
    split = make_interaction_split(data, kind, min_rating=args.min_rating)
    args._split_info = {"kind": split.kind, "cuts": split.cuts}
    check_k_options(args, split)
    return split


def check_k_options(args, split: InteractionSplit) -> None:
    """``--eval-k`` (the K of every HR@K / NDCG@K) must be below the candidates of every
    evaluated user under both protocols: below 100, the sampled protocol's 1 + 99
    (:func:`graphrec.runs.check_k`). ``--topk`` (item2vec's neighbour lists) must be below
    the number of movies with a train rating, the only movies that can be neighbours."""
    # explain reports no ranking metric, and its quick model validates on ratings unless
    # --objective ranking
    ranks = (
        getattr(args, "task", None) != "explain" or getattr(args, "objective", None) == "ranking"
    )
    if hasattr(args, "eval_k") and ranks:
        from graphrec.train import TRAIN_DEFAULTS

        eval_k = args.eval_k if args.eval_k is not None else TRAIN_DEFAULTS["eval_k"]
        check_k(split, eval_k, "--eval-k")
    topk = getattr(args, "topk", None)
    if topk is not None:
        rated = int((split.train_degree() > 0).sum())
        if topk >= rated:
            raise ValueError(
                f"--topk {topk} is too large: only {rated} movies have a train rating, and a "
                f"movie's neighbours are the other ones; pass --topk {max(1, rated - 1)} or less"
            )


def start_run(args, claim: bool = True) -> RunDir | None:
    """What every task checks before reading any data: the ``--device`` exists, and the run
    folder (``--out``, else a new default one) is claimed (:class:`graphrec.runs.RunDir`;
    raises :class:`~graphrec.runs.RunDirError` for a folder that holds another run, a file,
    an unwritable place). :func:`open_run` then writes into it. ``claim=False``: a task that
    writes no run folder of its own (``map`` adds to a finished run's)."""
    from graphrec.distributed import is_main

    resolve_device(getattr(args, "device", "auto"))
    if claim and hasattr(args, "out") and is_main():  # other ranks write nothing
        args._run_dir = RunDir(
            args.task,
            args.out,
            overwrite=getattr(args, "overwrite", False),
            name=default_folder(args, args.task),
        )
    return getattr(args, "_run_dir", None)


def default_folder(args, task: str) -> str:
    """The name of the folder under ``runs/`` that holds a task's default run folders:
    ``<task>``, or ``<task>-<split>`` when ``--split`` is not the default, so that a
    global-time benchmark never lands beside (or is mistaken for) the leave-one-out one."""
    kind = getattr(args, "split", None) or SPLITS[0]
    return task if kind == SPLITS[0] else f"{task}-{kind}"


def open_run(args, task: str) -> RunDir | None:
    """The run folder (claimed by :func:`start_run`, or now) with ``config.json`` written;
    ``None`` on the ranks other than 0 of a data-parallel run (rank 0 alone writes)."""
    from graphrec.distributed import is_main

    if not is_main():
        return None
    run = getattr(args, "_run_dir", None)
    if run is None:
        run = args._run_dir = RunDir(
            task,
            args.out,
            overwrite=getattr(args, "overwrite", False),
            name=default_folder(args, task),
        )
    run.write_config(
        {k: v for k, v in vars(args).items()}, args.seed, split=getattr(args, "_split_info", None)
    )
    return run
