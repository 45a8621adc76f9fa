"""SHAP and LIME on the same model and inputs as the Captum methods.

Both perturb the **compact** encoding of :class:`graphrec.explain.space.FeatureSpace` (one
number per variable), which is decoded back to the model's columns before each forward, so
a one-hot variable (``occupation``) is always switched as a whole, to another valid value.
The ids of the explained (user, movie) pair stay fixed: the explanation is of the pair's
attributes, as with Captum's ``additional_forward_args``.

- ``SHAP``: ``shap.KernelExplainer`` against a background of ``K`` training edges (a
  random sample: ``shap.kmeans`` centroids would be fractional categories), with
  ``l1_reg=False`` so every variable gets a value. Chosen over GradientExplainer and
  DeepExplainer because (1) it works on the categorical variables, where the gradient
  explainers would integrate through impossible rows such as half a doctor and half a
  writer (Captum's GradientShap and DeepLift already cover that view), and (2) its
  efficiency constraint makes attributions add up exactly to ``f(x) - E[f(background)]``.
  With ~24 variables, 64 background rows and ``nsamples=1024`` coalitions one prediction
  costs ~65k forward rows in a single batch: well under a second on 2 cores (see
  ``experiments/benchmarks/bench_explain.py``).
- ``LIME``: ``lime.lime_tabular.LimeTabularExplainer`` in regression mode on a sample of
  training edges, categorical variables declared as categories (with their value names),
  continuous ones (``age``, ``year``) discretised into quartiles. LIME's local linear model
  has a weight :math:`w_j` on "variable j has the explained row's value (or bin)", an
  indicator that is 1 at the row and 1 with probability :math:`p_j` (the training frequency
  of that value) in LIME's samples. A raw weight answers "what if this value were
  different", so a rare genre the movie does *not* have can get a large weight. The
  attribution reported is the weight's **contribution** :math:`w_j (1 - p_j)`, the share of
  ``g(row) - E[g(samples)]`` the local model gives variable j (what SHAP's value of a
  linear model is), which puts LIME on the scale of the other methods; raw weights, the
  intercept and the local fit's R^2 are returned beside it.

shap and lime are imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from graphrec.explain.space import FeatureSpace

__all__ = ["shap_attributions", "lime_attributions"]


def _predictor(model, space: FeatureSpace, user: Tensor, movie: Tensor) -> Callable:
    """A numpy function ``f(z [n, V]) -> [n]`` of one pair's compact features."""
    user, movie = user.view(1), movie.view(1)

    def f(z: np.ndarray) -> np.ndarray:
        x = space.decode(z).to(next(iter(model.buffers())).device)
        n = x.size(0)
        with torch.no_grad():
            return model(x, user.expand(n), movie.expand(n)).cpu().double().numpy()

    return f


def _rows(n: int, progress: bool, desc: str):
    from tqdm.auto import tqdm

    return tqdm(range(n), desc=desc, unit="edge", disable=not progress or n < 2, leave=False)


