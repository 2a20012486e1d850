r"""Disentanglement under correlated attributes: MI against conditional-MI penalties (chapter
``cmi_disentanglement``).

Funke, Vicol, Wang, Kümmerer, Zemel & Bethge (2022), *Disentanglement and Generalization Under
Correlation Shifts*, CoLLAs.

An encoder maps x to a code split into subspaces :math:`z = (z_1, z_2)`; a linear head on
:math:`z_k` predicts the attribute :math:`a_k` (supervised, cross-entropy ``ce_k``). A penalty asks
the subspaces to be disentangled:

.. math::

    \mathcal L = \texttt{ce\_1} + \texttt{ce\_2} + \lambda \cdot
    \begin{cases}
    I(z_1; z_2) & \texttt{penalty="mi"} \\
    I(z_1; z_2 \mid a_1) + I(z_1; z_2 \mid a_2) & \texttt{penalty="cmi"}
    \end{cases}

When the attributes are correlated, :math:`I(z_1; z_2) = 0` is incompatible with :math:`z_k` carrying
its own attribute: the MI penalty forces the subspaces to give up information. The conditional MI
only removes dependence that the attributes do not explain.

Two adversarial estimators are implemented (``SubspaceConfig.estimator``):

* ``"shuffle"`` (the paper's): a critic tells real pairs :math:`(z_1, z_2)` from pairs whose
  :math:`z_2` was shuffled across the batch (MI) or only among examples with the same value of
  :math:`a_k` (:func:`shuffle_within`, CMI given :math:`a_k`; the critic also sees :math:`a_k`), by the
  density-ratio trick of chapter ``factorvae`` (:class:`TCDiscriminator`,
  :func:`discriminator_cross_entropy`). Its mean logit on real pairs estimates the (conditional) MI
  in nats; the encoder's penalty is :math:`\log 2` minus the critic's cross-entropy (the critic's
  Jensen-Shannon estimate).
* ``"classifier"`` (the quick profile's): since :math:`a_j` is a function of an ideal :math:`z_j`,
  :math:`I(z_k; a_j \mid a_k) \le I(z_k; z_j \mid a_k)` and :math:`I(z_k; a_j) \le I(z_k; z_j)`;
  a classifier :math:`q(a_j \mid z_k, a_k)` (CMI) or :math:`q(a_j \mid z_k)` (MI),
  :class:`LeakageClassifier`, gives the lower bound :math:`H(a_j \mid a_k) - \text{cross-entropy}`
  of that leakage in nats, and the encoder minimises the confusion loss
  :math:`\mathbb{E}\,\mathrm{KL}(\hat p(a_j \mid a_k) \,\|\, q(a_j \mid z_k, a_k))` (:func:`leakage_terms`), summed
  over :math:`(k, j) = (1, 2), (2, 1)`.

In CPU-sized runs on the shapes the shuffle critics' penalty was too noisy to be robust (the chapter
says so); the classifier version separated the penalties on every seed tried.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from infobounds.models.base import LossTerms, OptimizerConfig, Player, Trainable, Update, check_batch, parameters_of
from infobounds.models.factorvae import TCDiscriminator, discriminator_cross_entropy
from infobounds.nets import mlp
from infobounds.validation import (require_at_least, require_choice, require_length, require_non_negative,
                                   require_positive)

PENALTIES = ("none", "mi", "cmi")
ESTIMATORS = ("shuffle", "classifier")


def shuffle_within(z: torch.Tensor, labels: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Permute the rows of ``z`` among rows with the same label, (B, d) -> (B, d).

    If (z_1, z_2, a) are draws of p(z_1, z_2, a), then (z_1, shuffled z_2, a) are draws of
    p(a) p(z_1 | a) p(z_2 | a), the product of the conditionals that defines I(z_1; z_2 | a) (up to
    the within-batch dependence of chapter ``factorvae``'s permuted codes)."""
    check_batch(z, 2, "z", where="shuffle_within")
    if labels.shape[0] != z.shape[0]:
        raise ValueError(f"labels must have one entry per row of z, got {labels.shape[0]} and {z.shape[0]}")
    keys = torch.rand(z.shape[0], generator=generator).to(z.device) if generator is not None else \
        torch.rand(z.shape[0], device=z.device)
    # Rows sorted by label (ties in their original order) and sorted by label then by a random key
    # list the same label blocks; sending the i-th of one list to the i-th of the other permutes
    # rows within their label only.
    by_label = torch.argsort(labels, stable=True)
    by_key = torch.argsort(labels.double() * 2.0 + keys.double())
    out = torch.empty_like(z)
    out[by_label] = z[by_key]
    return out


