#!/usr/bin/env python
"""Turn a benchmark folder into the README's results section.

    python experiments/make_readme_results.py \
        [--bench experiments/results/benchmark_ml-100k] \
        [--out experiments/results/README_results.md]

Reads ``benchmark.csv`` (the per-seed rows behind ``benchmark.md``; the means and standard
deviations are recomputed with the same code, :func:`graphrec.tasks.benchmark.summarise`) and
``metrics.json`` (settings, wall time), and the RecBole peer runs
``experiments/results/recbole_<model>_<protocol>.json`` written by
``experiments/peers/recbole_run.py`` on this machine. Where no peer file exists for the
sampled protocol, the figures measured earlier on this machine are quoted instead and marked
so. Writes markdown for the lead to paste into README.md; prints it too.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout

from graphrec.tasks.benchmark import agreement, markdown_table, summarise  # noqa: E402

#: RecBole model -> our model name in the benchmark
PEERS = {"Pop": "ItemPop", "BPR": "BPR-MF", "NeuMF": "NeuMF", "LightGCN": "LightGCN"}
#: RecBole 1.2.1, ML-100K, 1 + 100 sampled, measured earlier on this machine (HR@10, NDCG@10)
EARLIER = {"NeuMF": (0.647, 0.374), "BPR": (0.656, 0.382), "Pop": (0.417, 0.237)}


def read_rows(path: Path) -> list[dict]:
    import pandas as pd

    return pd.read_csv(path).to_dict("records")


def peer_figures(results: Path) -> dict[str, dict[str, dict]]:
    """``{our model: {protocol: {"hr", "ndcg", "source", "epochs"}}}``."""
    out: dict[str, dict[str, dict]] = {}
    for peer, ours in PEERS.items():
        for protocol in ("sampled", "full"):
            f = results / f"recbole_{peer.lower()}_{protocol}.json"
            if f.is_file():
                d = json.loads(f.read_text())
                s = d["summary"]
                out.setdefault(ours, {})[protocol] = {
                    "hr": s["test_hit@10"],
                    "ndcg": s["test_ndcg@10"],
                    "source": f.name,
                    "epochs": s.get("epochs_run"),
                    "seed": d.get("args", {}).get("seed"),
                }
            elif protocol == "sampled" and peer in EARLIER:
                hr, ndcg = EARLIER[peer]
                out.setdefault(ours, {})[protocol] = {
                    "hr": hr,
                    "ndcg": ndcg,
                    "source": "earlier run on this machine (no peer file)",
                    "epochs": None,
                    "seed": None,
                }
    return out


def paired(rows: list[dict], a: str, b: str, col: str) -> tuple[float, float, int, int] | None:
    """Mean and std of the per-seed difference ``a - b`` in ``col``; wins of ``a``; seeds."""
    ra = {r["seed"]: r[col] for r in rows if r["model"] == a}
    rb = {r["seed"]: r[col] for r in rows if r["model"] == b}
    seeds = sorted(set(ra) & set(rb))
    if not seeds:
        return None
    d = [ra[s] - rb[s] for s in seeds]
    mean = sum(d) / len(d)
    std = (sum((x - mean) ** 2 for x in d) / (len(d) - 1)) ** 0.5 if len(d) > 1 else 0.0
    return mean, std, sum(x > 0 for x in d), len(seeds)


def comparison(rows: list[dict], a: str, b: str, k: int = 10) -> list[str]:
    lines = []
    for p in ("sampled", "full"):
        parts = []
        for m in ("hr", "ndcg"):
            r = paired(rows, a, b, f"{p}_{m}@{k}")
            if r is None:
                return []
            mean, std, wins, n = r
            parts.append(f"{m.upper()}@{k} {mean:+.3f} ± {std:.3f} ({a} ahead on {wins}/{n} seeds)")
        lines.append(f"  - {p}: " + "; ".join(parts))
    return lines


def build(bench: Path, results: Path) -> str:
    rows = read_rows(bench / "benchmark.csv")
    meta_file = bench / "metrics.json"
    meta = json.loads(meta_file.read_text())["meta"] if meta_file.is_file() else {}
    k = int(meta.get("k", 10))
    summary = summarise(rows, k)
    by_model = {s["model"]: s for s in summary}
    agree = agreement(summary, k)
    seeds = sorted({r["seed"] for r in rows})
    wall = meta.get("total_wall_seconds")

    md = [
        "## Results",
        "",
        f"{meta.get('dataset', 'ml-100k')}, temporal leave-one-out (ties in time broken by "
        f"file order), every rating a positive; test set, mean ± std over {len(seeds)} seeds "
        f"({', '.join(map(str, seeds))}). Each model is selected on valid NDCG@{k} (sampled) "
        "with its best weights restored. `sampled`: the held-out movie ranked against 99 "
        "movies the user never rated; `full`: against every movie except the user's train and "
        "valid ones. Train seconds are wall time on a shared 2-core CPU"
        + (f" with {meta['threads']} torch thread(s)" if meta.get("threads") else "")
        + " and include per-epoch validation.",
        "",
        markdown_table(summary, k),
        "",
    ]
    if wall:
        md += [f"Whole benchmark: {wall / 60:.0f} min wall time.", ""]
    if meta.get("max_epochs"):
        md += [f"Epoch budgets capped at {meta['max_epochs']}.", ""]

    peers = peer_figures(results)
    if peers:
        md += [
            "### Beside RecBole (1.2.1, same split, same machine; sampled = 1 + 100)",
            "",
            f"| model | protocol | graphrec HR@{k} | graphrec NDCG@{k} | RecBole HR@{k} "
            f"| RecBole NDCG@{k} | RecBole source |",
            "|---|---|---:|---:|---:|---:|---|",
        ]
        for ours, per in peers.items():
            for p, f in per.items():
                s = by_model.get(ours)
                mine = (
                    (f"{s[f'{p}_hr@{k}_mean']:.3f}", f"{s[f'{p}_ndcg@{k}_mean']:.3f}")
                    if s
                    else ("n/a", "n/a")
                )
                src = f["source"] + (f", seed {f['seed']}" if f.get("seed") is not None else "")
                md.append(
                    f"| {ours} | {p} | {mine[0]} | {mine[1]} | {f['hr']:.3f} | {f['ndcg']:.3f} "
                    f"| {src} |"
                )
        md += ["", "RecBole figures are single runs (one seed); ours are means over seeds.", ""]

    md += ["### The seed report's claims, tested", ""]
    if "AttentionNCF" in by_model and "NeuMF" in by_model:
        md += ["- *Attention-NCF beats NeuMF* (per-seed difference attention − NeuMF):"]
        md += comparison(rows, "AttentionNCF", "NeuMF", k)
    for a, b in (("LightGCN", "BPR-MF"), ("LightGCN", "NeuMF"), ("BPR-MF", "NeuMF")):
        if a in by_model and b in by_model:
            md += [f"- {a} vs {b} (per-seed difference):"]
            md += comparison(rows, a, b, k)
    for metric, a in agree.items():
        verdict = "the same" if a["same_order"] else "different"
        md += [
            f"- Model ranking by {metric}, sampled vs full: {verdict} "
            f"(Kendall's tau {a['kendall_tau']:.2f}).",
            f"  - sampled: {' > '.join(a['sampled'])}",
            f"  - full: {' > '.join(a['full'])}",
        ]
    md += [
        "",
        f"Reproduce: `python experiments/run.py --task benchmark --seeds {len(seeds)} "
        f"--dataset {meta.get('dataset', 'ml-100k')}"
        + (f" --threads {meta['threads']}" if meta.get("threads") else "")
        + "` then `python experiments/make_readme_results.py`.",
        "",
    ]
    return "\n".join(md)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--bench",
        default=str(ROOT / "experiments/results/benchmark_ml-100k"),
        help="benchmark folder with benchmark.csv (default: %(default)s)",
    )
    p.add_argument(
        "--results",
        default=str(ROOT / "experiments/results"),
        help="where the recbole_*.json peer files are (default: %(default)s)",
    )
    p.add_argument(
        "--out",
        default=str(ROOT / "experiments/results/README_results.md"),
        help="markdown to write (default: %(default)s)",
    )
    a = p.parse_args(argv)
    bench = Path(a.bench)
    if not (bench / "benchmark.csv").is_file():
        print(
            f"error: {bench / 'benchmark.csv'} not found: run "
            f"`python experiments/run.py --task benchmark --out {bench}` first",
            file=sys.stderr,
        )
        return 2
    text = build(bench, Path(a.results))
    from graphrec.io import atomic_write

    with atomic_write(a.out, "w") as fh:
        fh.write(text)
    print(text)
    print(f"wrote {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
