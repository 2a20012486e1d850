r"""The rate-distortion function: closed forms, Blahut-Arimoto, and neural sandwich bounds, in nats.

Chapter ``rate_distortion_sandwich`` derives everything here. For a source :math:`X \sim p(x)` and a
distortion measure :math:`\rho(x, y)`,

.. math::

    R(D) = \inf_{Q(y|x):\ \mathbb E\,\rho(X, Y) \le D} I(X; Y) .

==================================  ===================================================================
``gaussian_rate_distortion``        reverse water-filling for :math:`\mathcal N(\mu, \operatorname{diag}\sigma^2)`
                                    under squared error :math:`\|x - y\|^2` (Cover & Thomas, Thm 10.3.3)
``water_level``                     its water level :math:`\theta`, with :math:`\sum_i \min(\theta, \sigma_i^2) = D`
``gaussian_rate_distortion_curve``  the whole curve, parameterised by :math:`\theta`
``shannon_lower_bound``             :math:`R(D) \ge h(X) - \frac d2 \log(2\pi e D / d)` (squared error)
``blahut_arimoto``                  R(D) of a discrete source with known p(x) (Blahut 1972, Arimoto 1972)
upper bound                         any encoder/decoder pair with a learned prior: a VAE with
                                    ``decoder="squared_error"`` (:meth:`infobounds.models.vae.VAEConfig.rate_distortion`)
``DualLowerBound``                  Csiszar's dual (1974) estimated from samples (Yang & Mandt 2022)
==================================  ===================================================================

Throughout, the distortion of a d-dimensional source is the squared error **summed** over the d
coordinates, and slopes are per that total. Yang & Mandt (2022) report the mean over coordinates;
their slope :math:`\lambda_{\mathrm{MSE}}` is :math:`d\,\lambda` here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch
from torch import nn

from infobounds.core import LossTerms, OptimizerConfig, Player, Trainable, Update, first_tensor
from infobounds.nets import mlp
from infobounds.profiles import smoke_enabled
from infobounds.validation import (require_at_least, require_choice, require_finite, require_positive,
                                   require_probability)


# ---------------------------------------------------------------------------------------------
# Gaussian sources: reverse water-filling
# ---------------------------------------------------------------------------------------------
def _check_variances(variances) -> np.ndarray:
    var = np.asarray(variances, dtype=float).reshape(-1)
    if var.size == 0 or np.any(~np.isfinite(var)) or np.any(var <= 0):
        raise ValueError(f"variances must be a non-empty sequence of positive numbers, got {variances!r}")
    return var


def water_level(variances: Sequence[float], distortion: float) -> float:
    r"""The water level :math:`\theta` of reverse water-filling: :math:`\sum_i \min(\theta, \sigma_i^2) = D`.

    For :math:`D \ge \sum_i \sigma_i^2` every component is described by its mean alone and the level
    is :math:`\max_i \sigma_i^2` (any larger level gives the same code). Solved exactly: with the
    variances sorted, the level lies between two consecutive ones.
    """
    var = np.sort(_check_variances(variances))
    if not distortion > 0:
        raise ValueError(f"distortion must be positive (R(0) is infinite for a continuous source), got {distortion}")
    if distortion >= var.sum():
        return float(var[-1])
    d = var.size
    below = np.concatenate([[0.0], np.cumsum(var)])  # below[m] = sum of the m smallest variances
    for m in range(d):
        # With the m smallest components "under water" (D_i = sigma_i^2), the rest share D equally.
        theta = (distortion - below[m]) / (d - m)
        if theta <= var[m]:
            return float(theta)
    raise AssertionError("unreachable: distortion < total variance always finds a level")  # pragma: no cover


def gaussian_rate_distortion(variances: Sequence[float], distortion) -> float | np.ndarray:
    r"""R(D) in nats of a Gaussian source with independent components of ``variances`` under squared
    error summed over the components, by reverse water-filling:

    .. math::

        R(D) = \sum_i \tfrac12 \log \frac{\sigma_i^2}{D_i}, \qquad D_i = \min(\theta, \sigma_i^2), \qquad
        \sum_i D_i = D .

    ``distortion`` may be a number or an array (then an array is returned). R(D) = 0 for
    :math:`D \ge \sum_i \sigma_i^2`.
    """
    var = _check_variances(variances)
    if np.ndim(distortion) > 0:
        return np.array([gaussian_rate_distortion(var, float(dd)) for dd in np.asarray(distortion).ravel()]
                        ).reshape(np.shape(distortion))
    theta = water_level(var, float(distortion))
    d_i = np.minimum(theta, var)
    return float(0.5 * np.sum(np.log(var / d_i)))


def gaussian_rate_distortion_at_slope(variances: Sequence[float], slope: float) -> tuple[float, float]:
    r"""The point (D, R) where R(D) has slope ``-slope``: the water level is :math:`\theta = 1/(2\lambda)`
    (as long as it is below the largest variance; beyond it, D is the total variance and R = 0)."""
    var = _check_variances(variances)
    require_finite(slope=slope)
    require_positive(slope=slope)
    theta = min(1.0 / (2.0 * slope), float(var.max()))
    d_i = np.minimum(theta, var)
    return float(d_i.sum()), float(0.5 * np.sum(np.log(var / d_i)))


def gaussian_rate_distortion_curve(variances: Sequence[float], num: int = 200,
                                   min_level: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    r"""``num`` points (D, R) of the whole curve, traced by the water level from ``min_level``
    (default: 1/1000 of the smallest variance) up to the largest variance (where R = 0)."""
    var = _check_variances(variances)
    require_at_least(2, num=num)
    lo = min_level if min_level is not None else 1e-3 * var.min()
    if not 0 < lo < var.max():
        raise ValueError(f"min_level must lie in (0, {var.max():g}), between 0 and the largest variance, got {lo}")
    levels = np.geomspace(lo, var.max(), num)
    d_i = np.minimum(levels[:, None], var[None, :])  # (num, d)
    return d_i.sum(1), 0.5 * np.log(var[None, :] / d_i).sum(1)


def shannon_lower_bound(entropy: float, dim: int, distortion) -> float | np.ndarray:
    r"""The Shannon lower bound for squared error summed over ``dim`` coordinates,
    :math:`R(D) \ge h(X) - \frac d2 \log(2 \pi e D / d)`, clipped at 0 (``entropy`` is h(X) in nats).

    It holds for any source with a density. It is tight for a Gaussian source
    :math:`\mathcal N(\mu, \operatorname{diag}\sigma^2)` whenever :math:`D/d \le \min_i \sigma_i^2`
    (every component above water, so reverse water-filling gives each the distortion D/d; the
    variances need not be equal), and for smooth sources in the limit D -> 0.
    """
    require_finite(entropy=entropy, dim=dim)
    require_positive(dim=dim)
    dist = np.asarray(distortion, dtype=float)
    if not np.all(dist > 0):  # NaN fails too
        raise ValueError(f"distortion must be positive, got {distortion!r}")
    out = np.maximum(0.0, entropy - 0.5 * dim * np.log(2 * math.pi * math.e * dist / dim))
    return float(out) if out.ndim == 0 else out


# ---------------------------------------------------------------------------------------------
# Discrete sources: Blahut-Arimoto
# ---------------------------------------------------------------------------------------------
def blahut_arimoto(p_x, distortion_matrix, beta: float | None = None, *, slope: float | None = None,
                   tol: float = 1e-10, max_iter: int = 10_000) -> tuple[float, float]:
    r"""(rate, distortion) in nats of the point of R(D) at slope ``-1/beta`` for a discrete source.

    Parameters
    ----------
    p_x : (n,) source probabilities.
    distortion_matrix : (n, m) distortions :math:`\rho(x, y)` of each source letter x and
        reproduction letter y.
    beta : the weight of the rate, as everywhere in the book: the point minimises
        :math:`D + \beta\, I(X;Y)`, so the slope of R(D) there is :math:`-1/\beta`.
    slope : alternatively the slope :math:`\lambda = 1/\beta` itself (the "s" of Blahut 1972, the
        "beta" of many texts that weight the distortion). Give exactly one of ``beta`` and ``slope``.
    tol : stop when the reproduction marginal q(y) changes by less than this (max abs).
    max_iter : iteration cap; a ``RuntimeError`` is raised if the tolerance is not reached.

    The iteration alternates the two minimisations of :math:`I + \lambda D` (Cover & Thomas 10.8):
    :math:`Q(y|x) \propto q(y)\, e^{-\lambda \rho(x,y)}` and :math:`q(y) = \sum_x p(x) Q(y|x)`,
    in log space.
    """
    if (beta is None) == (slope is None):
        raise ValueError("give exactly one of beta (weight of the rate) and slope (= 1/beta)")
    lam = slope if slope is not None else (1.0 / beta if beta > 0 else math.inf)
    if not lam > 0 or not math.isfinite(lam):
        raise ValueError(f"the slope 1/beta must be positive and finite, got beta={beta}, slope={slope}")
    p = np.asarray(p_x, dtype=float)
    rho = np.asarray(distortion_matrix, dtype=float)
    if p.ndim != 1 or rho.ndim != 2 or rho.shape[0] != p.shape[0]:
        raise ValueError(f"p_x must be (n,) and distortion_matrix (n, m), got {p.shape} and {rho.shape}")
    if not np.all(p >= 0) or not math.isclose(p.sum(), 1.0, rel_tol=0, abs_tol=1e-9):
        raise ValueError(f"p_x must be a probability vector, got {p_x!r}")
    if not np.all(np.isfinite(rho)):
        raise ValueError(f"distortion_matrix must be finite, got {distortion_matrix!r}")
    require_at_least(1, max_iter=max_iter)
    require_positive(tol=tol)
    support = p > 0
    p, rho = p[support], rho[support]
    m = rho.shape[1]
    log_q = np.full(m, -math.log(m))  # q(y), uniform start
    for _ in range(max_iter):
        logits = log_q[None, :] - lam * rho  # (n, m)
        log_Q = logits - _logsumexp(logits, axis=1)[:, None]  # log Q(y|x)
        q_new = p @ np.exp(log_Q)  # (m,)
        with np.errstate(divide="ignore"):
            log_q_new = np.log(q_new)
        done = np.max(np.abs(q_new - np.exp(log_q))) < tol
        log_q = log_q_new
        if done:
            break
    else:
        raise RuntimeError(f"Blahut-Arimoto did not reach tol={tol} in {max_iter} iterations")
    logits = log_q[None, :] - lam * rho
    log_Q = logits - _logsumexp(logits, axis=1)[:, None]
    Q = np.exp(log_Q)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(Q > 0, log_Q - log_q[None, :], 0.0)
    rate = float(np.sum(p[:, None] * Q * ratio))
    distortion = float(np.sum(p[:, None] * Q * rho))
    return max(rate, 0.0), distortion


def _logsumexp(a: np.ndarray, axis: int) -> np.ndarray:
    top = np.max(a, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    return (np.log(np.sum(np.exp(a - top), axis=axis, keepdims=True)) + top).squeeze(axis)


# ---------------------------------------------------------------------------------------------
# The sample-based lower bound of Yang & Mandt (2022)
# ---------------------------------------------------------------------------------------------
def squared_distances(y: torch.Tensor, x: torch.Tensor, x_sq: torch.Tensor | None = None) -> torch.Tensor:
    """||y_a - x_i||^2 for all pairs, (m, d) x (k, d) -> (m, k), never negative (``x_sq``: the
    precomputed ||x_i||^2)."""
    x_sq = (x * x).sum(-1) if x_sq is None else x_sq
    return ((y * y).sum(-1, keepdim=True) - 2.0 * y @ x.T + x_sq[None, :]).clamp_min(0.0)


@torch.no_grad()
def sup_log_partition(x: torch.Tensor, g_x: torch.Tensor, slope: float, *, starts: int | None = None,
                      max_iter: int = 200, tol: float = 1e-6) -> tuple[float, torch.Tensor]:
    r"""The inner supremum of the sample-based bound, in log space:

    .. math::

        \log C_k = \sup_y \log \frac1k \sum_{i=1}^k e^{g(x_i) - \lambda \|x_i - y\|^2} .

    As a function of y this is a mixture of isotropic Gaussian bumps at the x_i with weights
    :math:`e^{g(x_i)}`, so weighted mean shift, :math:`y \leftarrow \sum_i w_i(y)\, x_i` with
    :math:`w(y) = \operatorname{softmax}_i(g(x_i) - \lambda\|x_i - y\|^2)`, climbs it monotonically
    to a local mode. It is started from every sample (``starts=None``, the exhaustive search of
    Carreira-Perpinan (2007) that Yang & Mandt use for evaluation) or from the ``starts`` samples
    with the largest value (their quick mode for training). A missed global mode makes
    :math:`\log C_k` too small and the bound too large; starting everywhere makes that unlikely,
    not impossible. Computed in float64. Returns (log C_k, the maximiser y of shape (d,)).
    """
    if x.ndim != 2 or g_x.shape != (x.shape[0],):
        raise ValueError(f"need x of shape (k, d) and g_x of shape (k,), got {tuple(x.shape)} and {tuple(g_x.shape)}")
    x = x.double()
    g = g_x.double()
    k = x.shape[0]
    x_sq = (x * x).sum(-1)
    at_samples = (g[None, :] - slope * squared_distances(x, x, x_sq)).logsumexp(1)  # (k,) objective at y = x_j
    if starts is None or starts >= k:
        y = x.clone()
    else:
        y = x[at_samples.topk(starts).indices].clone()
    active = torch.arange(y.shape[0])  # starts still moving
    for _ in range(max_iter):
        w = torch.softmax(g[None, :] - slope * squared_distances(y[active], x, x_sq), dim=1)  # (m, k)
        y_new = w @ x  # (m, d)
        moved = (y_new - y[active]).abs().amax(1)  # (m,)
        y[active] = y_new
        active = active[moved >= tol]
        if active.numel() == 0:
            break
    # Mean shift only climbs, so the best end point is at least as good as the best sample.
    values = (g[None, :] - slope * squared_distances(y, x, x_sq)).logsumexp(1)  # (m,)
    best = int(values.argmax())
    return float(values[best]) - math.log(k), y[best].to(g_x.dtype)


@dataclass(frozen=True)
class DualBoundConfig:
    """The dual-function network g and its training (defaults: a 2-d source, quick profile)."""

    input_dim: int = 2  # d of the source
    slope: float = 1.0  # lambda: the bound is a line of slope -lambda in the (D, R) plane
    hidden: tuple[int, ...] = (64, 64)  # MLP widths of g (Yang & Mandt: 20, 10 in their demo; three wide layers in the paper)
    activation: str = "softplus"  # smooth nonlinearity of g (they use selu)
    optim: OptimizerConfig = OptimizerConfig()  # Adam (theirs: lr 5e-4)
    train_starts: int = 5  # mean-shift starts per training step (their quick mode: the best 3-10 samples)
    alpha_momentum: float = 0.2  # share of the old expansion point alpha kept per step (their 0.2)
    train_shift_iters: int = 15  # mean-shift iterations per training step (a partial climb is enough there)
    eval_shift_iters: int = 500  # mean-shift iterations per batch in :meth:`DualLowerBound.estimate`

    def __post_init__(self) -> None:
        require_positive(input_dim=self.input_dim, slope=self.slope, hidden=self.hidden)
        require_at_least(1, train_starts=self.train_starts, train_shift_iters=self.train_shift_iters,
                         eval_shift_iters=self.eval_shift_iters)
        require_probability(alpha_momentum=self.alpha_momentum)
        if self.alpha_momentum == 1:
            raise ValueError(f"alpha_momentum must lie in [0, 1), got {self.alpha_momentum}")
        require_choice("activation", self.activation, _ACTIVATIONS)


_ACTIVATIONS = {"softplus": nn.Softplus, "selu": nn.SELU, "elu": nn.ELU, "relu": nn.ReLU}


@dataclass
class DualBoundEstimate:
    r"""A linear lower bound :math:`R(D) \ge \texttt{intercept} - \lambda D` for every D.

    ``intercept`` is the mean of the estimator :math:`\xi` over held-out batches, ``stderr`` its
    standard error; ``plug_in`` is the biased plug-in value
    :math:`\overline{g} - \log C_k` averaged over the same batches, for comparison.
    """

    slope: float
    intercept: float
    stderr: float
    plug_in: float
    log_alpha: float
    xi: np.ndarray = field(repr=False)

    def at(self, distortion) -> float | np.ndarray:
        """The bound's value at ``distortion`` (not clipped at 0)."""
        return self.intercept - self.slope * np.asarray(distortion, dtype=float)


