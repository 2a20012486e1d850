r"""Sources with a known rate-distortion reference (chapter ``rate_distortion_sandwich``).

``gaussian_source``
    :math:`X \sim \mathcal N(\mu, \operatorname{diag}\sigma^2)`: R(D) is known in closed form
    (reverse water-filling, :func:`infobounds.bounds.rate_distortion.gaussian_rate_distortion`).
``banana_source``
    A 2-d banana: :math:`u \sim \mathcal N(0, \operatorname{diag}(s_1^2, s_2^2))`,
    :math:`v = (u_1,\ u_2 + c\,(u_1^2 - s_1^2))`, then a rotation and a shift. Every step preserves
    volume, so :math:`h(X) = h(U)` exactly (:func:`banana_entropy`) and the Shannon lower bound is
    available; its covariance has eigenvalues :math:`s_1^2` and :math:`s_2^2 + 2 c^2 s_1^4`
    (:func:`banana_variances`), so the Gaussian of the same covariance gives an analytic upper bound.
    The shape follows the banana source of Ballé et al. (2021) used by Yang & Mandt (2022); the
    parameters here are our own.
``bump_images``
    16x16 grey images of one Gaussian bump at a uniformly random position: an image source whose
    intrinsic dimension is 2 (the full profile's image source of known intrinsic dimension).

Each function draws from a ``torch.Generator`` so a seed fixes the sample.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch

from infobounds.bounds.gaussian import gaussian_entropy
from infobounds.profiles import smoke_examples
from infobounds.validation import require_finite, require_positive


def gaussian_source(n: int, variances: Sequence[float], mean: Sequence[float] | None = None,
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` draws of a Gaussian with independent coordinates of the given ``variances``, (n, d)."""
    require_positive(n=n)
    n = smoke_examples(n)  # a smoke run (INFOBOUNDS_SMOKE) draws at most SMOKE_EXAMPLES
    var = torch.as_tensor(variances, dtype=torch.float32).reshape(-1)
    if var.numel() == 0:
        raise ValueError(f"variances must not be empty, got {variances!r}")
    require_finite(variances=var.tolist())
    require_positive(variances=var.tolist())
    mu = None
    if mean is not None:
        mu = torch.as_tensor(mean, dtype=torch.float32).reshape(-1)
        if mu.shape != var.shape:
            raise ValueError(f"mean has {mu.numel()} coordinates, variances {var.numel()}")
        require_finite(mean=mu.tolist())
    x = torch.randn(n, var.numel(), generator=generator) * var.sqrt()
    if mu is not None:
        x = x + mu
    return x


def _check_banana(scales: Sequence[float], curvature: float) -> None:
    if len(scales) != 2:
        raise ValueError(f"scales must be two positive numbers, got {scales}")
    require_finite(scales=tuple(scales), curvature=curvature)
    require_positive(scales=tuple(scales))


def banana_source(n: int, generator: torch.Generator | None = None, *, scales: Sequence[float] = (3.0, 0.5),
                  curvature: float = 0.1, angle_degrees: float = 30.0,
                  shift: Sequence[float] = (1.0, 1.0)) -> torch.Tensor:
    """``n`` draws of the 2-d banana source (see the module docstring), (n, 2)."""
    _check_banana(scales, curvature)
    require_positive(n=n)
    n = smoke_examples(n)  # a smoke run (INFOBOUNDS_SMOKE) draws at most SMOKE_EXAMPLES
    require_finite(angle_degrees=angle_degrees, shift=tuple(shift))
    s1, s2 = float(scales[0]), float(scales[1])
    u = torch.randn(n, 2, generator=generator) * torch.tensor([s1, s2])
    v = torch.stack([u[:, 0], u[:, 1] + curvature * (u[:, 0] ** 2 - s1**2)], dim=1)  # shear: volume-preserving
    phi = math.radians(angle_degrees)
    rotation = torch.tensor([[math.cos(phi), -math.sin(phi)], [math.sin(phi), math.cos(phi)]])
    return v @ rotation.T + torch.tensor([float(shift[0]), float(shift[1])])


def banana_entropy(scales: Sequence[float] = (3.0, 0.5), curvature: float = 0.1) -> float:
    """h(X) in nats of :func:`banana_source`: that of the Gaussian it is made from (shear, rotation and
    shift all have unit Jacobian)."""
    _check_banana(scales, curvature)
    return gaussian_entropy(torch.diag(torch.tensor([scales[0] ** 2, scales[1] ** 2], dtype=torch.float64)))


def banana_variances(scales: Sequence[float] = (3.0, 0.5), curvature: float = 0.1) -> tuple[float, float]:
    """Eigenvalues of the banana's covariance: Var(u1) = s1^2 and Var(u2 + c u1^2) = s2^2 + 2 c^2 s1^4
    (u1 and u1^2 are uncorrelated, and Var(u1^2) = 2 s1^4)."""
    _check_banana(scales, curvature)
    s1, s2 = float(scales[0]), float(scales[1])
    return s1**2, s2**2 + 2.0 * curvature**2 * s1**4


def bump_images(n: int, generator: torch.Generator | None = None, *, size: int = 16,
                width: float = 1.5) -> torch.Tensor:
    """``n`` images (n, 1, size, size) in [0, 1] of one Gaussian bump of standard deviation ``width``
    pixels centred uniformly in the image: two intrinsic dimensions (the centre)."""
    require_finite(width=width)
    require_positive(n=n, size=size, width=width)
    n = smoke_examples(n)  # a smoke run (INFOBOUNDS_SMOKE) draws at most SMOKE_EXAMPLES
    centres = torch.rand(n, 2, generator=generator) * (size - 1)  # (n, 2) in pixel coordinates
    grid = torch.arange(size, dtype=torch.float32)
    dy = (grid[None, :] - centres[:, :1]) ** 2  # (n, size)
    dx = (grid[None, :] - centres[:, 1:]) ** 2  # (n, size)
    img = torch.exp(-(dy[:, :, None] + dx[:, None, :]) / (2 * width**2))  # (n, size, size)
    return img.unsqueeze(1)
