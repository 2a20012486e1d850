r"""Coding rates of feature matrices and the rate reduction (chapter ``closed_loop_transcription``).

Ma, Derksen, Hong & Wright (2007), *Segmentation of Multivariate Mixed Data via Lossy Data Coding and
Compression*; Yu, Chan, You, Song & Ma (2020), *Learning Diverse and Discriminative Representations
via the Principle of Maximal Coding Rate Reduction* (MCR\ :sup:`2`); Dai et al. (2022), *CTRL*.

**Convention.** A feature matrix ``Z`` has shape ``(n, d)``: one *row* per sample, as a batch of
features comes out of a network. The papers write :math:`Z \in \mathbb R^{d \times n}` with one
*column* per sample, so their :math:`Z Z^\top` (d x d) is ``Z.T @ Z`` here. By Sylvester's identity
:math:`\det(I_d + a Z^\top Z) = \det(I_n + a Z Z^\top)`, so every function below computes the log
determinant on whichever Gram matrix is smaller. All rates are in nats.

The coding rate of ``n`` samples up to mean squared error :math:`\epsilon^2` per sample is

.. math::

    R(Z, \epsilon) = \tfrac12 \log\det\Big(I + \frac{d}{n \epsilon^2} Z^\top Z\Big),

the rate of a Gaussian test channel with the samples' second-moment matrix (the chapter derives it).
For a partition of the samples into ``k`` classes with memberships :math:`\Pi = (\pi_{ij})`, rows
summing to one, and :math:`n_j = \sum_i \pi_{ij}`,

.. math::

    R_c(Z, \epsilon \mid \Pi) = \sum_{j=1}^{k} \frac{n_j}{2n}
        \log\det\Big(I + \frac{d}{n_j \epsilon^2} Z^\top \operatorname{diag}(\pi_{\cdot j}) Z\Big),
    \qquad \Delta R(Z, \Pi, \epsilon) = R(Z, \epsilon) - R_c(Z, \epsilon \mid \Pi) .

With hard labels, :math:`Z^\top \operatorname{diag}(\pi_{\cdot j}) Z = Z_j^\top Z_j` for the rows
:math:`Z_j` of class ``j``. Every function is differentiable in ``Z`` (a Cholesky factor of
:math:`I + a G`, which is positive definite for any ``Z``) and runs in float32 or float64; under
autocast the Gram matrices are formed in float32.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

__all__ = [
    "class_coding_rate",
    "class_pairwise_rate_reduction",
    "coding_rate",
    "memberships",
    "pairwise_rate_reduction",
    "rate_reduction",
]


# --------------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------------

def _check_features(z: torch.Tensor, where: str) -> torch.Tensor:
    if not isinstance(z, torch.Tensor):
        raise TypeError(f"{where}: Z must be a torch.Tensor, got {type(z).__name__}")
    if z.ndim != 2:
        raise ValueError(f"{where}: Z must have shape (n, d) with one row per sample, got shape {tuple(z.shape)}")
    if z.shape[0] < 1 or z.shape[1] < 1:
        raise ValueError(f"{where}: Z needs at least one sample and one feature, got shape {tuple(z.shape)}")
    if not z.is_floating_point():
        raise ValueError(f"{where}: Z must be a floating-point tensor, got {z.dtype}")
    return z.float() if z.dtype in (torch.float16, torch.bfloat16) else z


def _check_eps(eps: float, where: str) -> float:
    try:
        eps = float(eps)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: eps must be a positive number, got {eps!r}") from None
    if not math.isfinite(eps) or eps <= 0:
        raise ValueError(f"{where}: eps must be positive and finite, got {eps}")
    return eps


def memberships(labels: torch.Tensor, n: int, n_classes: int | None = None) -> torch.Tensor:
    """The membership matrix Pi, (n, k), from integer labels (n,) or a soft membership matrix (n, k).

    Integer labels become one-hot rows (``n_classes`` defaults to ``labels.max() + 1``); a float
    matrix is checked to be non-negative with rows summing to one.
    """
    if not isinstance(labels, torch.Tensor):
        raise TypeError(f"labels must be a torch.Tensor, got {type(labels).__name__}")
    if labels.ndim == 1 and not labels.is_floating_point():
        if labels.shape[0] != n:
            raise ValueError(f"labels must have one entry per sample: got {labels.shape[0]} labels for {n} samples")
        if labels.numel() and int(labels.min()) < 0:
            raise ValueError("labels must be non-negative integers")
        k = int(labels.max()) + 1 if n_classes is None else int(n_classes)
        if k < 1:
            raise ValueError(f"n_classes must be >= 1, got {k}")
        if int(labels.max()) >= k:
            raise ValueError(f"label {int(labels.max())} is out of range for n_classes={k}")
        return F.one_hot(labels.long(), k)
    if labels.ndim == 2 and labels.is_floating_point():
        if labels.shape[0] != n:
            raise ValueError(f"the membership matrix must have one row per sample: got shape "
                             f"{tuple(labels.shape)} for {n} samples")
        if n_classes is not None and labels.shape[1] != n_classes:
            raise ValueError(f"the membership matrix has {labels.shape[1]} columns, n_classes={n_classes}")
        if bool((labels < 0).any()):
            raise ValueError("memberships must be non-negative")
        if not torch.allclose(labels.sum(1), torch.ones_like(labels[:, 0]), atol=1e-4):
            raise ValueError("each row of the membership matrix must sum to one")
        return labels
    raise ValueError("labels must be integer class indices of shape (n,) or a float membership matrix (n, k), "
                     f"got dtype {labels.dtype} and shape {tuple(labels.shape)}")


# --------------------------------------------------------------------------------------------------
# Log determinants
# --------------------------------------------------------------------------------------------------

def _logdet_identity_plus_gram(a: torch.Tensor, scale: torch.Tensor | float) -> torch.Tensor:
    r"""log det(I + scale A^T A) for A (..., m, p), on the smaller of the m x m and p x p Grams.

    ``scale`` is a float or a tensor broadcastable to the batch shape ``(...)``.
    """
    m, p = a.shape[-2], a.shape[-1]
    with torch.autocast(device_type=a.device.type, enabled=False):
        a = a.float() if a.dtype in (torch.float16, torch.bfloat16) else a
        gram = a.transpose(-1, -2) @ a if p <= m else a @ a.transpose(-1, -2)  # (..., min, min)
        size = gram.shape[-1]
        scale = torch.as_tensor(scale, dtype=a.dtype, device=a.device)[..., None, None]
        eye = torch.eye(size, dtype=a.dtype, device=a.device)
        chol, info = torch.linalg.cholesky_ex(eye + scale * gram)  # I + sG is positive definite
        if bool((info > 0).any()):  # round-off on a huge scale: fall back to the LU-based slogdet
            return torch.linalg.slogdet(eye + scale * gram).logabsdet
        return 2.0 * chol.diagonal(dim1=-2, dim2=-1).log().sum(-1)


# --------------------------------------------------------------------------------------------------
# Rates
# --------------------------------------------------------------------------------------------------

def coding_rate(z: torch.Tensor, eps: float) -> torch.Tensor:
    r"""R(Z, eps) = 1/2 log det(I + d / (n eps^2) Z^T Z) in nats, for Z (n, d) with rows = samples.

    A scalar tensor, differentiable in ``z``. ``eps^2`` is the allowed mean squared error per sample
    (the CTRL paper uses eps^2 = 0.5 on unit-norm features).
    """
    z = _check_features(z, "coding_rate")
    eps = _check_eps(eps, "coding_rate")
    n, d = z.shape
    return 0.5 * _logdet_identity_plus_gram(z, d / (n * eps**2))


def class_coding_rate(z: torch.Tensor, labels: torch.Tensor, eps: float,
                      n_classes: int | None = None) -> torch.Tensor:
    r"""R_c(Z, eps | Pi) = sum_j n_j / (2n) log det(I + d / (n_j eps^2) Z^T diag(Pi_j) Z) in nats.

    ``labels`` are integer classes (n,) or a soft membership matrix (n, k) (see :func:`memberships`).
    An empty class contributes zero. All classes go through one batched Cholesky factorisation.
    """
    z = _check_features(z, "class_coding_rate")
    eps = _check_eps(eps, "class_coding_rate")
    n, d = z.shape
    pi = memberships(labels, n, n_classes).to(z.dtype)  # (n, k)
    n_j = pi.sum(0)  # (k,)
    weighted = pi.sqrt().T[:, :, None] * z[None]  # (k, n, d): rows of class j scaled by sqrt(pi_ij)
    scale = d / (n_j.clamp_min(1e-8) * eps**2)  # (k,); an empty class has a zero Gram, so log det = 0
    logdets = _logdet_identity_plus_gram(weighted, scale)  # (k,)
    return (n_j / (2.0 * n) * logdets).sum()


def rate_reduction(z: torch.Tensor, labels: torch.Tensor, eps: float,
                   n_classes: int | None = None) -> torch.Tensor:
    r"""Delta R(Z, Pi, eps) = R(Z, eps) - R_c(Z, eps | Pi) in nats (MCR^2's objective)."""
    return coding_rate(z, eps) - class_coding_rate(z, labels, eps, n_classes)


def pairwise_rate_reduction(z: torch.Tensor, z_hat: torch.Tensor, eps: float) -> torch.Tensor:
    r"""Delta R(Z, Z_hat) = R(Z u Z_hat) - (R(Z) + R(Z_hat)) / 2 for two sets of m samples each.

    The rate reduction of the two-class partition {rows of Z, rows of Z_hat}: CTRL's measure of how
    far the features Z_hat of the reconstructions are from the features Z of the data. With equal
    numbers of rows it is >= 0, and 0 exactly when Z^T Z = Z_hat^T Z_hat (chapter
    ``closed_loop_transcription``).
    """
    z = _check_features(z, "pairwise_rate_reduction")
    z_hat = _check_features(z_hat, "pairwise_rate_reduction")
    if z.shape != z_hat.shape:
        raise ValueError(f"pairwise_rate_reduction: Z and Z_hat must have the same shape, got "
                         f"{tuple(z.shape)} and {tuple(z_hat.shape)}")
    eps = _check_eps(eps, "pairwise_rate_reduction")
    m, d = z.shape
    both = torch.stack([z, z_hat])  # (2, m, d)
    r_each = 0.5 * _logdet_identity_plus_gram(both, d / (m * eps**2))  # (2,)
    r_union = coding_rate(torch.cat([z, z_hat]), eps)
    return r_union - 0.5 * r_each.sum()


def class_pairwise_rate_reduction(z: torch.Tensor, z_hat: torch.Tensor, labels: torch.Tensor, eps: float,
                                  n_classes: int | None = None) -> torch.Tensor:
    r"""Per class j, Delta R(Z_j, Z_hat_j) = R(Z_j u Z_hat_j) - (R(Z_j) + R(Z_hat_j)) / 2, a (k,) tensor.

    Row i of ``z_hat`` is paired with row i of ``z`` (the features of the reconstruction of sample
    i), so both classes' sets have n_j rows; ``labels`` as in :func:`class_coding_rate` (soft
    memberships weight the rows of both). CTRL's closed-loop term is the sum of this vector. One
    batched factorisation for all 3k log determinants; an empty class gives 0.
    """
    z = _check_features(z, "class_pairwise_rate_reduction")
    z_hat = _check_features(z_hat, "class_pairwise_rate_reduction")
    if z.shape != z_hat.shape:
        raise ValueError(f"class_pairwise_rate_reduction: Z and Z_hat must have the same shape, got "
                         f"{tuple(z.shape)} and {tuple(z_hat.shape)}")
    eps = _check_eps(eps, "class_pairwise_rate_reduction")
    n, d = z.shape
    pi = memberships(labels, n, n_classes).to(z.dtype)  # (n, k)
    n_j = pi.sum(0).clamp_min(1e-8)  # (k,)
    root = pi.sqrt().T[:, :, None]  # (k, n, 1)
    zj, zj_hat = root * z[None], root * z_hat[None]  # (k, n, d) each
    r_z = 0.5 * _logdet_identity_plus_gram(zj, d / (n_j * eps**2))  # R(Z_j), (k,)
    r_z_hat = 0.5 * _logdet_identity_plus_gram(zj_hat, d / (n_j * eps**2))  # R(Z_hat_j), (k,)
    r_union = 0.5 * _logdet_identity_plus_gram(torch.cat([zj, zj_hat], 1), d / (2 * n_j * eps**2))  # (k,)
    return r_union - 0.5 * (r_z + r_z_hat)
