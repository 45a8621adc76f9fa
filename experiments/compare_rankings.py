#!/usr/bin/env python
"""Plain cosine against CSLS for item2vec's similar-movie lists, on several seeds (ML-100K).

Trains item2vec with the task's ML-100K defaults (``--knn 6 --mutual-weight 4``; ``--grid-
base``: the tuning grid's top 10 x10, the default until 2026-11-28) for each seed, then ranks
every movie's neighbours by plain cosine (``--hubness-k 0``) and by CSLS with several K, and
reports genre coherence@10, franchise siblings@10 (beside plain item-item cosine) and whether
Star Wars (1977) lists The Empire Strikes Back and Return of the Jedi and The Godfather lists
Part II. The embedding is the same for every ranking of a seed, so the recommender metrics do
not depend on the ranking and are not reported. This is the measurement behind the task's
default ``--hubness-k 50``.

    python experiments/compare_rankings.py                       # seeds 0 1 2, K 0 10 20 50
    python experiments/compare_rankings.py --seeds 0 --ks 0 50   # one seed
    python experiments/compare_rankings.py --seeds 0 1 2 3 4 5 --grid-base \
        --out experiments/results/compare_rankings_grid_base.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--ks", type=int, nargs="+", default=[0, 10, 20, 50], help="0: plain cosine")
    ap.add_argument(
        "--grid-base",
        action="store_true",
        help="the tuning grid's projection (top 10, mutual x10) instead of the task's ML-100K one",
    )
    ap.add_argument("--out", default=str(ROOT / "experiments/results/compare_rankings.json"))
    args = ap.parse_args()
    if any(k < 0 for k in args.ks):
        ap.error("--ks must be >= 0 (0: plain cosine)")

    from types import SimpleNamespace

    import torch
    import torch.nn.functional as F
    from tune_item2vec import BASE, ml100k_setup

    from graphrec.io import package_versions, write_json
    from graphrec.similarity import (
        FRANCHISES,
        franchise_hits,
        genre_coherence,
        hubness,
        top_similar,
    )
    from graphrec.cli.item2vec import projection_defaults, train_item2vec

    setup = ml100k_setup()
    split, titles, genres, pop = setup.split, setup.titles, setup.genres, setup.pop
    ids = torch.nonzero(pop >= 20).view(-1)
    star_wars = [titles.index(t) for t in FRANCHISES[0]]
    godfather = [titles.index(t) for t in FRANCHISES[1]]
    base_fr = setup.base_franchise
    settings = dict(BASE) if args.grid_base else {**BASE, **projection_defaults("ml-100k")}
    rows = []
    for seed in args.seeds:
        res = train_item2vec(split, SimpleNamespace(**{**settings, "seed": seed}))
        z = F.normalize(res.emb.float(), dim=1)
        for k in args.ks:
            r = hubness(z, k, res.has_edge) if k else None

            def nearest(q, e=res.emb, a=res.has_edge, k=k, r=r):
                return top_similar(e, q, 10, allowed=a, hubness_k=k, hub=r)[0]

            pool = torch.nonzero(res.has_edge).view(-1)
            coh = genre_coherence(nearest(ids), ids, genres, pool)["coherence"]
            fr = franchise_hits(nearest, titles, pop)["hit_rate"]
            sw = set(nearest(torch.tensor(star_wars[:1]))[0].tolist())
            gf = set(nearest(torch.tensor(godfather[:1]))[0].tolist())
            row = {
                "seed": seed,
                "ranking": f"CSLS K={k}" if k else "cosine",
                "genre_coherence@10": coh,
                "franchise@10": fr,
                "star_wars_lists_both_sequels": set(star_wars[1:]) <= sw,
                "godfather_lists_part_ii": godfather[1] in gf,
            }
            rows.append(row)
            print(
                f"seed {seed}  {row['ranking']:10s}  coherence {coh:.3f}  franchise {fr:.3f}  "
                f"Star Wars both sequels {row['star_wars_lists_both_sequels']}  "
                f"Godfather Part II {row['godfather_lists_part_ii']}",
                flush=True,
            )
    out = {
        "item_cosine_franchise@10": base_fr["hit_rate"],
        "franchise_films": base_fr["films"],
        "settings": {k: v for k, v in settings.items() if k not in ("seed", "quiet")},
        "config": vars(args),
        "rows": rows,
        "versions": package_versions(),
    }
    write_json(args.out, out)
    print(f"item-item cosine franchise@10 {base_fr['hit_rate']:.3f}; wrote {args.out}")


if __name__ == "__main__":
    main()
