import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from graphrec import benchmark
from graphrec.data import temporal_split
from graphrec.data.synthetic import synthetic_graph
from graphrec.presets import MODELS


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One intra-op thread: tiny models are much slower with two on a busy 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


EVERY_MODEL = [
    "ItemPop",
    "BPR-MF",
    "GMF",
    "MLP",
    "NeuMF",
    "FeatureMLP",
    "item2vec",
    "AttentionNCF",
    "LightGCN",
    "EASE",
    "ItemKNN",
    "implicit-ALS",
    "implicit-BPR",
    "HeteroGNN",
]


def test_registry_lists_every_model_of_the_issue():
    assert sorted(MODELS) == sorted(EVERY_MODEL)


def test_benchmark_models_are_the_library_models_with_the_data_set_presets(monkeypatch):
    """No setting is the benchmark's own: a row is built by presets.build_model (class
    defaults, then the (model, data set) presets) and fitted with the model's own defaults."""
    from graphrec.presets import PRESETS, build_model, model_preset

    # ML-100K's movie graph for item2vec is a preset of the library, not of the benchmark
    assert model_preset("Item2Vec", "ml-100k") == {"knn": 6, "mutual_weight": 4.0}
    assert model_preset("Item2Vec", "synthetic") == {}
    data = synthetic_graph(40, 250, 800, seed=4)
    split = temporal_split(data)
    monkeypatch.setitem(
        PRESETS, ("BPRMF", "synthetic"), {"model": {"embedding_dim": 8}, "train": {"epochs": 1}}
    )
    model, seconds = benchmark.train_one("BPR-MF", split, data, 3, progress=False)
    assert model.hparams["embedding_dim"] == 8 and model.history.config["epochs"] == 1
    assert model.history.config["seed"] == 3 and model.history.config["batch_size"] == 2048
    assert model.meta["training"]["epochs_run"] == 1 and seconds > 0
    # the benchmark's FeatureMLP row ranks; the class name alone is the rating model
    ranking, _ = benchmark.train_one("FeatureMLP", split, data, 0, progress=False, max_epochs=1)
    assert ranking.objective == "ranking"
    assert build_model("FeatureMLP", split, data).objective == "rating"


@pytest.mark.parametrize("name", EVERY_MODEL)
def test_every_model_trains_and_is_scored_under_both_protocols(name):
    data = synthetic_graph(50, 300, 1500, seed=5)
    split = temporal_split(data)
    rows = benchmark.run_benchmark(split, data, [name], [0], progress=False, max_epochs=1)
    assert [r["model"] for r in rows] == [name]
    for r in rows:
        for col in benchmark.metric_columns(10):
            assert 0.0 <= r[col] <= 1.0, (r["model"], col)
        assert r["epochs_run"] is None or r["epochs_run"] <= 1, r["model"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, one_thread):
    """2 models x 2 seeds on a small synthetic graph, written to a folder."""
    out = tmp_path_factory.mktemp("bench")
    data = synthetic_graph(60, 300, 1200, seed=3)
    split = temporal_split(data)
    per_user: dict = {}
    rows = benchmark.run_benchmark(
        split,
        data,
        ["ItemPop", "BPR-MF"],
        seeds=[0, 1],
        progress=False,
        max_epochs=2,
        per_user=per_user,
    )
    meta = {"dataset": "synthetic", "seeds": [0, 1], "k": 10, "total_wall_seconds": 1.0}
    return out, benchmark.write_outputs(out, rows, meta, per_user=per_user)