def lower_envelope(estimates: Sequence[DualBoundEstimate], distortion) -> np.ndarray:
    """max(0, max_j intercept_j - slope_j D): the best of several linear lower bounds at each D."""
    dist = np.asarray(distortion, dtype=float)
    lines = np.stack([np.asarray(e.at(dist)) for e in estimates])
    return np.maximum(0.0, lines.max(0))


class DualLowerBound(Trainable):
    r"""The sample-based lower bound on R(D) of Yang & Mandt (2022), for squared error.

    Csiszar's dual gives, for any slope :math:`\lambda > 0` and any function g,

    .. math::

        R(D) \ge \mathbb E[g(X)] - \log \sup_y \mathbb E\big[e^{g(X) - \lambda \|X - y\|^2}\big] - \lambda D .

    (Yang & Mandt write :math:`g = -\log u`.) Replacing the expectation inside the supremum by a
    mean over k samples gives :math:`C_k`, whose expectation over the samples can only be larger,
    so :math:`\mathbb E[g] - \log \mathbb E[C_k] - \lambda D` is still a lower bound; and since
    :math:`\log c \le c/\alpha + \log\alpha - 1`, so is

    .. math::

        \tilde\ell_k - \lambda D, \qquad
        \tilde\ell_k = \mathbb E[g(X)] - \mathbb E[C_k]/\alpha - \log\alpha + 1 ,

    for any :math:`\alpha > 0` fixed independently of the samples, and :math:`\tilde\ell_k` has an
    unbiased estimator :math:`\xi` (:meth:`estimate`). Training maximises it with :math:`\alpha` a
    running average of :math:`C_k`, as in the paper. The plug-in :math:`\overline g - \log C_k` is
    logged as the metric ``plug_in``; it is biased, and it never exceeds :math:`\log k`.
    """

    autocast_safe = False  # log-sum-exp over k^2 pairs

    def __init__(self, config: DualBoundConfig = DualBoundConfig()):
        super().__init__()
        self.config = c = config
        self.g = mlp(c.input_dim, c.hidden, 1, _ACTIVATIONS[c.activation])
        self.register_buffer("log_alpha", torch.tensor(float("nan")))  # log of the expansion point alpha

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """g(x), (k, d) -> (k,)."""
        if x.ndim != 2 or x.shape[1] != self.config.input_dim:
            raise ValueError(f"DualLowerBound: x must have shape (k, {self.config.input_dim}), got {tuple(x.shape)}")
        return self.g(x).squeeze(-1)

    def log_partition(self, x: torch.Tensor, g_x: torch.Tensor, starts: int | None) -> torch.Tensor:
        """log C_k with gradient in g: the maximiser y is found without gradient, then the objective
        is evaluated there (Danskin: the gradient of a supremum is the gradient at the maximiser)."""
        _, y = sup_log_partition(x.detach(), g_x.detach(), self.config.slope, starts=starts,
                                 max_iter=self.config.train_shift_iters)
        d2 = ((x - y) ** 2).sum(-1)  # (k,)
        return (g_x - self.config.slope * d2).logsumexp(0) - math.log(x.shape[0])

    def loss(self, batch) -> LossTerms:
        x = first_tensor(batch)
        g_x = self(x)  # (k,)
        log_c = self.log_partition(x, g_x, self.config.train_starts)
        with torch.no_grad():
            if torch.isnan(self.log_alpha):
                self.log_alpha.copy_(log_c)
            log_alpha = self.log_alpha.clone()
            # alpha <- m alpha + (1 - m) C_k, for the next step (alpha never depends on this batch).
            m = self.config.alpha_momentum
            new = torch.logaddexp(log_alpha + math.log(m), log_c + math.log1p(-m)) if m > 0 else log_c.detach()
            self.log_alpha.copy_(new)
        # -(E g - C_k / alpha - log alpha + 1): the negated linearised objective.
        objective = g_x.mean() - torch.exp(log_c - log_alpha) - log_alpha + 1.0
        return LossTerms(terms={"negative_objective": -objective},
                         metrics={"plug_in": (g_x.mean() - log_c).detach(), "log_partition": log_c.detach()})

    def players(self) -> list[Player]:
        return [Player("dual", list(self.parameters()), self.config.optim)]

    def schedule(self) -> list[Update]:
        return [Update("dual", self.loss)]

    @torch.no_grad()
    def estimate(self, x: torch.Tensor, batch_size: int, *, starts: int | None = None) -> DualBoundEstimate:
        """The intercept of the linear lower bound from held-out samples ``x``
        (:func:`estimate_dual_bound` with this model's g)."""
        return estimate_dual_bound(self, x, self.config.slope, batch_size, starts=starts,
                                   max_iter=self.config.eval_shift_iters)


