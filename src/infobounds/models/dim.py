r"""Deep InfoMax: representations that maximise a lower bound on mutual information (chapter ``deep_infomax``).

Hjelm, Fedorov, Lavoie-Marchildon, Grewal, Bachman, Trischler & Bengio (2019), *Learning Deep
Representations by Mutual Information Estimation and Maximization*, ICLR.

A convolutional encoder maps an image :math:`x` to an :math:`M = h \times w` grid of *local* feature
vectors :math:`C_1(x), \dots, C_M(x)` and then to a *global* code :math:`Y = E(x)`. DIM trains the
encoder and two critics to maximise

.. math::

    \alpha\, \hat I\big(C(X); Y\big) \;+\; \frac{\beta}{M} \sum_{l=1}^M \hat I\big(C_l(X); Y\big)
    \;-\; \gamma\, \widehat{\mathrm{JSD}}\big(\mathbb V \,\|\, \mathbb U_{\psi}\big),

where :math:`\hat I` is one of the score-based bounds of chapter ``information_measures``
(:mod:`infobounds.bounds.mi`: ``infonce``, ``js`` or ``dv``) on the batch's :math:`K \times K`
critic scores, the first term is the *global* objective (term ``global``), the second the *local* one
(term ``local``, averaged over locations), and the last is *adversarial prior matching*: a
discriminator tells codes :math:`\sigma(Y)` from samples of a uniform prior :math:`\mathbb V` on
:math:`[0, 1]^d`, and the encoder is trained to fool it (term ``prior``; its own player
``prior_discriminator``). Each term is stored as the *negative* of what is maximised. The critics
are separable, :math:`f(a, y) = \phi(a)^\top \psi(y)`, as in the paper's encoder-and-dot-product
architecture.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from infobounds.bounds.mi import dv_lower_bound, infonce_lower_bound, js_lower_bound, js_objective
from infobounds.models.base import LossTerms, OptimizerConfig, Player, Trainable, Update, parameters_of
from infobounds.nets import conv_encoder, mlp
from infobounds.validation import require_choice, require_non_empty, require_non_negative, require_positive

DIM_ESTIMATORS = ("infonce", "js", "dv")
# The objective each estimator's critic is trained on, and the bound it reports (chapter 01).
_OBJECTIVE = {"infonce": infonce_lower_bound, "js": js_objective, "dv": dv_lower_bound}
_VALUE = {"infonce": infonce_lower_bound, "js": js_lower_bound, "dv": dv_lower_bound}


@dataclass(frozen=True)
class DIMConfig:
    """Defaults are the quick profile's local InfoNCE DIM on 28x28 images (DIM(L) of the paper)."""

    in_channels: int = 1
    image_size: int = 28  # H = W; must divide by 2 ** len(channels)
    channels: tuple[int, ...] = (32, 64)  # stride-2 convolutions; the last layer's map is C(x)
    code_dim: int = 64  # dimension of the global code Y (paper: 64)
    embed_dim: int = 64  # critics compare phi(C_l) and psi(Y) in this dimension (paper: 2048 / 512)
    estimator: str = "infonce"  # "infonce", "js" or "dv" (infobounds.bounds.mi)
    alpha: float = 0.0  # weight of the global objective (paper's DIM(L): 0)
    beta: float = 1.0  # weight of the local objective (paper's DIM(L): 1)
    gamma: float = 0.0  # weight of prior matching (paper's DIM(L): 0.1)
    encoder_optim: OptimizerConfig = OptimizerConfig(lr=2e-3)  # Adam, encoder and critics (paper: lr 1e-4)
    prior_discriminator_optim: OptimizerConfig = OptimizerConfig(lr=1e-3)  # Adam, prior discriminator

    def __post_init__(self) -> None:
        require_choice("estimator", self.estimator, DIM_ESTIMATORS)
        require_non_negative(alpha=self.alpha, beta=self.beta, gamma=self.gamma)
        if self.alpha + self.beta == 0:
            raise ValueError("alpha + beta must be positive, got alpha=0 and beta=0")
        require_non_empty(channels=self.channels)
        require_positive(in_channels=self.in_channels, image_size=self.image_size, channels=self.channels,
                         code_dim=self.code_dim, embed_dim=self.embed_dim)
        if self.image_size % (2 ** len(self.channels)):
            raise ValueError(f"image_size {self.image_size} must divide by 2^{len(self.channels)}")

    @property
    def feature_map(self) -> tuple[int, int, int]:
        """Shape (channels, h, w) of the local feature map C(x)."""
        side = self.image_size // 2 ** len(self.channels)
        return self.channels[-1], side, side


