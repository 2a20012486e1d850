r"""The Variational Wyner model (chapter ``wyner_common_information``).

Ryu, Choi, Kim, El-Khamy & Lee (2019/2022), *Learning with Succinct Common Representation Based on
Wyner's Common Information* (arXiv:1905.10945).

Two distributions over a pair :math:`(x, y)` and a common representation :math:`z`:

* the **model** :math:`p(x, y, z) = p(z)\,p(x|z)\,p(y|z)`, in which :math:`X - Z - Y` holds by
  construction: :math:`z` is a Wyner variable for the pair the model generates;
* the **variational** (encoder) distribution :math:`q(x, y, z) = q(x, y)\,q(z|x, y)`, with
  :math:`q(x, y)` the data.

The model is trained by bringing the two together in both directions of the KL divergence while
paying, with weight :math:`\lambda`, for the information the representation carries about the pair,
Wyner's objective :math:`I(X, Y; Z)`, on the encoder's side and on the model's:

.. math::

    \mathcal L = \underbrace{\mathrm{KL}(q \,\|\, p)}_{\texttt{distortion\_x} + \texttt{distortion\_y}
      + \texttt{rate} - h(X, Y)}
      + \gamma\, \underbrace{\mathrm{KL}(p \,\|\, q)}_{\texttt{reverse\_kl}}
      + \lambda\, \big(\underbrace{I_q(X, Y; Z)}_{\texttt{common\_information}}
      + \underbrace{I_p(X, Y; Z)}_{\texttt{common\_information\_model}}\big)
      + \alpha\,\big(\underbrace{\mathrm{KL}(q(z|x,y) \,\|\, q(z|x))}_{\texttt{kl\_x}}
               + \underbrace{\mathrm{KL}(q(z|x,y) \,\|\, q(z|y))}_{\texttt{kl\_y}}\big) .

The forward KL is the negative ELBO up to the constant data entropy. Under :math:`q` the chain
:math:`X - Z - Y` is not imposed, so :math:`I_q(X, Y; Z)` is Wyner's functional at the encoder's
:math:`z`, not a common information: it is at least the data's :math:`C(X;Y)` only when :math:`q` makes
the pair conditionally independent given :math:`z`. The reverse KL and the two
information terms involve densities nobody knows (the data's, the aggregate :math:`q(z)`, the
model's marginal :math:`p(x, y)`); each is estimated by a **density-ratio classifier** (the
``critic`` player): :math:`T_{\mathrm{rev}} \approx \log p(x,y,z)/q(x,y,z)` tells model samples
from encoder samples, :math:`T_{\mathrm{ci}} \approx \log q(z|x,y)/q(z)` tells :math:`(x, y, z)`
from :math:`(x, y, z')` with the :math:`z'` of another pair, :math:`T_{\mathrm{ci},p}` does the same
on model samples. The chapter proves that the reparameterised gradient through an optimal classifier
is the gradient of the quantity it estimates, except for the encoder's share of
:math:`\mathrm{KL}(p \,\|\, q)`, which is computed exactly as the ``sleep`` term
:math:`\mathbb E_p[-\log q(z|x, y)]` (its value is a cross-entropy, not part of the divergence).
:math:`I_q` depends on the encoder only; :math:`I_p` is the part of the regulariser that reaches the
decoders (only with Gaussian decoders, whose samples can be reparameterised). ``ci_anneal_steps``
(default 0: a constant :math:`\lambda`) lets :math:`\lambda` fall to 0: the penalty then picks a
decomposition and the fit returns to it; with a constant :math:`\lambda` the model may carry less
than :math:`C` (chapter, Prop. ``prop-wyner-lagrangian`` (ii)).

The marginal encoders :math:`q(z|x)`, :math:`q(z|y)` learn, through ``kl_x`` and ``kl_y`` with the
joint encoder held fixed, the conditional law of :math:`z` given one modality: conditional
generation draws :math:`z \sim q(z|x)`, then :math:`y \sim p(y|z)` (channel synthesis).

``groups`` trains several independent models at once: x and y are split into ``groups`` blocks and
block :math:`g` of x, block :math:`g` of y and its own :math:`z_g` form model :math:`g`, with its own
networks (batched matrix products). The chapter sweeps the correlation of Gaussian pairs this way.

*Local* latent variables (``local_dim > 0``), :math:`u` for x and :math:`v` for y with
:math:`p(x|z) = \int p(u)\,p(x|z,u)\,du` and encoders :math:`q(u|z,x)`, :math:`q(v|z,y)`, hold what is
particular to each modality, so that :math:`z` need not (term ``rate_local``: their KLs to
:math:`\mathcal N(0, I)`). With Gaussian decoders their own noise plays that role.

Simplifications against the paper, stated in the chapter: explicit decoders (Gaussian for vectors,
Bernoulli for images) instead of implicit ones; with Bernoulli decoders neither the reverse KL nor
:math:`I_p` has reparameterised samples, and they are left out; :math:`\lambda` may be annealed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from infobounds.bounds.gaussian import LOG_2PI, kl_diagonal_gaussians, log_normal_density
from infobounds.bounds.mi import infonce_lower_bound
from infobounds.models.base import LossTerms, OptimizerConfig, Player, Trainable, Update, parameters_of
from infobounds.validation import (require_at_least, require_choice, require_non_empty, require_non_negative,
                                   require_positive)

DECODERS = ("gaussian", "bernoulli")


@dataclass(frozen=True)
class WynerConfig:
    """Defaults are the quick profile's scalar Gaussian pair (x, y in R, one-dimensional z)."""

    x_shape: tuple[int, ...] = (1,)  # shape of one x: (d,) for vectors, (C, H, W) for images
    y_shape: tuple[int, ...] = (1,)  # shape of one y
    groups: int = 1  # independent models trained side by side on blocks of x and y
    latent_dim: int = 1  # dimension of the common representation z (per group)
    local_dim: int = 0  # dimension of each modality's local latent u (of x) and v (of y); 0: none
    hidden: tuple[int, ...] = (64, 64)  # widths of every encoder and decoder MLP
    decoder: str = "gaussian"  # "gaussian" (learned per-coordinate variance) or "bernoulli" (images)
    ci_weight: float = 0.1  # lambda, price of one nat of common information
    ci_anneal_steps: int = 0  # if > 0, lambda falls linearly from ci_weight to 0 over this many updates
    reverse_weight: float = 1.0  # gamma, weight of KL(p || q) (gaussian decoders only)
    cond_weight: float = 1.0  # alpha, weight of the marginal encoders' KL terms
    critic_hidden: tuple[int, ...] = (64, 64)  # widths of the density-ratio classifiers
    critic_steps: int = 1  # classifier updates per model update
    optim: OptimizerConfig = OptimizerConfig()  # Adam of the model (encoders and decoders)
    critic_optim: OptimizerConfig = OptimizerConfig(betas=(0.5, 0.999))  # Adam of the classifiers
    min_log_std: float = -4.0  # lower clamp of the Gaussian decoders' log standard deviation

    def __post_init__(self) -> None:
        require_choice("decoder", self.decoder, DECODERS)
        require_positive(latent_dim=self.latent_dim, groups=self.groups)
        require_non_negative(local_dim=self.local_dim)
        require_non_empty(x_shape=self.x_shape, y_shape=self.y_shape)
        require_positive(x_shape=self.x_shape, y_shape=self.y_shape)
        if self.x_dim % self.groups or self.y_dim % self.groups:
            raise ValueError(f"groups={self.groups} must divide x's {self.x_dim} and y's {self.y_dim} features")
        require_non_empty(hidden=self.hidden, critic_hidden=self.critic_hidden)
        require_positive(hidden=self.hidden, critic_hidden=self.critic_hidden)
        require_non_negative(ci_weight=self.ci_weight, reverse_weight=self.reverse_weight, cond_weight=self.cond_weight)
        if self.decoder == "bernoulli" and self.reverse_weight > 0:
            raise ValueError("the reverse KL needs reparameterised samples of x and y: with a bernoulli "
                             "decoder set reverse_weight=0")
        require_non_negative(ci_anneal_steps=self.ci_anneal_steps)
        require_at_least(1, critic_steps=self.critic_steps)

    @property
    def x_dim(self) -> int:
        return math.prod(self.x_shape)

    @property
    def y_dim(self) -> int:
        return math.prod(self.y_shape)


