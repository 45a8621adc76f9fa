"""One way to train: a typed :class:`TrainConfig` and one fit loop for every trainable model.

``fit(model, split, config)`` (or ``model.fit(split, config)``) trains ``model`` with the
objective it declares (``model.fit_objective``):

- ``bce`` (pointwise): binary cross-entropy with logits on train positives plus
  ``num_negatives`` uniform negatives per positive, redrawn every epoch;
- ``bpr`` (pairwise): Bayesian personalised ranking on (user, positive, negative) triples;
- ``rating``: mean squared error on the train ratings (the feature MLP's rating objective).

The model owns its loss and its validation through hooks with defaults here: ``loss(users,
movies, labels)`` / ``bpr_loss(users, positives, negatives)`` / ``rating_loss(users, movies,
ratings)`` replace the default losses (e.g. to add regularisation), ``validation(split, config)``
replaces the default validation (NDCG@K under ``eval_protocol``; higher is better), and
``before_fit(split, config)`` runs once before the first epoch. Every model trains with Adam,
validates every ``eval_every`` epochs, stops early after ``patience`` validations without a
better score and keeps its best weights.

**Defaults.** Every field of :class:`TrainConfig` left ``None`` takes, in order, the value
:mod:`graphrec.presets` gives for (model, data set), the model's own
``training_defaults()`` and :data:`TRAIN_DEFAULTS`; :meth:`TrainConfig.resolve` shows the result,
which ``History.config`` records. So ``model.fit(split)`` trains with the best settings known for
that model, and ``model.fit(split, TrainConfig(epochs=5))`` changes the epochs alone.

**Seeds.** ``seed`` fixes negatives, shuffling and dropout; a model's initial weights come from
its constructor's ``seed``. Same seed, same machine: same numbers.

**Speed (CPU).** Each epoch's examples are drawn in one vectorised call, then walked in slices
of ``batch_size``; the running loss stays a tensor (no per-step synchronisation) and Adam uses
its fused CPU kernel where torch has one. ``History`` records per epoch the train seconds, the
validation seconds and the wall time since ``fit`` began (``elapsed``).

**Data parallel.** Launched by ``torchrun --nproc-per-node N`` (``WORLD_SIZE`` > 1), ``fit``
joins the process group (:mod:`graphrec.distributed`; gloo on the CPU, nccl on CUDA) and runs
the model's loss hook through ``DistributedDataParallel``: each global batch of ``batch_size``
examples is cut into N disjoint parts, one per rank (:func:`graphrec.distributed.epoch_shard`),
so the total batch is that of one process; the shuffle is the same on every rank (``seed``),
negatives and dropout are drawn per rank (``seed + rank``). Rank 0 alone validates and
broadcasts its score, so every rank keeps the same best epoch and stops at the same epoch; the
best weights are restored on all ranks. One process (no ``WORLD_SIZE``) runs the loop above,
unchanged: same seed, same numbers.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from graphrec import distributed
from graphrec.data.sampling import PairwiseSampler, PointwiseSampler, RatingSampler
from graphrec.data.split import InteractionSplit
from graphrec.evaluate import evaluate
from graphrec.io import resolve_device, seed_everything

__all__ = [
    "TrainingDivergedError",
    "TrainConfig",
    "TRAIN_DEFAULTS",
    "History",
    "fit",
    "ranking_validation",
    "progress_enabled",
    "OBJECTIVES",
]

OBJECTIVES = ("bce", "bpr", "rating")


class TrainingDivergedError(FloatingPointError):
    """The training loss became NaN or infinite: the learning rate is too high for the model
    (or the data holds non-finite values). ``epoch`` is the epoch it happened in."""

    def __init__(self, message: str, epoch: int) -> None:
        super().__init__(message)
        self.epoch = epoch


#: the last fallback of every training field (a model's ``training_defaults()`` and the presets
#: come first; see :meth:`TrainConfig.resolve`)
TRAIN_DEFAULTS: dict[str, Any] = {
    "epochs": 20,
    "batch_size": 4096,
    "lr": 5e-3,
    "weight_decay": 0.0,
    "lr_decay": 1.0,
    "num_negatives": 4,
    "patience": 5,
    "eval_k": 10,
    "eval_protocol": "sampled",
    "eval_every": 1,
}


@dataclass
class TrainConfig:
    """Settings of one training run; ``None`` means "the model's default" (see the module
    docstring).

    Args:
        epochs: maximum number of epochs.
        batch_size: examples per optimiser step.
        lr: Adam learning rate.
        weight_decay: Adam L2 penalty.
        lr_decay: multiply the learning rate by this after every epoch (1: constant).
        num_negatives: negatives per positive (``bce``) or per triple's positive (``bpr``).
        patience: validations without a better score before stopping; 0 never stops.
        eval_k: the K of HR@K / NDCG@K used for validation.
        eval_protocol: ``sampled`` (1 + 99 candidates) or ``full`` for validation.
        eval_every: validate every this many epochs (the last epoch is always validated).
        seed: seeds negatives, shuffling and dropout (default 0).
        device: ``auto`` (CUDA when available), ``cpu`` or ``cuda[:N]``.
        progress: a progress bar; ``None`` (default) shows one only on a terminal.
        threads: torch intra-op threads (``None``: torch's choice).
    """

    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    weight_decay: float | None = None
    lr_decay: float | None = None
    num_negatives: int | None = None
    patience: int | None = None
    eval_k: int | None = None
    eval_protocol: str | None = None
    eval_every: int | None = None
    seed: int = 0
    device: str = "auto"
    progress: bool | None = None
    threads: int | None = None

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with ``changes`` applied (unknown names raise ``TypeError``)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """From :meth:`to_dict`'s output (e.g. a run's ``config.json``); unknown keys raise."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"unknown training setting(s) {unknown}; known: {sorted(names)}")
        return cls(**d)

    def resolve(self, model: Any, dataset: str | None = None) -> TrainConfig:
        """Every ``None`` field filled from the presets of ``(model, dataset)``, the model's
        ``training_defaults()`` and :data:`TRAIN_DEFAULTS`, then checked."""
        from graphrec.presets import train_preset

        own = model.training_defaults() if hasattr(model, "training_defaults") else {}
        preset = train_preset(type(model).__name__, dataset)
        filled = {}
        for key, fallback in TRAIN_DEFAULTS.items():
            value = getattr(self, key)
            if value is None:
                value = preset.get(key, own.get(key, fallback))
            filled[key] = value
        out = self.replace(**filled)
        out.check()
        return out

    def check(self) -> None:
        """Raise ``ValueError`` naming the first field out of range."""
        rules = {
            "epochs": lambda v: v is None or v >= 1,
            "batch_size": lambda v: v is None or v >= 1,
            "lr": lambda v: v is None or v > 0,
            "weight_decay": lambda v: v is None or v >= 0,
            "lr_decay": lambda v: v is None or 0 < v <= 1,
            "num_negatives": lambda v: v is None or v >= 1,
            "patience": lambda v: v is None or v >= 0,
            "eval_k": lambda v: v is None or v >= 1,
            "eval_protocol": lambda v: v is None or v in ("sampled", "full"),
            "eval_every": lambda v: v is None or v >= 1,
            "seed": lambda v: 0 <= v < 2**64,  # torch's generators take 64 bits
            "threads": lambda v: v is None or v >= 1,
        }
        for key, ok in rules.items():
            if not ok(getattr(self, key)):
                raise ValueError(
                    f"TrainConfig.{key}={getattr(self, key)!r} is out of range "
                    f"(epochs, batch_size, num_negatives, eval_k, eval_every >= 1; lr > 0; "
                    f"lr_decay in (0, 1]; patience >= 0, 0 never stops; eval_protocol "
                    f"'sampled' or 'full'; seed in 0..2**64-1)"
                )


