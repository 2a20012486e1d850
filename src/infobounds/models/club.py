r"""Deep variational complexity-leakage-utility bottleneck, DVCLUB (chapter ``bottleneck_family``).

Razeghi, Calmon, Gündüz & Voloshynovskiy (2023), *Bottlenecks CLUB: Unifying Information-Theoretic
Trade-offs Among Complexity, Leakage, and Utility*, IEEE TIFS.

The CLUB asks for a representation :math:`Z` of :math:`X` that is useful for a utility variable
:math:`U` (here the class), cheap (small complexity :math:`I(X;Z)`) and discloses little about a
sensitive attribute :math:`S` (small leakage :math:`I(S;Z)`): maximise
:math:`I(U;Z) - \beta I(X;Z) - \alpha I(S;Z)` over encoders :math:`q(z|x)`. With a Gaussian encoder
:math:`q(z|x)`, a utility decoder :math:`p(u|z)`, a prior :math:`p(z) = \mathcal N(0, I)` and an
adversary :math:`q_\phi(s|z)`, the chapter proves that the two-player objective

.. math::

    \min_{\text{enc}, \text{dec}} \;
      \underbrace{\mathbb E[-\log p(u|z)]}_{\texttt{utility}}
      + \beta \underbrace{\mathbb E_x \mathrm{KL}(q(z|x) \,\|\, p(z))}_{\texttt{rate}}
      + \alpha \underbrace{\bigl(H(S) - \min_\phi \mathbb E[-\log q_\phi(s|z)]\bigr)}_{\texttt{leakage}}

is an upper bound on :math:`H(U) - \mathcal L_{\mathrm{CLUB}}` whenever the adversary can represent
:math:`p(s|z)`: ``utility`` upper-bounds :math:`H(U) - I(U;Z)` (Barber-Agakov), ``rate``
upper-bounds :math:`I(X;Z)`, and ``leakage`` is a Barber-Agakov *lower* bound on :math:`I(S;Z)`
for any fixed adversary, equal to it at the best one. The adversary (player ``adversary``, the shared
:class:`~infobounds.models.adversary.AttributeAdversary`) minimises
its cross-entropy ``adversary_ce`` on detached codes; the encoder and decoders (player ``main``)
then minimise the objective above with the adversary fixed, as in a GAN's alternating schedule.

The encoder, the utility decoder and the rate are those of the deep VIB
(:class:`~infobounds.models.vib.VIB`, chapter ``information_bottleneck``), reused, not copied:
with ``alpha = 0`` this model is the VIB.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from infobounds.bounds.discrete import plugin_entropy
from infobounds.bounds.gaussian import kl_diagonal_gaussians
from infobounds.models.adversary import AttributeAdversary
from infobounds.models.base import LossTerms, OptimizerConfig, Player, Trainable, Update, check_batch
from infobounds.models.vib import VIB, VIBConfig
from infobounds.nets import reparameterize
from infobounds.validation import require_at_least, require_non_negative, require_positive


@dataclass(frozen=True)
class CLUBConfig:
    """Defaults are the quick profile's (Colored Fashion-MNIST at 14x14, four colours)."""

    input_dim: int = 3 * 14 * 14  # flattened coloured image
    hidden: tuple[int, ...] = (256,)  # encoder MLP widths (the paper uses a conv encoder)
    latent_dim: int = 16  # dimension of z
    n_utility: int = 10  # classes of U (the utility decoder's outputs)
    n_sensitive: int = 4  # values of S (the adversary's outputs)
    beta: float = 1e-3  # weight of the rate (complexity) term
    alpha: float = 1.0  # weight of the leakage term
    adversary_hidden: tuple[int, ...] = (64,)  # the adversary q_phi(s|z)'s MLP widths
    adversary_steps: int = 2  # adversary updates per encoder update
    optim: OptimizerConfig = OptimizerConfig()  # Adam of encoder and utility decoder
    adversary_optim: OptimizerConfig = OptimizerConfig(lr=2e-3)  # Adam of the adversary
    std_shift: float = -2.0  # sigma = softplus(raw + shift): the initial noise of the encoder

    def __post_init__(self) -> None:
        require_non_negative(beta=self.beta, alpha=self.alpha)
        require_positive(input_dim=self.input_dim, latent_dim=self.latent_dim, hidden=self.hidden,
                         adversary_hidden=self.adversary_hidden)
        require_at_least(2, n_utility=self.n_utility, n_sensitive=self.n_sensitive)
        require_at_least(1, adversary_steps=self.adversary_steps)

    def vib_config(self) -> VIBConfig:
        """The encoder, utility decoder and rate, as a VIB with the same beta."""
        return VIBConfig(input_dim=self.input_dim, hidden=self.hidden, latent_dim=self.latent_dim,
                         n_classes=self.n_utility, beta=self.beta, optim=self.optim,
                         std_shift=self.std_shift)


