"""``--task ease``, ``itemknn``, ``gnn``: EASE, ItemKNN and the heterogeneous GNN.

:class:`graphrec.models.EASE` and :class:`graphrec.models.ItemKNN` are fitted in closed form
on the split's train matrix; :class:`graphrec.models.HeteroGNN` is trained by the one fit loop
(BPR) on the graph's node features and train edges. Each writes the usual run folder
(config.json, metrics.json, model/; history.csv and curves.png for the GNN), which
``--task recommend --run DIR`` and ``--task map --run DIR`` read.
"""

from __future__ import annotations

from graphrec.cli.training import add_model_task_arguments, run_model_task
from graphrec.models import EASE, HeteroGNN, ItemKNN

__all__ = ["add_arguments", "run", "MODELS"]

#: task -> model class
MODELS = {"ease": EASE, "itemknn": ItemKNN, "gnn": HeteroGNN}

#: tasks of this module that train data-parallel under torchrun (graphrec.distributed)
DATA_PARALLEL: tuple[str, ...] = ()  # none yet: HeteroGNN under DDP is untested


def _task(parser) -> str:
    # build_parser passes the group "<task> options": tell the tasks apart by its title
    return (getattr(parser, "title", None) or "ease options").split()[0]


def add_arguments(parser) -> None:
    klass = MODELS.get(_task(parser), EASE)
    closed_form = klass is not HeteroGNN
    add_model_task_arguments(parser, klass, training=["eval_k"] if closed_form else None)


def run(args) -> dict:
    return run_model_task(args, MODELS[args.task].__name__)
