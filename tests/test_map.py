"""The embedding maps: the interactive page's content, the UMAP cache, ``--task map``."""

from __future__ import annotations

import json
import sys
import types

import numpy as np
import pytest

pytest.importorskip("bokeh", reason="the map needs bokeh: pip install 'graphrec[viz]'")

from graphrec.viz.interactive import (  # noqa: E402
    MAX_GENRES,
    page_is_offline,
    primary_genres,
    write_map_html,
)
from graphrec.viz.maps import cosine_knn, umap_coords  # noqa: E402


def _page(tmp_path, n=30, **kw):
    rng = np.random.default_rng(0)
    titles = [f"Film {i} (1990)" for i in range(n)]
    path = write_map_html(
        tmp_path / "map.html",
        rng.normal(size=(n, 2)),
        titles,
        ["Drama|Crime" if i % 2 else "Comedy" for i in range(n)],
        list(range(1, n + 1)),
        [[titles[(i + 1) % n]] for i in range(n)],
        **kw,
    )
    return path.read_text()


def test_page_is_self_contained_and_holds_every_movie(tmp_path):
    text = _page(tmp_path, highlights={"rated by user 7": [1, 2]})
    assert page_is_offline(text) == []
    assert "Bokeh" in text and "graphrecMap" in text
    assert "Film 29 (1990)" in text and "rated by user 7 (2)" in text
    # a page that did load something from the network is caught by the same check
    assert page_is_offline('<script src="https://cdn.example/x.js"></script>') == [
        "https://cdn.example/x.js"
    ]
    assert not list(tmp_path.glob("*.tmp*"))


def test_bad_map_inputs_are_refused(tmp_path):
    with pytest.raises(ValueError, match=r"xy must be \[3, 2\]"):
        write_map_html(
            tmp_path / "m.html", np.zeros((2, 2)), ["a", "b", "c"], [""] * 3, [1] * 3, [[]] * 3
        )
    with pytest.raises(ValueError, match="outside 0..2"):
        write_map_html(
            tmp_path / "m.html",
            np.zeros((3, 2)),
            ["a", "b", "c"],
            [""] * 3,
            [1] * 3,
            [[]] * 3,
            highlights={"x": [5]},
        )
    assert not (tmp_path / "m.html").exists()


def test_primary_genres_keep_the_commonest_and_call_the_rest_other():
    genres = [f"G{i}" for i in range(MAX_GENRES + 5) for _ in range(MAX_GENRES + 5 - i)]
    primary = primary_genres(genres + ["", "G0|G1"])
    assert len(set(primary)) == MAX_GENRES
    assert "other" in primary and primary[-1] == "G0" and primary[-2] == "other"


def test_cosine_knn_is_exact_with_each_row_first():
    rng = np.random.default_rng(1)
    emb = rng.normal(size=(50, 8)).astype(np.float32)
    idx, dist = cosine_knn(emb, 5)
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    sim = unit @ unit.T
    np.fill_diagonal(sim, -np.inf)
    assert (idx[:, 0] == np.arange(50)).all() and (dist[:, 0] == 0).all()
    assert (idx[:, 1:] == np.argsort(-sim, axis=1)[:, :4]).all()
    np.testing.assert_allclose(dist[:, 1], 1 - np.sort(sim, axis=1)[:, -1], atol=1e-5)


@pytest.fixture
def fake_umap(monkeypatch):
    """umap-learn replaced by a stand-in that records its calls (the real one compiles)."""
    calls = []

    class UMAP:
        def __init__(self, **kw):
            calls.append(kw)
            self.seed = kw["random_state"]

        def fit_transform(self, x):
            return np.random.default_rng(self.seed).normal(size=(len(x), 2))

    monkeypatch.setitem(sys.modules, "umap", types.SimpleNamespace(UMAP=UMAP))
    import graphrec.viz.maps as maps

    monkeypatch.setattr(maps, "cache_umap_kernels", lambda: 0)
    return calls


def test_umap_coords_are_cached_by_seed_settings_and_vectors(tmp_path, fake_umap):
    emb = np.random.default_rng(0).normal(size=(40, 6)).astype(np.float32)
    cache = tmp_path / "umap.npy"
    a = umap_coords(emb, seed=0, cache=cache)
    # our own neighbours went in: the precomputed graph has each point first
    knn = fake_umap[0]["precomputed_knn"]
    assert (knn[0][:, 0] == np.arange(40)).all() and fake_umap[0]["n_neighbors"] == 15
    b = umap_coords(emb, seed=0, cache=cache)
    assert len(fake_umap) == 1 and (a == b).all()  # served from the cache
    umap_coords(emb, seed=1, cache=cache)  # another seed: computed again
    umap_coords(emb + 1, seed=1, cache=cache)  # other vectors: computed again
    assert len(fake_umap) == 3
    # a damaged cache is computed again, never trusted
    np.save(cache, np.zeros((3, 2)))
    assert umap_coords(emb + 1, seed=1, cache=cache).shape == (40, 2) and len(fake_umap) == 4
    assert json.loads(cache.with_suffix(".json").read_text())["seed"] == 1


def test_map_neighbours_of_a_model_without_its_own_similarity_are_cosine_among_mapped_rows():
    import torch

    from graphrec.cli.map import _neighbours

    # movies 0-2 point one way, 3-4 another; movie 5 is not on the map (no train rating)
    vectors = torch.tensor(
        [[1.0, 0.0], [0.9, 0.1], [0.8, 0.2], [0.0, 1.0], [0.1, 0.9], [0.95, 0.05]]
    )
    rows = torch.tensor([0, 1, 2, 3, 4])
    nb = _neighbours(object(), vectors, rows, k=2)
    assert nb == [[1, 2], [0, 2], [1, 0], [4, 2], [3, 2]]