def test_tiny_benchmark_writes_csv_md_png(tiny):
    tmp_path, result = tiny
    table = pd.read_csv(tmp_path / "benchmark.csv")
    assert list(table.columns) == [
        "model",
        "seed",
        "sampled_hr@10",
        "sampled_ndcg@10",
        "full_hr@10",
        "full_ndcg@10",
        "coverage@10",
        "avg_popularity@10",
        "novelty@10",
        "train_seconds",
        "eval_seconds",
        "epochs_run",
        "best_epoch",
    ]
    assert table[["model", "seed"]].values.tolist() == [
        ["ItemPop", 0],
        ["ItemPop", 1],
        ["BPR-MF", 0],
        ["BPR-MF", 1],
    ]
    metrics = table[benchmark.metric_columns(10)]
    assert ((metrics >= 0) & (metrics <= 1)).all().all()
    assert (table.loc[table.model == "BPR-MF", "epochs_run"] <= 2).all()

    md = (tmp_path / "benchmark.md").read_text()
    for header in ["sampled HR@10", "sampled NDCG@10", "full HR@10", "full NDCG@10", "train s"]:
        assert header in md
    assert "| ItemPop | 2 |" in md and "| BPR-MF | 2 |" in md and " ± " in md
    assert "Kendall's tau" in md
    assert (tmp_path / "benchmark.png").stat().st_size > 0
    pop = next(s for s in result["summary"] if s["model"] == "ItemPop")
    mean = table.loc[table.model == "ItemPop", "full_ndcg@10"].mean()
    assert pop["full_ndcg@10_mean"] == pytest.approx(mean)
    # beyond accuracy: ItemPop gives every user (nearly) the same 10 movies, the most popular
    assert ((table["coverage@10"] > 0) & (table["coverage@10"] <= 1)).all()
    assert pop["coverage@10_mean"] < 0.2 and pop["avg_popularity@10_mean"] > 5
    assert "coverage@10" in md and "avg pop@10" in md and "novelty@10" in md and "bits" in md
    # significance against the best of each protocol, named, best's own row "—"
    sig = result["significance"]
    for p in ("sampled", "full"):
        best = sig[p]["best"]
        assert sig[p]["p"][best] is None and sig[p]["pairs"]
        assert f"Wilcoxon signed-rank, paired over (seed, user), vs {best}" in md
        other = next(m for m in sig[p]["p"] if m != best)
        assert 0.0 <= sig[p]["p"][other] <= 1.0
    assert "| — |" in md
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["significance"]["full"]["best"] == sig["full"]["best"]
    with np.load(tmp_path / "benchmark_users.npz") as users:
        assert sorted(users.files) == sorted(
            f"{m}|{s}|{p}"
            for m in ("ItemPop", "BPR-MF")
            for s in (0, 1)
            for p in benchmark.PROTOCOLS
        )
        # the per-user vectors are the rows' means
        row = table[(table.model == "BPR-MF") & (table.seed == 1)].iloc[0]
        assert users["BPR-MF|1|full"].mean() == pytest.approx(row["full_ndcg@10"], abs=1e-5)


def test_same_seed_same_numbers():
    data = synthetic_graph(40, 250, 800, seed=4)
    split = temporal_split(data)
    a = benchmark.run_benchmark(split, data, ["BPR-MF"], [7], progress=False, max_epochs=1)
    b = benchmark.run_benchmark(split, data, ["BPR-MF"], [7], progress=False, max_epochs=1)
    cols = benchmark.metric_columns(10)
    assert [a[0][c] for c in cols] == [b[0][c] for c in cols]


def test_summary_and_kendall_tau_by_hand():
    rows = [
        {
            "model": "A",
            "seed": 0,
            "train_seconds": 1.0,
            **dict.fromkeys(benchmark.metric_columns(), 0.2),
        },
        {
            "model": "A",
            "seed": 1,
            "train_seconds": 3.0,
            **dict.fromkeys(benchmark.metric_columns(), 0.4),
        },
    ]
    (s,) = benchmark.summarise(rows)
    assert s["sampled_hr@10_mean"] == pytest.approx(0.3)
    assert s["sampled_hr@10_std"] == pytest.approx(0.1414213, rel=1e-5)  # sample std
    assert s["train_seconds_mean"] == pytest.approx(2.0)
    assert benchmark.kendall_tau([3, 2, 1], [30, 20, 10]) == pytest.approx(1.0)
    assert benchmark.kendall_tau([3, 2, 1], [10, 20, 30]) == pytest.approx(-1.0)
    assert benchmark.kendall_tau([1, 2, 3, 4], [1, 2, 4, 3]) == pytest.approx(4 / 6)


@pytest.mark.parametrize(
    "a, b, tau_b",
    [
        # one pair tied in a only, one in b only: (4 - 0) / sqrt((6 - 1) * (6 - 1)) = 0.8,
        # where tau-a (no tie correction) gives 4 / 6
        ([1, 2, 2, 3], [1, 2, 3, 3], 4 / 5),
        # a pair tied in both counts in both corrections: 5 / sqrt(5 * 5) = 1 (tau-a 5 / 6)
        ([1, 1, 2, 3], [1, 1, 2, 4], 1.0),
        # 7 concordant, 1 discordant, one tie in each of 10 pairs: 6 / sqrt(9 * 9) (tau-a 0.6)
        ([1, 2, 3, 3, 4], [2, 1, 3, 4, 4], 6 / 9),
    ],
)
def test_kendall_tau_is_tau_b_on_tied_scores_by_hand(a, b, tau_b):
    assert benchmark.kendall_tau(a, b) == pytest.approx(tau_b, abs=1e-12)
    assert benchmark.kendall_tau(b, a) == pytest.approx(tau_b, abs=1e-12)
    summary = [
        {"model": str(i), "sampled_hr@10_mean": x, "full_hr@10_mean": y,
         "sampled_ndcg@10_mean": x, "full_ndcg@10_mean": y}
        for i, (x, y) in enumerate(zip(a, b, strict=True))
    ]  # fmt: skip
    assert benchmark.agreement(summary)["hr@10"]["kendall_tau"] == pytest.approx(tau_b)