class ConvEncoder(nn.Module):
    """x (B, C, H, W) -> local features C(x) (B, c, h, w) and global code Y (B, code_dim)."""

    def __init__(self, config: DIMConfig):
        super().__init__()
        c, h, w = config.feature_map
        self.conv = conv_encoder(config.in_channels, config.channels)  # (B, c, h, w), ReLU output
        self.to_code = nn.Sequential(nn.Flatten(), nn.Linear(c * h * w, config.code_dim))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        local = self.conv(x)  # (B, c, h, w)
        return local, self.to_code(local)  # (B, c, h, w), (B, code_dim)


class DIM(Trainable):
    """Encoder, local and global critics, and (for ``gamma > 0``) the prior discriminator."""

    def __init__(self, config: DIMConfig = DIMConfig()):
        super().__init__()
        self.config = config
        c, h, w = config.feature_map
        self.encoder = ConvEncoder(config)
        # Separable critics f(a, y) = phi(a)^T psi(y).
        self.phi_local = nn.Sequential(nn.Conv2d(c, config.embed_dim, 1), nn.ReLU(),
                                       nn.Conv2d(config.embed_dim, config.embed_dim, 1))  # 1x1 convs
        self.psi_local = mlp(config.code_dim, (config.embed_dim,), config.embed_dim)
        self.phi_global = mlp(c * h * w, (config.embed_dim,), config.embed_dim)
        self.psi_global = mlp(config.code_dim, (config.embed_dim,), config.embed_dim)
        self.prior_discriminator = mlp(config.code_dim, (256,), 1) if config.gamma > 0 else None

    # -- representations ------------------------------------------------------------------------------
    @torch.no_grad()
    def features(self, x: torch.Tensor, which: str = "conv", pool: int | None = None,
                 batch_size: int = 1000) -> torch.Tensor:
        """Representations for a linear probe, computed in batches in evaluation mode: the flattened
        local map ``"conv"`` (B, c h w), average-pooled to a ``pool`` x ``pool`` grid first if given
        (B, c pool^2), or the global code ``"code"`` (B, code_dim). Pooling is linear, so a linear probe
        on pooled features is a linear probe on the map whose weight at a location is the sum, over the
        pooling windows that contain it, of the window's weight divided by its size (pooling a side of
        7 to 3 uses the overlapping windows [0, 3), [2, 5), [4, 7))."""
        if which not in ("conv", "code"):
            raise ValueError(f"which must be 'conv' or 'code', got {which!r}")
        was_training = self.training
        self.eval()
        out = []
        for s in range(0, x.shape[0], batch_size):
            local, code = self.encoder(x[s:s + batch_size])
            if which == "code":
                out.append(code)
            else:
                out.append((F.adaptive_avg_pool2d(local, pool) if pool else local).flatten(1))
        self.train(was_training)
        return torch.cat(out)

    # -- scores -----------------------------------------------------------------------------------------
    def local_scores(self, local: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        """Scores (M, K, K): entry [l, i, j] = phi(C_l(x_i))^T psi(Y(x_j))."""
        a = self.phi_local(local).flatten(2)  # (K, E, M)
        b = self.psi_local(code)  # (K, E)
        return torch.einsum("iem,je->mij", a, b)

    def global_scores(self, local: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        """Scores (K, K): entry [i, j] = phi(C(x_i))^T psi(Y(x_j))."""
        return self.phi_global(local.flatten(1)) @ self.psi_global(code).T

    def mutual_information(self, local: torch.Tensor, code: torch.Tensor) -> dict[str, torch.Tensor]:
        """Training objectives and reported bounds (nats) of the global and local MI on one batch."""
        c = self.config
        objective, value = _OBJECTIVE[c.estimator], _VALUE[c.estimator]
        out: dict[str, torch.Tensor] = {}
        same = objective is value  # InfoNCE and DV train on the bound they report; JS does not
        if c.alpha > 0:
            scores = self.global_scores(local, code)
            out["global_objective"] = objective(scores)
            with torch.no_grad():
                out["global_mi"] = out["global_objective"].detach() if same else value(scores)
        if c.beta > 0:
            scores = self.local_scores(local, code)  # (M, K, K)
            out["local_objective"] = torch.stack([objective(s) for s in scores]).mean()  # mean over locations
            with torch.no_grad():
                out["local_mi"] = (out["local_objective"].detach() if same
                                   else torch.stack([value(s) for s in scores]).mean())
        return out

    # -- losses -----------------------------------------------------------------------------------------
    def encoder_loss(self, batch) -> LossTerms:
        c = self.config
        local, code = self.encoder(batch[0])
        mi = self.mutual_information(local, code)
        terms, weights, metrics = {}, {}, {}
        if c.alpha > 0:
            terms["global"], weights["global"] = -mi["global_objective"], c.alpha
            metrics["global_mi"] = mi["global_mi"]
        if c.beta > 0:
            terms["local"], weights["local"] = -mi["local_objective"], c.beta
            metrics["local_mi"] = mi["local_mi"]
        if self.prior_discriminator is not None:
            t_code = self.prior_discriminator(torch.sigmoid(code)).reshape(-1)
            terms["prior"], weights["prior"] = F.softplus(-t_code).mean(), c.gamma  # -E log D(sigma(Y))
        return LossTerms(terms=terms, weights=weights, metrics=metrics)

    def prior_loss(self, batch) -> LossTerms:
        """The prior discriminator's loss: uniform samples are "real", sigma(Y) "fake"."""
        with torch.no_grad():
            _, code = self.encoder(batch[0])
        prior = torch.rand_like(code)  # V = U(0, 1)^d
        t_prior = self.prior_discriminator(prior).reshape(-1)
        t_code = self.prior_discriminator(torch.sigmoid(code)).reshape(-1)
        return LossTerms(terms={"real": F.softplus(-t_prior).mean(), "fake": F.softplus(t_code).mean()})

    def players(self) -> list[Player]:
        c = self.config
        main = parameters_of(self.encoder, self.phi_local, self.psi_local, self.phi_global, self.psi_global)
        players = [Player("encoder", main, c.encoder_optim)]
        if self.prior_discriminator is not None:
            players.append(Player("prior_discriminator", parameters_of(self.prior_discriminator),
                                  c.prior_discriminator_optim))
        return players

    def schedule(self) -> list[Update]:
        updates = [Update("encoder", self.encoder_loss)]
        if self.prior_discriminator is not None:
            updates.insert(0, Update("prior_discriminator", self.prior_loss))
        return updates


class SupervisedEncoder(Trainable):
    """DIM's encoder trained with labels (a linear softmax classifier on Y): the supervised baseline."""

    def __init__(self, config: DIMConfig = DIMConfig(), n_classes: int = 10):
        super().__init__()
        self.config = config
        self.encoder = ConvEncoder(config)
        self.classifier = nn.Linear(config.code_dim, n_classes)
        self.optim = config.encoder_optim

    features = DIM.features

    def loss(self, batch) -> LossTerms:
        x, y = batch
        _, code = self.encoder(x)
        logits = self.classifier(code)
        return LossTerms(terms={"ce": F.cross_entropy(logits, y)},
                         metrics={"accuracy": (logits.argmax(-1) == y).float().mean()})
