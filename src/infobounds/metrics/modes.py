r"""Mode coverage of samples from a Gaussian mixture (chapter ``gans``).

The measure of Srivastava et al. (2017) for the ring of Gaussians of Metz et al. (2017): a sample is
of *high quality* if it lies within ``n_std`` (3) standard deviations of the nearest mixture mean,
and a mode is *covered* if enough high-quality samples fall next to it. "Enough" is a share
``min_share`` of what a perfect sampler would put there (``n / M`` of ``n`` samples over ``M``
modes), so that a handful of stray samples does not count as having learnt a mode.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from infobounds.data.toy2d import nearest_component


@dataclass(frozen=True)
class ModeCoverage:
    """``modes_covered`` of ``n_modes``; ``high_quality`` share of the samples; ``counts`` of
    high-quality samples per mode."""

    modes_covered: int
    n_modes: int
    high_quality: float
    counts: np.ndarray


def mode_coverage(samples: torch.Tensor, means: torch.Tensor, std: float, *, n_std: float = 3.0,
                  min_share: float = 0.1) -> ModeCoverage:
    """Modes covered and share of high-quality samples.

    Parameters
    ----------
    samples : (n, d) generated samples.
    means : (M, d) the mixture's means.
    std : the components' standard deviation.
    n_std : a sample within ``n_std * std`` of its nearest mean is of high quality.
    min_share : a mode is covered if it has at least ``min_share * n / M`` high-quality samples.
    """
    samples = torch.as_tensor(samples, dtype=torch.float32).detach().cpu()
    means = torch.as_tensor(means, dtype=torch.float32).cpu()
    if samples.ndim != 2 or means.ndim != 2 or samples.shape[1] != means.shape[1]:
        raise ValueError(f"samples (n, d) and means (M, d) must agree on d, got {tuple(samples.shape)} "
                         f"and {tuple(means.shape)}")
    if std <= 0 or n_std <= 0 or not 0 < min_share <= 1:
        raise ValueError("need std > 0, n_std > 0 and 0 < min_share <= 1")
    nearest_dist, nearest = nearest_component(samples, means, with_distance=True)  # (n,), (n,)
    good = nearest_dist <= n_std * std
    counts = torch.bincount(nearest[good], minlength=means.shape[0]).numpy()
    threshold = min_share * samples.shape[0] / means.shape[0]
    return ModeCoverage(modes_covered=int((counts >= threshold).sum()), n_modes=means.shape[0],
                        high_quality=float(good.float().mean()), counts=counts)
