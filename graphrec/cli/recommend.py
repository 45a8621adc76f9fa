"""``--task recommend``: what a user should watch next and why, from a saved run.

Three ways to ask, one per run of the command (``--run DIR``: the folder a training task
wrote, or its ``model/``; the model is loaded, never retrained):

- ``--user RAW_ID``: a user of the run's data set (MovieLens user 196); the reasons name the
  user's own train movies, which are never recommended;
- ``--liked TITLE_OR_ID ... [--disliked ...]``: a new user, folded in without retraining
  (:meth:`graphrec.models.base.Recommender.fold_in`); the feature MLP also takes ``--age``,
  ``--gender`` and ``--occupation`` (with or without liked movies);
- ``--query TITLE_OR_ID ...``: the movies most similar to each, in the model's item space
  (item2vec ranks by CSLS as ``--task item2vec`` does; other embedding models by cosine).

Titles are taken as people type them (see :meth:`graphrec.data.ids.IdMaps.movie_index`);
every unknown or ambiguous one is refused at once. The list (rank, title, genres, score,
reason) is printed and written to ``recommendations.json`` (``similar.json`` for
``--query``) in the output folder (``--out``, default ``runs/recommend/<time>/``)::

    {"model", "run", "dataset", "user", "profile": [movie ids the list is based on],
     "items": [{"rank", "movie_id", "title", "year", "genres", "score",
                "because": [{"movie_id", "title", "weight"}], "features": {...}}], ...}

``because`` holds the profile movies behind each movie (item2vec: the largest terms of its
score; other embedding models: the nearest profile movies in the model's item space, by
cosine; see :mod:`graphrec.explain.recommendations`), ``features`` the feature MLP's top
attributions (IntegratedGradients, score units). Bad input is a one-line error and nothing
is written. The task runs on one thread (one user's work is many small operations).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import torch

from graphrec.cli.common import at_least, log, open_run

__all__ = ["add_arguments", "run", "RecommendError"]


class RecommendError(ValueError):
    """A request the recommend task refuses (the message says why and what to do)."""


def add_arguments(parser) -> None:
    parser.add_argument(
        "--run",
        required=True,
        metavar="DIR",
        help="a run folder of any training task (or its model/ folder)",
    )
    parser.add_argument("--user", default=None, metavar="RAW_ID", help="a user of the data set")
    parser.add_argument(
        "--liked",
        nargs="+",
        action="extend",
        default=None,
        metavar="TITLE",
        help="a new user's liked movies (titles as you type them, or ids)",
    )
    parser.add_argument(
        "--disliked",
        nargs="+",
        action="extend",
        default=None,
        metavar="TITLE",
        help="the new user's disliked movies (pushed down and never recommended)",
    )
    parser.add_argument(
        "--query",
        nargs="+",
        action="extend",
        default=None,
        metavar="TITLE",
        help="similar movies for each of these, from the saved model",
    )
    parser.add_argument(
        "--age", type=at_least(0), default=None, help="new user's age (feature MLP)"
    )
    parser.add_argument("--gender", default=None, help="new user's gender, e.g. F (feature MLP)")
    parser.add_argument(
        "--occupation", default=None, help="new user's occupation, e.g. writer (feature MLP)"
    )
    parser.add_argument("--k", type=at_least(1), default=10, help="movies per list (default 10)")
    # the data set is the run's own; --dataset only checks it
    parser.set_defaults(dataset=None)
    for action in parser._actions:
        if action.dest == "dataset":
            action.help = "refuse the run unless it was trained on this data set (default: any)"


# ---------------------------------------------------------------------------- the run
def load_run(path: str):
    """``(model, folder of the run, data set the run names or None)`` of ``--run``."""
    from graphrec.io import read_json
    from graphrec.models.base import Recommender

    p = Path(path)
    if not p.exists():
        raise RecommendError(
            f"--run {path} does not exist: pass a run folder a training task wrote"
        )
    if (p / "model" / "model.json").is_file():
        folder, run = p / "model", p
    elif (p / "model.json").is_file():
        folder, run = p, p.parent
    else:
        raise RecommendError(
            f"--run {path} holds no saved model (no model/model.json): pass the folder a "
            "training task wrote (e.g. --task neumf --out DIR), whose model/ holds weights.pt "
            "and model.json"
        )
    import graphrec.models  # noqa: F401  (registers every model class)

    try:
        model = Recommender.load(folder)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise RecommendError(f"--run {path}: the model cannot be loaded ({exc})") from None
    if model.ids is None:
        raise RecommendError(
            f"--run {path}: the model has no raw-id maps (saved without a split's ids), so it "
            "cannot name users or movies: retrain it with a training task"
        )
    recorded = None
    for name in ("metrics.json", "config.json"):
        file = run / name
        if file.is_file():
            try:
                record = read_json(file)
            except (OSError, ValueError):
                continue
            recorded = record.get("dataset") or record.get("config", {}).get("dataset")
            if recorded:
                break
    return model, run, recorded


def check_dataset(args, model, recorded: str | None) -> str:
    """The run's data set; refused when ``--dataset`` names another."""
    ours = model.ids.dataset
    if recorded and recorded != ours:
        raise RecommendError(
            f"--run {args.run}: its model was fitted on {ours} but the run records {recorded}: "
            "the folder mixes two runs; retrain into a new folder"
        )
    if args.dataset is not None and args.dataset != ours:
        raise RecommendError(
            f"--run {args.run} was trained on {ours}, not on {args.dataset} (--dataset): drop "
            f"--dataset or pass --dataset {ours}"
        )
    return ours


