r"""The Gromov-Wasserstein autoencoder (chapter ``wasserstein_autoencoders``).

Nakagawa, Togo, Ogawa & Haseyama (2023), *Gromov-Wasserstein Autoencoders*, ICLR; reference
implementation github.com/ganmodokix/gwae.

A GWAE learns a prior :math:`\pi_\theta(z)` from a chosen family (the *meta-prior*), a decoder
:math:`G` and a Gaussian encoder :math:`q(z|x)` so that the generative coupling
:math:`(G(Z), Z)`, :math:`Z \sim \pi_\theta`, is close to an isometry between data space and
latent space, while the model :math:`G_\# \pi_\theta` stays close to the data. The relaxed objective
minimised here, estimated on a batch, is

.. math::

    \mathcal L = \underbrace{\mathbb E_{(X, Z), (X', Z') \sim \gamma}
        \Big|\, \kappa\, \tfrac{\lVert Z - Z' \rVert}{s_\theta}
             - \lVert X - X' \rVert \Big|^{p}}_{\texttt{gw}}
      + \lambda_W \underbrace{\mathbb E_{P_X} \mathbb E_{q(z|x)} \tfrac12 \lVert X - G(Z) \rVert^2}_{\texttt{reconstruction}}
      + \lambda_D \underbrace{\mathrm{MMD}^2(Q_Z, \pi_\theta)}_{\texttt{prior_mmd}}
      + \lambda_H \underbrace{\mathbb E_{P_X} \textstyle\sum_j -\log \sigma_j^2(X)}_{\texttt{neg_entropy}} .

* ``gw``: the distortion of a coupling :math:`\gamma` of data and latent space, an upper bound on
  their Gromov-Wasserstein discrepancy (latent metric scaled by a learned :math:`\kappa > 0` and
  divided by the prior's per-coordinate scale :math:`s_\theta`, so the term cannot be lowered by
  shrinking the latents); :math:`p = 1` as in the reference implementation, :math:`p = 2` gives the
  :math:`\mathrm{GW}^2` that POT computes. ``gw_pairs`` chooses :math:`\gamma`: ``inference``
  (default), the encoder's coupling :math:`X \sim P_X`, :math:`Z \sim q(z|X)`, whose Z-marginal is the
  aggregate posterior :math:`Q_Z`; ``generative``, the coupling :math:`(G(Z), Z)`,
  :math:`Z \sim \pi_\theta`, of the prior and the model, which is what the reference implementation
  uses. Both are admissible couplings of the two spaces once the other terms make :math:`Q_Z \approx
  \pi_\theta` and :math:`G_\# \pi_\theta \approx P_X`; the chapter compares them;
* ``reconstruction``: half the WAE bound :math:`\mathbb E\lVert X - G(Z)\rVert^2 \ge W_2^2(P_X, G_\# Q_Z)`
  (chapter proposition), which ties the model to the data;
* ``prior_mmd``: the WAE penalty that makes the aggregate posterior :math:`Q_Z` match
  :math:`\pi_\theta` (the reference uses an MMD or, in its default, a critic on joint pairs; here the
  inverse-multiquadric MMD of :mod:`infobounds.bounds.transport`);
* ``neg_entropy``: minus *twice* the encoder's differential entropy, up to a constant
  (:math:`h(\mathcal N(\mu, \mathrm{diag}\,\sigma^2)) = \tfrac12 \sum_j \log(2\pi e \sigma_j^2)`), which
  keeps the encoder stochastic.

Meta-prior families (``GWAEConfig.prior``): ``gaussian``, the fixed :math:`\mathcal N(0, I)`;
``mixture``, a learnable mixture of ``prior_components`` Gaussians with diagonal covariances and
equal weights, standardised per coordinate by a batch norm without affine parameters (as in the
reference), which favours clustered latents; ``neural``, a learnable MLP push-forward of
:math:`\mathcal N(0, I)`, likewise standardised.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from infobounds.bounds.transport import mmd
from infobounds.models.base import LossTerms, OptimizerConfig, Player, Trainable, first_tensor, flatten_batch
from infobounds.nets import OUTPUTS, GaussianHead, mlp, reparameterize
from infobounds.validation import (require_at_least, require_choice, require_non_empty, require_non_negative,
                                   require_positive)

PRIORS = ("gaussian", "mixture", "neural")
GW_PAIRS = ("generative", "inference")


@dataclass(frozen=True)
class GWAEConfig:
    """Defaults are the quick profile's GWAE on flattened Fashion-MNIST images."""

    input_shape: tuple[int, ...] = (1, 28, 28)  # shape of one x: (C, H, W) or (d,)
    hidden: tuple[int, ...] = (256,)  # MLP encoder widths; the decoder mirrors them (paper: conv nets)
    latent_dim: int = 8  # d_z (paper: 64 on CelebA)
    output: str = "sigmoid"  # decoder's last nonlinearity: "sigmoid" for images in [0, 1], "identity"
    prior: str = "gaussian"  # meta-prior family: "gaussian", "mixture" or "neural"
    prior_components: int = 10  # components of the mixture prior
    gw_exponent: int = 1  # p of |kappa d_Z / s - d_X|^p (reference implementation: 1)
    gw_pairs: str = "inference"  # couple (x, z ~ q(z|x)), or "generative": (G(z), z ~ prior) as the reference
    coef_w: float = 1.0  # lambda_W, weight of the reconstruction term (paper: 1)
    coef_d: float = 1.0  # lambda_D, weight of the prior-matching MMD (paper: 1)
    coef_entropy: float = 0.03  # lambda_H, weight of the negative encoder entropy (paper: 0.03)
    distance_scale_init: float = 2.5  # initial kappa (paper: 2.5)
    kernel_scales: tuple[float, ...] = (1.0,)  # IMQ scales of the MMD, multiples of 2 d_z
    optim: OptimizerConfig = OptimizerConfig()  # Adam (paper: RMSprop, lr 1e-4)

    def __post_init__(self) -> None:
        require_non_empty(input_shape=self.input_shape, kernel_scales=self.kernel_scales)
        require_positive(input_shape=self.input_shape, latent_dim=self.latent_dim, hidden=self.hidden,
                         distance_scale_init=self.distance_scale_init, kernel_scales=self.kernel_scales)
        require_choice("output", self.output, OUTPUTS)
        require_choice("prior", self.prior, PRIORS)
        require_at_least(2, prior_components=self.prior_components)
        require_choice("gw_pairs", self.gw_pairs, GW_PAIRS)
        require_choice("gw_exponent", self.gw_exponent, (1, 2))
        require_non_negative(coef_w=self.coef_w, coef_d=self.coef_d, coef_entropy=self.coef_entropy)

    @property
    def input_dim(self) -> int:
        return math.prod(self.input_shape)


