r"""Principal subspace as an optimisation on the Stiefel manifold: the known-answer check of Cayley Adam.

For a symmetric :math:`C \in \mathbb R^{\ell\times\ell}` with eigenvalues
:math:`\lambda_1 \ge \dots \ge \lambda_\ell`,

.. math:: \max_{U \in \mathrm{St}(\ell, m)} \operatorname{tr}(U^\top C U) = \sum_{i=1}^m \lambda_i,
   \qquad \mathrm{St}(\ell, m) = \{U \in \mathbb R^{\ell\times m} : U^\top U = I_m\}

(Ky Fan, 1949), attained by the top :math:`m` eigenvectors. :class:`StiefelPCA` minimises
:math:`-\operatorname{tr}(U^\top C U)` with :class:`~infobounds.optim.CayleyAdam` (Li, Fuxin & Todorovic,
2020, Algorithm 2), which keeps :math:`U` on the manifold, so a run can be checked against both the
Ky Fan maximum and :math:`U^\top U = I` (chapter ``stiefel_rkm``). It trains with
:func:`infobounds.training.fit` like every model; each batch is ``(C[None],)``, e.g. from
``BatchStream(cov[None], batch_size=1)``.
"""

from __future__ import annotations

import torch
from torch import nn

from infobounds.models.base import LossTerms, OptimizerConfig, Player, Trainable
from infobounds.optim.cayley import CAYLEY_BETAS, CayleyAdam, cayley_adam


class StiefelPCA(Trainable):
    """:math:`U` (ell, m) with orthonormal columns, trained to maximise :math:`\\operatorname{tr}(U^\\top C U)`.

    Loss term ``neg_trace`` is :math:`-\\operatorname{tr}(U^\\top C U)`; metric ``orthogonality_error``
    is :math:`\\max|U^\\top U - I|` of the iterate the step starts from.
    """

    def __init__(self, u0: torch.Tensor, optim: OptimizerConfig = OptimizerConfig(lr=0.2, betas=CAYLEY_BETAS)):
        super().__init__()
        if u0.ndim != 2 or u0.shape[0] < u0.shape[1]:
            raise ValueError(f"u0 must be an (ell, m) matrix with ell >= m, got shape {tuple(u0.shape)}")
        error = CayleyAdam.orthogonality_error(u0)
        if error > 1e-5:
            raise ValueError(f"u0 must have orthonormal columns (max |U^T U - I| = {error:.1e}); take the Q of a QR")
        self.u = nn.Parameter(u0.clone())
        self.optim = optim  # Cayley Adam's settings

    def trace(self, cov: torch.Tensor) -> torch.Tensor:
        """:math:`\\operatorname{tr}(U^\\top C U)` for a symmetric (ell, ell) ``cov``."""
        return torch.trace(self.u.T @ cov @ self.u)

    def loss(self, batch) -> LossTerms:
        cov = batch[0][0]  # the stream's batch is (C[None],)
        if cov.shape != (self.u.shape[0],) * 2:
            raise ValueError(f"StiefelPCA.loss: C must be ({self.u.shape[0]}, {self.u.shape[0]}), got {tuple(cov.shape)}")
        error = torch.tensor(CayleyAdam.orthogonality_error(self.u), dtype=self.u.dtype)
        return LossTerms({"neg_trace": -self.trace(cov)}, metrics={"orthogonality_error": error})

    def players(self) -> list[Player]:
        return [Player("main", [self.u], self.optim, optimizer=cayley_adam)]
