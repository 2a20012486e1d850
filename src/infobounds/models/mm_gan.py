r"""A multimodal adversarially learned inference model with a factorised discriminator
(chapter ``multimodal_gan``).

Chen & Zhu (2021), *Multimodal Adversarially Learned Inference with Factorized Discriminators*
(arXiv:2112.10384); the factorisation of a discriminator into parts trainable on incomplete data is
that of Stoller, Ewert & Dixon (2020); adversarially learned inference (ALI/BiGAN) that of Dumoulin et
al. (2017) and Donahue et al. (2017); GANs of Goodfellow et al. (2014).

A generator draws :math:`z \sim \mathcal N(0, I)` and maps it to both modalities,
:math:`P:\ (x, y, z) = (G_x(z), G_y(z), z)`, so :math:`X - Z - Y` under :math:`P`. Each modality has
an encoder, and each encoder defines a joint distribution with the data,
:math:`Q_x = p(x, y)\,q(z|x)` and :math:`Q_y = p(x, y)\,q(z|y)`. A coherent model needs all three to
agree: if :math:`P = Q_x` then :math:`P(y|x) = \int q(z|x)\,P(y|z)\,dz`, so cross generation
reproduces the data's conditional. The chapter proves the factorisation

.. math::

    \log\frac{Q_x}{P}(x, y, z) = \underbrace{\log\frac{p(x)\,q(z|x)}{P(x, z)}}_{\texttt{xz}}
      + \underbrace{\log\frac{p(y)}{P(y)}}_{\texttt{y}}
      + \underbrace{\log\frac{p(x, y)}{p(x)\,p(y)}}_{\texttt{xy}}
      - \underbrace{\log\frac{P(y, z)}{P(y)\,P(z)}}_{\texttt{gen\_yz}}

(and the same with x and y exchanged). Each term is the optimal logit of a binary classifier that
needs less than a full triple: ``xz``/``yz`` (ALI heads) and ``x``/``y`` (marginal heads) need only
unimodal data; ``xy`` contrasts real pairs with shuffled pairs (the only head that needs pairs);
``gen_xz``/``gen_yz`` contrast generated (modality, code) pairs with shuffled ones and need no data
at all. The discriminator player trains the seven heads; the generator and encoders (player
``main``) play the non-saturating game against the composed logits :math:`T_x`, :math:`T_y` on
complete pairs, and against the ALI head alone on a pair with one modality missing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from infobounds.models.base import LossTerms, OptimizerConfig, Player, Trainable, Update, parameters_of
from infobounds.models.multimodal import unpack_paired_batch
from infobounds.nets import GaussianHead, mlp, reparameterize
from infobounds.validation import (require_at_least, require_choice, require_non_empty, require_non_negative,
                                   require_positive)

OUTPUTS = ("sigmoid", "linear")
HEADS = ("xz", "yz", "x", "y", "xy", "gen_xz", "gen_yz")


@dataclass(frozen=True)
class MMGANConfig:
    """Defaults are the quick profile's two-modality Gaussian mixture (2-d x, 2-d y)."""

    x_shape: tuple[int, ...] = (2,)  # shape of one x
    y_shape: tuple[int, ...] = (2,)  # shape of one y
    latent_dim: int = 2  # dimension of z
    hidden: tuple[int, ...] = (128, 128)  # widths of the generators and encoders
    disc_hidden: tuple[int, ...] = (128, 128)  # widths of every discriminator head
    output: str = "linear"  # generator output: "linear" (vectors) or "sigmoid" (images in [0, 1])
    # Adam of generators and encoders, and of the discriminator heads (betas: the usual GAN setting)
    optim: OptimizerConfig = OptimizerConfig(lr=2e-4, betas=(0.5, 0.999))
    disc_optim: OptimizerConfig = OptimizerConfig(lr=2e-4, betas=(0.5, 0.999))
    disc_steps: int = 1  # discriminator updates per generator update
    unpaired_weight: float = 1.0  # weight of the ALI losses of pairs with a missing modality
    cycle_weight: float = 0.0  # weight of the latent cycle ||E_m(G_m(z)) - z||^2 (0: the pure game)

    def __post_init__(self) -> None:
        require_choice("output", self.output, OUTPUTS)
        require_non_empty(x_shape=self.x_shape, y_shape=self.y_shape, hidden=self.hidden, disc_hidden=self.disc_hidden)
        require_positive(x_shape=self.x_shape, y_shape=self.y_shape, latent_dim=self.latent_dim, hidden=self.hidden,
                         disc_hidden=self.disc_hidden)
        require_at_least(1, disc_steps=self.disc_steps)
        require_non_negative(unpaired_weight=self.unpaired_weight, cycle_weight=self.cycle_weight)

    @property
    def dims(self) -> tuple[int, int]:
        return math.prod(self.x_shape), math.prod(self.y_shape)


