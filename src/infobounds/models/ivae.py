r"""The identifiable VAE, iVAE (chapter ``identifiability_clustering``).

Khemakhem, Kingma, Monti & Hyvärinen (2020), *Variational Autoencoders and Nonlinear ICA: A Unifying
Framework*, AISTATS.

An auxiliary variable u is observed with every x (here a discrete label, ``n_aux`` values), and the
prior of the code is conditionally factorial given it,

.. math:: r(z | u) = \prod_j \mathcal N\big(z_j; m_j(u), s_j^2(u)\big),

with a learned mean and variance per value of u (embedding tables). The encoder sees both,
:math:`p(z | x, u) = \mathcal N(\mu(x, u), \operatorname{diag}\sigma^2(x, u))`, the decoder
:math:`q(x|z) = \mathcal N(g(z), \varsigma^2 I)` with one learned :math:`\varsigma`, and the model
minimises the negative conditional ELBO

.. math::

    \underbrace{\mathbb E_{p(x,u)} \mathbb E_{p(z|x,u)}[-\log q(x|z)]}_{\texttt{distortion}}
    + \underbrace{\mathbb E_{p(x,u)} \mathrm{KL}\big(p(z|x,u) \,\|\, r(z|u)\big)}_{\texttt{rate}}

with the KL in closed form. Chapter ``identifiability_clustering`` proves that, when the natural
parameters of the prior (means and variances) vary enough across u, in the true model *and* in the
learned one, a model that reproduces :math:`p(x|u)` exactly identifies the sources up to permutation,
scaling and shift. Training guarantees neither the exact fit nor the variability of the learned prior.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from infobounds.bounds.gaussian import LOG_2PI, kl_diagonal_gaussians
from infobounds.models.base import LossTerms, OptimizerConfig, Player, Trainable, check_batch
from infobounds.nets import GaussianHead, mlp, reparameterize
from infobounds.validation import require_at_least, require_positive


@dataclass(frozen=True)
class IVAEConfig:
    """Defaults are the quick profile's nonlinear-ICA model (4-d data, 8 values of u)."""

    data_dim: int = 4  # dimension of x
    latent_dim: int = 4  # dimension of z (the number of sources)
    n_aux: int = 8  # number of values of the discrete auxiliary variable u
    hidden: tuple[int, ...] = (64, 64)  # MLP widths of encoder and decoder
    decoder_std: float = 0.1  # initial value of the learned decoder standard deviation
    optim: OptimizerConfig = OptimizerConfig()  # Adam (paper: lr 1e-3)

    def __post_init__(self) -> None:
        require_positive(data_dim=self.data_dim, latent_dim=self.latent_dim, hidden=self.hidden,
                         decoder_std=self.decoder_std)
        require_at_least(1, n_aux=self.n_aux)


class IVAE(Trainable):
    """Encoder p(z|x,u), conditionally factorial Gaussian prior r(z|u), Gaussian decoder q(x|z)."""

    def __init__(self, config: IVAEConfig = IVAEConfig()):
        super().__init__()
        self.config = c = config
        self.encoder_body = nn.Sequential(mlp(c.data_dim + c.n_aux, c.hidden[:-1], c.hidden[-1], nn.ELU), nn.ELU())
        self.head = GaussianHead(c.hidden[-1], c.latent_dim)
        self.decoder = mlp(c.latent_dim, tuple(reversed(c.hidden)), c.data_dim, nn.ELU)
        self.prior_mean = nn.Embedding(c.n_aux, c.latent_dim)  # m(u)
        self.prior_logvar = nn.Embedding(c.n_aux, c.latent_dim)  # log s^2(u)
        nn.init.normal_(self.prior_mean.weight)
        nn.init.zeros_(self.prior_logvar.weight)
        self.decoder_log_std = nn.Parameter(torch.tensor(math.log(c.decoder_std)))

    def encode(self, x: torch.Tensor, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance of p(z | x, u), (B, K) each; u holds integer labels (B,)."""
        check_batch(x, 2, "x", self.config.data_dim, where="IVAE.encode")
        onehot = F.one_hot(u.long(), self.config.n_aux).to(x.dtype)
        return self.head(self.encoder_body(torch.cat([x, onehot], dim=1)))

    def loss(self, batch) -> LossTerms:
        x, u = batch[0], batch[1]
        mu, logvar = self.encode(x, u)  # (B, K)
        z = reparameterize(mu, logvar)
        log_s = self.decoder_log_std
        # -log N(x; g(z), s^2 I) summed over coordinates
        distortion = (0.5 * ((x - self.decoder(z)) * torch.exp(-log_s)) ** 2 + log_s + 0.5 * LOG_2PI).sum(1).mean()
        rate = kl_diagonal_gaussians(mu, logvar, self.prior_mean(u), self.prior_logvar(u)).mean()  # KL(p(z|x,u) || r(z|u))
        return LossTerms(terms={"distortion": distortion, "rate": rate})

    def players(self) -> list[Player]:
        return [Player("main", list(self.parameters()), self.config.optim)]
