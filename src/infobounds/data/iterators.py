"""In-memory batch iteration with no per-sample Python work.

Batches are slices of a permuted index held on the data's device, so an epoch over data resident on
a GPU never leaves it. :class:`BatchStream` is the stateful, resumable stream the training loop
draws from; :func:`iterate_batches` is a single pass for evaluation.
"""

from __future__ import annotations

from typing import Iterator, Sequence

import torch

from infobounds.profiles import smoke_batch


def subset_indices(size: int, n: int | None, seed: int = 0) -> torch.Tensor | None:
    """Sorted indices of a seeded random subset of ``n`` out of ``size`` examples.

    None when ``n`` is None or at least ``size`` (keep everything). The same ``(size, n, seed)``
    gives the same indices on every machine; every data set's ``subset`` method uses this.
    """
    if n is None or n >= size:
        return None
    if n <= 0:
        raise ValueError(f"subset size must be positive, got {n}")
    return torch.randperm(size, generator=torch.Generator().manual_seed(seed))[:n].sort().values


def _check_tensors(tensors: Sequence[torch.Tensor]) -> int:
    if not tensors:
        raise ValueError("need at least one tensor to iterate over")
    n = tensors[0].shape[0]
    for t in tensors[1:]:
        if t.shape[0] != n:
            shapes = ", ".join(str(tuple(u.shape)) for u in tensors)
            raise ValueError(f"tensors disagree on the number of examples (dim 0): {shapes}")
    return n


def iterate_batches(
    *tensors: torch.Tensor, batch_size: int, shuffle: bool = False, generator: torch.Generator | None = None
) -> Iterator[tuple[torch.Tensor, ...]]:
    """One pass over ``tensors`` in batches (the last one may be smaller)."""
    n = _check_tensors(tensors)
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    order = torch.randperm(n, generator=generator).to(tensors[0].device) if shuffle else None
    for start in range(0, n, batch_size):
        if order is None:
            yield tuple(t[start:start + batch_size] for t in tensors)
        else:
            idx = order[start:start + batch_size]
            yield tuple(t[idx] for t in tensors)


class BatchStream:
    """An endless, shuffled, resumable stream of mini-batches over in-memory tensors.

    Each epoch is a fresh permutation drawn from the stream's own generator; incomplete final
    batches are dropped so every step sees ``batch_size`` examples. ``state_dict`` holds the
    generator state at the start of the current epoch and the position in it, so a restored stream
    continues with exactly the batches the uninterrupted one would have produced.

    A ``batch_size`` above the number of examples is an error, except in a smoke run
    (``INFOBOUNDS_SMOKE``), whose data sets are cut to a few hundred examples: there a batch larger
    than the data is the whole data set, so full-batch training (IRM's 50,000 examples) stays
    full-batch, and the smaller batches of every other model are kept as they are.
    """

    def __init__(self, *tensors: torch.Tensor, batch_size: int, seed: int = 0):
        n = _check_tensors(tensors)
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        batch_size = smoke_batch(batch_size, n)  # a smoke run's cut data set: a full batch stays full
        if batch_size > n:
            raise ValueError(f"batch_size {batch_size} exceeds the number of examples {n}")
        self.tensors = tensors
        self.batch_size = batch_size
        self.n = n
        self.generator = torch.Generator().manual_seed(seed)
        self.epoch = 0
        self.position = 0
        self._epoch_start_state = self.generator.get_state()
        self._order = self._new_order()

    @property
    def batches_per_epoch(self) -> int:
        return self.n // self.batch_size

    def _new_order(self) -> torch.Tensor:
        self._epoch_start_state = self.generator.get_state()
        return torch.randperm(self.n, generator=self.generator).to(self.tensors[0].device)

    def __iter__(self) -> "BatchStream":
        return self

    def __next__(self) -> tuple[torch.Tensor, ...]:
        if self.position >= self.batches_per_epoch:
            self.epoch += 1
            self.position = 0
            self._order = self._new_order()
        start = self.position * self.batch_size
        idx = self._order[start:start + self.batch_size]
        self.position += 1
        return tuple(t[idx] for t in self.tensors)

    def state_dict(self) -> dict:
        return {
            "epoch": self.epoch,
            "position": self.position,
            "epoch_start_generator_state": self._epoch_start_state.clone(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["epoch_start_generator_state"])
        self._order = self._new_order()
        self.epoch = int(state["epoch"])
        self.position = int(state["position"])
