r"""Wasserstein autoencoders: WAE-MMD and WAE-GAN (chapter ``wasserstein_autoencoders``).

Tolstikhin, Bousquet, Gelly & Schölkopf (2018), *Wasserstein Auto-Encoders*, ICLR.

A deterministic decoder :math:`G` pushes a prior :math:`P_Z` to the model :math:`P_G = G_\# P_Z`.
For a cost :math:`c` the chapter proves (Theorem 1 of the paper)

.. math::

    W_c(P_X, P_G) = \inf_{Q(Z|X):\ Q_Z = P_Z} \mathbb E_{P_X} \mathbb E_{Q(Z|X)}\, c\big(X, G(Z)\big),

where :math:`Q_Z = \mathbb E_{P_X} Q(Z|X)` is the aggregate posterior. The WAE relaxes the
constraint :math:`Q_Z = P_Z` into a penalty and minimises, over a deterministic encoder
:math:`E` (so :math:`Q(Z|X) = \delta_{E(X)}`) and the decoder,

.. math::

    \mathcal L = \underbrace{\mathbb E_{P_X} \lVert X - G(E(X)) \rVert^2}_{\texttt{cost}}
      + \lambda\, \mathcal D_Z(Q_Z, P_Z),

with :math:`c(x, y) = \lVert x - y \rVert^2` and

* **WAE-MMD** (:class:`WAEMMD`): :math:`\mathcal D_Z` is the squared maximum mean discrepancy with
  the inverse multiquadric kernel :math:`k(z, z') = C / (C + \lVert z - z' \rVert^2)`,
  :math:`C = 2 d_z \sigma_z^2` (term ``mmd``, :func:`infobounds.bounds.transport.mmd`);
* **WAE-GAN** (:class:`WAEGAN`): :math:`\mathcal D_Z` is the Jensen-Shannon divergence estimated
  adversarially by a *latent* discriminator :math:`D(z)`, a second player that tells prior samples
  from codes; the encoder minimises :math:`-\log D(E(x))` (term ``adversarial``), the discriminator
  ``real`` + ``fake``.

The prior is :math:`P_Z = \mathcal N(0, \sigma_z^2 I)`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from infobounds.bounds.transport import mmd
from infobounds.models.base import (LossTerms, OptimizerConfig, Player, Trainable, Update, first_tensor, flatten_batch,
                                    parameters_of)
from infobounds.nets import OUTPUTS, mlp
from infobounds.validation import require_choice, require_non_empty, require_non_negative, require_positive



@dataclass(frozen=True)
class WAEConfig:
    """Defaults are the quick profile's WAE-MMD on flattened Fashion-MNIST images."""

    input_shape: tuple[int, ...] = (1, 28, 28)  # shape of one x: (C, H, W) or (d,)
    hidden: tuple[int, ...] = (256,)  # MLP encoder widths; the decoder mirrors them (paper: conv nets)
    latent_dim: int = 8  # d_z (paper: 8 on MNIST, 64 on CelebA)
    output: str = "sigmoid"  # decoder's last nonlinearity: "sigmoid" for images in [0, 1], "identity"
    prior_std: float = 1.0  # sigma_z of the prior N(0, sigma_z^2 I) (paper: 1 on MNIST, sqrt 2 on CelebA)
    lam: float = 10.0  # lambda, weight of the latent penalty (paper's WAE-MMD: 10 MNIST, 100 CelebA)
    kernel_scales: tuple[float, ...] = (1.0,)  # IMQ kernel scales C, as multiples of 2 d_z sigma_z^2
    optim: OptimizerConfig = OptimizerConfig()  # Adam, encoder and decoder (paper: lr 1e-3 MNIST, 3e-4 CelebA)

    def __post_init__(self) -> None:
        require_non_empty(input_shape=self.input_shape, kernel_scales=self.kernel_scales)
        require_positive(input_shape=self.input_shape, latent_dim=self.latent_dim, hidden=self.hidden,
                         prior_std=self.prior_std, kernel_scales=self.kernel_scales)
        require_choice("output", self.output, OUTPUTS)
        require_non_negative(lam=self.lam)

    @property
    def input_dim(self) -> int:
        return math.prod(self.input_shape)


@dataclass(frozen=True)
class WAEGANConfig(WAEConfig):
    """WAE-GAN adds a latent discriminator; lam defaults to the paper's MNIST value for WAE-GAN."""

    lam: float = 1.0  # (paper's WAE-GAN: 1 on MNIST and CelebA)
    disc_hidden: tuple[int, ...] = (256, 256)  # discriminator widths (paper: 4 layers of 512 / 1024)
    # Adam, discriminator (paper: lr 5e-4 MNIST, 1e-3 CelebA)
    discriminator_optim: OptimizerConfig = OptimizerConfig(lr=5e-4)

    def __post_init__(self) -> None:
        super().__post_init__()
        require_non_empty(disc_hidden=self.disc_hidden)
        require_positive(disc_hidden=self.disc_hidden)


