"""Why a movie is recommended: the user's own movies behind it, and the feature MLP's features.

- :func:`because`: for each recommended movie, the profile movies that most raise its score.
  For an item-item model (item2vec, whose score is a sum over the profile,
  :math:`\\hat y_{u,i} = \\sum_{j} \\cos(e_j, e_i) / \\lVert\\sum_j
  \\mathrm{norm}(e_j)\\rVert`) these are the largest terms of the sum, with the term as
  the weight (the terms add up to the score); for every other embedding model, the profile
  movies nearest the movie in the model's item space
  (:meth:`~graphrec.models.base.Recommender.item_vectors`), with the cosine as the weight.
  ItemPop has no item space: no movies, its reason is the movie's popularity.
- :func:`feature_reasons`: the feature MLP's top attributed variables for each recommended
  movie: IntegratedGradients (Captum) on the model's whole first-layer input
  ``[x_u; p_u; x_i; q_i]`` from the reference (the mean training pair's attributes, zero id
  embeddings), grouped into the variables of :class:`~graphrec.explain.space.FeatureSpace`
  (``genre=Sci-Fi``, ``genre=Drama absent``, ``occupation=writer``, ``age``) plus the two id
  embeddings (``user id embedding``, ``movie id embedding``), in the model's score units.
  By completeness the attributions add up to ``score - reference score``.
- :func:`recommend_with_reasons`: the top ``k`` of a user vector with both.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from graphrec.explain.space import FeatureSpace

__all__ = ["because", "feature_reasons", "recommend_with_reasons", "reason_kind"]


def _is_item_item(model) -> bool:
    from graphrec.models.item2vec import Item2Vec

    return isinstance(model, Item2Vec)


def reason_kind(model) -> str:
    """What :func:`because`'s weights mean for ``model`` (one line, for outputs)."""
    if _is_item_item(model):
        return "term of the score's sum over the profile (the terms add up to the score)"
    try:
        model.item_vectors()
    except NotImplementedError:
        return "none: the score is the movie's train popularity"
    return "cosine of the two movies in the model's item space"


