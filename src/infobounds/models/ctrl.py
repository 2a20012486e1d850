r"""Closed-loop transcription to a linear discriminative representation (chapter ``closed_loop_transcription``).

Dai, Tong, Li, Wu, Psenka, Chan, Zhai, Yu, Yuan, Shum & Ma (2022), *CTRL: Closed-Loop Transcription
to an LDR via Minimaxing Rate Reduction*, Entropy 24(4):456; the rate reduction is from Yu, Chan,
You, Song & Ma (2020), *Maximal Coding Rate Reduction* (MCR\ :sup:`2`).

An encoder :math:`f` maps images to features on the unit sphere, :math:`z = f(x) \in \mathbb S^{d-1}`;
a decoder :math:`g` maps features back, :math:`\hat x = g(z)`; the loop closes by encoding the
reconstruction again, :math:`\hat z = f(g(f(x)))`. With :math:`\Delta R` the rate reduction of
:mod:`infobounds.bounds.coding_rate` (labels :math:`\Pi`, precision :math:`\epsilon`), the two players
play

.. math::

    \max_f \min_g\; \mathcal T(f, g) =
      \gamma_1 \underbrace{\Delta R(Z, \Pi)}_{\texttt{delta\_r\_z}}
    + \gamma_2 \underbrace{\Delta R(\hat Z, \Pi)}_{\texttt{delta\_r\_z\_hat}}
    + \gamma_3 \underbrace{\textstyle\sum_{j} \Delta R(Z_j, \hat Z_j)}_{\texttt{transcription}},

where :math:`Z_j, \hat Z_j` are the features of the data of class :math:`j` and of their
reconstructions, and :math:`\Delta R(Z_j, \hat Z_j) = R(Z_j \cup \hat Z_j) - \tfrac12 (R(Z_j) + R(\hat Z_j))
\ge 0` measures how far apart the two are. The encoder maximises :math:`\mathcal T`: it spreads the
classes over orthogonal subspaces (the first two terms) *and* tells data from reconstructions (the
third), like a GAN's discriminator. The decoder minimises :math:`\mathcal T`; :math:`\Delta R(Z)` does
not depend on it, so it minimises :math:`\gamma_2 \Delta R(\hat Z) + \gamma_3 \sum_j \Delta R(Z_j, \hat Z_j)`,
making the reconstructions' features indistinguishable from the data's class by class
(``decoder_objective="full"``, the paper's game and its reference implementation). With
``decoder_objective="transcription"`` (the quick profile's default) the decoder minimises the third
term only: in short runs the full objective lets the decoder lower :math:`\Delta R(\hat Z)` by
collapsing all reconstructions onto one class, which the chapter shows.

The quick profile's decoder is a :class:`PrincipalSubspaceDecoder` (``pca_components > 0``): its
outputs are confined to the span of the data's top principal components. The paper's decoder outputs
pixels (``CTRLConfig.paper()``).

As in the reference implementation, each player takes its own gradient step per training step,
the encoder first (``encoder_steps`` times, then the decoder ``decoder_steps`` times), and in the
encoder's step the reconstruction :math:`\hat x` is treated as given data (no gradient flows back
through :math:`g`). Unlike it, every update draws a fresh batch (the book's loop), where the
reference code reuses one batch for both players.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from infobounds.bounds.coding_rate import class_pairwise_rate_reduction, rate_reduction
from infobounds.models.base import LossTerms, OptimizerConfig, Player, Trainable, Update, check_batch, parameters_of
from infobounds.models.gan import dcgan_critic_body, dcgan_generator
from infobounds.nets import OUTPUTS, mlp
from infobounds.validation import (require_at_least, require_choice, require_finite, require_length, require_non_empty,
                                   require_non_negative, require_positive)

BODIES = ("mlp", "dcgan")
DECODER_OBJECTIVES = ("full", "transcription")


@dataclass(frozen=True)
class CTRLConfig:
    """Defaults are the quick profile's MLP transcription of Fashion-MNIST (four classes);
    ``CTRLConfig.paper()`` is the paper's MNIST setting."""

    data_shape: tuple[int, ...] = (1, 28, 28)  # one sample's shape: (D,) or (C, H, W)
    n_classes: int = 10  # k, the number of classes (subspaces)
    feature_dim: int = 32  # d, the features' dimension; they lie on the unit sphere (paper, MNIST: 128)
    body: str = "mlp"  # "mlp" or "dcgan" (convolutional, for images whose sides divide by 4)
    hidden: tuple[int, ...] = (256,)  # MLP widths of the encoder; the decoder mirrors them
    channels: tuple[int, int] = (64, 128)  # DCGAN widths of encoder and decoder
    output: str = "identity"  # decoder's last nonlinearity: "sigmoid" (images in [0, 1]) or "identity"
    # > 0: the MLP decoder outputs coefficients of the data's top principal components, mean + V a
    # (call CTRL.set_principal_basis(x) before training); 0: it outputs pixels (paper)
    pca_components: int = 40
    eps: float = 0.5 ** 0.5  # precision of the coding rates (paper: eps^2 = 0.5)
    gammas: tuple[float, float, float] = (1.0, 1.0, 1.0)  # weights of Delta R(Z), Delta R(Z_hat), transcription
    decoder_objective: str = "transcription"  # "transcription": sum_j Delta R(Z_j, Z_hat_j); "full" (paper): T
    encoder_steps: int = 1  # encoder updates per training step (paper: 1)
    decoder_steps: int = 1  # decoder updates per training step, after the encoder's (paper: 1)
    # Adam of each player (paper: lr 1.5e-4 both, betas (0.5, 0.999))
    encoder_optim: OptimizerConfig = OptimizerConfig(lr=2e-4, betas=(0.5, 0.999))
    decoder_optim: OptimizerConfig = OptimizerConfig(lr=3e-3, betas=(0.5, 0.999))

    def __post_init__(self) -> None:
        require_choice("body", self.body, BODIES)
        require_choice("decoder_objective", self.decoder_objective, DECODER_OBJECTIVES)
        require_choice("output", self.output, OUTPUTS)
        require_non_empty(data_shape=self.data_shape)
        require_positive(data_shape=self.data_shape, hidden=self.hidden, channels=self.channels)
        if self.body == "dcgan" and (len(self.data_shape) != 3 or self.data_shape[1] % 4 or self.data_shape[2] % 4):
            raise ValueError(f"the DCGAN body needs (C, H, W) with H and W divisible by 4, got {self.data_shape}")
        require_non_negative(pca_components=self.pca_components)
        if self.pca_components and (self.body != "mlp" or self.output != "identity"):
            raise ValueError("the principal-subspace decoder (pca_components > 0) needs body='mlp' and "
                             "output='identity'")
        if self.pca_components > int(np.prod(self.data_shape)):
            raise ValueError(f"pca_components={self.pca_components} exceeds the data dimension "
                             f"{int(np.prod(self.data_shape))}")
        require_at_least(2, n_classes=self.n_classes)
        require_at_least(2, feature_dim=self.feature_dim)  # features live on the unit sphere
        require_positive(eps=self.eps)
        require_finite(eps=self.eps)
        require_length(3, gammas=self.gammas)
        require_non_negative(gammas=self.gammas)
        require_at_least(1, encoder_steps=self.encoder_steps, decoder_steps=self.decoder_steps)

    @classmethod
    def paper(cls, **kw) -> "CTRLConfig":
        """The MNIST setting of Dai et al. (2022) and their reference code: DCGAN-style networks,
        d = 128, eps^2 = 0.5, Adam 1.5e-4 with betas (0.5, 0.999), batch 2048 (set in the stream)."""
        return cls(**{**dict(body="dcgan", feature_dim=128, output="sigmoid", pca_components=0,
                             decoder_objective="full", encoder_optim=OptimizerConfig(lr=1.5e-4, betas=(0.5, 0.999)),
                             decoder_optim=OptimizerConfig(lr=1.5e-4, betas=(0.5, 0.999))), **kw})


