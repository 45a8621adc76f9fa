"""One fit loop for every trainable recommender.

``fit(model, split, objective="bce")`` trains a pointwise model (binary cross-entropy with
logits on train positives plus ``num_negatives`` uniform negatives per positive, redrawn
every epoch); ``objective="bpr"`` trains a pairwise model (Bayesian personalised ranking on
(user, positive, negative) triples). Both use Adam, validate every ``eval_every`` epochs under
the ``sampled`` protocol (or ``full``), stop early on NDCG@K with ``patience`` and restore the
best weights. One ``seed`` fixes initialisation-independent randomness (negatives, shuffling,
dropout); seed the model's initialisation yourself (``torch.manual_seed``) before building it.

A model may define ``loss(users, movies, labels)`` (pointwise) or
``bpr_loss(users, positives, negatives)`` (pairwise) to replace the default loss, e.g. to add
regularisation; otherwise the loop calls ``model.score``.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from graphrec.data.sampling import PairwiseSampler, PointwiseSampler
from graphrec.data.split import InteractionSplit
from graphrec.evaluate import evaluate
from graphrec.io import resolve_device, seed_everything

__all__ = ["History", "fit"]


@dataclass
class History:
    """Per-epoch records (``epoch``, ``loss``, ``seconds``, ``valid_hr@k``, ``valid_ndcg@k``)."""

    epochs: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    best_score: float = float("-inf")
    train_seconds: float = 0.0
    stopped_early: bool = False

    @property
    def epoch_seconds(self) -> list[float]:
        return [e["seconds"] for e in self.epochs]

    def to_csv(self, path) -> None:
        import pandas as pd

        from graphrec.io import atomic_write

        with atomic_write(path, "w") as fh:
            pd.DataFrame(self.epochs).to_csv(fh, index=False)

    def summary(self) -> dict:
        return {
            "best_epoch": self.best_epoch,
            "best_valid_score": self.best_score,
            "epochs_run": len(self.epochs),
            "stopped_early": self.stopped_early,
            "train_seconds": round(self.train_seconds, 3),
            "epoch_seconds": [round(s, 4) for s in self.epoch_seconds],
        }


def fit(
    model: torch.nn.Module,
    split: InteractionSplit,
    *,
    objective: str = "bce",
    epochs: int = 20,
    batch_size: int = 4096,
    lr: float = 5e-3,
    weight_decay: float = 0.0,
    num_negatives: int = 4,
    patience: int | None = 5,
    k: int = 10,
    eval_protocol: str = "sampled",
    eval_every: int = 1,
    seed: int = 0,
    device: str | torch.device = "auto",
    progress: bool = True,
    optimizer: torch.optim.Optimizer | None = None,
) -> History:
    """Train ``model`` on ``split`` and return its :class:`History`.

    Args:
        objective: ``bce`` (pointwise) or ``bpr`` (pairwise).
        epochs: maximum number of epochs (default 20).
        batch_size: examples per optimiser step (default 4096; large batches are much
            faster per epoch on CPU than the 256 of the NCF paper, see DESIGN.md).
        lr: Adam learning rate (default 5e-3).
        weight_decay: Adam L2 penalty (default 0).
        num_negatives: negatives per positive (bce) or per triple positive (bpr).
        patience: epochs without a better valid NDCG@K before stopping (None: never stop).
        k: the K of HR@K / NDCG@K used for validation.
        eval_protocol: ``sampled`` (default) or ``full`` for validation.
        eval_every: validate every this many epochs (the last epoch is always validated).
        seed: seeds negatives, shuffling and dropout.
        device: ``auto``, ``cpu`` or ``cuda``.
        progress: show a tqdm progress bar.
        optimizer: use this optimiser instead of Adam(lr, weight_decay).
    """
    if objective not in ("bce", "bpr"):
        raise ValueError(f"objective must be 'bce' or 'bpr', not {objective!r}")
    if epochs < 1 or batch_size < 1:
        raise ValueError("epochs and batch_size must be positive")
    dev = resolve_device(device)
    model.to(dev)
    gen = seed_everything(seed)
    sampler = (
        PointwiseSampler(split, num_negatives)
        if objective == "bce"
        else PairwiseSampler(split, num_negatives)
    )
    opt = optimizer or torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    if hasattr(model, "remember_seen"):
        model.remember_seen(split)
    hist = History()
    best_state = None
    bad = 0
    bar = tqdm(
        range(1, epochs + 1),
        desc=f"train {type(model).__name__}",
        unit="epoch",
        disable=not progress,
        leave=False,
    )
    t_start = time.perf_counter()
    for epoch in bar:
        t0 = time.perf_counter()
        model.train()
        a, b, c = (t.to(dev) for t in sampler.epoch(gen))
        total, n = 0.0, a.numel()
        for s in range(0, n, batch_size):
            ba, bb, bc = a[s : s + batch_size], b[s : s + batch_size], c[s : s + batch_size]
            if objective == "bce":
                if hasattr(model, "loss"):
                    loss = model.loss(ba, bb, bc)
                else:
                    loss = F.binary_cross_entropy_with_logits(model.score(ba, bb), bc)
            else:
                if hasattr(model, "bpr_loss"):
                    loss = model.bpr_loss(ba, bb, bc)
                else:
                    loss = -F.logsigmoid(model.score(ba, bb) - model.score(ba, bc)).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * ba.numel()
        record = {"epoch": epoch, "loss": total / n, "seconds": time.perf_counter() - t0}
        if epoch % eval_every == 0 or epoch == epochs:
            m = evaluate(model, split, "valid", eval_protocol, k=k, seed=seed)
            record[f"valid_hr@{k}"] = m[f"hr@{k}"]
            record[f"valid_ndcg@{k}"] = m[f"ndcg@{k}"]
            record["eval_seconds"] = m["seconds"]
            score = m[f"ndcg@{k}"]
            if score > hist.best_score:
                hist.best_score, hist.best_epoch, bad = score, epoch, 0
                best_state = copy.deepcopy(model.state_dict())
            else:
                bad += 1
            bar.set_postfix(loss=f"{record['loss']:.4f}", ndcg=f"{score:.4f}")
        hist.epochs.append(record)
        if patience is not None and bad >= patience:
            hist.stopped_early = True
            break
    hist.train_seconds = time.perf_counter() - t_start
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return hist
