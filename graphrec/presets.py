"""The one home of a setting besides the models' own constructors: per (model, data set)
overrides, read by the library, the command line and the benchmark alike.

A model's constructor defaults and its ``train_defaults`` are its best settings on ML-100K's
valid stage. Where the best setting depends on the data set, :data:`PRESETS` says so, keyed by
``(model class name, data set name)``; ``model`` entries are constructor arguments, ``train``
entries fields of :class:`graphrec.train.TrainConfig`. How each default was chosen, with its
numbers: docs/results.md ("How each default was chosen").

:func:`build_model` is how code that names a model by string builds it (the CLI, the benchmark,
studies): class defaults, then the presets of its data set, then the caller's arguments.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "PRESETS",
    "MODELS",
    "model_preset",
    "train_preset",
    "build_model",
    "model_class",
    "resolve_name",
]

#: (model class, data set) -> {"model": constructor overrides, "train": TrainConfig overrides}
PRESETS: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    # ML-100K's movie graph: each movie's top 6 with mutual edges x4 finds more franchise
    # siblings than the top 10 x10 used elsewhere (chosen for similar-movie lists, at a lower
    # valid NDCG@10 as a recommender; docs/results.md)
    ("Item2Vec", "ml-100k"): {"model": {"knn": 6, "mutual_weight": 4.0}},
}

#: the recommenders of the benchmark, in its order: name -> (model class, constructor
#: arguments that make it that recommender). FeatureMLP ranks with its ``ranking`` objective
#: (implicit feedback, as every other row); its default objective predicts ratings.
MODELS: dict[str, tuple[str, dict[str, Any]]] = {
    "ItemPop": ("ItemPop", {}),
    "BPR-MF": ("BPRMF", {}),
    "GMF": ("GMF", {}),
    "MLP": ("MLP", {}),
    "NeuMF": ("NeuMF", {}),
    "AttentionNCF": ("AttentionNCF", {}),
    "LightGCN": ("LightGCN", {}),
    "HeteroGNN": ("HeteroGNN", {}),
    "FeatureMLP": ("FeatureMLP", {"objective": "ranking"}),
    "item2vec": ("Item2Vec", {}),
    "EASE": ("EASE", {}),
    "ItemKNN": ("ItemKNN", {}),
    "implicit-ALS": ("ImplicitALS", {}),
    "implicit-BPR": ("ImplicitBPR", {}),
}


def _entry(name: str, dataset: str | None, part: str) -> dict[str, Any]:
    if dataset is None:
        return {}
    return dict(PRESETS.get((name, dataset), {}).get(part, {}))


def model_preset(name: str, dataset: str | None) -> dict[str, Any]:
    """Constructor overrides of model class ``name`` on ``dataset`` (``{}`` where none)."""
    return _entry(name, dataset, "model")


def train_preset(name: str, dataset: str | None) -> dict[str, Any]:
    """TrainConfig overrides of model class ``name`` on ``dataset`` (``{}`` where none)."""
    return _entry(name, dataset, "train")


def resolve_name(name: str) -> tuple[type, dict[str, Any]]:
    """``(model class, constructor arguments)`` of ``name``: a class name (``BPRMF``) or a
    benchmark name (``BPR-MF``, ``item2vec``), case-insensitive. A class name spelt exactly
    gives the class with its own defaults, even where a benchmark name is the same
    (``FeatureMLP`` is the rating model; the benchmark's row of that name ranks)."""
    import graphrec.models  # noqa: F401  (registers every model class)
    from graphrec.models.base import MODEL_REGISTRY

    if name in MODEL_REGISTRY:
        return MODEL_REGISTRY[name], {}
    for key, (cls_name, kwargs) in MODELS.items():
        if key.lower() == name.lower():
            return MODEL_REGISTRY[cls_name], dict(kwargs)
    for key, klass in MODEL_REGISTRY.items():
        if key.lower() == name.lower():
            return klass, {}
    known = ", ".join(sorted(set(MODELS) | set(MODEL_REGISTRY)))
    raise ValueError(f"unknown model {name!r}; known: {known}")


def model_class(name: str) -> type:
    """The model class called ``name`` (see :func:`resolve_name`)."""
    return resolve_name(name)[0]


def build_model(name: str, split, data=None, *, seed: int = 0, **overrides: Any):
    """A fresh model ``name`` for ``split`` with its defaults, the presets of the split's data
    set and ``overrides`` (constructor arguments), its initial weights drawn from ``seed``.

    Args:
        name: a model class name or benchmark name (see :func:`model_class`).
        split: the interaction split it will be fitted on.
        data: the graph (needed by models that read node attributes, e.g. FeatureMLP).
        seed: seeds the initial weights.
        overrides: constructor arguments that replace the defaults and presets.
    """
    klass, variant = resolve_name(name)
    ids = getattr(split, "ids", None)
    preset = model_preset(klass.__name__, ids.dataset if ids else None)
    kwargs = {**variant, **preset, **overrides}
    return klass.from_split(split, data, seed=seed, **kwargs)
