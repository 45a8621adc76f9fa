"""``--task item2vec``: movie graph -> weighted node2vec walks -> skip-gram -> similar movies.

Trains :class:`graphrec.models.item2vec.Item2Vec` (the train ``rates`` edges projected onto a
movie-movie graph, weighted second-order walks over it, skip-gram with negative sampling on the
walks; its options are the model's constructor arguments, with the data set's presets of
:mod:`graphrec.presets`), answers similar-movie queries, and measures the
embedding: genre coherence@K beside its random baseline, franchise siblings in the top K beside a
plain item-item cosine, and item2vec as a recommender under both protocols.

Outputs in the run folder: ``similar.json``, ``embeddings.npy`` + ``items.csv``, ``umap.png``
and the interactive ``map.html`` (one cached UMAP, ``umap.npy``),
``loss.png``, ``metrics.json``, ``config.json`` and the ``model/`` checkpoint. ``--topk`` is the
length of the printed lists; the quality metrics use ``--eval-k``.
``similar.json`` maps each query title to its neighbours, best first, each
``{title, movie_id, score}`` with ``score`` the cosine of the two embeddings, plus ``csls``
(the ranking score) when neighbours are ranked by CSLS (``--hubness-k`` > 0, the default).
"""

from __future__ import annotations

import csv
import time

import numpy as np
import torch

from graphrec.cli.common import at_least, load_graph, log, make_split, open_run
from graphrec.cli.training import add_model_task_arguments, build_from_args, record_resolved
from graphrec.data.graph import UnknownMovieError, movie_index
from graphrec.data.ids import IdMaps
from graphrec.io import atomic_write
from graphrec.models.item2vec import Item2Vec
from graphrec.runs import evaluate_all
from graphrec.similarity import (
    franchise_hits,
    genre_coherence,
    item_cosine_franchise_hits,
    item_cosine_neighbours,
)

DEFAULT_QUERIES = {
    "ml-100k": [
        "Star Wars (1977)",
        "Toy Story (1995)",
        "Godfather, The (1972)",
        "Terminator 2: Judgment Day (1991)",
        "Lion King, The (1994)",
    ],
    "ml-latest-small": [
        "Star Wars: Episode IV - A New Hope (1977)",
        "Toy Story (1995)",
        "Godfather, The (1972)",
        "Terminator 2: Judgment Day (1991)",
        "Lion King, The (1994)",
        "Matrix, The (1999)",
    ],
    "ml-1m": [
        "Star Wars: Episode IV - A New Hope (1977)",
        "Toy Story (1995)",
        "Godfather, The (1972)",
        "Terminator 2: Judgment Day (1991)",
        "Lion King, The (1994)",
        "Matrix, The (1999)",
    ],
}


def add_arguments(parser) -> None:
    parser.add_argument(
        "--query",
        nargs="+",
        action="extend",
        default=None,
        metavar="TITLE",
        help="movie titles (or ids) to find neighbours of (default: a few "
        "well-known films of the data set)",
    )
    parser.add_argument(
        "--topk",
        type=at_least(1),
        default=10,
        help="neighbours printed and written per query (default 10; below the number of movies "
        "with a train rating)",
    )
    parser.add_argument(
        "--no-umap", action="store_true", help="skip the UMAP maps umap.png and map.html"
    )
    add_model_task_arguments(
        parser,
        Item2Vec,
        training=["epochs", "lr", "num_negatives", "batch_size", "eval_k", "threads"],
    )


def resolve_queries(data, queries: list[str]) -> list[int]:
    """Movie indices of the queries (titles as people type them, see
    :meth:`graphrec.data.ids.IdMaps.movie_index`); every unknown or ambiguous title of the
    command is refused at once, each with its suggestions."""
    return IdMaps.from_graph(data).movie_indices(queries)


