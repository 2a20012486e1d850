r"""Multimodal VAEs with two modalities: JMVAE, MVAE (product of experts), MMVAE (mixture of experts),
MoPoE (chapter ``multimodal_vaes``).

Suzuki, Nakayama & Matsuo (2016), *Joint Multimodal Learning with Deep Generative Models* (JMVAE);
Wu & Goodman (2018), *Multimodal Generative Models for Scalable Weakly-Supervised Learning* (MVAE);
Shi, Siddharth, Paige & Torr (2019), *Variational Mixture-of-Experts Autoencoders* (MMVAE);
Sutter, Daunhawer & Vogt (2021), *Generalized Multimodal ELBO* (MoPoE); survey: Suzuki & Matsuo (2022).

All four share the generative model :math:`p(z)\,p(x|z)\,p(y|z)` with :math:`p(z) = \mathcal N(0, I)`
and Bernoulli decoders, and the *unimodal experts* :math:`q(z|x)`, :math:`q(z|y)`; they differ in the
joint posterior and in the bound they maximise. With
:math:`\mathrm{ELBO}(q; S) = \mathbb E_{q(z)}\big[\sum_{m \in S} \log p(x_m|z)\big] - \mathrm{KL}(q \,\|\, p(z))`:

=========  ===========================================================  =========================================
kind       joint posterior :math:`q(z|x,y)`                             loss (per complete pair)
=========  ===========================================================  =========================================
``jmvae``  a third encoder on (x, y)                                    :math:`-\mathrm{ELBO}(q_{xy}; xy) + \alpha \sum_m \mathrm{KL}(q_{xy} \| q_m)`
``mvae``   :math:`\mathrm{PoE}(p(z), q(z|x), q(z|y))` in closed form      :math:`-\mathrm{ELBO}(q_{xy}; xy) - \mathrm{ELBO}(q_x; x) - \mathrm{ELBO}(q_y; y)`
``mmvae``  :math:`\tfrac12 (q(z|x) + q(z|y))`                            :math:`-\tfrac12 \sum_m \mathbb E_{q_m}[\log p(x,y|z) + \log p(z) - \log q_{\mathrm{mix}}(z)]`
``mopoe``  :math:`\tfrac13 (q_x + q_y + \mathrm{PoE}(q_x, q_y))`         :math:`\tfrac13 \sum_S [-\mathbb E_{q_S} \log p(x,y|z) + \mathrm{KL}(q_S \| p)]`
=========  ===========================================================  =========================================

(:math:`q_x` in the MVAE row is :math:`\mathrm{PoE}(p(z), q(z|x))`.) The MMVAE loss is the negative
ELBO of the mixture posterior, estimated with one reparameterised sample per component (stratified);
the MoPoE loss bounds the negative ELBO of its mixture from above, because the KL divergence is convex
in its first argument. The chapter proves the product-of-Gaussians formula
(:func:`product_of_gaussians`) and both mixture bounds.

Partially observed pairs (chapter ``meme``): a batch may carry a mask (B, 2); for a pair with one
modality missing every kind uses the unimodal bound of the observed modality
:math:`-\mathrm{ELBO}(q_m; m)`, with :math:`q_m` its own posterior (for the MVAE,
:math:`\mathrm{PoE}(p(z), q(z|x_m))`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from infobounds.bounds.gaussian import kl_diagonal_gaussians, log_normal_density
from infobounds.models.base import LossTerms, OptimizerConfig, Player, Trainable
from infobounds.nets import GaussianHead, mlp, reparameterize
from infobounds.validation import require_choice, require_non_empty, require_non_negative, require_positive

KINDS = ("jmvae", "mvae", "mmvae", "mopoe")


def product_of_gaussians(mu: torch.Tensor, logvar: torch.Tensor, weight: torch.Tensor | None = None
                         ) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The normalised product of diagonal Gaussian experts, in closed form.

    :math:`\prod_e \mathcal N(z; \mu_e, \sigma_e^2) \propto \mathcal N(z; \mu, \sigma^2)` with precision
    :math:`\sigma^{-2} = \sum_e \sigma_e^{-2}` and mean :math:`\mu = \sigma^2 \sum_e \sigma_e^{-2}\mu_e`.

    Parameters
    ----------
    mu, logvar : (E, ..., K) means and log-variances of E experts.
    weight : (E, ...) real weights multiplying each expert's precision, i.e. raising its density to
        the power w: 1 keeps an expert, 0 drops it, and a negative weight divides by it (-1 divides by
        the prior in the quotient of chapter ``multimodal_vaes``'s exercise).

    Returns
    -------
    (mu, logvar) of the product, (..., K). The total precision :math:`\sum_e w_e \sigma_e^{-2}` must be
    positive in every coordinate (otherwise the product is not a Gaussian density), else ``ValueError``.
    """
    precision = torch.exp(-logvar)  # (E, ..., K)
    if weight is not None:
        precision = precision * weight.unsqueeze(-1)
    total = precision.sum(0)
    if bool((total <= 0).any()):
        raise ValueError("the weighted total precision of a product must be positive in every coordinate "
                         "(every product needs an expert with positive weight, and negative weights must not "
                         "outweigh them)")
    mean = (precision * mu).sum(0) / total
    return mean, -torch.log(total)


