"""Command-line options made from the library's own signatures, so a default lives in one place.

- :func:`add_model_arguments`: one option per constructor argument of a model class
  (``embedding_dim`` -> ``--embedding-dim``), typed and range-checked as argparse parses it,
  with the constructor's default (or the data set's preset) in its help; an option not given
  stays ``None`` and the library's default applies.
- :func:`add_training_arguments` / :func:`train_config`: the fields of
  :class:`graphrec.train.TrainConfig` as options, and back into a config.
- :func:`model_kwargs`: the model options a user gave, as constructor keywords.
"""

from __future__ import annotations

import argparse
import inspect
import re
import typing
from collections.abc import Callable, Sequence
from typing import Any

from graphrec.cli.common import at_least, bounded, fraction, non_negative, positive

__all__ = [
    "add_model_arguments",
    "model_kwargs",
    "add_training_arguments",
    "train_config",
    "TRAIN_OPTIONS",
]

#: argparse types of constructor arguments, by name (others by their annotation)
_TYPES: dict[str, Callable[[str], Any]] = {
    "embedding_dim": at_least(1),
    "mlp_embedding_dim": at_least(1),
    "layers": at_least(1),
    "hidden": at_least(1),
    "num_layers": at_least(0, "0: matrix factorisation"),
    "num_chunks": at_least(1),
    "dropout": fraction(),
    "reg": non_negative(),
    "init_std": positive(),
    "knn": at_least(0, "0 keeps every neighbour"),
    "mutual_weight": positive("1 turns it off"),
    "min_count": at_least(1),
    "graph_min_rating": bounded(float),
    "walk_length": at_least(2, "a one-node walk has no context"),
    "walks_per_node": at_least(1),
    "p": positive(),
    "q": positive(),
    "window": at_least(1),
    "hubness_k": at_least(0, "0: plain cosine"),
}
#: constructor arguments that are not options (sizes come from the data; tensors are data)
_SKIP = {"self", "num_users", "num_movies", "seed", "user_x", "movie_x", "num_user_features",
         "num_movie_features", "user_feature_names", "movie_feature_names"}  # fmt: skip


def _arg_docs(klass: type) -> dict[str, str]:
    """``{argument: first sentence of its description}`` from a Google-style ``Args:``."""
    doc = inspect.getdoc(klass) or ""
    out: dict[str, str] = {}
    block = doc.split("Args:", 1)[1] if "Args:" in doc else ""
    current = None
    for line in block.splitlines():
        m = re.match(r"^\s{4}(\w+)(?:,\s*\w+)*:\s*(.*)$", line)
        if m:
            current = m.group(1)
            out[current] = m.group(2)
        elif current and line.startswith(" " * 8):
            out[current] += " " + line.strip()
        elif line.strip() and not line.startswith(" "):
            break
    plain = {}
    for k, v in out.items():
        v = re.sub(r":\w+:`([^`]*)`", r"\1", v)  # :math:`f` -> f
        v = v.replace("``", "").replace("\\lambda", "lambda")
        plain[k] = re.sub(r"\s*\(default[^)]*\)", "", v).rstrip(".")
    return plain