def check_mode(args) -> str:
    """``user``, ``new`` or ``query``, or a one-line refusal."""
    new = any(
        v is not None for v in (args.liked, args.disliked, args.age, args.gender, args.occupation)
    )
    given = [name for name, on in (("--user", args.user is not None), ("--liked", new),
                                   ("--query", args.query is not None)) if on]  # fmt: skip
    if not given:
        raise RecommendError(
            "say whom to recommend for: --user RAW_ID (a user of the run's data set), --liked "
            "TITLE ... (a new user) or --query TITLE ... (similar movies)"
        )
    if len(given) > 1:
        raise RecommendError(
            f"{' and '.join(given)} given together: --user recommends for a known user, "
            "--liked (--disliked, --age, --gender, --occupation) for a new one, --query finds "
            "similar movies; give one"
        )
    if (
        args.disliked is not None
        and args.liked is None
        and args.age is None
        and (args.gender is None and args.occupation is None)
    ):
        raise RecommendError("--disliked needs --liked: a new user is made from what it liked")
    return {"--user": "user", "--liked": "new", "--query": "query"}[given[0]]


# ---------------------------------------------------------------------------- movies
def _year(title: str) -> int | None:
    import re

    m = re.search(r"\((\d{4})\)\s*$", title)
    return int(m.group(1)) if m else None


def _movie(ids, index: int) -> dict[str, Any]:
    title = ids.titles[index] if ids.titles else str(ids.movies[index])
    genres = ids.genres[index] if ids.genres else ""
    return {
        "movie_id": ids.movies[index],
        "title": title,
        "year": _year(title),
        "genres": genres.split("|") if genres else [],
    }


def resolve_titles(ids, liked: list[str], disliked: list[str]) -> tuple[list[int], list[int]]:
    """Node indices of the liked and disliked movies; every bad title of both lists is
    reported at once."""
    keys = [k for k in liked + disliked if str(k).strip()]
    if not [k for k in liked if str(k).strip()] and liked:
        raise RecommendError("--liked names no movie (only blank entries): give titles or ids")
    indices = ids.movie_indices(keys)
    n_liked = len([k for k in liked if str(k).strip()])
    return list(dict.fromkeys(indices[:n_liked])), list(dict.fromkeys(indices[n_liked:]))


def _age_value(args, dataset: str, age: float) -> float:
    """``age`` in years on the scale the graph stores it (min-max over the data set)."""
    from graphrec.data.movielens import default_root, read_tables

    root = Path(args.data_dir) if args.data_dir else default_root()
    tables = read_tables(
        dataset,
        args.raw_dir or root,
        download_dir=root,
        source=args.source,
        bad_rows="drop" if args.drop_bad_rows else "error",
        verify=not args.no_verify,
        verbose=False,
    )
    if tables.users is None:
        raise RecommendError(f"{dataset} has no user ages")
    lo, hi = float(tables.users["age"].min()), float(tables.users["age"].max())
    if not lo <= age <= hi:
        log(args, f"note: --age {age:g} is outside {dataset}'s ages {lo:g}..{hi:g}")
    return (age - lo) / (hi - lo) if hi > lo else 0.0


# ---------------------------------------------------------------------------- output
def _print_list(header: str, items: list[dict[str, Any]]) -> None:
    print(header)
    for it in items:
        genres = "|".join(it["genres"]) or "-"
        print(f"  {it['rank']:2d}. {it['title']}  [{genres}]  score {it['score']:.3f}")
        if it.get("because"):
            names = ", ".join(f"{b['title']} ({b['weight']:.3f})" for b in it["because"])
            print(f"      because you liked: {names}")
        if it.get("features"):
            feats = ", ".join(f"{name} {v:+.2f}" for name, v in it["features"].items())
            ref = it["reference_score"]
            print(f"      features (against the average train pair's {ref:.2f}): {feats}")
        if it.get("reason"):
            print(f"      {it['reason']}")


