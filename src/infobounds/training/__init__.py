"""The training loop, checkpoints and history (see :mod:`infobounds.training.loop`)."""

from infobounds.training.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from infobounds.training.history import History
from infobounds.training.loop import FitResult, NonFiniteLossError, fit, steps_for_epochs

__all__ = [
    "CheckpointError",
    "FitResult",
    "History",
    "NonFiniteLossError",
    "fit",
    "load_checkpoint",
    "save_checkpoint",
    "steps_for_epochs",
]
