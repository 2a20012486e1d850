"""Closed forms for Gaussians, in nats (chapter ``information_measures``).

These are the known answers every estimator in the book is tested against.
"""

from __future__ import annotations

import math

import torch

from infobounds.validation import require_finite, require_non_negative, require_positive

LOG_2PI = math.log(2.0 * math.pi)


def gaussian_entropy(cov: torch.Tensor | float, dim: int | None = None) -> float:
    r"""Differential entropy h(N(mu, Sigma)) = 1/2 log det(2 pi e Sigma).

    ``cov`` is a (d, d) covariance matrix, or a scalar variance shared by ``dim`` independent
    coordinates. A matrix must be symmetric (to a relative 1e-6, so a float32 sample covariance
    passes) and positive definite; both are checked, the latter by a Cholesky factorisation
    :math:`\Sigma = L L^\top`, which also gives :math:`\log\det\Sigma = 2 \sum_i \log L_{ii}`. The sign
    of the determinant alone would not do: :math:`\det(-I_2) = 1`.
    """
    if isinstance(cov, (int, float)):
        require_finite(cov=cov)
        require_positive(cov=cov)
        if dim is None:
            raise ValueError("a scalar variance cov needs dim, the number of coordinates, got dim=None")
        _check_dim(dim)
        return 0.5 * dim * (LOG_2PI + 1.0 + math.log(cov))
    cov = torch.as_tensor(cov, dtype=torch.float64)
    if cov.ndim != 2 or cov.shape[0] != cov.shape[1] or cov.shape[0] == 0:
        raise ValueError(f"cov must be a non-empty square matrix, got shape {tuple(cov.shape)}")
    if not bool(torch.isfinite(cov).all()):
        raise ValueError(f"cov must be finite, got {_describe(cov)}")
    scale = float(cov.abs().max()) if cov.numel() else 0.0
    if not torch.allclose(cov, cov.T, rtol=0.0, atol=1e-6 * scale):
        raise ValueError(f"cov must be symmetric, got {_describe(cov)}")
    chol, info = torch.linalg.cholesky_ex(cov)
    if int(info) != 0:
        raise ValueError(f"cov must be positive definite (its Cholesky factorisation fails at "
                         f"leading minor {int(info)}), got {_describe(cov)}")
    d = cov.shape[0]
    logdet = 2.0 * torch.log(torch.diagonal(chol)).sum()
    return float(0.5 * (d * (LOG_2PI + 1.0) + logdet))


def _describe(matrix: torch.Tensor) -> str:
    """The values of a small matrix, the shape of a large one (an error message stays one line)."""
    return str(matrix.tolist()) if matrix.numel() <= 16 else f"a matrix of shape {tuple(matrix.shape)}"


def _check_dim(dim) -> None:
    require_finite(dim=dim)
    require_positive(dim=dim)


def gaussian_mutual_information(rho: float, dim: int = 1) -> float:
    """I(X;Y) = -dim/2 log(1 - rho^2) for ``dim`` independent pairs of correlation ``rho``."""
    if not -1.0 < rho < 1.0:
        raise ValueError(f"rho must lie in (-1, 1), got {rho}")
    _check_dim(dim)
    return -0.5 * dim * math.log1p(-(rho**2))


def rho_for_mutual_information(mi: float, dim: int = 1) -> float:
    """The correlation at which ``dim`` Gaussian pairs share ``mi`` nats (inverse of the above)."""
    require_finite(mi=mi)
    require_non_negative(mi=mi)
    _check_dim(dim)
    return math.sqrt(-math.expm1(-2.0 * mi / dim))


def gaussian_channel_mutual_information(signal_var: float, noise_var: float, dim: int = 1) -> float:
    """I(X; X + N) = dim/2 log(1 + S/N) for X ~ N(0, S I), N ~ N(0, N I) independent."""
    require_finite(signal_var=signal_var, noise_var=noise_var)
    require_non_negative(signal_var=signal_var)
    require_positive(noise_var=noise_var)
    _check_dim(dim)
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
    rate term of a VAE or VIB. ``logvar_q``, ``mu_p`` and ``logvar_p`` must broadcast with ``mu_q``
    (a shape check only: no values are read, so it costs nothing on a GPU).
    """
    _check_broadcast(mu_q, logvar_q=logvar_q, mu_p=mu_p, logvar_p=logvar_p)
    mu_p = torch.as_tensor(mu_p, dtype=mu_q.dtype, device=mu_q.device)
    logvar_p = torch.as_tensor(logvar_p, dtype=mu_q.dtype, device=mu_q.device)
    kl = 0.5 * (logvar_p - logvar_q + (logvar_q.exp() + (mu_q - mu_p) ** 2) / logvar_p.exp() - 1.0)
    return kl.sum(dim=-1)


def _check_broadcast(mu_q: torch.Tensor, **others) -> None:
    shape = tuple(mu_q.shape)
    for name, value in others.items():
        other = tuple(torch.as_tensor(value).shape) if not isinstance(value, torch.Tensor) else tuple(value.shape)
        try:
            shape = tuple(torch.broadcast_shapes(shape, other))
        except RuntimeError:
            raise ValueError(f"{name} of shape {other} does not broadcast with mu_q of shape "
                             f"{tuple(mu_q.shape)}") from None


def log_normal_density(x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(x; mu, diag e^logvar), summed over the last dimension."""
    return -0.5 * (LOG_2PI + logvar + (x - mu) ** 2 / logvar.exp()).sum(dim=-1)
