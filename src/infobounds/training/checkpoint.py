"""Checkpoints: written atomically, read with ``weights_only=True``."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch


def save_checkpoint(state: dict, path: str | Path) -> Path:
    """Write ``state`` to ``path`` atomically.

    The state goes to a temporary file in the same folder, is flushed to disk, then renamed over
    ``path``: a crash mid-write leaves the previous checkpoint intact, never a truncated one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint written by :func:`save_checkpoint` (tensors and plain containers only)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    return torch.load(path, map_location=map_location, weights_only=True)
