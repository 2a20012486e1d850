r"""Classifiers with invariance penalties across environments (chapter ``distribution_shift``).

Federici, Tomioka & Forré (2021), *An Information-theoretic Approach to Distribution Shifts*;
Ganin et al. (2016), *Domain-Adversarial Training of Neural Networks* (DANN); Li et al. (2018),
*Deep Domain Generalization via Conditional Invariant Adversarial Networks* (CDANN); Arjovsky et al.
(2019), *Invariant Risk Minimization* (IRMv1); Krueger et al. (2021), *Out-of-Distribution
Generalization via Risk Extrapolation* (V-REx).

A VIB encoder :math:`q(z|x)` and classifier :math:`q(y|z)` (:class:`~infobounds.models.vib.VIB`) are
trained on examples :math:`(x, y, e)` from training environments :math:`e = 1..m`, with per-environment
risks :math:`R_e = \mathbb E_{p(x,y|e)}\mathbb E_{q(z|x)}[-\log q(y|z)]`, and

.. math::

    \mathcal L = \underbrace{\tfrac1m \textstyle\sum_e R_e}_{\texttt{risk}}
      + \beta\,\underbrace{\mathbb E\,\mathrm{KL}(q(z|x)\,\|\,r(z))}_{\texttt{kl}}
      + \lambda\,\texttt{penalty},

where the penalty is one criterion of the chapter:

* ``dann``, *independence* :math:`Z \perp E`: ``independence`` :math:`= H(E) - \mathbb E[-\log d(e|z)]`,
  a lower bound on :math:`I(Z;E)` (Barber-Agakov) whose discriminator :math:`d(e|z)` (an
  :class:`~infobounds.models.adversary.AttributeAdversary`) is a second player that minimises its
  cross-entropy while the encoder maximises it;
* ``cdann``, *separation* :math:`Z \perp E \mid Y`: ``separation`` :math:`= H(E|Y) - \mathbb E[-\log d(e|z,y)]
  \le I(Z;E|Y)`, the discriminator also seeing the label;
* ``irm``, *sufficiency* via IRMv1: ``irm_penalty`` :math:`= \frac1m\sum_e \lVert\nabla_{w|w=1} R_e(w \cdot
  \text{logits})\rVert^2`, zero when the classifier is simultaneously optimal in every environment;
* ``vrex``, *sufficiency* via risk extrapolation: ``rex_penalty`` :math:`= \operatorname{Var}_e R_e`.

``erm`` has no penalty (with ``beta = 0`` it is plain empirical risk minimisation, with ``beta > 0``
the VIB). As in IRM's code, :math:`\lambda = 1` for the first ``anneal_steps`` steps and the whole
loss is divided by :math:`\lambda` afterwards, so the risk's gradient shrinks rather than the
penalty's growing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch.nn import functional as F

from infobounds.bounds.discrete import plugin_entropy
from infobounds.bounds.gaussian import kl_diagonal_gaussians
from infobounds.models.adversary import AttributeAdversary
from infobounds.models.base import LossTerms, OptimizerConfig, Player, Trainable, Update, check_batch, parameters_of
from infobounds.models.vib import VIB, VIBConfig
from infobounds.nets import reparameterize
from infobounds.validation import require_at_least, require_choice, require_non_negative, require_positive

CRITERIA = ("erm", "dann", "cdann", "irm", "vrex")
PENALTY_NAME = {"dann": "independence", "cdann": "separation", "irm": "irm_penalty", "vrex": "rex_penalty"}


@dataclass(frozen=True)
class InvarianceConfig:
    """Defaults are the quick profile's (binary Coloured Fashion-MNIST at 14x14, two environments)."""

    criterion: str = "erm"  # "erm", "dann", "cdann", "irm" or "vrex"
    # Encoder and classifier; beta = 0 is ERM (IRM's MLP: 2x14x14 -> 390 -> 390 -> 1, no bottleneck).
    # They train with optim below, so vib.optim must be left at its default.
    vib: VIBConfig = field(default_factory=lambda: VIBConfig(
        input_dim=3 * 14 * 14, hidden=(128, 128), latent_dim=32, n_classes=2, beta=0.0))
    n_environments: int = 2  # m, number of training environments (e in 0..m-1)
    penalty_weight: float = 1e3  # lambda after the warm-up (IRM's Coloured MNIST: 91257)
    anneal_steps: int = 100  # steps with lambda = 1 before it jumps (IRM's Coloured MNIST: 190)
    discriminator_hidden: tuple[int, ...] = (64,)  # d(e|z) or d(e|z, y) MLP widths (dann, cdann)
    discriminator_steps: int = 1  # discriminator updates per encoder update
    optim: OptimizerConfig = OptimizerConfig(weight_decay=1e-3)  # Adam of encoder and classifier (IRM: L2 0.0011)
    discriminator_optim: OptimizerConfig = OptimizerConfig()  # Adam of the discriminator

    def __post_init__(self) -> None:
        require_choice("criterion", self.criterion, CRITERIA)
        require_at_least(2, n_environments=self.n_environments)  # invariance needs at least two
        require_non_negative(penalty_weight=self.penalty_weight, anneal_steps=self.anneal_steps)
        require_at_least(1, discriminator_steps=self.discriminator_steps)
        require_positive(discriminator_hidden=self.discriminator_hidden)
        if self.vib.optim != OptimizerConfig():
            raise ValueError(f"InvarianceConfig: the encoder and classifier train with optim, so vib.optim must be "
                             f"the default, got vib.optim={self.vib.optim!r}")

    @property
    def penalty(self) -> str | None:
        """Name of the penalty term, None for ERM."""
        return PENALTY_NAME.get(self.criterion)


