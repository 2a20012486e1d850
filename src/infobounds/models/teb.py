r"""Transfer Entropy Bottleneck (chapter ``transfer_entropy_bottleneck``).

Kalajdzievski, Mao, Fortier-Poisson, Lajoie & Richards (2023), *Transfer Entropy Bottleneck:
Learning Sequence to Sequence Information Transfer*, TMLR.

A source stream :math:`X` and a target stream :math:`Y`; predict :math:`y_t` from the pasts
:math:`x_\text{past}, y_\text{past}`, letting information from the source through a stochastic
bottleneck :math:`Z` only. With an encoder :math:`q(z | x_\text{past}, y_\text{past})`, a *conditional*
prior :math:`p(z | y_\text{past})` and a predictor :math:`p(y_t | z, y_\text{past})`, the objective is

.. math::

    \mathcal L = \underbrace{\mathbb E\, \mathbb E_{q(z|x_\text{past},y_\text{past})}
        \big[-\log p(y_t | z, y_\text{past})\big]}_{\texttt{distortion}}
      + \beta\, \underbrace{\mathbb E\, \mathrm{KL}\big(q(z|x_\text{past},y_\text{past}) \,\|\,
        p(z|y_\text{past})\big)}_{\texttt{rate}} .

``rate`` upper-bounds :math:`I(Z; X_\text{past} | Y_\text{past})`, the information the bottleneck
takes from the source beyond what the target's past already holds; ``distortion`` upper-bounds
:math:`h(Y_t | Z, Y_\text{past})`. The difference of a target-only model's held-out NLL and
``distortion`` estimates :math:`I(Z; Y_t | Y_\text{past}) \le \mathrm{TE}_{X\to Y}` (the chapter says
when it is a bound and when only an estimate).

The paper conditions the TEB on the representation of a separately trained target model and stops
its gradient; here the conditional prior and the predictor read :math:`y_\text{past}` directly, and the
target-only model is the baseline :class:`ConditionalPredictor` (``use_source=False``), which with
``use_source=True`` is the joint model without a bottleneck.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from infobounds.bounds.gaussian import LOG_2PI, kl_diagonal_gaussians
from infobounds.models.base import LossTerms, OptimizerConfig, Player, Trainable, check_batch
from infobounds.nets import GaussianHead, mlp, reparameterize
from infobounds.validation import require_non_empty, require_non_negative, require_positive


def gaussian_nll(y: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """-log N(y; mean, diag e^logvar) in nats, summed over the last dimension: (..., d) -> (...)."""
    return 0.5 * (LOG_2PI + logvar + (y - mean) ** 2 / logvar.exp()).sum(dim=-1)


class GaussianRegressor(nn.Module):
    """p(y | inputs) = N(W inputs + mlp(inputs), diag sigma^2): a linear autoregression plus a
    nonlinear correction, with one learned variance per output coordinate (the innovations of the
    book's streams are homoscedastic)."""

    def __init__(self, in_dim: int, out_dim: int, hidden: tuple[int, ...]):
        super().__init__()
        self.linear = nn.Linear(in_dim, out_dim)
        self.correction = mlp(in_dim, hidden, out_dim)
        self.logvar = nn.Parameter(torch.zeros(out_dim))

    def forward(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean = self.linear(inputs) + self.correction(inputs)  # (..., out_dim)
        return mean, self.logvar.expand_as(mean)

    def nll(self, inputs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """-log p(y | inputs) per example, nats: (..., in_dim), (..., out_dim) -> (...)."""
        return gaussian_nll(y, *self(inputs))


def _check_common(source_dim: int, target_dim: int, out_dim: int, hidden: tuple[int, ...]) -> None:
    require_non_empty(hidden=hidden)
    require_positive(source_dim=source_dim, target_dim=target_dim, out_dim=out_dim, hidden=hidden)


def _unpack(batch, source_dim: int, target_dim: int, out_dim: int, where: str):
    x_past, y_past, y_next = batch
    check_batch(x_past, 2, "x_past", source_dim, where=where)
    check_batch(y_past, 2, "y_past", target_dim, where=where)
    check_batch(y_next, 2, "y_next", out_dim, where=where)
    return x_past, y_past, y_next


@dataclass(frozen=True)
class PredictorConfig:
    """A predictor p(y_t | y_past) or p(y_t | x_past, y_past) with no bottleneck."""

    source_dim: int = 1  # length of the source window x_past (lag k times the source's dimension)
    target_dim: int = 1  # length of the target window y_past
    out_dim: int = 1  # dimension of y_t
    hidden: tuple[int, ...] = (64, 64)  # MLP widths
    use_source: bool = False  # False: target-only model; True: the joint model without a bottleneck
    optim: OptimizerConfig = OptimizerConfig(lr=3e-3, decay=0.5)  # Adam; its rate halves every decay_every steps if set

    def __post_init__(self) -> None:
        _check_common(self.source_dim, self.target_dim, self.out_dim, self.hidden)


class ConditionalPredictor(Trainable):
    """The baselines: a target-only predictor, or a joint one that reads both pasts without a
    bottleneck. Its one term, ``nll``, is -log p(y_t | ...) in nats."""

    def __init__(self, config: PredictorConfig = PredictorConfig()):
        super().__init__()
        self.config = config
        in_dim = config.target_dim + (config.source_dim if config.use_source else 0)
        self.regressor = GaussianRegressor(in_dim, config.out_dim, config.hidden)

    def inputs(self, x_past: torch.Tensor, y_past: torch.Tensor) -> torch.Tensor:
        return torch.cat([y_past, x_past], dim=-1) if self.config.use_source else y_past

    def nll(self, batch) -> torch.Tensor:
        """-log p(y_t | inputs) per example (B,)."""
        c = self.config
        x_past, y_past, y_next = _unpack(batch, c.source_dim, c.target_dim, c.out_dim, "ConditionalPredictor")
        return self.regressor.nll(self.inputs(x_past, y_past), y_next)

    def loss(self, batch) -> LossTerms:
        return LossTerms(terms={"nll": self.nll(batch).mean()})

    def players(self) -> list[Player]:
        return [Player("main", list(self.parameters()), self.config.optim)]

    @torch.no_grad()
    def evaluate(self, x_past: torch.Tensor, y_past: torch.Tensor, y_next: torch.Tensor) -> dict:
        """Held-out mean NLL in nats."""
        was_training = self.training
        self.eval()
        nll = float(self.nll((x_past, y_past, y_next)).mean())
        self.train(was_training)
        return {"nll": nll}


@dataclass(frozen=True)
class TEBConfig:
    """Defaults are the quick profile's (scalar streams, history length 1)."""

    source_dim: int = 1  # length of the source window x_past (lag k times the source's dimension)
    target_dim: int = 1  # length of the target window y_past
    out_dim: int = 1  # dimension of y_t
    hidden: tuple[int, ...] = (64, 64)  # widths of the encoder, prior and predictor MLPs
    latent_dim: int = 4  # dimension of the bottleneck Z
    beta: float = 1e-2  # weight of the rate term
    optim: OptimizerConfig = OptimizerConfig(lr=3e-3, decay=0.5)  # Adam; its rate halves every decay_every steps if set
    std_shift: float = 0.0  # encoder and prior std = softplus(raw + shift)

    def __post_init__(self) -> None:
        _check_common(self.source_dim, self.target_dim, self.out_dim, self.hidden)
        require_non_negative(beta=self.beta)
        require_positive(latent_dim=self.latent_dim)


class TEB(Trainable):
    """Encoder q(z | x_past, y_past), conditional prior p(z | y_past), predictor p(y_t | z, y_past)."""

    def __init__(self, config: TEBConfig = TEBConfig()):
        super().__init__()
        self.config = config
        c = config
        self.encoder = nn.Sequential(mlp(c.source_dim + c.target_dim, c.hidden[:-1], c.hidden[-1]), nn.ReLU(),
                                     GaussianHead(c.hidden[-1], c.latent_dim, shift=c.std_shift))
        self.prior = nn.Sequential(mlp(c.target_dim, c.hidden[:-1], c.hidden[-1]), nn.ReLU(),
                                   GaussianHead(c.hidden[-1], c.latent_dim, shift=c.std_shift))
        self.predictor = GaussianRegressor(c.latent_dim + c.target_dim, c.out_dim, c.hidden)

    def terms(self, batch, n_samples: int = 1) -> dict[str, torch.Tensor]:
        """Per-example ``distortion`` (averaged over ``n_samples`` draws of z) and ``rate``, (B,) each."""
        c = self.config
        x_past, y_past, y_next = _unpack(batch, c.source_dim, c.target_dim, c.out_dim, "TEB")
        mu_q, logvar_q = self.encoder(torch.cat([x_past, y_past], dim=-1))  # q(z|x_past,y_past): (B, K) x 2
        mu_p, logvar_p = self.prior(y_past)  # p(z|y_past): (B, K) x 2
        z = reparameterize(mu_q, logvar_q, n_samples)  # (B, K) or (S, B, K)
        y_ctx = y_past.expand(*z.shape[:-1], y_past.shape[-1])  # y_past beside every draw
        distortion = self.predictor.nll(torch.cat([z, y_ctx], dim=-1), y_next)  # -log p(y_t|z,y_past)
        if n_samples > 1:
            distortion = distortion.mean(0)
        rate = kl_diagonal_gaussians(mu_q, logvar_q, mu_p, logvar_p)  # KL(q(z|x,y) || p(z|y)): (B,)
        return {"distortion": distortion, "rate": rate}

    def loss(self, batch) -> LossTerms:
        t = self.terms(batch)
        return LossTerms(terms={"distortion": t["distortion"].mean(), "rate": t["rate"].mean()},
                         weights={"rate": self.config.beta})

    def players(self) -> list[Player]:
        return [Player("main", list(self.parameters()), self.config.optim)]

    @torch.no_grad()
    def evaluate(self, x_past: torch.Tensor, y_past: torch.Tensor, y_next: torch.Tensor,
                 n_samples: int = 16) -> dict:
        """Held-out ``distortion`` (nats, ``n_samples`` draws of z per example) and ``rate`` (nats), the
        latter an upper bound on I(Z; X_past | Y_past)."""
        was_training = self.training
        self.eval()
        t = self.terms((x_past, y_past, y_next), n_samples=n_samples)
        self.train(was_training)
        return {"distortion": float(t["distortion"].mean()), "rate": float(t["rate"].mean())}


def gaussian_conditional_ib_curve(rate: torch.Tensor | float, te: float) -> torch.Tensor:
    r"""The best :math:`I(Z; Y_t | Y_\text{past})` at :math:`I(Z; X_\text{past} | Y_\text{past}) = R`
    for jointly Gaussian streams with transfer entropy ``te`` (scalar target):
    :math:`-\tfrac12\log\big(1 - \rho^2 (1 - e^{-2R})\big)` with :math:`\rho^2 = 1 - e^{-2\,\mathrm{TE}}`
    (chapter ``transfer_entropy_bottleneck``)."""
    if te < 0:
        raise ValueError(f"te must be >= 0, got {te}")
    rate = torch.as_tensor(rate, dtype=torch.float64)
    rho2 = -math.expm1(-2.0 * te)
    return -0.5 * torch.log1p(-rho2 * -torch.expm1(-2.0 * rate))
