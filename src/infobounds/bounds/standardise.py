r"""Per-coordinate standardisation of the samples given to the neural MI, CMI and TC estimators.

Mutual information, conditional MI given a discrete label and total correlation are all invariant
to an increasing map of each coordinate: if :math:`x' = (\phi_1(x_1), \dots, \phi_d(x_d))` with
each :math:`\phi_j` strictly increasing, then :math:`I(X'; Y) = I(X; Y)` and
:math:`\mathrm{TC}(X') = \mathrm{TC}(X)` (KL divergences are invariant to a bijection applied to
both arguments, and such a map takes :math:`\prod_j p(x_j)` to :math:`\prod_j p(x'_j)`). A neural
critic is not: on inputs of scale :math:`10^3` or with Cauchy tails its logits overflow or its
training stalls. So each estimator fits one of these maps on its *training* rows and applies it to
every row it sees:

``"rank"`` (the default)
    The rank-based inverse normal transform (normal scores; van der Waerden, 1952; Beasley, Erickson
    & Allison, 2009, *Behavior Genetics* 39): :math:`\phi_j(v) = \Phi^{-1}(\hat F_j(v))`, where
    :math:`\hat F_j` is the training column's mid-rank empirical CDF,
    :math:`\hat F_j(x_{(i)}) = (i - \tfrac12)/n` at the i-th smallest of n training values (ties
    share their mean rank), linear between them and held at :math:`\tfrac1{2n}` and
    :math:`1 - \tfrac1{2n}` outside their range. Every marginal becomes close to N(0, 1) whatever its
    tails, and the map is increasing, so the quantity estimated is unchanged.
``"zscore"``
    :math:`\phi_j(v) = (v - m_j) / s_j` with the training mean and standard deviation (a constant
    column is only centred). Affine, so it also keeps differential entropies up to
    :math:`-\sum_j \log s_j`, which the Barber-Agakov bound needs; a Cauchy column stays
    heavy-tailed after it.
``"none"``
    The identity.

The choice of ``"rank"`` as the default was measured on Student-t, sinh- and exp-transformed and
rescaled Gaussian pairs; ``tests/test_reliability_estimators.py`` holds the known-answer cases.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

STANDARDISATIONS: tuple[str, ...] = ("rank", "zscore", "none")


def as_samples(value, name: str, *, where: str, device: torch.device | str | None = None) -> torch.Tensor:
    """``value`` (a tensor or an array of any float or integer dtype) as a finite (N, d) float32
    tensor; a ``ValueError`` naming ``name`` otherwise."""
    if isinstance(value, np.ndarray) or not isinstance(value, torch.Tensor):
        try:
            array = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{where}: {name} must be a numeric (N, d) tensor or array, got {type(value).__name__}") \
                from err
        value = torch.from_numpy(array)
    if value.dtype.is_complex or value.dtype == torch.bool:
        raise ValueError(f"{where}: {name} must hold real numbers, got dtype {value.dtype}")
    if value.ndim != 2:
        raise ValueError(f"{where}: {name} must be 2-d (N, d), got shape {tuple(value.shape)}")
    if value.shape[0] == 0 or value.shape[1] == 0:
        raise ValueError(f"{where}: {name} is empty, shape {tuple(value.shape)}")
    if value.is_floating_point():
        bad = ~torch.isfinite(value)
        if bool(bad.any()):
            row = int(bad.any(1).nonzero()[0])
            raise ValueError(f"{where}: {name} has {int(bad.sum())} NaN or infinite entries (first in row {row})")
    value = value.detach()
    if device is not None:
        value = value.to(device)
    return value.float()


def _interp(v: torch.Tensor, knots: torch.Tensor, levels: torch.Tensor, right: bool) -> torch.Tensor:
    """Piecewise-linear interpolation of (knots -> levels) at v, held constant outside the knots.

    v (d, B), knots (d, n) sorted along dim 1, levels (n,). Among tied knots ``right`` picks the
    last, otherwise the first, so the mean of the two is the tie's mean level."""
    n = knots.shape[1]
    if n == 1:
        return levels.expand_as(v)
    # knots[hi-1] < v <= knots[hi] (right=False) or knots[hi-1] <= v < knots[hi] (right=True), so the
    # two knots differ except where hi was clamped: below the first or above the last knot.
    raw = torch.searchsorted(knots, v, right=right)  # (d, B)
    hi = raw.clamp(1, n - 1)
    x0, x1 = knots.gather(1, hi - 1), knots.gather(1, hi)
    f0, f1 = levels[hi - 1], levels[hi]
    gap = x1 - x0
    w = torch.where(gap > 0, (v - x0) / torch.where(gap > 0, gap, torch.ones_like(gap)), (raw > 0).to(v.dtype))
    return f0 + w.clamp(0.0, 1.0) * (f1 - f0)


class Standardiser(nn.Module):
    """A per-coordinate increasing map fitted on ``data`` (N, d) by ``method`` (module docstring);
    ``forward`` applies it to any (B, d) batch."""

    def __init__(self, data: torch.Tensor, method: str = "rank"):
        super().__init__()
        if method not in STANDARDISATIONS:
            raise ValueError(f"unknown standardise {method!r}: choose one of {', '.join(STANDARDISATIONS)}")
        data = data.detach().float()
        self.method = method
        self.dim = data.shape[1]
        n = data.shape[0]
        if method == "rank":
            self.register_buffer("knots", data.T.sort(dim=1).values.contiguous())  # (d, n)
            self.register_buffer("levels", (torch.arange(n, dtype=torch.float32, device=data.device) + 0.5) / n)
        elif method == "zscore":
            std = data.std(0, unbiased=False)
            self.register_buffer("shift", data.mean(0))
            self.register_buffer("scale", torch.where(std > 0, std, torch.ones_like(std)))

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        if self.method == "none":
            return v
        if v.ndim != 2 or v.shape[1] != self.dim:
            raise ValueError(f"expected a (B, {self.dim}) batch, got shape {tuple(v.shape)}")
        if self.method == "zscore":
            return (v - self.shift) / self.scale
        vt = v.T.contiguous().to(self.knots.dtype)  # (d, B)
        u = 0.5 * (_interp(vt, self.knots, self.levels, True) + _interp(vt, self.knots, self.levels, False))
        return (math.sqrt(2.0) * torch.erfinv(2.0 * u - 1.0)).T.to(v.dtype)  # Phi^{-1}(u), (B, d)

    def log_abs_det_jacobian(self, v: torch.Tensor) -> torch.Tensor:
        """sum_j log |phi_j'(v_j)| per row, (B,); only for the affine maps (``zscore``, ``none``)."""
        if self.method == "rank":
            raise ValueError("the rank transform's Jacobian needs the data's density; use standardise='zscore'")
        if self.method == "none":
            return v.new_zeros(v.shape[0])
        return (-self.scale.log().sum()).expand(v.shape[0])
