"""``--task attention``: attention-NCF (:class:`graphrec.models.attention_ncf.AttentionNCF`).

Trains with BCE on train positives plus ``--num-negatives`` fresh negatives per epoch, early-stops
on valid NDCG@K, writes the usual run folder (config.json, metrics.json, history.csv,
curves.png, model/) and, beside it, ``attention.png``: the mean attention weights [T, T] over
the test pairs (each user with its held-out movie) and over the same users with sampled
negatives (the ``sampled`` protocol's candidates), with the matrices in ``attention.json``.
"""

from __future__ import annotations

import torch

from graphrec.cli.common import load_graph, make_split, open_run
from graphrec.cli.training import add_model_task_arguments, build_from_args, train_and_report
from graphrec.data.sampling import sampled_candidates
from graphrec.models.attention_ncf import AttentionNCF

__all__ = ["add_arguments", "mean_attention", "run"]


def add_arguments(parser) -> None:
    add_model_task_arguments(parser, AttentionNCF)


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
    model = build_from_args(args, "AttentionNCF", split, data)
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
    run_dir.report()
    return metrics
