"""Data-parallel training across processes with ``torch.distributed`` (one place for it).

``torchrun --nproc-per-node N experiments/run.py --task bpr ...`` starts N processes with
``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK`` set; :func:`init` joins them into one process group
(backend ``gloo`` on the CPU, ``nccl`` on CUDA), and :func:`graphrec.train.fit` then trains
with :class:`~torch.nn.parallel.DistributedDataParallel`: every rank takes its own slice of
each global batch (:func:`epoch_shard`), gradients are averaged, rank 0 alone validates and
broadcasts its early-stopping decision.

A single process (no ``WORLD_SIZE``, or ``WORLD_SIZE=1``) never makes a process group: every
helper here then answers as rank 0 of 1 and training is exactly the single-process loop.
"""

from __future__ import annotations

import atexit
import os
from typing import Any

import torch
import torch.distributed as dist

__all__ = [
    "BACKENDS",
    "launched",
    "init",
    "teardown",
    "is_distributed",
    "rank",
    "world_size",
    "local_rank",
    "is_main",
    "backend",
    "broadcast_object",
    "broadcast_module",
    "all_reduce_sum",
    "epoch_shard",
    "single_process_only",
]

#: values of ``--backend``
BACKENDS = ("auto", "gloo", "nccl")


def launched() -> bool:
    """Whether this process is one of several started by ``torchrun`` (``WORLD_SIZE`` > 1)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def is_distributed() -> bool:
    """Whether a process group of more than one process is running."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    """This process's rank (0 without a process group)."""
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    """The number of processes training together (1 without a process group)."""
    return dist.get_world_size() if is_distributed() else 1


def local_rank() -> int:
    """This process's rank on its machine (``LOCAL_RANK``; 0 without one)."""
    return int(os.environ.get("LOCAL_RANK", "0")) if is_distributed() else 0


def is_main() -> bool:
    """Rank 0: the one process that validates, prints and writes the run folder."""
    return rank() == 0


def backend() -> str | None:
    """The process group's backend (``gloo``, ``nccl``), ``None`` for a single process."""
    return str(dist.get_backend()) if is_distributed() else None


def init(backend_name: str | None = "auto", device: str | torch.device | None = "auto") -> bool:
    """Join the ``torchrun`` process group if this process was launched as one of several;
    returns whether it did (idempotent; a single process returns False and makes nothing).

    Args:
        backend_name: ``auto`` (``None`` too: ``nccl`` when ``device`` resolves to CUDA, else
            ``gloo``), ``gloo`` or ``nccl``.
        device: the training device (``auto``, ``cpu``, ``cuda``); with CUDA each rank takes
            the GPU ``LOCAL_RANK``.

    Raises:
        ValueError: an unknown backend, or ``nccl`` without CUDA.
    """
    if is_distributed():
        return True
    if not launched():
        return False
    name = backend_name or "auto"
    if name not in BACKENDS:
        raise ValueError(f"--backend must be one of {BACKENDS}, not {name!r}")
    from graphrec.io import resolve_device

    dev = resolve_device(device or "auto")
    if name == "auto":
        name = "nccl" if dev.type == "cuda" else "gloo"
    if name == "nccl":
        if dev.type != "cuda":
            raise ValueError("--backend nccl needs CUDA (--device cuda); use gloo on the CPU")
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend=name)
    atexit.register(teardown)
    return True


def teardown() -> None:
    """Leave the process group (no-op without one)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def single_process_only(name: str, how: str = "fits in closed form") -> None:
    """Raise ``ValueError`` when launched as one of several processes: ``name`` (a model
    that ``how``, outside the data-parallel loop of :func:`graphrec.train.fit`) trains as one
    process only; running it on every rank would only repeat the same work N times."""
    if launched() or is_distributed():
        raise ValueError(
            f"{name} {how} and does not train data-parallel; run it as one process "
            f"(without torchrun; WORLD_SIZE is {os.environ.get('WORLD_SIZE', world_size())})"
        )


def broadcast_object(obj: Any, src: int = 0) -> Any:
    """``obj`` of rank ``src`` on every rank (picklable objects; returned as is alone)."""
    if not is_distributed():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=src)
    return box[0]


def broadcast_module(module: torch.nn.Module, src: int = 0) -> None:
    """Copy every parameter and buffer of rank ``src``'s ``module`` to the other ranks."""
    if not is_distributed():
        return
    with torch.no_grad():
        for tensor in module.state_dict().values():
            if isinstance(tensor, torch.Tensor) and tensor.numel():
                dist.broadcast(tensor, src=src)


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """``tensor`` summed over the ranks, in place (unchanged alone)."""
    if is_distributed():
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def epoch_shard(
    n: int, batch_size: int, rank: int, world_size: int
) -> tuple[torch.Tensor, list[tuple[int, float]]]:
    """This rank's part of an epoch of ``n`` shuffled examples walked in global batches of
    ``batch_size``: ``(positions, steps)``.

    Each global batch ``[s, s + g)`` is cut into ``world_size`` consecutive parts of sizes
    differing by at most one (the first ones larger); rank ``r`` takes part ``r``. So the
    ranks' parts are disjoint, together they cover the epoch, every rank makes the same
    number of steps, and step ``i`` of all ranks together is the single-process batch ``i``.

    ``positions`` ([M] long) are positions into the shuffled epoch, step after step;
    ``steps`` holds ``(count, weight)`` per step: ``count`` positions, and the factor
    ``world_size * count / g`` to scale the rank's mean loss by, so that the gradient DDP
    averages is the gradient of the mean over the whole global batch. A part left empty (a
    last global batch of fewer than ``world_size`` examples) is one stand-in position of
    weight 0: every rank must take part in every step.
    """
    if not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} is not in 0..{world_size - 1}")
    parts, steps = [], []
    for s in range(0, n, batch_size):
        g = min(batch_size, n - s)
        q, rem = divmod(g, world_size)
        size = q + (1 if rank < rem else 0)
        lo = s + rank * q + min(rank, rem)
        if size:
            parts.append(torch.arange(lo, lo + size))
            steps.append((size, world_size * size / g))
        else:
            parts.append(torch.tensor([s]))
            steps.append((1, 0.0))
    positions = torch.cat(parts) if parts else torch.zeros(0, dtype=torch.long)
    return positions, steps
