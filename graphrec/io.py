"""Small shared helpers: atomic file writes, package versions, seeding and devices.

Everything graphrec writes (caches, run folders, checkpoints) goes through
:func:`atomic_write` so that an interrupted run never leaves a half-written file:
data is written to a temporary name in the same folder and then renamed.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import random
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = [
    "atomic_write",
    "write_json",
    "read_json",
    "save_tensors",
    "load_tensors",
    "package_versions",
    "seed_everything",
    "resolve_device",
    "DeviceError",
    "CheckpointError",
]


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[Any]:
    """Open a temporary file beside ``path``; rename it onto ``path`` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as fh:
            yield fh
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _json_default(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot write {type(obj).__name__} to JSON")


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON, atomically."""
    with atomic_write(path, "w") as fh:
        json.dump(obj, fh, indent=2, default=_json_default)
        fh.write("\n")
    return Path(path)


def read_json(path: str | os.PathLike) -> Any:
    with open(path) as fh:
        return json.load(fh)


def save_tensors(path: str | os.PathLike, tensors: dict[str, torch.Tensor]) -> Path:
    """Save a flat dict of tensors atomically (loadable with ``weights_only=True``)."""
    with atomic_write(path, "wb") as fh:
        torch.save({k: v.detach().cpu() for k, v in tensors.items()}, fh)
    return Path(path)


class CheckpointError(ValueError):
    """A checkpoint or tensor file graphrec refuses to load: damaged, not graphrec's, holding
    pickled objects, holding NaN/inf, or made for other data. The message names the file."""


def load_tensors(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Load the flat ``{name: tensor}`` dict :func:`save_tensors` wrote.

    Loads with ``weights_only=True``: a file that holds pickled Python objects (which could run
    code when unpickled) is refused with a :class:`CheckpointError`, never unpickled, and so is
    a file that is not a tensor file at all or holds anything but named tensors."""
    import pickle
    import warnings

    path = Path(path)
    try:
        with warnings.catch_warnings():  # torch's notes on foreign pickle protocols
            warnings.simplefilter("ignore", UserWarning)
            obj = torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL (\S+) was not an allowed global", str(exc))
        if found:
            raise CheckpointError(
                f"{path} is not a graphrec checkpoint: it holds pickled Python objects "
                f"({found.group(1)}), not only tensors, and is refused (unpickling it could run "
                "code); use a file graphrec saved, or retrain"
            ) from None
        raise CheckpointError(
            f"{path} is not a graphrec checkpoint: it is not a tensor file graphrec wrote "
            "(damaged, or pickled by another program) and is refused, never unpickled; use a "
            "file graphrec saved, or retrain"
        ) from None
    except Exception as exc:  # torch's readers raise many kinds on a damaged file
        text = str(exc).strip().splitlines()
        first = f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
        raise CheckpointError(
            f"{path} cannot be read as a tensor file ({first}): it is damaged or not a "
            "graphrec checkpoint; retrain, or pass a file graphrec saved"
        ) from None
    if not isinstance(obj, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()
    ):
        raise CheckpointError(
            f"{path} does not hold named tensors (it holds a {type(obj).__name__}): not a "
            "graphrec checkpoint; retrain, or pass a file graphrec saved"
        )
    return obj


def package_versions() -> dict[str, str]:
    """Versions of Python and of the packages whose behaviour decides our numbers."""
    from importlib import metadata

    out = {"python": platform.python_version(), "platform": platform.platform()}
    for name in [
        "graphrec",
        "torch",
        "torch-geometric",
        "numpy",
        "pandas",
        "scipy",
        "scikit-learn",
        "captum",
        "shap",
        "lime",
        "umap-learn",
        "matplotlib",
    ]:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return a fresh CPU generator seeded with ``seed``."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


class DeviceError(ValueError):
    """A device that this machine does not have (``--device cuda`` without CUDA)."""


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """``auto`` picks CUDA when available; asking for a device torch cannot see is a
    :class:`DeviceError` naming it and what to pass instead."""
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise DeviceError(
            f"--device {device!r} is not a device; use auto, cpu, cuda or cuda:N"
        ) from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(
                f"--device {device} was asked for but torch sees no CUDA device "
                f"(torch {torch.__version__}); use --device cpu (or auto), or install a CUDA "
                "build of torch"
            )
        count = torch.cuda.device_count()
        if dev.index is not None and dev.index >= count:
            raise DeviceError(
                f"--device {device}: torch sees {count} CUDA device(s), cuda:0..cuda:{count - 1}"
                "; pass one of those"
            )
    return dev