@torch.no_grad()
def estimate_dual_bound(g, x: torch.Tensor, slope: float, batch_size: int, *, starts: int | None = None,
                        max_iter: int = 500) -> DualBoundEstimate:
    r"""Estimate the intercept of the linear lower bound :math:`R(D) \ge \tilde\ell_k - \lambda D`
    for a dual function ``g`` (a callable, (k, d) -> (k,)) from samples ``x`` of the source.

    ``x`` is cut into 2M batches of ``batch_size`` (= k). The first M set the expansion point,
    :math:`\alpha = \frac1M \sum_j C_k^{(j)}`; on each of the other M,
    :math:`\xi_j = \frac1k \sum_i g(x_i) - C_k^{(j)}/\alpha - \log\alpha + 1`, whose mean is an
    unbiased estimate of :math:`\tilde\ell_k` (Yang & Mandt 2022, their Appendix A.6).
    ``starts=None`` runs mean shift from every sample (:func:`sup_log_partition`). A smoke run
    (``INFOBOUNDS_SMOKE``), whose ``x`` holds a few hundred samples, cuts k to a quarter of them.
    """
    k = min(batch_size, x.shape[0] // 4) if smoke_enabled() else batch_size
    n_batches = x.shape[0] // k
    if n_batches < 4:
        raise ValueError(f"need at least 4 batches of {k} samples (2M with M >= 2), got {x.shape[0]} samples")
    n_batches -= n_batches % 2
    log_c, mean_g = [], []
    for j in range(n_batches):
        xb = x[j * k:(j + 1) * k]
        g_x = g(xb)
        value, _ = sup_log_partition(xb, g_x, slope, starts=starts, max_iter=max_iter)
        log_c.append(value)
        mean_g.append(float(g_x.mean()))
    log_c, mean_g = np.asarray(log_c), np.asarray(mean_g)
    half = n_batches // 2
    log_alpha = float(np.logaddexp.reduce(log_c[:half]) - math.log(half))
    xi = mean_g[half:] - np.exp(log_c[half:] - log_alpha) - log_alpha + 1.0
    return DualBoundEstimate(
        slope=float(slope), intercept=float(xi.mean()), stderr=float(xi.std(ddof=1) / math.sqrt(len(xi))),
        plug_in=float(np.mean(mean_g - log_c)), log_alpha=log_alpha, xi=xi)


def gaussian_dual_function(variances: Sequence[float], slope: float):
    r"""The optimal dual function g* of a centred Gaussian source at slope ``slope`` (a callable
    (k, d) -> (k,)): with :math:`\theta = 1/(2\lambda)`,

    .. math::

        g^*(x) = \sum_{\sigma_i^2 > \theta} \Big[\frac{x_i^2}{2\sigma_i^2} + \frac12\log\frac{\sigma_i^2}{\theta}\Big]
               + \sum_{\sigma_i^2 \le \theta} \frac{x_i^2}{2\theta},

    minus the log of :math:`\mathbb E_{Y \sim q^*} e^{-\lambda\|x - Y\|^2}` under the optimal
    reproduction distribution. With it the dual bound is exact, :math:`\sup_y \mathbb E e^{g^* - \lambda\|X-y\|^2} = 1`
    and :math:`\mathbb E g^* - \lambda D = R(D)` at the tangent point (chapter ``rate_distortion_sandwich``).
    """
    var = torch.as_tensor(_check_variances(variances))
    require_finite(slope=slope)
    require_positive(slope=slope)
    theta = 1.0 / (2.0 * slope)
    active = var > theta

    def g(x: torch.Tensor) -> torch.Tensor:
        v = var.to(x.device, x.dtype)
        quad = torch.where(active.to(x.device), x**2 / (2 * v), x**2 / (2 * theta))
        const = torch.where(active, 0.5 * torch.log(var / theta), torch.zeros_like(var)).sum()
        return quad.sum(-1) + float(const)

    return g
