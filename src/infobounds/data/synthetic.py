"""Synthetic sources with known information quantities.

Correlated Gaussian pairs: ``x, eps ~ N(0, I_d)`` and ``y = rho x + sqrt(1 - rho^2) eps``, so each of
the ``d`` coordinate pairs has correlation ``rho`` and

.. math:: I(X;Y) = -\\tfrac{d}{2} \\log(1 - \\rho^2) \\text{ nats}

(chapter ``information_measures``). The staircase sampler of Poole et al. (2019) steps the true MI
during training so an estimator's bias and variance can be read at several levels in one run.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch

from infobounds.bounds.gaussian import gaussian_mutual_information, rho_for_mutual_information


def correlated_gaussians(
    n: int, dim: int, rho: float, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` pairs (x, y) of ``dim``-d standard Gaussians with per-coordinate correlation ``rho``."""
    if not -1.0 < rho < 1.0:
        raise ValueError(f"rho must lie in (-1, 1), got {rho}")
    if n <= 0 or dim <= 0:
        raise ValueError(f"n and dim must be positive, got n={n}, dim={dim}")
    x = torch.randn(n, dim, generator=generator)
    eps = torch.randn(n, dim, generator=generator)
    y = rho * x + math.sqrt(1.0 - rho**2) * eps
    return x, y


class GaussianPairStream:
    """An endless stream of correlated-Gaussian batches, optionally stepping the true MI.

    Parameters
    ----------
    dim : dimension of x and of y.
    batch_size : pairs per batch (``K`` in the InfoNCE bound).
    mi_levels : true MI in nats at each level of the staircase.
    steps_per_level : batches drawn at each level before moving to the next (the last level lasts
        forever).
    seed : seed of the stream's own generator.
    device : where the batches go (samples are drawn on the CPU, so a seed gives the same numbers on
        every device).
    """

    def __init__(
        self,
        dim: int,
        batch_size: int,
        mi_levels: Sequence[float],
        steps_per_level: int,
        seed: int = 0,
        device: str | torch.device = "cpu",
    ):
        if not mi_levels:
            raise ValueError("need at least one MI level")
        if steps_per_level <= 0:
            raise ValueError(f"steps_per_level must be positive, got {steps_per_level}")
        self.dim = dim
        self.batch_size = batch_size
        self.mi_levels = [float(m) for m in mi_levels]
        self.rhos = [rho_for_mutual_information(m, dim) for m in self.mi_levels]
        self.steps_per_level = steps_per_level
        self.generator = torch.Generator().manual_seed(seed)
        self.step = 0
        self.device = torch.device(device)

    def level(self, step: int | None = None) -> int:
        step = self.step if step is None else step
        return min(step // self.steps_per_level, len(self.mi_levels) - 1)

    def true_mi(self, step: int | None = None) -> float:
        """The true I(X;Y) of the batch drawn at ``step``."""
        rho = self.rhos[self.level(step)]
        return gaussian_mutual_information(rho, self.dim)

    def level_statistics(self, values, settle: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of a per-step trace at each level of the staircase.

        An estimator trained through the staircase needs some steps to adapt after each change of
        correlation, so the first ``settle`` fraction of every level is left out and the statistics
        are over the rest (Poole et al. 2019 read bias and variance the same way, per level).

        Parameters
        ----------
        values : one value per step, ``len(mi_levels) * steps_per_level`` of them, step 0 first
            (NaN allowed: a smoke run pads the steps it did not run with NaN, and NaN propagates).
        settle : the fraction of each level discarded, in [0, 1).

        Returns
        -------
        means, stds : ``(len(mi_levels),)`` arrays, in the unit of ``values`` (population standard
            deviation over the kept steps).
        """
        trace = np.asarray(values, dtype=float)
        expected = len(self.mi_levels) * self.steps_per_level
        if trace.shape != (expected,):
            raise ValueError(f"values must hold one value per step of the staircase, shape ({expected},) "
                             f"({len(self.mi_levels)} levels x {self.steps_per_level} steps), got shape {trace.shape}")
        if not 0.0 <= settle < 1.0:
            raise ValueError(f"settle must lie in [0, 1), got {settle!r}")
        start = int(settle * self.steps_per_level)
        kept = trace.reshape(len(self.mi_levels), self.steps_per_level)[:, start:]
        return kept.mean(axis=1), kept.std(axis=1)

    def __iter__(self) -> "GaussianPairStream":
        return self

    def __next__(self) -> tuple[torch.Tensor, torch.Tensor]:
        rho = self.rhos[self.level()]
        self.step += 1
        x, y = correlated_gaussians(self.batch_size, self.dim, rho, self.generator)
        return x.to(self.device), y.to(self.device)

    def state_dict(self) -> dict:
        return {"step": self.step, "generator_state": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.step = int(state["step"])
        self.generator.set_state(state["generator_state"])
