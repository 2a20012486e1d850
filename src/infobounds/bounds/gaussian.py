"""Closed forms for Gaussians, in nats (chapter ``information_measures``).

These are the known answers every estimator in the book is tested against.
"""

from __future__ import annotations

import math

import torch

LOG_2PI = math.log(2.0 * math.pi)


def gaussian_entropy(cov: torch.Tensor | float, dim: int | None = None) -> float:
    """Differential entropy h(N(mu, Sigma)) = 1/2 log det(2 pi e Sigma).

    ``cov`` is a (d, d) covariance matrix, or a scalar variance shared by ``dim`` independent
    coordinates.
    """
    if isinstance(cov, (int, float)):
        if cov <= 0:
            raise ValueError(f"variance must be positive, got {cov}")
        if dim is None or dim <= 0:
            raise ValueError("a scalar variance needs a positive dim")
        return 0.5 * dim * (LOG_2PI + 1.0 + math.log(cov))
    cov = torch.as_tensor(cov, dtype=torch.float64)
    if cov.ndim != 2 or cov.shape[0] != cov.shape[1]:
        raise ValueError(f"cov must be a square matrix, got shape {tuple(cov.shape)}")
    d = cov.shape[0]
    sign, logdet = torch.linalg.slogdet(cov)
    if sign <= 0:
        raise ValueError("cov must be positive definite")
    return float(0.5 * (d * (LOG_2PI + 1.0) + logdet))


def gaussian_mutual_information(rho: float, dim: int = 1) -> float:
    """I(X;Y) = -dim/2 log(1 - rho^2) for ``dim`` independent pairs of correlation ``rho``."""
    if not -1.0 < rho < 1.0:
        raise ValueError(f"rho must lie in (-1, 1), got {rho}")
    if dim <= 0:
        raise ValueError(f"dim must be positive, got {dim}")
    return -0.5 * dim * math.log1p(-(rho**2))


def rho_for_mutual_information(mi: float, dim: int = 1) -> float:
    """The correlation at which ``dim`` Gaussian pairs share ``mi`` nats (inverse of the above)."""
    if mi < 0:
        raise ValueError(f"mutual information is non-negative, got {mi}")
    if dim <= 0:
        raise ValueError(f"dim must be positive, got {dim}")
    return math.sqrt(-math.expm1(-2.0 * mi / dim))


def gaussian_channel_mutual_information(signal_var: float, noise_var: float, dim: int = 1) -> float:
    """I(X; X + N) = dim/2 log(1 + S/N) for X ~ N(0, S I), N ~ N(0, N I) independent."""
    if signal_var < 0 or noise_var <= 0:
        raise ValueError("need signal_var >= 0 and noise_var > 0")
    return 0.5 * dim * math.log1p(signal_var / noise_var)


def kl_diagonal_gaussians(
    mu_q: torch.Tensor,
    logvar_q: torch.Tensor,
    mu_p: torch.Tensor | float = 0.0,
    logvar_p: torch.Tensor | float = 0.0,
) -> torch.Tensor:
    """KL(N(mu_q, diag e^logvar_q) || N(mu_p, diag e^logvar_p)), summed over the last dimension.

    .. math::
        \\tfrac12 \\sum_j \\Big[\\log\\frac{\\sigma_{p,j}^2}{\\sigma_{q,j}^2}
        + \\frac{\\sigma_{q,j}^2 + (\\mu_{q,j}-\\mu_{p,j})^2}{\\sigma_{p,j}^2} - 1\\Big]

    Shapes: (..., d) in, (...) out. With the defaults it is the KL to the standard normal, the
    rate term of a VAE or VIB.
    """
    mu_p = torch.as_tensor(mu_p, dtype=mu_q.dtype, device=mu_q.device)
    logvar_p = torch.as_tensor(logvar_p, dtype=mu_q.dtype, device=mu_q.device)
    kl = 0.5 * (logvar_p - logvar_q + (logvar_q.exp() + (mu_q - mu_p) ** 2) / logvar_p.exp() - 1.0)
    return kl.sum(dim=-1)


def log_normal_density(x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(x; mu, diag e^logvar), summed over the last dimension."""
    return -0.5 * (LOG_2PI + logvar + (x - mu) ** 2 / logvar.exp()).sum(dim=-1)
