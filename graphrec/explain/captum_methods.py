"""Captum attributions on a feature model's concatenated node-feature input.

Every method wraps the model's plain forward ``model(x [N, F], users [N], movies [N])``
(:class:`graphrec.models.feature_mlp.FeatureMLP`), attributes on ``x`` and passes the ids
as ``additional_forward_args`` (ids are not differentiable). Results come back per column
(``age``, ``gender=F``, ``genre=Comedy``...), per variable (one-hot columns summed, see
:mod:`graphrec.explain.space`) and per block (all genres as ``genre``):

- ``IntegratedGradients``, ``DeepLift``: against one reference row (the mean feature row of
  the training edges); additive, so a variable's or block's attribution is the sum of its
  columns' and they sum to ``f(x) - f(reference)`` (completeness; deltas are returned).
- ``GradientShap``: expected gradients against a background sample of training edges.
- ``FeatureAblation``: each unit replaced by the reference, run three times with
  ``feature_mask``: per column, per variable (a one-hot variable ablated as a whole) and per
  block (``genre``, ``occupation``, ...).
- ``Saliency``: ``|df/dx|`` at the input; variables and blocks sum the magnitudes.
- ``LayerIntegratedGradients`` (when the model has id embeddings): attributions to the
  user and movie embedding layers, from the zero embedding (id ``-1``) to the learned one,
  summed over embedding dimensions.

:func:`prediction_decomposition` is the one view where features and ids share a baseline:
IntegratedGradients over the feature columns *and* both id embeddings at once, from the
average training pair (mean feature row, mean id embeddings) to the explained pair, so every
term is in the model's output units (rating points) and all of them, ids included, sum to
``f(pair) - f(average pair)``.

Captum is imported inside the functions, so importing this module is cheap.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

import numpy as np
import torch
from torch import Tensor

from graphrec.explain.space import FeatureSpace

__all__ = ["CAPTUM_METHODS", "captum_attributions", "id_attributions", "prediction_decomposition"]

#: Captum notices that say nothing about these models (they are checked by the tests)
_QUIET = (
    r"Input Tensor \d+ did not already require gradients",
    r"Setting forward, backward hooks and attributes on non-linear",
    r"Multiple layers provided",
)


@contextlib.contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """Seed torch and NumPy's global RNG (GradientShap draws its interpolation points with
    ``np.random``) and restore both afterwards."""
    state = np.random.get_state()
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        np.random.seed(seed % 2**32)
        try:
            yield
        finally:
            np.random.set_state(state)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        for pattern in _QUIET:
            warnings.filterwarnings("ignore", message=pattern, category=UserWarning)
        yield


CAPTUM_METHODS = (
    "IntegratedGradients",
    "DeepLift",
    "GradientShap",
    "FeatureAblation",
    "Saliency",
)


def captum_attributions(
    model,
    space: FeatureSpace,
    method: str,
    x: Tensor,
    users: Tensor,
    movies: Tensor,
    reference: Tensor,
    background: Tensor,
    *,
    n_steps: int = 50,
    n_samples: int = 50,
    seed: int = 0,
) -> dict[str, Tensor]:
    """Attributions of ``method`` for the rows ``x`` [N, F] with ids ``users``/``movies`` [N].

    Args:
        reference: [F] the reference row (IntegratedGradients, DeepLift, FeatureAblation).
        background: [K, F] training rows that GradientShap draws its baselines from.
        n_steps: integration steps of IntegratedGradients.
        n_samples: baseline draws per input of GradientShap.
        seed: seeds GradientShap's draws.

    Returns:
        ``columns`` [N, F], ``variables`` [N, V], ``blocks`` [N, B], ``reference`` [N]
        (the prediction each row's attributions are relative to; NaN for Saliency) and
        ``delta`` [N] (completeness error of the additive methods, else NaN).
    """
    if method not in CAPTUM_METHODS:
        raise ValueError(f"unknown Captum method {method!r}; choose from {CAPTUM_METHODS}")
    model.eval()
    n = x.size(0)
    x = x.detach().float()
    ref = reference.view(1, -1).to(x).expand(n, -1).contiguous()
    nan = torch.full((n,), float("nan"))
    with torch.no_grad():
        f_ref = model(ref, users, movies).detach().cpu()
    out: dict[str, Tensor] = {"reference": f_ref, "delta": nan}
    with _quiet():
        cols = _attribute(
            model, space, method, x, users, movies, ref, background, out, n_steps, n_samples, seed
        )
    out["columns"] = cols.detach().float().cpu()
    if "variables" not in out:
        out["variables"] = space.to_variables(out["columns"])
        out["blocks"] = space.to_blocks(out["variables"])
    return out


def _attribute(
    model, space, method, x, users, movies, ref, background, out, n_steps, n_samples, seed
) -> Tensor:
    """The per-column attributions of one method (fills ``out`` with what else it gives)."""
    from captum.attr import (
        DeepLift,
        FeatureAblation,
        GradientShap,
        IntegratedGradients,
        Saliency,
    )

    n, args = x.size(0), (users, movies)
    if method == "IntegratedGradients":
        cols, delta = IntegratedGradients(model).attribute(
            x,
            baselines=ref,
            additional_forward_args=args,
            n_steps=n_steps,
            return_convergence_delta=True,
        )
        out["delta"] = delta.detach().float().cpu()
    elif method == "DeepLift":
        cols, delta = DeepLift(model).attribute(
            x, baselines=ref, additional_forward_args=args, return_convergence_delta=True
        )
        out["delta"] = delta.detach().float().cpu()
    elif method == "GradientShap":
        with _seeded(seed):
            cols = GradientShap(model).attribute(
                x,
                baselines=background.to(x),
                n_samples=n_samples,
                stdevs=0.0,
                additional_forward_args=args,
            )
        with torch.no_grad():  # E[f(background)] for these ids
            k = background.size(0)
            bg = background.to(x).repeat(n, 1)
            fb = model(bg, users.repeat_interleave(k), movies.repeat_interleave(k))
            out["reference"] = fb.view(n, k).mean(1).cpu()
    elif method == "FeatureAblation":
        ablation = FeatureAblation(model)
        f = x.size(1)
        kw = dict(baselines=ref, additional_forward_args=args)
        cols = ablation.attribute(x, perturbations_per_eval=f, **kw)
        var = ablation.attribute(
            x, feature_mask=space.variable_mask(), perturbations_per_eval=len(space), **kw
        )
        blk = ablation.attribute(
            x, feature_mask=space.block_mask(), perturbations_per_eval=len(space.blocks), **kw
        )
        first_col = torch.tensor([v.columns[0] for v in space.variables])
        out["variables"] = var.detach().cpu()[:, first_col]
        block_col = [
            next(v.columns[0] for v in space.variables if v.block == b) for b in space.blocks
        ]
        out["blocks"] = blk.detach().cpu()[:, block_col]
    else:  # Saliency
        cols = Saliency(model).attribute(x, additional_forward_args=args, abs=True)
        out["reference"] = torch.full((n,), float("nan"))
    return cols


def id_attributions(
    model, x: Tensor, users: Tensor, movies: Tensor, *, n_steps: int = 50
) -> dict[str, Tensor]:
    """LayerIntegratedGradients on the id embedding layers of a model with ``use_ids``.

    Returns ``user_id`` [N], ``movie_id`` [N] (attributions summed over embedding
    dimensions), ``reference`` [N] (the prediction with both ids replaced by the zero
    embedding, features unchanged) and ``delta`` [N] (completeness error).
    """
    from captum.attr import LayerIntegratedGradients

    if not getattr(model, "use_ids", False):
        raise ValueError("this model has no id embeddings (use_ids=False): nothing to attribute")
    model.eval()
    x = x.detach().float()
    none_u, none_m = torch.full_like(users, -1), torch.full_like(movies, -1)
    with _quiet():
        lig = LayerIntegratedGradients(model, [model.user_embedding, model.movie_embedding])
        (au, am), delta = lig.attribute(
            (x, users, movies),
            baselines=(x, none_u, none_m),
            n_steps=n_steps,
            return_convergence_delta=True,
        )
    with torch.no_grad():
        ref = model(x, none_u, none_m).detach().cpu()
    return {  # float32 throughout (captum 0.7 returns float64 layer attributions)
        "user_id": au.detach().sum(-1).float().cpu(),
        "movie_id": am.detach().sum(-1).float().cpu(),
        "reference": ref,
        "delta": delta.detach().float().cpu(),
    }


def _with_embeddings(model):
    """``g(x, user_vectors, movie_vectors, users, movies)``: the model's forward with the
    outputs of its two id embedding layers replaced by the given vectors [B, d] (forward
    hooks, removed after each call), so the embeddings become inputs Captum can integrate."""

    def g(x: Tensor, eu: Tensor, em: Tensor, users: Tensor, movies: Tensor) -> Tensor:
        hooks = [
            model.user_embedding.register_forward_hook(lambda mod, inp, out: eu),
            model.movie_embedding.register_forward_hook(lambda mod, inp, out: em),
        ]
        try:
            return model(x, users, movies)
        finally:
            for h in hooks:
                h.remove()

    return g


def prediction_decomposition(
    model,
    space: FeatureSpace,
    x: Tensor,
    users: Tensor,
    movies: Tensor,
    reference: Tensor,
    reference_embeddings: tuple[Tensor, Tensor] | None = None,
    *,
    n_steps: int = 50,
) -> dict[str, Tensor]:
    """IntegratedGradients over the features and the id embeddings together.

    The path runs from the baseline ``(reference [F], reference user vector, reference
    movie vector)`` to the pair's ``(x, user embedding, movie embedding)``, so the
    attributions of the feature columns and of the two embeddings (summed over their
    dimensions) share one baseline and add up to ``f(x) - f(baseline)`` (completeness).
    For a model without id embeddings it is IntegratedGradients on the features.

    Args:
        x: [N, F] feature rows of the pairs ``users``/``movies`` [N].
        reference: [F] the baseline feature row (the mean training row).
        reference_embeddings: the baseline user and movie vectors ([d] each; default zeros,
            the "no id" embedding). :class:`~graphrec.explain.Explainer` passes the mean
            embeddings of the training edges.

    Returns:
        ``columns`` [N, F], ``variables`` [N, V], ``blocks`` [N, B], ``baseline`` [N]
        (``f(baseline)`` with the pair's ids for a model without embeddings), ``delta`` [N]
        (completeness error) and, for a model with id embeddings, ``user_id`` and
        ``movie_id`` [N].
    """
    from captum.attr import IntegratedGradients

    model.eval()
    n = x.size(0)
    x = x.detach().float()
    ref = reference.view(1, -1).to(x).expand(n, -1).contiguous()
    args = (users, movies)
    out: dict[str, Tensor] = {}
    with _quiet():
        if getattr(model, "use_ids", False):
            with torch.no_grad():
                eu, em = model.user_embedding(users), model.movie_embedding(movies)
            if reference_embeddings is None:
                ru, rm = torch.zeros_like(eu[0]), torch.zeros_like(em[0])
            else:
                ru, rm = (r.to(eu) for r in reference_embeddings)
            ru = ru.view(1, -1).expand_as(eu).contiguous()
            rm = rm.view(1, -1).expand_as(em).contiguous()
            g = _with_embeddings(model)
            (cols, au, am), delta = IntegratedGradients(g).attribute(
                (x, eu, em),
                baselines=(ref, ru, rm),
                additional_forward_args=args,
                n_steps=n_steps,
                return_convergence_delta=True,
            )
            with torch.no_grad():
                base = g(ref, ru, rm, users, movies)
            out["user_id"] = au.detach().sum(-1).float().cpu()
            out["movie_id"] = am.detach().sum(-1).float().cpu()
        else:
            cols, delta = IntegratedGradients(model).attribute(
                x,
                baselines=ref,
                additional_forward_args=args,
                n_steps=n_steps,
                return_convergence_delta=True,
            )
            with torch.no_grad():
                base = model(ref, users, movies)
    out["columns"] = cols.detach().float().cpu()
    out["variables"] = space.to_variables(out["columns"])
    out["blocks"] = space.to_blocks(out["variables"])
    out["baseline"] = base.detach().float().cpu()
    out["delta"] = delta.detach().float().cpu()
    return out
