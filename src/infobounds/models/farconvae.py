r"""FarconVAE: fair representations by distributional contrastive disentanglement (chapter
``fair_representations``).

Oh, Won, So, Kim, Kim, Choi & Song (2022), *Learning Fair Representation via Distributional
Contrastive Disentanglement*, KDD.

Two Gaussian encoders split an observation :math:`x` with sensitive attribute :math:`s` into a
non-sensitive code :math:`z_x \sim q(z_x \mid x, s)` and a sensitive code :math:`z_s \sim q(z_s \mid
x, s)`; a decoder :math:`p(x, s \mid z_x, z_s)` reconstructs both, and a predictor :math:`p(y \mid z_x)`
reads the label from the non-sensitive code only. Each example :math:`i` of a batch is paired with a
partner :math:`i'` that has the *same label and a different sensitive attribute*
(:func:`contrastive_pairs`). With :math:`D(q, q') = \tfrac{1}{2K}[\mathrm{KL}(q\|q') + \mathrm{KL}(q'\|q)]`
the symmetrised KL per latent coordinate and a kernel :math:`k` that maps a divergence to a
similarity in :math:`(0, 1]`,

.. math::

    \underbrace{k_G(D) = e^{-D/\sigma}}_{\text{Gaussian}}, \qquad
    \underbrace{k_t(D) = (1 + D/\nu)^{-(\nu+1)/2}}_{\text{Student-}t}

(the reference implementation uses :math:`\sigma = \nu = 1`: :math:`e^{-D}` and :math:`(1+D)^{-1}`),
the *distributional contrastive* loss pulls the non-sensitive posteriors of a pair together and
pushes the sensitive ones apart, and away from the non-sensitive ones:

.. math::

    \mathcal L_{\texttt{dc}} = D(q_{z_x}, q_{z_x'}) + k\bigl(D(q_{z_s}, q_{z_s'})\bigr)
      + k\bigl(D(q_{z_x}, q_{z_s})\bigr) + k\bigl(D(q_{z_x'}, q_{z_s'})\bigr).

The *swap reconstruction* decodes the partner's non-sensitive code with the example's own sensitive
code and asks for the example back, :math:`\mathcal L_{\texttt{sr}} = -\log p(x, s \mid z_x', z_s)`.
FarconVAE minimises

.. math::

    \mathcal L = \underbrace{-\log p(x, s \mid z_x, z_s)}_{\texttt{recon}}
      + \beta\, \underbrace{[\mathrm{KL}(q_{z_x}\|p) + \mathrm{KL}(q_{z_s}\|p)]}_{\texttt{kl}}
      + \underbrace{-\log p(y \mid z_x)}_{\texttt{pred}}
      + \alpha\, \mathcal L_{\texttt{dc}} + \gamma\, \mathcal L_{\texttt{sr}} .

As in the reference implementation, the terms are rescaled to sit on the scale of ``pred``, so the
trained loss is not the objective above with these weights: with :math:`D` pixels and :math:`K`
coordinates per code, ``recon`` (and likewise ``sr``) is
:math:`-\tfrac1D \log p(x \mid z_x, z_s) - \log p(s \mid z_x, z_s)`, a mean over the pixels of
:math:`x` plus the full cross-entropy of :math:`s` (whose likelihood is thereby up-weighted
:math:`D`-fold relative to :math:`-\log p(x, s \mid z)`), and ``kl`` is the sum of the two KL
divergences divided by :math:`2K`. With :math:`\alpha = \gamma = 0` the model is a supervised VAE
with a classifier head on :math:`z_x`, the chapter's plain baseline.

:class:`AdversarialRepresentation` is the adversarial baseline (Edwards & Storkey, 2016; Xie et al.,
2017): an encoder and classifier play against an adversary that predicts :math:`s` from :math:`z`
(:class:`~infobounds.models.adversary.AttributeAdversary`, shared with CLUB and DANN).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from infobounds.bounds.gaussian import kl_diagonal_gaussians
from infobounds.models.adversary import AttributeAdversary
from infobounds.models.base import LossTerms, OptimizerConfig, Player, Trainable, Update, check_batch, parameters_of
from infobounds.nets import GaussianHead, mlp, reparameterize
from infobounds.validation import require_at_least, require_choice, require_non_negative, require_positive

KERNELS = ("t", "gaussian")
ADVERSARY_OBJECTIVES = ("negated_ce", "confusion")

__all__ = ["KERNELS", "ADVERSARY_OBJECTIVES", "FarconVAEConfig", "FarconVAE", "AdversarialConfig",
           "AdversarialRepresentation",
           "symmetric_kl", "gaussian_kernel", "student_t_kernel", "kernel", "contrastive_pairs",
           "distributional_contrastive"]


# ----------------------------------------------------------------------------------------------------
# The distributional contrastive loss
# ----------------------------------------------------------------------------------------------------

def symmetric_kl(mu_a: torch.Tensor, logvar_a: torch.Tensor, mu_b: torch.Tensor, logvar_b: torch.Tensor
                 ) -> torch.Tensor:
    r""":math:`D = [\mathrm{KL}(a\|b) + \mathrm{KL}(b\|a)] / (2K)` between diagonal Gaussians, (..., K) -> (...).

    Zero iff the two posteriors coincide; per coordinate, so that the kernels' scale does not depend
    on the latent dimension :math:`K`.
    """
    k = mu_a.shape[-1]
    return (kl_diagonal_gaussians(mu_a, logvar_a, mu_b, logvar_b)
            + kl_diagonal_gaussians(mu_b, logvar_b, mu_a, logvar_a)) / (2 * k)


def gaussian_kernel(d: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    r"""Gaussian kernel on a divergence, :math:`k_G(D) = \exp(-D / \sigma)`: 1 at D = 0, -> 0 as D grows."""
    if scale <= 0:
        raise ValueError(f"the kernel scale must be positive, got {scale}")
    return torch.exp(-d / scale)


def student_t_kernel(d: torch.Tensor, dof: float = 1.0) -> torch.Tensor:
    r"""Student-t kernel on a divergence, :math:`k_t(D) = (1 + D/\nu)^{-(\nu+1)/2}`; :math:`\nu = 1`
    gives the reference implementation's :math:`(1 + D)^{-1}`. Its tail is polynomial, so the push
    apart keeps a gradient where the Gaussian kernel's has vanished."""
    if dof <= 0:
        raise ValueError(f"the degrees of freedom must be positive, got {dof}")
    return (1.0 + d / dof).pow(-(dof + 1.0) / 2.0)