def per_environment_risks(ce: torch.Tensor, e: torch.Tensor, m: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean of ``ce`` (B,) within each environment ``e`` (B,) in 0..m-1: risks (m,) and a mask of the
    environments present in the batch."""
    counts = torch.bincount(e, minlength=m)[:m].to(ce.dtype)  # (m,)
    sums = torch.zeros(m, dtype=ce.dtype, device=ce.device).index_add(0, e, ce)
    return sums / counts.clamp_min(1.0), counts > 0


class InvariantClassifier(Trainable):
    """A :class:`VIB` trained on (x, y, e) batches with the penalty of ``config.criterion``."""

    def __init__(self, config: InvarianceConfig = InvarianceConfig()):
        super().__init__()
        self.config = config
        self.vib = VIB(config.vib)
        self.discriminator = None
        if config.criterion in ("dann", "cdann"):
            # d(e|z), or d(e|z, y) for cdann: the label is the discriminator's condition
            conditional = config.vib.n_classes if config.criterion == "cdann" else 0
            self.discriminator = AttributeAdversary(config.vib.latent_dim, config.n_environments,
                                                    config.discriminator_hidden, n_condition=conditional)
        self.register_buffer("steps_done", torch.zeros((), dtype=torch.long))  # encoder steps, for the warm-up
        self.autocast_safe = config.criterion != "irm"  # bf16 double backward loses too much

    # -- pieces ------------------------------------------------------------------------------------
    def _check(self, batch):
        if len(batch) != 3:
            raise ValueError("InvariantClassifier needs batches (x, y, e): stream the environment index too")
        x, y, e = batch
        x = x.reshape(x.shape[0], -1)
        check_batch(x, 2, "x", self.config.vib.input_dim, where="InvariantClassifier")
        if int(e.max()) >= self.config.n_environments or int(e.min()) < 0:
            raise ValueError(f"environment indices must lie in 0..{self.config.n_environments - 1}")
        return x, y, e

    def _condition(self, y: torch.Tensor) -> torch.Tensor | None:
        return y if self.config.criterion == "cdann" else None

    def _conditional_entropy_e(self, y: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        """H(E) of the batch (dann) or H(E|Y) = H(E, Y) - H(Y) (cdann), in nats."""
        m = self.config.n_environments
        if self.config.criterion == "dann":
            return plugin_entropy(e, m)
        c = self.config.vib.n_classes
        return plugin_entropy(y * m + e, m * c) - plugin_entropy(y, c)

    def current_penalty_weight(self) -> float:
        """lambda: 1 during the warm-up, ``penalty_weight`` afterwards."""
        return 1.0 if int(self.steps_done) < self.config.anneal_steps else self.config.penalty_weight

    # -- losses ------------------------------------------------------------------------------------
    def loss(self, batch) -> LossTerms:
        x, y, e = self._check(batch)
        c, m = self.config, self.config.n_environments
        mu, logvar = self.vib.encode(x)
        z = reparameterize(mu, logvar)  # (B, K)
        logits = self.vib.classifier(z)  # (B, C)
        scale = None
        if c.criterion == "irm":  # the dummy classifier w = 1 of IRMv1
            scale = torch.ones((), device=x.device, requires_grad=True)
            logits = logits * scale
        ce = F.cross_entropy(logits, y, reduction="none")  # (B,)
        risks, present = per_environment_risks(ce, e, m)  # (m,), (m,)
        terms = {"risk": risks[present].mean()}
        if c.vib.beta > 0:
            terms["kl"] = kl_diagonal_gaussians(mu, logvar).mean()
        if c.criterion == "irm":
            grads = [torch.autograd.grad(risks[k], scale, create_graph=True)[0] for k in range(m) if present[k]]
            terms["irm_penalty"] = torch.stack(grads).pow(2).mean()  # (1/m) sum_e (dR_e/dw at w=1)^2
        elif c.criterion == "vrex":
            terms["rex_penalty"] = risks[present].var(unbiased=False)  # Var_e R_e
        elif c.criterion in ("dann", "cdann"):
            d_ce = self.discriminator.cross_entropy(z, e, condition=self._condition(y))
            # H(E) - E[-log d(e|z)] <= I(Z;E); (cdann: H(E|Y) - E[-log d(e|z,y)] <= I(Z;E|Y))
            terms[c.penalty] = self._conditional_entropy_e(y, e) - d_ce
        lam = self.current_penalty_weight() if c.penalty else 1.0
        s = max(lam, 1.0)  # divide the whole loss by lambda once lambda > 1 (IRM's code)
        weights = {"risk": 1.0 / s}
        if "kl" in terms:
            weights["kl"] = c.vib.beta / s
        if c.penalty:
            weights[c.penalty] = lam / s
        if self.training:
            self.steps_done += 1
        accuracy = (logits.argmax(-1) == y).float().mean()
        metrics = {"accuracy": accuracy.detach(), "penalty_weight": torch.tensor(lam, device=x.device)}
        metrics.update({f"risk_env{k}": risks[k].detach() for k in range(m)})
        return LossTerms(terms=terms, weights=weights, metrics=metrics)

    def discriminator_loss(self, batch) -> LossTerms:
        """Cross-entropy of d(e|z) (or d(e|z, y)) on codes the encoder does not learn from here."""
        x, y, e = self._check(batch)
        with torch.no_grad():
            mu, logvar = self.vib.encode(x)
            z = reparameterize(mu, logvar)
        return self.discriminator.fit_loss(z, e, condition=self._condition(y), term="discriminator_ce",
                                           metric="discriminator_accuracy")

    def players(self) -> list[Player]:
        c = self.config
        players = [Player("main", parameters_of(self.vib), c.optim)]
        if self.discriminator is not None:
            players.append(self.discriminator.player("discriminator", c.discriminator_optim))
        return players

    def schedule(self) -> list[Update]:
        if self.discriminator is None:
            return [Update("main", self.loss)]
        return [Update("discriminator", self.discriminator_loss, repeats=self.config.discriminator_steps),
                Update("main", self.loss)]

    @torch.no_grad()
    def evaluate(self, x: torch.Tensor, y: torch.Tensor, n_samples: int = 12) -> dict:
        """Accuracy and cross-entropy (nats) of the predictive, as :meth:`VIB.evaluate`."""
        return self.vib.evaluate(x.reshape(x.shape[0], -1), y, n_samples=n_samples)

    @torch.no_grad()
    def representation(self, x: torch.Tensor) -> torch.Tensor:
        """The mean of q(z|x), (B, K)."""
        return self.vib.encode(x.reshape(x.shape[0], -1))[0]