def progress_enabled(progress: bool | None) -> bool:
    """``progress`` itself, or (``None``) whether standard error is a terminal: progress bars
    in a piped log are noise."""
    if progress is not None:
        return bool(progress)
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


@dataclass
class History:
    """Per-epoch records: ``epoch``, ``loss``, ``lr``, ``seconds`` (training only),
    ``sample_seconds`` (drawing the epoch's examples, part of ``seconds``), the validation
    fields (``valid_hr@k``, ``valid_ndcg@k``; ``valid_rmse``, ``valid_mae`` for ratings),
    ``eval_seconds`` and ``elapsed`` (wall seconds since ``fit`` began). ``config`` is the
    resolved :class:`TrainConfig` as a dict; ``selection`` names what the best epoch was chosen
    on."""

    epochs: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    best_score: float = float("-inf")
    train_seconds: float = 0.0
    stopped_early: bool = False
    config: dict[str, Any] = field(default_factory=dict)
    objective: str = ""
    selection: str = ""

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
            "objective": self.objective,
            "selection": self.selection,
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
    config: TrainConfig | None = None,
    *,
    optimizer: torch.optim.Optimizer | None = None,
    **overrides: Any,
) -> History:
    """Train ``model`` on ``split`` and return its :class:`History` (best weights restored).

    Args:
        model: a :class:`~graphrec.models.base.Recommender` (or any module with ``score``).
        split: the interaction split; its valid stage selects the best epoch.
        config: the settings (default: all of the model's defaults).
        optimizer: use this optimiser instead of Adam(lr, weight_decay).
        overrides: fields of :class:`TrainConfig` to change (``fit(m, s, epochs=3)``).

    Raises:
        TrainingDivergedError: the loss of an epoch became NaN or infinite (the learning
            rate is too high); the model is left at its best epoch so far.
    """
    config = (config or TrainConfig()).replace(**overrides)
    ids = getattr(split, "ids", None)
    cfg = config.resolve(model, ids.dataset if ids is not None else None)
    objective = getattr(model, "fit_objective", "bce")
    if objective not in OBJECTIVES:
        raise ValueError(f"{type(model).__name__}.fit_objective must be one of {OBJECTIVES}")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    dev = resolve_device(cfg.device)
    distributed.init("auto", dev)  # joins torchrun's process group, if launched by it
    world, rank = distributed.world_size(), distributed.rank()
    if world > 1 and dev.type == "cuda":
        dev = torch.device("cuda", distributed.local_rank())
    model.to(dev)
    gen = seed_everything(cfg.seed)  # the shuffle: the same on every rank
    neg_gen = None
    if world > 1:
        torch.manual_seed(cfg.seed + rank)  # dropout: one stream per rank
        neg_gen = torch.Generator().manual_seed(cfg.seed + rank)  # negatives: one per rank
    if objective == "bce":
        sampler = PointwiseSampler(split, cfg.num_negatives)
    elif objective == "bpr":
        sampler = PairwiseSampler(split, cfg.num_negatives)
    else:
        sampler = RatingSampler(split)
    if hasattr(model, "remember_seen"):
        model.remember_seen(split)
    if hasattr(model, "before_fit"):
        model.before_fit(split, cfg)
    opt = optimizer or _adam(model, cfg.lr, cfg.weight_decay)
    step_loss = _loss_function(model, objective)
    if world > 1:
        step_loss = _data_parallel(model, step_loss, dev)
    if hasattr(model, "validation"):
        validate = model.validation
    else:
        validate = functools.partial(ranking_validation, model)
    hist = History(config=cfg.to_dict(), objective=objective)
    best_state, bad = None, 0
    from tqdm.auto import tqdm

    bar = tqdm(
        range(1, cfg.epochs + 1),
        desc=f"train {type(model).__name__}",
        unit="epoch",
        disable=not progress_enabled(cfg.progress) or rank != 0,
        leave=False,
        dynamic_ncols=True,
    )
    t_start = time.perf_counter()
    for epoch in bar:
        t0 = time.perf_counter()
        model.train()
        if world == 1:
            a, b, c = (t.to(dev) for t in sampler.epoch(gen))
            t_sampled = time.perf_counter()
            total, n = torch.zeros((), device=dev), a.numel()
            for s in range(0, n, cfg.batch_size):
                ba, bb, bc = (t[s : s + cfg.batch_size] for t in (a, b, c))
                loss = step_loss(ba, bb, bc)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += loss.detach() * ba.numel()
            loss_value = float(total) / n
        else:
            positions, steps = distributed.epoch_shard(len(sampler), cfg.batch_size, rank, world)
            a, b, c = (t.to(dev) for t in sampler.shard(positions, gen, neg_gen))
            t_sampled = time.perf_counter()
            total = torch.zeros(2, device=dev, dtype=torch.float64)  # loss sum, examples
            s = 0
            for count, weight in steps:
                ba, bb, bc = (t[s : s + count] for t in (a, b, c))
                s += count
                loss = step_loss(ba, bb, bc)
                opt.zero_grad(set_to_none=True)
                (loss if weight == 1.0 else loss * weight).backward()
                opt.step()
                if weight:
                    total[0] += loss.detach().double() * count
                    total[1] += count
            distributed.all_reduce_sum(total)  # the epoch's mean loss over all ranks
            loss_value = float(total[0] / total[1])
        if not math.isfinite(loss_value):
            bar.close()
            if best_state is not None:  # leave the model at its best epoch, not at NaN
                model.load_state_dict(best_state)
            raise TrainingDivergedError(
                f"training {type(model).__name__} diverged in epoch {epoch}: the loss became "
                f"{loss_value} at learning rate {opt.param_groups[0]['lr']:g}; train with a "
                "lower --lr (TrainConfig.lr), e.g. a tenth of it",
                epoch,
            )
        record = {
            "epoch": epoch,
            "loss": loss_value,
            "lr": opt.param_groups[0]["lr"],
            "seconds": time.perf_counter() - t0,
            "sample_seconds": t_sampled - t0,
        }
        if cfg.lr_decay != 1.0:
            for group in opt.param_groups:
                group["lr"] *= cfg.lr_decay
        if epoch % cfg.eval_every == 0 or epoch == cfg.epochs:
            t1 = time.perf_counter()
            # rank 0 alone validates; the others take its score, so all stop together
            result = validate(split, cfg) if rank == 0 else None
            score, fields, hist.selection = distributed.broadcast_object(result)
            record.update(fields)
            record["eval_seconds"] = time.perf_counter() - t1
            if score > hist.best_score:
                hist.best_score, hist.best_epoch, bad = score, epoch, 0
                best_state = {key: v.detach().clone() for key, v in model.state_dict().items()}
            else:
                bad += 1
            bar.set_postfix(loss=f"{record['loss']:.4f}", valid=f"{score:.4f}")
        record["elapsed"] = time.perf_counter() - t_start
        hist.epochs.append(record)
        if cfg.patience and bad >= cfg.patience:
            hist.stopped_early = True
            break
    bar.close()
    hist.train_seconds = time.perf_counter() - t_start
    if best_state is not None:
        model.load_state_dict(best_state)
    distributed.broadcast_module(model)  # every rank ends with rank 0's weights
    model.eval()
    return hist


