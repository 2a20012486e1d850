r"""Distances between distributions from samples: optimal transport, Gromov-Wasserstein and the
kernel MMD (chapter ``wasserstein_autoencoders``).

Every optimal-transport value here is computed by POT (Flamary et al., 2021, *POT: Python Optimal
Transport*, JMLR); nothing in this module solves a transport problem by hand.

``wasserstein``
    :math:`W_c(\hat P, \hat Q) = \min_{\pi \in \Pi(\hat P, \hat Q)} \sum_{ij} \pi_{ij}\, c(x_i, y_j)`
    between two empirical measures (uniform weights by default), an exact linear programme
    (``ot.emd2``). With ``cost="sqeuclidean"`` it is :math:`W_2^2`.
``gromov_wasserstein``
    The Gromov-Wasserstein discrepancy of Mémoli (2011) between two metric measure spaces given by
    their distance matrices :math:`C^X` (n, n) and :math:`C^Z` (m, m),

    .. math::

        \mathrm{GW}^2 = \min_{\pi \in \Pi(p, q)} \sum_{i,j,k,l}
            \big|C^X_{ik} - C^Z_{jl}\big|^2 \pi_{ij} \pi_{kl},

    by POT's conditional-gradient solver (``ot.gromov.gromov_wasserstein2``), or its entropic
    version with regularisation ``epsilon`` (``ot.gromov.entropic_gromov_wasserstein``). The
    problem is a non-convex quadratic programme: the solver returns a stationary point (not
    necessarily a local minimum), whose value, that of a coupling, is an upper bound on the
    discrepancy. The value of any coupling is an upper bound (:func:`coupling_distortion`);
    ``init="identity"`` starts the solver from the coupling that pairs the i-th point of one cloud
    with the i-th of the other, and the solver never increases its objective, so the result is never
    above that coupling's value. Sinkhorn's plans meet the marginals only to the solver's tolerance,
    so the entropic plan is first rounded onto the exact couplings (:func:`round_to_coupling`). No factor 1/2 and no square root are taken: the function returns the minimum of
    the sum above, the quantity the chapter calls :math:`\mathrm{GW}^2`.
``mmd``
    The maximum mean discrepancy with the inverse multiquadric kernel
    :math:`k(z, z') = C / (C + \lVert z - z' \rVert^2)` used by WAE-MMD (Tolstikhin et al., 2018).
"""

from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np
import ot
import torch

METRICS = ("euclidean", "sqeuclidean")
NORMALIZATIONS = ("none", "mean", "max")
INITS = ("product", "identity")