def test_unknown_model_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown model.*registered"):
        benchmark.run_benchmark(None, None, ["NoSuchModel"], [0], progress=False)


def test_cli_knows_the_task_and_its_options():
    from graphrec.cli.main import build_parser

    parser = build_parser("benchmark")
    args = parser.parse_args(
        [
            "--task",
            "benchmark",
            "--models",
            "ItemPop",
            "LightGCN",
            "--seeds",
            "2",
            "--max-epochs",
            "3",
            "--threads",
            "1",
        ]
    )
    assert args.models == ["ItemPop", "LightGCN"] and args.seeds == 2 and args.max_epochs == 3
    for task in ("attention", "lightgcn", "bpr"):
        assert build_parser(task).parse_args(["--task", task]).task == task


def test_results_block_from_a_benchmark_folder(tiny, tmp_path):
    from graphrec import report

    peer = {"summary": {"test_hit@10": 0.5, "test_ndcg@10": 0.25}, "args": {"seed": 2020}}
    (tmp_path / "recbole_pop_sampled.json").write_text(json.dumps(peer))
    text = report.build_markdown(tiny[0], tmp_path)
    assert text.startswith(report.BEGIN) and text.endswith(report.END)
    assert "| ItemPop | 2 |" in text  # the benchmark table
    assert "| ItemPop | sampled |" in text and "recbole_pop_sampled.json" in text
    assert "| 0.500 | 0.250 | 0.417 / 0.237 |" in text  # run here beside the issue's quote
    assert "not run here" in text  # BPR and NeuMF have no peer file here
    assert "BPR-MF" in text and "Kendall's tau" in text
    # the folder's beyond-accuracy columns and, from benchmark_users.npz, the p-values
    assert "coverage@10" in text and "Wilcoxon signed-rank, paired over (seed, user)" in text

    page = tmp_path / "results.md"
    page.write_text(f"# x\n\nbefore\n{report.BEGIN}\nold\n{report.END}\nafter\n")
    report.write_block(page, text)
    new = page.read_text()
    assert new.startswith("# x\n\nbefore\n") and new.endswith("\nafter\n")
    assert "old" not in new and text in new
    page.write_text("# no markers\n")
    with pytest.raises(ValueError, match="no results block"):
        report.write_block(page, text)
    assert page.read_text() == "# no markers\n"
    with pytest.raises(FileNotFoundError, match="--task benchmark"):
        report.build_markdown(tmp_path / "no-such-folder", tmp_path)


def test_the_results_page_block_is_the_committed_benchmark():
    """docs/results.md's generated block is exactly what graphrec.report makes of the committed
    experiments/results/benchmark_ml-100k (regenerate with experiments/make_results_page.py)."""
    from graphrec import report

    root = Path(__file__).resolve().parents[1]
    bench = root / "experiments/results/benchmark_ml-100k"
    if not (bench / "benchmark.csv").is_file():
        pytest.skip("no committed benchmark")
    page = (root / "docs/results.md").read_text()
    start, end = page.find(report.BEGIN), page.find(report.END)
    assert 0 <= start < end, "docs/results.md has no generated benchmark block"
    committed = page[start : end + len(report.END)]
    other = root / "experiments/results/benchmark_ml-100k_global-time"
    other = other if (other / "benchmark.csv").is_file() else None
    assert committed == report.build_markdown(bench, root / "experiments/results", other), (
        "docs/results.md is stale: python experiments/make_results_page.py"
    )


def test_results_block_with_the_other_split(tiny, tmp_path):
    """A second folder (the same models under another split) is shown below the main table,
    with the ranking comparison: the same folder twice ranks identically (tau 1)."""
    import shutil

    from graphrec import report

    other = tmp_path / "other"
    shutil.copytree(tiny[0], other)
    metrics = json.loads((other / "metrics.json").read_text())
    metrics["meta"].update(split="global-time", test_users=55, cuts={"t_valid": 5, "t_test": 9})
    (other / "metrics.json").write_text(json.dumps(metrics))
    text = report.build_markdown(tiny[0], tmp_path, other)
    assert "### The same models under the global-time split" in text
    assert "55 evaluated test users" in text and "(t = 5)" in text and "(t = 9)" in text
    best = report.ranking(report.summarise(*[report.read_benchmark(tiny[0])[0]]), "full_ndcg@10")
    assert "Kendall's tau 1.00, the same best model" in text and best[0] in text
    _, comparison = report.other_split_section(
        report.summarise(report.read_benchmark(tiny[0])[0]), other
    )
    assert (
        comparison["full"]["tau"] == 1.0
        and comparison["sampled"]["best"][0] == (comparison["sampled"]["best"][1])
    )
    assert "--split global-time" in text  # the reproduce line names both commands