class PrincipalSubspaceDecoder(nn.Module):
    r"""z (B, d) -> x_hat = mean + a(z) V (B, *data_shape): an MLP a(z) gives the coefficients of the
    top ``n_components`` principal directions V of the training data, each scaled by its standard
    deviation. Outputs stay in the data's principal subspace, so the decoder cannot answer the
    encoder with pixel noise, which a pixel-output MLP does in a short run (chapter
    ``closed_loop_transcription``). Mean and basis are fixed buffers set by :meth:`fit`."""

    def __init__(self, feature_dim: int, hidden: tuple[int, ...], data_shape: tuple[int, ...], n_components: int):
        super().__init__()
        width = int(np.prod(data_shape))
        self.data_shape = tuple(data_shape)
        self.net = mlp(feature_dim, hidden, n_components)
        self.register_buffer("mean", torch.zeros(width))
        self.register_buffer("basis", torch.zeros(n_components, width))  # (p, D), rows V_k * std_k
        self.register_buffer("ready", torch.zeros((), dtype=torch.bool))

    @torch.no_grad()
    def fit(self, x: torch.Tensor) -> None:
        flat = x.reshape(x.shape[0], -1).to(self.mean)
        if flat.shape[1] != self.mean.shape[0] or flat.shape[0] < self.basis.shape[0]:
            raise ValueError(f"need at least {self.basis.shape[0]} samples of shape {self.data_shape}, "
                             f"got {tuple(x.shape)}")
        mean = flat.mean(0)
        _, _, vh = torch.linalg.svd(flat - mean, full_matrices=False)  # rows: principal directions
        v = vh[: self.basis.shape[0]]  # (p, D)
        std = ((flat - mean) @ v.T).std(0)  # (p,)
        self.mean.copy_(mean)
        self.basis.copy_(v * std[:, None])
        self.ready.fill_(True)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if not bool(self.ready):
            raise RuntimeError("call CTRL.set_principal_basis(x_train) before using the principal-subspace decoder")
        return (self.mean + self.net(z) @ self.basis).reshape(-1, *self.data_shape)  # (B, *data_shape)


