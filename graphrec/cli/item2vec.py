"""``--task item2vec``: movie graph -> weighted node2vec walks -> skip-gram -> similar movies.

Steps: project the train ``rates`` edges onto a movie-movie graph
(:func:`graphrec.data.projection.movie_graph`), walk it with weighted second-order walks
(:mod:`graphrec.walks`), train skip-gram with negative sampling on the walks
(:class:`graphrec.models.item2vec.SkipGram`), answer similar-movie queries, and measure the
embedding: genre coherence@K beside its random baseline, franchise siblings in the top K beside a
plain item-item cosine, and item2vec as a recommender under both protocols.

Outputs in the run folder: ``similar.json``, ``embeddings.npy`` + ``items.csv``, ``umap.png``,
``loss.png``, ``metrics.json``, ``config.json``, ``skipgram/`` and ``model/`` checkpoints.
``similar.json`` maps each query title to its neighbours, best first, each
``{title, movie_id, score}`` with ``score`` the cosine of the two embeddings, plus ``csls``
(the ranking score) when neighbours are ranked by CSLS (``--hubness-k`` > 0, the default).
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F

from graphrec.cli.common import at_least, bounded, load_graph, log, make_split, open_run, positive
from graphrec.data.graph import UnknownMovieError, movie_index
from graphrec.data.projection import WEIGHTINGS, movie_graph
from graphrec.io import atomic_write, resolve_device
from graphrec.runs import evaluate_all
from graphrec.similarity import (
    franchise_hits,
    genre_coherence,
    hubness,
    item_cosine_neighbours,
    top_similar,
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


#: CSLS neighbourhood of the similar-movie rankings (``--hubness-k``). Conneau et al. use 10;
#: on ML-100K, K = 10, 20 and 50 list both Star Wars sequels on 3 seeds of 3 and K = 50 has
#: the highest or tied-highest genre coherence of the three on each seed (by up to .002);
#: ``experiments/compare_rankings.py`` measures it.
DEFAULT_HUBNESS_K = 50

#: The movie graph's ``--knn`` and ``--mutual-weight`` when not given, per data set; others
#: (and code that names no data set) get ``None``'s entry. Measured on ML-100K over seeds 0-5
#: (``experiments/franchise_variants.py``, ``experiments/results/franchise_heldout.json``):
#: each movie's top 6 with mutual edges x4 puts a franchise sibling in the top 10 for 39-43 of
#: the 56 franchise films (mean 40.3, never fewer than item-item cosine's 39) and 9-12 of 21
#: held-out franchise films (mean 10.5; cosine 9), where top 10 x10 finds 34-38 and 9-10;
#: genre coherence .695 against .694, but item2vec as a recommender loses .014 valid NDCG@10
#: (.365 against .379). K = 6 was found by looking at the 56 films; x4 was then chosen on valid
#: NDCG@10 (x1, x2, x4, x10: .360, .365, .365, .361), and with it Star Wars lists
#: The Empire Strikes Back on 5 seeds of 6 (x2: 2 of 6). On ml-latest-small top 6 found fewer
#: franchise siblings than top 10 (.63 against .69 at seed 0, x2 and x4 alike) and lost valid
#: NDCG, so it keeps top 10 x10, chosen on valid NDCG by ``experiments/tune_item2vec.py``.
PROJECTION_DEFAULTS: dict[str | None, dict] = {
    None: {"knn": 10, "mutual_weight": 10.0},
    "ml-100k": {"knn": 6, "mutual_weight": 4.0},
}


def projection_defaults(dataset: str | None) -> dict:
    """``{"knn": K, "mutual_weight": w}`` that ``--task item2vec`` uses on ``dataset`` when
    ``--knn`` / ``--mutual-weight`` are not given (see :data:`PROJECTION_DEFAULTS`)."""
    return dict(PROJECTION_DEFAULTS.get(dataset, PROJECTION_DEFAULTS[None]))


def resolve_projection(cfg) -> tuple[int, float]:
    """``(knn, mutual_weight)`` of ``cfg``, each one left ``None`` (or absent) taken from
    :func:`projection_defaults` of ``cfg.dataset`` (no data set: ``None``'s entry)."""
    defaults = projection_defaults(getattr(cfg, "dataset", None))
    knn, mutual = getattr(cfg, "knn", None), getattr(cfg, "mutual_weight", None)
    return (
        defaults["knn"] if knn is None else knn,
        defaults["mutual_weight"] if mutual is None else mutual,
    )


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
        help="neighbours per query, and the K of the quality metrics (default 10)",
    )
    parser.add_argument(
        "--hubness-k",
        type=at_least(0, "0: plain cosine"),
        default=None,
        metavar="K",
        help="rank neighbours by CSLS, 2 cos(x, y) - r(y) with r(y) the mean cosine of y to its "
        f"K nearest movies; 0 ranks by plain cosine (default {DEFAULT_HUBNESS_K}, fewer on a graph "
        "with too few movies). Films close to everything (those nearly every user rated) then "
        "stop crowding every list: on ML-100K, Star Wars lists The Empire Strikes Back with it "
        "(3 seeds of 3) and not without (0 of 3), at a genre coherence .005-.008 lower",
    )
    g = parser
    g.add_argument(
        "--weighting",
        choices=WEIGHTINGS,
        default="cosine",
        help="movie-graph edge weights (default cosine; raw counts let popular hubs "
        "dominate the walks)",
    )
    g.add_argument(
        "--graph-min-rating",
        type=bounded(float),
        default=None,
        help="only ratings >= this make co-rating edges (default: all)",
    )
    g.add_argument(
        "--min-count",
        type=at_least(1),
        default=1,
        help="drop movie pairs co-rated by fewer users (default 1)",
    )
    g.add_argument(
        "--knn",
        type=at_least(0, "0 keeps every neighbour"),
        default=None,
        help="keep each movie's strongest K neighbours (0 keeps all; default 6 on ml-100k, "
        "where it finds more franchise siblings than item-item cosine at a .014 lower valid "
        "NDCG, else 10, chosen on valid NDCG and genre coherence by "
        "experiments/tune_item2vec.py)",
    )
    g.add_argument(
        "--mutual-weight",
        type=positive("1 turns it off"),
        default=None,
        help="with --knn, multiply the weight of edges both movies chose (mutual neighbours) "
        "by this (1 turns it off; default 4 on ml-100k, else 10, chosen on valid NDCG): "
        "popular films are in many top-K lists and would otherwise pull the walks",
    )
    g.add_argument(
        "--walk-length",
        type=at_least(2, "a one-node walk has no context"),
        default=40,
        help="nodes per walk (default 40)",
    )
    g.add_argument(
        "--walks-per-node", type=at_least(1), default=10, help="walks per movie (default 10)"
    )
    g.add_argument(
        "--p", type=positive(), default=1.0, help="node2vec return parameter (default 1)"
    )
    g.add_argument(
        "--q", type=positive(), default=1.0, help="node2vec in-out parameter (default 1)"
    )
    g.add_argument("--dim", type=at_least(1), default=64, help="embedding size (default 64)")
    g.add_argument("--window", type=at_least(1), default=5, help="skip-gram window (default 5)")
    g.add_argument("--epochs", type=at_least(1), default=15, help="skip-gram epochs (default 15)")
    g.add_argument(
        "--negatives", type=at_least(1), default=5, help="negatives per pair (default 5)"
    )
    g.add_argument(
        "--lr",
        type=positive(),
        default=0.025,
        help="skip-gram SGD learning rate per pair, decayed linearly (default 0.025)",
    )
    g.add_argument(
        "--batch-size",
        type=at_least(1),
        default=None,
        help="walks per step (default: about two tokens per distinct movie)",
    )
    g.add_argument("--no-umap", action="store_true", help="skip the UMAP map (saves ~20 s)")