class GroupedMLP(nn.Module):
    """``groups`` independent MLPs evaluated with batched matrix products: (G, B, in) -> (G, B, out)."""

    def __init__(self, groups: int, in_dim: int, hidden: tuple[int, ...], out_dim: int):
        super().__init__()
        sizes = [in_dim, *hidden, out_dim]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for a, b in zip(sizes[:-1], sizes[1:]):
            bound = 1.0 / math.sqrt(a)  # nn.Linear's default initialisation, per group
            self.weights.append(nn.Parameter(torch.empty(groups, a, b).uniform_(-bound, bound)))
            self.biases.append(nn.Parameter(torch.empty(groups, 1, b).uniform_(-bound, bound)))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = torch.baddbmm(b, h, w)  # (G, B, out)
            if i < last:
                h = F.relu(h)
        return h


class _GaussianEncoder(nn.Module):
    """q(z|v) = N(mu(v), diag sigma^2(v)) per group, sigma = softplus(raw) + 1e-4."""

    def __init__(self, groups, in_dim, hidden, latent_dim):
        super().__init__()
        self.net = GroupedMLP(groups, in_dim, hidden, 2 * latent_dim)

    def forward(self, v):
        mu, raw = self.net(v).chunk(2, dim=-1)
        return mu, 2.0 * (F.softplus(raw) + 1e-4).log()  # (G, B, K) each


