"""Explanations: feature space, Captum completeness, SHAP additivity, a known answer, the CLI.

Tests that need the ``explain`` extra (captum, shap, lime) skip without it.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from graphrec.data import temporal_split
from graphrec.data.synthetic import synthetic_graph
from graphrec.explain import (
    METHODS,
    Explainer,
    FeatureSpace,
    UnknownMethodError,
    agreement,
    deletion_curves,
    faithfulness_summary,
    resolve_methods,
    spearman,
)
from graphrec.models.feature_mlp import FeatureMLP

ROOT = Path(__file__).resolve().parents[1]


def run_cli(argv):
    from graphrec.cli.main import main

    return main(argv)


def need_extra():
    for name in ("captum", "shap", "lime"):
        pytest.importorskip(name)


@pytest.fixture(scope="module")
def graph():
    return synthetic_graph(40, 150, 1500, seed=2)


@pytest.fixture(scope="module")
def split(graph):
    return temporal_split(graph)


@pytest.fixture(scope="module")
def model(graph, split):
    from graphrec.train import TrainConfig

    m = FeatureMLP.from_graph(graph, embedding_dim=8, layers=(16, 8), seed=0)
    m.fit(split, TrainConfig(epochs=3, batch_size=256, lr=1e-2, progress=False))
    assert m.history.objective == "rating"
    return m.eval()


@pytest.fixture(scope="module")
def saved_run(model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("features-run")
    model.save(folder / "model")
    return folder


@pytest.fixture(scope="module")
def age_only(graph):
    """A hand-set model whose prediction is ``1 + 2 * (age + 0.5)``: only age matters."""
    m = FeatureMLP.from_graph(graph, use_ids=False, layers=(1,), dropout=0.0)
    with torch.no_grad():
        for p in m.parameters():
            p.zero_()
        m.first.weight[0, m.feature_names.index("age")] = 1.0
        m.first.bias.fill_(0.5)
        m.out.weight.fill_(2.0)
        m.out.bias.fill_(1.0)
    return m.eval()


# ---------------------------------------------------------------------------- no extra needed
def test_import_graphrec_does_not_import_heavy_libraries():
    code = (
        "import sys, graphrec, graphrec.explain, graphrec.models.feature_mlp, "
        "graphrec.cli.features\n"
        "heavy = [m for m in ('captum', 'shap', 'lime', 'matplotlib') if m in sys.modules]\n"
        "assert not heavy, heavy"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr


def test_feature_space_variables_and_blocks(model, graph):
    space = FeatureSpace.from_model(model)
    kinds = {v.name: v.kind for v in space.variables}
    assert kinds["age"] == kinds["year"] == "continuous"
    assert kinds["gender"] == kinds["occupation"] == kinds["zip_region"] == "onehot"
    genres = [n for n in space.names if n.startswith("genre=")]
    assert genres and all(kinds[g] == "binary" for g in genres)  # multi-hot: one per genre
    assert space.blocks == ["age", "gender", "occupation", "zip_region", "genre", "year"]
    x = model.features(torch.arange(10), torch.arange(10))
    torch.testing.assert_close(space.decode(space.encode(x)), x)
    names = space.local_names(x[0])
    occ = graph["user"].feature_names[int(torch.argmax(graph["user"].x[0, 3:9])) + 3]
    assert occ in names and names[0] == "age" and names[-1] == "year"
    # masks: every column of a block shares its block index
    bm = space.block_mask()[0]
    occ_cols = [i for i, n in enumerate(space.column_names) if n.startswith("occupation=")]
    assert len(set(bm[occ_cols].tolist())) == 1 and bm[0] != bm[occ_cols[0]]


def test_resolve_methods_and_unknown_method_error():
    assert resolve_methods(None) == [*METHODS, "LayerIntegratedGradients"]
    assert resolve_methods(["ig", "Kernel-SHAP", "lime", "IG"]) == [
        "IntegratedGradients",
        "SHAP",
        "LIME",
    ]
    assert resolve_methods("saliency,lig") == ["Saliency", "LayerIntegratedGradients"]
    with pytest.raises(UnknownMethodError, match="unknown attribution method 'gradcam'.*SHAP"):
        resolve_methods(["ig", "gradcam"])


def test_spearman_known_values():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(0.9486833, abs=1e-6)
    assert np.isnan(spearman([1, 1, 1], [1, 2, 3]))


def test_cli_errors_unknown_user_movie_method_ambiguous_title(
    graph, saved_run, monkeypatch, capsys
):
    import graphrec.cli.features as task

    monkeypatch.setattr(task, "load_graph", lambda args: graph)
    base = ["--task", "explain", "--run", str(saved_run), "--quiet", "--global-edges", "0"]
    out = ["--out", str(saved_run / "explain")]
    assert run_cli([*base, *out, "--user", "99999"]) == 2
    assert "user 99999 is not in synthetic (40 users" in capsys.readouterr().err
    assert run_cli([*base, *out, "--user", "1", "--movie", "Movie 3 (1935)"]) == 2
    assert "no movie titled 'Movie 3 (1935)' in synthetic" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        run_cli([*base, *out, "--methods", "ig", "gradcam"])
    assert exc.value.code == 2
    assert "unknown attribution method 'gradcam'" in capsys.readouterr().err
    assert run_cli([*base, *out, "--movie", "3"]) == 2
    assert "error: --movie needs --user" in capsys.readouterr().err
    dup = graph.clone()
    dup["movie"].title = list(graph["movie"].title)
    dup["movie"].title[5] = dup["movie"].title[4]
    monkeypatch.setattr(task, "load_graph", lambda args: dup)
    assert run_cli([*base, *out, "--user", "1", "--movie", dup["movie"].title[4]]) == 2
    assert "is ambiguous" in capsys.readouterr().err


def test_a_user_without_a_test_edge_gets_the_top_recommendation(model, split):
    """``--user`` with no held-out movie: the edge is the user's top recommendation, found by
    node index (``recommend`` takes raw ids; user index 5 is raw id 6 here)."""
    import dataclasses

    from graphrec.cli.features import _pick_edge

    u = 5
    no_test = dataclasses.replace(split, test=split.test[:, split.test[0] != u])
    top, _ = model.recommend_indices([u], k=1)
    assert _pick_edge(u, None, no_test, model) == (u, int(top[0, 0]))
    raw_top, _ = model.recommend([split.ids.users[u]], k=1)
    assert int(raw_top[0, 0]) == split.ids.movies[int(top[0, 0])]


# ---------------------------------------------------------------------------- need the extra
def test_integrated_gradients_deeplift_and_lig_are_complete(model, split):
    pytest.importorskip("captum")
    ex = Explainer(model, split.train, seed=0)
    users, movies = split.test[0, :6], split.test[1, :6]
    att = ex.attribute(users, movies, ["ig", "deeplift", "lig"])
    gap = att.prediction - att.reference_prediction
    for method in ("IntegratedGradients", "DeepLift"):
        total = att.columns[method].sum(1)
        torch.testing.assert_close(total, gap, atol=5e-3, rtol=1e-2)
        # variables and blocks are sums of columns, so they stay complete
        torch.testing.assert_close(att.variables[method].sum(1), total, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(att.blocks[method].sum(1), total, atol=1e-5, rtol=1e-5)
    with torch.no_grad():
        x = model.features(users, movies)
        no_ids = model(x, torch.full_like(users, -1), torch.full_like(movies, -1))
    torch.testing.assert_close(
        att.ids["user_id"] + att.ids["movie_id"], att.prediction - no_ids, atol=5e-3, rtol=1e-2
    )


def test_feature_ablation_blocks_ablate_whole_groups(model, split):
    pytest.importorskip("captum")
    ex = Explainer(model, split.train)
    u, m = split.test[0, :1], split.test[1, :1]
    att = ex.attribute(u, m, ["ablation"])
    space = ex.space
    genre_cols = [i for i, n in enumerate(space.column_names) if n.startswith("genre=")]
    x = model.features(u, m)
    x0 = x.clone()
    x0[:, genre_cols] = ex.reference_row[genre_cols]
    with torch.no_grad():
        expected = model(x, u, m) - model(x0, u, m)
    got = att.blocks["FeatureAblation"][0, space.blocks.index("genre")]
    torch.testing.assert_close(got, expected[0], atol=1e-5, rtol=1e-5)


def test_shap_values_add_up(model, split):
    pytest.importorskip("shap")
    ex = Explainer(model, split.train, background_size=16, shap_nsamples=256)
    att = ex.attribute(split.test[0, :3], split.test[1, :3], ["shap"])
    phi = att.variables["SHAP"].double().sum(1)
    gap = att.prediction.double() - att.references["SHAP"].double()
    torch.testing.assert_close(phi, gap, atol=1e-4, rtol=1e-4)
    assert att.deltas["SHAP"].abs().max() < 1e-4


def test_age_only_model_has_age_first_for_every_method(age_only, split):
    need_extra()
    ex = Explainer(age_only, split.train, background_size=32, shap_nsamples=256, lime_samples=1000)
    ages = age_only.user_x[:, 0]
    far = int(torch.argmax((ages - ex.reference_row[0]).abs()))  # the least average age
    local = ex.explain(far, 0, None)
    assert set(local.methods) == set(METHODS) and not local.ids  # no ids: no LIG
    for method in local.methods:
        attr = local.local(method)
        assert max(attr, key=lambda k: abs(attr[k])) == "age", (method, attr)
    glob = ex.explain_edges(split.test, None, sample=8, progress=False)
    for method in glob.methods:
        means = glob.mean_abs(method)
        assert max(means, key=means.get) == "age", (method, means)
    # the comparison tools: perfect agreement on the top variable, faithful deletion
    agree = agreement(local, glob)
    assert set(agree["global"]) == set(METHODS)
    curves = faithfulness_summary(deletion_curves(age_only, glob))
    for method in METHODS:
        if method != "Saliency":  # |gradient| ties elsewhere: only age is non-zero anyway
            top1 = curves[method]["change_after_top"]["1"]
            assert top1 >= curves["random"]["change_after_top"]["1"], method


def test_explain_cli_end_to_end(graph, split, monkeypatch, tmp_path, capsys):
    need_extra()
    import graphrec.cli.features as task

    monkeypatch.setattr(task, "load_graph", lambda args: graph)
    first = tmp_path / "quick"
    fast = [
        "--global-edges",
        "4",
        "--background",
        "16",
        "--shap-samples",
        "128",
        "--lime-samples",
        "300",
        "--quiet",
    ]
    rc = run_cli(["--task", "explain", "--epochs", "1", "--out", str(first), *fast])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "is driven mostly by" in printed and "method agreement" in printed
    rec = json.loads((first / "explanations.json").read_text())
    for name in (
        "attributions.png",
        "agreement.png",
        "faithfulness.png",
        "agreement.json",
        "summary.txt",
        "model/model.json",
    ):
        assert (first / name).is_file(), name
    assert rec["user"] == int(graph["user"].raw_id[split.test[0, 0]])
    assert set(rec["attributions"]) == set(METHODS)
    keys = set(rec["attributions"]["IntegratedGradients"])
    assert "age" in keys and "year" in keys
    assert any(k.startswith("occupation=") for k in keys)
    assert any(k.startswith("gender=") for k in keys) and "genre=Drama" in keys
    ig_total = sum(rec["attributions"]["IntegratedGradients"].values())
    assert rec["prediction"] == pytest.approx(rec["baseline"]["prediction"] + ig_total, abs=5e-3)
    assert set(rec["global"]["attributions"]["SHAP"]) >= {"age", "occupation", "genre=Drama"}
    assert "user_id" in rec["ids"] and rec["checks"]["IntegratedGradients"]
    assert set(rec["faithfulness"]["global"]) == {*METHODS, "random"}
    # the decomposition: ids included, all terms add up, the summary leads with its top term
    dec = rec["decomposition"]
    assert {"user id embedding", "movie id embedding"} <= set(dec["terms"])
    total = sum(dec["terms"].values())
    assert total == pytest.approx(rec["prediction"] - dec["baseline"], abs=5e-3)
    top = next(iter(dec["terms"]))
    assert f"driven mostly by {'the ' if top.endswith('embedding') else ''}{top} (" in printed
    assert "  reading: " in printed and "faithfulness (global): resetting" in printed
    assert set(rec["global"]["decomposition"]["terms"]) >= {"movie id embedding", "occupation"}
    # explain the quick model again through --run, with a method subset, user and title
    second = tmp_path / "again"
    title = graph["movie"].title[7]
    rc = run_cli(
        [
            "--task",
            "explain",
            "--run",
            str(first),
            "--user",
            "3",
            "--movie",
            title,
            "--methods",
            "ig",
            "shap",
            "--out",
            str(second),
            *fast,
        ]
    )
    assert rc == 0
    rec2 = json.loads((second / "explanations.json").read_text())
    assert rec2["methods"] == ["IntegratedGradients", "SHAP"] and rec2["title"] == title
    assert rec2["user"] == 3 and rec2["movie"] == 8


def test_stochastic_methods_are_seeded(model, split):
    need_extra()
    users, movies = split.test[0, :2], split.test[1, :2]
    runs = []
    for noise in (0, 1):
        np.random.seed(noise)  # global state must not matter
        torch.manual_seed(noise)
        ex = Explainer(
            model, split.train, background_size=16, shap_nsamples=128, lime_samples=300, seed=5
        )
        runs.append(ex.attribute(users, movies, ["gradshap", "shap", "lime"]))
    for method in ("GradientShap", "SHAP", "LIME"):
        torch.testing.assert_close(runs[0].variables[method], runs[1].variables[method])
