"""Tasks of ``experiments/run.py``: each module has ``add_arguments(parser)`` and ``run(args)``.

The registry maps a task name to ``(module, one-line help)``; modules are imported only when
their task runs, so ``--help`` stays fast.
"""

TASKS: dict[str, tuple[str, str]] = {
    "stats": ("graphrec.cli.stats", "load a data set, print the graph summary, write stats.json"),
    "pop": ("graphrec.cli.pop", "evaluate the ItemPop baseline under both protocols"),
    "item2vec": (
        "graphrec.cli.item2vec",
        "movie graph -> weighted node2vec walks -> skip-gram; similar movies, UMAP map",
    ),
    "features": (
        "graphrec.cli.features",
        "feature MLP on user/movie attributes: rating RMSE/MAE or ranking HR/NDCG",
    ),
    "explain": (
        "graphrec.cli.features",
        "explain a feature-MLP prediction with Captum, SHAP and LIME; compare them",
    ),
    "gmf": ("graphrec.cli.ncf", "train GMF (He et al. 2017) on the rates edges; run folder"),
    "mlp": ("graphrec.cli.ncf", "train the NCF MLP on the rates edges; run folder"),
    "neumf": ("graphrec.cli.ncf", "train NeuMF (GMF + MLP; --pretrain from both); run folder"),
    "sweep": (
        "graphrec.cli.ncf",
        "NCF predictive-factor sweep 8/16/32/64: sweep.png, sweep.csv/.md, ordering check",
    ),
    "attention": (
        "graphrec.cli.attention",
        "train attention-NCF; run folder plus attention.png (mean attention weights)",
    ),
    "lightgcn": (
        "graphrec.cli.lightgcn",
        "train LightGCN (BPR) over the train edges; run folder",
    ),
    "bpr": ("graphrec.cli.bpr", "train the BPR-MF baseline; run folder"),
    "ease": ("graphrec.cli.baselines", "fit EASE (closed form, Steck 2019); run folder"),
    "itemknn": ("graphrec.cli.baselines", "fit the cosine item-kNN baseline; run folder"),
    "gnn": (
        "graphrec.cli.baselines",
        "train the heterogeneous GNN on node features + train edges (scores cold movies)",
    ),
    "map": (
        "graphrec.cli.map",
        "interactive map.html of a finished run's movie embeddings (--run DIR [--user ID])",
    ),
    "recommend": (
        "graphrec.cli.recommend",
        "top K with reasons from a saved run: --user, --liked, --query",
    ),
    "benchmark": (
        "graphrec.cli.benchmark",
        "every model x N seeds, sampled and full: benchmark.csv/.md/.png",
    ),
}
