"""Variational lower bounds on mutual information, the critics trained on them, and checks of an estimate.

Chapter ``information_measures`` derives each bound. All of them are evaluated on a matrix of critic
scores ``scores[i, j] = f(x_i, y_j)`` over a batch of ``K`` pairs, whose diagonal holds the samples
of the joint p(x, y) and whose off-diagonal entries stand in for samples of p(x) p(y):

===========  ===============================================================  ========================
name         bound (nats)                                                     reference
===========  ===============================================================  ========================
``ba``       h(X) + E_p log q(x|y)         (needs a decoder q and h(X))       Barber & Agakov 2003
``dv``       E_p f - log E_{p(x)p(y)} e^f  (Donsker-Varadhan; MINE)           Belghazi et al. 2018
``nwj``      E_p f - e^{-1} E_{p(x)p(y)} e^f                                  Nguyen et al. 2010
``infonce``  E [ f(x_i,y_i) - log 1/K sum_j e^{f(x_i,y_j)} ]  (<= log K)      van den Oord et al. 2018
``js``       critic trained on the Jensen-Shannon objective, then NWJ(f + 1)  Poole et al. 2019
===========  ===============================================================  ========================

The **value** of a bound and the **training objective** of its critic are kept apart: they coincide
for DV, NWJ and InfoNCE, but the JS estimator trains on the JS divergence and reports NWJ(f + 1)
(``js_value="nwj"``, Poole et al.'s estimator, chapter ``information_measures``) or, by default in
:func:`~infobounds.estimators.mi.estimate_mi`, DV on the same critic (``js_value="dv"``): at the JS optimum
f* = log p(x,y)/(p(x)p(y)) both equal the MI, but NWJ(f + 1) also depends on E_{p(x)p(y)} e^f, which
the JS objective does not control, while DV is invariant to a constant shift of f and
DV(f) >= NWJ(f + 1) for every f (log t <= t - 1).

This module only describes the critics (:class:`CriticMI`, a model for the training loop) and judges an
estimate (:func:`evaluate_bound`, :func:`suspicious_estimate`); the function that trains a critic on
samples and returns an estimate, :func:`infobounds.estimators.mi.estimate_mi`, sits a layer above, with
the training loop it needs.
"""

from __future__ import annotations

import math
import warnings
from typing import Literal

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from infobounds.bounds.standardise import Standardiser
from infobounds.core import LossTerms, OptimizerConfig, Player, Trainable, Update
from infobounds.nets import mlp

Estimator = Literal["ba", "dv", "nwj", "infonce", "js"]
ESTIMATORS: tuple[str, ...] = ("ba", "dv", "nwj", "infonce", "js")
CRITICS: tuple[str, ...] = ("separable", "concat")
JS_VALUES: tuple[str, ...] = ("nwj", "dv")


class EstimateWarning(UserWarning):
    """An estimate that is probably not the quantity asked for: negative, or at a bound's ceiling."""


def _check_scores(scores: torch.Tensor) -> int:
    if scores.ndim != 2 or scores.shape[0] != scores.shape[1]:
        raise ValueError(f"scores must be a square (K, K) matrix of f(x_i, y_j), got shape {tuple(scores.shape)}")
    if scores.shape[0] < 2:
        raise ValueError("need a batch of at least 2 pairs: the off-diagonal stands in for p(x)p(y)")
    return scores.shape[0]


def _off_diagonal(scores: torch.Tensor) -> torch.Tensor:
    k = scores.shape[0]
    # The K^2 - 1 entries after (0, 0), read as rows of K + 1, hold the diagonal in the last column:
    # dropping it leaves the off-diagonal in row-major order, as a boolean mask would, without the
    # mask's nonzero/gather (half the cost of this function with its backward).
    return scores.flatten()[1:].view(k - 1, k + 1)[:, :-1].reshape(-1)  # (K(K-1),)


def infonce_lower_bound(scores: torch.Tensor) -> torch.Tensor:
    """InfoNCE: mean_i [f(x_i,y_i) - logsumexp_j f(x_i,y_j)] + log K. Never exceeds log K."""
    k = _check_scores(scores)
    return (scores.diagonal() - scores.logsumexp(dim=1)).mean() + math.log(k)


def nwj_lower_bound(scores: torch.Tensor) -> torch.Tensor:
    """NWJ (f-GAN KL): E_p f - e^{-1} E_{p(x)p(y)} e^f, the marginal term over the off-diagonal."""
    _check_scores(scores)
    off = _off_diagonal(scores)
    # e^{-1} E e^f computed as exp(logsumexp(f) - log n - 1) to avoid overflow.
    return scores.diagonal().mean() - torch.exp(off.logsumexp(0) - math.log(off.numel()) - 1.0)


def dv_lower_bound(scores: torch.Tensor) -> torch.Tensor:
    """Donsker-Varadhan: E_p f - log E_{p(x)p(y)} e^f, the marginal term over the off-diagonal."""
    _check_scores(scores)
    off = _off_diagonal(scores)
    return scores.diagonal().mean() - (off.logsumexp(0) - math.log(off.numel()))


