r"""Stiefel restricted kernel machine, St-RKM (chapter ``stiefel_rkm``).

Pandey, Fanuel, Schreurs & Suykens (2022), *Disentangled Representation Learning and Generation
with Manifold Optimization*, Neural Computation 34(10).

An encoder network gives features :math:`\phi(x) \in \mathbb R^\ell`, centred over the batch
(:math:`\phi_c`); the latent code is their projection on an orthonormal basis
:math:`U \in \mathrm{St}(\ell, m) = \{U \in \mathbb R^{\ell\times m} : U^\top U = I_m\}`,
:math:`h = U^\top \phi_c(x)`, and a decoder :math:`\psi` maps :math:`U h = U U^\top \phi_c(x)` back
to an image. The objective, for a batch of size B, is

.. math::

    J = \underbrace{\frac\lambda B \sum_i \big\lVert \phi_c(x_i) - U U^\top \phi_c(x_i) \big\rVert^2}_{\texttt{projection}}
      + c \Big[ \underbrace{\frac1{2B} \sum_i \lVert x_i - \psi(U U^\top \phi_c(x_i)) \rVert^2}_{\texttt{reconstruction}}
      + \underbrace{\frac1{2B} \sum_i \lVert \psi(U U^\top \phi_c(x_i)) - \psi(U (U^\top \phi_c(x_i) + \sigma\varepsilon_i)) \rVert^2}_{\texttt{noise\_sensitivity}} \Big],

with :math:`\varepsilon_i \sim \mathcal N(0, I_m)`. The first term is the PCA (kernel PCA with an
explicit feature map) error, minimised over U by the top-m principal directions of the features
(Eckart-Young, chapter ``stiefel_rkm``); the third, the paper's *split loss*, penalises how much the
decoder's output moves along the latent directions. ``objective="deterministic"`` drops the third
term, ``"noisy"`` decodes only the noisy code. The networks are trained by Adam and U by
:class:`infobounds.optim.CayleyAdam`, which keeps :math:`U^\top U = I` at every step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import torch
from torch import nn

from infobounds.models.base import LossTerms, OptimizerConfig, Player, Trainable, check_batch, first_tensor
from infobounds.nets import mlp
from infobounds.optim.cayley import CAYLEY_BETAS, CayleyAdam
from infobounds.validation import (require_choice, require_non_empty, require_non_negative, require_positive,
                                   require_probability)

OBJECTIVES = ("deterministic", "noisy", "splitloss")


@dataclass(frozen=True)
class StRKMConfig:
    """Defaults are the quick profile's (32 x 32 shapes, MLPs); the paper's values are in comments."""

    input_shape: tuple[int, ...] = (1, 32, 32)  # shape of one x
    hidden: tuple[int, ...] = (128, 128)  # MLP widths of phi and (mirrored) psi (paper: conv 64-128-256, FC 256)
    feature_dim: int = 50  # l, the dimension of phi(x) (paper: x_fdim2 = 50)
    latent_dim: int = 10  # m, the number of columns of U (paper: h_dim = 10)
    objective: str = "splitloss"  # deterministic, noisy or splitloss (paper's St-RKM-sl)
    noise_std: float = 1e-3  # sigma of the latent noise (paper: 1e-3)
    projection_weight: float = 1.0  # lambda (paper: 1)
    reconstruction_weight: float = 1.0  # c (paper: c_accu = 1)
    optim: OptimizerConfig = OptimizerConfig(betas=CAYLEY_BETAS)  # Adam for phi and psi (paper: lr 2e-4)
    # Cayley Adam for U (paper: lr 1e-4); its rate decays with optim's, and it has no weight decay
    stiefel_optim: OptimizerConfig = OptimizerConfig(betas=CAYLEY_BETAS)
    center_momentum: float = 0.01  # update rate of the running feature mean used at evaluation

    def __post_init__(self) -> None:
        require_choice("objective", self.objective, OBJECTIVES)
        require_non_empty(input_shape=self.input_shape)
        require_positive(input_shape=self.input_shape, hidden=self.hidden, latent_dim=self.latent_dim,
                         feature_dim=self.feature_dim, center_momentum=self.center_momentum)
        if self.latent_dim > self.feature_dim:
            raise ValueError(f"latent_dim must be <= feature_dim, got latent_dim={self.latent_dim} and "
                             f"feature_dim={self.feature_dim}")
        require_non_negative(noise_std=self.noise_std, projection_weight=self.projection_weight,
                             reconstruction_weight=self.reconstruction_weight)
        require_probability(center_momentum=self.center_momentum)
        s = self.stiefel_optim
        if (s.weight_decay, s.decay, s.decay_every) != (0.0, 1.0, 0):
            raise ValueError(f"stiefel_optim sets only U's rate and betas (U has no weight decay, and its rate "
                             f"decays with optim's), got {s!r}")

    @property
    def input_dim(self) -> int:
        return math.prod(self.input_shape)


class StRKM(Trainable):
    """Encoder phi, decoder psi and an orthonormal U (a parameter kept on the Stiefel manifold)."""

    def __init__(self, config: StRKMConfig = StRKMConfig()):
        super().__init__()
        self.config = c = config
        act = partial(nn.LeakyReLU, 0.2)
        self.encoder = mlp(c.input_dim, c.hidden, c.feature_dim, act)  # phi
        self.decoder = nn.Sequential(mlp(c.feature_dim, tuple(reversed(c.hidden)), c.input_dim, act),
                                     nn.Sigmoid())  # psi, images in [0, 1]
        self.U = nn.Parameter(nn.init.orthogonal_(torch.empty(c.feature_dim, c.latent_dim)))  # (l, m)
        self.register_buffer("feature_mean", torch.zeros(c.feature_dim))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """phi(x), (B, l)."""
        x = x.reshape(x.shape[0], -1)
        check_batch(x, 2, "x", self.config.input_dim, where="StRKM")
        return self.encoder(x)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The latent code h = U^T (phi(x) - running mean), (B, m)."""
        return (self.features(x) - self.feature_mean) @ self.U

    def decode(self, h: torch.Tensor) -> torch.Tensor:
        """psi(U h) as images, (B, *input_shape)."""
        return self.decoder(h @ self.U.T).reshape(h.shape[0], *self.config.input_shape)

    def loss(self, batch) -> LossTerms:
        c = self.config
        x = first_tensor(batch)
        x = x.reshape(x.shape[0], -1)  # (B, D)
        phi = self.features(x)  # (B, l)
        mean = phi.mean(0)
        with torch.no_grad():
            self.feature_mean.lerp_(mean.detach(), c.center_momentum)
        phi_c = phi - mean  # centred features
        h = phi_c @ self.U  # (B, m), h = U^T phi_c
        projected = h @ self.U.T  # (B, l), U U^T phi_c
        projection = ((phi_c - projected) ** 2).sum(1).mean()  # PCA error
        terms = {"projection": projection}
        weights = {"projection": c.projection_weight}
        if c.objective == "deterministic":
            terms["reconstruction"] = 0.5 * ((x - self.decoder(projected)) ** 2).sum(1).mean()
        else:
            noisy = (h + c.noise_std * torch.randn_like(h)) @ self.U.T  # U (U^T phi_c + sigma eps)
            x_noisy = self.decoder(noisy)
            if c.objective == "noisy":
                terms["reconstruction"] = 0.5 * ((x - x_noisy) ** 2).sum(1).mean()
            else:
                x_clean = self.decoder(projected)
                terms["reconstruction"] = 0.5 * ((x - x_clean) ** 2).sum(1).mean()
                terms["noise_sensitivity"] = 0.5 * ((x_clean - x_noisy) ** 2).sum(1).mean()
                weights["noise_sensitivity"] = c.reconstruction_weight
        weights["reconstruction"] = c.reconstruction_weight
        orthogonality = (self.U.T @ self.U - torch.eye(c.latent_dim, device=x.device)).abs().max()
        return LossTerms(terms=terms, weights=weights, metrics={"orthogonality_error": orthogonality.detach()})

    def make_optimizer(self, params: list[nn.Parameter], optim: OptimizerConfig) -> CayleyAdam:
        """One optimiser for the model (the paper's two, as parameter groups): Cayley Adam with the
        config's ``stiefel_optim`` rate and betas for U, Adam with ``optim``'s for the networks."""
        stiefel = [p for p in params if p is self.U]
        others = [p for p in params if p is not self.U]
        groups = [{"params": others, "stiefel": False, "lr": optim.lr, "betas": optim.betas}]
        if stiefel:
            s = self.config.stiefel_optim
            groups.append({"params": stiefel, "stiefel": True, "lr": s.lr, "betas": s.betas})
        return CayleyAdam(groups, lr=optim.lr, betas=optim.betas, weight_decay=optim.weight_decay)

    def players(self) -> list[Player]:
        return [Player("main", list(self.parameters()), self.config.optim, optimizer=self.make_optimizer)]

    @torch.no_grad()
    def evaluate(self, x: torch.Tensor, batch_size: int = 2000) -> dict:
        """``distortion`` (the squared error ||x - psi(U U^T phi_c)||^2 per image, with the running
        mean) and ``orthogonality_error`` max |U^T U - I|."""
        total = 0.0
        for start in range(0, x.shape[0], batch_size):
            xb = x[start:start + batch_size]
            recon = self.decode(self.encode(xb))
            total += float(((xb.reshape(recon.shape) - recon) ** 2).sum())
        return {"distortion": total / x.shape[0], "orthogonality_error": CayleyAdam.orthogonality_error(self.U)}
