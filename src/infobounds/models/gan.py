r"""Generative adversarial networks: minimax, non-saturating and Wasserstein-GP (chapter ``gans``).

Goodfellow et al. (2014), *Generative Adversarial Nets*; Arjovsky, Chintala & Bottou (2017),
*Wasserstein GAN*; Gulrajani et al. (2017), *Improved Training of Wasserstein GANs*; Miyato et al.
(2018), *Spectral Normalization for GANs*; Radford, Metz & Chintala (2016), *DCGAN*.

A generator :math:`G` pushes noise :math:`z \sim \mathcal N(0, I)` to samples; a critic :math:`T(x)`
(a real-valued network; the discriminator is :math:`D = \sigma(T)`) tells them from data. With
:math:`P` the data and :math:`Q_G` the generator's distribution, the chapter derives

.. math::

    V(D, G) = \underbrace{\mathbb E_P \log D(x)}_{-\texttt{real}}
            + \underbrace{\mathbb E_{Q_G} \log(1 - D(x))}_{-\texttt{fake}},
    \qquad \max_D V(D, G) = 2\,\mathrm{JSD}(P \,\|\, Q_G) - \log 4 .

The critic minimises ``real + fake`` (= :math:`-V`). The generator minimises

* ``minimax``: :math:`\mathbb E_z \log(1 - D(G(z)))` (term ``log_one_minus_d_fake``), the game as
  written, whose gradient vanishes when the discriminator wins;
* ``nonsaturating``: :math:`-\mathbb E_z \log D(G(z))` (term ``neg_log_d_fake``), the same fixed
  point with strong gradients early on;
* ``wgan-gp``: :math:`-\mathbb E_z T(G(z))` (term ``critic_fake``), while the critic minimises
  :math:`\mathbb E_{Q_G} T - \mathbb E_P T + \lambda\,\mathbb E_{\hat x}(\lVert\nabla T(\hat x)\rVert - 1)^2`
  (terms ``wasserstein`` and ``gradient_penalty``): by Kantorovich-Rubinstein duality
  :math:`\mathbb E_P T - \mathbb E_{Q_G} T \le W_1(P, Q_G)` for 1-Lipschitz :math:`T`, and the
  penalty at points :math:`\hat x` between real and generated samples keeps :math:`T` close to that
  class.

Spectral normalisation (``spectral_norm=True``) divides each critic layer's weight by an estimate of
its largest singular value (one power iteration per update, Miyato et al., 2018). The estimate is at
most the true value, and a convolution's operator norm is not that of its reshaped kernel, so the
critic is only approximately 1-Lipschitz: a soft constraint, not a hard one, for any of the losses.

The *Dirac-GAN* of Mescheder, Geiger & Nowozin (2018) is simulated in closed form by
:func:`dirac_gan_trajectory`; :func:`dirac_gan_jacobian` gives the Jacobian whose eigenvalues
decide whether gradient descent converges.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from infobounds.models.base import LossTerms, OptimizerConfig, Player, Trainable, Update, parameters_of
from infobounds.nets import OUTPUTS, mlp
from infobounds.validation import (require_at_least, require_choice, require_non_empty, require_non_negative,
                                   require_positive)

LOSSES = ("minimax", "nonsaturating", "wgan-gp")
BODIES = ("mlp", "dcgan")


@dataclass(frozen=True)
class GANConfig:
    """Defaults are the quick profile's non-saturating GAN on the ring of eight Gaussians;
    ``GANConfig.dcgan()`` is the image GAN."""

    loss: str = "nonsaturating"  # "minimax", "nonsaturating" or "wgan-gp"
    body: str = "mlp"  # "mlp" or "dcgan" (convolutional, for images whose sides divide by 4)
    data_shape: tuple[int, ...] = (2,)  # one sample's shape: (d,) or (C, H, W)
    latent_dim: int = 2  # dimension of z ~ N(0, I)
    hidden: tuple[int, ...] = (128, 128)  # MLP widths of generator and critic
    channels: tuple[int, int] = (64, 128)  # DCGAN widths (paper: 128, 256, 512, 1024 on 64x64)
    output: str = "identity"  # generator's last nonlinearity: "identity" or "sigmoid" (images in [0, 1])
    critic_steps: int = 1  # critic updates per generator update (WGAN-GP paper: 5)
    gp_weight: float = 10.0  # lambda of the gradient penalty (WGAN-GP paper: 10; the ring: 0.1)
    spectral_norm: bool = False  # spectral normalisation of every critic layer
    # Adam of each player (DCGAN paper: lr 2e-4 both; betas DCGAN: 0.5, 0.999; WGAN-GP: 0.5, 0.9)
    generator_optim: OptimizerConfig = OptimizerConfig(lr=1e-3, betas=(0.5, 0.999))
    critic_optim: OptimizerConfig = OptimizerConfig(lr=1e-3, betas=(0.5, 0.999))
    train_generator: bool = True  # False: only the critic learns, against a fixed generator

    def __post_init__(self) -> None:
        require_choice("loss", self.loss, LOSSES)
        require_choice("body", self.body, BODIES)
        require_choice("output", self.output, OUTPUTS)
        require_non_empty(data_shape=self.data_shape)
        require_positive(latent_dim=self.latent_dim, data_shape=self.data_shape, hidden=self.hidden,
                         channels=self.channels)
        if self.body == "dcgan" and (len(self.data_shape) != 3 or self.data_shape[1] % 4 or self.data_shape[2] % 4):
            raise ValueError(f"the DCGAN body needs (C, H, W) with H and W divisible by 4, got {self.data_shape}")
        require_at_least(1, critic_steps=self.critic_steps)
        require_non_negative(gp_weight=self.gp_weight)

    @classmethod
    def dcgan(cls, loss: str = "nonsaturating", data_shape: tuple[int, int, int] = (1, 28, 28),
              channels: tuple[int, int] = (64, 128), latent_dim: int = 100, **kw) -> "GANConfig":
        """The DCGAN-style image GAN (Radford et al., 2016) scaled to 28x28: two (transposed)
        convolutions, batch norm in the generator, leaky ReLU in the critic (no batch norm there, so
        the same critic serves the gradient penalty), sigmoid output."""
        return cls(loss=loss, body="dcgan", data_shape=data_shape, channels=channels,
                   latent_dim=latent_dim, output="sigmoid", **kw)


# --------------------------------------------------------------------------------------------------
# Bodies
# --------------------------------------------------------------------------------------------------

def mlp_generator(latent_dim: int, hidden: Sequence[int], data_shape: Sequence[int],
                  output: str = "identity") -> nn.Sequential:
    """z (B, latent_dim) -> x (B, *data_shape) through an MLP."""
    layers: list[nn.Module] = [mlp(latent_dim, hidden, int(np.prod(data_shape)))]
    if output == "sigmoid":
        layers.append(nn.Sigmoid())
    if len(data_shape) > 1:
        layers.append(nn.Unflatten(1, tuple(data_shape)))
    return nn.Sequential(*layers)


def mlp_critic_body(data_shape: Sequence[int], hidden: Sequence[int]) -> tuple[nn.Sequential, int]:
    """x (B, *data_shape) -> features (B, hidden[-1]) with leaky ReLUs; returns (body, feature size)."""
    if not hidden:
        raise ValueError("the critic body needs at least one hidden layer")
    sizes = [int(np.prod(data_shape)), *hidden]
    layers: list[nn.Module] = [nn.Flatten()]
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.LeakyReLU(0.2)]
    return nn.Sequential(*layers), sizes[-1]


def dcgan_generator(latent_dim: int, data_shape: Sequence[int], channels: Sequence[int] = (64, 128),
                    output: str = "sigmoid") -> nn.Sequential:
    """z (B, latent_dim) -> x (B, C, H, W): a linear map to (channels[1], H/4, W/4), then two stride-2
    transposed convolutions with batch norm and ReLU (Radford et al., 2016)."""
    c, h, w = data_shape
    c1, c2 = channels
    layers: list[nn.Module] = [
        nn.Linear(latent_dim, c2 * (h // 4) * (w // 4)), nn.Unflatten(1, (c2, h // 4, w // 4)),
        nn.BatchNorm2d(c2), nn.ReLU(),
        nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1), nn.BatchNorm2d(c1), nn.ReLU(),  # (B, c1, H/2, W/2)
        nn.ConvTranspose2d(c1, c, 4, stride=2, padding=1),  # (B, C, H, W)
    ]
    if output == "sigmoid":
        layers.append(nn.Sigmoid())
    return nn.Sequential(*layers)


def dcgan_critic_body(data_shape: Sequence[int], channels: Sequence[int] = (64, 128)) -> tuple[nn.Sequential, int]:
    """x (B, C, H, W) -> features (B, channels[1] H W / 16): two stride-2 convolutions with leaky ReLU."""
    c, h, w = data_shape
    c1, c2 = channels
    body = nn.Sequential(
        nn.Conv2d(c, c1, 4, stride=2, padding=1), nn.LeakyReLU(0.2),  # (B, c1, H/2, W/2)
        nn.Conv2d(c1, c2, 4, stride=2, padding=1), nn.LeakyReLU(0.2),  # (B, c2, H/4, W/4)
        nn.Flatten(),
    )
    return body, c2 * (h // 4) * (w // 4)


def apply_spectral_norm(module: nn.Module) -> nn.Module:
    """Spectral normalisation (Miyato et al., 2018) of every linear and convolutional layer in place."""
    for name, child in list(module.named_children()):
        if isinstance(child, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            setattr(module, name, nn.utils.parametrizations.spectral_norm(child))
        else:
            apply_spectral_norm(child)
    return module


def build_bodies(config: GANConfig) -> tuple[nn.Module, nn.Module, int]:
    """Generator, critic body and the body's feature size for ``config`` (shared with InfoGAN)."""
    if config.body == "mlp":
        generator = mlp_generator(config.latent_dim, config.hidden, config.data_shape, config.output)
        body, features = mlp_critic_body(config.data_shape, config.hidden)
    else:
        generator = dcgan_generator(config.latent_dim, config.data_shape, config.channels, config.output)
        body, features = dcgan_critic_body(config.data_shape, config.channels)
    return generator, body, features