def run(args) -> dict:
    from graphrec.explain.recommendations import reason_kind, recommend_with_reasons
    from graphrec.models.base import FoldInError, fold_in_models
    from graphrec.models.feature_mlp import FeatureMLP

    t_all = time.perf_counter()
    mode = check_mode(args)
    # one user's work is many small operations: a second thread only waits on the first
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    model, run_folder, recorded = load_run(args.run)
    load_seconds = time.perf_counter() - t0
    dataset = check_dataset(args, model, recorded)
    ids, name = model.ids, type(model).__name__
    attrs = {"age": args.age, "gender": args.gender, "occupation": args.occupation}
    attrs = {k: v for k, v in attrs.items() if v is not None}
    if attrs and not isinstance(model, FeatureMLP):
        raise RecommendError(
            f"--{'/--'.join(attrs)}: only the feature MLP reads a new user's attributes; "
            f"this run is a {name} (give --liked alone)"
        )
    if mode == "query":
        return run_query(args, model, run_folder, dataset, t_all)
    if not model.can_fold_in() and mode == "new":
        raise RecommendError(
            f"{name} cannot fold in a new user; models that can: {', '.join(fold_in_models())}"
        )
    record: dict[str, Any] = {"model": name, "run": str(run_folder), "dataset": dataset}
    fold_seconds = 0.0
    disliked: list[int] = []
    if mode == "user":
        raw = args.user.strip()
        u = ids.user_index(raw)  # "196" finds integer id 196 and string id "196"
        profile = model.seen_movies[model.seen_ptr[u] : model.seen_ptr[u + 1]].cpu()
        with torch.no_grad():
            vector = model.user_vectors([u])
        exclude = profile
        who = f"user {ids.users[u]} ({profile.numel()} train movies)"
        record["user"] = ids.users[u]
    else:
        liked, disliked = resolve_titles(ids, list(args.liked or []), list(args.disliked or []))
        both = set(liked) & set(disliked)
        if both:
            title = ids.titles[min(both)] if ids.titles else ids.movies[min(both)]
            raise RecommendError(f"{title} is both liked and disliked: keep it in one list")
        known = model.known_movies().cpu()
        unknown = [i for i in liked if not known[i]]
        usable = [i for i in liked if known[i]]
        if liked and not usable:
            names = "; ".join(_movie(ids, i)["title"] for i in unknown[:5])
            raise RecommendError(
                f"every liked movie is unknown to this {name} (no train ratings, so no trained "
                f"vector): {names}; like movies the model was trained on"
            )
        if unknown:
            names = "; ".join(_movie(ids, i)["title"] for i in unknown[:5])
            log(args, f"note: left out, unknown to the model (no train ratings): {names}")
        row = None
        if isinstance(model, FeatureMLP):
            values = dict(attrs)
            if "age" in values:
                values["age"] = _age_value(args, dataset, float(values["age"]))
            try:
                row, used = model.user_features(values)
            except FoldInError as exc:
                raise RecommendError(str(exc)) from None
            record["attributes"] = {**used, **({"age": args.age} if args.age is not None else {})}
        t0 = time.perf_counter()
        options = {"user_features": row} if row is not None else {}
        vector = model.fold_in([usable], [disliked], seed=args.seed, **options)
        fold_seconds = time.perf_counter() - t0
        profile = torch.tensor(usable, dtype=torch.long)
        exclude = torch.tensor(sorted(set(liked) | set(disliked)), dtype=torch.long)
        who = f"a new user ({len(usable)} liked, {len(disliked)} disliked movies)"
        record["user"] = None
        record["liked"] = [ids.movies[i] for i in liked]
        record["disliked"] = [ids.movies[i] for i in disliked]
    unseen = model.num_movies - int(exclude.numel())
    k = args.k
    if k > unseen:
        print(
            f"note: --k {k} is more than the {unseen} movies {who.split(' (')[0]} has not seen: "
            f"showing {unseen}",
            file=sys.stderr,
        )
        record["k_asked"] = k
        k = unseen
    if k < 1:
        raise RecommendError(f"{who} has seen every movie of {dataset}: nothing to recommend")
    run_dir = open_run(args, "recommend")  # after every check: a refusal writes nothing
    t0 = time.perf_counter()
    items = recommend_with_reasons(
        model, vector, profile, k, exclude=exclude, disliked=torch.tensor(disliked).long()
    )
    rank_seconds = time.perf_counter() - t0
    popularity = None
    if not model.personalised:
        popularity = torch.bincount(model.seen_movies.cpu(), minlength=model.num_movies)
    out = []
    for rank, it in enumerate(items, 1):
        entry = {"rank": rank, **_movie(ids, it["movie"]), "score": round(it["score"], 4)}
        entry["because"] = [
            {**{k2: _movie(ids, j)[k2] for k2 in ("movie_id", "title")}, "weight": round(w, 4)}
            for j, w in it["because"]
        ]
        if "features" in it:
            entry["features"] = {n: round(v, 4) for n, v in it["features"].items()}
            entry["reference_score"] = round(it["reference_score"], 4)
        if popularity is not None:
            entry["reason"] = f"popular: {int(popularity[it['movie']])} train ratings"
        out.append(entry)
    record.update(
        profile=[ids.movies[i] for i in profile.tolist()],
        k=k,
        because_weight=reason_kind(model),
        items=out,
    )
    if isinstance(model, FeatureMLP):
        record["features_are"] = (
            "IntegratedGradients on the first layer's input from the reference (the mean "
            "train pair's attributes, zero id embeddings; its score is reference_score), in "
            "score units, adding up to score - reference_score (the score is a "
            f"{'logit' if model.objective == 'ranking' else 'predicted rating'})"
        )
    record["timing"] = {
        "load_seconds": round(load_seconds, 4),
        "fold_in_seconds": round(fold_seconds, 4),
        "top_k_with_reasons_seconds": round(rank_seconds, 4),
        "total_seconds": round(time.perf_counter() - t_all, 4),
    }
    run_dir.write_json("recommendations.json", record)
    _print_list(f"{name} on {dataset}: top {k} for {who}, seen movies left out", out)
    run_dir.report()
    return record


