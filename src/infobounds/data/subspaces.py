r"""A labelled mixture of low-rank linear subspaces with a controlled overlap (chapter
``closed_loop_transcription``).

Class :math:`j` lives in the :math:`r`-dimensional subspace spanned by the orthonormal columns of

.. math:: B_j = \sqrt{\rho}\, U_0 + \sqrt{1 - \rho}\, U_j \in \mathbb R^{D \times r},

where :math:`U_0, U_1, \ldots, U_k` are mutually orthogonal blocks of one random orthonormal basis
(so :math:`(k+1) r \le D`). Then :math:`B_j^\top B_j = I_r` and :math:`B_i^\top B_j = \rho I_r` for
:math:`i \ne j`: every principal angle between two class subspaces has cosine :math:`\rho`
(``overlap``). A sample is :math:`x = B_j c + \sigma e` with :math:`c \sim \mathcal N(0, I_r)` and
:math:`e \sim \mathcal N(0, I_D)`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class SubspaceMixture:
    """Samples ``x`` (N, D), labels ``y`` (N,), and the class bases ``bases`` (k, D, r)."""

    x: torch.Tensor
    y: torch.Tensor
    bases: torch.Tensor

    def __len__(self) -> int:
        return self.x.shape[0]


def subspace_bases(n_classes: int, ambient_dim: int, subspace_dim: int, overlap: float,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """Orthonormal bases (k, D, r) of k subspaces whose principal angles all have cosine ``overlap``."""
    if n_classes < 1 or subspace_dim < 1:
        raise ValueError(f"n_classes and subspace_dim must be positive, got {n_classes} and {subspace_dim}")
    if (n_classes + 1) * subspace_dim > ambient_dim:
        raise ValueError(f"(n_classes + 1) * subspace_dim = {(n_classes + 1) * subspace_dim} exceeds "
                         f"ambient_dim = {ambient_dim}")
    if not 0.0 <= overlap < 1.0:
        raise ValueError(f"overlap must lie in [0, 1), got {overlap}")
    q, _ = torch.linalg.qr(torch.randn(ambient_dim, (n_classes + 1) * subspace_dim, generator=generator))
    blocks = q.T.reshape(n_classes + 1, subspace_dim, ambient_dim).transpose(1, 2)  # (k+1, D, r)
    return math.sqrt(overlap) * blocks[:1] + math.sqrt(1.0 - overlap) * blocks[1:]  # (k, D, r)


def subspace_mixture(n_per_class: int, n_classes: int = 4, ambient_dim: int = 32, subspace_dim: int = 3,
                     overlap: float = 0.8, noise: float = 0.05, seed: int = 0,
                     bases: torch.Tensor | None = None) -> SubspaceMixture:
    """``n_per_class`` samples of each of ``n_classes`` overlapping subspaces (see the module).

    Pass the ``bases`` of a first call to draw a test set from the same subspaces.
    """
    if n_per_class < 1:
        raise ValueError(f"n_per_class must be positive, got {n_per_class}")
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    gen = torch.Generator().manual_seed(seed)
    if bases is None:
        bases = subspace_bases(n_classes, ambient_dim, subspace_dim, overlap, gen)
    k, d, r = bases.shape
    c = torch.randn(k, n_per_class, r, generator=gen)
    x = torch.einsum("kdr,knr->knd", bases, c).reshape(k * n_per_class, d)  # (N, D)
    x = x + noise * torch.randn(x.shape, generator=gen)
    y = torch.arange(k).repeat_interleave(n_per_class)
    perm = torch.randperm(k * n_per_class, generator=gen)
    return SubspaceMixture(x=x[perm], y=y[perm], bases=bases)
