"""Readable reasons: one prediction as signed contributions in the model's output units.

A prediction of the feature MLP is split into terms that add up to it (see
:attr:`graphrec.explain.Attributions.decomposition`, computed by
``Explainer.decompose`` or ``Explainer.attribute(..., decompose=True)``)::

    predicted rating = baseline (the average training pair)
                     + user id embedding + movie id embedding + one term per feature

:func:`contributions` reads one row of that split as a :class:`Contributions`: the
largest terms first (``movie id embedding +0.41, genre=Sci-Fi +0.21, age -0.05``), the
sum of the ones left out, the baseline and what it is, and :meth:`Contributions.reading`
gives the one-line takeaway the figures and the printed summary share. Feature names are
those of :meth:`graphrec.explain.FeatureSpace.display_names`: a one-hot variable by its
value (``occupation=writer``), a genre the movie does not have as ``genre=Drama absent``.

An :class:`~graphrec.explain.Attributions` without a decomposition falls back to the
first available method of :data:`ADDITIVE_METHODS` on the features only (ids held fixed,
so ``includes_ids`` is False and the id embeddings are not among the terms).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from graphrec.explain.explainer import DECOMPOSITION, Attributions

__all__ = [
    "ADDITIVE_METHODS",
    "ID_LABELS",
    "Contributions",
    "contributions",
    "units",
    "baseline_description",
    "mean_abs_contributions",
]

#: methods whose attributions are in the model's output units and add up to the
#: prediction minus their baseline (IntegratedGradients, SHAP, DeepLift exactly;
#: GradientShap in expectation; FeatureAblation only for an additive model), in order of
#: preference when there is no decomposition. LIME is not among them: its contributions
#: are relative to the mean of its own samples, not to a baseline prediction.
ADDITIVE_METHODS = ("IntegratedGradients", "SHAP", "DeepLift", "GradientShap", "FeatureAblation")
#: display names of the id embedding terms
ID_LABELS = {"user_id": "user id embedding", "movie_id": "movie id embedding"}


def units(objective: str = "rating") -> str:
    """The unit of the model's output: ``rating points`` or ``logit`` (ranking)."""
    return "rating points" if objective == "rating" else "logit"


def baseline_description(decomposed: bool, has_ids: bool) -> str:
    """What a baseline is, in words: of the decomposition (``decomposed``) or of a
    features-only method, for a model with or without id embeddings."""
    if decomposed and has_ids:
        return "the average training pair (mean feature row and mean id embeddings)"
    if has_ids:
        return "the mean training feature row, with this pair's ids"
    return "the mean training feature row"


@dataclass(frozen=True)
class Contributions:
    """One prediction as ``baseline + sum(terms) + rest``.

    Attributes:
        prediction: the model's output for the pair.
        baseline: the output the terms are relative to.
        terms: ``(name, value)`` of the largest terms, largest ``|value|`` first; the id
            embeddings are named by :data:`ID_LABELS`.
        rest: the sum of the terms left out; ``rest_count`` of them.
        method: how the terms were computed.
        baseline_description: what the baseline is, in words.
        units: ``rating points`` or ``logit``.
        completeness_error: ``sum(all terms) - (prediction - baseline)`` where the method
            reports it, else None.
        includes_ids: whether the id embeddings are terms (False: features only, ids held
            fixed).
    """

    prediction: float
    baseline: float
    terms: tuple[tuple[str, float], ...]
    rest: float
    rest_count: int
    method: str
    baseline_description: str
    units: str
    completeness_error: float | None
    includes_ids: bool

    @property
    def total(self) -> float:
        """The sum of every term (shown and left out): ``prediction - baseline`` up to
        the completeness error."""
        return sum(v for _, v in self.terms) + self.rest

    def text(self, digits: int = 2, rest: bool = False) -> str:
        """``movie id embedding +0.41, genre=Sci-Fi +0.21, age -0.05`` (``rest``: with
        ``, 19 other features +0.02`` at the end)."""
        parts = [f"{n} {v:+.{digits}f}" for n, v in self.terms]
        if rest and self.rest_count:
            parts.append(
                f"{self.rest_count} other {_terms(self.rest_count)} {self.rest:+.{digits}f}"
            )
        return ", ".join(parts)

    def reading(self) -> str:
        """The one-line takeaway: ``the movie id embedding raises the prediction most
        (+0.41); of the features, occupation=writer (-0.10)``."""
        if not self.terms:
            return "no term moves the prediction"
        name, value = self.terms[0]
        ids = set(ID_LABELS.values())
        the = "the " if name in ids else ""
        line = f"{the}{name} {_verb(value)} the prediction most ({value:+.2f})"
        if not self.includes_ids:
            return line
        if name in ids:
            feature = next(((n, v) for n, v in self.terms if n not in ids), None)
            if feature is not None:
                line += f"; of the features, {feature[0]} ({feature[1]:+.2f})"
        else:
            together = sum(v for n, v in self.terms if n in ids)
            line += f"; the id embeddings {together:+.2f} together" if together else ""
        return line

    def as_dict(self) -> dict:
        """JSON-ready: ``{"prediction", "baseline", "baseline_is", "units", "method",
        "terms": {name: value}, "rest": {"count", "sum"}, "includes_ids",
        "completeness_error"}``."""
        return {
            "prediction": self.prediction,
            "baseline": self.baseline,
            "baseline_is": self.baseline_description,
            "units": self.units,
            "method": self.method,
            "terms": dict(self.terms),
            "rest": {"count": self.rest_count, "sum": self.rest},
            "includes_ids": self.includes_ids,
            "completeness_error": self.completeness_error,
        }


