#!/usr/bin/env python
"""Regenerate the benchmark block of the results page from a benchmark folder.

    python experiments/make_results_page.py \
        [--bench experiments/results/benchmark_ml-100k] [--results experiments/results] \
        [--target docs/results.md] [--out FILE]

Replaces the lines between the ``BEGIN``/``END`` markers of ``--target`` with what
:func:`graphrec.report.build_markdown` makes of ``--bench`` (``benchmark.csv``, ``metrics.json``)
and of the RecBole peer runs ``recbole_<model>_<protocol>.json`` in ``--results``.
``tests/test_benchmark.py`` checks that docs/results.md matches the committed benchmark.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from graphrec import report

ROOT = Path(__file__).resolve().parents[1]


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
        "--target",
        default=str(ROOT / "docs/results.md"),
        help="file whose marked block is replaced (default: %(default)s)",
    )
    p.add_argument(
        "--other-split",
        default=None,
        help="benchmark folder of the same models under --split global-time, shown below the "
        "main table (default: experiments/results/benchmark_ml-100k_global-time where it "
        "exists); 'none' leaves it out",
    )
    p.add_argument("--out", default=None, help="also write the block alone to this file")
    a = p.parse_args(argv)
    try:
        if a.other_split is None:  # the committed one, where there is one
            other = ROOT / "experiments/results/benchmark_ml-100k_global-time"
            other = other if (other / "benchmark.csv").is_file() else None
        else:  # named: it must be a benchmark folder (read_benchmark says so if not)
            other = None if a.other_split == "none" else Path(a.other_split)
        block = report.build_markdown(a.bench, a.results, other)
        report.write_block(a.target, block)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"updated the benchmark block of {a.target}", file=sys.stderr)
    if a.out:
        from graphrec.io import atomic_write

        with atomic_write(a.out, "w") as fh:
            fh.write(block)
        print(f"wrote {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
