r"""MEME: multimodal VAEs trained by mutual supervision (chapter ``meme``).

Joy, Shi, Torr, Rainforth, Schmon & Siddharth (2022), *Learning Multimodal VAEs through Mutual
Supervision*, ICLR.

MEME keeps one encoder :math:`q(z|m)` and one decoder :math:`p(m|z)` per modality and combines them
without a product or mixture: when modality :math:`t` is observed beside :math:`s`, the *other*
modality supervises, its encoder serving as the conditional prior :math:`p(z|t) := q(z|t)` and its
decoder as the "label likelihood" :math:`q(t|z) := p(t|z)`. For the pair :math:`(s, t)` the objective
is the evidence bound of the conditional model :math:`p(s|t) = \int p(s|z)\,p(z|t)\,dz` with the
posterior :math:`q(z|s,t) = q(z|s)\,q(t|z)/q(t|s)`, :math:`q(t|s) = \mathbb E_{q(z|s)} q(t|z)`:

.. math::

    \mathcal L(s, t) = \mathbb E_{q(z|s)}\Big[w(z)\,\log\frac{p(s|z)\,p(z|t)}{q(z|s)\,q(t|z)}\Big]
      + \log q(t|s) \;\le\; \log p(s|t), \qquad w(z) = \frac{q(t|z)}{q(t|s)} ,

and a complete pair is trained on :math:`\mathcal L(x, y) + \mathcal L(y, x)`. As in the authors'
code, :math:`q(t|s)` is a Monte Carlo average over ``n_samples`` draws (plus the draw used for the
bound), the weights are held fixed in the gradient, and the supervision term :math:`\log q(t|s)` gets a
weight (``supervision_weight``; 1 is the bound, the paper uses 10 for image pairs).

The prior term :math:`\mathbb E_{q(z|s)}[w\,(\log q(z|s) - \log p(z|t))]` is chosen by ``prior_term``:

- ``"weighted"`` (default): the log-ratio at the sampled :math:`z`, times its weight, as in
  :math:`\mathcal L`; the estimate is the bound the chapter proves (consistent as ``n_samples`` grows).
- ``"expected_kl"``: the authors' code replaces it by the *unweighted* expectation
  :math:`\mathrm{KL}(q(z|s) \,\|\, q(z|t))`. This surrogate equals
  :math:`\mathcal L + \mathrm{Cov}_{q(z|s)}\big(w, \log\frac{q(z|s)}{p(z|t)}\big)` (as
  :math:`\mathbb E_{q(z|s)} w = 1`), which is not :math:`\mathcal L` and is not a bound: it can exceed
  :math:`\log p(s|t)` (``tests/test_models_meme.py`` builds a case with a Bernoulli label, so that
  :math:`q(t|z) \le 1`, where it does so by more than 60 nats).

A pair with :math:`t` missing trains modality :math:`s` alone on an ELBO whose prior is a mixture of
the conditional prior over learned *pseudo-inputs* of :math:`t` (a VampPrior):
:math:`p(z) = \frac1N \sum_n q(z|u^t_n)`, with the KL term estimated at the sampled :math:`z`.
Terms: ``supervised_x``, ``supervised_y`` (:math:`-\mathcal L` in each direction, without the
supervision term), ``supervision`` (:math:`-\log q(t|s)`, both directions), ``unsupervised``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from infobounds.bounds.gaussian import kl_diagonal_gaussians, log_normal_density
from infobounds.models.base import LossTerms, OptimizerConfig
from infobounds.models.multimodal import BimodalVAE
from infobounds.nets import reparameterize
from infobounds.validation import (require_at_least, require_choice, require_non_empty, require_non_negative,
                                   require_positive)

PRIOR_TERMS = ("weighted", "expected_kl")


@dataclass(frozen=True)
class MEMEConfig:
    """Defaults are the quick profile's digits (8x8) <-> Fashion-MNIST (14x14) MLP model."""

    x_shape: tuple[int, ...] = (1, 8, 8)  # shape of one x
    y_shape: tuple[int, ...] = (1, 14, 14)  # shape of one y
    latent_dim: int = 16  # dimension of z
    hidden: tuple[int, ...] = (256,)  # MLP widths (decoders mirror them)
    n_samples: int = 5  # draws of z ~ q(z|s) that estimate q(t|s) (paper: 10)
    supervision_weight: float = 1.0  # weight of -log q(t|s); 1 is the bound (paper: 10)
    n_pseudo: int = 20  # pseudo-inputs per modality for the mixture prior of unpaired data
    prior_term: str = "weighted"  # "weighted": the proved bound; "expected_kl": the authors' surrogate
    optim: OptimizerConfig = OptimizerConfig()  # Adam

    def __post_init__(self) -> None:
        require_choice("prior_term", self.prior_term, PRIOR_TERMS)
        require_non_empty(x_shape=self.x_shape, y_shape=self.y_shape, hidden=self.hidden)
        require_positive(x_shape=self.x_shape, y_shape=self.y_shape, latent_dim=self.latent_dim, hidden=self.hidden)
        require_at_least(1, n_samples=self.n_samples, n_pseudo=self.n_pseudo)
        require_non_negative(supervision_weight=self.supervision_weight)


