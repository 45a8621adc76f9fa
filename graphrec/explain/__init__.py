"""Explanations of the feature MLP: Captum, SHAP and LIME, and their comparison.

- :mod:`graphrec.explain.space`: columns -> variables (one-hot blocks as one variable) -> blocks,
  and the compact encoding SHAP and LIME perturb;
- :mod:`graphrec.explain.captum_methods`: IntegratedGradients, DeepLift, GradientShap,
  FeatureAblation (with ``feature_mask`` groups), Saliency, and LayerIntegratedGradients on the
  id embeddings;
- :mod:`graphrec.explain.shap_lime`: Kernel SHAP and LIME tabular on the same model and inputs;
- :mod:`graphrec.explain.explainer`: :class:`Explainer`, one entry point for all methods,
  and the decomposition of a prediction into features and id embeddings on one baseline;
- :mod:`graphrec.explain.reasons`: :func:`contributions`, one prediction as a short list of
  signed contributions in rating points (``movie id embedding +0.41, genre=Sci-Fi +0.21``),
  the recommendation reasons of the feature MLP;
- :mod:`graphrec.explain.compare`: agreement (Spearman), deletion curves, their one-line
  readings, summaries;
- :mod:`graphrec.explain.figures`: attributions.png, agreement.png, faithfulness.png.

captum, shap, lime and matplotlib are imported only inside the functions that use them
(``pip install graphrec[explain]``), so importing this package is cheap.
"""

from graphrec.explain.compare import (
    agreement,
    agreement_reading,
    deletion_curves,
    explanation_record,
    faithfulness_reading,
    faithfulness_summary,
    spearman,
    summary_text,
)
from graphrec.explain.explainer import (
    DECOMPOSITION,
    ID_METHOD,
    METHODS,
    Attributions,
    Explainer,
    UnknownMethodError,
    resolve_methods,
)
from graphrec.explain.figures import plot_agreement, plot_attributions, plot_faithfulness
from graphrec.explain.reasons import Contributions, contributions
from graphrec.explain.space import FeatureSpace, Variable

__all__ = [
    "DECOMPOSITION",
    "ID_METHOD",
    "METHODS",
    "Attributions",
    "Contributions",
    "Explainer",
    "FeatureSpace",
    "UnknownMethodError",
    "Variable",
    "agreement",
    "agreement_reading",
    "contributions",
    "deletion_curves",
    "explanation_record",
    "faithfulness_reading",
    "faithfulness_summary",
    "plot_agreement",
    "plot_attributions",
    "plot_faithfulness",
    "resolve_methods",
    "spearman",
    "summary_text",
]
