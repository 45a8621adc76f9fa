"""``--task attention``: attention-NCF (:class:`graphrec.models.attention_ncf.AttentionNCF`).

Trains with BCE on train positives plus ``--negatives`` fresh negatives per epoch, early-stops
on valid NDCG@K, writes the usual run folder (config.json, metrics.json, history.csv,
curves.png, model/) and, beside it, ``attention.png``: the mean attention weights [T, T] over
the test pairs (each user with its held-out movie) and over the same users with sampled
negatives (the ``sampled`` protocol's candidates), with the matrices in ``attention.json``.
"""

from __future__ import annotations

from typing import Any

import torch

from graphrec.cli.common import at_least, fraction, load_graph, log, make_split, open_run
from graphrec.cli.training import add_training_arguments, train_and_report, training_subset
from graphrec.data.sampling import sampled_candidates
from graphrec.models.attention_ncf import AttentionNCF

__all__ = ["DEFAULTS", "add_arguments", "build_model", "train", "mean_attention", "run"]

#: the settings the task and the benchmark use (ML-100K, see experiments/results/)
DEFAULTS: dict[str, Any] = {
    # ML-100K valid NDCG@10 (sampled): residual .408 vs none .384 (20 epochs, lr 5e-3, still
    # improving at 20); lr 1e-2 .402; two tokens (chunks=1) .396
    "factors": 64,
    "chunks": 4,
    "hidden": [128, 64, 32],
    "dropout": 0.0,
    "residual": True,
    "epochs": 25,
    "batch_size": 4096,
    "lr": 5e-3,
    "negatives": 4,
    "patience": 5,
}


def add_arguments(parser) -> None:
    d = DEFAULTS
    add_training_arguments(parser, **training_subset(d))
    parser.add_argument(
        "--chunks",
        type=at_least(1),
        default=d["chunks"],
        help="chunks per embedding = tokens per side; 1: attend over the whole "
        f"user and movie embeddings (default {d['chunks']})",
    )
    parser.add_argument(
        "--hidden",
        type=at_least(1),
        nargs="+",
        default=d["hidden"],
        help=f"MLP sizes (default {' '.join(map(str, d['hidden']))})",
    )
    parser.add_argument(
        "--dropout",
        type=fraction(),
        default=d["dropout"],
        help=f"dropout after each MLP layer (default {d['dropout']})",
    )
    parser.add_argument(
        "--no-residual",
        action="store_true",
        help="no residual connection around attention (the seed's model)",
    )


def build_model(split, seed: int = 0, **overrides: Any) -> AttentionNCF:
    """A fresh AttentionNCF with :data:`DEFAULTS` (``factors``, ``chunks``, ``hidden``,
    ``dropout``, ``residual``; ``overrides`` replace them), initialised from ``seed``."""
    d = {**DEFAULTS, **overrides}
    torch.manual_seed(seed)
    return AttentionNCF(
        split.num_users,
        split.num_movies,
        embedding_dim=d["factors"],
        num_chunks=d["chunks"],
        hidden=d["hidden"],
        dropout=d["dropout"],
        residual=d["residual"],
    )


def train(split, seed: int = 0, device: str = "auto", progress: bool = False, **overrides):
    """Build and fit with :data:`DEFAULTS`; returns ``(model, history)``."""
    from graphrec.train import fit_settings

    d = {**DEFAULTS, **overrides}
    model = build_model(split, seed, **d)
    hist = fit_settings(model, split, d, "bce", seed, device, progress)
    return model, hist


@torch.no_grad()
def mean_attention(model: AttentionNCF, split, seed: int = 0, batch: int = 4096) -> dict:
    """Mean [T, T] weights over test positives and over the sampled protocol's negatives."""
    model.eval()
    users, target = split.test
    cands = sampled_candidates(split, "test", 99, seed)
    neg_users = users.repeat_interleave(cands.size(1) - 1)
    neg_movies = cands[:, 1:].reshape(-1)

    def avg(u, m):
        total = torch.zeros(model.num_tokens, model.num_tokens)
        for s in range(0, u.numel(), batch):
            total += model.attention(u[s : s + batch], m[s : s + batch]).sum(0).cpu()
        return total / max(1, u.numel())

    return {
        "test positives": avg(users, target),
        "sampled negatives": avg(neg_users, neg_movies),
    }


def run(args) -> dict:
    from graphrec.viz.attention import plot_attention

    data = load_graph(args)
    split = make_split(args, data)
    run_dir = open_run(args, "attention")
    model = build_model(
        split,
        args.seed,
        factors=args.factors,
        chunks=args.chunks,
        hidden=args.hidden,
        dropout=args.dropout,
        residual=not args.no_residual,
    )
    metrics, _ = train_and_report(model, split, args, run_dir, task="attention")
    panels = mean_attention(model, split, args.seed)
    names = model.token_names()
    plot_attention(
        {
            f"{k} (n={len(split.test[0]) * (1 if k.startswith('test') else 99)})": v
            for k, v in panels.items()
        },
        run_dir / "attention.png",
        names,
        title=f"AttentionNCF on {args.dataset}: mean attention weights (rows sum to 1)",
    )
    run_dir.write_json(
        "attention.json",
        {"tokens": names, "mean_weights": {k: v.tolist() for k, v in panels.items()}},
    )
    log(args, f"attention: wrote {run_dir / 'attention.png'}")
    print(f"wrote {run_dir / 'metrics.json'}")
    return metrics
