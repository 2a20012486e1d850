"""Data-parallel training under ``torchrun``: this process's share of each batch and of the gradients.

With an initialised process group (gloo on CPU, NCCL on GPU) every process draws the same global
batch from an identically seeded stream and keeps its equal share; DistributedDataParallel averages
the gradients during ``backward``, and the logged values are averaged over processes. Alone, every
method here is the identity, so :func:`~infobounds.training.fit` has one code path.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from infobounds.core import LossTerms, Trainable, Update

__all__ = ["Processes", "world"]


def world() -> tuple[int, int]:
    """(rank, world size) under torchrun with an initialised process group, else (0, 1)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class _ScheduleRunner(nn.Module):
    """Calls the i-th loss of the schedule through ``forward``, so DistributedDataParallel can wrap it
    and average each player's gradients across processes during ``backward``."""

    def __init__(self, model: Trainable, schedule: list[Update]):
        super().__init__()
        self.model = model
        self._losses = [u.loss for u in schedule]

    def forward(self, index: int, batch) -> LossTerms:
        return self._losses[index](batch)


class Processes:
    """This process's place in the run (``rank`` of ``size``) and, for more than one, the DDP wrapper
    through which the schedule's losses are called."""

    def __init__(self, model: Trainable, schedule: list[Update], rank: int, size: int):
        self.rank, self.size = rank, size
        self.runner = None
        if size > 1:
            device_ids = [next(model.parameters()).device.index] if next(model.parameters()).is_cuda else None
            self.runner = DistributedDataParallel(_ScheduleRunner(model, schedule), device_ids=device_ids,
                                                  find_unused_parameters=True)

    def loss(self, index: int, update: Update):
        """The ``index``-th update's loss function, through DDP when there are several processes."""
        return update.loss if self.runner is None else (lambda batch: self.runner(index, batch))

    def shard(self, batch):
        """This process's equal share of a global batch (split along the first dimension)."""
        if self.runner is None:
            return batch
        n = batch[0].shape[0]
        if n % self.size:
            raise ValueError(f"the global batch of {n} does not split evenly over {self.size} processes")
        return tuple(t.tensor_split(self.size)[self.rank] for t in batch)

    def average(self, values: torch.Tensor) -> torch.Tensor:
        """The mean of ``values`` over processes (``values`` itself in one process)."""
        if self.size > 1:
            dist.all_reduce(values)
            values /= self.size
        return values