def js_objective(scores: torch.Tensor) -> torch.Tensor:
    """The Jensen-Shannon training objective E_p[-softplus(-f)] - E_{p(x)p(y)}[softplus(f)].

    Its maximiser is f* = log p(x,y)/(p(x)p(y)); it is not itself an MI bound (it is 2 JSD - log 4).
    """
    _check_scores(scores)
    return -F.softplus(-scores.diagonal()).mean() - F.softplus(_off_diagonal(scores)).mean()


def js_lower_bound(scores: torch.Tensor) -> torch.Tensor:
    """The JS estimator's value: NWJ evaluated at f + 1, whose optimum is the JS critic's optimum."""
    return nwj_lower_bound(scores + 1.0)


_VALUE = {"dv": dv_lower_bound, "nwj": nwj_lower_bound, "infonce": infonce_lower_bound, "js": js_lower_bound}
_OBJECTIVE = {"dv": dv_lower_bound, "nwj": nwj_lower_bound, "infonce": infonce_lower_bound, "js": js_objective}
_JS_VALUE = {"nwj": js_lower_bound, "dv": dv_lower_bound}


def mi_lower_bound(scores: torch.Tensor, estimator: str) -> torch.Tensor:
    """The value in nats of ``estimator``'s bound on a (K, K) score matrix (critic-based estimators)."""
    if estimator not in _VALUE:
        raise ValueError(f"unknown critic-based estimator {estimator!r}: choose one of {', '.join(_VALUE)}")
    return _VALUE[estimator](scores)


class SeparableCritic(nn.Module):
    """f(x, y) = g(x)^T h(y): all K^2 scores from 2K network evaluations."""

    def __init__(self, x_dim: int, y_dim: int, hidden: tuple[int, ...] = (256, 256), embed_dim: int = 32):
        super().__init__()
        self.g = mlp(x_dim, hidden, embed_dim)
        self.h = mlp(y_dim, hidden, embed_dim)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.g(x) @ self.h(y).T  # (K, K)