class PairCritic(nn.Module):
    """d(z_1, z_2[, a]): the logit of "a real pair" for the density-ratio estimate of (conditional) MI."""

    def __init__(self, z1_dim: int, z2_dim: int, n_values: int = 0, hidden: tuple[int, ...] = (64, 64)):
        super().__init__()
        self.n_values = n_values
        self.net = TCDiscriminator(z1_dim + z2_dim + n_values, hidden)

    def forward(self, z1: torch.Tensor, z2: torch.Tensor, a: torch.Tensor | None = None) -> torch.Tensor:
        parts = [z1, z2]
        if self.n_values:
            parts.append(F.one_hot(a.long(), self.n_values).to(z1.dtype))
        return self.net(torch.cat(parts, dim=1))  # (B,)


def pair_critic_loss(critic: PairCritic, z1: torch.Tensor, z2: torch.Tensor, a: torch.Tensor | None = None
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """(cross-entropy of the critic, its mean logit on real pairs = the MI / CMI estimate in nats).

    Fake pairs keep z_1 and take z_2 from another example: any example (MI) or one with the same a (CMI)."""
    z2_fake = z2[torch.randperm(z2.shape[0], device=z2.device)] if a is None else shuffle_within(z2, a)
    d_real = critic(z1, z2, a)
    d_fake = critic(z1, z2_fake, a)
    return discriminator_cross_entropy(d_real, d_fake), d_real.mean()


def plugin_conditional(target: torch.Tensor, n_target: int, cond: torch.Tensor | None = None, n_cond: int = 1
                       ) -> torch.Tensor:
    """The batch's empirical p(target | cond) evaluated at each row's cond, (B, n_target) (``cond=None``:
    the marginal p(target) on every row)."""
    cond = torch.zeros_like(target) if cond is None else cond
    counts = torch.zeros(n_cond, n_target, device=target.device)
    counts.index_put_((cond.long(), target.long()), torch.ones_like(target, dtype=counts.dtype), accumulate=True)
    return (counts / counts.sum(1, keepdim=True).clamp_min(1.0))[cond.long()]  # (B, n_target)


class LeakageClassifier(nn.Module):
    """q(a_j | z_k) (MI) or q(a_j | z_k, a_k) (CMI): how much a subspace says about the *other* attribute."""

    def __init__(self, z_dim: int, n_target: int, n_cond: int = 0, hidden: tuple[int, ...] = (64, 64)):
        super().__init__()
        self.n_cond = n_cond
        self.net = mlp(z_dim + n_cond, hidden, n_target)

    def forward(self, z: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        if self.n_cond:
            z = torch.cat([z, F.one_hot(cond.long(), self.n_cond).to(z.dtype)], dim=1)
        return self.net(z)  # (B, n_target) logits


def leakage_terms(classifier: LeakageClassifier, z: torch.Tensor, target: torch.Tensor, n_target: int,
                  cond: torch.Tensor | None = None, n_cond: int = 1
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(the classifier's cross-entropy, the encoder's confusion loss, the (C)MI lower bound in nats).

    With p = the batch's empirical p(a_j | a_k) (CMI) or p(a_j) (MI) and q the classifier:
    I(z_k; a_j | a_k) >= H(a_j | a_k) - E[-log q(a_j | z_k, a_k)] (the bound, tight when q is the true
    posterior); the confusion loss E KL(p(. | a_k) || q(. | z_k, a_k)) >= 0 is zero exactly when the
    classifier can do no better than the attribute a_k alone."""
    log_q = F.log_softmax(classifier(z, cond), dim=1)  # (B, n_target)
    ce = F.nll_loss(log_q, target)
    p = plugin_conditional(target, n_target, cond, n_cond if cond is not None else 1)  # (B, n_target)
    entropy = -(p * p.clamp_min(1e-12).log()).sum(1).mean()  # plug-in H(a_j | a_k) (or H(a_j))
    confusion = (p * (p.clamp_min(1e-12).log() - log_q)).sum(1).mean()
    return ce, confusion, entropy - ce


@dataclass(frozen=True)
class SubspaceConfig:
    """Defaults are the quick profile's (16 x 16 shapes, two attributes of 3 values each)."""

    input_dim: int = 256  # flattened image size
    hidden: tuple[int, ...] = (128, 64)  # encoder MLP widths
    subspace_dims: tuple[int, int] = (4, 4)  # dimensions of z_1 and z_2
    n_classes: tuple[int, int] = (3, 3)  # values of a_1 and a_2
    penalty: str = "cmi"  # none, mi or cmi
    weight: float = 1.0  # lambda (paper: disentangle_weight 1-10)
    critic_hidden: tuple[int, ...] = (64, 64)  # MLP widths of the critics
    optim: OptimizerConfig = OptimizerConfig()  # Adam for encoder and heads (paper: lr 1e-5 / 1e-4)
    critic_optim: OptimizerConfig = OptimizerConfig()  # Adam for the critics (paper: lr 1e-4)
    critic_steps: int = 1  # critic updates per encoder update
    estimator: str = "classifier"  # classifier: q(a_j | z_k[, a_k]); shuffle: pair critic on shuffled z_2

    def __post_init__(self) -> None:
        require_choice("penalty", self.penalty, PENALTIES)
        require_choice("estimator", self.estimator, ESTIMATORS)
        require_non_negative(weight=self.weight)
        require_length(2, subspace_dims=self.subspace_dims, n_classes=self.n_classes)
        require_positive(input_dim=self.input_dim, hidden=self.hidden, subspace_dims=self.subspace_dims,
                         critic_hidden=self.critic_hidden)
        require_at_least(2, n_classes=self.n_classes)
        require_at_least(1, critic_steps=self.critic_steps)


class SubspaceClassifier(Trainable):
    """Encoder to (z_1, z_2), a linear head per subspace, and the critics of the penalty."""

    def __init__(self, config: SubspaceConfig = SubspaceConfig()):
        super().__init__()
        self.config = c = config
        self.encoder = mlp(c.input_dim, c.hidden, sum(c.subspace_dims))
        self.heads = nn.ModuleList([nn.Linear(d, k) for d, k in zip(c.subspace_dims, c.n_classes)])
        d1, d2 = c.subspace_dims
        k1, k2 = c.n_classes
        if c.penalty != "none" and c.estimator == "classifier":  # q(a_2 | z_1[, a_1]), q(a_1 | z_2[, a_2])
            cond = c.penalty == "cmi"
            self.critics = nn.ModuleList([LeakageClassifier(d1, k2, k1 if cond else 0, c.critic_hidden),
                                          LeakageClassifier(d2, k1, k2 if cond else 0, c.critic_hidden)])
        elif c.penalty == "mi":
            self.critics = nn.ModuleList([PairCritic(d1, d2, 0, c.critic_hidden)])
        elif c.penalty == "cmi":  # one critic per conditioning attribute
            self.critics = nn.ModuleList([PairCritic(d1, d2, k, c.critic_hidden) for k in c.n_classes])
        else:
            self.critics = nn.ModuleList()

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(z_1, z_2), (B, d_1) and (B, d_2)."""
        x = x.reshape(x.shape[0], -1)
        check_batch(x, 2, "x", self.config.input_dim, where="SubspaceClassifier")
        return torch.split(self.encoder(x), list(self.config.subspace_dims), dim=1)

    def logits(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z1, z2 = self.encode(x)
        return self.heads[0](z1), self.heads[1](z2)

    def _penalties(self, z1, z2, a1, a2) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(critics' total cross-entropy, the encoder's adversarial loss, the sum of the critics' MI/CMI
        estimates in nats)."""
        if self.config.estimator == "classifier":
            k1, k2 = self.config.n_classes
            cmi = self.config.penalty == "cmi"
            t1 = leakage_terms(self.critics[0], z1, a2, k2, a1 if cmi else None, k1)
            t2 = leakage_terms(self.critics[1], z2, a1, k1, a2 if cmi else None, k2)
            return t1[0] + t2[0], t1[1] + t2[1], t1[2] + t2[2]
        conds = [None] if self.config.penalty == "mi" else [a1, a2]
        ce, adversarial, est = [], [], []
        for critic, a in zip(self.critics, conds):
            c, e = pair_critic_loss(critic, z1, z2, a)
            ce.append(c)
            est.append(e)
            adversarial.append(math.log(2.0) - c)  # log 2 - cross-entropy: the critic's JSD estimate
        return sum(ce), sum(adversarial), sum(est)

    def loss(self, batch) -> LossTerms:
        """ce_1 + ce_2 + lambda * the adversarial (C)MI penalty (log 2 - the critics' cross-entropy),
        for the encoder and the heads; the critics' MI/CMI estimates in nats are logged as metrics."""
        x, a1, a2 = batch
        z1, z2 = self.encode(x)
        ce1 = F.cross_entropy(self.heads[0](z1), a1)
        ce2 = F.cross_entropy(self.heads[1](z2), a2)
        terms = {"ce_1": ce1, "ce_2": ce2}
        weights, metrics = {}, {}
        if self.config.penalty != "none":
            _, adversarial, estimate = self._penalties(z1, z2, a1, a2)
            name = self.config.penalty  # "mi" or "cmi"
            terms[f"{name}_adversarial"] = adversarial
            weights[f"{name}_adversarial"] = self.config.weight
            metrics[name] = estimate.detach()  # the critics' estimate in nats
        return LossTerms(terms=terms, weights=weights, metrics=metrics)

    def critic_loss(self, batch) -> LossTerms:
        x, a1, a2 = batch
        with torch.no_grad():
            z1, z2 = self.encode(x)
        ce, _, estimate = self._penalties(z1, z2, a1, a2)
        return LossTerms(terms={"cross_entropy": ce}, metrics={"estimate": estimate})

    def players(self) -> list[Player]:
        c = self.config
        main = [Player("main", parameters_of(self.encoder, self.heads), c.optim)]
        if c.penalty == "none":
            return main
        return main + [Player("critic", parameters_of(self.critics), c.critic_optim)]

    def schedule(self) -> list[Update]:
        if self.config.penalty == "none":
            return [Update("main", self.loss)]
        return [Update("critic", self.critic_loss, self.config.critic_steps), Update("main", self.loss)]

    @torch.no_grad()
    def accuracy(self, x: torch.Tensor, a1: torch.Tensor, a2: torch.Tensor, batch_size: int = 4096) -> tuple[float, float]:
        """Accuracy of the two heads on (x, a_1, a_2)."""
        hits = torch.zeros(2)
        for start in range(0, x.shape[0], batch_size):
            l1, l2 = self.logits(x[start:start + batch_size])
            hits[0] += float((l1.argmax(1) == a1[start:start + batch_size]).sum())
            hits[1] += float((l2.argmax(1) == a2[start:start + batch_size]).sum())
        return float(hits[0] / x.shape[0]), float(hits[1] / x.shape[0])


# ------------------------------------------------------------------------------------------------
# The adversarial CMI estimator on its own (the chapter's check on Gaussians); it is trained by
# infobounds.estimators.conditional_mi.estimate_conditional_mi
# ------------------------------------------------------------------------------------------------
class ConditionalMIEstimator(Trainable):
    """A critic trained to estimate I(z_1; z_2 | a) (or I(z_1; z_2) with ``n_values=0``)."""

    def __init__(self, z1_dim: int, z2_dim: int, n_values: int, hidden: tuple[int, ...] = (64, 64),
                 optim: OptimizerConfig = OptimizerConfig()):
        super().__init__()
        self.critic = PairCritic(z1_dim, z2_dim, n_values, hidden)
        self.optim = optim
        self.n_values = n_values

    def loss(self, batch) -> LossTerms:
        z1, z2, a = batch
        ce, estimate = pair_critic_loss(self.critic, z1, z2, a if self.n_values else None)
        return LossTerms(terms={"cross_entropy": ce}, metrics={"estimate": estimate})

    def players(self) -> list[Player]:
        return [Player("critic", list(self.parameters()), self.optim)]

    def schedule(self) -> list[Update]:
        return [Update("critic", self.loss)]