class CLUB(Trainable):
    """VIB encoder q(z|x) and utility decoder p(u|z), plus an adversary q_phi(s|z) on the code.

    Batches are ``(x, u, s)``: inputs (B, input_dim) or images, utility labels (B,), sensitive (B,).
    """

    def __init__(self, config: CLUBConfig = CLUBConfig()):
        super().__init__()
        self.config = config
        self.vib = VIB(config.vib_config())  # encoder, utility decoder (vib.classifier), rate
        self.adversary = AttributeAdversary(config.latent_dim, config.n_sensitive, config.adversary_hidden)  # q_phi(s|z)
        # H(S) in nats, a constant of the leakage term; log |S| until set_sensitive_marginal is called.
        self.register_buffer("h_s", torch.tensor(math.log(config.n_sensitive)))

    def set_sensitive_marginal(self, s: torch.Tensor) -> float:
        """Set H(S) to the entropy of the empirical distribution of ``s`` (nats) and return it."""
        self.h_s.copy_(plugin_entropy(s, self.config.n_sensitive))
        return float(self.h_s)

    def _unpack(self, batch):
        x, u, s = batch
        x = x.reshape(x.shape[0], -1)
        check_batch(x, 2, "x", self.config.input_dim, where="CLUB")
        return x, u, s

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance of q(z|x), each (B, latent_dim)."""
        return self.vib.encode(x)

    def sample(self, x: torch.Tensor) -> torch.Tensor:
        """One draw z ~ q(z|x), (B, latent_dim): the released representation."""
        mu, logvar = self.encode(x)
        return reparameterize(mu, logvar)

    def loss(self, batch) -> LossTerms:
        """The encoder's and utility decoder's objective, with the adversary held fixed."""
        x, u, s = self._unpack(batch)
        mu, logvar = self.encode(x)
        z = reparameterize(mu, logvar)  # (B, K)
        logits_u = self.vib.classifier(z)  # p(u|z), (B, n_utility)
        utility = F.cross_entropy(logits_u, u)  # >= H(U) - I(U;Z)
        rate = kl_diagonal_gaussians(mu, logvar).mean()  # >= I(X;Z)
        adversary_ce = self.adversary.cross_entropy(z, s)  # E[-log q_phi(s|z)] >= H(S|Z)
        leakage = self.h_s - adversary_ce  # <= I(S;Z), = I(S;Z) at the best adversary
        accuracy = (logits_u.argmax(-1) == u).float().mean()
        return LossTerms(terms={"utility": utility, "rate": rate, "leakage": leakage},
                         weights={"rate": self.config.beta, "leakage": self.config.alpha},
                         metrics={"accuracy": accuracy})

    def adversary_loss(self, batch) -> LossTerms:
        """The adversary's cross-entropy on codes of the current (frozen) encoder."""
        x, _, s = self._unpack(batch)
        with torch.no_grad():
            z = self.sample(x)
        return self.adversary.fit_loss(z, s)

    def players(self) -> list[Player]:
        c = self.config
        return [Player("main", list(self.vib.parameters()), c.optim),
                self.adversary.player("adversary", c.adversary_optim)]

    def schedule(self) -> list[Update]:
        # The adversary also trains at alpha = 0, where it only watches: its accuracy is then the
        # leakage of a plain VIB, comparable across the sweep.
        return [Update("adversary", self.adversary_loss, repeats=self.config.adversary_steps),
                Update("main", self.loss)]

    @torch.no_grad()
    def evaluate(self, x: torch.Tensor, u: torch.Tensor, s: torch.Tensor, batch_size: int = 2000) -> dict:
        """Test metrics: utility ``accuracy`` (12-draw predictive), ``utility_ce`` (one draw, nats),
        ``rate`` (nats), and the training adversary's ``adversary_accuracy`` and ``leakage``
        H(S) - its cross-entropy (nats)."""
        was_training = self.training
        self.eval()
        n = x.shape[0]
        x = x.reshape(n, -1)
        correct, ce_u, kl, ce_s, correct_s = 0.0, 0.0, 0.0, 0.0, 0.0
        for start in range(0, n, batch_size):
            xb, ub, sb = x[start:start + batch_size], u[start:start + batch_size], s[start:start + batch_size]
            correct += float((self.vib.log_predictive(xb).argmax(-1) == ub).sum())
            mu, logvar = self.encode(xb)
            z = reparameterize(mu, logvar)
            ce_u += float(F.cross_entropy(self.vib.classifier(z), ub, reduction="sum"))
            kl += float(kl_diagonal_gaussians(mu, logvar).sum())
            logits_s = self.adversary(z)
            ce_s += float(F.cross_entropy(logits_s, sb, reduction="sum"))
            correct_s += float((logits_s.argmax(-1) == sb).sum())
        self.train(was_training)
        return {"accuracy": correct / n, "utility_ce": ce_u / n, "rate": kl / n,
                "adversary_accuracy": correct_s / n, "leakage": float(self.h_s) - ce_s / n}