# --------------------------------------------------------------------------------------------------
# Losses
# --------------------------------------------------------------------------------------------------

def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    r"""WGAN-GP's penalty :math:`\mathbb E_{\hat x} (\lVert \nabla_x T(\hat x) \rVert_2 - 1)^2` at random
    points :math:`\hat x = \epsilon x + (1 - \epsilon) \tilde x` on segments between real samples ``real``
    and generated ones ``fake`` (Gulrajani et al., 2017); differentiable in the critic's weights."""
    if real.shape != fake.shape:
        raise ValueError(f"real and fake batches must have the same shape, got {tuple(real.shape)} and "
                         f"{tuple(fake.shape)}")
    eps_shape = (real.shape[0],) + (1,) * (real.ndim - 1)
    eps = torch.rand(eps_shape, dtype=real.dtype, device=real.device)  # one mixing weight per pair
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1.0) ** 2).mean()


class GAN(Trainable):
    """A generator and a critic with the update schedule of ``config.loss``.

    ``generator`` and ``critic`` may be passed to replace the bodies built from ``config`` (the
    tests use a fixed affine generator); the critic must map a batch to (B, 1) scores.
    """

    def __init__(self, config: GANConfig = GANConfig(), generator: nn.Module | None = None,
                 critic: nn.Module | None = None):
        super().__init__()
        self.config = config
        built_generator, body, features = build_bodies(config)
        self.generator = generator if generator is not None else built_generator
        if critic is None:
            critic = nn.Sequential(body, nn.Linear(features, 1))
            if config.spectral_norm:
                apply_spectral_norm(critic)
        self.critic = critic
        # bf16 double backward through the gradient penalty loses too much.
        self.autocast_safe = config.loss != "wgan-gp"

    # -- sampling ---------------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return next(self.generator.parameters()).device

    def sample_latent(self, n: int) -> torch.Tensor:
        """z ~ N(0, I), (n, latent_dim), from torch's global generator (seeded by ``fit``)."""
        return torch.randn(n, self.config.latent_dim, device=self.device)

    @torch.no_grad()
    def sample(self, n: int) -> torch.Tensor:
        """``n`` generated samples, (n, *data_shape), in evaluation mode."""
        was_training = self.training
        self.eval()
        x = self.generator(self.sample_latent(n))
        self.train(was_training)
        return x

    def score(self, x: torch.Tensor) -> torch.Tensor:
        """The critic's score T(x), (B,); the discriminator is sigmoid(T)."""
        return self.critic(x).reshape(-1)

    @torch.no_grad()
    def discriminator(self, x: torch.Tensor) -> torch.Tensor:
        """D(x) = sigmoid(T(x)), the probability that x is data, (B,)."""
        return torch.sigmoid(self.score(x))

    # -- losses ------------------------------------------------------------------------------------
    def critic_loss(self, batch) -> LossTerms:
        x = batch[0]
        with torch.no_grad():  # the critic's step does not differentiate through G
            fake = self.generator(self.sample_latent(x.shape[0]))
        t_real, t_fake = self.score(x), self.score(fake)  # (B,), (B,)
        if self.config.loss == "wgan-gp":
            w_estimate = t_real.mean() - t_fake.mean()  # E_P T - E_Q T <= W_1 for 1-Lipschitz T
            gp = gradient_penalty(self.critic, x, fake)
            return LossTerms(terms={"wasserstein": -w_estimate, "gradient_penalty": gp},
                             weights={"gradient_penalty": self.config.gp_weight},
                             metrics={"w_estimate": w_estimate.detach()})
        real = F.softplus(-t_real).mean()  # -E_P log D(x),        log D = -softplus(-T)
        fake_term = F.softplus(t_fake).mean()  # -E_Q log(1 - D(x)), log(1 - D) = -softplus(T)
        value = -(real + fake_term)  # V(D, G); at the optimal D it is 2 JSD - log 4
        return LossTerms(terms={"real": real, "fake": fake_term},
                         metrics={"value": value.detach(),
                                  "jsd_estimate": 0.5 * (value.detach() + math.log(4.0)),
                                  "d_real": torch.sigmoid(t_real).mean().detach(),
                                  "d_fake": torch.sigmoid(t_fake).mean().detach()})

    def generator_loss(self, batch) -> LossTerms:
        n = batch[0].shape[0]
        t_fake = self.score(self.generator(self.sample_latent(n)))  # (B,)
        if self.config.loss == "wgan-gp":
            return LossTerms(terms={"critic_fake": -t_fake.mean()})
        if self.config.loss == "minimax":
            return LossTerms(terms={"log_one_minus_d_fake": -F.softplus(t_fake).mean()})  # E log(1 - D(G(z)))
        return LossTerms(terms={"neg_log_d_fake": F.softplus(-t_fake).mean()})  # -E log D(G(z))

    def players(self) -> list[Player]:
        c = self.config
        players = [Player("critic", parameters_of(self.critic), c.critic_optim)]
        if c.train_generator:
            players.append(Player("generator", parameters_of(self.generator), c.generator_optim))
        return players

    def schedule(self) -> list[Update]:
        updates = [Update("critic", self.critic_loss, repeats=self.config.critic_steps)]
        if self.config.train_generator:
            updates.append(Update("generator", self.generator_loss))
        return updates


