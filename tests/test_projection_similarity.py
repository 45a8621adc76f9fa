"""The movie-graph projection, similarity quality measures and item2vec as a recommender."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import write_ml100k

from graphrec.data import load_movielens, temporal_split
from graphrec.data.projection import movie_graph
from graphrec.models.item2vec import Item2Vec
from graphrec.similarity import franchise_hits, genre_coherence, hubness, top_similar

from contract import ContractTests

# 4 users; train positives after the split (each user's last two ratings are held out)
RATINGS = [
    (1, 1, 5, 1),
    (1, 2, 5, 2),
    (1, 3, 5, 3),
    (1, 4, 1, 9),
    (1, 1000, 5, 10),
    (1, 999, 5, 11),
    (2, 1, 5, 1),
    (2, 2, 5, 2),
    (2, 998, 5, 10),
    (2, 997, 5, 11),
    (3, 2, 4, 1),
    (3, 3, 5, 2),
    (3, 996, 5, 10),
    (3, 995, 5, 11),
    (4, 4, 5, 1),
    (4, 5, 5, 2),
    (4, 994, 5, 10),
    (4, 993, 5, 11),
]


@pytest.fixture
def split(tmp_path):
    items = [
        f"{i}|Movie {i} (1990)|01-Jan-1990||u|" + "|".join(["0"] * 19)
        for i in [1, 2, 3, 4, 5, *range(993, 1001)]
    ]
    users = [f"{u}|30|M|writer|12345" for u in range(1, 5)]
    write_ml100k(tmp_path / "raw" / "ml-100k", ratings=RATINGS, items=items, users=users)
    data = load_movielens(
        "ml-100k",
        tmp_path / "r",
        raw_dir=tmp_path / "raw",
        source="local",
        verify=False,
        verbose=False,
    )
    return temporal_split(data)


def _dense(g, n):
    d = torch.zeros(n, n)
    d[g.edge_index[0], g.edge_index[1]] = g.edge_weight
    return d


def test_projection_weights_by_hand(split):
    # train: u1 {1,2,3,4}, u2 {1,2}, u3 {2,3}, u4 {4,5}  (movie ids = index + 1 here)
    # degrees: m1 2, m2 3, m3 2, m4 2, m5 1; co-counts: (1,2) 2, (1,3) 1, (1,4) 1,
    # (2,3) 2, (2,4) 1, (3,4) 1, (4,5) 1
    count = _dense(movie_graph(split, weighting="count"), split.num_movies)
    assert count[0, 1] == 2 and count[1, 2] == 2 and count[3, 4] == 1 and count[0, 4] == 0
    assert torch.equal(count, count.T) and count.diagonal().abs().sum() == 0
    cos = _dense(movie_graph(split, weighting="cosine"), split.num_movies)
    assert cos[0, 1].item() == pytest.approx(2 / math.sqrt(2 * 3))
    jac = _dense(movie_graph(split, weighting="jaccard"), split.num_movies)
    assert jac[0, 1].item() == pytest.approx(2 / (2 + 3 - 2))
    pmi = _dense(movie_graph(split, weighting="pmi"), split.num_movies)
    assert pmi[3, 4].item() == pytest.approx(math.log(1 * 4 / (2 * 1)))
    assert pmi[0, 3] == 0  # log(1 * 4 / (2 * 2)) = 0: not positive, dropped


def test_projection_options(split):
    g = movie_graph(split, weighting="count", min_count=2)
    assert {tuple(e) for e in g.edge_index.t().tolist()} == {(0, 1), (1, 0), (1, 2), (2, 1)}
    knn = _dense(movie_graph(split, weighting="count", knn=1), split.num_movies)
    # each movie keeps its strongest neighbour; union over both ends keeps it symmetric
    assert torch.equal(knn, knn.T)
    assert knn[4, 3] == 1 and (knn[4] > 0).sum() == 1
    mutual = _dense(movie_graph(split, weighting="count", knn=1, mutual=True), split.num_movies)
    assert torch.equal(mutual, mutual.T) and ((mutual > 0) <= (knn > 0)).all()
    assert (mutual > 0).sum() < (knn > 0).sum()
    # mutual_weight: edges both ends chose weigh 3x, the rest of the union is unchanged
    boosted = movie_graph(split, weighting="count", knn=1, mutual_weight=3.0)
    boosted = _dense(boosted, split.num_movies)
    both = mutual > 0
    assert both.any() and torch.equal(boosted[both], 3 * knn[both])
    assert torch.equal(boosted[~both], knn[~both])
    with pytest.raises(ValueError, match="mutual_weight"):
        movie_graph(split, knn=1, mutual_weight=0.0)
    only5 = movie_graph(split, weighting="count", min_rating=5)
    assert _dense(only5, split.num_movies)[1, 2] == 1  # user 3's 4-star movie 2 dropped
    with pytest.raises(ValueError, match="unknown weighting"):
        movie_graph(split, weighting="raw")
    with pytest.raises(ValueError, match="lower min_rating"):
        movie_graph(split, min_rating=6)


def test_top_similar_and_genre_coherence():
    emb = torch.tensor([[1.0, 0], [0.9, 0.1], [0, 1.0], [0.1, 0.9]])
    nb, sc = top_similar(emb, torch.tensor([0, 2]), k=1)
    assert nb.tolist() == [[1], [3]] and (sc > 0.9).all()
    genres = ["Drama", "Drama|War", "Comedy", "Comedy"]
    c = genre_coherence(nb, torch.tensor([0, 2]), genres)
    assert c["coherence"] == 1.0
    assert c["random_baseline"] == pytest.approx(1 / 3)  # 1 of 3 others shares a genre
    bad = genre_coherence(torch.tensor([[2], [0]]), torch.tensor([0, 2]), genres)
    assert bad["coherence"] == 0.0


def test_franchise_hits():
    titles = ["A (1990)", "A 2 (1992)", "B (1991)", "C (1993)"]
    groups = [["A (1990)", "A 2 (1992)"]]
    pop = torch.tensor([30, 30, 30, 30])
    r = franchise_hits(
        lambda ids: torch.tensor([[1, 2], [3, 2]])[: len(ids)], titles, pop, 20, groups
    )
    assert r["films"] == 2 and r["per_film"] == {"A (1990)": True, "A 2 (1992)": False}
    r = franchise_hits(
        lambda ids: torch.tensor([[1, 3]]), titles, torch.tensor([30, 5, 30, 30]), 20, groups
    )
    assert r["films"] == 1 and r["hit_rate"] == 1.0  # A 2 has too few ratings to be asked


class TestItem2VecContract(ContractTests):
    def make_model(self, split):
        # block-structured embeddings: one direction per block
        block = torch.arange(split.num_movies) // self.block_size
        emb = torch.nn.functional.one_hot(block, self.num_blocks).float()
        emb = emb + 0.01 * torch.randn(
            split.num_movies, self.num_blocks, generator=torch.Generator().manual_seed(0)
        )
        return Item2Vec.from_embeddings(emb, split)


def test_csls_pushes_a_hub_down_by_hand():
    # item 1 is a hub: close to everything. Item 0's plain-cosine neighbour is the hub; CSLS
    # (2 cos - r, r = mean cosine to the K nearest) prefers item 2, its specific neighbour.
    emb = torch.tensor(
        [
            [1.0, 0.0, 0.0],
            [0.85, 0.37, 0.37],
            [0.8, 0.0, -0.6],
            [0.5, 0.866, 0.0],
            [0.5, 0.0, 0.866],
        ]
    )
    z = torch.nn.functional.normalize(emb, dim=1)
    cos = z @ z.T
    assert cos[0, 1] > cos[0, 2]  # cosine: the hub first
    nb, _ = top_similar(emb, torch.tensor([0]), k=1)
    assert nb.tolist() == [[1]]
    r = hubness(z, 2)
    off = cos - 2 * torch.eye(5)  # without self
    assert torch.allclose(r, torch.topk(off, 2, dim=1).values.mean(1))
    assert r[1] > r[2]  # the hub is closer to its neighbours than item 2 is
    nb, score = top_similar(emb, torch.tensor([0]), k=1, hubness_k=2)
    assert nb.tolist() == [[2]]
    assert score[0, 0].item() == pytest.approx(2 * cos[0, 2].item() - r[2].item(), abs=1e-6)
    with pytest.raises(ValueError, match="hubness_k"):
        top_similar(emb, torch.tensor([0]), hubness_k=-1)
    with pytest.raises(ValueError, match="needs more than"):
        top_similar(emb, torch.tensor([0]), hubness_k=5)
    # r measured once and passed in gives the same ranking and scores
    nb2, score2 = top_similar(emb, torch.tensor([0]), k=1, hubness_k=2, hub=r)
    assert nb2.tolist() == [[2]] and torch.equal(score2, score)
    with pytest.raises(ValueError, match="hub must be"):
        top_similar(emb, torch.tensor([0]), k=1, hub=r)  # r without a CSLS ranking
    with pytest.raises(ValueError, match="hub must be"):
        top_similar(emb, torch.tensor([0]), k=1, hubness_k=2, hub=r[:3])


@pytest.mark.parametrize("weighting, knn", [("count", 3), ("cosine", 5), ("jaccard", 1)])
def test_knn_prefilter_keeps_the_plain_sort_result(weighting, knn):
    """kNN keeps, per movie, the first `knn` entries of a stable sort by weight; dropping
    entries below each row's knn-th strongest first must not change which ones (count weights
    tie a lot, so tie order matters)."""
    import numpy as np
    import scipy.sparse as sp

    from graphrec.data.synthetic import synthetic_graph

    split = temporal_split(synthetic_graph(60, 40, 700, seed=9))
    g = movie_graph(split, weighting=weighting, knn=knn)
    full = movie_graph(split, weighting=weighting)  # every pair, same weights
    r, c = full.edge_index.numpy()
    w = full.edge_weight.numpy().astype(np.float64)
    # the plain algorithm on all pairs (entries in the product's order do not matter here:
    # ties are broken by column within a row in both, as both see column-sorted rows)
    order = np.lexsort((-w, r))
    r, c, w = r[order], c[order], w[order]
    top = (np.arange(r.size) - np.searchsorted(r, r)) < knn
    a = sp.coo_matrix((w[top], (r[top], c[top])), shape=(split.num_movies,) * 2).tocsr()
    ref = a.maximum(a.T).tocoo()
    got = {(int(i), int(j)) for i, j in g.edge_index.t().tolist()}
    assert got == set(zip(ref.row.tolist(), ref.col.tolist(), strict=True))
