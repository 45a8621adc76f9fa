"""Data: MovieLens sources, the heterogeneous graph, the split, samplers, synthetic graphs."""

from graphrec.data.graph import (
    RATED_BY,
    RATES,
    UnknownMovieError,
    UnknownUserError,
    build_graph,
    graph_summary,
    load_movielens,
    movie_index,
    user_index,
)
from graphrec.data.ids import IdMaps
from graphrec.data.interactions import load_interactions
from graphrec.data.movielens import DATASETS, ChecksumError, DatasetError, read_tables
from graphrec.data.sampling import (
    PairwiseSampler,
    PointwiseSampler,
    RatingSampler,
    sample_negatives,
    sampled_candidates,
)
from graphrec.data.split import InteractionSplit, temporal_split

__all__ = [
    "DATASETS",
    "RATES",
    "RATED_BY",
    "ChecksumError",
    "DatasetError",
    "IdMaps",
    "InteractionSplit",
    "PairwiseSampler",
    "PointwiseSampler",
    "RatingSampler",
    "UnknownMovieError",
    "UnknownUserError",
    "build_graph",
    "graph_summary",
    "load_interactions",
    "load_movielens",
    "movie_index",
    "read_tables",
    "sample_negatives",
    "sampled_candidates",
    "temporal_split",
    "user_index",
]
