"""Readable explanations: the decomposition with the id embeddings, the reasons, the one-line
readings of the figures and their colour scale (the figures' data, not their pixels).

Known answers come from hand-set models: one whose output depends only on the movie id
embedding, one that depends only on age.
"""

import pytest
import torch

from graphrec.data import temporal_split
from graphrec.data.synthetic import synthetic_graph
from graphrec.explain import (
    Contributions,
    Explainer,
    FeatureSpace,
    agreement_reading,
    contributions,
    faithfulness_reading,
    summary_text,
)
from graphrec.explain.reasons import mean_abs_contributions
from graphrec.models.feature_mlp import FeatureMLP


@pytest.fixture(scope="module")
def graph():
    return synthetic_graph(30, 60, 600, seed=4)


@pytest.fixture(scope="module")
def split(graph):
    return temporal_split(graph)


def _hand_set(graph, use_ids: bool):
    """A FeatureMLP with one hidden unit and every weight zero (bias 5 keeps it active)."""
    m = FeatureMLP.from_graph(graph, use_ids=use_ids, embedding_dim=4, layers=(1,), dropout=0.0)
    with torch.no_grad():
        for p in m.parameters():
            p.zero_()
        m.first.bias.fill_(5.0)
        m.out.weight.fill_(1.0)
    return m


@pytest.fixture(scope="module")
def movie_id_only(graph):
    """Prediction ``5 + sum(q_movie)``: only the movie id embedding matters (the first
    layer's input is ``[x_u; p_u; x_i; q_i]``, so ``q_i`` is its last 4 columns)."""
    m = _hand_set(graph, use_ids=True)
    with torch.no_grad():
        m.first.weight[0, -4:] = 1.0
        m.movie_embedding.weight.copy_(torch.linspace(-1, 1, m.num_movies).view(-1, 1))
        m.user_embedding.weight.normal_(generator=torch.Generator().manual_seed(0))
    return m.eval()


@pytest.fixture(scope="module")
def age_only(graph):
    """Prediction ``5 + 2 * age`` (age is scaled to [0, 1]): only age matters."""
    m = _hand_set(graph, use_ids=False)
    with torch.no_grad():
        m.first.weight[0, m.feature_names.index("age")] = 2.0
    return m.eval()


def test_decomposition_adds_up_to_prediction_minus_the_average_pair(movie_id_only, split):
    pytest.importorskip("captum")
    ex = Explainer(movie_id_only, split.train)
    users, movies = split.test[0, :5], split.test[1, :5]
    att = ex.decompose(users, movies)
    d = att.decomposition
    assert att.methods == []  # the decomposition alone
    total = d["variables"].sum(1) + d["user_id"] + d["movie_id"]
    torch.testing.assert_close(total, att.prediction - d["baseline"], atol=1e-4, rtol=1e-4)
    # the baseline is the average training pair: 5 + sum of the mean movie embedding
    train_movies = split.train[1]
    expected = 5.0 + movie_id_only.movie_embedding.weight[train_movies].sum(1).mean()
    torch.testing.assert_close(d["baseline"], expected.expand(5), atol=1e-5, rtol=1e-5)
    # and the movie id embedding carries all of it
    torch.testing.assert_close(d["movie_id"], att.prediction - d["baseline"], atol=1e-4, rtol=0)
    assert d["variables"].abs().max() < 1e-6 and d["user_id"].abs().max() < 1e-6


def test_movie_id_only_model_reasons_name_the_movie_id_embedding(movie_id_only, split):
    pytest.importorskip("captum")
    ex = Explainer(movie_id_only, split.train)
    movie = movie_id_only.num_movies - 1  # the largest embedding: furthest above the mean
    att = ex.attribute(torch.tensor([0]), torch.tensor([movie]), ["ig", "lig"], decompose=True)
    c = contributions(att, top=3)
    assert c.terms[0][0] == "movie id embedding" and c.terms[0][1] > 0.5
    assert c.includes_ids and c.units == "rating points"
    assert c.baseline_description.startswith("the average training pair")
    assert c.total == pytest.approx(c.prediction - c.baseline, abs=1e-4)
    assert c.text().startswith(f"movie id embedding {c.terms[0][1]:+.2f}, ")
    assert c.reading().startswith("the movie id embedding raises the prediction most")
    lead = summary_text(att, "user 1", "a movie").splitlines()[0]
    assert "driven mostly by the movie id embedding (+" in lead
    assert "from " in lead and "for the average training pair" in lead
    # the global view ranks the id embedding first too
    glob = ex.explain_edges(split.test, ["ig"], sample=10, progress=False, decompose=True)
    means = mean_abs_contributions(glob)
    assert max(means, key=means.get) == "movie id embedding"


