r"""Wyner's common information: closed forms and the quantities of explicit decompositions, in nats
(chapter ``wyner_common_information``).

Wyner (1975) defined the common information of two random variables as the smallest amount of
information a third variable must carry about the pair to make them conditionally independent,

.. math::

    C(X;Y) = \inf_{W:\; X - W - Y} I(X, Y; W),

and showed that it is the minimum rate of common randomness two processors need to simulate
:math:`(X, Y)` separately (distributed simulation); Cuff (2013) found the same quantity as the
communication rate of channel synthesis without common randomness. The chapter proves
:math:`I(X;Y) \le C(X;Y) \le \min(H(X), H(Y))` for discrete variables and, for a jointly Gaussian
pair with correlation :math:`\rho`,

.. math::

    C(X;Y) = \tfrac12 \log \frac{1 + |\rho|}{1 - |\rho|}
    \;>\; I(X;Y) = -\tfrac12 \log(1 - \rho^2) \qquad (0 < |\rho| < 1).

This module holds those closed forms (:func:`gaussian_common_information`), the optimal Gaussian
decomposition (:func:`gaussian_wyner_decomposition`), the information :math:`I(X,Y;W)` of any
linear-Gaussian or discrete decomposition (:func:`gaussian_decomposition_information`,
:func:`discrete_decomposition_information`), and Wyner's closed form for the doubly symmetric binary
source (:func:`dsbs_common_information`). The learned counterpart is
:class:`infobounds.models.wyner.VariationalWyner`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from infobounds.bounds.discrete import discrete_entropy  # chapter 1 imports it from this module too
from infobounds.bounds.gaussian import gaussian_mutual_information


def _check_rho(rho: float) -> float:
    rho = float(rho)
    if not -1.0 < rho < 1.0:
        raise ValueError(f"a correlation must lie in (-1, 1), got {rho}")
    return rho


def gaussian_common_information(rho: float | Sequence[float], dim: int = 1) -> float:
    r"""Wyner's common information of jointly Gaussian X and Y, in nats.

    Parameters
    ----------
    rho : the correlation of a scalar pair, or a sequence of canonical correlations (one per
        independent coordinate pair), each in (-1, 1).
    dim : number of independent pairs sharing the scalar ``rho`` (only with a scalar ``rho``).

    Returns
    -------
    :math:`\sum_i \tfrac12 \log\frac{1+|\rho_i|}{1-|\rho_i|}`. For one pair this is the closed form
    proved in chapter ``wyner_common_information``; for independent pairs the common information
    adds up (the chapter's exercise on additivity), so canonical correlations simply add.
    """
    if isinstance(rho, (int, float)):
        rho = _check_rho(rho)
        if dim <= 0:
            raise ValueError(f"dim must be positive, got {dim}")
        return 0.5 * dim * (math.log1p(abs(rho)) - math.log1p(-abs(rho)))
    if dim != 1:
        raise ValueError("dim only applies to a scalar rho; pass one correlation per pair instead")
    rhos = [_check_rho(r) for r in rho]
    if not rhos:
        raise ValueError("need at least one correlation")
    return float(sum(gaussian_common_information(r) for r in rhos))


@dataclass(frozen=True)
class GaussianDecomposition:
    r"""A linear-Gaussian decomposition :math:`W \sim \mathcal N(0, 1)`,
    :math:`X = a W + N_X`, :math:`Y = c W + N_Y`, with :math:`N_X \sim \mathcal N(0, s_x)`,
    :math:`N_Y \sim \mathcal N(0, s_y)` independent of each other and of W (so X - W - Y)."""

    a: float  # loading of X on W
    c: float  # loading of Y on W
    noise_x: float  # s_x, variance of X's private noise
    noise_y: float  # s_y, variance of Y's private noise

    def sample(self, n: int, generator=None):
        """``n`` draws of (x, y, w) as (n,) torch tensors."""
        import torch

        w = torch.randn(n, generator=generator, dtype=torch.float64)
        nx = torch.randn(n, generator=generator, dtype=torch.float64) * math.sqrt(self.noise_x)
        ny = torch.randn(n, generator=generator, dtype=torch.float64) * math.sqrt(self.noise_y)
        return self.a * w + nx, self.c * w + ny, w


def gaussian_wyner_decomposition(rho: float) -> GaussianDecomposition:
    r"""The decomposition of a unit-variance Gaussian pair with correlation ``rho`` that attains
    :math:`C(X;Y)`: :math:`a = \sqrt{|\rho|}`, :math:`c = \operatorname{sign}(\rho)\sqrt{|\rho|}`,
    private noise variances :math:`1 - |\rho|`."""
    rho = _check_rho(rho)
    root = math.sqrt(abs(rho))
    return GaussianDecomposition(a=root, c=math.copysign(root, rho) if rho != 0 else 0.0,
                                 noise_x=1.0 - abs(rho), noise_y=1.0 - abs(rho))


def gaussian_decomposition_information(dec: GaussianDecomposition) -> dict[str, float]:
    r"""Information quantities of a linear-Gaussian decomposition, in nats.

    With :math:`\Sigma = \begin{pmatrix} a^2 + s_x & ac \\ ac & c^2 + s_y \end{pmatrix}` the covariance
    of (X, Y) and :math:`h(X, Y \mid W) = \tfrac12\log\big((2\pi e)^2 s_x s_y\big)`,

    * ``i_xy_w`` :math:`= I(X,Y;W) = \tfrac12 \log \frac{\det\Sigma}{s_x s_y}`,
    * ``i_xy`` :math:`= I(X;Y) = -\tfrac12 \log(1 - \rho^2)`,
    * ``rho``, ``var_x``, ``var_y``: the correlation and variances the decomposition produces.
    """
    if dec.noise_x <= 0 or dec.noise_y <= 0:
        raise ValueError("private noise variances must be positive (otherwise I(X,Y;W) is infinite)")
    var_x, var_y, cov = dec.a**2 + dec.noise_x, dec.c**2 + dec.noise_y, dec.a * dec.c
    det = var_x * var_y - cov**2
    rho = cov / math.sqrt(var_x * var_y)
    return {
        "i_xy_w": 0.5 * math.log(det / (dec.noise_x * dec.noise_y)),
        "i_xy": gaussian_mutual_information(rho) if abs(rho) < 1 else math.inf,
        "rho": rho,
        "var_x": var_x,
        "var_y": var_y,
    }


def exact_decompositions(rho: float, loadings: Sequence[float]) -> list[GaussianDecomposition]:
    r"""The one-parameter family of linear-Gaussian decompositions that reproduce a unit-variance pair
    with correlation ``rho`` exactly with positive private noise: :math:`a \in (|\rho|, 1)`,
    :math:`c = \rho / a`, :math:`s_x = 1 - a^2`, :math:`s_y = 1 - c^2`. Loadings outside
    :math:`(|\rho|, 1)` raise (at the end points one private noise vanishes and
    :math:`I(X,Y;W) = \infty`)."""
    rho = _check_rho(rho)
    out = []
    for a in loadings:
        a = float(a)
        if not abs(rho) < a < 1.0:
            raise ValueError(f"loading a must lie in (|rho|, 1), got {a} for rho={rho}")
        c = rho / a
        out.append(GaussianDecomposition(a=a, c=c, noise_x=1.0 - a * a, noise_y=1.0 - c * c))
    return out


# ---------------------------------------------------------------------------------------------
# Discrete variables
# ---------------------------------------------------------------------------------------------

def _as_pmf(p, ndim: int, name: str) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {p.shape}")
    if (p < -1e-12).any():
        raise ValueError(f"{name} has negative entries")
    return np.clip(p, 0.0, None)


def discrete_mutual_information(p_xy) -> float:
    """I(X;Y) = H(X) + H(Y) - H(X,Y) in nats for a joint pmf given as a (|X|, |Y|) matrix."""
    p_xy = _as_pmf(p_xy, 2, "p_xy")
    return discrete_entropy(p_xy.sum(1)) + discrete_entropy(p_xy.sum(0)) - discrete_entropy(p_xy)


def common_information_sandwich(p_xy) -> tuple[float, float]:
    r"""The bounds :math:`I(X;Y) \le C(X;Y) \le \min(H(X), H(Y))` of chapter ``wyner_common_information``."""
    p_xy = _as_pmf(p_xy, 2, "p_xy")
    return discrete_mutual_information(p_xy), min(discrete_entropy(p_xy.sum(1)), discrete_entropy(p_xy.sum(0)))


def discrete_decomposition_information(p_w, p_x_given_w, p_y_given_w) -> tuple[np.ndarray, float]:
    r"""The joint pmf of (X, Y) produced by a decomposition :math:`p(w)\,p(x|w)\,p(y|w)`, and
    :math:`I(X,Y;W)` in nats.

    Parameters
    ----------
    p_w : (|W|,) pmf of W.
    p_x_given_w : (|W|, |X|) rows are p(x|w).
    p_y_given_w : (|W|, |Y|) rows are p(y|w).

    Returns
    -------
    ``(p_xy, i_xy_w)`` with :math:`I(X,Y;W) = H(X,Y) - H(X|W) - H(Y|W)`, which uses that X and Y are
    independent given W by construction. Every such decomposition gives an upper bound on
    :math:`C(X;Y)` of the p_xy it produces.
    """
    p_w = _as_pmf(p_w, 1, "p_w")
    px = _as_pmf(p_x_given_w, 2, "p_x_given_w")
    py = _as_pmf(p_y_given_w, 2, "p_y_given_w")
    if px.shape[0] != p_w.shape[0] or py.shape[0] != p_w.shape[0]:
        raise ValueError("p_x_given_w and p_y_given_w need one row per value of w")
    if abs(p_w.sum() - 1) > 1e-9 or np.abs(px.sum(1) - 1).max() > 1e-9 or np.abs(py.sum(1) - 1).max() > 1e-9:
        raise ValueError("p_w and every row of p_x_given_w, p_y_given_w must sum to 1")
    p_xy = np.einsum("w,wx,wy->xy", p_w, px, py)
    h_x_w = sum(pw * discrete_entropy(row) for pw, row in zip(p_w, px))
    h_y_w = sum(pw * discrete_entropy(row) for pw, row in zip(p_w, py))
    return p_xy, discrete_entropy(p_xy) - h_x_w - h_y_w


def binary_entropy(p: float) -> float:
    """h(p) = -p log p - (1-p) log(1-p) in nats."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must lie in [0, 1], got {p}")
    return discrete_entropy([p, 1.0 - p])