def optimal_discriminator(p_data: torch.Tensor, p_model: torch.Tensor) -> torch.Tensor:
    """D*(x) = p_data(x) / (p_data(x) + p_model(x)) from the two densities at the same points."""
    if torch.any(p_data < 0) or torch.any(p_model < 0):
        raise ValueError("densities must be non-negative")
    return p_data / (p_data + p_model)


# --------------------------------------------------------------------------------------------------
# The Dirac-GAN (Mescheder, Geiger & Nowozin, 2018), in closed form
# --------------------------------------------------------------------------------------------------

DIRAC_LOSSES = ("gan", "wgan")


def _dirac_f_prime(t: np.ndarray | float, loss: str) -> np.ndarray | float:
    """f'(t) for the Dirac-GAN's f: f(t) = log sigmoid(t) (GAN), f'(t) = sigmoid(-t); f(t) = t (WGAN)."""
    if loss == "gan":
        return 1.0 / (1.0 + np.exp(t))
    if loss == "wgan":
        return np.ones_like(t) if isinstance(t, np.ndarray) else 1.0
    raise ValueError(f"unknown Dirac-GAN loss {loss!r}: choose one of {', '.join(DIRAC_LOSSES)}")


def dirac_gan_field(theta: float, psi: float, *, loss: str = "gan", gamma: float = 0.0) -> np.ndarray:
    r"""The gradient vector field of the Dirac-GAN at :math:`(\theta, \psi)`.

    Data :math:`\delta_0`, generator :math:`\delta_\theta`, critic :math:`T_\psi(x) = \psi x`, so
    :math:`V(\theta, \psi) = f(0) + f(-\psi\theta)`. The generator descends and the critic ascends
    :math:`V - \tfrac\gamma2 \psi^2` (the R1 penalty :math:`\tfrac\gamma2 \mathbb E_P \lVert\nabla_x T_\psi\rVert^2`):
    :math:`v = (\psi f'(-\psi\theta),\; -\theta f'(-\psi\theta) - \gamma\psi)`.
    """
    fp = _dirac_f_prime(-psi * theta, loss)
    return np.array([psi * fp, -theta * fp - gamma * psi])


