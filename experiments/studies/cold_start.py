#!/usr/bin/env python
"""Study: ranking movies nobody rated in train (cold start) from their attributes.

    python experiments/studies/cold_start.py [--seeds 0] [--share 0.1] [--out FILE]

Per seed, ``share`` of ML-100K's movies (drawn with that seed) are held out entirely: every
rating of them is removed before the temporal split, so no model sees them in training or
message passing. HeteroGNN, FeatureMLP (the benchmark's ``ranking`` row) and ItemPop are
trained on the rest with their own defaults. Then for every user who rated a held-out movie,
one of those movies (drawn with the seed) is ranked against 99 negatives sampled without
replacement among the held-out movies the user never rated (fewer if fewer exist): HR@10 and
NDCG@10 over those users. Ties are broken uniformly at random (seeded): the positive's rank
is the number of negatives scored higher plus a uniform draw over the ties, so ItemPop,
which gives every cold movie popularity 0, scores at chance (HR@10 about 10/100).
Writes ``experiments/results/cold_start.json`` with the command, seeds and table.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "results"
MODELS = ("HeteroGNN", "FeatureMLP", "ItemPop")
K = 10


def hold_out_movies(data, cold):
    """Remove every rating of the movies ``cold`` [M] bool from ``data`` (in place)."""
    for rel in (("user", "rates", "movie"), ("movie", "rated_by", "user")):
        store = data[rel]
        keep = ~cold[store.edge_index[1 if rel[0] == "user" else 0]]
        for attr in ("edge_index", "rating", "time"):
            value = store[attr]
            store[attr] = value[:, keep] if attr == "edge_index" else value[keep]


def run_seed(seed: int, share: float, negatives: int) -> dict:
    import torch

    from graphrec.data import load_movielens, temporal_split
    from graphrec.presets import MODELS as ROWS
    from graphrec.presets import build_model

    data = load_movielens("ml-100k", verbose=False)
    gen = torch.Generator().manual_seed(seed)
    m = data["movie"].num_nodes
    cold_idx = torch.randperm(m, generator=gen)[: round(share * m)]
    cold = torch.zeros(m, dtype=torch.bool)
    cold[cold_idx] = True
    users, movies = data["user", "rates", "movie"].edge_index
    hit = cold[movies]
    cold_pairs = (users[hit], movies[hit])
    hold_out_movies(data, cold)
    split = temporal_split(data)

    # one held-out positive per user, 99 sampled cold negatives it never rated
    rated = torch.zeros(data["user"].num_nodes, m, dtype=torch.bool)
    rated[cold_pairs] = True
    eval_users = torch.unique(cold_pairs[0])
    cands = []
    for u in eval_users.tolist():  # a few hundred users: a loop is fine here
        pos = cold_idx[rated[u, cold_idx]]
        neg = cold_idx[~rated[u, cold_idx]]
        p = pos[torch.randint(pos.numel(), (1,), generator=gen)]
        n = neg[torch.randperm(neg.numel(), generator=gen)[:negatives]]
        cands.append((p, n))
    out = {
        "held_out_movies": int(cold.sum()),
        "held_out_ratings": int(hit.sum()),
        "eval_users": int(eval_users.numel()),
        "mean_negatives": sum(n.numel() for _, n in cands) / len(cands),
        "models": {},
    }
    for name in MODELS:
        kwargs = dict(ROWS.get(name, (name, {}))[1])
        t0 = time.perf_counter()
        model = build_model(name, split, data, seed=seed, **kwargs)
        model.fit(split, progress=False)
        fit_s = time.perf_counter() - t0
        model.eval()
        with torch.no_grad():
            scores = model.score_all(eval_users).float()
        hr = ndcg = 0.0
        for row, (p, n) in enumerate(cands):
            sp, sn = scores[row, p], scores[row, n]
            greater = int((sn > sp).sum())
            ties = int((sn == sp).sum())
            rank = greater + int(torch.randint(ties + 1, (1,), generator=gen))
            if rank < K:
                hr += 1.0
                ndcg += 1.0 / math.log2(rank + 2)
        out["models"][name] = {
            f"hr@{K}": hr / len(cands),
            f"ndcg@{K}": ndcg / len(cands),
            "fit_seconds": round(fit_s, 1),
            "epochs_run": len(model.history.epochs) if model.history is not None else None,
        }
        print(seed, name, out["models"][name], flush=True)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--share", type=float, default=0.1, help="share of movies held out")
    p.add_argument("--negatives", type=int, default=99)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=str(RESULTS / "cold_start.json"))
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    runs = {str(s): run_seed(s, args.share, args.negatives) for s in args.seeds}
    table = {
        name: {
            key: sum(r["models"][name][key] for r in runs.values()) / len(runs)
            for key in (f"hr@{K}", f"ndcg@{K}")
        }
        for name in MODELS
    }
    result = {
        "command": " ".join(["python", "experiments/studies/cold_start.py", *sys.argv[1:]]),
        "dataset": "ml-100k",
        "seeds": args.seeds,
        "protocol": (
            f"per user who rated a held-out movie: one such movie vs {args.negatives} "
            "sampled held-out movies the user never rated; ties broken uniformly at random"
        ),
        "share_held_out": args.share,
        "table_mean_over_seeds": table,
        "runs": runs,
    }
    out = Path(args.out)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=2))
    tmp.replace(out)
    print(json.dumps(table, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
