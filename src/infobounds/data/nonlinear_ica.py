r"""Nonlinear ICA data with known sources (chapter ``identifiability_clustering``).

The generative process of Khemakhem et al. (2020) and Willetts & Paige (2021):

* an auxiliary (cluster) variable :math:`u \sim \mathrm{Cat}(M)`, uniform;
* sources :math:`s | u \sim \mathcal N(\mu_u, \operatorname{diag}\sigma_u^2)` in :math:`\mathbb R^d`,
  independent coordinates given u, with means uniform in [-``mean_range``, ``mean_range``] and
  standard deviations uniform in ``std_range``;
* observations :math:`x = f(s) + \eta`, where :math:`f` is a random invertible MLP: ``layers``
  square layers, each a random orthogonal matrix times a well-conditioned diagonal and a bias,
  followed by a leaky ReLU of slope ``slope`` (invertible, piecewise linear), except the last; and
  :math:`\eta \sim \mathcal N(0, \text{noise}^2 I)`.

Marginally the sources form a Gaussian mixture; with ``u`` observed an iVAE can identify them up to
permutation and scaling, without it the mixture is what a GMM-prior VAE exploits.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional as F


@dataclass(frozen=True)
class SourceData:
    """Observations ``x`` (N, d), true sources ``s`` (N, d) and auxiliary labels ``u`` (N,)."""

    x: torch.Tensor
    s: torch.Tensor
    u: torch.Tensor

    def __len__(self) -> int:
        return self.x.shape[0]

    def to(self, device) -> "SourceData":
        return SourceData(self.x.to(device), self.s.to(device), self.u.to(device))


class InvertibleMLP:
    """x = W_L(... leaky_relu(W_1 s + b_1) ...) + b_L with square, well-conditioned W_l (a fixed random
    function, not trained); :meth:`inverse` undoes it exactly."""

    def __init__(self, dim: int, layers: int = 3, slope: float = 0.2, seed: int = 0):
        if dim <= 0 or layers <= 0 or not 0 < slope <= 1:
            raise ValueError("need dim > 0, layers > 0 and slope in (0, 1]")
        gen = torch.Generator().manual_seed(seed)
        self.slope = slope
        self.weights, self.biases = [], []
        for _ in range(layers):
            q, _ = torch.linalg.qr(torch.randn(dim, dim, generator=gen, dtype=torch.float64))
            scale = 0.5 + torch.rand(dim, generator=gen, dtype=torch.float64)  # singular values in [0.5, 1.5]
            self.weights.append(q * scale)  # (d, d), condition number at most 3
            self.biases.append(0.5 * torch.randn(dim, generator=gen, dtype=torch.float64))

    def __call__(self, s: torch.Tensor) -> torch.Tensor:
        h = s.double()
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = h @ w.T + b
            if i < len(self.weights) - 1:
                h = F.leaky_relu(h, self.slope)
        return h.to(s.dtype)

    def inverse(self, x: torch.Tensor) -> torch.Tensor:
        h = x.double()
        for i in reversed(range(len(self.weights))):
            if i < len(self.weights) - 1:
                h = torch.where(h >= 0, h, h / self.slope)
            h = torch.linalg.solve(self.weights[i], (h - self.biases[i]).T).T
        return h.to(x.dtype)


def gaussian_mixture_sources(n: int, *, dim: int = 4, n_components: int = 8, mean_range: float = 3.0,
                             std_range: tuple[float, float] = (0.1, 1.0), layers: int = 2, slope: float = 0.5, noise: float = 0.1,
                             seed: int = 0, mixing_seed: int | None = None) -> tuple[SourceData, InvertibleMLP]:
    """``n`` draws of the process in the module docstring and the mixing function used.

    ``seed`` fixes the mixture's parameters and the draws; ``mixing_seed`` (default ``seed``) the MLP.
    """
    if n <= 0 or n_components <= 0 or dim <= 0:
        raise ValueError("n, dim and n_components must be positive")
    lo, hi = std_range
    if not 0 < lo <= hi:
        raise ValueError(f"std_range must satisfy 0 < low <= high, got {std_range}")
    gen = torch.Generator().manual_seed(seed)
    means = (2 * torch.rand(n_components, dim, generator=gen) - 1) * mean_range  # (M, d)
    stds = lo + (hi - lo) * torch.rand(n_components, dim, generator=gen)  # (M, d)
    u = torch.randint(0, n_components, (n,), generator=gen)
    s = means[u] + stds[u] * torch.randn(n, dim, generator=gen)  # (n, d), independent given u
    mixing = InvertibleMLP(dim, layers, slope, seed=seed if mixing_seed is None else mixing_seed)
    x = mixing(s) + noise * torch.randn(n, dim, generator=gen)
    return SourceData(x=x.float(), s=s.float(), u=u), mixing
