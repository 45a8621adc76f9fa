"""Recommenders obeying the contract in :mod:`graphrec.models.base`."""

from graphrec.models.base import MODEL_REGISTRY, Recommender
from graphrec.models.pop import ItemPop

__all__ = ["MODEL_REGISTRY", "Recommender", "ItemPop"]