def _terms(n: int) -> str:
    return "term" if n == 1 else "terms"


def _verb(value: float) -> str:
    return "raises" if value > 0 else "lowers" if value < 0 else "moves"


def _finite(v: float) -> float | None:
    return None if math.isnan(v) else v


def _source(att: Attributions, row: int) -> tuple[list[tuple[str, float]], str, float, float]:
    """Every ``(name, value)`` term of one row (the id embeddings first, then the features
    in the feature space's order), the method, the baseline and the completeness error
    (NaN where the method has none)."""
    names = att.space.display_names(att.x[row])
    dec = att.decomposition
    if dec:
        terms = [(ID_LABELS[k], float(dec[k][row])) for k in ID_LABELS if k in dec]
        terms += [(n, float(v)) for n, v in zip(names, dec["variables"][row], strict=True)]
        method = DECOMPOSITION if "user_id" in dec else "IntegratedGradients over the features"
        return terms, method, float(dec["baseline"][row]), float(dec["delta"][row])
    lead = next((m for m in ADDITIVE_METHODS if m in att.variables), None)
    if lead is None:
        raise ValueError(
            "no decomposition and no additive method in these attributions: use "
            "Explainer.decompose, or attribute with one of " + ", ".join(ADDITIVE_METHODS)
        )
    terms = [(n, float(v)) for n, v in zip(names, att.variables[lead][row], strict=True)]
    err = float(att.deltas[lead][row]) if lead in att.deltas else math.nan
    method = f"{lead} (features only, ids held fixed)"
    return terms, method, float(att.references[lead][row]), err


def contributions(
    att: Attributions, row: int = 0, top: int = 3, objective: str = "rating"
) -> Contributions:
    """The ``top`` largest signed contributions of the prediction of row ``row``.

    Terms are in the model's output units (``objective``: ``rating`` for rating points,
    ``ranking`` for logits) and come from ``att.decomposition`` (the id embeddings
    included); without one, from the first method of :data:`ADDITIVE_METHODS` in ``att``
    (features only). Ties keep the feature space's order. Raises ``ValueError`` when
    ``att`` has neither.

    Example: ``contributions(explainer.decompose([u], [m])).text()`` ->
    ``"movie id embedding +0.41, genre=Sci-Fi +0.21, age -0.05"``.
    """
    terms, method, baseline, err = _source(att, row)
    order = sorted(range(len(terms)), key=lambda i: -abs(terms[i][1]))
    shown = [terms[i] for i in order[: max(top, 0)]]
    rest = [terms[i][1] for i in order[max(top, 0) :]]
    includes_ids = "user_id" in att.decomposition
    has_ids = includes_ids or bool(att.ids)
    return Contributions(
        prediction=float(att.prediction[row]),
        baseline=baseline,
        terms=tuple(shown),
        rest=float(sum(rest)),
        rest_count=len(rest),
        method=method,
        baseline_description=baseline_description(bool(att.decomposition), has_ids),
        units=units(objective),
        completeness_error=_finite(err),
        includes_ids=includes_ids,
    )


def mean_abs_contributions(att: Attributions) -> dict[str, float]:
    """The global view of the decomposition: ``{name: mean |contribution| over the rows}``,
    the id embeddings first, features by their global names (``occupation``,
    ``genre=Drama``); empty without a decomposition."""
    dec = att.decomposition
    if not dec:
        return {}
    out = {ID_LABELS[k]: float(dec[k].abs().mean()) for k in ID_LABELS if k in dec}
    vals = dec["variables"].abs().mean(0)
    out.update({n: float(v) for n, v in zip(att.space.names, vals, strict=True)})
    return out
