"""Tasks of ``experiments/run.py``: each module has ``add_arguments(parser)`` and ``run(args)``.

The registry maps a task name to ``(module, one-line help)``; modules are imported only when
their task runs, so ``--help`` stays fast.
"""

TASKS: dict[str, tuple[str, str]] = {
    "stats": ("graphrec.tasks.stats", "load a data set, print the graph summary, write stats.json"),
    "pop": ("graphrec.tasks.pop", "evaluate the ItemPop baseline under both protocols"),
    "item2vec": (
        "graphrec.tasks.item2vec",
        "movie graph -> weighted node2vec walks -> skip-gram; similar movies, UMAP map",
    ),
}
