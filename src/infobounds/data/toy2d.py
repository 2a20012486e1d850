r"""Sampling-only toy distributions for adversarial training (chapter ``gans``).

A mixture of isotropic Gaussians with equal weights,

.. math:: p(x) = \frac1M \sum_{m=1}^M \mathcal N(x;\ \mu_m,\ \sigma^2 I),

covers both toys of the GAN chapter: the *ring of eight Gaussians* (means on a circle of radius 2,
standard deviation 0.02) on which Metz et al. (2017) and Srivastava et al. (2017) measured mode
collapse, and a single 1-d Gaussian (``M = 1``) against which the optimal discriminator is checked.

:class:`MixtureStream` is the resumable stream :func:`infobounds.training.fit` draws from: each
batch is fresh, drawn from the stream's own generator, so there is no finite training set to
memorise.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch


def ring_means(n_modes: int = 8, radius: float = 2.0, rotation: float = 0.0) -> torch.Tensor:
    """``n_modes`` points evenly spaced on a circle of ``radius`` about the origin, rotated by
    ``rotation`` radians, (n_modes, 2). :func:`infobounds.data.paired.mixture_means` is this function."""
    if n_modes < 1 or radius <= 0:
        raise ValueError(f"need n_modes >= 1 and radius > 0, got n_modes={n_modes}, radius={radius}")
    angles = 2 * math.pi * torch.arange(n_modes, dtype=torch.float32) / n_modes + rotation
    return radius * torch.stack([angles.cos(), angles.sin()], dim=1)


def nearest_component(points: torch.Tensor, means: torch.Tensor, with_distance: bool = False):
    """Index of the nearest mean for each point: (N, d), (M, d) -> (N,); with ``with_distance`` the
    pair (Euclidean distance to that mean, index), each (N,). Ties go to the first mean."""
    distance, index = torch.cdist(points, means.to(points)).min(dim=1)
    return (distance, index) if with_distance else index


def sample_mixture(n: int, means: torch.Tensor, std: float,
                   generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` draws of the equal-weight mixture of ``N(means[m], std^2 I)``: samples (n, d) and the
    index of the component each came from (n,)."""
    means = torch.as_tensor(means, dtype=torch.float32)
    if means.ndim != 2 or means.shape[0] < 1:
        raise ValueError(f"means must be an (M, d) matrix, got shape {tuple(means.shape)}")
    if n <= 0 or std <= 0:
        raise ValueError(f"need n > 0 and std > 0, got n={n}, std={std}")
    component = torch.randint(means.shape[0], (n,), generator=generator)
    noise = torch.randn(n, means.shape[1], generator=generator)
    return means[component] + std * noise, component


class MixtureStream:
    """An endless, resumable stream of batches ``(x,)`` from a Gaussian mixture.

    Parameters
    ----------
    means : (M, d) component means (:func:`ring_means` for the ring of eight Gaussians).
    std : the components' common standard deviation.
    batch_size : samples per batch.
    seed : seed of the stream's own generator.
    device : where the batches go (samples are drawn on the CPU, so a seed gives the same numbers on
        every device).
    """

    def __init__(self, means: torch.Tensor | Sequence[Sequence[float]], std: float, batch_size: int,
                 seed: int = 0, device: str | torch.device = "cpu"):
        self.means = torch.as_tensor(means, dtype=torch.float32)
        if self.means.ndim != 2:
            raise ValueError(f"means must be an (M, d) matrix, got shape {tuple(self.means.shape)}")
        if std <= 0 or batch_size <= 0:
            raise ValueError(f"need std > 0 and batch_size > 0, got std={std}, batch_size={batch_size}")
        self.std = float(std)
        self.batch_size = batch_size
        self.generator = torch.Generator().manual_seed(seed)
        self.step = 0
        self.device = torch.device(device)

    @property
    def dim(self) -> int:
        return self.means.shape[1]

    def sample(self, n: int) -> torch.Tensor:
        """``n`` samples drawn from the stream's generator (advances the stream's state)."""
        x, _ = sample_mixture(n, self.means, self.std, self.generator)
        return x.to(self.device)

    def __iter__(self) -> "MixtureStream":
        return self

    def __next__(self) -> tuple[torch.Tensor]:
        self.step += 1
        return (self.sample(self.batch_size),)

    def state_dict(self) -> dict:
        return {"step": self.step, "generator_state": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.step = int(state["step"])
        self.generator.set_state(state["generator_state"])