@torch.no_grad()
def because(
    model, movies: Tensor, profile: Tensor, n: int = 3, disliked: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """The ``n`` profile movies behind each recommended movie.

    Args:
        model: a fitted recommender.
        movies: [K] recommended movie indices.
        profile: [P] the user's liked (train) movie indices.
        n: movies per recommendation (fewer when the profile is smaller).
        disliked: [D] disliked movies (item2vec subtracts them from the profile's sum).

    Returns:
        ``(indices [K, n'], weights [K, n'])`` into the movie indices, largest weight first
        (``n' = min(n, P)``; ``n' = 0`` for a model without an item space).
    """
    movies, profile = torch.as_tensor(movies).view(-1), torch.as_tensor(profile).view(-1)
    n = min(n, profile.numel())
    try:
        vectors = model.item_vectors().float().cpu()
    except NotImplementedError:
        vectors = None
    if vectors is None or n == 0:
        empty = torch.zeros(movies.numel(), 0)
        return empty.long(), empty
    # only the rows needed are normalised (a loaded model answers one user at a time)
    liked = F.normalize(vectors[profile.cpu()], dim=1)
    cos = F.normalize(vectors[movies.cpu()], dim=1) @ liked.T  # [K, P]
    if _is_item_item(model):
        total = liked.sum(0)
        if disliked is not None and disliked.numel():
            total = total - F.normalize(vectors[torch.as_tensor(disliked).view(-1).cpu()]).sum(0)
        cos = cos / total.norm().clamp_min(1e-12)
    top = cos.topk(n, dim=1)
    return profile.cpu()[top.indices], top.values


def _reference(model) -> Tensor:
    """[F_u + F_m] the mean attribute row of the model's train pairs (cached per model)."""
    cached = getattr(model, "_reason_reference", None)
    if cached is not None:
        return cached
    ptr, seen = model.seen_ptr.cpu(), model.seen_movies.cpu()
    users = torch.repeat_interleave(torch.arange(model.num_users), ptr[1:] - ptr[:-1])
    if users.numel() == 0:
        raise ValueError("the model holds no train pairs to take a reference from")
    with torch.no_grad():
        ref = model.features(users.to(model.device), seen.to(model.device)).float().mean(0)
    model._reason_reference = ref.cpu()
    return model._reason_reference


def feature_reasons(
    model, vector: Tensor, movies: Tensor, n: int = 4, n_steps: int = 32
) -> list[dict[str, float]]:
    """The ``n`` variables with the largest attributions to each of ``movies`` for one user.

    Args:
        model: a :class:`~graphrec.models.feature_mlp.FeatureMLP`.
        vector: [F_u + d] the user's vector (``user_vectors`` or ``fold_in``).
        movies: [K] movie indices.
        n: variables per movie, by absolute attribution.
        n_steps: IntegratedGradients steps.

    Returns:
        one ``{variable: attribution}`` dict per movie, largest ``|attribution|`` first
        (:func:`attribution_table` has every variable, the scores and the completeness error).
    """
    return [
        dict(list(row["variables"].items())[:n])
        for row in attribution_table(model, vector, movies, n_steps)
    ]


def attribution_table(
    model, vector: Tensor, movies: Tensor, n_steps: int = 32
) -> list[dict[str, Any]]:
    """Per movie: ``variables`` (every variable and the two id embeddings, largest
    ``|attribution|`` first), ``score``, ``reference_score`` and ``delta`` (completeness
    error: ``score - reference_score - sum(attributions)``). See :func:`feature_reasons`."""
    from captum.attr import IntegratedGradients

    model.eval()
    dev = model.device
    movies = torch.as_tensor(movies, device=dev).view(-1)
    k = movies.numel()
    fu, d = model.num_user_features, model.hparams["embedding_dim"]
    vector = torch.as_tensor(vector, device=dev).float().view(1, -1)
    with torch.no_grad():
        movie_part = model._movie_part()[movies]  # [K, F_m + d]
    z = torch.cat([vector.expand(k, -1), movie_part], 1)  # the first layer's input
    ref = _reference(model).to(dev)
    fm = model.num_movie_features
    base = torch.cat(
        [ref[:fu], torch.zeros(d, device=dev), ref[fu:], torch.zeros(d, device=dev)]
    ).expand(k, -1)

    def forward(inputs: Tensor) -> Tensor:
        return model.out(model.rest(model.first(inputs))).squeeze(-1)

    attr, delta = IntegratedGradients(forward).attribute(
        z, baselines=base, n_steps=n_steps, return_convergence_delta=True
    )
    attr = attr.detach().cpu()
    with torch.no_grad():
        score, ref_score = forward(z).cpu(), forward(base).cpu()
    # columns of z: [x_u (fu), p_u (d), x_m (fm), q_m (d)]
    user_cols, movie_cols = attr[:, :fu], attr[:, fu + d : fu + d + fm]
    space = FeatureSpace.from_model(model)
    variables = space.to_variables(torch.cat([user_cols, movie_cols], 1))  # [K, V]
    rows = []
    x = torch.cat([vector[0, :fu].cpu().expand(k, -1), movie_part[:, :fm].cpu()], 1)
    for r in range(k):
        names = space.display_names(x[r])
        values = {name: float(v) for name, v in zip(names, variables[r], strict=True)}
        if d:
            values["user id embedding"] = float(attr[r, fu : fu + d].sum())
            values["movie id embedding"] = float(attr[r, fu + d + fm :].sum())
        ordered = dict(sorted(values.items(), key=lambda kv: -abs(kv[1])))
        rows.append(
            {
                "variables": ordered,
                "score": float(score[r]),
                "reference_score": float(ref_score[r]),
                "delta": float(delta[r]),
            }
        )
    return rows


def recommend_with_reasons(
    model,
    vector: Tensor,
    profile: Tensor,
    k: int = 10,
    exclude: Tensor | None = None,
    disliked: Tensor | None = None,
    num_because: int = 3,
    num_features: int = 4,
    features: bool = True,
) -> list[dict[str, Any]]:
    """The top ``k`` movies of one user vector, each with its reasons.

    Args:
        model: a fitted recommender that scores user vectors.
        vector: [d] or [1, d] the user (``user_vectors([u])`` or ``fold_in(...)``).
        profile: [P] the movies the reasons may name (the user's train or liked movies).
        k: list length.
        exclude: [E] movies left out of the list (seen, liked and disliked).
        disliked: [D] disliked movies (see :func:`because`).
        num_because: profile movies per recommendation.
        num_features: the feature MLP's variables per recommendation (``features=False``:
            none, and no attributions are computed).

    Returns:
        ``[{"movie", "score", "because": [(movie, weight), ...], "features": {...},
        "reference_score"}]`` in movie indices, best first (``features`` and the score of
        their reference only for the feature MLP).
    """
    from graphrec.models.feature_mlp import FeatureMLP

    vector = torch.as_tensor(vector).view(1, -1)
    ex = None if exclude is None else [torch.as_tensor(exclude).view(-1)]
    top, scores = model.recommend_vectors(vector, k, exclude=ex)
    top, scores = top[0].cpu(), scores[0].cpu()
    idx, weights = because(model, top, profile, num_because, disliked)
    table = None
    if features and isinstance(model, FeatureMLP):
        table = attribution_table(model, vector[0], top)
    out = []
    for r in range(top.numel()):
        item: dict[str, Any] = {
            "movie": int(top[r]),
            "score": float(scores[r]),
            "because": [
                (int(i), float(w))
                for i, w in zip(idx[r].tolist(), weights[r].tolist(), strict=True)
            ],
        }
        if table is not None:
            item["features"] = dict(list(table[r]["variables"].items())[:num_features])
            item["reference_score"] = table[r]["reference_score"]
        out.append(item)
    return out