def _kind(annotation: Any) -> tuple[type, bool]:
    """``(element type, is a sequence)`` of a parameter annotation."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin in (list, tuple, Sequence, typing.Sequence) or (
        origin is not None and getattr(origin, "__name__", "") == "Sequence"
    ):
        return (args[0] if args else int), True
    if args and len(args) == 1:  # X | None
        return _kind(args[0])
    if args:
        for a in args:
            kind, seq = _kind(a)
            if seq:
                return kind, True
        return _kind(args[0])
    return (annotation if isinstance(annotation, type) else str), False


def add_model_arguments(
    group, klass: type, *, skip: Sequence[str] = (), presets: dict[str, Any] | None = None
) -> list[str]:
    """Add one option per constructor argument of ``klass`` to ``group``; returns their
    names. ``presets``: per-data-set overrides to mention in the help."""
    hints = typing.get_type_hints(klass.__init__)
    docs = _arg_docs(klass)
    names = []
    for name, param in inspect.signature(klass.__init__).parameters.items():
        if name in _SKIP or name in skip or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        kind, seq = _kind(hints.get(name, str))
        default = param.default
        flag = "--" + name.replace("_", "-")
        shown = "derived from the others" if default is None else default
        if isinstance(shown, (list, tuple)):
            shown = " ".join(map(str, shown))
        help_text = docs.get(name, name.replace("_", " "))
        help_text += f" (default: {shown}"
        if presets and name in presets:
            help_text += f"; {presets[name]} on data sets with a preset"
        help_text += ")"
        if kind is bool:
            group.add_argument(
                flag, action=argparse.BooleanOptionalAction, default=None, help=help_text
            )
        else:
            choices = getattr(klass, f"{name.upper()}_CHOICES", None)
            parse = _TYPES.get(name) or (bounded(kind) if kind in (int, float) else kind)
            group.add_argument(
                flag,
                type=parse,
                nargs="+" if seq else None,
                default=None,
                choices=choices,
                metavar=name.upper(),
                help=help_text,
            )
        names.append(name)
    return names


def model_kwargs(args: argparse.Namespace, names: Sequence[str]) -> dict[str, Any]:
    """The model options of ``names`` that were given (not ``None``)."""
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


#: TrainConfig fields as options: name -> (argparse type, help)
TRAIN_OPTIONS: dict[str, tuple[Callable[[str], Any], str]] = {
    "epochs": (at_least(1), "maximum epochs"),
    "batch_size": (at_least(1), "examples per optimiser step"),
    "lr": (positive(), "Adam learning rate"),
    "weight_decay": (non_negative(), "Adam L2 penalty"),
    "lr_decay": (
        bounded(float, 0, 1, low_open=True),
        "multiply the learning rate by this after each epoch",
    ),
    "num_negatives": (at_least(1), "training negatives per positive"),
    "patience": (
        at_least(0, "0 never stops"),
        "validations without a better valid score before stopping; 0 never stops",
    ),
    "eval_k": (
        at_least(1),
        "K of HR@K and NDCG@K in validation and metrics.json; below every user's number of "
        "candidates (the sampled protocol's 1 + 99: at most 99), checked against the data "
        "before training",
    ),
    "eval_every": (at_least(1), "validate every N epochs"),
}


def add_training_arguments(
    group, defaults: dict[str, Any] | None = None, only: Sequence[str] | None = None
) -> None:
    """Add the TrainConfig options (all, or ``only`` these) to ``group``; ``defaults`` (the
    model's ``training_defaults()`` with the library's fallbacks) are shown in the help."""
    from graphrec.train import TRAIN_DEFAULTS

    shown = {**TRAIN_DEFAULTS, **(defaults or {})}
    for name, (parse, text) in TRAIN_OPTIONS.items():
        if only is not None and name not in only:
            continue
        group.add_argument(
            "--" + name.replace("_", "-"),
            type=parse,
            default=None,
            help=f"{text} (default: {shown[name]:g})"
            if isinstance(shown[name], float)
            else f"{text} (default: {shown[name]})",
        )
    if only is None or "threads" in only:
        group.add_argument(
            "--threads",
            type=at_least(1),
            default=None,
            help="torch intra-op threads (default: torch's choice; 1 avoids OpenMP stalls when "
            "the machine is busy with other jobs)",
        )


def train_config(args: argparse.Namespace, **overrides: Any):
    """A :class:`~graphrec.train.TrainConfig` from parsed options (``None``: the model's
    default); ``overrides`` replace fields."""
    from graphrec.train import TrainConfig

    fields = {name: getattr(args, name, None) for name in TRAIN_OPTIONS}
    cfg = TrainConfig(
        **fields,
        seed=args.seed,
        device=getattr(args, "device", "auto"),
        progress=progress_flag(args),
        threads=getattr(args, "threads", None),
    )
    return cfg.replace(**overrides)


def progress_flag(args: argparse.Namespace) -> bool | None:
    """``--quiet``: no bars; ``--progress``: bars; neither: bars on a terminal only."""
    if getattr(args, "quiet", False):
        return False
    return True if getattr(args, "progress", False) else None


def show_progress(args: argparse.Namespace) -> bool:
    """Whether this run shows progress bars (:func:`progress_flag`, resolved)."""
    from graphrec.train import progress_enabled

    return progress_enabled(progress_flag(args))