class _Encoder(nn.Module):
    def __init__(self, in_dim, hidden, latent_dim):
        super().__init__()
        self.body = nn.Sequential(mlp(in_dim, hidden[:-1], hidden[-1], nn.LeakyReLU), nn.LeakyReLU())
        self.head = GaussianHead(hidden[-1], latent_dim)

    def forward(self, v):
        return self.head(self.body(v))


class MultimodalGAN(Trainable):
    """Generators G_x, G_y, Gaussian encoders q(z|x), q(z|y) (player ``main``) and the seven
    discriminator heads of the factorised discriminator (player ``disc``)."""

    autocast_safe = False

    def __init__(self, config: MMGANConfig = MMGANConfig()):
        super().__init__()
        self.config = c = config
        dx, dy = c.dims
        k = c.latent_dim
        self.generators = nn.ModuleList([mlp(k, c.hidden, dx, nn.LeakyReLU), mlp(k, c.hidden, dy, nn.LeakyReLU)])
        self.encoders = nn.ModuleList([_Encoder(dx, c.hidden, k), _Encoder(dy, c.hidden, k)])
        in_dims = {"xz": dx + k, "yz": dy + k, "x": dx, "y": dy, "xy": dx + dy, "gen_xz": dx + k, "gen_yz": dy + k}
        self.heads = nn.ModuleDict({h: mlp(in_dims[h], c.disc_hidden, 1, nn.LeakyReLU) for h in HEADS})

    # -- pieces ----------------------------------------------------------------------------------
    def _flat(self, v):
        # The width is spelled out: reshape(0, -1) is ambiguous, and a batch without a complete pair
        # (all examples unimodal) passes an empty selection of paired rows.
        return v.reshape(v.shape[0], math.prod(v.shape[1:]))

    def generate(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(G_x(z), G_y(z)), flattened."""
        out = [g(z) for g in self.generators]
        return tuple(torch.sigmoid(o) if self.config.output == "sigmoid" else o for o in out)

    def encode(self, m: int, v: torch.Tensor) -> torch.Tensor:
        """A reparameterised draw z ~ q(z | modality m)."""
        return reparameterize(*self.encoders[m](self._flat(v)))

    def head(self, name: str, *parts: torch.Tensor) -> torch.Tensor:
        return self.heads[name](torch.cat(parts, -1)).squeeze(-1)  # (B,)

    def composed_logit(self, m: int, x, y, z) -> torch.Tensor:
        r"""The factorised estimate of :math:`\log Q_m / P` at (x, y, z), m = 0 for x's encoder."""
        if m == 0:
            return self.head("xz", x, z) + self.head("y", y) + self.head("xy", x, y) - self.head("gen_yz", y, z)
        return self.head("yz", y, z) + self.head("x", x) + self.head("xy", x, y) - self.head("gen_xz", x, z)

    _unpack = staticmethod(unpack_paired_batch)

    # -- the two players ---------------------------------------------------------------------------
    def _contrast(self, name: str, pos: tuple, neg: tuple) -> torch.Tensor:
        """Logistic loss of head ``name`` with ``pos`` (label 1) and ``neg`` (label 0) inputs, evaluated
        in one call."""
        n = pos[0].shape[0]
        logits = self.head(name, *(torch.cat([p, q]) for p, q in zip(pos, neg)))
        return F.softplus(-logits[:n]).mean() + F.softplus(logits[n:]).mean()

    def disc_loss(self, batch) -> LossTerms:
        """Logistic losses of the seven heads, each on the samples it needs (label 1: numerator)."""
        x, y, mask = self._unpack(batch)
        x, y = self._flat(x), self._flat(y)
        with torch.no_grad():
            z_p = torch.randn(x.shape[0], self.config.latent_dim, device=x.device)
            gx, gy = self.generate(z_p)
            zx, zy = self.encode(0, x), self.encode(1, y)
        shift = lambda v: v.roll(1, dims=0)  # another row of the batch: a draw of the product of marginals
        mx, my, both = mask[:, 0], mask[:, 1], mask.all(1)
        terms = {
            "xz": self._contrast("xz", (x[mx], zx[mx]), (gx, z_p)),
            "yz": self._contrast("yz", (y[my], zy[my]), (gy, z_p)),
            "x": self._contrast("x", (x[mx],), (gx,)),
            "y": self._contrast("y", (y[my],), (gy,)),
            "gen_xz": self._contrast("gen_xz", (gx, z_p), (gx, shift(z_p))),
            "gen_yz": self._contrast("gen_yz", (gy, z_p), (gy, shift(z_p))),
        }
        if both.sum() >= 2:  # the contrastive head: real pairs against shuffled real pairs
            xb, yb = x[both], y[both]
            terms["xy"] = self._contrast("xy", (xb, yb), (xb, shift(yb)))
        return LossTerms(terms=terms)

    def loss(self, batch) -> LossTerms:
        """Non-saturating game of the generators and encoders against the composed logits: generated
        triples should look like encoder triples (T high), encoder triples like generated ones."""
        c = self.config
        x, y, mask = self._unpack(batch)
        x, y = self._flat(x), self._flat(y)
        n = x.shape[0]
        z_p = torch.randn(n, c.latent_dim, device=x.device)
        gx, gy = self.generate(z_p)
        both = mask.all(1)
        terms = {}
        for m, name in ((0, "match_x"), (1, "match_y")):
            # Generated triples and encoder triples of the complete pairs, through the heads in one call.
            xr, yr = x[both], y[both]
            z_q = self.encode(m, (xr, yr)[m])
            t = self.composed_logit(m, torch.cat([gx, xr]), torch.cat([gy, yr]), torch.cat([z_p, z_q]))
            terms[name] = F.softplus(-t[:n]).mean() + (F.softplus(t[n:]).mean() if both.any() else 0.0)
        # Pairs with one modality missing: the ALI game of the observed modality alone.
        unpaired = x.new_zeros(())
        for m, head in ((0, "xz"), (1, "yz")):
            only = mask[:, m] & ~both
            if only.any():
                v = (x, y)[m][only]
                unpaired = unpaired + F.softplus(self.head(head, v, self.encode(m, v))).mean() \
                    + F.softplus(-self.head(head, (gx, gy)[m], z_p)).mean()
        weights = {}
        if not both.all():
            terms["unpaired"] = unpaired
            weights["unpaired"] = c.unpaired_weight
        if c.cycle_weight > 0:
            # Latent regression: each encoder's mean should invert its generator on generated data. Not part
            # of the game; zero at matched joints only if G_m is injective (chapter multimodal_gan).
            for m, name in ((0, "cycle_x"), (1, "cycle_y")):
                mu, _ = self.encoders[m]((gx, gy)[m])
                terms[name] = (mu - z_p).pow(2).sum(-1).mean()
                weights[name] = c.cycle_weight
        return LossTerms(terms=terms, weights=weights)

    def players(self) -> list[Player]:
        c = self.config
        return [Player("disc", list(self.heads.parameters()), c.disc_optim),
                Player("main", parameters_of(self.generators, self.encoders), c.optim)]

    def schedule(self) -> list[Update]:
        return [Update("disc", self.disc_loss, self.config.disc_steps), Update("main", self.loss)]

    # -- generation (the interface of infobounds.metrics.coherence) -------------------------------
    @torch.no_grad()
    def sample(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        z = torch.randn(n, self.config.latent_dim, device=next(self.parameters()).device)
        gx, gy = self.generate(z)
        return gx.reshape(n, *self.config.x_shape), gy.reshape(n, *self.config.y_shape)

    @torch.no_grad()
    def cross_generate(self, x: torch.Tensor | None = None, y: torch.Tensor | None = None) -> torch.Tensor:
        """z ~ q(z | given modality), then the other modality's generator."""
        if (x is None) == (y is None):
            raise ValueError("give exactly one of x and y")
        src, v = (0, x) if x is not None else (1, y)
        z = self.encode(src, v)
        out = self.generate(z)[1 - src]
        return out.reshape(v.shape[0], *(self.config.y_shape if src == 0 else self.config.x_shape))