def dirac_gan_trajectory(theta0: float, psi0: float, *, lr: float, steps: int, loss: str = "gan",
                         gamma: float = 0.0, alternating: bool = False) -> np.ndarray:
    """Iterates (steps + 1, 2) of simultaneous (or alternating: generator first) gradient steps of
    size ``lr`` on the Dirac-GAN, starting at (theta0, psi0)."""
    if lr <= 0 or steps < 0 or gamma < 0:
        raise ValueError("need lr > 0, steps >= 0 and gamma >= 0")
    w = np.empty((steps + 1, 2))
    w[0] = theta0, psi0
    for k in range(steps):
        theta, psi = w[k]
        if alternating:
            theta = theta + lr * dirac_gan_field(theta, psi, loss=loss, gamma=gamma)[0]
            psi = psi + lr * dirac_gan_field(theta, psi, loss=loss, gamma=gamma)[1]
            w[k + 1] = theta, psi
        else:
            w[k + 1] = w[k] + lr * dirac_gan_field(theta, psi, loss=loss, gamma=gamma)
    return w


def dirac_gan_jacobian(*, loss: str = "gan", gamma: float = 0.0) -> np.ndarray:
    r"""Jacobian of the Dirac-GAN field at the equilibrium (0, 0):
    :math:`\begin{pmatrix} 0 & f'(0) \\ -f'(0) & -\gamma \end{pmatrix}`; simultaneous gradient descent
    with step ``lr`` has the update Jacobian ``I + lr * J``."""
    a = float(_dirac_f_prime(0.0, loss))
    return np.array([[0.0, a], [-a, -float(gamma)]])
