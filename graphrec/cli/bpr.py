"""``--task bpr``: the BPR-MF baseline (:class:`graphrec.models.bpr.BPRMF`).

Pairwise (BPR) training on the split's train ``rates`` edges with its own defaults
(``graphrec.cli.lightgcn.DEFAULTS["bpr"]``); writes the usual run folder (config.json,
metrics.json, history.csv, curves.png, model/).
"""

from __future__ import annotations

from graphrec.cli import lightgcn

__all__ = ["add_arguments", "run"]


def add_arguments(parser) -> None:
    lightgcn.add_arguments(parser, "bpr")


def run(args) -> dict:
    return lightgcn.run(args, "bpr")