def dsbs_joint(p: float) -> np.ndarray:
    """The doubly symmetric binary source: X uniform on {0, 1}, Y = X flipped with probability p."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must lie in [0, 1], got {p}")
    return np.array([[(1 - p) / 2, p / 2], [p / 2, (1 - p) / 2]])


def dsbs_wyner_decomposition(p: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Wyner's optimal decomposition of DSBS(p), :math:`0 \le p \le 1/2`: W uniform on {0, 1},
    X = W xor A, Y = W xor B with A, B independent Bernoulli(:math:`a`), :math:`2a(1-a) = p`, that is
    :math:`a = (1 - \sqrt{1 - 2p})/2`. Returns ``(p_w, p_x_given_w, p_y_given_w)``."""
    if not 0.0 <= p <= 0.5:
        raise ValueError(f"the DSBS closed form needs 0 <= p <= 1/2, got {p}")
    a = 0.5 * (1.0 - math.sqrt(1.0 - 2.0 * p))
    flip = np.array([[1 - a, a], [a, 1 - a]])
    return np.array([0.5, 0.5]), flip, flip.copy()


def dsbs_common_information(p: float) -> float:
    r"""Wyner's closed form for DSBS(p), :math:`0 \le p \le 1/2`, in nats:
    :math:`C = \log 2 + h(p) - 2 h(a)` with :math:`a = (1 - \sqrt{1-2p})/2` (Wyner 1975)."""
    if not 0.0 <= p <= 0.5:
        raise ValueError(f"the DSBS closed form needs 0 <= p <= 1/2, got {p}")
    a = 0.5 * (1.0 - math.sqrt(1.0 - 2.0 * p))
    return math.log(2.0) + binary_entropy(p) - 2.0 * binary_entropy(a)
