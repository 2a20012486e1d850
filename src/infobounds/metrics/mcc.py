r"""Mean correlation coefficient (chapter ``identifiability_clustering``).

Identifiability results say a learned representation equals the true sources up to a permutation
and a scaling of the coordinates (Khemakhem et al., 2020). The *mean correlation coefficient* (MCC)
measures how close a representation :math:`z \in \mathbb R^K` comes to that: compute the absolute
correlation :math:`|\rho(z_i, s_j)|` of every latent with every source, find the one-to-one matching
of latents to sources that maximises the sum of matched correlations (the Hungarian algorithm,
``scipy.optimize.linear_sum_assignment``), and average the matched values:

.. math:: \mathrm{MCC}(z, s) = \max_{\pi} \frac1D \sum_{j=1}^{D} |\rho(z_{\pi(j)}, s_j)| .

It is 1 exactly when every source is an affine function of its own latent (Pearson) or a monotone
one (Spearman), and it is invariant to permutations, scalings and sign flips, the ambiguities the
theory allows; a rotation of the sources mixes coordinates and lowers it.
"""

from __future__ import annotations

import numpy as np
import torch


def _as_array(a, name: str) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"{name} must be an (n, dims) array, got shape {a.shape}")
    bad = ~np.isfinite(a)
    if bad.any():
        raise ValueError(f"{name} has {int(bad.sum())} NaN or infinite entries (first in column "
                         f"{int(np.nonzero(bad.any(0))[0][0])})")
    return a


def correlation_matrix(z, s, method: str = "pearson") -> np.ndarray:
    """|corr(z_i, s_j)|, (K, D); ``method`` is ``pearson`` or ``spearman`` (correlation of ranks).

    A constant column correlates 0 with everything."""
    z, s = _as_array(z, "z"), _as_array(s, "s")
    if z.shape[0] != s.shape[0]:
        raise ValueError(f"z and s must be paired samples, got {z.shape[0]} and {s.shape[0]} rows")
    if z.shape[0] < 2:
        raise ValueError("need at least two samples")
    if method == "spearman":
        from scipy.stats import rankdata

        z, s = rankdata(z, axis=0), rankdata(s, axis=0)
    elif method != "pearson":
        raise ValueError(f"unknown method {method!r}: choose pearson or spearman")
    zc, sc = z - z.mean(0), s - s.mean(0)
    zn, sn = np.linalg.norm(zc, axis=0), np.linalg.norm(sc, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = (zc.T @ sc) / np.outer(zn, sn)
    return np.abs(np.nan_to_num(corr, nan=0.0, posinf=0.0, neginf=0.0))


def matching(z, s, method: str = "pearson") -> tuple[np.ndarray, np.ndarray]:
    """The Hungarian matching: (latent index per matched source, matched |correlations|), both of
    length min(K, D), sources in increasing order."""
    from scipy.optimize import linear_sum_assignment

    corr = correlation_matrix(z, s, method)
    rows, cols = linear_sum_assignment(-corr)  # maximise the sum of matched correlations
    order = np.argsort(cols)
    return rows[order], corr[rows[order], cols[order]]


def mcc(z, s, method: str = "pearson") -> float:
    """Mean over matched pairs of |corr(z_pi(j), s_j)| (see the module docstring), over the sources
    that are not constant: a constant source has nothing to identify, as a one-valued factor is
    left out of the disentanglement metrics."""
    z, s = _as_array(z, "z"), _as_array(s, "s")
    varying = s.std(axis=0) > 0
    if not varying.any():
        raise ValueError("every source (column of s) is constant: MCC is undefined")
    _, values = matching(z, s[:, varying], method)
    return float(values.mean())