def unpack_paired_batch(batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(x, y, mask) with mask (B, 2) bool saying which modalities are present; a batch without a
    mask is complete. Shared by every model that trains on :mod:`infobounds.data.paired` batches."""
    if len(batch) == 3:
        x, y, mask = batch
        return x, y, mask.bool()
    x, y = batch
    return x, y, torch.ones(x.shape[0], 2, dtype=torch.bool, device=x.device)


@dataclass(frozen=True)
class MultimodalConfig:
    """Defaults are the quick profile's digits (8x8) <-> Fashion-MNIST (14x14) MLP models."""

    kind: str = "mvae"  # jmvae, mvae, mmvae or mopoe
    x_shape: tuple[int, ...] = (1, 8, 8)  # shape of one x (first modality)
    y_shape: tuple[int, ...] = (1, 14, 14)  # shape of one y (second modality)
    latent_dim: int = 16  # dimension of z
    hidden: tuple[int, ...] = (256,)  # MLP widths of every encoder; decoders mirror them
    beta: float = 1.0  # weight of the KL (rate) terms; 1 is the ELBO
    jmvae_alpha: float = 1.0  # JMVAE-kl: weight of KL(q(z|x,y) || q(z|m)) (paper: 0.01-1)
    optim: OptimizerConfig = OptimizerConfig()  # Adam

    def __post_init__(self) -> None:
        require_choice("kind", self.kind, KINDS)
        require_non_empty(x_shape=self.x_shape, y_shape=self.y_shape, hidden=self.hidden)
        require_positive(x_shape=self.x_shape, y_shape=self.y_shape, latent_dim=self.latent_dim, hidden=self.hidden)
        require_non_negative(beta=self.beta, jmvae_alpha=self.jmvae_alpha)

    @property
    def dims(self) -> tuple[int, int]:
        return math.prod(self.x_shape), math.prod(self.y_shape)


class _Expert(nn.Module):
    """q(z|v) = N(mu(v), diag sigma^2(v)) by an MLP on the flattened input."""

    def __init__(self, in_dim: int, hidden: tuple[int, ...], latent_dim: int):
        super().__init__()
        self.body = nn.Sequential(mlp(in_dim, hidden[:-1], hidden[-1]), nn.ReLU())
        self.head = GaussianHead(hidden[-1], latent_dim)

    def forward(self, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.head(self.body(v.reshape(v.shape[0], -1)))


class BimodalVAE(Trainable):
    """Shared pieces of the book's two-modality VAEs (this chapter's four and MEME): unimodal experts
    q(z|x), q(z|y), Bernoulli decoders p(x|z), p(y|z), a standard-normal prior."""

    def __init__(self, x_shape, y_shape, latent_dim, hidden, optim: OptimizerConfig):
        super().__init__()
        self.shapes = (tuple(x_shape), tuple(y_shape))
        self.latent_dim = latent_dim
        self.optim = optim
        dx, dy = math.prod(x_shape), math.prod(y_shape)
        self.experts = nn.ModuleList([_Expert(dx, hidden, latent_dim), _Expert(dy, hidden, latent_dim)])
        self.decoders = nn.ModuleList([mlp(latent_dim, tuple(reversed(hidden)), dx),
                                       mlp(latent_dim, tuple(reversed(hidden)), dy)])

    # -- pieces ----------------------------------------------------------------------------------
    _unpack = staticmethod(unpack_paired_batch)

    def log_lik(self, m: int, v: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """log p(v|z) of modality m (Bernoulli, summed over pixels): (..., B)."""
        logits = self.decoders[m](z)
        target = v.reshape(v.shape[0], -1).expand_as(logits)
        return -F.binary_cross_entropy_with_logits(logits, target, reduction="none").sum(-1)

    def decode(self, m: int, z: torch.Tensor) -> torch.Tensor:
        """Mean image of modality m, (B, *shape)."""
        return torch.sigmoid(self.decoders[m](z)).reshape(z.shape[0], *self.shapes[m])

    def expert(self, m: int, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.experts[m](v)

    def players(self) -> list[Player]:
        return [Player("main", list(self.parameters()), self.optim)]

    # -- generation (the interface of infobounds.metrics.coherence) -------------------------------
    def posterior(self, m: int, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The posterior the model uses given modality m alone (default: its expert)."""
        return self.expert(m, v)

    @torch.no_grad()
    def cross_generate(self, x: torch.Tensor | None = None, y: torch.Tensor | None = None) -> torch.Tensor:
        """z ~ q(z | the given modality), then the mean image of the other modality."""
        if (x is None) == (y is None):
            raise ValueError("give exactly one of x and y")
        src, v = (0, x) if x is not None else (1, y)
        z = reparameterize(*self.posterior(src, v))
        return self.decode(1 - src, z)

    def prior_sample(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.latent_dim, device=next(self.parameters()).device)

    @torch.no_grad()
    def sample(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Joint generation: z ~ p(z), then the mean images of both modalities."""
        z = self.prior_sample(n)
        return self.decode(0, z), self.decode(1, z)


class MultimodalVAE(BimodalVAE):
    """JMVAE, MVAE, MMVAE or MoPoE (``MultimodalConfig.kind``) on two image modalities."""

    def __init__(self, config: MultimodalConfig = MultimodalConfig()):
        super().__init__(config.x_shape, config.y_shape, config.latent_dim, config.hidden, config.optim)
        self.config = config
        if config.kind == "jmvae":
            self.joint_expert = _Expert(sum(config.dims), config.hidden, config.latent_dim)

    def posterior(self, m: int, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z|x_m): the expert, times the prior expert for the MVAE."""
        mu, logvar = self.expert(m, v)
        if self.config.kind == "mvae":
            return product_of_gaussians(torch.stack([torch.zeros_like(mu), mu]),
                                        torch.stack([torch.zeros_like(logvar), logvar]))
        return mu, logvar

    def _unimodal_nelbo(self, m: int, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(-E log p(v|z), KL) of modality m alone with its posterior, summed over the rows."""
        mu, logvar = self.posterior(m, v)
        z = reparameterize(mu, logvar)
        return -self.log_lik(m, v, z).sum(), kl_diagonal_gaussians(mu, logvar).sum()

    def loss(self, batch) -> LossTerms:
        c = self.config
        x, y, mask = self._unpack(batch)
        both = mask.all(1)
        n = x.shape[0]
        terms = {"distortion": x.new_zeros(()), "rate": x.new_zeros(())}
        # Pairs with one modality missing: the observed modality's own bound.
        for m, v in ((0, x), (1, y)):
            only = mask[:, m] & ~both
            if only.any():
                d, r = self._unimodal_nelbo(m, v[only])
                terms["distortion"] = terms["distortion"] + d / n
                terms["rate"] = terms["rate"] + r / n
        if both.any():
            joint = getattr(self, f"_{c.kind}")(x[both], y[both])
            for key, value in joint.items():
                terms[key] = terms.get(key, x.new_zeros(())) + value / n
        weights = {k: c.beta for k in terms if k.startswith("rate")}
        if c.kind == "jmvae":
            weights.update({"kl_x": c.jmvae_alpha, "kl_y": c.jmvae_alpha})
        return LossTerms(terms=terms, weights=weights)

    # -- the four objectives on complete pairs (sums over the rows) --------------------------------
    def _jmvae(self, x, y):
        mu, logvar = self.joint_expert(torch.cat([x.reshape(x.shape[0], -1), y.reshape(y.shape[0], -1)], -1))
        z = reparameterize(mu, logvar)
        out = {"distortion": -(self.log_lik(0, x, z) + self.log_lik(1, y, z)).sum(),
               "rate": kl_diagonal_gaussians(mu, logvar).sum()}
        for key, m, v in (("kl_x", 0, x), ("kl_y", 1, y)):  # JMVAE-kl: KL(q(z|x,y) || q(z|x_m))
            out[key] = kl_diagonal_gaussians(mu, logvar, *self.expert(m, v)).sum()
        return out

    def _mvae(self, x, y):
        (mx, lx), (my, ly) = self.expert(0, x), self.expert(1, y)
        zeros = torch.zeros_like(mx)
        mu, logvar = product_of_gaussians(torch.stack([zeros, mx, my]), torch.stack([zeros, lx, ly]))
        z = reparameterize(mu, logvar)
        out = {"distortion": -(self.log_lik(0, x, z) + self.log_lik(1, y, z)).sum(),
               "rate": kl_diagonal_gaussians(mu, logvar).sum()}
        # Wu & Goodman's sub-sampled training: the unimodal ELBOs of the same pair as well.
        dx, rx = self._unimodal_nelbo(0, x)
        dy, ry = self._unimodal_nelbo(1, y)
        out["distortion_unimodal"] = dx + dy
        out["rate_unimodal"] = rx + ry
        return out

    def _mmvae(self, x, y):
        experts = [self.expert(0, x), self.expert(1, y)]
        mus, logvars = torch.stack([e[0] for e in experts]), torch.stack([e[1] for e in experts])  # (2, B, K)
        distortion, rate = x.new_zeros(()), x.new_zeros(())
        for mu, logvar in experts:  # stratified: one reparameterised draw from each component
            z = reparameterize(mu, logvar)
            distortion = distortion - 0.5 * (self.log_lik(0, x, z) + self.log_lik(1, y, z)).sum()
            # log q_mix(z|x,y) = logsumexp_m log q(z|x_m) - log 2
            log_q = log_normal_density(z.unsqueeze(0), mus, logvars).logsumexp(0) - math.log(2.0)
            log_p = log_normal_density(z, torch.zeros_like(z), torch.zeros_like(z))
            rate = rate + 0.5 * (log_q - log_p).sum()
        return {"distortion": distortion, "rate": rate}

    def _mopoe(self, x, y):
        (mx, lx), (my, ly) = self.expert(0, x), self.expert(1, y)
        subsets = [(mx, lx), (my, ly), product_of_gaussians(torch.stack([mx, my]), torch.stack([lx, ly]))]
        distortion, rate = x.new_zeros(()), x.new_zeros(())
        for mu, logvar in subsets:  # E over the mixture = average over its components
            z = reparameterize(mu, logvar)
            distortion = distortion - (self.log_lik(0, x, z) + self.log_lik(1, y, z)).sum() / 3
            rate = rate + kl_diagonal_gaussians(mu, logvar).sum() / 3  # >= KL(mixture || p) by convexity
        return {"distortion": distortion, "rate": rate}
