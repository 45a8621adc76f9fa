"""Explanations of the feature MLP: Captum, SHAP and LIME, and their comparison.

- :mod:`graphrec.explain.space`: columns -> variables (one-hot blocks as one variable) -> blocks,
  and the compact encoding SHAP and LIME perturb;
- :mod:`graphrec.explain.captum_methods`: IntegratedGradients, DeepLift, GradientShap,
  FeatureAblation (with ``feature_mask`` groups), Saliency, and LayerIntegratedGradients on the
  id embeddings;
- :mod:`graphrec.explain.shap_lime`: Kernel SHAP and LIME tabular on the same model and inputs;
- :mod:`graphrec.explain.explainer`: :class:`Explainer`, one entry point for all methods;
- :mod:`graphrec.explain.compare`: agreement (Spearman), deletion curves, figures, summaries.

captum, shap, lime and matplotlib are imported only inside the functions that use them
(``pip install graphrec[explain]``), so importing this package is cheap.
"""

from graphrec.explain.compare import (
    agreement,
    deletion_curves,
    explanation_record,
    faithfulness_summary,
    plot_agreement,
    plot_attributions,
    plot_faithfulness,
    spearman,
    summary_text,
)
from graphrec.explain.explainer import (
    ID_METHOD,
    METHODS,
    Attributions,
    Explainer,
    UnknownMethodError,
    resolve_methods,
)
from graphrec.explain.space import FeatureSpace, Variable

__all__ = [
    "ID_METHOD",
    "METHODS",
    "Attributions",
    "Explainer",
    "FeatureSpace",
    "UnknownMethodError",
    "Variable",
    "agreement",
    "deletion_curves",
    "explanation_record",
    "faithfulness_summary",
    "plot_agreement",
    "plot_attributions",
    "plot_faithfulness",
    "resolve_methods",
    "spearman",
    "summary_text",
]