class MetaPrior(nn.Module):
    """A sampler z ~ pi_theta of one of the families ``gaussian``, ``mixture``, ``neural``."""

    def __init__(self, family: str, latent_dim: int, components: int = 10):
        super().__init__()
        require_choice("prior", family, PRIORS)
        self.family, self.latent_dim = family, latent_dim
        if family == "mixture":
            self.means = nn.Parameter(torch.randn(components, latent_dim))  # (C, K)
            self.log_stds = nn.Parameter(torch.full((components, latent_dim), math.log(0.3)))  # (C, K)
        elif family == "neural":
            self.net = mlp(latent_dim, (4 * latent_dim, 4 * latent_dim), latent_dim, nn.SiLU)
        if family != "gaussian":
            self.standardize = nn.BatchNorm1d(latent_dim, affine=False)  # unit scale per coordinate

    def forward(self, n: int) -> torch.Tensor:
        """n draws, (n, K); differentiable in the prior's parameters (reparameterised)."""
        ref = next(iter(self.parameters()), None)
        device = ref.device if ref is not None else torch.device("cpu")
        eps = torch.randn(n, self.latent_dim, device=device)  # (n, K)
        if self.family == "gaussian":
            return eps
        if self.family == "mixture":
            comp = torch.randint(0, self.means.shape[0], (n,), device=device)  # equal weights
            z = self.means[comp] + self.log_stds[comp].exp() * eps
        else:
            z = self.net(eps)
        return self.standardize(z)