class _Decoder(nn.Module):
    """p(v|z): Bernoulli logits, or a Gaussian mean with a learned per-coordinate std (per group)."""

    def __init__(self, groups, latent_dim, hidden, out_dim, kind, min_log_std):
        super().__init__()
        self.kind = kind
        self.net = GroupedMLP(groups, latent_dim, hidden, out_dim)
        self.log_std = nn.Parameter(torch.zeros(groups, 1, out_dim)) if kind == "gaussian" else None
        self.min_log_std = min_log_std

    def std(self) -> torch.Tensor:
        return self.log_std.clamp(min=self.min_log_std).exp()  # (G, 1, D)

    def log_prob(self, v, z):
        """log p(v|z) summed over coordinates, (G, B)."""
        out = self.net(z)
        if self.kind == "bernoulli":
            return -F.binary_cross_entropy_with_logits(out, v, reduction="none").sum(-1)
        return log_normal_density(v, out, 2.0 * self.log_std.clamp(min=self.min_log_std).expand_as(out))

    def mean(self, z):
        out = self.net(z)
        return torch.sigmoid(out) if self.kind == "bernoulli" else out

    def rsample(self, z):
        if self.kind != "gaussian":
            raise RuntimeError("a bernoulli decoder has no reparameterised samples")
        mean = self.net(z)
        return mean + self.std() * torch.randn_like(mean)


def _rsample(mu, logvar):
    return mu + (0.5 * logvar).exp() * torch.randn_like(mu)