def run_query(args, model, run_folder: Path, dataset: str, t_all: float) -> dict:
    """``--query``: the most similar movies of each query in the model's item space."""
    import torch.nn.functional as F

    from graphrec.models.item2vec import Item2Vec

    ids, name = model.ids, type(model).__name__
    queries = ids.movie_indices(args.query)
    known = model.known_movies().cpu()
    k = min(args.k, int(known.sum()) - 1)
    if k < 1:
        raise RecommendError(f"{name} knows too few movies to find similar ones")
    if k < args.k:
        print(
            f"note: --k {args.k} is more than the {k} other movies the model knows", file=sys.stderr
        )
    if isinstance(model, Item2Vec):
        top, rank_scores = model.similar_indices(torch.tensor(queries), k)
        ranking = "CSLS" if model.effective_hubness_k() else "cosine"
    else:
        try:
            vectors = model.item_vectors().float().cpu()
        except NotImplementedError:
            raise RecommendError(
                f"{name} has no item space (its scores are popularity): similar movies need an "
                "embedding model's run"
            ) from None
        unit = F.normalize(vectors, dim=1)
        sims = unit[queries] @ unit.T
        sims[:, ~known] = float("-inf")
        sims[torch.arange(len(queries)), torch.tensor(queries)] = float("-inf")
        found = sims.topk(k, dim=1)
        top, rank_scores = found.indices, found.values
        ranking = "cosine"
    unit = F.normalize(model.item_vectors().float().cpu(), dim=1)
    run_dir = open_run(args, "recommend")
    similar: dict[str, Any] = {}
    for q, row, srow in zip(queries, top.tolist(), rank_scores.tolist(), strict=True):
        entries = []
        for rank, (j, s) in enumerate(zip(row, srow, strict=True), 1):
            entry = {"rank": rank, **_movie(ids, j), "score": round(float(unit[q] @ unit[j]), 4)}
            if ranking == "CSLS":
                entry["csls"] = round(float(s), 4)
            entries.append(entry)
        title = _movie(ids, q)["title"]
        similar[title] = entries
        print(f"movies most similar to {title} ({name}, ranked by {ranking}):")
        for e in entries:
            print(f"  {e['rank']:2d}. cosine {e['score']:.3f}  {e['title']}")
    record = {
        "model": name,
        "run": str(run_folder),
        "dataset": dataset,
        "ranking": ranking,
        "similar": similar,
        "timing": {"total_seconds": round(time.perf_counter() - t_all, 4)},
    }
    run_dir.write_json("similar.json", record)
    run_dir.report()
    return record
