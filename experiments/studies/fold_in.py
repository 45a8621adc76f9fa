#!/usr/bin/env python
"""Study: how much a folded-in user loses against the trained user vector, per model.

    python experiments/studies/fold_in.py --runs RUNS_DIR [--models neumf bpr ...] [--stage test]
                                          [--seed 0] [--out FILE]

``RUNS_DIR`` holds one run folder per model, each written by its training task with its
defaults and seed 0 (``python experiments/run.py --task neumf --out RUNS_DIR/neumf``; the
commands are recorded beside the numbers). For every evaluated user of the stage, the user's
train movies are folded in as if the user were new (``model.fold_in``, every weight frozen)
and the held-out movie is ranked from the folded-in vector under both protocols, exactly as
from the trained vector (:class:`graphrec.foldin.FoldedUsers`; sampled: 1 + 99 candidates,
full: every movie, train movies left out). Also per model: the mean overlap of each user's
top 10 (train movies left out) from the two vectors, HR@10 (full) by profile size, user 196's
overlap, and the fold-in time. Writes ``experiments/results/fold_in.json``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "results"
#: profile sizes (train movies) the full-protocol HR@10 is broken down by
BUCKETS = ((1, 30), (31, 100), (101, 10_000))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", required=True, help="folder of run folders, one per model")
    p.add_argument("--models", nargs="+", default=None, help="run folder names (default: all)")
    p.add_argument("--stage", default="test", choices=["valid", "test"])
    p.add_argument("--batch-size", type=int, default=128, help="users folded in per call")
    p.add_argument("--seed", type=int, default=0, help="seed of the fold-in negatives (default 0)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--out", default=str(RESULTS / "fold_in.json"))
    args = p.parse_args(argv)

    import torch

    import graphrec.models  # noqa: F401
    from graphrec.data import load_movielens, temporal_split
    from graphrec.evaluate import evaluate_ranks
    from graphrec.foldin import FoldedUsers, fold_in_users, train_profiles
    from graphrec.io import package_versions, read_json, write_json
    from graphrec.metrics import ranking_metrics
    from graphrec.models.base import Recommender

    torch.set_num_threads(args.threads)
    runs = Path(args.runs)
    names = args.models or sorted(d.name for d in runs.iterdir() if (d / "model").is_dir())
    splits: dict[str, object] = {}
    rows = []
    for name in names:
        folder = runs / name
        model = Recommender.load(folder / "model")
        config = read_json(folder / "config.json")
        dataset = model.ids.dataset
        if dataset not in splits:
            data = load_movielens(dataset, verbose=False)
            splits[dataset] = temporal_split(data, min_rating=config["config"].get("min_rating"))
        split = splits[dataset]
        if not torch.equal(model.seen_movies.cpu(), split.train_movies):
            raise SystemExit(f"error: {folder} was not fitted on this split of {dataset}")
        users = split.held_out(args.stage)[0]
        t0 = time.perf_counter()
        vectors = fold_in_users(model, split, users, batch_size=args.batch_size, seed=args.seed)
        fold_seconds = time.perf_counter() - t0
        folded = FoldedUsers(model, users, vectors)
        row = {
            "run": name,
            "model": type(model).__name__,
            "users": int(users.numel()),
            "command": " ".join(config.get("command", [])),
            "fold_in_seconds": round(fold_seconds, 2),
            "fold_in_ms_per_user": round(1000 * fold_seconds / users.numel(), 2),
        }
        ranks = {}
        for protocol in ("sampled", "full"):
            ranks[protocol] = [
                evaluate_ranks(m, split, args.stage, protocol) for m in (model, folded)
            ]
            trained, new = (ranking_metrics(r, 10) for r in ranks[protocol])
            row[protocol] = {
                key: {
                    "trained": round(trained[key], 4),
                    "folded_in": round(new[key], 4),
                    "difference": round(new[key] - trained[key], 4),
                }
                for key in ("hr@10", "ndcg@10")
            }
        # where it loses: HR@10 (full) by the size of the profile folded in
        sizes = split.train_ptr[users + 1] - split.train_ptr[users]
        ranks_t, ranks_f = ranks["full"]
        row["full_hr@10_by_profile_size"] = {
            f"{lo}-{hi if hi < 10_000 else 'max'}": {
                "users": int(((sizes >= lo) & (sizes <= hi)).sum()),
                "trained": round(
                    float((ranks_t[(sizes >= lo) & (sizes <= hi)] < 10).float().mean()), 4
                ),
                "folded_in": round(
                    float((ranks_f[(sizes >= lo) & (sizes <= hi)] < 10).float().mean()), 4
                ),
            }
            for lo, hi in BUCKETS
        }
        # the lists themselves: top 10 of the two vectors, train movies left out
        profiles = train_profiles(split, users)
        top_t, _ = model.recommend_indices(users, k=10)
        top_f, _ = model.recommend_vectors(vectors, k=10, exclude=profiles)
        overlap = [
            len(set(a) & set(b)) for a, b in zip(top_t.tolist(), top_f.tolist(), strict=True)
        ]
        row["top10_overlap_mean"] = round(sum(overlap) / len(overlap), 3)
        u196 = split.ids.user_index(196) if 196 in split.ids.users else None
        if u196 is not None and u196 in users.tolist():
            row["top10_overlap_user_196"] = overlap[users.tolist().index(u196)]
        rows.append(row)
        s, f = row["sampled"], row["full"]
        print(
            f"{name:10s} sampled HR {s['hr@10']['trained']:.4f} -> {s['hr@10']['folded_in']:.4f}  "
            f"NDCG {s['ndcg@10']['trained']:.4f} -> {s['ndcg@10']['folded_in']:.4f} | full HR "
            f"{f['hr@10']['trained']:.4f} -> {f['hr@10']['folded_in']:.4f}  NDCG "
            f"{f['ndcg@10']['trained']:.4f} -> {f['ndcg@10']['folded_in']:.4f} | overlap "
            f"{row['top10_overlap_mean']:.2f} | {row['fold_in_ms_per_user']:.1f} ms/user",
            flush=True,
        )
    write_json(
        args.out,
        {
            "command": " ".join(["python", "experiments/studies/fold_in.py", *sys.argv[1:]]),
            "stage": args.stage,
            "seed": args.seed,
            "procedure": "each evaluated user's train movies folded in as a new user (every "
            "weight frozen, model.fold_in defaults), the held-out movie ranked from "
            "the folded-in vector and from the trained one under both protocols",
            "threads": args.threads,
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
            "rows": rows,
            "versions": package_versions(),
        },
    )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