def shap_attributions(
    model,
    space: FeatureSpace,
    x: Tensor,
    users: Tensor,
    movies: Tensor,
    background: Tensor,
    *,
    nsamples: int = 1024,
    seed: int = 0,
    progress: bool = False,
) -> dict[str, Tensor]:
    """Kernel SHAP values of every variable for the rows ``x`` [N, F].

    Args:
        background: [K, F] training rows (the background distribution; K <= 100).
        nsamples: coalitions evaluated per row.
        seed: seeds the coalition sampling.

    Returns:
        ``variables`` [N, V], ``reference`` [N] (``E[f(background)]`` with each row's ids)
        and ``delta`` [N] (additivity error ``sum(phi) - (f(x) - reference)``).
    """
    import shap

    model.eval()
    z = space.encode(x)
    bg = space.encode(background)
    phis, refs, deltas = [], [], []
    for i in _rows(x.size(0), progress, "SHAP"):
        f = _predictor(model, space, users[i], movies[i])
        explainer = shap.KernelExplainer(f, bg, link="identity")
        state = np.random.get_state()  # KernelExplainer samples with NumPy's global RNG
        np.random.seed(seed % 2**32)
        try:
            phi = explainer.shap_values(z[i : i + 1], nsamples=nsamples, l1_reg=False, silent=True)
        finally:
            np.random.set_state(state)
        phi = np.asarray(phi).reshape(-1)
        ref = float(np.asarray(explainer.expected_value).reshape(-1)[0])
        fx = float(f(z[i : i + 1])[0])
        phis.append(phi)
        refs.append(ref)
        deltas.append(phi.sum() - (fx - ref))
    return {
        "variables": torch.tensor(np.stack(phis), dtype=torch.float32),
        "reference": torch.tensor(refs, dtype=torch.float32),
        "delta": torch.tensor(deltas, dtype=torch.float32),
    }


def lime_attributions(
    model,
    space: FeatureSpace,
    x: Tensor,
    users: Tensor,
    movies: Tensor,
    training: Tensor,
    *,
    num_samples: int = 2000,
    seed: int = 0,
    progress: bool = False,
) -> dict[str, Tensor]:
    """LIME weights of every variable for the rows ``x`` [N, F].

    Args:
        training: [K, F] training rows (category frequencies, quartiles, scales).
        num_samples: perturbed samples per row.
        seed: seeds LIME's sampling.

    Returns:
        ``variables`` [N, V] (contributions ``w_j (1 - p_j)``), ``weights`` [N, V] (LIME's
        raw weights), ``reference`` [N] (the local model's intercept), ``score`` [N] (its
        weighted R^2) and ``local_prediction`` [N].
    """
    from lime.lime_tabular import LimeTabularExplainer

    model.eval()
    z = space.encode(x)
    explainer = LimeTabularExplainer(
        space.encode(training),
        mode="regression",
        feature_names=space.names,
        categorical_features=space.categorical(),
        categorical_names=space.categorical_names(),
        discretize_continuous=True,
        random_state=seed,
    )
    v = len(space)
    weights, match, intercepts, scores, local = [], [], [], [], []
    for i in _rows(x.size(0), progress, "LIME"):
        f = _predictor(model, space, users[i], movies[i])
        exp = explainer.explain_instance(z[i], f, num_features=v, num_samples=num_samples)
        w = np.zeros(v)
        # regression mode: local_exp[1] holds the weights, local_exp[0] their negatives
        for j, weight in exp.local_exp[1]:
            w[j] = weight
        weights.append(w)
        match.append(_match_probability(explainer, z[i]))
        intercepts.append(float(exp.intercept[1]))
        scores.append(float(exp.score))
        local.append(float(np.asarray(exp.local_pred).reshape(-1)[0]))
    w, p = np.stack(weights), np.stack(match)
    return {
        "variables": torch.tensor(w * (1.0 - p), dtype=torch.float32),
        "weights": torch.tensor(w, dtype=torch.float32),
        "reference": torch.tensor(intercepts, dtype=torch.float32),
        "score": torch.tensor(scores, dtype=torch.float32),
        "local_prediction": torch.tensor(local, dtype=torch.float32),
    }


def _match_probability(explainer, row: np.ndarray) -> np.ndarray:
    """[V] probability that LIME's sample of each variable equals ``row``'s value (bin)."""
    d = explainer.discretizer.discretize(row) if explainer.discretizer is not None else row
    p = np.zeros(row.shape[0])
    for j in range(row.shape[0]):
        values = explainer.feature_values.get(j)
        if values is None:  # a continuous variable LIME did not discretise
            continue
        freqs = explainer.feature_frequencies[j]
        p[j] = sum(float(f) for v, f in zip(values, freqs, strict=True) if v == d[j])
    return p