def kernel(d: torch.Tensor, kind: str = "t", scale: float = 1.0) -> torch.Tensor:
    """The kernel ``kind`` ("t" or "gaussian") applied to divergences ``d``."""
    if kind == "t":
        return student_t_kernel(d, scale)
    if kind == "gaussian":
        return gaussian_kernel(d, scale)
    raise ValueError(f"unknown kernel {kind!r}: choose one of {', '.join(KERNELS)}")


def contrastive_pairs(y: torch.Tensor, s: torch.Tensor, generator: torch.Generator | None = None
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """Pair each example of a batch with a random partner of the same label and another sensitive value.

    Returns ``(anchor, partner)`` index tensors (P,), P <= B: examples without such a partner in the
    batch are left out. Vectorised: a random score per admissible (i, j), arg-max over j.
    """
    if y.ndim != 1 or s.ndim != 1 or y.shape != s.shape:
        raise ValueError(f"y and s must be 1-d of equal length, got {tuple(y.shape)} and {tuple(s.shape)}")
    admissible = (y[:, None] == y[None, :]) & (s[:, None] != s[None, :])  # (B, B)
    score = torch.rand(admissible.shape, generator=generator, device="cpu").to(y.device)
    score = torch.where(admissible, score, torch.full_like(score, -1.0))
    partner = score.argmax(dim=1)  # (B,)
    keep = admissible.any(dim=1)
    anchor = torch.arange(y.shape[0], device=y.device)
    return anchor[keep], partner[keep]


Posterior = tuple[torch.Tensor, torch.Tensor]  # (mu, logvar), each (P, K)


def distributional_contrastive(post_x: Posterior, post_x_pair: Posterior, post_s: Posterior, post_s_pair: Posterior,
                               *, kind: str = "t", scale: float = 1.0, within: bool = True) -> dict[str, torch.Tensor]:
    r"""The terms of :math:`\mathcal L_{\texttt{dc}}` per pair, each (P,).

    ``pull`` = :math:`D(q_{z_x}, q_{z_x'})`; ``push`` = :math:`k(D(q_{z_s}, q_{z_s'}))`; with ``within``,
    ``separate`` = :math:`k(D(q_{z_x}, q_{z_s})) + k(D(q_{z_x'}, q_{z_s'}))` (needs equal latent sizes);
    ``dc`` their sum. Posteriors are ``(mu, logvar)`` pairs of shape (P, K).
    """
    pull = symmetric_kl(*post_x, *post_x_pair)
    push = kernel(symmetric_kl(*post_s, *post_s_pair), kind, scale)
    out = {"pull": pull, "push": push}
    dc = pull + push
    if within:
        if post_x[0].shape != post_s[0].shape:
            raise ValueError("the within-example terms need z_x and z_s of the same size")
        separate = kernel(symmetric_kl(*post_x, *post_s), kind, scale) + \
            kernel(symmetric_kl(*post_x_pair, *post_s_pair), kind, scale)
        out["separate"] = separate
        dc = dc + separate
    out["dc"] = dc
    return out


# ----------------------------------------------------------------------------------------------------
# FarconVAE
# ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FarconVAEConfig:
    """Defaults are the quick profile's Coloured Fashion-MNIST at 14x14 (3 * 14 * 14 = 588 inputs)."""

    input_dim: int = 588  # flattened x
    n_sensitive: int = 2  # values of s (fed to the encoders one-hot, reconstructed by the decoder)
    n_classes: int = 2  # values of y
    hidden: tuple[int, ...] = (256,)  # MLP widths of each encoder; the decoder mirrors them
    latent_dim: int = 8  # size of z_x and of z_s
    alpha: float = 5.0  # weight of the distributional contrastive loss (0: none; quick-profile choice)
    beta: float = 0.1  # weight of the KL to the N(0, I) prior
    gamma: float = 1.0  # weight of the swap reconstruction (0: none)
    kernel: str = "t"  # "t" (Student-t) or "gaussian"
    kernel_scale: float = 1.0  # nu of the t kernel / sigma of the Gaussian kernel (paper: 1)
    contrast_within: bool = True  # also push z_x away from z_s of the same example (paper: on)
    optim: OptimizerConfig = OptimizerConfig()  # Adam
    std_shift: float = 0.0  # encoder sigma = softplus(raw + std_shift) + 1e-4

    def __post_init__(self) -> None:
        require_non_negative(alpha=self.alpha, beta=self.beta, gamma=self.gamma)
        require_choice("kernel", self.kernel, KERNELS)
        require_positive(kernel_scale=self.kernel_scale, input_dim=self.input_dim, latent_dim=self.latent_dim,
                         hidden=self.hidden)
        require_at_least(2, n_sensitive=self.n_sensitive, n_classes=self.n_classes)


def _encoder(in_dim: int, hidden: tuple[int, ...], latent: int, shift: float) -> nn.Sequential:
    if hidden:
        return nn.Sequential(mlp(in_dim, hidden[:-1], hidden[-1]), nn.ReLU(), GaussianHead(hidden[-1], latent, shift))
    return nn.Sequential(GaussianHead(in_dim, latent, shift))


class FarconVAE(Trainable):
    """Encoders q(z_x|x,s), q(z_s|x,s); decoder p(x,s|z_x,z_s); predictor p(y|z_x). Batches: (x, y, s)."""

    def __init__(self, config: FarconVAEConfig = FarconVAEConfig()):
        super().__init__()
        self.config = c = config
        in_dim = c.input_dim + c.n_sensitive
        self.encoder_x = _encoder(in_dim, c.hidden, c.latent_dim, c.std_shift)  # q(z_x | x, s)
        self.encoder_s = _encoder(in_dim, c.hidden, c.latent_dim, c.std_shift)  # q(z_s | x, s)
        self.decoder = mlp(2 * c.latent_dim, tuple(reversed(c.hidden)), in_dim)  # logits of x and of s
        self.predictor = nn.Linear(c.latent_dim, c.n_classes)  # p(y | z_x)

    def _input(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        x = x.reshape(x.shape[0], -1)
        check_batch(x, 2, "x", self.config.input_dim, where="FarconVAE")
        return torch.cat([x, F.one_hot(s.long(), self.config.n_sensitive).to(x.dtype)], dim=1)  # (B, D + S)

    def encode(self, x: torch.Tensor, s: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(mu_x, logvar_x, mu_s, logvar_s), each (B, K)."""
        h = self._input(x, s)
        return (*self.encoder_x(h), *self.encoder_s(h))

    def decode(self, z_x: torch.Tensor, z_s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits of p(x | z_x, z_s) (B, D) and of p(s | z_x, z_s) (B, S)."""
        logits = self.decoder(torch.cat([z_x, z_s], dim=1))  # (B, D + S)
        return logits[:, :self.config.input_dim], logits[:, self.config.input_dim:]

    def reconstruction(self, z_x: torch.Tensor, z_s: torch.Tensor, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """-(1/D) log p(x | z_x, z_s) - log p(s | z_x, z_s) per example (B,): the Bernoulli cross-entropy
        averaged over the D pixels plus the (unaveraged) cross-entropy of s; not -log p(x, s | z)."""
        x_logits, s_logits = self.decode(z_x, z_s)
        bce = F.binary_cross_entropy_with_logits(x_logits, x.reshape(x.shape[0], -1), reduction="none").mean(1)
        return bce + F.cross_entropy(s_logits, s.long(), reduction="none")

    def loss(self, batch) -> LossTerms:
        x, y, s = batch
        c = self.config
        mu_x, lv_x, mu_s, lv_s = self.encode(x, s)  # (B, K) each
        z_x, z_s = reparameterize(mu_x, lv_x), reparameterize(mu_s, lv_s)
        recon = self.reconstruction(z_x, z_s, x, s).mean()
        kl = (kl_diagonal_gaussians(mu_x, lv_x) + kl_diagonal_gaussians(mu_s, lv_s)).mean() / (2 * c.latent_dim)
        logits = self.predictor(z_x)
        pred = F.cross_entropy(logits, y)
        terms = {"recon": recon, "kl": kl, "pred": pred}
        metrics = {"accuracy": (logits.argmax(-1) == y).float().mean()}
        i, j = contrastive_pairs(y, s)  # (P,), (P,): same y, different s
        zero = 0.0 * mu_x.sum()  # keeps the graph when a batch has no pair
        if c.alpha > 0 or c.gamma > 0:
            metrics["pairs"] = torch.tensor(float(i.numel()))
        if c.alpha > 0:
            if i.numel():
                parts = distributional_contrastive((mu_x[i], lv_x[i]), (mu_x[j], lv_x[j]), (mu_s[i], lv_s[i]),
                                                   (mu_s[j], lv_s[j]), kind=c.kernel, scale=c.kernel_scale,
                                                   within=c.contrast_within)
                terms["dc"] = parts["dc"].mean()
                metrics.update({name: v.mean().detach() for name, v in parts.items() if name != "dc"})
            else:  # no pair in this batch: no contrast (its "pairs" is 0); every step logs the same names
                terms["dc"] = zero
                metrics.update({name: zero.detach() for name in ("pull", "push", "separate")
                                if name != "separate" or c.contrast_within})
        if c.gamma > 0:
            # decode (z_x of the partner, z_s of the example) and ask for the example back
            terms["sr"] = self.reconstruction(z_x[j], z_s[i], x[i], s[i]).mean() if i.numel() else zero
        weights = {"kl": c.beta, "dc": c.alpha, "sr": c.gamma}
        return LossTerms(terms=terms, weights={k: w for k, w in weights.items() if k in terms}, metrics=metrics)

    def players(self) -> list[Player]:
        return [Player("main", list(self.parameters()), self.config.optim)]

    @torch.no_grad()
    def representation(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """The posterior mean of the non-sensitive code z_x, (B, K): what a downstream user receives."""
        return self.encode(x, s)[0]

    @torch.no_grad()
    def predict(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """Predicted labels (B,) from the posterior mean of z_x."""
        return self.predictor(self.representation(x, s)).argmax(-1)


# ----------------------------------------------------------------------------------------------------
# The adversarial baseline
# ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AdversarialConfig:
    r"""Encoder q(z|x,s) and classifier trained against an adversary a(s|z).

    The encoder minimises ``ce`` :math:`+\beta` ``kl`` :math:`+\lambda` ``confusion``; the adversary
    minimises its own cross-entropy on (detached) samples of z. ``objective="negated_ce"`` makes
    ``confusion`` the adversary's negated cross-entropy, the minimax game of Edwards & Storkey (2016)
    and Xie et al. (2017); ``objective="confusion"`` its cross-entropy to the *uniform* distribution
    over s minus log|S| (Alvi et al., 2018), bounded below by zero.
    """

    input_dim: int = 588  # flattened x
    n_sensitive: int = 2  # values of s
    n_classes: int = 2  # values of y
    hidden: tuple[int, ...] = (256,)  # encoder MLP widths
    latent_dim: int = 8  # size of z
    beta: float = 0.1  # weight of the KL to N(0, I) (mean over coordinates, as in FarconVAE)
    lam: float = 1.0  # weight of the confusion term
    objective: str = "negated_ce"  # "negated_ce" (minimax) or "confusion" (CE to uniform)
    adversary_hidden: tuple[int, ...] = (64,)  # adversary MLP widths
    adversary_steps: int = 1  # adversary updates per encoder update
    optim: OptimizerConfig = OptimizerConfig()  # Adam of the encoder and classifier
    adversary_optim: OptimizerConfig = OptimizerConfig()  # Adam of the adversary

    def __post_init__(self) -> None:
        require_non_negative(beta=self.beta, lam=self.lam)
        require_choice("objective", self.objective, ADVERSARY_OBJECTIVES)
        require_at_least(1, adversary_steps=self.adversary_steps)
        require_positive(input_dim=self.input_dim, latent_dim=self.latent_dim, hidden=self.hidden,
                         adversary_hidden=self.adversary_hidden)
        require_at_least(2, n_sensitive=self.n_sensitive, n_classes=self.n_classes)


class AdversarialRepresentation(Trainable):
    """Players ``adversary`` (predicts s from z) and ``main`` (encoder + classifier). Batches: (x, y, s)."""

    def __init__(self, config: AdversarialConfig = AdversarialConfig()):
        super().__init__()
        self.config = c = config
        self.encoder = _encoder(c.input_dim + c.n_sensitive, c.hidden, c.latent_dim, 0.0)
        self.classifier = nn.Linear(c.latent_dim, c.n_classes)
        self.adversary = AttributeAdversary(c.latent_dim, c.n_sensitive, c.adversary_hidden)  # a(s | z)

    def encode(self, x: torch.Tensor, s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = x.reshape(x.shape[0], -1)
        check_batch(x, 2, "x", self.config.input_dim, where="AdversarialRepresentation")
        return self.encoder(torch.cat([x, F.one_hot(s.long(), self.config.n_sensitive).to(x.dtype)], dim=1))

    def adversary_loss(self, batch) -> LossTerms:
        x, _, s = batch
        with torch.no_grad():
            mu, logvar = self.encode(x, s)
            z = reparameterize(mu, logvar)
        return self.adversary.fit_loss(z, s, metric="adversary_accuracy")

    def main_loss(self, batch) -> LossTerms:
        x, y, s = batch
        c = self.config
        mu, logvar = self.encode(x, s)
        z = reparameterize(mu, logvar)
        logits = self.classifier(z)
        # only the encoder and classifier are stepped here (player main); the adversary is held fixed
        if c.objective == "negated_ce":
            confusion = self.adversary.cross_entropy(z, s.long()).neg()  # the encoder maximises the adversary's CE
        else:
            confusion = self.adversary.confusion(z)  # CE to uniform - log|S| >= 0
        kl = kl_diagonal_gaussians(mu, logvar).mean() / c.latent_dim
        return LossTerms(terms={"ce": F.cross_entropy(logits, y), "kl": kl, "confusion": confusion},
                         weights={"kl": c.beta, "confusion": c.lam},
                         metrics={"accuracy": (logits.argmax(-1) == y).float().mean()})

    def players(self) -> list[Player]:
        c = self.config
        return [self.adversary.player("adversary", c.adversary_optim),
                Player("main", parameters_of(self.encoder, self.classifier), c.optim)]

    def schedule(self) -> list[Update]:
        return [Update("adversary", self.adversary_loss, repeats=self.config.adversary_steps),
                Update("main", self.main_loss)]

    @torch.no_grad()
    def representation(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        return self.encode(x, s)[0]

    @torch.no_grad()
    def predict(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.representation(x, s)).argmax(-1)