def pairwise_distances(a: torch.Tensor) -> torch.Tensor:
    """Euclidean distances of all pairs i < j of the rows of ``a`` (B, d) -> (B (B - 1) / 2,),
    with a gradient that stays finite (no square root at 0)."""
    sq = (a * a).sum(-1)  # (B,)
    d2 = sq[:, None] + sq[None, :] - 2.0 * a @ a.T  # (B, B), |a_i|^2 + |a_j|^2 - 2 <a_i, a_j>
    i, j = torch.triu_indices(a.shape[0], a.shape[0], offset=1, device=a.device)
    return d2[i, j].clamp_min(1e-12).sqrt()


class GWAE(Trainable):
    """Gaussian MLP encoder, MLP decoder, a meta-prior and the learned latent distance scale kappa."""

    def __init__(self, config: GWAEConfig = GWAEConfig()):
        super().__init__()
        self.config = c = config
        self.encoder_body = nn.Sequential(mlp(c.input_dim, c.hidden[:-1], c.hidden[-1]), nn.ReLU()) \
            if c.hidden else nn.Identity()
        self.head = GaussianHead(c.hidden[-1] if c.hidden else c.input_dim, c.latent_dim)
        self.decoder_net = mlp(c.latent_dim, tuple(reversed(c.hidden)), c.input_dim)
        self.prior = MetaPrior(c.prior, c.latent_dim, c.prior_components)
        self.log_kappa = nn.Parameter(torch.tensor(math.log(c.distance_scale_init)))

    def flatten_input(self, x: torch.Tensor) -> torch.Tensor:
        return flatten_batch(x, self.config.input_shape, "GWAE")

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance of q(z|x), each (B, K)."""
        return self.head(self.encoder_body(self.flatten_input(x)))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """G(z), (B, input_dim)."""
        out = self.decoder_net(z)
        return torch.sigmoid(out) if self.config.output == "sigmoid" else out

    @torch.no_grad()
    def sample(self, n: int) -> torch.Tensor:
        """n draws of the model G # pi_theta, (n, input_dim) (prior in evaluation mode)."""
        was_training = self.training
        self.eval()
        x = self.decode(self.prior(n))
        self.train(was_training)
        return x

    def gw_distortion(self, z: torch.Tensor, x: torch.Tensor | None = None,
                      scale: torch.Tensor | None = None) -> torch.Tensor:
        """The ``gw`` term: mean over the pairs of a batch of |kappa d_Z(z, z') / s - d_X(x, x')|^p for
        the coupled points z (B, K) and x (B, D), by default x = G(z); s defaults to z's mean
        per-coordinate standard deviation."""
        if scale is None:
            scale = z.std(dim=0).mean()
        d_z = pairwise_distances(z) * (self.log_kappa.exp() / scale.clamp_min(1e-8))  # (P,)
        d_x = pairwise_distances(self.decode(z) if x is None else x)  # (P,)
        return (d_z - d_x).abs().pow(self.config.gw_exponent).mean()

    def loss(self, batch) -> LossTerms:
        c = self.config
        x = self.flatten_input(first_tensor(batch))  # (B, D)
        mu, logvar = self.encode(x)  # (B, K) each
        z = reparameterize(mu, logvar)  # (B, K) ~ q(z|x)
        z_prior = self.prior(x.shape[0])  # (B, K) ~ pi_theta
        if c.gw_pairs == "generative":
            gw = self.gw_distortion(z_prior)  # the coupling (G(Z), Z), Z ~ pi_theta
        else:  # the coupling (X, Z), Z ~ q(z|X), latent distances scaled by the prior's spread
            gw = self.gw_distortion(z, x, scale=z_prior.std(dim=0).mean().detach())
        reconstruction = 0.5 * ((x - self.decode(z)) ** 2).sum(-1).mean()
        scales = tuple(s * 2.0 * c.latent_dim for s in c.kernel_scales)
        prior_mmd = mmd(z, z_prior, scales=scales)
        neg_entropy = -logvar.sum(-1).mean()
        return LossTerms(
            terms={"gw": gw, "reconstruction": reconstruction, "prior_mmd": prior_mmd, "neg_entropy": neg_entropy},
            weights={"reconstruction": c.coef_w, "prior_mmd": c.coef_d, "neg_entropy": c.coef_entropy},
            metrics={"kappa": self.log_kappa.exp().detach()})

    def players(self) -> list[Player]:
        return [Player("main", list(self.parameters()), self.config.optim)]
