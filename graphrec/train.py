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
regularisation; otherwise the loop scores pairs with ``model.forward(users, movies)`` when the
model defines one (the unchecked training path of e.g. :mod:`graphrec.models.ncf`, which skips
the per-step index validation of ``score``) and with ``model.score`` otherwise.

Speed (CPU): each epoch's examples are drawn in one vectorised call (no per-sample Python),
then walked in slices of ``batch_size``; the running loss stays a tensor (no per-step
synchronisation) and Adam uses its fused CPU kernel where torch has one. ``History`` records
per epoch the train seconds, the validation seconds and the wall time since ``fit`` began
(``elapsed``, train + validation), so time-to-quality can be read off it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

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
    """Per-epoch records: ``epoch``, ``loss``, ``seconds`` (training only), ``sample_seconds``
    (drawing the epoch's negatives, part of ``seconds``), ``valid_hr@k``, ``valid_ndcg@k``,
    ``eval_seconds`` and ``elapsed`` (wall seconds since ``fit`` began, at the end of the
    epoch's validation)."""

    epochs: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    best_score: float = float("-inf")
    train_seconds: float = 0.0
    stopped_early: bool = False

    @property
    def epoch_seconds(self) -> list[float]:
        return [e["seconds"] for e in self.epochs]

    @property
    def eval_seconds(self) -> list[float]:
        return [e["eval_seconds"] for e in self.epochs if "eval_seconds" in e]

    def time_to(self, key: str, target: float) -> float | None:
        """Wall seconds (``elapsed``) until ``key`` (e.g. ``valid_ndcg@10``) first reached
        ``target``; None if it never did."""
        for e in self.epochs:
            if e.get(key, float("-inf")) >= target:
                return e["elapsed"]
        return None

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
            "eval_seconds": [round(s, 4) for s in self.eval_seconds],
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
    lr_decay: float = 1.0,
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
        lr_decay: multiply the learning rate by this after every epoch (default 1: constant).
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
    if not 0.0 < lr_decay <= 1.0:
        raise ValueError(f"lr_decay must be in (0, 1], not {lr_decay}")
    opt = optimizer or _adam(model, lr, weight_decay)
    if hasattr(model, "remember_seen"):
        model.remember_seen(split)
    pair_score = _pair_scorer(model)
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
        t_sampled = time.perf_counter()
        total, n = torch.zeros((), device=dev), a.numel()
        for s in range(0, n, batch_size):
            ba, bb, bc = a[s : s + batch_size], b[s : s + batch_size], c[s : s + batch_size]
            if objective == "bce":
                if hasattr(model, "loss"):
                    loss = model.loss(ba, bb, bc)
                else:
                    loss = F.binary_cross_entropy_with_logits(pair_score(ba, bb), bc)
            else:
                if hasattr(model, "bpr_loss"):
                    loss = model.bpr_loss(ba, bb, bc)
                else:
                    loss = -F.logsigmoid(pair_score(ba, bb) - pair_score(ba, bc)).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach() * ba.numel()
        record = {
            "epoch": epoch,
            "loss": float(total) / n,
            "lr": opt.param_groups[0]["lr"],
            "seconds": time.perf_counter() - t0,
            "sample_seconds": t_sampled - t0,
        }
        if lr_decay != 1.0:
            for group in opt.param_groups:
                group["lr"] *= lr_decay
        if epoch % eval_every == 0 or epoch == epochs:
            m = evaluate(model, split, "valid", eval_protocol, k=k, seed=seed)
            record[f"valid_hr@{k}"] = m[f"hr@{k}"]
            record[f"valid_ndcg@{k}"] = m[f"ndcg@{k}"]
            record["eval_seconds"] = m["seconds"]
            score = m[f"ndcg@{k}"]
            if score > hist.best_score:
                hist.best_score, hist.best_epoch, bad = score, epoch, 0
                best_state = {key: v.detach().clone() for key, v in model.state_dict().items()}
            else:
                bad += 1
            bar.set_postfix(loss=f"{record['loss']:.4f}", ndcg=f"{score:.4f}")
        record["elapsed"] = time.perf_counter() - t_start
        hist.epochs.append(record)
        if patience is not None and bad >= patience:
            hist.stopped_early = True
            break
    hist.train_seconds = time.perf_counter() - t_start
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return hist


def _adam(model: torch.nn.Module, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    """Adam, with torch's fused kernel when every parameter's device supports it."""
    params = [p for p in model.parameters() if p.requires_grad]
    try:
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, fused=True)
    except (RuntimeError, TypeError, ValueError):  # older torch / unsupported device
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)


def _pair_scorer(model: torch.nn.Module):
    """``model.forward`` when the model defines it (unchecked, fast), else ``model.score``."""
    if type(model).forward is not torch.nn.Module.forward:
        return model
    return model.score


def fit_settings(
    model,
    split: InteractionSplit,
    settings: dict[str, Any],
    objective: str,
    seed: int = 0,
    device: str | torch.device = "auto",
    progress: bool = True,
) -> History:
    """:func:`fit` with a model family's settings dict (keys ``epochs``, ``batch_size``, ``lr``,
    ``negatives``, ``patience``; other keys are the family's own and ignored), as the tasks'
    ``DEFAULTS`` and the benchmark's settings hold them."""
    return fit(
        model,
        split,
        objective=objective,
        epochs=settings["epochs"],
        batch_size=settings["batch_size"],
        lr=settings["lr"],
        num_negatives=settings["negatives"],
        patience=settings["patience"],
        seed=seed,
        device=device,
        progress=progress,
    )