def ranking_validation(model, split, cfg: TrainConfig) -> tuple[float, dict, str]:
    """The default validation: ``(score, record fields, what was selected on)`` with score
    NDCG@K on valid under ``eval_protocol`` (HR@K recorded too)."""
    k = cfg.eval_k
    m = evaluate(model, split, "valid", cfg.eval_protocol, k=k, seed=cfg.seed)
    fields = {f"valid_hr@{k}": m[f"hr@{k}"], f"valid_ndcg@{k}": m[f"ndcg@{k}"]}
    selection = f"valid ndcg@{k} ({cfg.eval_protocol}), best weights restored"
    return m[f"ndcg@{k}"], fields, selection


def _loss_function(model, objective: str):
    """The model's loss hook for ``objective``, or the default loss on its pair scores."""
    pair_score = _pair_scorer(model)
    if objective == "bce":
        if hasattr(model, "loss"):
            return model.loss
        return lambda u, m, y: F.binary_cross_entropy_with_logits(pair_score(u, m), y)
    if objective == "bpr":
        if hasattr(model, "bpr_loss"):
            return model.bpr_loss
        return lambda u, p, n: -F.logsigmoid(pair_score(u, p) - pair_score(u, n)).mean()
    if hasattr(model, "rating_loss"):
        return model.rating_loss
    return lambda u, m, r: F.mse_loss(pair_score(u, m), r)