class WAEMMD(Trainable):
    """Deterministic MLP encoder E and decoder G with the squared-error cost and an MMD penalty."""

    def __init__(self, config: WAEConfig = WAEConfig()):
        super().__init__()
        self.config = c = config
        self.encoder = mlp(c.input_dim, c.hidden, c.latent_dim)
        self.decoder_net = mlp(c.latent_dim, tuple(reversed(c.hidden)), c.input_dim)

    # -- the maps -----------------------------------------------------------------------------------
    def flatten_input(self, x: torch.Tensor) -> torch.Tensor:
        """x as (B, input_dim) from (B, *input_shape) or (B, input_dim); else a ValueError."""
        return flatten_batch(x, self.config.input_shape, type(self).__name__)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """z = E(x), (B, d_z)."""
        return self.encoder(self.flatten_input(x))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """G(z), (B, input_dim)."""
        out = self.decoder_net(z)
        return torch.sigmoid(out) if self.config.output == "sigmoid" else out

    def sample_prior(self, n: int) -> torch.Tensor:
        """n draws of P_Z = N(0, sigma_z^2 I), (n, d_z)."""
        device = next(self.parameters()).device
        return self.config.prior_std * torch.randn(n, self.config.latent_dim, device=device)

    @torch.no_grad()
    def sample(self, n: int) -> torch.Tensor:
        """n draws of P_G = G # P_Z, (n, input_dim)."""
        return self.decode(self.sample_prior(n))

    def kernel_scales(self) -> tuple[float, ...]:
        """The IMQ scales C = s * 2 d_z sigma_z^2 for the configured multiples s."""
        base = 2.0 * self.config.latent_dim * self.config.prior_std**2
        return tuple(s * base for s in self.config.kernel_scales)

    def reconstruction_cost(self, x_flat: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """c(x, G(z)) = ||x - G(z)||^2 per example, (B,)."""
        return ((x_flat - self.decode(z)) ** 2).sum(-1)

    # -- the objective --------------------------------------------------------------------------------
    def loss(self, batch) -> LossTerms:
        x = self.flatten_input(first_tensor(batch))  # (B, D)
        z = self.encoder(x)  # (B, d_z), Q(Z|X) = delta_{E(X)}
        cost = self.reconstruction_cost(x, z).mean()  # E c(X, G(E(X)))
        z_prior = self.sample_prior(x.shape[0])  # (B, d_z) ~ P_Z
        penalty = mmd(z, z_prior, scales=self.kernel_scales())  # MMD^2(Q_Z, P_Z), unbiased
        return LossTerms(terms={"cost": cost, "mmd": penalty}, weights={"mmd": self.config.lam})

    def players(self) -> list[Player]:
        return [Player("main", list(self.parameters()), self.config.optim)]

    @torch.no_grad()
    def evaluate(self, x: torch.Tensor, batch_size: int = 1000) -> dict:
        """Mean ``cost`` ||x - G(E(x))||^2 and the MMD^2 between the codes and as many prior draws."""
        was_training = self.training
        self.eval()
        x = self.flatten_input(x)
        z = torch.cat([self.encoder(x[s:s + batch_size]) for s in range(0, x.shape[0], batch_size)])
        cost = torch.cat([self.reconstruction_cost(x[s:s + batch_size], z[s:s + batch_size])
                          for s in range(0, x.shape[0], batch_size)]).mean()
        n = min(z.shape[0], 2000)
        out = {"cost": float(cost), "mmd": float(mmd(z[:n], self.sample_prior(n), scales=self.kernel_scales()))}
        self.train(was_training)
        return out


class WAEGAN(WAEMMD):
    """WAE whose latent penalty is a GAN in Z: a discriminator D(z) = sigmoid(T(z)) is the second player."""

    def __init__(self, config: WAEGANConfig = WAEGANConfig()):
        if not isinstance(config, WAEGANConfig):
            raise ValueError("WAEGAN needs a WAEGANConfig (it adds the discriminator's settings)")
        super().__init__(config)
        self.discriminator = mlp(config.latent_dim, config.disc_hidden, 1)

    def score(self, z: torch.Tensor) -> torch.Tensor:
        """T(z), the discriminator's logit that z came from the prior, (B,)."""
        return self.discriminator(z).reshape(-1)

    def discriminator_loss(self, batch) -> LossTerms:
        """-E_{P_Z} log D(z) - E_{Q_Z} log(1 - D(z)) (terms ``real`` and ``fake``)."""
        x = self.flatten_input(first_tensor(batch))
        with torch.no_grad():
            z_fake = self.encoder(x)  # codes, (B, d_z)
        t_real, t_fake = self.score(self.sample_prior(x.shape[0])), self.score(z_fake)
        return LossTerms(terms={"real": F.softplus(-t_real).mean(), "fake": F.softplus(t_fake).mean()},
                         metrics={"d_real": torch.sigmoid(t_real).mean().detach(),
                                  "d_fake": torch.sigmoid(t_fake).mean().detach()})

    def loss(self, batch) -> LossTerms:
        """Encoder and decoder: cost + lambda * (-E log D(E(x))), the non-saturating adversarial term."""
        x = self.flatten_input(first_tensor(batch))  # (B, D)
        z = self.encoder(x)  # (B, d_z)
        cost = self.reconstruction_cost(x, z).mean()
        adversarial = F.softplus(-self.score(z)).mean()  # -E_{Q_Z} log D(z)
        return LossTerms(terms={"cost": cost, "adversarial": adversarial}, weights={"adversarial": self.config.lam})

    def players(self) -> list[Player]:
        c = self.config
        return [Player("main", parameters_of(self.encoder, self.decoder_net), c.optim),
                Player("discriminator", parameters_of(self.discriminator), c.discriminator_optim)]

    def schedule(self) -> list[Update]:
        return [Update("discriminator", self.discriminator_loss), Update("main", self.loss)]
