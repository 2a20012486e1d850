r"""An adversary that predicts a discrete attribute from a code: the second player of the models that
limit what a representation says about an attribute.

For a code :math:`Z`, a discrete attribute :math:`A` with :math:`n` values and, optionally, a
discrete condition :math:`C`, the adversary is a classifier :math:`q_\phi(a \mid z)` (or
:math:`q_\phi(a \mid z, c)`, the condition fed one-hot). For every :math:`\phi`, Barber & Agakov's
bound gives

.. math::

    I(Z; A) \;\ge\; H(A) - \mathbb E\bigl[-\log q_\phi(a \mid z)\bigr], \qquad
    I(Z; A \mid C) \;\ge\; H(A \mid C) - \mathbb E\bigl[-\log q_\phi(a \mid z, c)\bigr],

with equality when :math:`q_\phi` is the true posterior. The adversary's player minimises its
cross-entropy on codes it cannot change (:meth:`AttributeAdversary.fit_loss`), which tightens the bound;
the encoder's player then minimises the bound (or the adversary's negated cross-entropy, which differs
by the constant entropy) with the adversary held fixed. Three models use it:

* :class:`~infobounds.models.club.CLUB` (chapter ``bottleneck_family``): the leakage :math:`I(S; Z)`;
* :class:`~infobounds.models.invariance.InvariantClassifier` (chapter ``distribution_shift``): the
  environment discriminator of DANN (:math:`I(Z; E)`) and CDANN (:math:`I(Z; E \mid Y)`);
* :class:`~infobounds.models.farconvae.AdversarialRepresentation` (chapter ``fair_representations``):
  the adversarial fair-representation baseline, which can also use the *confusion* objective
  (:meth:`AttributeAdversary.confusion`).
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from infobounds.models.base import LossTerms, OptimizerConfig, Player, parameters_of
from infobounds.nets import mlp

__all__ = ["AttributeAdversary"]


class AttributeAdversary(nn.Module):
    """An MLP classifier ``q_phi(a | z)`` (``n_condition = 0``) or ``q_phi(a | z, c)``.

    ``code_dim``: size of z; ``n_values``: values of the attribute a; ``hidden``: MLP widths;
    ``n_condition``: values of the condition c (0: none).
    """

    def __init__(self, code_dim: int, n_values: int, hidden: Sequence[int] = (64,), n_condition: int = 0):
        super().__init__()
        if n_values < 2:
            raise ValueError(f"an attribute needs at least two values, got n_values={n_values}")
        if n_condition < 0:
            raise ValueError(f"n_condition must be >= 0, got {n_condition}")
        self.code_dim, self.n_values, self.n_condition = code_dim, n_values, n_condition
        self.net = mlp(code_dim + n_condition, tuple(hidden), n_values)

    def forward(self, z: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        """Logits of q(a | z [, c]), (B, n_values), from codes (B, code_dim) and conditions (B,)."""
        if z.ndim != 2 or z.shape[1] != self.code_dim:
            raise ValueError(f"AttributeAdversary: codes must have shape (B, {self.code_dim}), got {tuple(z.shape)}")
        if self.n_condition:
            if condition is None:
                raise ValueError("AttributeAdversary: this adversary is conditional; pass the condition")
            z = torch.cat([z, F.one_hot(condition.long(), self.n_condition).to(z.dtype)], dim=1)  # (B, K + C)
        return self.net(z)

    def cross_entropy(self, z: torch.Tensor, a: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        """E[-log q(a | z [, c])] over the batch, nats: an upper bound on H(A | Z [, C])."""
        return F.cross_entropy(self(z, condition), a)

    def confusion(self, z: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of q(. | z) to the uniform distribution over the attribute, minus log n: zero
        exactly when the adversary is maximally uncertain (Alvi et al., 2018)."""
        log_q = F.log_softmax(self(z), dim=-1)  # (B, n)
        return -log_q.mean(-1).mean() - math.log(self.n_values)

    def fit_loss(self, z: torch.Tensor, a: torch.Tensor, condition: torch.Tensor | None = None,
                 term: str = "adversary_ce", metric: str = "accuracy") -> LossTerms:
        """The adversary's own objective, its cross-entropy (term ``term``), on codes detached from
        the encoder, with its accuracy as the metric ``metric``."""
        logits = self(z.detach(), condition)
        return LossTerms(terms={term: F.cross_entropy(logits, a)},
                         metrics={metric: (logits.argmax(-1) == a).float().mean()})

    def player(self, name: str = "adversary", optim: OptimizerConfig = OptimizerConfig()) -> Player:
        """The adversary as a player of its model's game, trained with ``optim``."""
        return Player(name, parameters_of(self), optim)