@dataclass
class Item2VecRun:
    """What :func:`train_item2vec` made: ``emb`` [num_movies, dim], ``has_edge``
    [num_movies] bool, per-epoch ``losses``, ``timing``, the movie ``graph``, the ``model``
    and the ``walks`` it was trained on ([num_walks, walk_length], -1 = padding)."""

    emb: torch.Tensor
    has_edge: torch.Tensor
    losses: list[float]
    timing: dict
    graph: object
    model: object
    walks: torch.Tensor


def train_item2vec(split, cfg, device="cpu", log_to=None, graph=None):
    """Movie graph -> walks -> skip-gram with the settings in ``cfg`` (the task's arguments:
    weighting, graph_min_rating, min_count, knn, mutual_weight, walk_length, walks_per_node, p,
    q, dim, window, epochs, negatives, lr, batch_size, seed, quiet; ``knn`` / ``mutual_weight``
    ``None`` take the defaults of ``cfg.dataset``, see :func:`projection_defaults`).

    ``graph``: a movie graph of your own (``Data`` with ``edge_index`` [2, E], both directions
    of each undirected edge, and ``edge_weight`` [E], over the split's movie ids) to walk
    instead of the projection; the projection options in ``cfg`` are then unused.

    Returns an :class:`Item2VecRun`.
    """
    from graphrec.models.item2vec import SkipGram
    from graphrec.walks import random_walks

    timing: dict = {}
    t0 = time.perf_counter()
    how = "given graph"
    if graph is None:
        knn, mutual = resolve_projection(cfg)
        how = cfg.weighting + (f", top-{knn}, mutual x{mutual:g}" if knn else "")
        graph = movie_graph(
            split,
            weighting=cfg.weighting,
            min_rating=cfg.graph_min_rating,
            min_count=cfg.min_count,
            knn=knn or None,
            mutual_weight=mutual if knn else 1.0,
        )
    elif graph.edge_index.numel() and (
        int(graph.edge_index.min()) < 0 or int(graph.edge_index.max()) >= split.num_movies
    ):
        lo, hi = int(graph.edge_index.min()), int(graph.edge_index.max())
        raise ValueError(
            f"graph has movie ids in [{lo}, {hi}], but the split's are 0..{split.num_movies - 1}: "
            "build it over the split's movie ids"
        )
    timing["graph_seconds"] = time.perf_counter() - t0
    has_edge = torch.bincount(graph.edge_index[0], minlength=split.num_movies) > 0
    if log_to is not None:
        log(
            log_to,
            f"movie graph: {int(has_edge.sum())} movies with edges, "
            f"{graph.edge_index.size(1) // 2} undirected edges ({how})",
        )
    t0 = time.perf_counter()
    walks = random_walks(
        graph.edge_index,
        graph.edge_weight,
        split.num_movies,
        walk_length=cfg.walk_length,
        walks_per_node=cfg.walks_per_node,
        p=cfg.p,
        q=cfg.q,
        seed=cfg.seed,
    )
    timing["walk_seconds"] = time.perf_counter() - t0
    if log_to is not None:
        log(log_to, f"walks: {walks.size(0)} x {walks.size(1)} in {timing['walk_seconds']:.1f}s")
    t0 = time.perf_counter()
    sg = SkipGram(split.num_movies, dim=cfg.dim, seed=cfg.seed).to(device)
    losses = sg.fit(
        walks.to(device),
        epochs=cfg.epochs,
        window=cfg.window,
        negatives=cfg.negatives,
        lr=cfg.lr,
        batch_size=cfg.batch_size,
        seed=cfg.seed,
        progress=not getattr(cfg, "quiet", True),
    )
    timing["train_seconds"] = time.perf_counter() - t0
    return Item2VecRun(
        sg.embeddings().detach().cpu(), has_edge, losses, timing, graph, sg, walks.cpu()
    )


