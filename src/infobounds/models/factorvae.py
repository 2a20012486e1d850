r"""FactorVAE: a VAE that penalises the total correlation of its code (chapter ``factorvae``).

Kim & Mnih (2018), *Disentangling by Factorising*, ICML.

In the book's notation the encoder is :math:`p(z|x)`, its aggregate posterior
:math:`p(z) = \mathbb E_{p(x)} p(z|x)` (Kim & Mnih's :math:`q(z)`) with marginals :math:`p(z_j)`, the
decoder :math:`q(x|z)` and the prior :math:`r(z)`. The *total correlation*
:math:`\mathrm{TC}(z) = \mathrm{KL}(p(z) \,\|\, \prod_j p(z_j))` is zero exactly when the coordinates of
the code are independent. FactorVAE adds it to the negative ELBO of a VAE
(``infobounds.models.vae``):

.. math::

    \mathcal L = \underbrace{\mathbb E_{p(x)} \mathbb E_{p(z|x)}[-\log q(x|z)]}_{\texttt{distortion}}
      + \underbrace{\mathbb E_{p(x)} \mathrm{KL}(p(z|x) \,\|\, r(z))}_{\texttt{rate}}
      + \gamma \, \underbrace{\mathrm{KL}\big(p(z) \,\|\, \textstyle\prod_j p(z_j)\big)}_{\texttt{total\_correlation}} .

Neither density of the TC is available, so it is estimated with the *density-ratio trick*: a
discriminator :math:`d(z)` (a logit) learns to tell samples of :math:`p(z)` from samples of
:math:`\prod_j p(z_j)`, which are made by shuffling each coordinate independently across a batch
(:func:`permute_dims`). At the optimum of the logistic loss,
:math:`d^*(z) = \log p(z) / \prod_j p(z_j)`, so :math:`\mathrm{TC} = \mathbb E_{p(z)} d^*(z)`.
The model has two players: ``vae`` minimises the three terms above with the discriminator's
estimate, ``discriminator`` minimises its binary ``cross_entropy``. Chapter ``factorvae`` proves
the ELBO decomposition behind the TC term and the optimal-discriminator identity.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from infobounds.models.base import (LossTerms, OptimizerConfig, Player, Trainable, Update, check_batch, first_tensor,
                                    parameters_of)
from infobounds.models.vae import VAE, VAEConfig
from infobounds.nets import reparameterize
from infobounds.validation import require_non_negative, require_positive


def _default_vae() -> VAEConfig:
    return VAEConfig(input_shape=(1, 32, 32), hidden=(512, 256), latent_dim=10, decoder="bernoulli")


@dataclass(frozen=True)
class FactorVAEConfig:
    """Defaults are the quick profile's (32 x 32 shapes, MLP); ``FactorVAEConfig.paper()`` is the
    paper's dSprites setting."""

    # The VAE part: its beta weights the rate (1 here), its optim is the VAE player's Adam (paper: 1e-4,
    # betas (0.9, 0.999)).
    vae: VAEConfig = field(default_factory=_default_vae)
    gamma: float = 35.0  # weight of the total correlation (paper: 10-100, 35-40 best on dSprites)
    discriminator_hidden: tuple[int, ...] = (256, 256, 256)  # (paper: 5 hidden layers of 1000)
    # Adam of the discriminator (paper: lr 1e-4, betas (0.5, 0.9))
    discriminator_optim: OptimizerConfig = OptimizerConfig(lr=1e-4, betas=(0.5, 0.9))

    def __post_init__(self) -> None:
        require_non_negative(gamma=self.gamma)
        require_positive(discriminator_hidden=self.discriminator_hidden)
        if self.vae.latent_dim < 2:
            raise ValueError("the total correlation needs a code of at least 2 dimensions")

    @classmethod
    def paper(cls, gamma: float = 40.0) -> "FactorVAEConfig":
        """Kim & Mnih's dSprites model: conv encoder/decoder on 64 x 64, 10 latents, Bernoulli
        decoder, Adam 1e-4; the discriminator a 6-layer MLP of width 1000."""
        vae = VAEConfig(input_shape=(1, 64, 64), body="conv", conv_channels=(32, 32, 64, 64), latent_dim=10,
                        decoder="bernoulli", optim=OptimizerConfig(lr=1e-4, betas=(0.9, 0.999)))
        return cls(vae=vae, gamma=gamma, discriminator_hidden=(1000,) * 5)


