"""``--task map --run DIR``: the interactive embedding map (``map.html``) of a finished run.

Any run whose model has movie vectors (item2vec, BPR-MF, GMF, LightGCN, NeuMF, ...) gets a
self-contained page (:mod:`graphrec.viz.interactive`): a 2-D UMAP of the movie vectors,
seeded and cached in the run folder (``umap.npy`` + ``umap.json``, shared with ``umap.png``),
coloured by primary genre, sized by train ratings; hovering shows the five nearest movies by
the run's own similarity. ``--user RAW_ID`` rings that user's train movies and top-10
recommendations (written to ``map-user-<id>.html``); ``--liked TITLE ...`` a new user's liked
movies and the top 10 the model folds in for them (``map-liked.html``). Nothing is
retrained; the data set is not read again (titles and genres travel in the checkpoint's id
maps).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from graphrec.cli.common import log

DEFAULT_DATASET = "ml-100k"
RUN_FOLDER = False  # writes into the finished run's folder, not a new one of its own

__all__ = ["add_arguments", "run", "movie_vectors", "write_maps"]


def add_arguments(parser) -> None:
    parser.add_argument("--run", required=True, metavar="DIR", help="a finished run's folder")
    parser.add_argument(
        "--user",
        default=None,
        metavar="RAW_ID",
        help="ring this user's train movies and top-10 recommendations",
    )
    parser.add_argument(
        "--liked",
        nargs="+",
        default=None,
        metavar="TITLE_OR_ID",
        help="a new user's liked movies (titles as you type them): ring them and the top 10 "
        "the model folds in for them, without retraining (map-liked.html)",
    )
    parser.add_argument(
        "--html",
        default=None,
        metavar="FILE",
        help="where to write the page (default: DIR/map.html, DIR/map-user-<id>.html)",
    )


def movie_vectors(model) -> torch.Tensor:
    """``[num_movies, d]`` movie vectors of a model, by its own contract method
    (``item_vectors()``, or item2vec's ``embeddings()``); a ``ValueError`` naming the models
    that have them when this one has none."""
    for name in ("item_vectors", "embeddings"):
        fn = getattr(model, name, None)
        if callable(fn):
            try:
                vec = fn()
            except NotImplementedError:
                continue
            if vec is not None:
                return torch.as_tensor(vec).detach().float().cpu()
    from graphrec.models.base import MODEL_REGISTRY, Recommender

    have = sorted(
        name
        for name, klass in MODEL_REGISTRY.items()
        if getattr(klass, "item_vectors", None) is not Recommender.item_vectors
    )
    raise ValueError(
        f"{type(model).__name__} has no movie vectors to map; map a run of one of "
        f"{', '.join(have)} instead"
    )


def _neighbours(model, vectors: torch.Tensor, rows: torch.Tensor, k: int = 5) -> list[list[int]]:
    """The ``k`` nearest movies (node indices, among ``rows``) of each movie of ``rows``, by
    the model's own similarity where it has one (item2vec: CSLS or cosine), else cosine."""
    if hasattr(model, "similar_indices"):
        nb, _ = model.similar_indices(rows, k)
        return nb.tolist()
    from graphrec.similarity import top_similar

    allowed = torch.zeros(vectors.size(0), dtype=torch.bool)
    allowed[rows] = True
    nb, _ = top_similar(vectors, rows, min(k, rows.numel() - 1), allowed=allowed)
    return nb.tolist()


def write_maps(
    run_dir: Path,
    model,
    *,
    rows: torch.Tensor,
    titles: list[str],
    genres: list[str],
    counts: torch.Tensor,
    seed: int,
    heading: str,
    png_labels: list[str] | None = None,
    png: bool = True,
    html_path: Path | None = None,
    highlights: dict[str, list[int]] | None = None,
) -> dict[str, float]:
    """``umap.png`` (unless ``png`` is false) and the interactive page for the movies
    ``rows`` (node indices), from one cached UMAP. ``highlights`` name node indices.
    Returns the seconds spent per step."""
    from graphrec.viz.interactive import write_map_html
    from graphrec.viz.maps import umap_coords, umap_map

    timing = {}
    t0 = time.perf_counter()
    vectors = movie_vectors(model)
    emb = vectors[rows].numpy()
    xy = umap_coords(emb, seed=seed, cache=run_dir / "umap.npy")
    timing["umap_seconds"] = time.perf_counter() - t0
    sub_titles = [titles[i] for i in rows.tolist()]
    sub_genres = [genres[i] for i in rows.tolist()]
    if png:
        t0 = time.perf_counter()
        umap_map(emb, sub_titles, sub_genres, run_dir / "umap.png", label=png_labels, xy=xy)
        timing["png_seconds"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    nb = _neighbours(model, vectors, rows)
    position = {int(m): r for r, m in enumerate(rows.tolist())}
    marks = {
        label: [position[int(m)] for m in movies if int(m) in position]
        for label, movies in (highlights or {}).items()
    }
    write_map_html(
        html_path or run_dir / "map.html",
        xy,
        sub_titles,
        sub_genres,
        counts[rows].tolist(),
        [[titles[j] for j in row] for row in nb],
        title=heading,
        subtitle=f"UMAP (cosine, seed {seed}) of {type(model).__name__}'s movie vectors",
        highlights=marks,
    )
    timing["html_seconds"] = time.perf_counter() - t0
    return timing


def _run_dataset(run: Path) -> str | None:
    for name in ("metrics.json", "config.json"):
        try:
            d = json.loads((run / name).read_text())
        except (OSError, ValueError):
            continue
        found = d.get("dataset") or d.get("config", {}).get("dataset")
        if found:
            return found
    return None


def run(args) -> dict:
    from graphrec.models.base import Recommender

    run = Path(args.run)
    if not (run / "model" / "model.json").is_file():
        raise ValueError(
            f"--run {run}: no saved model there (expected {run}/model/model.json); pass the "
            "folder a training task wrote"
        )
    model = Recommender.load(run / "model")
    vectors = movie_vectors(model)  # fails early for a model without movie vectors
    ids = model.ids
    if ids is None or ids.titles is None:
        raise ValueError(f"--run {run}: the checkpoint has no titles; retrain the run")
    counts = torch.bincount(model.seen_movies.cpu(), minlength=model.num_movies)
    rated = counts > 0
    if hasattr(model, "has_edge"):
        rated &= model.has_edge.cpu()
    rows = torch.nonzero(rated).view(-1)
    if rows.numel() < 3:
        raise ValueError(f"--run {run}: fewer than 3 movies with train ratings; nothing to map")
    genres = ids.genres or [""] * ids.num_movies
    highlights, html_path = None, None
    if args.user is not None:
        u = ids.user_index(args.user)
        lo, hi = int(model.seen_ptr[u]), int(model.seen_ptr[u + 1])
        top, _ = model.recommend_indices(torch.tensor([u]), 10)
        highlights = {
            f"rated by user {args.user}": model.seen_movies[lo:hi].tolist(),
            f"top 10 for user {args.user}": top[0].tolist(),
        }
        html_path = run / f"map-user-{args.user}.html"
    if args.liked is not None:
        if args.user is not None:
            raise ValueError("give --user or --liked, not both: one page rings one user")
        from graphrec.cli.recommend import resolve_titles

        liked, _ = resolve_titles(ids, list(args.liked), [])
        vec = model.fold_in(liked)  # a model that cannot fold in says so, naming those that can
        top, _ = model.recommend_vectors(vec, 10, exclude=[liked])
        highlights = {"liked (new user)": liked, "top 10 for the new user": top[0].tolist()}
        html_path = run / "map-liked.html"
    if args.html:
        html_path = Path(args.html)
    dataset = _run_dataset(run) or ids.dataset
    timing = write_maps(
        run,
        model,
        rows=rows,
        titles=ids.titles,
        genres=genres,
        counts=counts,
        seed=args.seed,
        heading=f"{type(model).__name__} on {dataset}: movie map",
        png=not (run / "umap.png").exists(),
        html_path=html_path,
        highlights=highlights,
    )
    out = html_path or run / "map.html"
    steps = ", ".join(f"{k} {v:.1f}" for k, v in timing.items())
    log(args, f"{rows.numel()} movies, {vectors.size(1)}-d vectors; {steps}")
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB); open it in a browser")
    return {"html": str(out), "movies": int(rows.numel()), "timing": timing}