def run(args) -> dict:
    t_all = time.perf_counter()
    data = load_graph(args)
    if "title" not in data["movie"]:
        raise SystemExit(
            f"error: the item2vec task lists similar movies by title and {data.name} has no "
            "titles: give --items with a title column (--columns title=COLUMN)"
        )
    queries = args.query or DEFAULT_QUERIES.get(args.dataset, [])
    if args.query is not None:
        q_ids = resolve_queries(data, queries)  # fail before any training
    else:
        q_ids = []
        for q in queries:
            try:
                q_ids.append(movie_index(data, q))
            except UnknownMovieError as exc:
                log(args, f"skipping default query: {exc}")
    split = make_split(args, data)
    run_dir = open_run(args, "item2vec")
    from graphrec.cli.options import train_config

    model: Item2Vec = build_from_args(args, "Item2Vec", split, data)
    hp = model.hparams
    how = hp["weighting"] + (
        f", top-{hp['knn']}, mutual x{hp['mutual_weight']:g}" if hp["knn"] else ""
    )
    model.fit(split, train_config(args))
    cfg = train_config(args).resolve(model, args.dataset)
    record_resolved(args, run_dir, model, cfg)  # config.json: what ran
    graph, has_edge, timing = model.graph, model.has_edge, dict(model.timing)
    log(
        args,
        f"movie graph: {int(has_edge.sum())} movies with edges, "
        f"{graph.edge_index.size(1) // 2} undirected edges ({how}); walks: "
        f"{model.walks.size(0)} x {model.walks.size(1)} in {timing['walk_seconds']:.1f}s",
    )
    for i in q_ids:  # (a default query the data lacks was skipped: name each by its own id)
        if not has_edge[i]:
            title = data["movie"].title[i]
            log(args, f"note: {title} has no edge in the movie graph; its neighbours are arbitrary")

    titles, genres = data["movie"].title, data["movie"].genres
    raw = data["movie"].raw_id
    n, k = args.topk, cfg.eval_k
    linked = int(has_edge.sum())
    if n >= linked:  # --topk was checked against the rated movies; the graph may keep fewer
        log(args, f"note: {linked} movies have an edge in the movie graph: lists of {linked - 1}")
        n = max(0, linked - 1)
    hub = model.effective_hubness_k()
    ranking = f"CSLS (hubness K={hub})" if hub else "cosine"
    unit = model.movie_unit
    nearest = model.similar_indices

    # "score" is always the cosine; with CSLS the list is ranked by "csls", written beside it
    similar = {}
    if q_ids:
        query_t = torch.tensor(q_ids)
        nb, sc = nearest(query_t, n)
        cos = (unit[query_t].unsqueeze(1) * unit[nb]).sum(-1)
        for i, row, crow, srow in zip(q_ids, nb.tolist(), cos.tolist(), sc.tolist(), strict=True):
            entries = []
            print(f"\nmovies most similar to {titles[i]} (ranked by {ranking}):")
            for rank, (j, c, s) in enumerate(zip(row, crow, srow, strict=True), 1):
                entry = {"title": titles[j], "movie_id": int(raw[j]), "score": round(float(c), 4)}
                if hub:
                    entry["csls"] = round(float(s), 4)
                    print(f"  {rank:2d}. cosine {c:.3f}  CSLS {s:.3f}  {titles[j]}")
                else:
                    print(f"  {rank:2d}. cosine {c:.3f}  {titles[j]}")
                entries.append(entry)
            similar[titles[i]] = entries
    run_dir.write_json("similar.json", similar)

    # quality by numbers, at the metrics' K
    t0 = time.perf_counter()
    pop = split.train_degree()
    min_pop = 20 if int((pop >= 20).sum()) >= 10 else 1  # tiny data sets: every rated movie
    eval_ids = torch.nonzero((pop >= min_pop) & has_edge).view(-1)
    pool = torch.nonzero(has_edge).view(-1)
    ours_nb = nearest(eval_ids, k)[0]
    base_nb = item_cosine_neighbours(split, eval_ids, k)
    coherence = genre_coherence(ours_nb, eval_ids, genres, pool)
    coherence_base = genre_coherence(base_nb, eval_ids, genres, pool)
    fr = franchise_hits(lambda ids: nearest(ids, k)[0], titles, pop)
    fr_base = item_cosine_franchise_hits(split, titles, k)
    results = evaluate_all(model, split, k=k, seed=args.seed)
    timing["eval_seconds"] = time.perf_counter() - t0
    losses = model.meta["loss"]

    metrics = {
        "task": "item2vec",
        "dataset": args.dataset,
        "model": "Item2Vec",
        "seed": args.seed,
        **results,
        "similarity": {
            "ranking": ranking,
            "queries_evaluated": int(eval_ids.numel()),
            "query_rule": f"movies with >= {min_pop} train ratings",
            f"genre_coherence@{k}": coherence,
            f"item_cosine_genre_coherence@{k}": coherence_base,
            f"franchise_sibling@{k}": {
                "item2vec": fr["hit_rate"],
                "item_cosine": fr_base["hit_rate"],
                "films": fr["films"],
                "per_film": {
                    t: {"item2vec": v, "item_cosine": fr_base["per_film"][t]}
                    for t, v in fr["per_film"].items()
                },
            },
        },
        "graph": {
            "movies_with_edges": int(has_edge.sum()),
            "undirected_edges": int(graph.edge_index.size(1) // 2),
            "weighting": hp["weighting"],
            "knn": hp["knn"],
            "mutual_weight": hp["mutual_weight"] if hp["knn"] else 1.0,
        },
        "training": {"config": cfg.to_dict(), "selection": model.history.selection},
        "hparams": dict(hp),
        "loss": losses,
        "timing": {key: round(v, 3) for key, v in timing.items()},
    }

    # embeddings + items, the checkpoint, figures
    emb = model.embeddings()
    rows = torch.nonzero(has_edge).view(-1)
    with atomic_write(run_dir / "embeddings.npy", "wb") as fh:
        np.save(fh, emb[rows].numpy())
    with atomic_write(run_dir / "items.csv", "w") as fh:
        w = csv.writer(fh)
        w.writerow(["row", "movie_id", "title", "genres"])
        for row, m in enumerate(rows.tolist()):
            w.writerow([row, int(raw[m]), titles[m], genres[m]])
    model.save(run_dir / "model")

    from graphrec.viz.maps import plot_loss

    plot_loss(losses, run_dir / "loss.png")
    if not args.no_umap:
        try:
            from graphrec.cli.map import write_maps

            # the queries and each one's nearest neighbour: few enough labels to read
            label = [titles[i] for i in q_ids]
            if q_ids:
                first = nearest(torch.tensor(q_ids), 1)[0]
                label += [titles[j] for j in first.view(-1).tolist()]
            steps = write_maps(
                run_dir,
                model,
                rows=rows,
                titles=list(titles),
                genres=list(genres),
                counts=pop,
                seed=args.seed,
                heading=f"item2vec on {args.dataset}: movie map",
                png_labels=sorted(set(label)),
            )
            metrics["timing"].update({key: round(v, 3) for key, v in steps.items()})
        except ImportError as exc:
            log(args, f"no umap.png / map.html: {exc}")
    metrics["timing"]["total_seconds"] = round(time.perf_counter() - t_all, 3)
    run_dir.write_metrics(metrics)

    c = coherence
    print(
        f"\ngenre coherence@{k}: {c['coherence']:.3f} (random {c['random_baseline']:.3f}, "
        f"item cosine {coherence_base['coherence']:.3f})"
    )
    print(
        f"franchise sibling in top {k}: item2vec {fr['hit_rate']:.3f}, item cosine "
        f"{fr_base['hit_rate']:.3f} ({fr['films']} films)"
    )
    for proto in ("sampled", "full"):
        m = results["test"][proto]
        print(
            f"as a recommender, test {proto:7s}: HR@{k} {m[f'hr@{k}']:.4f}  "
            f"NDCG@{k} {m[f'ndcg@{k}']:.4f}"
        )
    run_dir.report()
    return metrics