class ConcatCritic(nn.Module):
    """f(x, y) = MLP([x, y]) evaluated on all K^2 pairs: more expressive, K times costlier."""

    def __init__(self, x_dim: int, y_dim: int, hidden: tuple[int, ...] = (256, 256)):
        super().__init__()
        self.f = mlp(x_dim + y_dim, hidden, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        k = x.shape[0]
        pairs = torch.cat([x.unsqueeze(1).expand(k, k, -1), y.unsqueeze(0).expand(k, k, -1)], dim=-1)
        return self.f(pairs).squeeze(-1)  # (K, K), rows index x, columns y


class GaussianDecoder(nn.Module):
    """q(x | y) = N(mu(y), diag sigma^2(y)): the variational decoder of the Barber-Agakov bound."""

    def __init__(self, x_dim: int, y_dim: int, hidden: tuple[int, ...] = (256, 256)):
        super().__init__()
        self.net = mlp(y_dim, hidden, 2 * x_dim)

    def log_prob(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        mu, logvar = self.net(y).chunk(2, dim=-1)
        logvar = logvar.clamp(-12.0, 8.0)
        return -0.5 * (math.log(2 * math.pi) + logvar + (x - mu) ** 2 / logvar.exp()).sum(-1)


class Standardised(nn.Module):
    """A critic (or the Barber-Agakov decoder) that standardises x and y before it scores them, so
    that it takes the raw samples: ``forward(x, y) = net(phi_x(x), phi_y(y))``.

    For the decoder, ``log_prob`` is the density of the raw x,
    log q(x | y) = log q'(phi_x(x) | phi_y(y)) + log |det phi_x'(x)|, so h(X) stays the raw one."""

    def __init__(self, net: nn.Module, x_standardiser: Standardiser, y_standardiser: Standardiser):
        super().__init__()
        self.net, self.x_standardiser, self.y_standardiser = net, x_standardiser, y_standardiser

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.net(self.x_standardiser(x), self.y_standardiser(y))

    def log_prob(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        log_q = self.net.log_prob(self.x_standardiser(x), self.y_standardiser(y))  # (K,)
        return log_q + self.x_standardiser.log_abs_det_jacobian(x)


class CriticMI(Trainable):
    """A critic trained to maximise one of the MI lower bounds (a one-player model for ``fit``).

    ``js_value`` is what the JS estimator reports on its critic: ``"nwj"``, NWJ(f + 1) (Poole et
    al.), or ``"dv"``, DV(f) (module docstring). ``standardisers`` (phi_x, phi_y), fitted on the
    training samples, are applied to every batch before the network (:class:`Standardised`)."""

    autocast_safe = False  # log-sum-exp over K^2 scores loses too much in bf16

    def __init__(self, x_dim: int, y_dim: int, estimator: str = "infonce", critic: str = "separable",
                 hidden: tuple[int, ...] = (256, 256), embed_dim: int = 32,
                 optim: OptimizerConfig = OptimizerConfig(lr=5e-4),
                 entropy_x: float | None = None, js_value: str = "nwj",
                 standardisers: tuple[Standardiser, Standardiser] | None = None):
        super().__init__()
        if estimator not in ESTIMATORS:
            raise ValueError(f"unknown estimator {estimator!r}: choose one of {', '.join(ESTIMATORS)}")
        if critic not in CRITICS:
            raise ValueError(f"unknown critic {critic!r}: choose one of {', '.join(CRITICS)}")
        if js_value not in JS_VALUES:
            raise ValueError(f"unknown js_value {js_value!r}: choose one of {', '.join(JS_VALUES)}")
        self.estimator = estimator
        self.js_value = js_value
        self.optim = optim
        self.x_dim, self.y_dim = x_dim, y_dim
        if estimator == "ba":
            if entropy_x is None:
                raise ValueError("the Barber-Agakov bound needs the entropy h(X) (entropy_x=...)")
            self.entropy_x = float(entropy_x)
            self.net = GaussianDecoder(x_dim, y_dim, hidden)
        else:
            self.entropy_x = None
            self.net = (SeparableCritic(x_dim, y_dim, hidden, embed_dim) if critic == "separable"
                        else ConcatCritic(x_dim, y_dim, hidden))
        if standardisers is not None:
            self.net = Standardised(self.net, *standardisers)

    def bound(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(value in nats, training objective to maximise) on one batch of pairs."""
        if x.ndim != 2 or y.ndim != 2 or x.shape[0] != y.shape[0]:
            raise ValueError(f"x and y must be (K, d) batches of pairs, got {tuple(x.shape)} and {tuple(y.shape)}")
        if x.shape[1] != self.x_dim or y.shape[1] != self.y_dim:
            raise ValueError(f"critic expects x with {self.x_dim} and y with {self.y_dim} features, "
                             f"got {tuple(x.shape)} and {tuple(y.shape)}")
        if self.estimator == "ba":
            value = self.entropy_x + self.net.log_prob(x, y).mean()
            return value, value
        scores = self.net(x, y)
        value = _JS_VALUE[self.js_value] if self.estimator == "js" else _VALUE[self.estimator]
        return value(scores), _OBJECTIVE[self.estimator](scores)

    def loss(self, batch):
        x, y = batch
        value, objective = self.bound(x, y)
        return LossTerms(terms={"negative_objective": -objective}, metrics={"mi": value})

    def players(self) -> list[Player]:
        return [Player("critic", list(self.parameters()), self.optim)]

    def schedule(self) -> list[Update]:
        return [Update("critic", self.loss)]


@torch.no_grad()
def evaluate_bound(critic: CriticMI, x: torch.Tensor, y: torch.Tensor, batch_size: int) -> tuple[float, float]:
    """Mean and standard error of the bound over consecutive held-out batches of size ``batch_size``."""
    values = []
    for start in range(0, x.shape[0] - batch_size + 1, batch_size):
        value, _ = critic.bound(x[start:start + batch_size], y[start:start + batch_size])
        values.append(float(value))
    if not values:
        raise ValueError(f"need at least batch_size={batch_size} held-out pairs, got {x.shape[0]}")
    values = np.asarray(values)
    stderr = float(values.std(ddof=1) / math.sqrt(len(values))) if len(values) > 1 else float("nan")
    return float(values.mean()), stderr


NEGLIGIBLE = 0.01  # nats: a negative estimate above -NEGLIGIBLE is read as a zero MI, not as a failure


def suspicious_estimate(value: float, stderr: float, *, ceiling: float | None = None) -> str | None:
    """Why an estimate of a non-negative quantity is probably wrong, or None.

    * ``value < -max(stderr, NEGLIGIBLE)``: below zero by more than its standard error and by more
      than ``NEGLIGIBLE`` = 0.01 nats: the critic does worse than a constant one, so the value says
      nothing about the MI; either the MI is about 0 or the critic failed (unstandardised inputs,
      too few steps). The floor is there because the held-out standard error leaves out the spread
      of the critic's training: a critic that learnt nothing, on independent data, gives nearly
      constant logits, a standard error of 1e-4 and a mean of, say, -5e-4.
    * ``value > ceiling - log 2`` (InfoNCE, ``ceiling = log K``): at the optimal critic InfoNCE is
      about log K - log(1 + (K - 1) e^{-I}), which passes log K - log 2 when I reaches about log K;
      from there on the value is set by K, not by the data.
    """
    if not math.isfinite(value):
        return f"the estimate is {value}"
    if value < -max(stderr if math.isfinite(stderr) else 0.0, NEGLIGIBLE):
        return (f"the estimate {value:.4g} nats is below 0 by more than its standard error {stderr:.2g}: "
                "the critic does worse than a constant, so either the MI is about 0 or the critic failed")
    if ceiling is not None and value > ceiling - math.log(2.0):
        return (f"the estimate {value:.4g} nats is within log 2 of InfoNCE's ceiling log K = {ceiling:.4g}: "
                "the MI may be far larger; raise eval_batch_size (K) or use nwj or dv")
    return None


def warn_estimate(where: str, warning: str | None) -> None:
    """Issue ``warning`` (from :func:`suspicious_estimate`) as an :class:`EstimateWarning`, if any."""
    if warning is not None:
        warnings.warn(f"{where}: {warning}", EstimateWarning, stacklevel=3)
