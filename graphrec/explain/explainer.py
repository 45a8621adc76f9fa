"""One entry point for every attribution method: :class:`Explainer`.

``Explainer(model, train_edges)`` fixes what all methods share: the model, its
:class:`~graphrec.explain.space.FeatureSpace`, the **reference row** (the mean feature row
of the training edges: "the average (user, movie) pair"; IntegratedGradients, DeepLift,
FeatureAblation and the deletion curves start from it) and a seeded **background sample**
of training edges (GradientShap's baselines, SHAP's background, LIME's training data).
``attribute(users, movies, methods)`` explains any number of edges at once and returns an
:class:`Attributions` record; ``explain(user, movie)`` does one pair and ``explain_edges``
a sample (the global view: mean ``|attribution|``), with a progress bar.

With ``decompose=True`` (or :meth:`Explainer.decompose` alone) the record also holds the
**decomposition** of each prediction: IntegratedGradients over the features and the id
embeddings together, from the average training pair (mean feature row and mean id
embeddings of the training edges), in the model's output units; see
:func:`graphrec.explain.captum_methods.prediction_decomposition` and
:func:`graphrec.explain.reasons.contributions`, which turns one row into readable reasons.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch
from torch import Tensor

from graphrec.explain.captum_methods import (
    CAPTUM_METHODS,
    captum_attributions,
    id_attributions,
    prediction_decomposition,
)
from graphrec.explain.space import FeatureSpace

__all__ = [
    "METHODS",
    "ID_METHOD",
    "DECOMPOSITION",
    "UnknownMethodError",
    "resolve_methods",
    "Attributions",
    "Explainer",
]

#: feature-attribution methods, in display order
METHODS = (*CAPTUM_METHODS, "SHAP", "LIME")
#: the id-embedding method (only for models with ``use_ids``)
ID_METHOD = "LayerIntegratedGradients"
#: how :attr:`Attributions.decomposition` is computed (features and ids on one baseline)
DECOMPOSITION = "IntegratedGradients over features and id embeddings"

_ALIASES = {
    "ig": "IntegratedGradients",
    "integratedgradients": "IntegratedGradients",
    "deeplift": "DeepLift",
    "gradientshap": "GradientShap",
    "gradshap": "GradientShap",
    "featureablation": "FeatureAblation",
    "ablation": "FeatureAblation",
    "saliency": "Saliency",
    "shap": "SHAP",
    "kernelshap": "SHAP",
    "lime": "LIME",
    "lig": ID_METHOD,
    "layerintegratedgradients": ID_METHOD,
}


class UnknownMethodError(ValueError):
    """An attribution method name that graphrec does not know."""


def resolve_methods(names: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """Canonical method names from names or aliases (case-insensitive; ``all`` or None: all
    feature methods plus LayerIntegratedGradients); raises :class:`UnknownMethodError`."""
    if names is None:
        return [*METHODS, ID_METHOD]
    if isinstance(names, str):
        names = [n for n in names.replace(",", " ").split() if n]
    out: list[str] = []
    for n in names:
        key = n.strip().lower().replace("-", "").replace("_", "")
        if key == "all":
            picked = [*METHODS, ID_METHOD]
        elif key in _ALIASES:
            picked = [_ALIASES[key]]
        else:
            known = ", ".join([*METHODS, ID_METHOD])
            raise UnknownMethodError(
                f"unknown attribution method {n!r}; choose from {known} (or aliases ig, "
                f"gradshap, ablation, lig; 'all' for every one)"
            )
        out += [p for p in picked if p not in out]
    if not out:
        raise UnknownMethodError("no attribution method given")
    return out


@dataclass
class Attributions:
    """Attributions of ``N`` edges by several methods, keyed by method name.

    Attributes:
        space: the feature space (variable and block names).
        users, movies: [N] node indices of the explained edges.
        x: [N, F] their feature rows.
        prediction: [N] the model's scores.
        reference_row: [F] the reference row (mean training row).
        reference_prediction: [N] scores of the reference row with each edge's ids.
        variables: method -> [N, V] per-variable attributions (the compared view).
        blocks: method -> [N, B] per-block attributions (``genre``, ``occupation``...).
        columns: method -> [N, F] per-column attributions (Captum methods).
        references: method -> [N] the prediction each method's attributions are relative
            to (``f(reference)``; ``E[f(background)]`` for GradientShap and SHAP; LIME's
            intercept; NaN for Saliency).
        deltas: method -> [N] completeness / additivity errors where defined.
        ids: LayerIntegratedGradients: ``user_id``, ``movie_id``, ``reference``, ``delta``
            ([N] each), or empty.
        seconds: method -> wall seconds spent.
        extra: method -> other per-row outputs (LIME's raw ``weights`` [N, V], ``score``,
            ``local_prediction``).
        decomposition: the prediction split into features and ids on one baseline (see
            :func:`~graphrec.explain.captum_methods.prediction_decomposition`):
            ``variables`` [N, V], ``blocks`` [N, B], ``columns`` [N, F], ``baseline`` [N]
            (the average training pair's prediction), ``delta`` [N] and, for models with id
            embeddings, ``user_id``/``movie_id`` [N]; empty unless asked for.
    """

    space: FeatureSpace
    users: Tensor
    movies: Tensor
    x: Tensor
    prediction: Tensor
    reference_row: Tensor
    reference_prediction: Tensor
    variables: dict[str, Tensor] = field(default_factory=dict)
    blocks: dict[str, Tensor] = field(default_factory=dict)
    columns: dict[str, Tensor] = field(default_factory=dict)
    references: dict[str, Tensor] = field(default_factory=dict)
    deltas: dict[str, Tensor] = field(default_factory=dict)
    ids: dict[str, Tensor] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    extra: dict[str, dict[str, Tensor]] = field(default_factory=dict)
    decomposition: dict[str, Tensor] = field(default_factory=dict)

    @property
    def methods(self) -> list[str]:
        return list(self.variables)

    def __len__(self) -> int:
        return int(self.users.numel())

    def local(self, method: str, row: int = 0) -> dict[str, float]:
        """``{variable name (with its active value): attribution}`` of one row."""
        names = self.space.local_names(self.x[row])
        return {n: float(a) for n, a in zip(names, self.variables[method][row], strict=True)}

    def mean_abs(self, method: str) -> dict[str, float]:
        """``{variable name: mean |attribution| over the rows}`` (the global view)."""
        vals = self.variables[method].abs().mean(0)
        return {n: float(a) for n, a in zip(self.space.names, vals, strict=True)}

    def mean_abs_blocks(self, method: str) -> dict[str, float]:
        vals = self.blocks[method].abs().mean(0)
        return {n: float(a) for n, a in zip(self.space.blocks, vals, strict=True)}


class Explainer:
    """Explains a feature model's predictions with Captum, SHAP and LIME.

    Args:
        model: a :class:`graphrec.models.feature_mlp.FeatureMLP` (or any module with the
            same ``forward(x, users, movies)``, ``features``, ``hparams`` feature names
            and ``user_x``/``movie_x`` buffers).
        train_edges: [2, E] training (user, movie) pairs: the reference row is their mean
            feature row and the background is sampled from them.
        background_size: training rows in the GradientShap / SHAP background (default 64).
        lime_training_size: training rows LIME learns its statistics from (default 1000).
        n_steps: IntegratedGradients / LayerIntegratedGradients steps (default 50).
        gradient_shap_samples: GradientShap draws per input (default 50).
        shap_nsamples: Kernel SHAP coalitions per row (default 1024).
        lime_samples: LIME perturbations per row (default 2000).
        seed: seeds the background sample and every stochastic method.
    """

    def __init__(
        self,
        model,
        train_edges: Tensor,
        *,
        background_size: int = 64,
        lime_training_size: int = 1000,
        n_steps: int = 50,
        gradient_shap_samples: int = 50,
        shap_nsamples: int = 1024,
        lime_samples: int = 2000,
        seed: int = 0,
    ) -> None:
        self.model = model.eval()
        self.space = FeatureSpace.from_model(model)
        dev = model.user_x.device
        u, m = train_edges[0].to(dev), train_edges[1].to(dev)
        if u.numel() == 0:
            raise ValueError("train_edges is empty: nothing to take a reference row from")
        with torch.no_grad():
            self.reference_row = model.features(u, m).mean(0).cpu()
            #: mean user and movie id embeddings of the training edges (the decomposition's
            #: baseline ids), or None for a model without id embeddings
            self.reference_embeddings = (
                (model.user_embedding(u).mean(0), model.movie_embedding(m).mean(0))
                if getattr(model, "use_ids", False)
                else None
            )
        gen = torch.Generator().manual_seed(seed)
        pick = torch.randperm(u.numel(), generator=gen)
        with torch.no_grad():
            self.background = model.features(u[pick[:background_size]], m[pick[:background_size]])
            self.lime_training = model.features(
                u[pick[:lime_training_size]], m[pick[:lime_training_size]]
            )
        self.n_steps, self.gradient_shap_samples = n_steps, gradient_shap_samples
        self.shap_nsamples, self.lime_samples, self.seed = shap_nsamples, lime_samples, seed

    def attribute(
        self,
        users: Tensor,
        movies: Tensor,
        methods: str | list[str] | None = None,
        progress: bool = False,
        decompose: bool = False,
    ) -> Attributions:
        """Attributions of the edges ``(users[i], movies[i])`` [N] by ``methods``
        (see :func:`resolve_methods`; LayerIntegratedGradients is skipped for models
        without id embeddings), plus :attr:`Attributions.decomposition` when
        ``decompose``."""
        from tqdm.auto import tqdm

        methods = resolve_methods(methods)
        out, x = self._record(users, movies)
        model, users, movies = self.model, out.users.to(x.device), out.movies.to(x.device)
        if decompose:
            self._decompose(out, x)
        bar = tqdm(methods, desc="explain", unit="method", disable=not progress, leave=False)
        for method in bar:
            bar.set_postfix_str(method)
            t0 = time.perf_counter()
            if method == ID_METHOD:
                if not getattr(model, "use_ids", False):
                    continue
                out.ids = id_attributions(model, x, users, movies, n_steps=self.n_steps)
            elif method in CAPTUM_METHODS:
                r = captum_attributions(
                    model,
                    self.space,
                    method,
                    x,
                    users,
                    movies,
                    self.reference_row,
                    self.background,
                    n_steps=self.n_steps,
                    n_samples=self.gradient_shap_samples,
                    seed=self.seed,
                )
                out.variables[method], out.blocks[method] = r["variables"], r["blocks"]
                out.columns[method] = r["columns"]
                out.references[method], out.deltas[method] = r["reference"], r["delta"]
            elif method == "SHAP":
                from graphrec.explain.shap_lime import shap_attributions

                r = shap_attributions(
                    model,
                    self.space,
                    x,
                    users,
                    movies,
                    self.background,
                    nsamples=self.shap_nsamples,
                    seed=self.seed,
                    progress=progress,
                )
                out.variables[method] = r["variables"]
                out.blocks[method] = self.space.to_blocks(r["variables"])
                out.references[method], out.deltas[method] = r["reference"], r["delta"]
            else:  # LIME
                from graphrec.explain.shap_lime import lime_attributions

                r = lime_attributions(
                    model,
                    self.space,
                    x,
                    users,
                    movies,
                    self.lime_training,
                    num_samples=self.lime_samples,
                    seed=self.seed,
                    progress=progress,
                )
                out.variables[method] = r["variables"]
                out.blocks[method] = self.space.to_blocks(r["variables"])
                out.references[method] = r["reference"]
                out.extra[method] = {
                    "weights": r["weights"],
                    "score": r["score"],
                    "local_prediction": r["local_prediction"],
                }
            out.seconds[method] = time.perf_counter() - t0
        return out

    def _record(self, users: Tensor, movies: Tensor) -> tuple[Attributions, Tensor]:
        """An :class:`Attributions` with the predictions and no method yet, and ``x``."""
        model = self.model
        users, movies = model.check_users(users), model.check_movies(movies)
        with torch.no_grad():
            x = model.features(users, movies).float()
            pred = model(x, users, movies).cpu()
            ref = self.reference_row.to(x).view(1, -1).expand_as(x)
            ref_pred = model(ref, users, movies).cpu()
        out = Attributions(
            self.space, users.cpu(), movies.cpu(), x.cpu(), pred, self.reference_row, ref_pred
        )
        return out, x

    def _decompose(self, out: Attributions, x: Tensor) -> None:
        t0 = time.perf_counter()
        out.decomposition = prediction_decomposition(
            self.model,
            self.space,
            x,
            out.users.to(x.device),
            out.movies.to(x.device),
            self.reference_row,
            self.reference_embeddings,
            n_steps=self.n_steps,
        )
        out.seconds["decomposition"] = time.perf_counter() - t0

    def decompose(self, users: Tensor, movies: Tensor) -> Attributions:
        """Only the decomposition of the predictions ``(users[i], movies[i])`` [N] (no
        other method: cheap, one IntegratedGradients pass); read it with
        :func:`graphrec.explain.reasons.contributions`."""
        out, x = self._record(torch.as_tensor(users), torch.as_tensor(movies))
        self._decompose(out, x)
        return out

    def explain(
        self,
        user: int,
        movie: int,
        methods: str | list[str] | None = None,
        decompose: bool = False,
    ) -> Attributions:
        """Attributions of one (user, movie) prediction (node indices)."""
        return self.attribute(
            torch.tensor([user]), torch.tensor([movie]), methods, decompose=decompose
        )

    def explain_edges(
        self,
        edges: Tensor,
        methods: str | list[str] | None = None,
        sample: int | None = 100,
        progress: bool = True,
        decompose: bool = False,
    ) -> Attributions:
        """Attributions of a seeded sample of ``sample`` edges of ``edges`` [2, E] (all when
        None), for the global view :meth:`Attributions.mean_abs`."""
        if sample is not None and sample < edges.size(1):
            gen = torch.Generator().manual_seed(self.seed + 1)
            edges = edges[:, torch.randperm(edges.size(1), generator=gen)[:sample]]
        return self.attribute(edges[0], edges[1], methods, progress=progress, decompose=decompose)
