"""``--task bpr``: the BPR-MF baseline (:class:`graphrec.models.bpr.BPRMF`).

Pairwise (BPR) training on the split's train ``rates`` edges with the model's own defaults;
writes the usual run folder (config.json, metrics.json, history.csv, curves.png, model/).
"""

from __future__ import annotations

from graphrec.cli.training import add_model_task_arguments, run_model_task
from graphrec.models.bpr import BPRMF

__all__ = ["add_arguments", "run"]

#: tasks of this module that train data-parallel under torchrun (graphrec.distributed)
DATA_PARALLEL = ("bpr",)


def add_arguments(parser) -> None:
    add_model_task_arguments(parser, BPRMF)


def run(args) -> dict:
    return run_model_task(args, "BPRMF")
