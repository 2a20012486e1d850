"""Variational lower bounds on mutual information, and one function that estimates MI with them.

Chapter ``information_measures`` derives each bound. All of them are evaluated on a matrix of critic
scores ``scores[i, j] = f(x_i, y_j)`` over a batch of ``K`` pairs, whose diagonal holds the samples
of the joint p(x, y) and whose off-diagonal entries stand in for samples of p(x) p(y):

==========  =================================================================  ===================
name        bound (nats)                                                       reference
==========  =================================================================  ===================
``ba``      h(X) + E_p log q(x|y)         (needs a decoder q and h(X))          Barber & Agakov 2003
``dv``      E_p f - log E_{p(x)p(y)} e^f  (Donsker-Varadhan; MINE)              Belghazi et al. 2018
``nwj``     E_p f - e^{-1} E_{p(x)p(y)} e^f                                     Nguyen et al. 2010
``infonce`` E [ f(x_i,y_i) - log 1/K sum_j e^{f(x_i,y_j)} ]  (<= log K)         van den Oord et al. 2018
``js``      critic trained on the Jensen-Shannon objective, then NWJ(f + 1)   Poole et al. 2019
==========  =================================================================  ===================

The **value** of a bound and the **training objective** of its critic are kept apart: they coincide
for DV, NWJ and InfoNCE, but the JS estimator trains on the JS divergence and reports NWJ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from infobounds.models.base import LossTerms, Player, Trainable, Update
from infobounds.nets import mlp

Estimator = Literal["ba", "dv", "nwj", "infonce", "js"]
ESTIMATORS: tuple[str, ...] = ("ba", "dv", "nwj", "infonce", "js")
CRITICS: tuple[str, ...] = ("separable", "concat")


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


class CriticMI(Trainable):
    """A critic trained to maximise one of the MI lower bounds (a one-player model for ``fit``)."""

    autocast_safe = False  # log-sum-exp over K^2 scores loses too much in bf16

    def __init__(self, x_dim: int, y_dim: int, estimator: str = "infonce", critic: str = "separable",
                 hidden: tuple[int, ...] = (256, 256), embed_dim: int = 32, lr: float = 5e-4,
                 entropy_x: float | None = None):
        super().__init__()
        if estimator not in ESTIMATORS:
            raise ValueError(f"unknown estimator {estimator!r}: choose one of {', '.join(ESTIMATORS)}")
        if critic not in CRITICS:
            raise ValueError(f"unknown critic {critic!r}: choose one of {', '.join(CRITICS)}")
        if lr <= 0:
            raise ValueError(f"lr must be positive, got {lr}")
        self.estimator = estimator
        self.lr = lr
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
        return _VALUE[self.estimator](scores), _OBJECTIVE[self.estimator](scores)

    def loss(self, batch):
        x, y = batch
        value, objective = self.bound(x, y)
        return LossTerms(terms={"negative_objective": -objective}, metrics={"mi": value})

    def players(self) -> list[Player]:
        return [Player("critic", list(self.parameters()), lr=self.lr)]

    def schedule(self) -> list[Update]:
        return [Update("critic", self.loss)]


@dataclass
class MIEstimate:
    """An MI estimate in nats: ``value`` on held-out batches, ``trace`` per training step."""

    estimator: str
    value: float
    stderr: float
    trace: np.ndarray = field(repr=False)
    critic: CriticMI = field(repr=False)


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


def estimate_mi(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    estimator: str = "infonce",
    critic: str = "separable",
    steps: int = 2000,
    batch_size: int = 128,
    lr: float = 5e-4,
    hidden: tuple[int, ...] = (256, 256),
    embed_dim: int = 32,
    holdout: float = 0.2,
    entropy_x: float | None = None,
    seed: int = 0,
    progress: bool = False,
) -> MIEstimate:
    """Estimate I(X;Y) in nats from paired samples by training a critic on one of the bounds.

    Parameters
    ----------
    x, y : (N, d_x) and (N, d_y) paired samples of p(x, y).
    estimator : one of ``ba``, ``dv``, ``nwj``, ``infonce``, ``js`` (see the module table).
    critic : ``separable`` (g(x)^T h(y)) or ``concat`` (MLP on [x, y]).
    steps, batch_size, lr, hidden, embed_dim : critic training; ``batch_size`` is K of InfoNCE,
        whose estimate therefore never exceeds log K.
    holdout : share of the pairs kept out of training; the returned value is the bound's mean over
        held-out batches, so it is not inflated by a critic that memorised its training pairs.
    entropy_x : h(X) in nats, required by ``ba``.

    Returns
    -------
    MIEstimate with the held-out value, its standard error and the per-step training trace.
    """
    from infobounds.data.iterators import BatchStream
    from infobounds.training import fit

    if x.ndim != 2 or y.ndim != 2:
        raise ValueError(f"x and y must be 2-d (N, d), got shapes {tuple(x.shape)} and {tuple(y.shape)}")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x and y must hold the same number of pairs, got {x.shape[0]} and {y.shape[0]}")
    if not 0 < holdout < 1:
        raise ValueError(f"holdout must lie in (0, 1), got {holdout}")
    n_eval = int(round(holdout * x.shape[0]))
    if n_eval < batch_size or x.shape[0] - n_eval < batch_size:
        raise ValueError(f"{x.shape[0]} pairs are too few for batch_size={batch_size} with holdout={holdout}")
    x, y = x.float(), y.float()
    torch.manual_seed(seed)  # the critic's initialisation too, so the estimate depends on seed alone
    model = CriticMI(x.shape[1], y.shape[1], estimator, critic, hidden, embed_dim, lr, entropy_x).to(x.device)
    stream = BatchStream(x[n_eval:], y[n_eval:], batch_size=batch_size, seed=seed)
    result = fit(model, stream, steps=steps, seed=seed, progress=progress, desc=f"MI ({estimator})")
    value, stderr = evaluate_bound(model, x[:n_eval], y[:n_eval], batch_size)
    return MIEstimate(estimator, value, stderr, result.history["critic/mi"], model)
