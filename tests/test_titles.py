"""Titles as people type them (:meth:`graphrec.data.ids.IdMaps.movie_index`): the issue's
examples on a small table of ML-100K titles, and every bad title of a request at once."""

from __future__ import annotations

import pytest

from graphrec.data.ids import IdMaps, UnknownMovieError, UnknownMoviesError, title_key

TITLES = [
    "Fargo (1996)",
    "Godfather, The (1972)",
    "Godfather: Part II, The (1974)",
    "Shawshank Redemption, The (1994)",
    "Heathers (1989)",
    "Star Wars (1977)",
    "Return of the Jedi (1983)",
    "Hate (Haine, La) (1995)",
    "Chasing Amy (1997)",
    "Chasing Amy (1997)",
    "Hamlet (1996)",
    "Hamlet (1990)",
    "Schindler's List (1993)",
    "Seven (Se7en) (1995)",
    "Star Trek: Generations (1994)",
    "Star Trek: First Contact (1996)",
]


@pytest.fixture(scope="module")
def ids():
    return IdMaps("ml-100k", list(range(1, 4)), [100 + i for i in range(len(TITLES))], TITLES)


def title_of(ids, key):
    return ids.titles[ids.movie_index(key)]


@pytest.mark.parametrize(
    "typed, title",
    [
        ("fargo", "Fargo (1996)"),
        ("FARGO (1996)", "Fargo (1996)"),
        ("Godfather", "Godfather, The (1972)"),
        ("The Godfather", "Godfather, The (1972)"),
        ("The Godfather (1972)", "Godfather, The (1972)"),
        ("godfather, the", "Godfather, The (1972)"),
        ("the godfather part ii", "Godfather: Part II, The (1974)"),
        ("Shawshank", "Shawshank Redemption, The (1994)"),
        ("the shawshank redemption", "Shawshank Redemption, The (1994)"),
        ("star wars", "Star Wars (1977)"),
        ("jedi", "Return of the Jedi (1983)"),
        ("La Haine", "Hate (Haine, La) (1995)"),
        ("se7en", "Seven (Se7en) (1995)"),
        ("schindlers list", "Schindler's List (1993)"),
        ("Hamlet (1990)", "Hamlet (1990)"),
        ("first contact", "Star Trek: First Contact (1996)"),
        (105, "Star Wars (1977)"),  # a raw id
        ("105", "Star Wars (1977)"),
    ],
)
def test_titles_as_people_type_them(ids, typed, title):
    assert title_of(ids, typed) == title


def test_a_known_title_never_suggests_another_film(ids):
    # the old matcher compared raw strings and offered Heathers for this exact film
    assert title_of(ids, "The Godfather (1972)") == "Godfather, The (1972)"
    with pytest.raises(UnknownMovieError) as exc:
        ids.movie_index("The Godfathr (1972)")
    assert "did you mean: Godfather, The (1972)" in str(exc.value)
    assert "Heathers" not in str(exc.value)


@pytest.mark.parametrize(
    "typed, listed",
    [
        ("Hamlet", ["Hamlet (1996) (id 110)", "Hamlet (1990) (id 111)"]),
        ("Chasing Amy (1997)", ["(id 108)", "(id 109)"]),  # the same title twice: ids decide
        ("star trek", ["Star Trek: Generations (1994)", "Star Trek: First Contact (1996)"]),
    ],
)
def test_only_an_ambiguous_title_is_refused_with_its_candidates(ids, typed, listed):
    with pytest.raises(UnknownMovieError, match="is ambiguous in ml-100k") as exc:
        ids.movie_index(typed)
    for text in listed:
        assert text in str(exc.value)


def test_a_year_given_must_match(ids):
    with pytest.raises(UnknownMovieError, match="no movie titled 'Fargo \\(1997\\)'") as exc:
        ids.movie_index("Fargo (1997)")
    assert "did you mean: Fargo (1996)" in str(exc.value)  # the same film's year first


def test_every_bad_title_of_a_request_is_listed_at_once(ids):
    with pytest.raises(UnknownMoviesError) as exc:
        ids.movie_indices(["fargo", "Godfathr", "Hamlet", "Matrix", 99999])
    err = exc.value
    assert [k for k, _ in err.problems] == ["Godfathr", "Hamlet", "Matrix", 99999]
    text = str(err)
    assert text.startswith("4 of the movies given are not resolved in ml-100k: ")
    assert "did you mean: Godfather, The (1972)" in text and "'Hamlet' is ambiguous" in text
    assert "movie id 99999 is not in" in text and "\n" not in text
    # a single bad one is the plain error, as before
    with pytest.raises(UnknownMovieError, match="no movie titled 'Matrix'"):
        ids.movie_indices(["fargo", "Matrix"])
    assert ids.movie_indices(["fargo", "godfather"]) == [0, 1]


def test_title_key():
    assert title_key("Godfather, The (1972)") == title_key("the godfather") == "godfather"
    assert title_key("Die Hard (1988)") == "die hard"  # only English articles are dropped
    assert title_key("Cité des enfants perdus, La (1995)") == "la cite des enfants perdus"
