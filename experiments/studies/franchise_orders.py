#!/usr/bin/env python
"""Why item2vec on the top 10 x10 movie graph trails item-item cosine on franchise siblings on
ML-100K: proximity of which order.

Ranks every movie's top-10 neighbours by several similarities built from the same train split
and reports franchise siblings@10 (:func:`graphrec.similarity.franchise_hits`, 56 films on
ML-100K) and genre coherence@10 for each:

- first order: item-item cosine on the binary rating matrix (the issue's baseline), and the
  edge weights of the kNN movie graph item2vec walks on (the tuning grid's top 10 x10, the
  task's default until ML-100K's became top 6 x4; its top-10 sets
  are cosine's, since a movie's own 10 choices outweigh the edges other movies chose);
- second order: cosine between two movies' rows of those matrices (shared neighbours, not
  shared raters);
- walk co-occurrence: ``sum_d (w - d + 1) / w * P^d`` for ``d = 1..w``, with ``P`` the walk's
  transition matrix on the kNN graph, divided by each partner's visit rate (the PMI that
  skip-gram with negative sampling factorises; Levy & Goldberg, NeurIPS 2014), for windows
  ``--windows``: what a window-``w`` skip-gram sees, before it is squeezed into 64 dimensions;
- item2vec itself: the tuning grid's settings (Item2Vec's class defaults, on CPU) with
  skip-gram windows ``--windows``, neighbours by cosine between input vectors (and by CSLS-50,
  the task's default ranking, at window 5);
- gensim's ``Word2Vec(sg=1)`` on the very walks graphrec's window-5 model trained on, with
  negative sampling and with hierarchical softmax (the task's dim, window, epochs and
  subsampling; one worker and a fixed hash seed, so it repeats): whether the reference
  skip-gram does better on the same corpus. Needs the peer environment of
  ``experiments/benchmarks/bench_item2vec.py`` (``--peer-python`` or ``$GRAPHREC_PEERS_PYTHON``;
  see ``experiments/benchmarks/peers/README.md``); without it these rows are skipped with a
  message.

    python experiments/studies/franchise_orders.py                      # ~3 min on 2 cores
    python experiments/studies/franchise_orders.py --windows 5 --skip-item2vec

Writes ``experiments/results/franchise_orders.json`` (config, seed, versions, rows).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from pathlib import Path

EXPERIMENTS = Path(__file__).resolve().parents[1]
RESULTS = EXPERIMENTS / "results"
#: the peers' script, run (never imported) in the peer environment
PEER_SCRIPT = EXPERIMENTS / "benchmarks" / "peers" / "item2vec_peers.py"
PEER_ENV = "GRAPHREC_PEERS_PYTHON"


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--windows", type=int, nargs="+", default=[1, 2, 5], help="(default 1 2 5)")
    ap.add_argument("--seed", type=int, default=0, help="item2vec seed (default 0)")
    ap.add_argument("--skip-item2vec", action="store_true", help="only the closed-form rows")
    ap.add_argument("--skip-peers", action="store_true", help="no gensim rows")
    ap.add_argument(
        "--peer-python",
        default=os.environ.get(PEER_ENV),
        help=f"python of the gensim environment (default: ${PEER_ENV})",
    )
    ap.add_argument("--out", default=str(RESULTS / "franchise_orders.json"))
    args = ap.parse_args()
    if any(w < 1 for w in args.windows):
        ap.error("--windows must be >= 1")

    import torch
    import torch.nn.functional as F

    from graphrec.data import load_movielens, temporal_split
    from graphrec.data.projection import movie_graph
    from graphrec.io import package_versions, write_json
    from graphrec.models.item2vec import Item2Vec
    from graphrec.similarity import franchise_hits, genre_coherence, top_similar
    from graphrec.train import TrainConfig

    data = load_movielens("ml-100k", verbose=False)
    split = temporal_split(data)
    titles, genres, pop = data["movie"].title, data["movie"].genres, split.train_degree()
    n = split.num_movies
    base = Item2Vec(split.num_users, split.num_movies, seed=args.seed)  # the settings, unfitted
    knn_k, mutual_weight = base.hparams["knn"], base.hparams["mutual_weight"]

    def dense(graph) -> torch.Tensor:
        m = torch.zeros(n, n, dtype=torch.float64)
        m[graph.edge_index[0], graph.edge_index[1]] = graph.edge_weight.double()
        return m

    cosine = dense(movie_graph(split, weighting="cosine"))  # every co-rated pair
    knn = dense(movie_graph(split, weighting="cosine", knn=knn_k, mutual_weight=mutual_weight))
    has_edge = knn.sum(1) > 0
    pool = torch.nonzero(has_edge).view(-1)
    ids = torch.nonzero((pop >= 20) & has_edge).view(-1)

    def scores(sim: torch.Tensor):
        def nearest(q: torch.Tensor) -> torch.Tensor:
            s = sim[q].clone()
            s[torch.arange(q.numel()), q] = float("-inf")
            s[:, ~has_edge] = float("-inf")
            return torch.topk(s, 10, dim=1).indices

        return nearest

    rows: list[dict] = []

    def report(order: str, name: str, nearest, seconds: float | None = None) -> None:
        fr = franchise_hits(nearest, titles, pop)
        coh = genre_coherence(nearest(ids), ids, genres, pool)["coherence"]
        row = {
            "order": order,
            "similarity": name,
            "franchise@10": fr["hit_rate"],
            "franchise_films": fr["films"],
            "franchise_hits": sum(fr["per_film"].values()),
            "genre_coherence@10": coh,
        }
        if seconds is not None:
            row["seconds"] = round(seconds, 1)
        rows.append(row)
        print(
            f"{order:14s} {name:58s} franchise {row['franchise_hits']:2d}/{fr['films']} "
            f"({fr['hit_rate']:.3f})  coherence {coh:.3f}",
            flush=True,
        )

    report("first", "item-item cosine (the baseline)", scores(cosine))
    report("first", "kNN movie graph edge weight (what item2vec walks)", scores(knn))
    for name, m in (("item-item cosine", cosine), ("kNN movie graph", knn)):
        z = F.normalize(m, dim=1)
        report("second", f"cosine of two movies' {name} rows", scores(z @ z.T))

    trans = knn / knn.sum(1, keepdim=True).clamp_min(1e-300)
    visits = knn.sum(0) / knn.sum()  # stationary visit rate of the walk (undirected graph)
    for w in args.windows:
        step, acc = torch.eye(n, dtype=torch.float64), torch.zeros(n, n, dtype=torch.float64)
        for d in range(1, w + 1):
            step = step @ trans
            acc += (w - d + 1) / w * step
        pmi = acc / visits.clamp_min(1e-300).view(1, -1)
        report("walk", f"co-occurrence within {w} steps / partner's visit rate", scores(pmi))

    model5 = None  # the window-5 model: its walks and settings feed the gensim rows
    if not args.skip_item2vec:
        for w in args.windows:
            t0 = time.perf_counter()
            model = Item2Vec(split.num_users, split.num_movies, window=w, seed=args.seed)
            model.fit(split, TrainConfig(seed=args.seed, device="cpu", progress=False))
            secs = time.perf_counter() - t0
            emb, has_edge = model.embeddings(), model.has_edge

            def by_cosine(q, e=emb, a=has_edge):
                return top_similar(e, q, 10, allowed=a)[0]

            report("item2vec", f"skip-gram window {w}, cosine of input vectors", by_cosine, secs)
            if w == 5:

                def by_csls(q, e=emb, a=has_edge):
                    return top_similar(e, q, 10, allowed=a, hubness_k=50)[0]

                report("item2vec", "skip-gram window 5, CSLS-50 (the task's default)", by_csls)
                model5 = model
    if not args.skip_peers:
        if model5 is None:
            print("no gensim rows: they need item2vec with window 5 (--windows ... 5)")
        else:
            gensim_rows(args, model5, n, report)

    write_json(
        args.out,
        {
            "config": {
                **vars(args),
                "item2vec": {
                    "model": base.hparams,
                    "train": TrainConfig(seed=args.seed, device="cpu")
                    .resolve(base, "ml-100k")
                    .to_dict(),
                },
            },
            "seed": args.seed,
            "dataset": "ml-100k",
            "rows": rows,
            "versions": package_versions(),
        },
    )
    print(f"wrote {args.out}")


def gensim_rows(args, model, num_nodes: int, report) -> None:
    """gensim Word2Vec(sg=1) on the walks of the fitted window-5 ``model`` with its dim,
    negatives and epochs, negative sampling and hierarchical softmax."""
    import tempfile

    import numpy as np
    import torch

    from graphrec.similarity import top_similar

    if not args.peer_python or not Path(args.peer_python).exists():
        where = f"{args.peer_python} does not exist" if args.peer_python else "not given"
        print(
            f"gensim environment {where}; no gensim rows. Pass --peer-python or set "
            f"{PEER_ENV} to the python of an environment with pecanpy and gensim (see "
            "experiments/benchmarks/peers/README.md)"
        )
        return
    walks, cfg = model.walks, model.history.config
    allowed = torch.bincount(walks[walks >= 0], minlength=num_nodes) > 0
    with tempfile.TemporaryDirectory() as tmp:
        np.save(f"{tmp}/walks.npy", walks.numpy())
        for name, extra in (("neg. sampling", []), ("hier. softmax", ["--hs"])):
            t0 = time.perf_counter()
            cmd = ["word2vec", "--walks", f"{tmp}/walks.npy", "--emb-out", f"{tmp}/emb.npy"]
            cmd += ["--num-nodes", str(num_nodes), "--dim", str(model.hparams["embedding_dim"])]
            cmd += ["--window", "5", "--negatives", str(cfg["num_negatives"])]
            cmd += ["--epochs", str(cfg["epochs"]), "--workers", "1", "--seed", str(args.seed)]
            # gensim seeds its vectors from Python's string hash: fixed, so the rows repeat
            proc = subprocess.run(
                [args.peer_python, str(PEER_SCRIPT), *cmd, *extra],
                capture_output=True,
                text=True,
                timeout=1800,
                check=False,
                env={**os.environ, "PYTHONHASHSEED": "0"},
            )
            if proc.returncode != 0:
                raise RuntimeError(f"gensim run failed ({proc.returncode}): {proc.stderr[-2000:]}")
            json.loads(proc.stdout.strip().splitlines()[-1])  # the peer's report: it finished
            secs = time.perf_counter() - t0
            emb = torch.nn.functional.normalize(torch.from_numpy(np.load(f"{tmp}/emb.npy")), dim=1)
            for hub in (0, 50):

                def nearest(q, e=emb, k=hub):
                    return top_similar(e, q, 10, allowed=allowed, hubness_k=k)[0]

                how = "input cosine" if hub == 0 else "CSLS-50"
                report("gensim", f"gensim sg=1, {name}, same walks, {how}", nearest, secs)


if __name__ == "__main__":
    main()