class VariationalWyner(Trainable):
    """Joint encoder q(z|x,y), marginal encoders q(z|x), q(z|y), decoders p(x|z), p(y|z), prior N(0, I)
    (player ``main``) and three density-ratio classifiers (player ``critic``), per group."""

    autocast_safe = False  # density ratios and log-densities of small variances

    def __init__(self, config: WynerConfig = WynerConfig()):
        super().__init__()
        self.config = c = config
        g, h, k, l = c.groups, c.hidden, c.latent_dim, c.local_dim
        self.dx, self.dy = c.x_dim // g, c.y_dim // g  # features per group
        self.joint_encoder = _GaussianEncoder(g, self.dx + self.dy, h, k)
        self.x_encoder = _GaussianEncoder(g, self.dx, h, k)
        self.y_encoder = _GaussianEncoder(g, self.dy, h, k)
        if l:  # local latents: q(u|z,x), q(v|z,y); decoders p(x|z,u), p(y|z,v)
            self.u_encoder = _GaussianEncoder(g, k + self.dx, h, l)
            self.v_encoder = _GaussianEncoder(g, k + self.dy, h, l)
        self.x_decoder = _Decoder(g, k + l, tuple(reversed(h)), self.dx, c.decoder, c.min_log_std)
        self.y_decoder = _Decoder(g, k + l, tuple(reversed(h)), self.dy, c.decoder, c.min_log_std)
        critic_in = self.dx + self.dy + k
        # T_ci ~ log q(z|x,y)/q(z);  T_ci_model ~ log p(z|x,y)/p(z);  T_rev ~ log p(x,y,z)/q(x,y,z).
        self.ci_critic = GroupedMLP(g, critic_in, c.critic_hidden, 1)
        self.ci_model_critic = GroupedMLP(g, critic_in, c.critic_hidden, 1)
        self.rev_critic = GroupedMLP(g, critic_in, c.critic_hidden, 1)
        # Model updates done so far (a buffer, so a resumed run continues the annealing of lambda).
        self.register_buffer("updates", torch.zeros((), dtype=torch.long))

    @property
    def _model_side(self) -> bool:
        """Whether the model-side terms (reverse KL, I_p) can be trained: they need reparameterised
        samples of x and y, hence Gaussian decoders."""
        return self.config.decoder == "gaussian"

    def current_ci_weight(self) -> float:
        """lambda at this update: ``ci_weight``, or its linear decay to 0 over ``ci_anneal_steps``."""
        c = self.config
        if c.ci_anneal_steps == 0:
            return c.ci_weight
        return c.ci_weight * max(0.0, 1.0 - int(self.updates) / c.ci_anneal_steps)

    # -- layout: public tensors are (B, *shape); inside, every tensor is (G, B, features) ----------
    def _split(self, v: torch.Tensor, d: int, name: str) -> torch.Tensor:
        total = self.config.groups * d
        if v.reshape(v.shape[0], -1).shape[1] != total:
            raise ValueError(f"VariationalWyner expects {name} with {total} features, got shape {tuple(v.shape)}")
        return v.reshape(v.shape[0], self.config.groups, d).transpose(0, 1)  # (G, B, d)

    def _merge(self, v: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
        return v.transpose(0, 1).reshape(v.shape[1], *shape)  # (G, B, d) -> (B, *shape)

    def _critic(self, net, x, y, z):
        return net(torch.cat([x, y, z], -1)).squeeze(-1)  # (G, B)

    def _with_local(self, z):
        """(z, u) and (z, v) with the local latents drawn from their prior N(0, I)."""
        if not self.config.local_dim:
            return z, z
        shape = (*z.shape[:-1], self.config.local_dim)
        u = torch.randn(shape, device=z.device, dtype=z.dtype)
        v = torch.randn(shape, device=z.device, dtype=z.dtype)
        return torch.cat([z, u], -1), torch.cat([z, v], -1)

    def _model_samples(self, n, like):
        """Reparameterised (x, y, z) ~ p(z) p(x|z) p(y|z), each (G, n, .) (local latents marginalised)."""
        z = torch.randn(self.config.groups, n, self.config.latent_dim, device=like.device, dtype=like.dtype)
        zu, zv = self._with_local(z)
        return self.x_decoder.rsample(zu), self.y_decoder.rsample(zv), z

    def _posterior_local(self, z, x, y):
        """(z, u) and (z, v) with u ~ q(u|z,x), v ~ q(v|z,y), and the KLs of q(u|z,x), q(v|z,y) to
        N(0, I), each (G, B)."""
        if not self.config.local_dim:
            zero = torch.zeros(z.shape[:-1], device=z.device, dtype=z.dtype)
            return z, z, zero, zero
        mu_u, logvar_u = self.u_encoder(torch.cat([z, x], -1))
        mu_v, logvar_v = self.v_encoder(torch.cat([z, y], -1))
        zu = torch.cat([z, _rsample(mu_u, logvar_u)], -1)
        zv = torch.cat([z, _rsample(mu_v, logvar_v)], -1)
        return zu, zv, kl_diagonal_gaussians(mu_u, logvar_u), kl_diagonal_gaussians(mu_v, logvar_v)

    def _inputs(self, batch):
        if len(batch) == 3:  # (x, y, mask) from PairedImages.stream: only complete pairs count
            x, y, mask = batch
            keep = mask.bool().all(-1)
            x, y = x[keep], y[keep]
        else:
            x, y = batch
        return self._split(x, self.dx, "x"), self._split(y, self.dy, "y")

    def encode(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance of q(z|x, y), each (B, groups * latent_dim)."""
        mu, logvar = self.joint_encoder(torch.cat([self._split(x, self.dx, "x"), self._split(y, self.dy, "y")], -1))
        k = self.config.groups * self.config.latent_dim
        return self._merge(mu, (k,)), self._merge(logvar, (k,))

    # -- losses ---------------------------------------------------------------------------------
    def loss(self, batch) -> LossTerms:
        """The model's objective (player ``main``); the classifiers are held fixed. Each term is the
        sum over groups of the group's mean over the batch."""
        c = self.config
        x, y = self._inputs(batch)
        mu, logvar = self.joint_encoder(torch.cat([x, y], -1))
        z = _rsample(mu, logvar)  # (G, B, K) ~ q(z|x,y)
        zu, zv, kl_u, kl_v = self._posterior_local(z, x, y)  # u ~ q(u|z,x), v ~ q(v|z,y)
        total = lambda v: v.mean(-1).sum()  # (G, B) -> scalar
        terms = {
            "distortion_x": total(-self.x_decoder.log_prob(x, zu)),
            "distortion_y": total(-self.y_decoder.log_prob(y, zv)),
            "rate": total(kl_diagonal_gaussians(mu, logvar)),
        }
        if c.local_dim:
            terms["rate_local"] = total(kl_u + kl_v)  # E KL(q(u|z,x) || N) + E KL(q(v|z,y) || N)
        weights, metrics = {}, {}
        if self._model_side and (c.reverse_weight > 0 or c.ci_weight > 0):
            xp, yp, zp = self._model_samples(x.shape[1], x)
        if c.ci_weight > 0:
            lam = self.current_ci_weight()
            # Pathwise gradients through optimal classifiers are the gradients of I_q and I_p (chapter lemma).
            terms["common_information"] = total(self._critic(self.ci_critic, x, y, z))
            weights["common_information"] = lam
            if self._model_side:
                terms["common_information_model"] = total(self._critic(self.ci_model_critic, xp, yp, zp))
                weights["common_information_model"] = lam
            metrics["ci_weight"] = torch.tensor(lam)
            if self.training:
                self.updates += 1
        if c.reverse_weight > 0:
            terms["reverse_kl"] = total(self._critic(self.rev_critic, xp, yp, zp))
            mu_p, logvar_p = self.joint_encoder(torch.cat([xp, yp], -1).detach())
            terms["sleep"] = total(-log_normal_density(zp.detach(), mu_p, logvar_p))  # E_p[-log q(z|x,y)]
            weights["reverse_kl"] = weights["sleep"] = c.reverse_weight
        if c.cond_weight > 0:
            mu_d, logvar_d = mu.detach(), logvar.detach()  # the joint encoder is the teacher
            terms["kl_x"] = total(kl_diagonal_gaussians(mu_d, logvar_d, *self.x_encoder(x)))
            terms["kl_y"] = total(kl_diagonal_gaussians(mu_d, logvar_d, *self.y_encoder(y)))
            weights["kl_x"] = weights["kl_y"] = c.cond_weight
        return LossTerms(terms=terms, weights=weights, metrics=metrics)

    def critic_loss(self, batch) -> LossTerms:
        """Logistic losses of the density-ratio classifiers (player ``critic``): label 1 for the
        numerator's samples, 0 for the denominator's, so the optimal logit is the log-ratio."""
        c = self.config
        x, y = self._inputs(batch)
        bce = lambda pos, neg: (F.softplus(-pos).mean(-1) + F.softplus(neg).mean(-1)).sum()
        with torch.no_grad():
            z = _rsample(*self.joint_encoder(torch.cat([x, y], -1)))
            if self._model_side:
                xp, yp, zp = self._model_samples(x.shape[1], x)
        # q(x,y) q(z|x,y) against q(x,y) q(z): z of another pair (a shift of the batch).
        terms = {"ci_classifier": bce(self._critic(self.ci_critic, x, y, z),
                                      self._critic(self.ci_critic, x, y, z.roll(1, dims=1)))}
        if self._model_side and c.ci_weight > 0:
            terms["ci_model_classifier"] = bce(self._critic(self.ci_model_critic, xp, yp, zp),
                                               self._critic(self.ci_model_critic, xp, yp, zp.roll(1, dims=1)))
        if c.reverse_weight > 0:
            terms["rev_classifier"] = bce(self._critic(self.rev_critic, xp, yp, zp),
                                          self._critic(self.rev_critic, x, y, z))
        return LossTerms(terms=terms)

    def players(self) -> list[Player]:
        c = self.config
        model = parameters_of(self.joint_encoder, self.x_encoder, self.y_encoder, self.x_decoder, self.y_decoder,
                              *([self.u_encoder, self.v_encoder] if c.local_dim else []))
        critics = parameters_of(self.ci_critic, self.ci_model_critic, self.rev_critic)
        return [Player("critic", critics, c.critic_optim), Player("main", model, c.optim)]

    def schedule(self) -> list[Update]:
        return [Update("critic", self.critic_loss, self.config.critic_steps), Update("main", self.loss)]

    # -- generation -----------------------------------------------------------------------------
    def _decode_pair(self, z, noise):
        noise = self._model_side if noise is None else noise
        zu, zv = self._with_local(z)
        if noise and self._model_side:
            x, y = self.x_decoder.rsample(zu), self.y_decoder.rsample(zv)
        else:
            x, y = self.x_decoder.mean(zu), self.y_decoder.mean(zv)
        return self._merge(x, self.config.x_shape), self._merge(y, self.config.y_shape)

    @torch.no_grad()
    def sample(self, n: int, noise: bool | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Joint generation: z ~ N(0, I), then x ~ p(x|z) and y ~ p(y|z) independently given z.
        ``noise`` adds the Gaussian decoders' noise (default: yes for gaussian decoders; bernoulli
        decoders return their means, the images the chapters show)."""
        device = next(self.parameters()).device
        z = torch.randn(self.config.groups, n, self.config.latent_dim, device=device)
        return self._decode_pair(z, noise)

    @torch.no_grad()
    def cross_generate(self, x: torch.Tensor | None = None, y: torch.Tensor | None = None,
                       noise: bool | None = None) -> torch.Tensor:
        """Conditional generation (channel synthesis): z ~ q(z|x), then y from p(y|z); or the other
        way round when ``y`` is given."""
        if (x is None) == (y is None):
            raise ValueError("give exactly one of x and y")
        if x is not None:
            z = _rsample(*self.x_encoder(self._split(x, self.dx, "x")))
        else:
            z = _rsample(*self.y_encoder(self._split(y, self.dy, "y")))
        gx, gy = self._decode_pair(z, noise)
        return gy if x is not None else gx

    # -- evaluation -----------------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self, x: torch.Tensor, y: torch.Tensor, batch_size: int = 2048) -> dict[str, np.ndarray]:
        """Information quantities of the encoder distribution on held-out pairs, in nats, one value
        per group (arrays of shape (groups,)), averaged over consecutive batches of ``batch_size``:

        * ``rate`` :math:`= \\mathbb E\\,\\mathrm{KL}(q(z|x,y) \\| p(z)) \\ge I_q(X,Y;Z)`;
        * ``ci_infonce``: InfoNCE with the exact log-density critic :math:`\\log q(z_i|x_j, y_j)`,
          a lower bound on :math:`I_q(X,Y;Z)` that cannot exceed :math:`\\log` ``batch_size``;
        * ``ci_classifier``: the classifier's estimate :math:`\\mathbb E_q T_{\\mathrm{ci}}`;
        * ``distortion_x``, ``distortion_y``: :math:`\\mathbb E_q[-\\log p(x|z)]`, :math:`\\mathbb E_q[-\\log p(y|z)]`.
        """
        was_training = self.training
        self.eval()
        xs, ys = self._split(x, self.dx, "x"), self._split(y, self.dy, "y")
        keys = ("rate", "ci_infonce", "ci_classifier", "distortion_x", "distortion_y")
        sums = {k: np.zeros(self.config.groups) for k in keys}
        n_batches = 0
        for start in range(0, xs.shape[1] - batch_size + 1, batch_size):
            xb, yb = xs[:, start:start + batch_size], ys[:, start:start + batch_size]
            mu, logvar = self.joint_encoder(torch.cat([xb, yb], -1))
            z = _rsample(mu, logvar)
            zu, zv, _, _ = self._posterior_local(z, xb, yb)
            for g in range(self.config.groups):
                # scores[i, j] = log q(z_i | x_j, y_j): the optimal InfoNCE critic for I_q(X,Y;Z).
                scores = log_normal_density(z[g].unsqueeze(1), mu[g].unsqueeze(0), logvar[g].unsqueeze(0))
                sums["ci_infonce"][g] += float(infonce_lower_bound(scores))
            sums["rate"] += kl_diagonal_gaussians(mu, logvar).mean(-1).cpu().numpy()
            sums["ci_classifier"] += self._critic(self.ci_critic, xb, yb, z).mean(-1).cpu().numpy()
            sums["distortion_x"] += (-self.x_decoder.log_prob(xb, zu)).mean(-1).cpu().numpy()
            sums["distortion_y"] += (-self.y_decoder.log_prob(yb, zv)).mean(-1).cpu().numpy()
            n_batches += 1
        if n_batches == 0:
            raise ValueError(f"need at least batch_size={batch_size} pairs, got {xs.shape[1]}")
        self.train(was_training)
        return {k: v / n_batches for k, v in sums.items()}

    def decoder_std(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Standard deviations of the Gaussian decoders' private noise, (groups, features) each."""
        if not self._model_side:
            raise RuntimeError("only gaussian decoders have a noise level")
        return self.x_decoder.std().detach()[:, 0], self.y_decoder.std().detach()[:, 0]


def model_common_information(model: VariationalWyner, x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    r"""The model's own :math:`I_p(X,Y;Z)` per group, for Gaussian decoders:
    :math:`I_p(X,Y;Z) = h_p(X,Y) - h(X|Z) - h(Y|Z)`, with :math:`h(X|Z) = \sum_j \log(\sqrt{2\pi e}\,s_j)`
    exact and :math:`h_p(X,Y)` replaced by the entropy of the Gaussian with the covariance of the data
    ``(x, y)`` (exact when the model reproduces a Gaussian pair; meaningful for Gaussian data only)."""
    sx, sy = model.decoder_std()
    xs, ys = model._split(x, model.dx, "x"), model._split(y, model.dy, "y")
    out = []
    for g in range(model.config.groups):
        v = torch.cat([xs[g], ys[g]], -1).double()
        d = v.shape[1]
        h_xy = 0.5 * (d * (LOG_2PI + 1.0) + torch.logdet(torch.cov(v.T).reshape(d, d)))
        h_cond = 0.5 * (LOG_2PI + 1.0) * d + sx[g].double().log().sum() + sy[g].double().log().sum()
        out.append(float(h_xy - h_cond))
    return np.array(out)
