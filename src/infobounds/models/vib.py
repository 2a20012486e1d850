r"""Deep Variational Information Bottleneck (chapter ``information_bottleneck``).

Alemi, Fischer, Dillon & Murphy (2017), *Deep Variational Information Bottleneck*, ICLR.

The information bottleneck asks for a representation :math:`Z` of :math:`X` that keeps what predicts
:math:`Y` and forgets the rest, :math:`\max I(Z;Y) - \beta I(Z;X)`. With an encoder
:math:`p(z|x) = \mathcal N(\mu(x), \operatorname{diag}\sigma^2(x))`, a classifier :math:`q(y|z)` and a
prior :math:`r(z) = \mathcal N(0, I)`, the chapter derives the bound minimised here:

.. math::

    \mathcal L = \underbrace{\mathbb E_{p(x,y)} \mathbb E_{p(z|x)} [-\log q(y|z)]}_{\texttt{ce}}
      + \beta \, \underbrace{\mathbb E_{p(x)} \mathrm{KL}(p(z|x) \,\|\, r(z))}_{\texttt{kl}}
    \;\ge\; H(Y) - I(Z;Y) + \beta I(Z;X) .

``kl`` (the *rate*) upper-bounds :math:`I(Z;X)`; :math:`H(Y) - \texttt{ce}` lower-bounds :math:`I(Z;Y)`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from infobounds.bounds.discrete import plugin_entropy
from infobounds.bounds.gaussian import kl_diagonal_gaussians
from infobounds.models.base import LossTerms, OptimizerConfig, Player, Trainable, check_batch
from infobounds.nets import GaussianHead, mlp, reparameterize
from infobounds.validation import require_at_least, require_non_negative, require_positive


@dataclass(frozen=True)
class VIBConfig:
    """Defaults are the quick profile's; the paper's setting is ``VIBConfig.paper()``."""

    input_dim: int = 784  # flattened image size
    hidden: tuple[int, ...] = (256, 256)  # encoder MLP widths (paper: 1024, 1024)
    latent_dim: int = 32  # K, the bottleneck's dimension (paper: 256)
    n_classes: int = 10
    beta: float = 1e-3  # weight of the rate term
    # Adam (paper: lr 1e-4, betas (0.5, 0.999), the rate times 0.97 every 2 epochs)
    optim: OptimizerConfig = OptimizerConfig()
    train_samples: int = 1  # Monte Carlo samples of z per x in the training loss
    std_shift: float = -5.0  # sigma = softplus(raw - 5), the paper's initialisation of small noise

    def __post_init__(self) -> None:
        require_non_negative(beta=self.beta)
        require_positive(input_dim=self.input_dim, hidden=self.hidden, latent_dim=self.latent_dim)
        require_at_least(2, n_classes=self.n_classes)
        require_at_least(1, train_samples=self.train_samples)

    @classmethod
    def paper(cls, beta: float = 1e-3, steps_per_epoch: int = 600) -> "VIBConfig":
        """The setting of Alemi et al. (2017) on permutation-invariant MNIST."""
        return cls(hidden=(1024, 1024), latent_dim=256, beta=beta,
                   optim=OptimizerConfig(lr=1e-4, betas=(0.5, 0.999), decay=0.97, decay_every=2 * steps_per_epoch))


class VIB(Trainable):
    """Gaussian encoder p(z|x), softmax classifier q(y|z) on z, standard-normal prior r(z)."""

    def __init__(self, config: VIBConfig = VIBConfig()):
        super().__init__()
        self.config = config
        self.body = mlp(config.input_dim, config.hidden[:-1], config.hidden[-1]) if config.hidden else nn.Identity()
        feat = config.hidden[-1] if config.hidden else config.input_dim
        self.head = GaussianHead(feat, config.latent_dim, shift=config.std_shift)
        self.classifier = nn.Linear(config.latent_dim, config.n_classes)  # q(y|z), as in the paper

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance of p(z|x); x is (B, input_dim) or images (B, C, H, W)."""
        x = x.reshape(x.shape[0], -1)
        check_batch(x, 2, "x", self.config.input_dim, where="VIB.encode")
        h = F.relu(self.body(x)) if self.config.hidden else x
        return self.head(h)  # (B, K), (B, K)

    def loss(self, batch) -> LossTerms:
        x, y = batch
        mu, logvar = self.encode(x)
        z = reparameterize(mu, logvar, self.config.train_samples)  # (B, K) or (S, B, K)
        logits = self.classifier(z)
        if logits.ndim == 3:
            ce = F.cross_entropy(logits.flatten(0, 1), y.repeat(self.config.train_samples))
        else:
            ce = F.cross_entropy(logits, y)
        kl = kl_diagonal_gaussians(mu, logvar).mean()
        accuracy = (logits.reshape(-1, logits.shape[-1]).argmax(-1) ==
                    y.repeat(self.config.train_samples)).float().mean()
        return LossTerms(terms={"ce": ce, "kl": kl}, weights={"kl": self.config.beta},
                         metrics={"accuracy": accuracy})

    def log_predictive(self, x: torch.Tensor, n_samples: int = 12) -> torch.Tensor:
        """log of the predictive q(y|x) = E_{p(z|x)} q(y|z), by ``n_samples`` draws (paper: 12)."""
        mu, logvar = self.encode(x)
        z = reparameterize(mu, logvar, n_samples).reshape(n_samples, *mu.shape)
        log_q = F.log_softmax(self.classifier(z), dim=-1)  # (S, B, C)
        return log_q.logsumexp(0) - math.log(n_samples)  # (B, C)

    def players(self) -> list[Player]:
        return [Player("main", list(self.parameters()), self.config.optim)]

    @torch.no_grad()
    def evaluate(self, x: torch.Tensor, y: torch.Tensor, n_samples: int = 12, batch_size: int = 2000) -> dict:
        """Test metrics in nats: accuracy, ``ce`` of the ``n_samples``-draw predictive, ``rate`` (the KL
        term), and the information-plane coordinates ``rate`` >= I(Z;X) and
        ``i_zy_lower`` = H(Y) - E[-log q(y|z)] <= I(Z;Y), the latter with one draw of z as in the
        objective (not H(Y) - ce)."""
        was_training = self.training
        self.eval()
        correct, ce_sum, kl_sum, ce_z_sum = 0.0, 0.0, 0.0, 0.0
        for start in range(0, x.shape[0], batch_size):
            xb, yb = x[start:start + batch_size], y[start:start + batch_size]
            log_pred = self.log_predictive(xb, n_samples)
            correct += float((log_pred.argmax(-1) == yb).sum())
            ce_sum += float(F.nll_loss(log_pred, yb, reduction="sum"))
            mu, logvar = self.encode(xb)
            kl_sum += float(kl_diagonal_gaussians(mu, logvar).sum())
            z = reparameterize(mu, logvar)
            ce_z_sum += float(F.cross_entropy(self.classifier(z), yb, reduction="sum"))
        n = x.shape[0]
        h_y = float(plugin_entropy(y, self.config.n_classes, dtype=torch.float64))
        self.train(was_training)
        return {
            "accuracy": correct / n,
            "error": 1.0 - correct / n,
            "ce": ce_sum / n,
            "rate": kl_sum / n,
            "h_y": h_y,
            # The variational bound uses one draw of z, E_{p(z|x)}[-log q(y|z)], as in the objective.
            "i_zy_lower": h_y - ce_z_sum / n,
        }
