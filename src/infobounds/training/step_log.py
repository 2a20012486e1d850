"""The per-step values of a run: read on the host in batches, checked for NaN/inf, logged and shown.

Reading a loss on the host waits for the device, so :class:`StepLog` keeps each step's values as
tensors and moves them to the host every ``sync_every`` steps (and before a checkpoint and at the
end). There it checks each value, stopping with a :class:`NonFiniteLossError` that names the exact
step, player and term where a NaN/inf first appeared; appends every ``log_every``-th step (and the
last) to the :class:`~infobounds.training.history.History`; and shows the latest values on a tqdm
progress bar.
"""

from __future__ import annotations

import math
import os
import sys

import torch
from tqdm.auto import tqdm as _tqdm_auto
from tqdm.std import tqdm as _tqdm_text

from infobounds.training.history import History

__all__ = ["NonFiniteLossError", "StepLog", "progress_bar"]


class NonFiniteLossError(FloatingPointError):
    """A loss term became NaN or infinite; the message names the step, player and term."""


def progress_bar(total: int, initial: int, enabled: bool, desc: str):
    """A tqdm bar on stderr, or None when disabled (or ``INFOBOUNDS_PROGRESS=0``)."""
    if not enabled or os.environ.get("INFOBOUNDS_PROGRESS", "1") == "0":
        return None
    # A text bar in notebooks too: widget bars need a live kernel and vanish from the built book.
    bar_cls = _tqdm_text if "ipykernel" in sys.modules else _tqdm_auto
    return bar_cls(total=total, initial=initial, desc=desc, mininterval=1.0, ncols=110,
                   file=sys.stderr, leave=True)


class StepLog:
    """Collects each step's ``{"<player>/<term>": tensor}`` row and flushes the rows to ``history``.

    ``average`` maps the stacked values to their mean over processes (the identity in one
    process). Used as a context manager, it closes the progress bar however the run ends.
    """

    def __init__(self, history: History, end: int, log_every: int, sync_every: int, average, bar):
        self.history, self.end, self.log_every, self.sync_every = history, end, log_every, sync_every
        self.average, self.bar = average, bar
        self.pending: list[tuple[int, dict[str, torch.Tensor]]] = []

    def record(self, step: int, row: dict[str, torch.Tensor], sync: bool = False) -> None:
        """Keep ``step``'s row; flush when ``sync_every`` rows wait, at the last step, or if ``sync``."""
        self.pending.append((step, row))
        if len(self.pending) >= self.sync_every or step == self.end or sync:
            self.flush()
        if self.bar is not None:
            self.bar.update(1)

    def flush(self) -> None:
        """Move the pending per-step values to the host, check them, and log them."""
        if not self.pending:
            return
        keys = [list(row) for _, row in self.pending]
        values = torch.stack([torch.stack(list(row.values())).float() for _, row in self.pending])
        values = self.average(values).cpu()
        for (step, _), names, vals in zip(self.pending, keys, values.tolist()):
            row = dict(zip(names, vals))
            _check_finite(step, row)
            if step % self.log_every == 0 or step == self.end:
                self.history.append({"step": float(step), **row})
        if self.bar is not None:
            self.bar.set_postfix({k.split("/")[-1]: f"{v:.3g}" for k, v in row.items()}, refresh=False)
        self.pending.clear()

    def __enter__(self) -> "StepLog":
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()


def _check_finite(step: int, row: dict[str, float]) -> None:
    """Raise :class:`NonFiniteLossError` naming the first non-finite term of a step's values."""
    for key, value in row.items():
        if not math.isfinite(value):
            player, term = key.split("/", 1)
            what = "the weighted total" if term == "total" else f"loss term {term!r}"
            raise NonFiniteLossError(
                f"step {step}, player {player!r}: {what} is {value} "
                "(lower the learning rate, check the inputs for NaN, or clip the log-variance)"
            )
