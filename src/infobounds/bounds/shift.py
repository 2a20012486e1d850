r"""Exact information terms of distribution shift on small discrete models (chapter ``distribution_shift``).

Federici, Tomioka & Forré (2021), *An Information-theoretic Approach to Distribution Shifts*, NeurIPS.

A training joint :math:`p(x, y)` and a test joint :math:`t(x, y)` on finite alphabets share an encoder
:math:`q(z|x)` (so :math:`Y - X - Z` under both) and a latent predictor :math:`q(y|z)`, by default the
best one on the training data, :math:`q(y|z) = p(y|z)`. The test cross-entropy of the latent
predictor splits exactly into three non-negative terms (the chapter proves it):

.. math::

    \underbrace{\mathbb E_{t(x,y)}\mathbb E_{q(z|x)}[-\log q(y|z)]}_{\texttt{test\_ce}}
    = \underbrace{H_t(Y|X)}_{\texttt{aleatoric}}
    + \underbrace{I_t(X;Y|Z)}_{\texttt{information\_loss}}
    + \underbrace{\mathbb E_{t(z)}\mathrm{KL}\big(t(y|z)\,\|\,q(y|z)\big)}_{\texttt{latent\_shift}} .

With environments :math:`E` and a joint :math:`p(x, y, e)`, the three criteria of the paper are
*independence* :math:`I(Z;E)`, *sufficiency* :math:`I(Y;E|Z)` and *separation* :math:`I(Z;E|Y)`
(:func:`criteria`). Every quantity is in nats and computed exactly (no sampling).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import numpy as np

from infobounds.bounds.discrete import discrete_entropy

__all__ = ["ShiftDecomposition", "shift_decomposition", "criteria", "conditional_mutual_information",
           "latent_joint", "deterministic_encoder", "set_partitions", "coloured_joint"]

_TOL = 1e-9


def _pmf(p, ndim: int, name: str) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {p.shape}")
    if (p < -1e-12).any() or abs(p.sum() - 1.0) > _TOL:
        raise ValueError(f"{name} must be a probability mass function (non-negative, summing to 1)")
    return np.clip(p, 0.0, None)


def _channel(q, rows: int, name: str) -> np.ndarray:
    q = np.asarray(q, dtype=np.float64)
    if q.ndim != 2 or q.shape[0] != rows:
        raise ValueError(f"{name} must be a ({rows}, k) matrix of conditional distributions, got shape {q.shape}")
    if (q < -1e-12).any() or np.abs(q.sum(1) - 1.0).max() > _TOL:
        raise ValueError(f"every row of {name} must be a probability distribution")
    return np.clip(q, 0.0, None)


def conditional_mutual_information(p_abc) -> float:
    """I(A;B|C) = H(A,C) + H(B,C) - H(A,B,C) - H(C) in nats for a joint pmf of shape (|A|, |B|, |C|)."""
    p = _pmf(p_abc, 3, "p_abc")
    return (discrete_entropy(p.sum(1)) + discrete_entropy(p.sum(0)) - discrete_entropy(p)
            - discrete_entropy(p.sum((0, 1))))


def latent_joint(p_xy, encoder) -> np.ndarray:
    """The joint p(x, y, z) = p(x, y) q(z|x), shape (|X|, |Y|, |Z|): the encoder does not see y."""
    p_xy = _pmf(p_xy, 2, "p_xy")
    q = _channel(encoder, p_xy.shape[0], "encoder")
    return p_xy[:, :, None] * q[:, None, :]


def _posterior(p_yz: np.ndarray) -> np.ndarray:
    """p(y|z) as a (|Z|, |Y|) matrix; uniform where p(z) = 0 (any choice, it carries no mass)."""
    p_z = p_yz.sum(0)
    out = np.full((p_yz.shape[1], p_yz.shape[0]), 1.0 / p_yz.shape[0])
    seen = p_z > 0
    out[seen] = (p_yz[:, seen] / p_z[seen]).T
    return out


@dataclass(frozen=True)
class ShiftDecomposition:
    """The terms of the decomposition, in nats; ``total`` is their sum, ``test_ce`` computed directly."""

    test_ce: float
    aleatoric: float
    information_loss: float
    latent_shift: float

    @property
    def total(self) -> float:
        return self.aleatoric + self.information_loss + self.latent_shift


def shift_decomposition(train_xy, test_xy, encoder, predictor=None) -> ShiftDecomposition:
    r"""Test cross-entropy of a latent predictor and its three terms.

    Parameters
    ----------
    train_xy, test_xy : joint pmfs p(x, y) and t(x, y), shape (|X|, |Y|).
    encoder : q(z|x), shape (|X|, |Z|), rows summing to one.
    predictor : q(y|z), shape (|Z|, |Y|); default the training posterior p(y|z), the predictor of least
        training cross-entropy among all functions of z.

    ``test_ce`` is :math:`\sum_{x,y,z} t(x,y)\,q(z|x)\,[-\log q(y|z)]` computed directly; the three
    terms are computed from entropies, so ``total == test_ce`` checks the identity. ``test_ce`` is
    infinite where q(y|z) = 0 on test mass.
    """
    train_xy, test_xy = _pmf(train_xy, 2, "train_xy"), _pmf(test_xy, 2, "test_xy")
    if train_xy.shape != test_xy.shape:
        raise ValueError(f"train and test joints differ in shape: {train_xy.shape} and {test_xy.shape}")
    t_xyz = latent_joint(test_xy, encoder)  # (X, Y, Z)
    q_y_z = _posterior(latent_joint(train_xy, encoder).sum(0)) if predictor is None \
        else _channel(predictor, t_xyz.shape[2], "predictor")  # (Z, Y)
    if q_y_z.shape[1] != test_xy.shape[1]:
        raise ValueError(f"predictor has {q_y_z.shape[1]} labels, the joints {test_xy.shape[1]}")
    t_yz = t_xyz.sum(0)  # (Y, Z)
    with np.errstate(divide="ignore"):
        log_q = np.log(q_y_z.T)  # (Y, Z)
    mass = t_yz > 0
    test_ce = float(-(t_yz[mass] * log_q[mass]).sum())
    aleatoric = discrete_entropy(test_xy) - discrete_entropy(test_xy.sum(1))  # H_t(Y|X)
    info_loss = conditional_mutual_information(t_xyz)  # I_t(X;Y|Z), axes (X, Y, Z)
    t_z = t_yz.sum(0)
    t_y_z = _posterior(t_yz)  # (Z, Y)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(t_y_z > 0, t_y_z * (np.log(t_y_z) - np.log(q_y_z)), 0.0)
    latent_shift = float((t_z * ratio.sum(1)).sum())  # E_t(z) KL(t(y|z) || q(y|z))
    return ShiftDecomposition(test_ce=test_ce, aleatoric=aleatoric, information_loss=info_loss,
                              latent_shift=latent_shift)


def criteria(p_xye, encoder) -> dict[str, float]:
    """Independence I(Z;E), sufficiency I(Y;E|Z) and separation I(Z;E|Y), in nats, for a joint
    p(x, y, e) of shape (|X|, |Y|, |E|) and an encoder q(z|x) that sees neither y nor e; also
    ``label_shift`` I(Y;E)."""
    p = _pmf(p_xye, 3, "p_xye")
    q = _channel(encoder, p.shape[0], "encoder")
    p_yez = np.einsum("xye,xz->yez", p, q)  # (Y, E, Z)
    return {
        "independence": discrete_entropy(p_yez.sum((0, 2))) + discrete_entropy(p_yez.sum((0, 1)))
        - discrete_entropy(p_yez.sum(0)),  # I(Z;E)
        "sufficiency": conditional_mutual_information(p_yez),  # I(Y;E|Z)
        "separation": conditional_mutual_information(p_yez.transpose(2, 1, 0)),  # I(Z;E|Y)
        "label_shift": discrete_entropy(p_yez.sum((1, 2))) + discrete_entropy(p_yez.sum((0, 2)))
        - discrete_entropy(p_yez.sum(2)),  # I(Y;E)
    }


def deterministic_encoder(blocks: list[list[int]], n_x: int) -> np.ndarray:
    """The encoder z = index of the block of ``blocks`` (a partition of range(n_x)) holding x, as a
    one-hot (n_x, len(blocks)) matrix."""
    flat = sorted(i for b in blocks for i in b)
    if flat != list(range(n_x)):
        raise ValueError(f"blocks must partition range({n_x}), got {blocks}")
    q = np.zeros((n_x, len(blocks)))
    for z, block in enumerate(blocks):
        q[block, z] = 1.0
    return q


def set_partitions(n: int) -> list[list[list[int]]]:
    """All partitions of range(n) into non-empty blocks (the Bell number of them): every
    deterministic encoder of an n-letter alphabet, up to relabelling z."""
    if not 1 <= n <= 8:
        raise ValueError(f"n must be between 1 and 8, got {n}")
    out = []
    for labels in product(range(n), repeat=n):
        # restricted growth strings: label k appears only after 0..k-1 have appeared
        if all(labels[i] <= max(labels[:i], default=-1) + 1 for i in range(n)):
            blocks = [[i for i in range(n) if labels[i] == b] for b in range(max(labels) + 1)]
            out.append(blocks)
    return out


def coloured_joint(bias: float, label_noise: float = 0.25, p_shape: float = 0.5) -> np.ndarray:
    r"""p(x, y) of the discrete Coloured-MNIST model, shape (4, 2), with x = 2 * shape + colour.

    A binary shape :math:`d \sim \mathrm{Bernoulli}(p_\text{shape})`; the label is the shape flipped
    with probability ``label_noise``; the colour equals the label with probability ``bias``. This is
    the generative model of IRM's Coloured MNIST (Arjovsky et al., 2019) and of
    :mod:`infobounds.data.colored` with the image replaced by its binary shape.
    """
    for name, v in (("bias", bias), ("label_noise", label_noise), ("p_shape", p_shape)):
        if not 0.0 <= v <= 1.0:
            raise ValueError(f"{name} must lie in [0, 1], got {v}")
    p = np.zeros((4, 2))
    for d, y, c in product((0, 1), repeat=3):
        p_d = p_shape if d == 1 else 1.0 - p_shape
        p_y = 1.0 - label_noise if y == d else label_noise
        p_c = bias if c == y else 1.0 - bias
        p[2 * d + c, y] += p_d * p_y * p_c
    return p