def resolve_queries(data, queries: list[str]) -> list[int]:
    """Movie indices of the queries; unknown or ambiguous titles raise with suggestions."""
    out = []
    for q in queries:
        out.append(movie_index(data, q))
    return out


def run(args) -> dict:
    t_all = time.perf_counter()
    args.knn, args.mutual_weight = resolve_projection(args)  # config.json records what ran
    data = load_graph(args)
    queries = args.query or DEFAULT_QUERIES.get(args.dataset, [])
    explicit = args.query is not None
    if explicit:
        q_ids = resolve_queries(data, queries)  # fail before any training
    else:
        q_ids = []
        for q in queries:
            try:
                q_ids.append(movie_index(data, q))
            except UnknownMovieError as exc:
                log(args, f"skipping default query: {exc}")
    split = make_split(args, data)
    device = resolve_device(args.device)
    run_dir = open_run(args, "item2vec")
    from graphrec.models.item2vec_recommender import Item2VecRecommender

    result = train_item2vec(split, args, device, log_to=args)
    emb, has_edge, losses, timing = result.emb, result.has_edge, result.losses, result.timing
    graph, sg = result.graph, result.model
    for i in q_ids:  # (a default query the data lacks was skipped: name each by its own id)
        if not has_edge[i]:
            title = data["movie"].title[i]
            log(args, f"note: {title} has no edge in the movie graph; its neighbours are arbitrary")

    titles, genres = data["movie"].title, data["movie"].genres
    raw = data["movie"].raw_id
    k = args.topk
    if args.hubness_k is None:  # the default, capped to the movies there are to compare with
        args.hubness_k = max(0, min(DEFAULT_HUBNESS_K, int(has_edge.sum()) - 1))
        run_dir.write_config(vars(args), args.seed)
    hub = args.hubness_k
    ranking = f"CSLS (hubness K={hub})" if hub else "cosine"
    # every ranking below is on one embedding: measure CSLS's r(y) once
    unit = F.normalize(emb.float(), dim=1)
    hub_scores = hubness(unit, hub, has_edge) if hub else None
    nearest = partial(top_similar, emb, allowed=has_edge, hubness_k=hub, hub=hub_scores)

    # "score" is always the cosine; with CSLS the list is ranked by "csls", written beside it
    similar = {}
    if q_ids:
        query_t = torch.tensor(q_ids)
        nb, sc = nearest(query_t, k)
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

    # quality by numbers
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
    fr_base = franchise_hits(lambda ids: item_cosine_neighbours(split, ids, k), titles, pop)
    rec = Item2VecRecommender.from_embeddings(emb, split)
    results = evaluate_all(rec, split, k=k, seed=args.seed)
    timing["eval_seconds"] = time.perf_counter() - t0

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
            "weighting": args.weighting,
            "knn": args.knn,
            "mutual_weight": args.mutual_weight if args.knn else 1.0,
        },
        "loss": losses,
        "timing": {key: round(v, 3) for key, v in timing.items()},
    }

    # embeddings + items, checkpoints, figures
    rows = torch.nonzero(has_edge).view(-1)
    with atomic_write(run_dir / "embeddings.npy", "wb") as fh:
        np.save(fh, emb[rows].numpy())
    with atomic_write(run_dir / "items.csv", "w") as fh:
        w = csv.writer(fh)
        w.writerow(["row", "movie_id", "title", "genres"])
        for row, m in enumerate(rows.tolist()):
            w.writerow([row, int(raw[m]), titles[m], genres[m]])
    sg.save(run_dir / "skipgram")
    rec.save(run_dir / "model")

    from graphrec.viz.maps import plot_loss, umap_map

    plot_loss(losses, run_dir / "loss.png")
    if not args.no_umap:
        t0 = time.perf_counter()
        try:
            # the queries and each one's nearest neighbour: few enough labels to read
            label = [titles[i] for i in q_ids]
            if q_ids:
                first = nearest(torch.tensor(q_ids), 1)[0]
                label += [titles[j] for j in first.view(-1).tolist()]
            umap_map(
                emb[rows].numpy(),
                [titles[i] for i in rows.tolist()],
                [genres[i] for i in rows.tolist()],
                run_dir / "umap.png",
                label=sorted(set(label)),
                seed=args.seed,
            )
            metrics["timing"]["umap_seconds"] = round(time.perf_counter() - t0, 3)
        except ImportError as exc:
            log(args, f"no umap.png: {exc}")
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
    print(f"wrote {run_dir.path}/ (similar.json, umap.png, metrics.json, ...)")
    return metrics