def test_age_only_model_reasons_and_absent_genre_labels(age_only, split, graph):
    pytest.importorskip("captum")
    ex = Explainer(age_only, split.train)
    ages = age_only.user_x[:, 0]
    far = int(torch.argmax((ages - ex.reference_row[0]).abs()))
    att = ex.attribute(torch.tensor([far]), torch.tensor([0]), ["ig"], decompose=True)
    c = contributions(att, top=2)
    assert c.terms[0][0] == "age" and not c.includes_ids  # no id embeddings, no id terms
    assert c.baseline_description == "the mean training feature row"
    expected = 2.0 * float(ages[far] - ex.reference_row[0])
    assert c.terms[0][1] == pytest.approx(expected, abs=1e-4)
    assert c.total == pytest.approx(expected, abs=1e-4) and abs(c.rest) < 1e-6
    assert c.rest_count == len(ex.space) - 2
    # a genre the movie lacks reads "genre=X absent", one it has "genre=X"
    space = FeatureSpace.from_model(age_only)
    x = age_only.features(torch.tensor([0]), torch.tensor([0]))[0]
    names = space.display_names(x)
    for v, name in zip(space.variables, names, strict=True):
        if v.kind == "binary":
            has = float(x[v.columns[0]]) == 1.0
            assert name == (v.name if has else f"{v.name} absent")
    assert any(n.endswith(" absent") for n in names)


def test_contributions_fall_back_to_an_additive_method_without_a_decomposition(age_only, split):
    pytest.importorskip("captum")
    ex = Explainer(age_only, split.train)
    att = ex.attribute(torch.tensor([0, 1]), torch.tensor([0, 1]), ["saliency", "ig"])
    c = contributions(att, row=1, top=1)
    assert c.method.startswith("IntegratedGradients (features only")
    assert c.baseline == pytest.approx(float(att.references["IntegratedGradients"][1]))
    with pytest.raises(ValueError, match="no decomposition and no additive method"):
        contributions(ex.attribute(torch.tensor([0]), torch.tensor([0]), ["saliency"]))


def test_contributions_text_and_record():
    c = Contributions(
        prediction=4.0,
        baseline=3.5,
        terms=(("movie id embedding", 0.41), ("genre=Sci-Fi", 0.21), ("age", -0.05)),
        rest=-0.07,
        rest_count=19,
        method="m",
        baseline_description="b",
        units="rating points",
        completeness_error=None,
        includes_ids=True,
    )
    assert c.text() == "movie id embedding +0.41, genre=Sci-Fi +0.21, age -0.05"
    assert c.text(rest=True).endswith(", 19 other terms -0.07")
    assert c.total == pytest.approx(0.5)
    assert c.reading() == (
        "the movie id embedding raises the prediction most (+0.41); of the features, "
        "genre=Sci-Fi (+0.21)"
    )
    rec = c.as_dict()
    assert rec["terms"] == {"movie id embedding": 0.41, "genre=Sci-Fi": 0.21, "age": -0.05}
    assert rec["rest"] == {"count": 19, "sum": -0.07}


def _matrix(names, pairs):
    mat = {a: {b: 1.0 if a == b else None for b in names} for a in names}
    for (a, b), rho in pairs.items():
        mat[a][b] = mat[b][a] = rho
    return mat


def test_agreement_reading_names_the_odd_one_out():
    names = ["A", "B", "C", "D"]
    pairs = {("A", "B"): 0.9, ("A", "C"): 0.8, ("B", "C"): 1.0}
    pairs |= {("A", "D"): 0.3, ("B", "D"): 0.4, ("C", "D"): 0.2}
    agree = {"global": _matrix(names, pairs)}
    assert agreement_reading(agree, "global") == (
        "the methods partly agree on which features matter (mean pairwise Spearman 0.60; "
        "0.90 without D, the odd one out at 0.30)"
    )
    close = {("A", "B"): 0.85, ("A", "C"): 0.8, ("B", "C"): 0.75}
    assert agreement_reading({"local": _matrix(names[:3], close)}, "local") == (
        "the methods largely agree on which features matter (mean pairwise Spearman 0.80)"
    )
    assert agreement_reading({}, "global") == ""


def test_faithfulness_reading_names_the_fastest_method_and_random():
    def entry(top1, top3):
        return {"deletion_auc": top3, "change_after_top": {"1": top1, "3": top3}}

    summary = {
        "IG": entry(0.10, 0.19),
        "DeepLift": entry(0.10, 0.188),
        "Saliency": entry(0.05, 0.12),
        "random": entry(0.01, 0.04),
    }
    assert faithfulness_reading(summary) == (
        "resetting each method's top 3 variables moves predictions by 0.19 rating points "
        "for IG (DeepLift within 2%) vs 0.04 for a random order; slowest: Saliency (0.12); "
        "largest area under the whole curve: IG (0.190, random 0.040)"
    )
    assert faithfulness_reading(summary, k=1, objective="ranking").startswith(
        "resetting each method's top 1 variable moves predictions by 0.10 logit for IG"
    )


def test_agreement_colour_scale_spans_the_off_diagonal_range():
    pytest.importorskip("matplotlib")
    import numpy as np

    from graphrec.explain.figures import _agreement_scale

    mat = np.array([[1.0, 0.53, 0.97], [0.53, 1.0, 0.49], [0.97, 0.49, 1.0]])
    _, norm, label = _agreement_scale(mat)
    assert (norm.vmin, norm.vmax) == (0.4, 1.0) and "0.4 to 1" in label
    mat[0, 1] = mat[1, 0] = -0.35
    _, norm, label = _agreement_scale(mat)
    assert (norm.vmin, norm.vcenter, norm.vmax) == (-0.4, 0.0, 1.0)
    assert "opposite" in label