def _as_numpy(x, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().double().numpy()
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty (n, d) array of points, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or inf")
    return a


def distance_matrix(x, metric: str = "euclidean") -> np.ndarray:
    """Pairwise distances of the rows of ``x`` (n, d) -> (n, n), float64; ``metric`` is
    ``euclidean`` or ``sqeuclidean``."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}: choose one of {', '.join(METRICS)}")
    a = _as_numpy(x, "x")
    d2 = np.maximum(ot.dist(a, a, metric="sqeuclidean"), 0.0)
    np.fill_diagonal(d2, 0.0)
    return d2 if metric == "sqeuclidean" else np.sqrt(d2)


def normalize_distances(c: np.ndarray, how: str = "mean") -> np.ndarray:
    """``c`` divided by its mean off-diagonal entry (``mean``) or its maximum (``max``); ``none``: unchanged."""
    if how not in NORMALIZATIONS:
        raise ValueError(f"unknown normalize {how!r}: choose one of {', '.join(NORMALIZATIONS)}")
    if how == "none":
        return c
    scale = c.max() if how == "max" else c.sum() / max(c.size - c.shape[0], 1)  # mean off-diagonal entry
    if scale <= 0:
        raise ValueError("cannot normalise a distance matrix of a cloud whose points all coincide")
    return c / scale


def _weights(w, n: int, name: str) -> np.ndarray:
    if w is None:
        return np.full(n, 1.0 / n)
    w = np.asarray(w, dtype=np.float64).reshape(-1)
    if w.shape[0] != n or np.any(w < 0) or not np.isclose(w.sum(), 1.0):
        raise ValueError(f"{name} must be {n} non-negative weights summing to 1")
    return w


def wasserstein(x, y, *, cost: str = "sqeuclidean", a=None, b=None) -> float:
    r"""Exact :math:`W_c` between the empirical measures of ``x`` (n, d) and ``y`` (m, d) by ``ot.emd2``;
    ``cost`` ``sqeuclidean`` gives :math:`W_2^2`, ``euclidean`` gives :math:`W_1`. Weights ``a``,
    ``b`` default to uniform."""
    if cost not in METRICS:
        raise ValueError(f"unknown cost {cost!r}: choose one of {', '.join(METRICS)}")
    xa, ya = _as_numpy(x, "x"), _as_numpy(y, "y")
    if xa.shape[1] != ya.shape[1]:
        raise ValueError(f"x and y must live in the same space, got dimensions {xa.shape[1]} and {ya.shape[1]}")
    m = ot.dist(xa, ya, metric="sqeuclidean")
    if cost == "euclidean":
        m = np.sqrt(np.maximum(m, 0.0))
    return float(ot.emd2(_weights(a, xa.shape[0], "a"), _weights(b, ya.shape[0], "b"), m, numItermax=1_000_000))


def coupling_distortion(cx: np.ndarray, cz: np.ndarray, coupling: np.ndarray | None = None) -> float:
    r""":math:`\sum_{ijkl} |C^X_{ik} - C^Z_{jl}|^2 \pi_{ij}\pi_{kl}` for one coupling ``coupling`` (n, m);
    the default pairs point i with point i (n = m, :math:`\pi = I/n`). An upper bound on
    :math:`\mathrm{GW}^2`."""
    cx, cz = np.asarray(cx, dtype=np.float64), np.asarray(cz, dtype=np.float64)
    if coupling is None:
        if cx.shape != cz.shape:
            raise ValueError("the identity coupling needs two clouds of the same size")
        return float(((cx - cz) ** 2).mean())
    pi = np.asarray(coupling, dtype=np.float64)
    p, q = pi.sum(1), pi.sum(0)
    # sum_{ijkl} (a_ik - b_jl)^2 pi_ij pi_kl = p^T A^2 p + q^T B^2 q - 2 <A pi B, pi>  (A, B symmetric)
    return float(p @ (cx**2) @ p + q @ (cz**2) @ q - 2.0 * np.sum((cx @ pi @ cz) * pi))


def round_to_coupling(plan: np.ndarray, p: np.ndarray, q: np.ndarray) -> np.ndarray:
    r"""A coupling of ``p`` (n,) and ``q`` (m,) close to the non-negative matrix ``plan`` (n, m): the
    rounding of Altschuler, Weed & Rigollet (2017, *Near-linear time approximation algorithms for
    optimal transport via Sinkhorn iteration*, NeurIPS, Algorithm 2). Rows with too much mass are
    scaled down to ``p``, then columns to ``q``, and the missing mass is added back as the outer
    product of the row and column deficits divided by their total, so the result has row sums ``p``
    and column sums ``q`` (up to floating point) and differs from ``plan`` by at most
    :math:`2(\lVert r(\pi) - p\rVert_1 + \lVert c(\pi) - q\rVert_1)` in :math:`\ell_1`."""
    pi = np.asarray(plan, dtype=np.float64)
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    if pi.ndim != 2 or pi.shape != (p.shape[0], q.shape[0]):
        raise ValueError(f"plan must have shape ({p.shape[0]}, {q.shape[0]}), got {pi.shape}")
    if not np.all(np.isfinite(pi)) or np.any(pi < 0):
        raise ValueError("plan must be finite and non-negative")
    if not np.isclose(p.sum(), q.sum()):
        raise ValueError(f"p and q must have the same mass, got {p.sum()} and {q.sum()}")
    with np.errstate(divide="ignore", invalid="ignore"):
        row_scale = np.where(pi.sum(1) > p, p / pi.sum(1), 1.0)  # shrink rows that carry too much
        pi = pi * row_scale[:, None]
        col_scale = np.where(pi.sum(0) > q, q / pi.sum(0), 1.0)  # then columns
        pi = pi * col_scale[None, :]
    # Both deficits are >= 0 with equal totals; clip the round-off of rows and columns met exactly.
    row_deficit, col_deficit = np.maximum(p - pi.sum(1), 0.0), np.maximum(q - pi.sum(0), 0.0)
    missing = row_deficit.sum()
    if missing > 0:
        pi = pi + np.outer(row_deficit, col_deficit) / missing
    return pi


def gromov_wasserstein(x, z, *, metric_x: str = "euclidean", metric_z: str = "euclidean",
                       normalize: str = "mean", epsilon: float | None = None, init: str = "product",
                       p=None, q=None, max_iter: int | None = None, distances: bool = False) -> float:
    r"""The Gromov-Wasserstein discrepancy :math:`\mathrm{GW}^2` (module docstring) between two point
    clouds ``x`` (n, d_x) and ``z`` (m, d_z), each with its own metric, computed by POT.

    Parameters
    ----------
    x, z : the two clouds; with ``distances=True`` they are already distance matrices (n, n), (m, m).
    metric_x, metric_z : ``euclidean`` or ``sqeuclidean`` within each cloud.
    normalize : divide each distance matrix by its mean off-diagonal entry (``mean``, default) or its
        maximum (``max``), so that the value compares shapes and not units; ``none`` keeps scales.
    epsilon : ``None`` for the exact (unregularised) problem; a positive number for the entropic one,
        whose plan, rounded onto the couplings of ``p`` and ``q`` (:func:`round_to_coupling`), has its
        quadratic cost (without the entropy) returned, an upper bound on the discrepancy; a
        ``ValueError`` is raised when its Sinkhorn iterations underflow (epsilon too small for the
        scale of the matrices).
    init : ``product`` (the independent coupling p q^T, POT's default) or ``identity`` (pair point i
        with point i; needs n = m and uniform weights): the solver only decreases the objective, so
        the result is at most :func:`coupling_distortion` of that pairing.
    p, q : weights of the points, uniform by default.
    max_iter : outer iterations of the solver (POT's defaults: 10 000 exact, 1 000 entropic).
    """
    if normalize not in NORMALIZATIONS:
        raise ValueError(f"unknown normalize {normalize!r}: choose one of {', '.join(NORMALIZATIONS)}")
    if init not in INITS:
        raise ValueError(f"unknown init {init!r}: choose one of {', '.join(INITS)}")
    if epsilon is not None and not epsilon > 0:
        raise ValueError(f"epsilon must be positive (or None for the exact problem), got {epsilon}")
    if distances:
        cx, cz = (np.asarray(c.detach().cpu() if isinstance(c, torch.Tensor) else c, dtype=np.float64) for c in (x, z))
        for c, name in ((cx, "x"), (cz, "z")):
            if c.ndim != 2 or c.shape[0] != c.shape[1] or not np.allclose(c, c.T):
                raise ValueError(f"{name} must be a symmetric square distance matrix, got shape {c.shape}")
    else:
        cx, cz = distance_matrix(x, metric_x), distance_matrix(z, metric_z)
    cx, cz = normalize_distances(cx, normalize), normalize_distances(cz, normalize)
    pw, qw = _weights(p, cx.shape[0], "p"), _weights(q, cz.shape[0], "q")
    g0 = None
    if init == "identity":
        if cx.shape != cz.shape or p is not None or q is not None:
            raise ValueError("init='identity' needs two clouds of the same size with uniform weights")
        g0 = np.eye(cx.shape[0]) / cx.shape[0]
    if epsilon is None:
        value = ot.gromov.gromov_wasserstein2(cx, cz, pw, qw, loss_fun="square_loss", G0=g0,
                                              max_iter=max_iter or 10_000)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # POT warns on underflow; the check below reports it
            plan = ot.gromov.entropic_gromov_wasserstein(cx, cz, pw, qw, loss_fun="square_loss", epsilon=epsilon,
                                                         G0=g0, max_iter=max_iter or 1_000)
        if not np.all(np.isfinite(plan)) or abs(plan.sum() - 1.0) > 1e-3:
            raise ValueError(f"the entropic solver underflowed at epsilon={epsilon} (plan mass {plan.sum():.3g}); "
                             "increase epsilon or normalise the distance matrices")
        # Sinkhorn meets the marginals only to its tolerance: the cost of an exact coupling is an upper bound.
        value = coupling_distortion(cx, cz, round_to_coupling(plan, pw, qw))
    return float(value)


# --------------------------------------------------------------------------------------------------
# Kernel MMD (WAE-MMD's penalty)
# --------------------------------------------------------------------------------------------------

def imq_kernel(a: torch.Tensor, b: torch.Tensor, scales: Sequence[float]) -> torch.Tensor:
    r"""Sum over ``scales`` C of the inverse multiquadric kernel :math:`C / (C + \lVert a_i - b_j \rVert^2)`,
    (n, d), (m, d) -> (n, m)."""
    d2 = torch.cdist(a, b).pow(2)  # (n, m)
    return sum(c / (c + d2) for c in scales)


def mmd(a: torch.Tensor, b: torch.Tensor, *, scales: Sequence[float] = (1.0,), unbiased: bool = True) -> torch.Tensor:
    r"""Squared MMD between the samples ``a`` (n, d) and ``b`` (m, d) with :func:`imq_kernel`:

    .. math::

        \widehat{\mathrm{MMD}}^2 = \frac{1}{n(n-1)} \sum_{i \ne j} k(a_i, a_j)
          + \frac{1}{m(m-1)} \sum_{i \ne j} k(b_i, b_j) - \frac{2}{nm} \sum_{i,j} k(a_i, b_j),

    the unbiased U-statistic of Gretton et al. (2012) that WAE-MMD minimises (it can be slightly
    negative). ``unbiased=False`` keeps the diagonals (the V-statistic, >= 0 and exactly 0 for
    identical samples). Differentiable in both samples."""
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"a and b must be (n, d) and (m, d), got {tuple(a.shape)} and {tuple(b.shape)}")
    n, m = a.shape[0], b.shape[0]
    if n < 2 or m < 2:
        raise ValueError("the MMD estimate needs at least two points in each sample")
    if not scales or any(c <= 0 for c in scales):
        raise ValueError(f"kernel scales must be positive, got {list(scales)}")
    k_aa, k_bb, k_ab = imq_kernel(a, a, scales), imq_kernel(b, b, scales), imq_kernel(a, b, scales)
    if unbiased:
        term_aa = (k_aa.sum() - k_aa.diagonal().sum()) / (n * (n - 1))
        term_bb = (k_bb.sum() - k_bb.diagonal().sum()) / (m * (m - 1))
    else:
        term_aa, term_bb = k_aa.mean(), k_bb.mean()
    return term_aa + term_bb - 2.0 * k_ab.mean()
