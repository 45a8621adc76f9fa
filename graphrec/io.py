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


def load_tensors(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Load tensors saved by :func:`save_tensors`; never unpickles arbitrary objects."""
    return torch.load(path, map_location=map_location, weights_only=True)


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


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """``auto`` picks CUDA when available; asking for CUDA without it is a clear error."""
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            f"--device {device} was asked for but torch sees no CUDA device "
            f"(torch {torch.__version__}); use --device cpu or install a CUDA build of torch."
        )
    return dev