def permute_dims(z: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Shuffle every coordinate of a batch independently across the batch, (B, K) -> (B, K).

    If the rows of ``z`` are independent draws from p(z), a row of the result is a draw from the
    product of the marginals prod_j p(z_j) whenever its K entries come from K different rows
    (chapter ``factorvae`` bounds the rest; Kim & Mnih, Algorithm 1).
    """
    check_batch(z, 2, "z", where="permute_dims")
    b, k = z.shape
    keys = torch.rand(b, k, generator=generator).to(z.device) if generator is not None else torch.rand(b, k, device=z.device)
    idx = keys.argsort(dim=0)  # an independent permutation of the batch for each column
    return z.gather(0, idx)


class TCDiscriminator(nn.Module):
    """d(z): the logit of "z is from p(z), not from prod_j p(z_j)"; (B, K) -> (B,).

    A LeakyReLU(0.2) MLP as in the paper. With the logistic loss its optimum is the log density
    ratio, so ``d(z).mean()`` over draws of p(z) estimates the total correlation in nats.
    """

    def __init__(self, latent_dim: int, hidden: tuple[int, ...] = (256, 256, 256)):
        super().__init__()
        layers: list[nn.Module] = []
        for a, b in zip((latent_dim, *hidden[:-1]), hidden):
            layers += [nn.Linear(a, b), nn.LeakyReLU(0.2)]
        layers.append(nn.Linear(hidden[-1] if hidden else latent_dim, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).squeeze(-1)


def discriminator_cross_entropy(d_joint: torch.Tensor, d_product: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of the density-ratio discriminator, label 1 for p(z), 0 for prod_j p(z_j):
    1/2 [E_p softplus(-d) + E_prod softplus(d)], in nats. Its minimiser is d* = log p / prod_j p_j."""
    return 0.5 * (F.softplus(-d_joint).mean() + F.softplus(d_product).mean())


class FactorVAE(Trainable):
    """A :class:`~infobounds.models.vae.VAE` (by composition) and a TC discriminator."""

    def __init__(self, config: FactorVAEConfig = FactorVAEConfig()):
        super().__init__()
        self.config = config
        self.vae = VAE(config.vae)
        self.discriminator = TCDiscriminator(config.vae.latent_dim, config.discriminator_hidden)

    # The VAE's views, so that a FactorVAE can be used wherever a VAE is (metrics, traversals).
    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.vae.encode(x)

    def decoder_mean(self, z: torch.Tensor) -> torch.Tensor:
        return self.vae.decoder_mean(z)

    def evaluate(self, x: torch.Tensor, **kwargs) -> dict:
        return self.vae.evaluate(x, **kwargs)

    def vae_loss(self, batch) -> LossTerms:
        """distortion + beta rate + gamma total_correlation on one batch (per-example means, nats):
        the VAE's terms (:meth:`~infobounds.models.vae.VAE.terms`) and the TC at the same z."""
        terms, z = self.vae.terms(batch)  # z ~ p(z|x) (B, K), so z ~ p(z) over the batch
        # E_p d(z) ~ KL(p(z) || prod_j p(z_j)), the density-ratio trick
        terms["total_correlation"] = self.discriminator(z).mean()
        return LossTerms(terms=terms, weights={"rate": self.config.vae.beta, "total_correlation": self.config.gamma})

    def discriminator_loss(self, batch) -> LossTerms:
        """The discriminator's cross-entropy: the batch's first half gives draws of p(z), its second
        half, shuffled per coordinate, draws of prod_j p(z_j) (Kim & Mnih, Algorithm 1)."""
        x = first_tensor(batch)
        x = self.vae.flatten_input(x)
        half = x.shape[0] // 2
        if half < 2:
            raise ValueError("the discriminator needs a batch of at least 4 examples")
        with torch.no_grad():  # the encoder is not this player's
            mu, logvar = self.vae.encode(x[: 2 * half])
            z = reparameterize(mu, logvar)  # (2 half, K)
        d_joint = self.discriminator(z[:half])  # (half,)
        d_product = self.discriminator(permute_dims(z[half:]))  # (half,)
        accuracy = 0.5 * ((d_joint > 0).float().mean() + (d_product < 0).float().mean())
        return LossTerms(terms={"cross_entropy": discriminator_cross_entropy(d_joint, d_product)},
                         metrics={"accuracy": accuracy, "tc_estimate": d_joint.mean()})

    def players(self) -> list[Player]:
        c = self.config
        return [Player("vae", parameters_of(self.vae), c.vae.optim),
                Player("discriminator", parameters_of(self.discriminator), c.discriminator_optim)]

    def schedule(self) -> list[Update]:
        return [Update("vae", self.vae_loss), Update("discriminator", self.discriminator_loss)]


# ------------------------------------------------------------------------------------------------
# The density-ratio TC estimator on its own (chapter ``factorvae``'s check on Gaussians); it is
# trained by infobounds.estimators.total_correlation.estimate_total_correlation
# ------------------------------------------------------------------------------------------------
def gaussian_total_correlation(cov: torch.Tensor | np.ndarray) -> float:
    """TC of N(mu, Sigma) in nats: sum_j h(z_j) - h(z) = -1/2 log det of the correlation matrix."""
    cov = torch.as_tensor(cov, dtype=torch.float64)
    if cov.ndim != 2 or cov.shape[0] != cov.shape[1]:
        raise ValueError(f"cov must be a square matrix, got shape {tuple(cov.shape)}")
    std = cov.diagonal().sqrt()
    corr = cov / torch.outer(std, std)
    sign, logdet = torch.linalg.slogdet(corr)
    if sign <= 0:
        raise ValueError("cov must be positive definite")
    return float(-0.5 * logdet)


class TotalCorrelationEstimator(Trainable):
    """The TC discriminator trained on given samples of p(z) (a one-player model for ``fit``)."""

    def __init__(self, latent_dim: int, hidden: tuple[int, ...] = (64, 64),
                 optim: OptimizerConfig = OptimizerConfig()):
        super().__init__()
        self.discriminator = TCDiscriminator(latent_dim, hidden)
        self.optim = optim

    def loss(self, batch) -> LossTerms:
        z = first_tensor(batch)
        half = z.shape[0] // 2
        d_joint = self.discriminator(z[:half])
        d_product = self.discriminator(permute_dims(z[half: 2 * half]))
        return LossTerms(terms={"cross_entropy": discriminator_cross_entropy(d_joint, d_product)},
                         metrics={"tc_estimate": d_joint.mean()})

    def players(self) -> list[Player]:
        return [Player("discriminator", list(self.parameters()), self.optim)]

    def schedule(self) -> list[Update]:
        return [Update("discriminator", self.loss)]

    @torch.no_grad()
    def estimate(self, z: torch.Tensor) -> float:
        """The mean logit over held-out draws of p(z): the TC estimate in nats."""
        return float(self.discriminator(z).mean())
