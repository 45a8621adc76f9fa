"""Similar-movie queries and their quality, for item2vec or any movie embedding.

- :func:`top_similar`: cosine top-k neighbours of movies in an embedding.
- :func:`item_cosine_neighbours`: the plain baseline, item-item cosine on the binary train
  rating matrix (the ``cosine`` projection of :mod:`graphrec.data.projection`).
- :func:`genre_coherence`: share of top-k neighbours that share a genre with the query,
  beside the same share for random neighbours (its expected value, computed exactly).
- :func:`franchise_hits`: for films of known franchises (sequels, trilogies), whether a
  sibling is among their top-k neighbours; :func:`item_cosine_franchise_hits` the same for
  the item-item cosine baseline.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import Tensor

from graphrec.data.split import InteractionSplit

__all__ = [
    "FRANCHISES",
    "top_similar",
    "hubness",
    "item_cosine_neighbours",
    "genre_coherence",
    "franchise_hits",
    "item_cosine_franchise_hits",
]

#: franchise groups, titled as in ML-100K (titles absent from a data set are skipped)
FRANCHISES: list[list[str]] = [
    ["Star Wars (1977)", "Empire Strikes Back, The (1980)", "Return of the Jedi (1983)"],
    ["Godfather, The (1972)", "Godfather: Part II, The (1974)"],
    ["Alien (1979)", "Aliens (1986)", "Alien 3 (1992)", "Alien: Resurrection (1997)"],
    ["Terminator, The (1984)", "Terminator 2: Judgment Day (1991)"],
    ["Raiders of the Lost Ark (1981)", "Indiana Jones and the Last Crusade (1989)"],
    ["Die Hard (1988)", "Die Hard 2 (1990)", "Die Hard: With a Vengeance (1995)"],
    ["Batman (1989)", "Batman Returns (1992)", "Batman Forever (1995)", "Batman & Robin (1997)"],
    [
        "Star Trek: The Motion Picture (1979)",
        "Star Trek: The Wrath of Khan (1982)",
        "Star Trek III: The Search for Spock (1984)",
        "Star Trek IV: The Voyage Home (1986)",
        "Star Trek V: The Final Frontier (1989)",
        "Star Trek VI: The Undiscovered Country (1991)",
        "Star Trek: Generations (1994)",
        "Star Trek: First Contact (1996)",
    ],
    ["Jurassic Park (1993)", "Lost World: Jurassic Park, The (1997)"],
    [
        "Free Willy (1993)",
        "Free Willy 2: The Adventure Home (1995)",
        "Free Willy 3: The Rescue (1997)",
    ],
    ["Jaws (1975)", "Jaws 2 (1978)", "Jaws 3-D (1983)"],
    ["Ace Ventura: Pet Detective (1994)", "Ace Ventura: When Nature Calls (1995)"],
    ["Three Colors: Red (1994)", "Three Colors: Blue (1993)", "Three Colors: White (1994)"],
    [
        "Wallace & Gromit: The Best of Aardman Animation (1996)",
        "Wrong Trousers, The (1993)",
        "Close Shave, A (1995)",
    ],
    ["Evil Dead II (1987)", "Army of Darkness (1993)"],
    ["Scream (1996)", "Scream 2 (1997)"],
    ["Home Alone (1990)", "Home Alone 3 (1997)"],
    [
        "Homeward Bound: The Incredible Journey (1993)",
        "Homeward Bound II: Lost in San Francisco (1996)",
    ],
    ["Under Siege (1992)", "Under Siege 2: Dark Territory (1995)"],
    ["Speed (1994)", "Speed 2: Cruise Control (1997)"],
    ["Brady Bunch Movie, The (1995)", "Very Brady Sequel, A (1996)"],
    ["Highlander (1986)", "Highlander III: The Sorcerer (1994)"],
]


def top_similar(
    emb: Tensor,
    ids: Tensor,
    k: int = 10,
    allowed: Tensor | None = None,
    hubness_k: int = 0,
    hub: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Top-``k`` neighbours of ``ids`` in ``emb`` [N, d], the query itself excluded.

    With ``hubness_k = 0`` (default) neighbours are ranked by cosine. With ``hubness_k = K > 0``
    they are ranked by CSLS (cross-domain similarity local scaling, Conneau et al., ICLR 2018,
    "Word Translation Without Parallel Data"): ``2 cos(x, y) - r(y)``, where ``r(y)`` is the
    mean cosine of ``y`` to its ``K`` nearest items. A *hub*, an item close to everything (on
    MovieLens, the films nearly every user rated), has a large ``r`` and stops crowding every
    list; the query's own ``r(x)`` is the same for all its candidates and is left out.

    ``allowed`` [N] bool restricts the neighbours (e.g. movies with at least one edge) and the
    items ``r`` is measured against. ``hub`` [N] is ``r`` when the caller already has it
    (:func:`hubness` of the normalised ``emb`` with the same ``hubness_k`` and ``allowed``), so
    that several queries on one embedding measure it once. Returns ``(neighbours [len(ids),
    k], scores [len(ids), k])``, best first: cosines, or CSLS scores with ``hubness_k``.
    """
    if hubness_k < 0:
        raise ValueError(f"hubness_k must be >= 0, got {hubness_k}")
    if hub is not None and (not hubness_k or hub.shape != (emb.size(0),)):
        raise ValueError(
            f"hub must be the [{emb.size(0)}] hubness scores of a CSLS ranking (hubness_k > 0), "
            f"got shape {tuple(hub.shape)} with hubness_k={hubness_k}"
        )
    z = F.normalize(emb.float(), dim=1)
    sims = z[ids] @ z.T
    if hubness_k:
        if hub is None:
            hub = hubness(z, hubness_k, allowed)
        sims = 2 * sims - hub.view(1, -1)
    sims[torch.arange(ids.numel()), ids] = float("-inf")
    if allowed is not None:
        sims[:, ~allowed] = float("-inf")
    top = torch.topk(sims, k, dim=1)
    return top.indices, top.values


