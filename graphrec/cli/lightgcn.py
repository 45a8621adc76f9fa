"""``--task lightgcn``: LightGCN (:class:`graphrec.models.lightgcn.LightGCN`).

Pairwise (BPR) training over the split's train ``rates`` edges with the model's own defaults;
propagation runs over the train edges only. Writes the usual run folder (config.json,
metrics.json, history.csv, curves.png, model/).
"""

from __future__ import annotations

from graphrec.cli.training import add_model_task_arguments, run_model_task
from graphrec.models.lightgcn import LightGCN

__all__ = ["add_arguments", "run"]

#: tasks of this module that train data-parallel under torchrun (graphrec.distributed)
DATA_PARALLEL = ("lightgcn",)


def add_arguments(parser) -> None:
    add_model_task_arguments(parser, LightGCN)


def run(args) -> dict:
    return run_model_task(args, "LightGCN")
