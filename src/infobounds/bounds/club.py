r"""The complexity-leakage-utility bottleneck (CLUB) on small discrete joints, computed exactly
(chapter ``bottleneck_family``).

Razeghi, Calmon, Gündüz & Voloshynovskiy (2023), *Bottlenecks CLUB: Unifying Information-Theoretic
Trade-offs Among Complexity, Leakage, and Utility*, IEEE TIFS.

A joint pmf :math:`P(S, U, X)` (sensitive attribute, utility variable, observation) and an encoder
:math:`P(Z|X)` that sees :math:`X` only, so that :math:`(S, U) - X - Z` is a Markov chain, define
:math:`P(s,u,x,z) = P(s,u,x)\,P(z|x)`. The CLUB Lagrangian, to be *maximised* over encoders, is

.. math::

    \mathcal L_{\mathrm{CLUB}}(P_{Z|X}; \beta, \alpha, \gamma)
      = \underbrace{I(U;Z)}_{\text{utility}}
      - \beta\,\underbrace{\bigl[H(Z) - \gamma\, H(Z|X)\bigr]}_{\text{complexity}}
      - \alpha\,\underbrace{I(S;Z)}_{\text{leakage}},

where the complexity is :math:`I(X;Z)` for :math:`\gamma = 1` (the paper's) and the entropy
:math:`H(Z)` for :math:`\gamma = 0` (the deterministic IB's; Strouse & Schwab's generalised IB
interpolates). :func:`special_case` gives the settings under which the CLUB is the information
bottleneck, the privacy funnel, the deterministic IB, the conditional entropy bottleneck and the
conditional privacy funnel, and the factor :math:`c` with :math:`\mathcal L_{\mathrm{CLUB}} = c\,
\mathcal L_{\text{known}}`; each known objective is computed from its own definition by the functions
below, so tests can check the reductions. Everything is in nats.

Arrays: ``p_sux`` has shape (|S|, |U|, |X|) and sums to one; ``p_z_given_x`` has shape (|X|, |Z|)
with rows summing to one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from infobounds.bounds.discrete import discrete_entropy

__all__ = [
    "SPECIAL_CASES", "ClubSetting", "joint_with_encoder", "club_terms", "club_lagrangian",
    "utility_is_input", "ib_lagrangian", "privacy_funnel_lagrangian", "dib_lagrangian",
    "ceb_lagrangian", "cpf_lagrangian", "special_case", "known_objective", "club_of_special_case",
]

S, U, X, Z = 0, 1, 2, 3  # axes of the joint P(s, u, x, z)


def _check_joint(p_sux) -> np.ndarray:
    p = np.asarray(p_sux, dtype=np.float64)
    if p.ndim != 3:
        raise ValueError(f"p_sux must have shape (|S|, |U|, |X|), got {p.shape}")
    if (p < -1e-12).any() or abs(p.sum() - 1.0) > 1e-9:
        raise ValueError("p_sux must be a probability mass function (non-negative, summing to 1)")
    return np.clip(p, 0.0, None)


def _check_encoder(p_z_given_x, n_x: int) -> np.ndarray:
    e = np.asarray(p_z_given_x, dtype=np.float64)
    if e.ndim != 2 or e.shape[0] != n_x:
        raise ValueError(f"p_z_given_x must have shape ({n_x}, |Z|), got {e.shape}")
    if (e < -1e-12).any() or np.abs(e.sum(1) - 1.0).max() > 1e-9:
        raise ValueError("each row of p_z_given_x must be a pmf over z")
    return np.clip(e, 0.0, None)


def joint_with_encoder(p_sux, p_z_given_x) -> np.ndarray:
    """P(s, u, x, z) = P(s, u, x) P(z|x): the Markov chain (S, U) - X - Z; shape (|S|, |U|, |X|, |Z|)."""
    p = _check_joint(p_sux)
    e = _check_encoder(p_z_given_x, p.shape[X])
    return p[..., None] * e[None, None, :, :]


def _h(p: np.ndarray, axes: tuple[int, ...]) -> float:
    """Entropy of the marginal of the 4-way joint on ``axes``."""
    drop = tuple(a for a in range(p.ndim) if a not in axes)
    return discrete_entropy(p.sum(axis=drop) if drop else p)


def _mi(p: np.ndarray, a: int, b: int) -> float:
    """I(A;B) = H(A) + H(B) - H(A,B)."""
    return _h(p, (a,)) + _h(p, (b,)) - _h(p, (a, b))


def _cmi(p: np.ndarray, a: int, b: int, c: int) -> float:
    """I(A;B|C) = H(A,C) + H(B,C) - H(A,B,C) - H(C), from its definition, no Markov identity used."""
    return _h(p, (a, c)) + _h(p, (b, c)) - _h(p, (a, b, c)) - _h(p, (c,))


def club_terms(p_sux, p_z_given_x) -> dict[str, float]:
    """Every information quantity of the CLUB family for one encoder, in nats.

    ``i_uz`` utility I(U;Z), ``i_xz`` complexity I(X;Z), ``i_sz`` leakage I(S;Z), ``h_z`` H(Z),
    ``h_z_given_x`` H(Z|X), and the conditional informations ``i_xz_given_u`` I(X;Z|U),
    ``i_xz_given_s`` I(X;Z|S), ``i_sz_given_u`` I(S;Z|U).
    """
    p = joint_with_encoder(p_sux, p_z_given_x)
    return {
        "i_uz": _mi(p, U, Z), "i_xz": _mi(p, X, Z), "i_sz": _mi(p, S, Z),
        "h_z": _h(p, (Z,)), "h_z_given_x": _h(p, (X, Z)) - _h(p, (X,)),
        "i_xz_given_u": _cmi(p, X, Z, U), "i_xz_given_s": _cmi(p, X, Z, S), "i_sz_given_u": _cmi(p, S, Z, U),
    }


def club_lagrangian(p_sux, p_z_given_x, *, beta: float, alpha: float, gamma: float = 1.0) -> float:
    r""":math:`I(U;Z) - \beta[H(Z) - \gamma H(Z|X)] - \alpha I(S;Z)`, to be maximised; ``gamma = 1``
    makes the complexity :math:`I(X;Z)`, ``gamma = 0`` makes it :math:`H(Z)`."""
    if beta < 0 or alpha < 0:
        raise ValueError(f"beta and alpha must be >= 0, got beta={beta}, alpha={alpha}")
    if not 0.0 <= gamma <= 1.0:
        raise ValueError(f"gamma must lie in [0, 1], got {gamma}")
    t = club_terms(p_sux, p_z_given_x)
    complexity = t["h_z"] - gamma * t["h_z_given_x"]
    return t["i_uz"] - beta * complexity - alpha * t["i_sz"]


def utility_is_input(p_sux) -> np.ndarray:
    """The joint P(S, U', X) with U' = X (the utility is the observation itself, as in the privacy
    funnels): P(s, u', x) = P(s, x) 1[u' = x]; shape (|S|, |X|, |X|)."""
    p_sx = _check_joint(p_sux).sum(axis=U)  # (|S|, |X|)
    n_x = p_sx.shape[1]
    return p_sx[:, None, :] * np.eye(n_x)[None, :, :]


# ---- the known objectives, each computed from its own definition --------------------------------
# Y is the utility variable U of p_sux; S and X are themselves.

def ib_lagrangian(p_sux, p_z_given_x, beta: float) -> float:
    """Information bottleneck (Tishby et al.), maximised: I(Y;Z) - beta I(X;Z)."""
    p = joint_with_encoder(p_sux, p_z_given_x)
    return _mi(p, U, Z) - beta * _mi(p, X, Z)


def privacy_funnel_lagrangian(p_sux, p_z_given_x, lam: float) -> float:
    """Privacy funnel (Makhdoumi et al.), minimised: I(S;Z) - lam I(X;Z)."""
    p = joint_with_encoder(p_sux, p_z_given_x)
    return _mi(p, S, Z) - lam * _mi(p, X, Z)


def dib_lagrangian(p_sux, p_z_given_x, beta: float) -> float:
    """Deterministic information bottleneck (Strouse & Schwab), minimised: H(Z) - beta I(Y;Z)."""
    p = joint_with_encoder(p_sux, p_z_given_x)
    return _h(p, (Z,)) - beta * _mi(p, U, Z)


def ceb_lagrangian(p_sux, p_z_given_x, gamma: float) -> float:
    """Conditional entropy bottleneck (Fischer), minimised: I(X;Z|Y) - gamma I(Y;Z)."""
    p = joint_with_encoder(p_sux, p_z_given_x)
    return _cmi(p, X, Z, U) - gamma * _mi(p, U, Z)


def cpf_lagrangian(p_sux, p_z_given_x, lam: float) -> float:
    """Conditional privacy funnel (Rodríguez-Gálvez et al.), minimised: I(S;Z) - lam I(X;Z|S)."""
    p = joint_with_encoder(p_sux, p_z_given_x)
    return _mi(p, S, Z) - lam * _cmi(p, X, Z, S)


@dataclass(frozen=True)
class ClubSetting:
    """CLUB parameters that reproduce a known objective: L_CLUB = factor * L_known on the joint
    ``utility_is_input(p)`` if ``utility == "input"`` else on ``p`` itself (utility = U)."""

    beta: float
    alpha: float
    gamma: float
    utility: str  # "target": U is the label Y; "input": U = X
    factor: float  # L_CLUB = factor * L_known (negative for objectives that are minimised)


def _positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{name} must be positive, got {value}")


def special_case(name: str, param: float) -> ClubSetting:
    """The CLUB setting of a known bottleneck with its own trade-off parameter ``param``
    (IB: beta in [0, inf); PF, CPF: lam > 0; DIB: beta > 0; CEB: gamma > -1)."""
    if name == "ib":
        if param < 0:
            raise ValueError(f"the IB's beta must be >= 0, got {param}")
        return ClubSetting(beta=param, alpha=0.0, gamma=1.0, utility="target", factor=1.0)
    if name == "pf":
        _positive("the privacy funnel's lam", param)
        return ClubSetting(beta=0.0, alpha=1.0 / param, gamma=1.0, utility="input", factor=-1.0 / param)
    if name == "dib":
        _positive("the DIB's beta", param)
        return ClubSetting(beta=1.0 / param, alpha=0.0, gamma=0.0, utility="target", factor=-1.0 / param)
    if name == "ceb":
        if not param > -1:
            raise ValueError(f"the CEB's gamma must be > -1, got {param}")
        return ClubSetting(beta=1.0 / (1.0 + param), alpha=0.0, gamma=1.0, utility="target",
                           factor=-1.0 / (1.0 + param))
    if name == "cpf":
        _positive("the conditional privacy funnel's lam", param)
        return ClubSetting(beta=0.0, alpha=(1.0 + param) / param, gamma=1.0, utility="input", factor=-1.0 / param)
    raise ValueError(f"unknown special case {name!r}: choose one of {', '.join(SPECIAL_CASES)}")


SPECIAL_CASES = {
    "ib": ib_lagrangian, "pf": privacy_funnel_lagrangian, "dib": dib_lagrangian,
    "ceb": ceb_lagrangian, "cpf": cpf_lagrangian,
}


def known_objective(name: str, p_sux, p_z_given_x, param: float) -> float:
    """The known objective ``name`` (a key of :data:`SPECIAL_CASES`) at its parameter ``param``."""
    if name not in SPECIAL_CASES:
        raise ValueError(f"unknown special case {name!r}: choose one of {', '.join(SPECIAL_CASES)}")
    return SPECIAL_CASES[name](p_sux, p_z_given_x, param)


def club_of_special_case(name: str, p_sux, p_z_given_x, param: float) -> tuple[float, float]:
    """(L_CLUB at the special case's setting, factor * L_known): equal when the reduction holds."""
    setting = special_case(name, param)
    joint = utility_is_input(p_sux) if setting.utility == "input" else p_sux
    club = club_lagrangian(joint, p_z_given_x, beta=setting.beta, alpha=setting.alpha, gamma=setting.gamma)
    return club, setting.factor * known_objective(name, p_sux, p_z_given_x, param)