def hubness(z: Tensor, k: int, allowed: Tensor | None = None, chunk: int = 4096) -> Tensor:
    """[N] mean cosine of each row of the unit-norm ``z`` to its ``k`` nearest other rows
    (among ``allowed`` ones); CSLS's ``r``."""
    pool = z if allowed is None else z[allowed]
    if pool.size(0) <= k:
        raise ValueError(f"hubness_k={k} needs more than {k} items, there are {pool.size(0)}")
    out = torch.empty(z.size(0))
    for s in range(0, z.size(0), chunk):
        sims = z[s : s + chunk] @ pool.T
        # each item's own cosine (1) is among the top k + 1; drop the largest value
        top = torch.topk(sims, k + 1, dim=1).values[:, 1:]
        out[s : s + chunk] = top.mean(1)
    return out


def item_cosine_neighbours(split: InteractionSplit, ids: Tensor, k: int = 10) -> Tensor:
    """[len(ids), k] neighbours by item-item cosine on the binary train rating matrix
    (pairs never co-rated come last, as ``-inf``)."""
    users, movies = split.train
    x = sp.csc_matrix(
        (np.ones(users.numel(), dtype=np.float64), (users.numpy(), movies.numpy())),
        shape=(split.num_users, split.num_movies),
    )
    deg = np.asarray(x.sum(0)).ravel()
    q = ids.numpy()
    co = (x[:, q].T @ x).tocoo()  # [Q, N] co-rating counts of the queried rows only
    r, c, n = co.row, co.col, co.data
    keep = (q[r] != c) & (n > 0)
    r, c, n = r[keep], c[keep], n[keep]
    w = n / np.sqrt(deg[q[r]] * deg[c])  # the cosine weight of movie_graph, same arithmetic
    dense = torch.full((q.size, split.num_movies), float("-inf"))
    dense[torch.from_numpy(r), torch.from_numpy(c)] = torch.from_numpy(w.astype(np.float32))
    return torch.topk(dense, k, dim=1).indices


