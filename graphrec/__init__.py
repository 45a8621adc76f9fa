"""graphrec: graph-centric movie recommendation on one heterogeneous PyG graph.

Subpackages are imported on use so that ``import graphrec`` stays fast:
:mod:`graphrec.data` (MovieLens -> HeteroData, split, samplers), :mod:`graphrec.models`
(the contract and every model), :mod:`graphrec.evaluate`, :mod:`graphrec.train`,
:mod:`graphrec.explain`, :mod:`graphrec.walks`, :mod:`graphrec.viz`.
"""

__version__ = "0.1.0"
