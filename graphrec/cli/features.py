"""``--task features`` and ``--task explain``: the feature MLP and its explanations.

- ``features``: train :class:`graphrec.models.feature_mlp.FeatureMLP` on node attributes
  (``--objective rating``: MSE on the ratings, early stopping on valid RMSE; ``ranking``:
  BCE with sampled negatives, early stopping on valid NDCG@K; ``--no-ids`` for a pure
  attribute model) and write the run folder: config.json, metrics.json (the standard
  schema plus ``"rating": {"rmse", "mae", ...}`` for the rating objective), history.csv,
  curves.png and the checkpoint ``model/``.
- ``explain``: explain one prediction (``--user RAW_ID --movie RAW_ID_OR_TITLE``; default:
  the first held-out test edge) and a sample of test edges (``--global-edges``) with
  ``--methods`` (default: all), writing explanations.json, agreement.json,
  attributions.png, agreement.png, faithfulness.png and summary.txt, and printing the
  summary. ``--run DIR`` explains a model trained by ``--task features``; without it a
  quick rating model is trained first (``--epochs``, default 8) and saved in the run folder.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import torch

from graphrec.cli.common import at_least, load_graph, log, make_split, open_run
from graphrec.cli.options import show_progress
from graphrec.data.ids import IdMaps

__all__ = ["add_arguments", "run", "run_features", "run_explain", "method_argument"]


def method_argument(value: str) -> list[str]:
    """argparse ``type`` of ``--methods``: canonical names, or a usage error."""
    from graphrec.explain.explainer import UnknownMethodError, resolve_methods

    try:
        return resolve_methods(value)
    except UnknownMethodError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_arguments(parser) -> None:
    from graphrec.cli.training import add_model_task_arguments
    from graphrec.models.feature_mlp import FeatureMLP

    # build_parser passes the group "<task> options": tell the two tasks apart by its title
    task = (getattr(parser, "title", None) or "features options").split()[0]
    explain = task == "explain"
    add_model_task_arguments(parser, FeatureMLP)
    if explain:  # the quick model trained when no --run is given
        parser.set_defaults(epochs=8)
        for action in parser._group_actions:
            if action.dest == "epochs":
                action.help = "maximum epochs of the quick model trained when no --run is given "
                action.help += "(default: 8)"
    if not explain:
        return
    parser.add_argument(
        "--run",
        default=None,
        help="a run folder of --task features (or its model/ folder) to "
        "explain; default: train a quick model first",
    )
    parser.add_argument(
        "--user",
        type=int,
        default=None,
        help="raw user id (default: the user of the first test edge)",
    )
    parser.add_argument(
        "--movie", default=None, help="raw movie id or title (default: the user's test movie)"
    )
    parser.add_argument(
        "--methods",
        type=method_argument,
        nargs="+",
        default=None,
        help="attribution methods (default: all): IntegratedGradients "
        "DeepLift GradientShap FeatureAblation Saliency SHAP LIME "
        "LayerIntegratedGradients; aliases ig gradshap ablation lig",
    )
    parser.add_argument(
        "--global-edges",
        type=at_least(0, "0 skips the global view"),
        default=100,
        help="test edges in the global view (mean |attribution|; 0 to skip; default 100)",
    )
    parser.add_argument(
        "--background",
        type=at_least(1),
        default=64,
        help="training edges in the SHAP / GradientShap background (default 64)",
    )
    parser.add_argument(
        "--shap-samples",
        type=at_least(1),
        default=1024,
        help="Kernel SHAP coalitions per edge (default 1024)",
    )
    parser.add_argument(
        "--lime-samples",
        type=at_least(1),
        default=2000,
        help="LIME perturbations per edge (default 2000)",
    )


def run(args) -> dict:
    return run_explain(args) if args.task == "explain" else run_features(args)


# ---------------------------------------------------------------------------- features
def build_model(data, split, args):
    """A fresh FeatureMLP from the options (others: the model's defaults), seeded by
    ``--seed``."""
    from graphrec.cli.training import build_from_args

    if not data["user"].feature_names and not data["movie"].feature_names:
        raise SystemExit(
            f"error: {data.name} has no user or movie attributes, which the feature MLP needs: "
            "give --items with genres= or numeric columns (or --users), or use --task bpr"
        )
    return build_from_args(args, "FeatureMLP", split, data)


def fit_model(model, split, args):
    """Train with the model's objective and the options; returns the History."""
    from graphrec.cli.options import train_config

    return model.fit(split, train_config(args)).history


def rating_report(model, split) -> dict:
    """Test and valid RMSE/MAE, with the train-mean baseline beside them."""
    test, valid = model.rating_metrics(split, "test"), model.rating_metrics(split, "valid")
    mu = float(split.train_rating.float().mean())
    err = split.test_rating.float() - mu
    return {
        "stage": "test",
        "rmse": test["rmse"],
        "mae": test["mae"],
        "ratings": test["ratings"],
        "valid": {"rmse": valid["rmse"], "mae": valid["mae"]},
        "baseline_train_mean": {
            "prediction": mu,
            "rmse": math.sqrt(float((err**2).mean())),
            "mae": float(err.abs().mean()),
        },
    }


def run_features(args) -> dict:
    from graphrec.cli.training import train_and_report

    data = load_graph(args)
    split = make_split(args, data)
    run_dir = open_run(args, "features")
    model = build_model(data, split, args)
    history = fit_model(model, split, args)
    extra: dict = {}
    if model.objective == "rating":
        extra["rating"] = rating_report(model, split)
    metrics, _ = train_and_report(
        model, split, args, run_dir, task="features", history=history, extra=extra
    )
    if "rating" in metrics:
        r = metrics["rating"]
        log(
            args,
            f"test  rating  RMSE {r['rmse']:.4f}  MAE {r['mae']:.4f}  "
            f"(train-mean baseline RMSE {r['baseline_train_mean']['rmse']:.4f})",
        )
    run_dir.report()
    return metrics


# ---------------------------------------------------------------------------- explain
def _load_run(path: str):
    """``(model, run config or {})`` from a features run folder or a model folder."""
    from graphrec.io import read_json
    from graphrec.models.base import Recommender
    from graphrec.models.feature_mlp import FeatureMLP

    p = Path(path)
    folder = p / "model" if (p / "model" / "model.json").is_file() else p
    if not (folder / "model.json").is_file():
        raise SystemExit(
            f"error: --run {path}: no model.json in {p} or {p / 'model'}; pass a run folder "
            "of --task features"
        )
    model = Recommender.load(folder)
    if not isinstance(model, FeatureMLP):
        raise SystemExit(
            f"error: --run {path} holds a {type(model).__name__}; --task explain needs a "
            "FeatureMLP run (--task features)"
        )
    config = {}
    for cand in (p / "config.json", folder.parent / "config.json"):
        if cand.is_file():
            config = read_json(cand).get("config", {})
            break
    return model, config


def _resolve(args, data) -> tuple[int | None, int | None]:
    """Node indices of ``--user`` / ``--movie`` (clear errors before any training)."""
    from graphrec.data.graph import movie_index, user_index

    if args.user is None and args.movie is not None:
        raise SystemExit("error: --movie needs --user (whose prediction to explain)")
    u = user_index(data, args.user) if args.user is not None else None
    m = movie_index(data, args.movie) if args.movie is not None else None
    return u, m


def _pick_edge(u: int | None, m: int | None, split, model) -> tuple[int, int]:
    """The edge to explain: the first test edge, or the user's test movie, or (for a user
    with no test edge) the model's top recommendation."""
    if u is None:
        return int(split.test[0, 0]), int(split.test[1, 0])
    if m is not None:
        return u, m
    hit = torch.nonzero(split.test[0] == u).view(-1)
    if hit.numel():
        return u, int(split.test[1, hit[0]])
    ids, _ = model.recommend_indices([u], k=1, exclude_seen=model.seen_movies.numel() > 0)
    return u, int(ids[0, 0])


def _where(data, split, u: int, m: int) -> tuple[float | None, str]:
    """The pair's actual rating (None if unrated) and which part of the split holds it."""
    from graphrec.data.graph import RATES

    ei, rating = data[RATES].edge_index, data[RATES].rating
    hit = torch.nonzero((ei[0] == u) & (ei[1] == m)).view(-1)
    if hit.numel() == 0:
        return None, "unrated"
    for name in ("test", "valid"):
        part = getattr(split, name)
        if bool(((part[0] == u) & (part[1] == m)).any()):
            return float(rating[hit[0]]), name
    return float(rating[hit[0]]), "train (or below --min-rating)"


def run_explain(args) -> dict:
    from graphrec.explain import (
        Explainer,
        agreement,
        agreement_reading,
        deletion_curves,
        explanation_record,
        faithfulness_reading,
        faithfulness_summary,
        plot_agreement,
        plot_attributions,
        plot_faithfulness,
        resolve_methods,
        summary_text,
    )
    from graphrec.io import atomic_write

    methods = [m for group in (args.methods or [resolve_methods(None)]) for m in group]
    methods = list(dict.fromkeys(methods))
    trained = None
    if args.run:
        model, config = _load_run(args.run)
        if config.get("dataset") and config["dataset"] != args.dataset:
            log(args, f"--run was trained on {config['dataset']}: using that data set")
            args.dataset = config["dataset"]
        if config and config.get("min_rating") != args.min_rating:
            args.min_rating = config.get("min_rating")
        if config and config.get("split") and config["split"] != args.split:
            args.split = config["split"]  # the split the model was trained on
    data = load_graph(args)
    user, movie = _resolve(args, data)
    split = make_split(args, data)
    run_dir = open_run(args, "explain")
    if not args.run:
        model = build_model(data, split, args)
        log(
            args, f"no --run: training a quick FeatureMLP ({model.objective}, {args.epochs} epochs)"
        )
        history = fit_model(model, split, args)
        model.save(run_dir / "model")
        trained = {"epochs_run": len(history.epochs), "train_seconds": history.train_seconds}
        if model.objective == "rating":
            trained["rating"] = rating_report(model, split)
    if model.num_users != data["user"].num_nodes or model.num_movies != data["movie"].num_nodes:
        raise SystemExit(
            f"error: the model has {model.num_users} users / {model.num_movies} movies but "
            f"{args.dataset} has {data['user'].num_nodes} / {data['movie'].num_nodes}"
        )
    model.eval()
    u, m = _pick_edge(user, movie, split, model)
    ids = IdMaps.from_graph(data)
    raw_u, raw_m = ids.users[u], ids.movies[m]
    title = ids.titles[m] if ids.titles else str(ids.movies[m])
    actual, part = _where(data, split, u, m)
    explainer = Explainer(
        model,
        split.train,
        background_size=args.background,
        shap_nsamples=args.shap_samples,
        lime_samples=args.lime_samples,
        seed=args.seed,
    )
    t0 = time.perf_counter()
    local = explainer.attribute(torch.tensor([u]), torch.tensor([m]), methods, decompose=True)
    local_seconds = time.perf_counter() - t0
    glob = None
    if args.global_edges > 0:
        log(args, f"global view: {args.global_edges} test edges")
        glob = explainer.explain_edges(
            split.test,
            methods,
            sample=args.global_edges,
            progress=show_progress(args),
            decompose=True,
        )
    agree = agreement(local, glob)
    curves_local = deletion_curves(model, local, seed=args.seed) if local.methods else None
    curves_global = deletion_curves(model, glob, seed=args.seed) if glob and glob.methods else None
    faith = {
        "procedure": "variables set to the reference row in order of decreasing |attribution|; "
        "deletion_auc = mean over k of mean |f(x) - f(x with top-k removed)| (higher: the "
        "ranking finds the variables that move the prediction)",
    }
    if curves_local:
        faith["local"] = faithfulness_summary(curves_local)
    if curves_global:
        faith["global"] = faithfulness_summary(curves_global)
    record = {
        "task": "explain",
        "dataset": args.dataset,
        "model": {"class": type(model).__name__, **model.hparams},
        "run": str(args.run) if args.run else str(run_dir / "model"),
        "user": raw_u,
        "movie": raw_m,
        "title": title,
        "actual_rating": actual,
        "edge_in": part,
        "objective": model.objective,
        "methods": methods,
        **explanation_record(local, glob, objective=model.objective),
        "agreement": agree,
        "faithfulness": faith,
        "timing": {"explain_one_seconds": round(local_seconds, 3)},
    }
    if glob is not None:
        record["timing"]["global_seconds"] = round(sum(glob.seconds.values()), 3)
    if trained:
        record["trained"] = trained
    run_dir.write_json("explanations.json", record)
    run_dir.write_json("agreement.json", agree)
    label_u, label_m = f"user {raw_u}", title
    if local.methods:
        plot_attributions(
            local,
            glob,
            run_dir / "attributions.png",
            title=f"user {raw_u} / {title}",
            objective=model.objective,
        )
        plot_agreement(agree, run_dir / "agreement.png")
        plot_faithfulness(
            curves_local, curves_global, run_dir / "faithfulness.png", objective=model.objective
        )
    text = summary_text(local, label_u, label_m, objective=model.objective)
    if actual is not None:
        text += f"\n  actual rating {actual:g} ({part} edge)"
    for key in ("local", "global"):
        reading = agreement_reading(agree, key)
        if reading:
            text += f"\n  method agreement ({key}): {reading}"
    if "global" in faith:
        text += "\n  faithfulness (global): " + faithfulness_reading(
            faith["global"], objective=model.objective
        )
        best = sorted(
            ((k2, v["deletion_auc"]) for k2, v in faith["global"].items()), key=lambda kv: -kv[1]
        )
        text += "\n    deletion AUC: " + ", ".join(f"{k2} {v:.3f}" for k2, v in best)
    with atomic_write(run_dir / "summary.txt", "w") as fh:
        fh.write(text + "\n")
    print(text)
    run_dir.report()
    return record
