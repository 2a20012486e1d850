"""Throughput of a training run: its wall time in the loop and the examples it drew.

Every :func:`~infobounds.training.fit` call appends one JSON line ``{"desc", "device", "steps",
"seconds", "examples"}`` to the file named by ``$INFOBOUNDS_RUN_LOG`` when that is set; ``reproduce``
sums them per chapter.
"""

from __future__ import annotations

import json
import os
import time

import torch

__all__ = ["RUN_LOG_VAR", "Throughput", "batch_examples"]

RUN_LOG_VAR = "INFOBOUNDS_RUN_LOG"  # a file to which every fit() call appends its throughput (JSON lines)


def batch_examples(batch) -> int:
    """Number of examples in a batch: the leading size of its first tensor (0 when it has none)."""
    items = batch if isinstance(batch, (tuple, list)) else (batch,)
    return next((int(t.shape[0]) for t in items if isinstance(t, torch.Tensor) and t.ndim), 0)


class Throughput:
    """Counts the examples drawn (:meth:`count` per batch) and, as a context manager around the loop,
    its wall time in ``seconds``."""

    def __init__(self) -> None:
        self.examples = 0
        self.seconds = 0.0
        self._started = 0.0

    def count(self, batch) -> None:
        self.examples += batch_examples(batch)

    def __enter__(self) -> "Throughput":
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self._started

    def append_to_run_log(self, desc: str, device: str, steps: int) -> None:
        """Append this run's throughput to ``$INFOBOUNDS_RUN_LOG`` (nothing when it is unset)."""
        path = os.environ.get(RUN_LOG_VAR)
        if not path:
            return
        with open(path, "a") as f:
            f.write(json.dumps({"desc": desc, "device": device, "steps": steps, "seconds": self.seconds,
                                "examples": self.examples}) + "\n")