def importance_weights(log_q_t_given_z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""MEME's weights from :math:`\log q(t|z_k)` for draws :math:`z_k \sim q(z|s)`, shape (K, B):
    returns :math:`\log q(t|s) \approx \log\frac1K\sum_k q(t|z_k)` (B,) and
    :math:`w_k = q(t|z_k)/q(t|s)` (K, B), whose average over k is 1."""
    log_q_t_s = log_q_t_given_z.logsumexp(0) - math.log(log_q_t_given_z.shape[0])
    return log_q_t_s, torch.exp(log_q_t_given_z - log_q_t_s)


class MEME(BimodalVAE):
    """Two unimodal VAEs that supervise each other (``loss``), with pseudo-input mixture priors for
    pairs that miss a modality."""

    def __init__(self, config: MEMEConfig = MEMEConfig()):
        super().__init__(config.x_shape, config.y_shape, config.latent_dim, config.hidden, config.optim)
        self.config = config
        # Pseudo-inputs u^x_n, u^y_n in [0, 1] (through a sigmoid), learned with the rest.
        self.pseudo_logits = nn.ParameterList([
            nn.Parameter(0.1 * torch.randn(config.n_pseudo, *config.x_shape)),
            nn.Parameter(0.1 * torch.randn(config.n_pseudo, *config.y_shape))])

    def init_pseudo_inputs(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """Start the pseudo-inputs at ``n_pseudo`` given images of each modality (the authors
        initialise them from data)."""
        n = self.config.n_pseudo
        with torch.no_grad():
            for m, v in ((0, x), (1, y)):
                p = v[:n].clamp(0.02, 0.98).to(self.pseudo_logits[m].device)
                self.pseudo_logits[m].copy_(torch.log(p) - torch.log1p(-p))

    def mixture_prior(self, m: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Components (N, K) of the mixture prior made from modality m's pseudo-inputs."""
        return self.expert(m, torch.sigmoid(self.pseudo_logits[m]))

    def prior_sample(self, n: int) -> torch.Tensor:
        """z from the mixture prior of the second modality's pseudo-inputs (MEME has no p(z))."""
        mu, logvar = self.mixture_prior(1)
        k = torch.randint(mu.shape[0], (n,), device=mu.device)
        return reparameterize(mu[k], logvar[k])

    # -- the objective -----------------------------------------------------------------------------
    def supervised(self, s: int, vs: torch.Tensor, vt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        r"""(-bound without the supervision term, -log q(t|s)), summed over the rows, for s -> t.

        With ``prior_term="weighted"`` the sum of the two, negated, estimates :math:`\mathcal L(s, t)`
        of (meme-bound); with ``"expected_kl"`` it estimates the authors' surrogate (module docstring)."""
        t = 1 - s
        mu, logvar = self.expert(s, vs)  # q(z|s)
        mu_t, logvar_t = self.expert(t, vt)  # p(z|t) := q(z|t)
        z = reparameterize(mu, logvar)  # (B, K): the draw the bound is evaluated at
        extra = reparameterize(mu, logvar, self.config.n_samples)  # (S, B, K) for q(t|s)
        extra = extra if extra.ndim == 3 else extra.unsqueeze(0)
        log_q_t_z = self.log_lik(t, vt, torch.cat([z.unsqueeze(0), extra]))  # (S + 1, B)
        log_q_t_s, w = importance_weights(log_q_t_z)
        w = w[0].detach()  # the authors hold the weights fixed
        log_p_s_z = self.log_lik(s, vs, z)
        if self.config.prior_term == "weighted":  # log q(z|s) - log p(z|t) at the draw, weighted as in L
            log_ratio = log_normal_density(z, mu, logvar) - log_normal_density(z, mu_t, logvar_t)
        else:  # the authors' surrogate: its unweighted expectation under q(z|s), not a bound
            log_ratio = kl_diagonal_gaussians(mu, logvar, mu_t, logvar_t)
        bound = w * (log_p_s_z - log_q_t_z[0] - log_ratio)
        return -bound.sum(), -log_q_t_s.sum()

    def unsupervised(self, s: int, vs: torch.Tensor) -> torch.Tensor:
        """-ELBO of modality s alone, prior = mixture of q(z|u^t_n) over the other modality's
        pseudo-inputs, KL estimated at the draw; summed over the rows."""
        mu, logvar = self.expert(s, vs)
        z = reparameterize(mu, logvar)
        pm, plv = self.mixture_prior(1 - s)  # (N, K)
        log_prior = log_normal_density(z.unsqueeze(1), pm.unsqueeze(0), plv.unsqueeze(0)).logsumexp(1) \
            - math.log(pm.shape[0])
        log_q = log_normal_density(z, mu, logvar)
        return -(self.log_lik(s, vs, z) - (log_q - log_prior)).sum()

    def loss(self, batch) -> LossTerms:
        x, y, mask = self._unpack(batch)
        n = x.shape[0]
        both = mask.all(1)
        zero = x.new_zeros(())
        terms = {"supervised_x": zero, "supervised_y": zero, "supervision": zero, "unsupervised": zero}
        if both.any():
            bx, sx = self.supervised(0, x[both], y[both])  # x is the data, y supervises
            by, sy = self.supervised(1, y[both], x[both])
            terms.update(supervised_x=bx / n, supervised_y=by / n, supervision=(sx + sy) / n)
        for m, v in ((0, x), (1, y)):
            only = mask[:, m] & ~both
            if only.any():
                terms["unsupervised"] = terms["unsupervised"] + self.unsupervised(m, v[only]) / n
        return LossTerms(terms=terms, weights={"supervision": self.config.supervision_weight})


@dataclass(frozen=True)
class FixedDensityCase:
    r"""A one-dimensional pair :math:`(s, t)` whose densities are all fixed, for checking the
    supervised term against quadrature: :math:`q(z|s) = \mathcal N(\text{q\_mean}, \text{q\_var})`,
    :math:`p(z|t) := q(z|t) = \mathcal N(\text{p\_mean}, \text{p\_var})`,
    :math:`p(s|z) = \mathcal N(s; z, \text{s\_var})` observed at ``s_obs``, and a Bernoulli label
    :math:`q(t{=}1|z) = \sigma(\text{slope}\,z)` observed at :math:`t = 1` (so :math:`q(t|z) \le 1`).

    The defaults are the referee's counterexample (chapter 19, item 19-1), where the authors'
    surrogate exceeds :math:`\log p(s|t)` by about 60 nats while :math:`\mathcal L` stays below it."""

    q_mean: float = -1.541
    q_var: float = 1.421
    p_mean: float = -3.591
    p_var: float = 0.047
    s_obs: float = 1.572
    s_var: float = 0.21 ** 2
    slope: float = 3.304

    def log_p_s_given_t(self) -> float:
        """log p(s|t) = log N(s_obs; p_mean, p_var + s_var), in closed form."""
        return float(_log_gauss(torch.tensor(self.s_obs, dtype=torch.float64), self.p_mean, self.p_var + self.s_var))

    def quadrature(self, half_width: float = 15.0, points: int = 600_001) -> dict[str, float]:
        r""":math:`\mathcal L(s, t)` (``"weighted"``) and the authors' surrogate (``"expected_kl"``) by
        the trapezoidal rule on a grid of ``points`` over :math:`[-\text{half\_width}, \text{half\_width}]`,
        with the posterior :math:`q(z|s,t) = q(z|s)\,w(z)`."""
        z = torch.linspace(-half_width, half_width, points, dtype=torch.float64)
        log_q = _log_gauss(z, self.q_mean, self.q_var)
        log_q_t_z = torch.nn.functional.logsigmoid(self.slope * z)
        q_t_s = torch.trapezoid((log_q + log_q_t_z).exp(), z)
        posterior = (log_q + log_q_t_z).exp() / q_t_s
        kl = 0.5 * (math.log(self.p_var / self.q_var) + (self.q_var + (self.q_mean - self.p_mean) ** 2) / self.p_var - 1)
        fit_term = torch.trapezoid(posterior * (_log_gauss(self.s_obs, z, self.s_var) - log_q_t_z), z) + torch.log(q_t_s)
        weighted_prior = torch.trapezoid(posterior * (log_q - _log_gauss(z, self.p_mean, self.p_var)), z)
        return {"weighted": float(fit_term - weighted_prior), "expected_kl": float(fit_term - kl)}

    def meme(self, config: MEMEConfig) -> "FixedDensityMEME":
        """A MEME whose encoders and decoders are these densities (nothing in it is trained)."""
        return FixedDensityMEME(self, config)


class FixedDensityMEME(MEME):
    """MEME whose encoders and decoders are the densities of a :class:`FixedDensityCase`
    (modality 0 is s, 1 is t); its networks are built but unused."""

    def __init__(self, case: FixedDensityCase, config: MEMEConfig):
        super().__init__(config)
        self.case = case

    def expert(self, m, v):
        mean, var = (self.case.q_mean, self.case.q_var) if m == 0 else (self.case.p_mean, self.case.p_var)
        return torch.full_like(v, mean), torch.full_like(v, math.log(var))

    def log_lik(self, m, v, z):
        if m == 0:
            return _log_gauss(self.case.s_obs, z, self.case.s_var).sum(-1)
        return torch.nn.functional.logsigmoid(self.case.slope * z).sum(-1)


def _log_gauss(v, mean, var: float):
    return -0.5 * (math.log(2 * math.pi * var) + (v - mean) ** 2 / var)
