#!/usr/bin/env python
"""Movie-graph variants tried against item-item cosine on franchise siblings (ML-100K).

Each variant builds the movie graph item2vec walks in its own way, then trains item2vec with
the tuning grid's base settings (:class:`graphrec.models.item2vec.Item2Vec`'s class defaults,
top 10 x10, on CPU) on it (``Item2Vec.fit(split, config, graph=...)``) and reports valid NDCG@10
(sampled, the tuning criterion), genre coherence@10 and franchise siblings@10 (CSLS-50, the
task's ranking, and plain cosine), beside item-item cosine's franchise score. The variants all
aim at the films item2vec misses and cosine finds: their sibling is a one-sided kNN edge next
to mutual edges weighted 10x (see docs/results.md).

- ``default``: the grid's projection (cosine, each movie's top 10, mutual edges x10; the
  task's default on ML-100K until top 6 x4 replaced it, and still on other data sets);
- ``own-top-R``: also weight x10 the edges a movie puts in its own top R (R = 1, 3, 5);
- ``near-mutual-K2``: weight x10 the edges one end has in its top 10 and the other in its
  top K2 (K2 = 20, 40; K2 = 10 is the default);
- ``sharp-KxG``: each movie's top K, weights cosine^G, no boost (and ``+x10`` with the boost);
- ``min-count-C``: drop pairs co-rated by fewer than C users first;
- ``overlap``: weights n / min(deg) (the overlap coefficient) instead of cosine, min count 5;
- ``knn-K``: Item2Vec's own projection with each movie's top K (K = 4..8) instead of 10
  (``knn=K``): fewer, more first-order edges; ``knn-6-mW``: top 6 with mutual edges xW
  (W = 1, 2, 4; ``knn=6, mutual_weight=W``; W = 4 is ML-100K's preset).

The names are patterns: ``--only`` takes any R, K2, K, G, C or W (``near-mutual-10`` and
``min-count-1`` are Item2Vec's own projection, built here). Every row also reports the
franchise score on :data:`HELDOUT_FRANCHISES`, 21 films that no setting was chosen on.

    python experiments/studies/franchise_variants.py                # seed 0, ~5 min on 2 cores
    python experiments/studies/franchise_variants.py --seeds 0 1 2 --only default own-top-3
    python experiments/studies/franchise_variants.py --seeds 0 1 2 --only default knn-4 knn-5 \
        knn-6 knn-7 knn-8 --out experiments/results/franchise_knn.json        # ~6 min
    python experiments/studies/franchise_variants.py --seeds 0 1 2 3 4 5 --only default knn-6 \
        knn-6-m1 knn-6-m2 knn-6-m4 --out experiments/results/franchise_heldout.json  # ~12 min
    python experiments/studies/franchise_variants.py --synthetic 60 40 700 9 \
        --graphs-out /tmp/graphs      # only build the graphs, of a synthetic data set

Writes ``experiments/results/franchise_variants.json`` (config, seeds, versions, rows), or with
``--graphs-out DIR`` each variant's movie graph as ``DIR/<variant>.pt`` (``edge_index``,
``edge_weight``; none for the variants Item2Vec projects itself) and ``DIR/settings.json``
(each variant's Item2Vec arguments), without training anything.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "results"

VARIANTS = [
    "default",
    "own-top-1",
    "own-top-3",
    "own-top-5",
    "near-mutual-20",
    "near-mutual-40",
    "sharp-50x4",
    "sharp-50x8",
    "sharp-50x4+x10",
    "min-count-3",
    "min-count-6",
    "overlap",
    "knn-4",
    "knn-5",
    "knn-6",
    "knn-7",
    "knn-8",
    "knn-6-m1",
    "knn-6-m2",
    "knn-6-m4",
]

#: every variant name :func:`build_graph` understands (:data:`VARIANTS` are the ones run)
VARIANT_PATTERN = re.compile(
    r"default|overlap|own-top-\d+|near-mutual-\d+|sharp-\d+x\d+(\+x10)?|min-count-\d+"
    r"|knn-\d+(-m\d+(\.\d+)?)?"
)


def variant(name: str) -> str:
    """``name`` if it is a variant (argparse type of ``--only``)."""
    if not VARIANT_PATTERN.fullmatch(name):
        raise argparse.ArgumentTypeError(
            f"unknown variant {name!r}: one of {', '.join(VARIANTS)} or the same patterns "
            "with other numbers"
        )
    return name


#: A second set of franchise groups, none of them in :data:`graphrec.similarity.FRANCHISES`,
#: written down (and committed) before any model was scored on it: every sequel, follow-up or
#: original pair of ML-100K found by searching the titles for sequel markers (2, II, 3-D, Part,
#: ...) and for the names of known series, keeping only real franchise relations (remakes such
#: as Cape Fear or Sabrina, and films whose original is absent, such as Beverly Hills Cop III,
#: are left out). The K of ``--knn`` was looked at on the main 56 films; these 21 films (those
#: with >= 20 train ratings) tell whether what it found carries over to films it never saw.
HELDOUT_FRANCHISES: list[list[str]] = [
    ["Young Guns (1988)", "Young Guns II (1990)"],
    ["Grease (1978)", "Grease 2 (1982)"],
    ["Lawnmower Man, The (1992)", "Lawnmower Man 2: Beyond Cyberspace (1996)"],
    ["Crow, The (1994)", "Crow: City of Angels, The (1996)"],
    ["Aladdin (1992)", "Aladdin and the King of Thieves (1996)"],
    [
        "Amityville Horror, The (1979)",
        "Amityville II: The Possession (1982)",
        "Amityville 3-D (1983)",
        "Amityville Curse, The (1990)",
        "Amityville 1992: It's About Time (1992)",
        "Amityville: A New Generation (1993)",
        "Amityville: Dollhouse (1996)",
    ],
    ["Prophecy, The (1995)", "Prophecy II, The (1998)"],
    ["Nightmare on Elm Street, A (1984)", "Wes Craven's New Nightmare (1994)"],
    ["Escape from New York (1981)", "Escape from L.A. (1996)"],
    ["Candyman (1992)", "Candyman: Farewell to the Flesh (1995)"],
    ["Mortal Kombat (1995)", "Mortal Kombat: Annihilation (1997)"],
    [
        "Tales From the Crypt Presents: Demon Knight (1995)",
        "Tales from the Crypt Presents: Bordello of Blood (1996)",
    ],
]


def build_graph(name: str, split, knn: int = 10, boost: float = 10.0):
    """The movie graph of variant ``name`` (``None`` for Item2Vec's own projection)."""
    import numpy as np
    import scipy.sparse as sp
    import torch
    from torch_geometric.data import Data

    if name == "default" or name.startswith("knn-"):
        return None  # Item2Vec's projection (knn-K: see item2vec_settings)
    n_movies = split.num_movies
    users, movies = split.train
    x = sp.csr_matrix(
        (np.ones(users.numel()), (users.numpy(), movies.numpy())),
        shape=(split.num_users, n_movies),
    )
    co = (x.T @ x).tocoo()
    deg = np.asarray(x.sum(0)).ravel()
    keep = co.row != co.col
    r, c, n = co.row[keep], co.col[keep], co.data[keep]
    min_count = int(name.rsplit("-", 1)[1]) if name.startswith("min-count") else 1
    min_count = 5 if name == "overlap" else min_count
    keep = n >= min_count
    r, c, n = r[keep], c[keep], n[keep]
    if name == "overlap":
        w = n / np.minimum(deg[r], deg[c])
    else:
        w = n / np.sqrt(deg[r] * deg[c])
    # 0-based rank of each pair in its row, strongest first
    order = np.lexsort((-w, r))
    rank = np.empty(r.size, dtype=np.int64)
    rank[order] = np.arange(r.size) - np.searchsorted(r[order], r[order], side="left")

    def matrix(mask, values) -> sp.csr_matrix:
        return sp.coo_matrix((values[mask], (r[mask], c[mask])), shape=(n_movies,) * 2).tocsr()

    def chosen(k: int) -> sp.csr_matrix:  # 1 where the row movie has the column in its top k
        return matrix(rank < k, np.ones(r.size))

    if name.startswith("sharp"):
        k, gamma = (int(v) for v in name.split("-")[1].split("+")[0].split("x"))
        a = matrix(rank < k, w**gamma)
        sym = a.maximum(a.T)
        if name.endswith("+x10"):
            mutual = chosen(knn).multiply(chosen(knn).T)
            sym = sym + (boost - 1.0) * sym.multiply(mutual)
    else:
        a = matrix(rank < knn, w)
        sym = a.maximum(a.T)
        top = chosen(knn)
        if name.startswith("own-top"):
            own = chosen(int(name.rsplit("-", 1)[1]))
            strong = top.multiply(top.T) + own + own.T
        elif name.startswith("near-mutual"):
            wide = chosen(int(name.rsplit("-", 1)[1]))
            strong = top.multiply(wide.T) + top.T.multiply(wide)
        else:  # min-count-C, overlap: the default's boost
            strong = top.multiply(top.T)
        sym = sym + (boost - 1.0) * sym.multiply(strong > 0)
    sym = sym.tocoo()
    idx = np.lexsort((sym.col, sym.row))
    edge_index = torch.from_numpy(np.stack([sym.row[idx], sym.col[idx]]).astype(np.int64))
    weight = torch.from_numpy(sym.data[idx].astype(np.float32))
    return Data(edge_index=edge_index, edge_weight=weight, num_nodes=n_movies)


def item2vec_settings(name: str) -> dict:
    """Item2Vec constructor arguments of variant ``name`` beyond its class defaults (the tuning
    grid's base, top 10 x10): ``knn-K`` changes ``knn``, ``knn-K-mW`` also ``mutual_weight``."""
    if not name.startswith("knn-"):
        return {}
    parts = name.split("-")
    out: dict = {"knn": int(parts[1])}
    if len(parts) == 3:
        out["mutual_weight"] = float(parts[2].lstrip("m"))
    return out


def write_graphs(names: list[str], split, folder: Path) -> None:
    """``--graphs-out``: each variant's graph as ``<variant>.pt`` and ``settings.json``."""
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    settings = {}
    for name in names:
        graph = build_graph(name, split)
        if graph is not None:
            tensors = {"edge_index": graph.edge_index, "edge_weight": graph.edge_weight}
            torch.save(tensors, folder / f"{name}.pt")
        settings[name] = {"graph": "built" if graph is not None else "Item2Vec's projection"}
        settings[name]["item2vec"] = item2vec_settings(name)
    (folder / "settings.json").write_text(json.dumps(settings, indent=2) + "\n")
    print(f"wrote {len(names)} variants to {folder}")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seeds", type=int, nargs="+", default=[0], help="item2vec seeds (0)")
    ap.add_argument(
        "--only", nargs="+", type=variant, help="variants to run (default: VARIANTS, all)"
    )
    ap.add_argument(
        "--synthetic",
        type=int,
        nargs=4,
        metavar=("USERS", "MOVIES", "RATINGS", "SEED"),
        help="a synthetic graph (graphrec.data.synthetic.synthetic_graph) instead of ML-100K; "
        "only with --graphs-out (it has no franchises)",
    )
    ap.add_argument(
        "--graphs-out", metavar="DIR", help="write the variants' graphs to DIR and stop"
    )
    ap.add_argument("--out", default=str(RESULTS / "franchise_variants.json"))
    args = ap.parse_args()
    if args.synthetic and not args.graphs_out:
        ap.error("--synthetic needs --graphs-out (a synthetic graph has no franchise films)")

    from statistics import mean

    import torch

    from graphrec.data import load_movielens, temporal_split
    from graphrec.evaluate import evaluate
    from graphrec.io import package_versions, write_json
    from graphrec.models.item2vec import Item2Vec
    from graphrec.similarity import (
        franchise_hits,
        genre_coherence,
        item_cosine_franchise_hits,
        top_similar,
    )
    from graphrec.train import TrainConfig

    if args.synthetic:
        from graphrec.data.synthetic import synthetic_graph

        users, movies, ratings, seed = args.synthetic
        data = synthetic_graph(users, movies, ratings, seed=seed)
    else:
        data = load_movielens("ml-100k", verbose=False)
    split = temporal_split(data)
    if args.graphs_out:
        write_graphs(args.only or VARIANTS, split, Path(args.graphs_out))
        return
    titles, genres, pop = data["movie"].title, data["movie"].genres, split.train_degree()
    base = item_cosine_franchise_hits(split, titles)
    held_base = item_cosine_franchise_hits(split, titles, groups=HELDOUT_FRANCHISES)
    print(
        f"item-item cosine: franchise {base['hit_rate']:.3f} ({base['films']} films), "
        f"held-out {held_base['hit_rate']:.3f} ({held_base['films']} films)"
    )
    rows, settings = [], {}
    for name in args.only or VARIANTS:
        graph = build_graph(name, split)
        per_seed = []
        for seed in args.seeds:
            model = Item2Vec(
                split.num_users, split.num_movies, seed=seed, **item2vec_settings(name)
            )
            config = TrainConfig(seed=seed, device="cpu", progress=False)
            model.fit(split, config, graph=graph)
            settings = {"model": model.hparams, "train": model.history.config}
            emb, has_edge = model.embeddings(), model.has_edge
            ids = torch.nonzero((pop >= 20) & has_edge).view(-1)
            pool = torch.nonzero(has_edge).view(-1)

            def csls(q, e=emb, a=has_edge):
                return top_similar(e, q, 10, allowed=a, hubness_k=50)[0]

            def cosine(q, e=emb, a=has_edge):
                return top_similar(e, q, 10, allowed=a)[0]

            per_seed.append(
                {
                    "seed": seed,
                    "valid_ndcg@10": evaluate(model, split, "valid", "sampled")["ndcg@10"],
                    "genre_coherence@10": genre_coherence(csls(ids), ids, genres, pool)[
                        "coherence"
                    ],
                    "franchise@10": franchise_hits(csls, titles, pop)["hit_rate"],
                    "franchise@10_cosine_ranking": franchise_hits(cosine, titles, pop)["hit_rate"],
                    "heldout_franchise@10": franchise_hits(
                        csls, titles, pop, groups=HELDOUT_FRANCHISES
                    )["hit_rate"],
                }
            )
        row = {"variant": name, "seeds": per_seed}
        for key in per_seed[0]:
            if key != "seed":
                row[f"mean_{key}"] = mean(s[key] for s in per_seed)
        rows.append(row)
        seeds_txt = ", ".join(f"{s['franchise@10']:.3f}" for s in per_seed)
        print(
            f"{name:16s} valid NDCG {row['mean_valid_ndcg@10']:.3f}  coherence "
            f"{row['mean_genre_coherence@10']:.3f}  franchise {row['mean_franchise@10']:.3f} "
            f"(cosine ranking {row['mean_franchise@10_cosine_ranking']:.3f}; per seed "
            f"{seeds_txt})  held-out {row['mean_heldout_franchise@10']:.3f}",
            flush=True,
        )
    write_json(
        args.out,
        {
            "config": {
                **vars(args),
                "item2vec": "Item2Vec's class defaults, changed by knn-K[-mW]",
                "ranking": "CSLS K=50",
            },
            "item2vec_last_run": settings,
            "seeds": args.seeds,
            "item_cosine_franchise@10": base["hit_rate"],
            "franchise_films": base["films"],
            "item_cosine_heldout_franchise@10": held_base["hit_rate"],
            "heldout_franchise_films": held_base["films"],
            "rows": rows,
            "versions": package_versions(),
        },
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
