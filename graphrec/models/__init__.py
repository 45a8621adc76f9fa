"""Recommenders obeying the contract in :mod:`graphrec.models.base`.

Importing this package registers every model class, so ``Recommender.load(path)`` can rebuild
any saved model.
"""

from graphrec.models.attention_ncf import AttentionNCF
from graphrec.models.base import MODEL_REGISTRY, Recommender
from graphrec.models.bpr import BPRMF
from graphrec.models.feature_mlp import FeatureMLP
from graphrec.models.hetero_gnn import HeteroGNN
from graphrec.models.item2vec import Item2Vec, SkipGram
from graphrec.models.lightgcn import LightGCN
from graphrec.models.ncf import GMF, MLP, NeuMF
from graphrec.models.neighbourhood import EASE, ItemKNN
from graphrec.models.peers import ImplicitALS, ImplicitBPR
from graphrec.models.pop import ItemPop

__all__ = [
    "MODEL_REGISTRY",
    "Recommender",
    "ItemPop",
    "GMF",
    "MLP",
    "NeuMF",
    "BPRMF",
    "LightGCN",
    "HeteroGNN",
    "AttentionNCF",
    "FeatureMLP",
    "Item2Vec",
    "SkipGram",
    "EASE",
    "ItemKNN",
    "ImplicitALS",
    "ImplicitBPR",
]