class _LossModule(torch.nn.Module):
    """``model``'s loss hook as a module's forward, for DDP to wrap (DDP synchronises the
    gradients of the parameters a forward of the wrapped module uses)."""

    def __init__(self, model: torch.nn.Module, loss) -> None:
        super().__init__()
        self.model, self._loss = model, loss

    def forward(self, *batch: torch.Tensor) -> torch.Tensor:
        return self._loss(*batch)


def _data_parallel(model: torch.nn.Module, loss, dev: torch.device):
    """``loss`` run through :class:`~torch.nn.parallel.DistributedDataParallel` (parameters
    broadcast from rank 0 now, gradients averaged over the ranks at every backward)."""
    from torch.nn.parallel import DistributedDataParallel

    name = type(model).__name__
    if not any(p.requires_grad for p in model.parameters()):
        raise ValueError(f"{name} has no trainable parameters: it cannot train data-parallel")
    import inspect

    # buffers (graphs, seen movies) do not change in training: synchronised at the wrap only
    known = inspect.signature(DistributedDataParallel.__init__).parameters
    no_sync = "forward_sync_buffers" if "forward_sync_buffers" in known else "broadcast_buffers"
    try:
        ddp = DistributedDataParallel(
            _LossModule(model, loss),
            device_ids=[dev.index] if dev.type == "cuda" else None,
            **{no_sync: False},
        )
    except (RuntimeError, ValueError) as exc:
        raise ValueError(f"{name} cannot train data-parallel (DDP): {exc}") from exc

    def step(*batch: torch.Tensor) -> torch.Tensor:
        try:
            return ddp(*batch)
        except RuntimeError as exc:
            if "reduction" in str(exc) or "unused" in str(exc):
                raise ValueError(
                    f"{name} cannot train data-parallel: its loss leaves some parameters "
                    f"without a gradient ({str(exc).splitlines()[0]})"
                ) from exc
            raise

    return step


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
