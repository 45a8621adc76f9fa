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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["IdMaps", "UnknownUserError", "UnknownMovieError"]


class UnknownUserError(KeyError):
    """A user id (raw or index) that the graph or model does not know."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0]) if self.args else ""


class UnknownMovieError(KeyError):
    """A movie id or title that the graph or model does not know."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


_YEAR = re.compile(r"\s*\((\d{4})\)\s*$")


def _plain(title: str) -> str:
    """A title as people type it: lower case, year dropped, "Godfather, The" -> "the godfather"."""
    t = _YEAR.sub("", title).strip().lower()
    for article in ("the", "a", "an"):
        if t.endswith(f", {article}"):
            t = f"{article} {t[: -len(article) - 2]}"
            break
    return " ".join(t.split())


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
        movie = data["movie"]
        return cls(
            dataset=str(getattr(data, "name", None) or "graph"),
            users=data["user"].raw_id.tolist(),
            movies=movie.raw_id.tolist(),
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
        """``raw`` in the kind of id the table holds (``"196"`` finds integer id 196)."""
        if raw in pos:
            return raw
        if isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
            return int(raw)
        if isinstance(raw, float) and raw.is_integer():
            return int(raw)
        return raw

    def user_index(self, raw: Any) -> int:
        """Node index of raw user id ``raw``, or :class:`UnknownUserError`."""
        key = self._as_key(raw, self._user_pos)
        if key in self._user_pos:
            return self._user_pos[key]
        raise UnknownUserError(
            f"user {raw!r} is not in {self.dataset} ({self.num_users} users, "
            f"{_id_range(self.users)}); users are named by the data set's own ids"
        )

    def user_indices(self, raws: Iterable[Any]) -> list[int]:
        return [self.user_index(r) for r in raws]

    def movie_index(self, key: Any) -> int:
        """Node index of a movie given its raw id or a title as people type it.

        Titles match exactly, then case-insensitively, then with the article in front and the
        year optional ("the godfather" finds "Godfather, The (1972)"; a year given must
        match). An ambiguous title
        lists the candidates; an unknown one names the closest titles.
        """
        as_id = self._as_key(key, self._movie_pos)
        if as_id in self._movie_pos:
            return self._movie_pos[as_id]
        if not isinstance(key, str) or self.titles is None:
            raise UnknownMovieError(
                f"movie id {key!r} is not in {self.dataset} ({self.num_movies} movies, "
                f"{_id_range(self.movies)})"
            )
        titles = self.titles
        year = _YEAR.search(key)

        def loose(t: str) -> bool:  # a year given must match; a year left out matches any
            if _plain(t) != _plain(key):
                return False
            return (
                year is None or (m := _YEAR.search(t)) is not None and m.group(1) == year.group(1)
            )

        for match in (lambda t: t == key, lambda t: t.lower() == key.strip().lower(), loose):
            hits = [i for i, t in enumerate(titles) if match(t)]
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                which = ", ".join(f"{titles[i]} (id {self.movies[i]})" for i in hits[:10])
                raise UnknownMovieError(
                    f"title {key!r} is ambiguous in {self.dataset}: {which}; pass the movie id "
                    "or the title with its year instead"
                )
        close = difflib.get_close_matches(key, titles, n=5, cutoff=0.5)
        if not close:
            low = _plain(key)
            close = [t for t in titles if low and low in t.lower()][:5]
        hint = f"; did you mean: {'; '.join(close)}?" if close else ""
        raise UnknownMovieError(f"no movie titled {key!r} in {self.dataset}{hint}")

    def movie_indices(self, keys: Iterable[Any]) -> list[int]:
        return [self.movie_index(k) for k in keys]

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
