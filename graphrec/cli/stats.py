"""``--task stats``: load a data set, print the graph summary, write ``stats.json``."""

from __future__ import annotations

import json
import time

from graphrec.cli.common import load_graph, make_split, open_run
from graphrec.data.graph import graph_summary


def add_arguments(parser) -> None:
    pass


def run(args) -> dict:
    t0 = time.perf_counter()
    data = load_graph(args)
    load_s = time.perf_counter() - t0
    split = make_split(args, data)
    stats = graph_summary(data)
    stats["split"] = split.summary()
    stats["timing"] = {"load_seconds": round(load_s, 3)}
    run_dir = open_run(args, "stats")
    run_dir.write_json("stats.json", stats)
    print(json.dumps(stats, indent=2))
    run_dir.report()
    return stats