def _genre_sets(genres: list[str]) -> list[set[str]]:
    return [{g for g in s.split("|") if g and g != "unknown"} for s in genres]


def genre_coherence(
    neighbours: Tensor, ids: Tensor, genres: list[str], pool: Tensor | None = None
) -> dict[str, float]:
    """Share of neighbours sharing at least one genre with their query.

    Args:
        neighbours: [Q, k] neighbour ids of the queries ``ids`` [Q].
        genres: ``|``-joined genre strings of every movie.
        pool: [P] the movies a random neighbour would be drawn from (default: all).

    Returns:
        ``{"coherence": ..., "random_baseline": ..., "lift": coherence / baseline}``, where the
        baseline is the exact expected coherence of neighbours drawn uniformly from ``pool``.
    """
    if ids.numel() == 0:
        raise ValueError("genre_coherence needs at least one query movie")
    sets = _genre_sets(genres)
    pool_ids = torch.arange(len(genres)) if pool is None else pool
    names = sorted({g for s in sets for g in s})
    gi = {g: i for i, g in enumerate(names)}
    onehot = torch.zeros(len(genres), len(names))
    for m, s in enumerate(sets):
        for g in s:
            onehot[m, gi[g]] = 1.0
    q = onehot[ids]
    shares = ((q @ onehot[pool_ids].T) > 0).float()  # [Q, P] shares a genre
    same = (pool_ids.view(1, -1) == ids.view(-1, 1)).float()
    baseline = ((shares * (1 - same)).sum(1) / (pool_ids.numel() - same.sum(1))).mean()
    hit = torch.stack(
        [(q[i : i + 1] @ onehot[neighbours[i]].T > 0).float().view(-1) for i in range(ids.numel())]
    )
    coherence = hit.mean()
    return {
        "coherence": float(coherence),
        "random_baseline": float(baseline),
        "lift": float(coherence / baseline) if baseline > 0 else float("nan"),
    }


def franchise_hits(
    neighbours_of,
    titles: list[str],
    popularity: Tensor,
    min_ratings: int = 20,
    groups: list[list[str]] | None = None,
) -> dict:
    """For every franchise film with at least ``min_ratings`` train ratings, whether a sibling
    is among its neighbours.

    Args:
        neighbours_of: callable ``ids [Q] -> neighbours [Q, k]``.
        titles: every movie's title.
        popularity: [num_movies] train ratings per movie.
        groups: franchise groups of titles (default :data:`FRANCHISES`).

    Returns:
        ``{"films": n, "hit_rate": share with a sibling in the top k, "per_film": {title: bool}}``
    """
    index = {t: i for i, t in enumerate(titles)}
    films, siblings = [], []
    for group in groups or FRANCHISES:
        present = [index[t] for t in group if t in index]
        for m in present:
            sib = [s for s in present if s != m]
            if sib and int(popularity[m]) >= min_ratings:
                films.append(m)
                siblings.append(set(sib))
    if not films:
        return {"films": 0, "hit_rate": float("nan"), "per_film": {}}
    nb = neighbours_of(torch.tensor(films))
    per = {titles[m]: bool(set(nb[i].tolist()) & siblings[i]) for i, m in enumerate(films)}
    return {"films": len(films), "hit_rate": sum(per.values()) / len(per), "per_film": per}


def item_cosine_franchise_hits(
    split: InteractionSplit,
    titles: list[str],
    k: int = 10,
    min_ratings: int = 20,
    groups: list[list[str]] | None = None,
) -> dict:
    """:func:`franchise_hits` of the item-item cosine baseline (:func:`item_cosine_neighbours`,
    top ``k``) on ``split``, popularity its train ratings per movie: the score an embedding's
    franchise siblings are read against."""
    return franchise_hits(
        lambda ids: item_cosine_neighbours(split, ids, k),
        titles,
        split.train_degree(),
        min_ratings=min_ratings,
        groups=groups,
    )
