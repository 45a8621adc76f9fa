#!/usr/bin/env python
"""The interactive map in a real browser: page size, time to first render, screenshots.

For each run folder given (``map.html`` written by ``--task item2vec`` or ``--task map``),
opens the page in headless Chromium (Debian's ``chromium`` + ``chromium-driver``, driven by
selenium through :class:`graphrec.viz.pagecheck.MapPage`), records its size, the time from
navigation to the drawn map (``--repeats`` loads, the first one cold), console errors and any
network request, then searches ``--search`` as a person would, hovers the found film and saves
a screenshot of each state. Results go to ``--out`` (JSON with the command, versions and the
numbers) and the screenshots to ``--shots``.

    python experiments/benchmarks/bench_map.py runs/item2vec/ml-100k runs/item2vec/latest \\
        --names ml-100k ml-latest-small --search "Star Wars (1977)" "a new hope" \\
        --shots docs/img --out experiments/results/bench_map.json
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from graphrec.io import package_versions, write_json
from graphrec.viz.pagecheck import INSTALL_HINT, MapPage, find_browser


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", help="run folders holding map.html")
    p.add_argument("--names", nargs="+", default=None, help="a short name per run (file names)")
    p.add_argument(
        "--search",
        nargs="+",
        default=["Star Wars (1977)"],
        help="the text to search and hover, one per run (the last one for the rest)",
    )
    p.add_argument("--repeats", type=int, default=3, help="page loads per run (default 3)")
    p.add_argument("--shots", default="docs/img", help="where the screenshots go")
    p.add_argument("--out", default="experiments/results/bench_map.json")
    args = p.parse_args(argv)
    if find_browser() is None:
        print(f"error: no browser: {INSTALL_HINT}", file=sys.stderr)
        return 2
    names = args.names or [Path(r).name for r in args.runs]
    if len(names) != len(args.runs):
        print("error: give one --names entry per run", file=sys.stderr)
        return 2
    results = {}
    searches = args.search + [args.search[-1]] * (len(args.runs) - len(args.search))
    with MapPage() as page:
        for run, name, text in zip(args.runs, names, searches, strict=False):
            html = Path(run) / "map.html"
            if not html.is_file():
                print(f"error: {html} not found; run --task map --run {run}", file=sys.stderr)
                return 2
            loads = [page.open(html) for _ in range(args.repeats)]
            errors, fetched = page.console_errors(), page.requests()
            shots = Path(args.shots)
            page.screenshot(shots / f"map-{name}.png")
            found = page.search(text)
            tips = page.hover(found) if found else []
            page.screenshot(shots / f"map-{name}-search.png")
            results[name] = {
                "run": str(run),
                "page_bytes": html.stat().st_size,
                "render_ms": [round(t, 1) for t in loads],
                "render_ms_median": round(statistics.median(loads), 1),
                "console_errors": errors,
                "external_requests": [
                    u for u in fetched if not u.startswith(("file:", "data:", "blob:"))
                ],
                "search": text,
                "found": found,
                "tooltip": tips[0] if tips else None,
                "screenshots": [f"map-{name}.png", f"map-{name}-search.png"],
            }
            r = results[name]
            print(
                f"{name}: {r['page_bytes'] / 1e6:.2f} MB, first render {loads[0]:.0f} ms "
                f"(median of {len(loads)}: {r['render_ms_median']:.0f} ms), found {found!r}, "
                f"{len(errors)} console errors, {len(r['external_requests'])} external requests"
            )
    write_json(
        args.out,
        {
            "command": " ".join(["python", "experiments/benchmarks/bench_map.py", *sys.argv[1:]]),
            "versions": package_versions(),
            "results": results,
        },
    )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