class CTRL(Trainable):
    """Encoder f (data -> unit sphere) and decoder g (sphere -> data) playing the rate-reduction game.

    Batches are ``(x, y)``: data (B, *data_shape) and integer labels (B,) in [0, n_classes).
    """

    def __init__(self, config: CTRLConfig = CTRLConfig()):
        super().__init__()
        self.config = config
        c = config
        if c.body == "mlp":
            width = int(np.prod(c.data_shape))
            self.encoder_body = nn.Sequential(nn.Flatten(), mlp(width, c.hidden[:-1], c.hidden[-1]), nn.ReLU()) \
                if c.hidden else nn.Flatten()
            features = c.hidden[-1] if c.hidden else width
            if c.pca_components:
                self.decoder = PrincipalSubspaceDecoder(c.feature_dim, tuple(reversed(c.hidden)), c.data_shape,
                                                        c.pca_components)
            else:
                decoder: list[nn.Module] = [mlp(c.feature_dim, tuple(reversed(c.hidden)), width)]
                if c.output == "sigmoid":
                    decoder.append(nn.Sigmoid())
                if len(c.data_shape) > 1:
                    decoder.append(nn.Unflatten(1, tuple(c.data_shape)))
                self.decoder = nn.Sequential(*decoder)
        else:
            self.encoder_body, features = dcgan_critic_body(c.data_shape, c.channels)
            self.decoder = dcgan_generator(c.feature_dim, c.data_shape, c.channels, c.output)
        self.encoder_head = nn.Linear(features, c.feature_dim)

    def set_principal_basis(self, x: torch.Tensor) -> "CTRL":
        """Fix the principal-subspace decoder's mean and basis from training data x (N, *data_shape)."""
        if not isinstance(self.decoder, PrincipalSubspaceDecoder):
            raise ValueError("set_principal_basis needs pca_components > 0")
        self.decoder.fit(x)
        return self

    # -- the two maps -----------------------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """z = f(x) on the unit sphere, (B, feature_dim)."""
        check_batch(x, 1 + len(self.config.data_shape), "x", where="CTRL.encode")
        if tuple(x.shape[1:]) != tuple(self.config.data_shape):
            raise ValueError(f"CTRL.encode: x must have shape (B, {', '.join(map(str, self.config.data_shape))}), "
                             f"got {tuple(x.shape)}")
        h = self.encoder_head(self.encoder_body(x))  # (B, d)
        return F.normalize(h, dim=1)  # as in MCR^2: ||z|| = 1

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """x_hat = g(z), (B, *data_shape)."""
        check_batch(z, 2, "z", self.config.feature_dim, where="CTRL.decode")
        return self.decoder(z)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """g(f(x)) in evaluation mode."""
        was_training = self.training
        self.eval()
        x_hat = self.decode(self.encode(x))
        self.train(was_training)
        return x_hat

    @torch.no_grad()
    def features(self, x: torch.Tensor, batch_size: int = 2000) -> torch.Tensor:
        """f(x) for a whole data set, in batches and in evaluation mode, (N, feature_dim)."""
        was_training = self.training
        self.eval()
        z = torch.cat([self.encode(x[i:i + batch_size]) for i in range(0, x.shape[0], batch_size)])
        self.train(was_training)
        return z

    # -- the utility ----------------------------------------------------------------------------------
    def utility_terms(self, z: torch.Tensor, z_hat: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """The three terms of T(f, g) in nats, by name, from features of data and reconstructions."""
        c = self.config
        return {
            "delta_r_z": rate_reduction(z, y, c.eps, c.n_classes),  # Delta R(Z, Pi)
            "delta_r_z_hat": rate_reduction(z_hat, y, c.eps, c.n_classes),  # Delta R(Z_hat, Pi)
            "transcription": class_pairwise_rate_reduction(z, z_hat, y, c.eps, c.n_classes).sum(),  # sum_j
        }

    def _check_labels(self, x: torch.Tensor, y: torch.Tensor) -> None:
        if y.ndim != 1 or y.shape[0] != x.shape[0] or y.is_floating_point():
            raise ValueError(f"CTRL needs integer labels of shape ({x.shape[0]},), got {y.dtype} {tuple(y.shape)}")

    def encoder_loss(self, batch) -> LossTerms:
        """The encoder maximises T: it minimises -gamma_1 dR(Z) - gamma_2 dR(Z_hat) - gamma_3 sum_j dR(Z_j, Z_hat_j)."""
        x, y = batch[0], batch[1]
        self._check_labels(x, y)
        g1, g2, g3 = self.config.gammas
        z = self.encode(x)  # (B, d)
        with torch.no_grad():  # the reconstruction is given data in the encoder's step
            x_hat = self.decode(z)
        z_hat = self.encode(x_hat)  # (B, d)
        terms = self.utility_terms(z, z_hat, y)
        utility = g1 * terms["delta_r_z"] + g2 * terms["delta_r_z_hat"] + g3 * terms["transcription"]
        return LossTerms(terms=terms, weights={"delta_r_z": -g1, "delta_r_z_hat": -g2, "transcription": -g3},
                         metrics={"utility": utility.detach()})

    def decoder_loss(self, batch) -> LossTerms:
        """The decoder minimises T; Delta R(Z) does not depend on it and is logged as a metric."""
        x, y = batch[0], batch[1]
        self._check_labels(x, y)
        _, g2, g3 = self.config.gammas
        with torch.no_grad():  # the encoder does not move in the decoder's step
            z = self.encode(x)
        x_hat = self.decode(z)  # (B, *data_shape)
        z_hat = self.encode(x_hat)  # gradients flow through f into g
        terms = self.utility_terms(z, z_hat, y)
        metrics = {"delta_r_z": terms.pop("delta_r_z").detach(),
                   "x_mse": F.mse_loss(x_hat, x).detach()}  # pixel error: logged, never optimised
        if self.config.decoder_objective == "transcription":
            metrics["delta_r_z_hat"] = terms.pop("delta_r_z_hat").detach()
            return LossTerms(terms=terms, weights={"transcription": g3}, metrics=metrics)
        return LossTerms(terms=terms, weights={"delta_r_z_hat": g2, "transcription": g3}, metrics=metrics)

    # -- players ----------------------------------------------------------------------------------------
    def players(self) -> list[Player]:
        c = self.config
        return [Player("encoder", parameters_of(self.encoder_body, self.encoder_head), c.encoder_optim),
                Player("decoder", parameters_of(self.decoder), c.decoder_optim)]

    def schedule(self) -> list[Update]:
        return [Update("encoder", self.encoder_loss, repeats=self.config.encoder_steps),
                Update("decoder", self.decoder_loss, repeats=self.config.decoder_steps)]


def abs_cosine_similarity(z: torch.Tensor) -> torch.Tensor:
    """|cos(z_i, z_j)| for all pairs of rows, (N, N)."""
    u = F.normalize(z, dim=1)
    return (u @ u.T).abs()


def within_between_cosine(z: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Mean |cosine| over pairs of distinct samples of the same class, and over pairs of different
    classes (the chapter's check that classes occupy near-orthogonal subspaces)."""
    if z.ndim != 2 or y.shape != (z.shape[0],):
        raise ValueError(f"need features (N, d) and labels (N,), got {tuple(z.shape)} and {tuple(y.shape)}")
    cos = abs_cosine_similarity(z.double())
    same = y[:, None] == y[None, :]
    off_diagonal = ~torch.eye(len(y), dtype=torch.bool, device=z.device)
    within, between = cos[same & off_diagonal], cos[~same]
    if within.numel() == 0 or between.numel() == 0:
        raise ValueError("need at least two classes and two samples in some class")
    return float(within.mean()), float(between.mean())


def class_subspaces(z: torch.Tensor, y: torch.Tensor, n_classes: int, rank: int) -> torch.Tensor:
    """Orthonormal bases (k, d, rank) of the top-``rank`` principal directions (uncentred, as the
    coding rate) of each class's features."""
    if rank < 1 or rank > z.shape[1]:
        raise ValueError(f"rank must lie in [1, {z.shape[1]}], got {rank}")
    bases = []
    for j in range(n_classes):
        zj = z[y == j]
        if zj.shape[0] == 0:
            raise ValueError(f"class {j} has no samples")
        _, _, vh = torch.linalg.svd(zj, full_matrices=False)
        v = vh[:rank].T  # (d, r')
        if v.shape[1] < rank:  # fewer samples than rank: pad with zeros (those directions explain nothing)
            v = torch.cat([v, v.new_zeros(v.shape[0], rank - v.shape[1])], 1)
        bases.append(v)
    return torch.stack(bases)


def nearest_subspace(z: torch.Tensor, bases: torch.Tensor) -> torch.Tensor:
    """The class whose subspace captures most of each row's energy, argmax_j ||U_j^T z||, (N,)."""
    return torch.einsum("kdr,nd->nkr", bases, z).norm(dim=2).argmax(1)
