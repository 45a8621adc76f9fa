"""Raw ids at the edge: the maps between a data set's own ids and graphrec's node indices.

People name users and movies by the data set's ids (MovieLens user 196) or by title
(``"Star Wars (1977)"``); models and tensors use contiguous node indices ``0..n-1``. An
:class:`IdMaps` holds both sides for one graph; every split carries one (``split.ids``), every
model gets it from ``fit(split)`` and saves it in its checkpoint, so a loaded model answers in
raw ids without the graph. A wrong id is an :class:`UnknownUserError` /
:class:`UnknownMovieError` that names the id, the data set and the valid range, never another
user's list.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["IdMaps", "UnknownUserError", "UnknownMovieError", "UnknownMoviesError", "title_key"]


class UnknownUserError(KeyError):
    """A user id (raw or index) that the graph or model does not know."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0]) if self.args else ""


class UnknownMovieError(KeyError):
    """A movie id or title that the graph or model does not know."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class UnknownMoviesError(UnknownMovieError):
    """Several movie ids or titles of one request that could not be resolved, all at once.

    Attributes:
        problems: ``[(what was typed, why it was refused), ...]`` in the order given.
    """

    def __init__(self, dataset: str, problems: list[tuple[Any, str]]) -> None:
        self.problems = list(problems)
        n = len(self.problems)
        head = f"{n} of the movies given {'is' if n == 1 else 'are'} not resolved in {dataset}: "
        super().__init__(head + " | ".join(why for _, why in self.problems))


_YEAR = re.compile(r"\s*\((\d{4})\)\s*$")
#: articles a title may carry at its end ("Godfather, The"; "Haine, La")
_ARTICLES = ("the", "a", "an", "la", "le", "les", "l'", "il", "el", "das", "der", "die")
#: English articles dropped from the front of both sides when comparing titles
_ENGLISH = ("the ", "a ", "an ")


def _plain(title: str) -> str:
    """A title as people type it: lower case, year dropped, "Godfather, The" -> "the godfather"."""
    t = _YEAR.sub("", title).strip().lower()
    for article in _ARTICLES:
        if t.endswith(f", {article}"):
            t = f"{article} {t[: -len(article) - 2]}"
            break
    return " ".join(t.split())


def title_key(title: str) -> str:
    """The form titles are compared in: :func:`_plain`, accents and punctuation dropped, a
    leading English article removed ("Godfather, The (1972)" and "the godfather" are both
    ``godfather``; "Schindler's List" is ``schindlers list``)."""
    t = unicodedata.normalize("NFKD", _plain(title))
    t = "".join(c for c in t if not unicodedata.combining(c)).replace("'", "")
    t = " ".join(re.sub(r"[^0-9a-z]+", " ", t).split())
    for article in _ENGLISH:
        if t.startswith(article) and len(t) > len(article):
            return t[len(article) :]
    return t


def _alternatives(title: str) -> set[str]:
    """:func:`title_key` of a title's parts: "Hate (Haine, La) (1995)" gives ``hate`` and
    ``la haine``, "Seven (Se7en) (1995)" ``seven`` and ``se7en`` (alternative titles in
    parentheses, as MovieLens writes them)."""
    t = _YEAR.sub("", title)
    parts = [t.split("(", 1)[0], *re.findall(r"\(([^()]*)\)", t)]
    out = {title_key(p) for p in parts if p.strip()}
    out.discard("")
    return out


def _year(title: str) -> str | None:
    m = _YEAR.search(title)
    return m.group(1) if m else None


def _id_range(values: Sequence[Any]) -> str:
    try:
        return f"ids {min(values)}..{max(values)}"
    except TypeError:  # mixed kinds of id
        return f"e.g. {values[0]!r}"


@dataclass
class IdMaps:
    """Raw ids of one graph's users and movies, with movie titles and genres where known.

    Args:
        dataset: the data set's name (used in error messages).
        users: raw id of each user node, in node order ``[num_users]``.
        movies: raw id of each movie node ``[num_movies]``.
        titles: one title per movie node (or None).
        genres: one ``|``-joined genre string per movie node (or None).
    """

    dataset: str
    users: list[Any]
    movies: list[Any]
    titles: list[str] | None = None
    genres: list[str] | None = None
    _user_pos: dict = field(default_factory=dict, repr=False, compare=False)
    _movie_pos: dict = field(default_factory=dict, repr=False, compare=False)
    _keys: list | None = field(default=None, repr=False, compare=False)
    _alts: list | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.users, self.movies = list(self.users), list(self.movies)
        self._user_pos = {u: i for i, u in enumerate(self.users)}
        self._movie_pos = {m: i for i, m in enumerate(self.movies)}
        if len(self._user_pos) != len(self.users) or len(self._movie_pos) != len(self.movies):
            raise ValueError(f"{self.dataset}: raw ids must be unique per node type")
        for name in ("titles", "genres"):
            values = getattr(self, name)
            if values is not None and len(values) != len(self.movies):
                raise ValueError(f"{len(values)} {name} for {len(self.movies)} movies")

    @classmethod
    def from_graph(cls, data) -> IdMaps:
        """The maps of a graph of :func:`graphrec.data.load_movielens` (or a synthetic one)."""
        movie, user = data["movie"], data["user"]
        # string ids (graphrec.data.load_interactions) are in raw_name; raw_id is their hash
        return cls(
            dataset=str(getattr(data, "name", None) or "graph"),
            users=list(user.raw_name) if "raw_name" in user else user.raw_id.tolist(),
            movies=list(movie.raw_name) if "raw_name" in movie else movie.raw_id.tolist(),
            titles=list(movie.title) if "title" in movie else None,
            genres=list(movie.genres) if "genres" in movie else None,
        )

    # ------------------------------------------------------------------ lookups
    @property
    def num_users(self) -> int:
        return len(self.users)

    @property
    def num_movies(self) -> int:
        return len(self.movies)

    def _as_key(self, raw: Any, pos: dict) -> Any:
        """``raw`` in the kind of id the table holds (``"196"`` finds integer id 196, ``196``
        finds string id ``"196"``)."""
        if raw in pos:
            return raw
        if isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
            return int(raw)
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        if isinstance(raw, int) and str(raw) in pos:
            return str(raw)
        return raw

    def user_index(self, raw: Any) -> int:
        """Node index of raw user id ``raw``, or :class:`UnknownUserError`."""
        key = self._as_key(raw, self._user_pos)
        if key in self._user_pos:
            return self._user_pos[key]
        raise UnknownUserError(
            f"user {key!r} is not in {self.dataset} ({self.num_users} users, "
            f"{_id_range(self.users)}); users are named by the data set's own ids"
        )

    def user_indices(self, raws: Iterable[Any]) -> list[int]:
        return [self.user_index(r) for r in raws]

    def movie_index(self, key: Any) -> int:
        """Node index of a movie given its raw id or a title as people type it.

        Tried in order, the first stage with exactly one match wins: the raw id; the exact
        title; the title in any case; the title with its article anywhere ("The Godfather",
        "Godfather, The", "godfather"), accents and punctuation ignored (see
        :func:`title_key`) and the year optional; then the words typed as a whole-word part
        of exactly one title ("fargo", "Shawshank"). An alternative title in parentheses
        counts as a title ("La Haine" finds "Hate (Haine, La) (1995)"). A year given must
        match. A stage with several matches is an ambiguous title (the candidates are listed
        with their ids); no match at all names the closest titles.
        """
        as_id = self._as_key(key, self._movie_pos)
        if as_id in self._movie_pos:
            return self._movie_pos[as_id]
        if isinstance(key, str) and self.titles is None:
            raise UnknownMovieError(
                f"movie {key!r} is not an id of {self.dataset} ({self.num_movies} movies, "
                f"{_id_range(self.movies)}), and {self.dataset} has no titles to match it "
                "against: pass a movie id, or load an items table with a title column"
            )
        if not isinstance(key, str) or self.titles is None:
            raise UnknownMovieError(
                f"movie id {key!r} is not in {self.dataset} ({self.num_movies} movies, "
                f"{_id_range(self.movies)})"
            )
        titles = self.titles
        typed, year = title_key(key), _year(key)
        keys, alts = self._title_keys(), self._alternative_keys()

        def same_year(i: int) -> bool:
            return year is None or _year(titles[i]) == year

        stages = (
            lambda i: titles[i] == key,
            lambda i: titles[i].lower() == key.strip().lower(),
            lambda i: keys[i] == typed and same_year(i),
            lambda i: typed in alts[i] and same_year(i),
            lambda i: bool(typed) and f" {typed} " in f" {keys[i]} " and same_year(i),
        )
        for match in stages:
            hits = [i for i in range(len(titles)) if match(i)]
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                which = ", ".join(f"{titles[i]} (id {self.movies[i]})" for i in hits[:8])
                more = f" and {len(hits) - 8} more" if len(hits) > 8 else ""
                raise UnknownMovieError(
                    f"title {key!r} is ambiguous in {self.dataset}: {which}{more}; pass the "
                    "movie id or more of the title (with its year)"
                )
        close = self._suggest(typed, year)
        hint = f"; did you mean: {'; '.join(close)}?" if close else ""
        raise UnknownMovieError(f"no movie titled {key!r} in {self.dataset}{hint}")

    def _title_keys(self) -> list[str]:
        if getattr(self, "_keys", None) is None:
            self._keys = [title_key(t) for t in self.titles or []]
        return self._keys

    def _alternative_keys(self) -> list[set[str]]:
        if getattr(self, "_alts", None) is None:
            self._alts = [_alternatives(t) for t in self.titles or []]
        return self._alts

    def _suggest(self, typed: str, year: str | None, n: int = 5) -> list[str]:
        """Up to ``n`` titles close to ``typed`` (a :func:`title_key`): the same title in
        another year first, then near spellings, then titles sharing its words."""
        titles, keys = self.titles or [], self._title_keys()
        out = [titles[i] for i, k in enumerate(keys) if k == typed]
        by_key: dict[str, list[int]] = {}
        for i, k in enumerate(keys):
            by_key.setdefault(k, []).append(i)
        for k in difflib.get_close_matches(typed, list(by_key), n=n, cutoff=0.75):
            out += [titles[i] for i in by_key[k]]
        words = set(typed.split()) - {"the", "a", "an", "of", "and", "in"}
        if words and len(out) < n:
            shared = [(len(words & set(k.split())), i) for i, k in enumerate(keys)]
            scored = sorted((-c, i) for c, i in shared if c)
            out += [titles[i] for _, i in scored[: 2 * n]]
        del year  # a wrong year is shown by the same title's other years, listed first
        return list(dict.fromkeys(out))[:n]

    def movie_indices(self, keys: Iterable[Any]) -> list[int]:
        """Node indices of several ids or titles; every one that fails is reported at once
        (:class:`UnknownMoviesError`, one entry per refused key)."""
        out, problems = [], []
        for k in keys:
            try:
                out.append(self.movie_index(k))
            except UnknownMovieError as exc:
                # the data set is named once, in front
                named = f" in {re.escape(self.dataset)}(?=[;:]|$)"
                problems.append((k, re.sub(named, "", str(exc))))
        if problems:
            if len(problems) == 1:
                raise UnknownMovieError(problems[0][1])
            raise UnknownMoviesError(self.dataset, problems)
        return out

    def title(self, movie: Any) -> str:
        """Title of raw movie id ``movie`` (its id as text where the data has no titles)."""
        i = self.movie_index(movie)
        return self.titles[i] if self.titles is not None else str(self.movies[i])

    def raw_movies(self, indices: Iterable[int]) -> list[Any]:
        return [self.movies[int(i)] for i in indices]

    # ------------------------------------------------------------------ persistence
    def to_json(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "users": self.users,
            "movies": self.movies,
            "titles": self.titles,
            "genres": self.genres,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> IdMaps:
        return cls(d["dataset"], d["users"], d["movies"], d.get("titles"), d.get("genres"))
