r"""Disentanglement metrics: beta-VAE, FactorVAE, MIG and DCI (chapter ``factorvae``).

All four ask how well a representation :math:`r(x) \in \mathbb R^K` lines up with known generative
factors :math:`v = (v_1, \dots, v_F)` (discrete, coded ``0 .. size_k - 1``), and all four follow the
protocols of disentanglement_lib (Locatello et al., 2019), except where noted:

``beta_vae_score`` (Higgins et al., 2017)
    Fix one factor k, draw ``batch_size`` pairs of observations that agree on it and nothing else,
    and average :math:`|r(x_1) - r(x_2)|` over the pairs; a *linear* classifier (logistic
    regression) predicts k from that average. The score is its held-out accuracy; chance is 1/F.
``factor_vae_score`` (Kim & Mnih, 2018)
    Divide each latent by its standard deviation over the data, fix one factor k, and vote for the
    latent with the smallest variance over a batch that shares factor k. A *majority-vote*
    classifier maps each latent to the factor it received most votes for; the score is its accuracy
    on fresh votes. It has no free parameters and cannot be satisfied by a representation in which
    only F - 1 factors are disentangled, which is how the beta-VAE metric can be.
``mig`` (Chen et al., 2018)
    Mutual information gap: for each factor, the difference between the largest and second-largest
    :math:`I(z_j; v_k)` over latents j, divided by :math:`H(v_k)`, averaged over factors. For the
    pair (j, k) latent j is discretised into :math:`B_k = \max(20, n_k)` bins, :math:`n_k` the
    number of values factor k takes, of equal width in the *ranks* of :math:`z_j`'s distinct values
    (equal-frequency bins for a continuous latent), and the MI of the discrete pairs is computed
    with ``sklearn.metrics.mutual_info_score`` (nats). So the score is invariant to an increasing
    map of each latent, as the MI it estimates is, and a code that is an increasing function of
    one factor per latent scores 1 (a latent with :math:`n_k \le B_k` distinct values keeps them
    in distinct bins). disentanglement_lib uses 20 equal-width bins of the latent's range for
    every factor (``binning="width"``), under which a perfect code of a 40-valued factor scores :math:`\log 20 /
    \log 40` and an exponentiated one less.
``dci`` (Eastwood & Williams, 2018)
    An importance matrix :math:`R_{jk}` of latent j for factor k from one regressor per factor;
    *disentanglement* :math:`\sum_j \rho_j (1 - H_F(P_{j\cdot}))` with :math:`P_{jk} = R_{jk} /
    \sum_k R_{jk}` and :math:`\rho_j = \sum_k R_{jk} / \sum_{jk} R_{jk}`; *completeness*
    :math:`\frac1F\sum_k (1 - H_K(\tilde P_{\cdot k}))`; *informativeness* the regressors'
    held-out :math:`R^2`. Entropies are in base F and K, so each score lies in [0, 1]. The
    regressor is **Lasso** on standardised latents and factor codes (importance ``|coef|``, the
    linear variant of Eastwood & Williams; fast; its penalty ``alpha = 0.1`` sets the coefficients
    of latents unrelated to a factor exactly to zero, so pure noise scores 0; a regressor whose
    held-out :math:`R^2` is not positive contributes no importance), or ``regressor="forest"``, a random forest with
    impurity importances (slower, sees non-linear relations). disentanglement_lib uses
    gradient-boosted trees; scores are comparable within one regressor only. The Lasso's penalty
    makes DCI depend on the code's basis beyond what the definition intends: an orthogonal rotation
    of a perfect code loses no information, and unpenalised least squares keeps its held-out
    :math:`R^2` at 1.0 before and after, but the Lasso's falls from 0.990 to 0.955 (the codes
    ``DiscreteFactors((3, 6, 10, 8, 8))`` and their rotation by ``ortho_group.rvs(5,
    random_state=1)``, ``tests/test_reliability_metrics.py``); and the penalty zeroes small
    importances, which raises D for the rotated code (0.18 against 0.11 unpenalised).
    Informativeness is rotation-invariant only as ``alpha`` tends to 0.

Factors with one value carry no information to disentangle: every metric leaves them out (the
beta-VAE and FactorVAE scores never fix them, MIG and DCI drop their columns), and a sampler with
no factor of two or more values is a ``ValueError``. A representation with a NaN or infinite entry
is a ``ValueError`` naming ``represent`` (or the array) in every metric.

Observations come from a *factor sampler*, any object with ``factor_sizes``,
``sample_factors(n, rng) -> (n, F) codes`` and ``observe(codes)`` (e.g.
:class:`infobounds.data.shapes.Shapes`, or :class:`DiscreteFactors` for tests); ``represent`` maps
a batch of observations to an (n, K) array or tensor (for a VAE, the encoder's mean).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Protocol, Sequence

import numpy as np
import torch

from infobounds.profiles import smoke_draws


class FactorSampler(Protocol):
    factor_sizes: tuple[int, ...]

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray: ...

    def observe(self, codes: np.ndarray) -> Any: ...


Represent = Callable[[Any], Any]


@dataclass(frozen=True)
class DiscreteFactors:
    """A factor sampler whose observations are a function of the codes (default: the codes,
    centred and scaled to unit variance, as float64); for known-answer tests."""

    factor_sizes: tuple[int, ...]
    transform: Callable[[np.ndarray], np.ndarray] | None = None

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return np.stack([rng.integers(0, s, n) for s in self.factor_sizes], axis=1)

    def observe(self, codes: np.ndarray) -> np.ndarray:
        sizes = np.asarray(self.factor_sizes, dtype=float)
        std = np.sqrt((sizes**2 - 1) / 12)  # of a uniform code on 0 .. size - 1; 0 for a one-valued factor
        # uniform codes -> mean 0, variance 1; a one-valued factor -> a constant 0 column
        standard = (codes - (sizes - 1) / 2) / np.where(std > 0, std, 1.0)
        return standard if self.transform is None else self.transform(standard)


def check_finite(z: np.ndarray, name: str) -> np.ndarray:
    """``z`` unchanged if every entry is finite, else a ``ValueError`` naming ``name``."""
    bad = ~np.isfinite(z)
    if bad.any():
        rows, cols = np.nonzero(bad)
        raise ValueError(f"{name} has {int(bad.sum())} NaN or infinite entries (first at row {rows[0]}, "
                         f"column {cols[0]})")
    return z


def encode(represent: Represent, observations: Any, batch_size: int = 2048) -> np.ndarray:
    """``represent`` applied in batches under ``torch.no_grad``, as a float64 (n, K) array; a NaN or
    infinite entry is a ``ValueError`` naming ``represent``."""
    out = []
    n = len(observations)
    with torch.no_grad():
        for start in range(0, n, batch_size):
            z = represent(observations[start:start + batch_size])
            if isinstance(z, torch.Tensor):
                z = z.detach().float().cpu().numpy()
            out.append(np.asarray(z, dtype=np.float64).reshape(min(batch_size, n - start), -1))
    return check_finite(np.concatenate(out, axis=0), "represent's output")


def varying_factors(sampler: FactorSampler) -> np.ndarray:
    """Indices of the factors with at least two values; a ``ValueError`` if there is none."""
    varying = np.nonzero(np.asarray(sampler.factor_sizes) > 1)[0]
    if varying.size == 0:
        raise ValueError(f"sampler has no factor with two or more values: factor_sizes={tuple(sampler.factor_sizes)}")
    return varying


def _sample_fixed(sampler: FactorSampler, k: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` codes that share a random value of factor k and are otherwise independent."""
    codes = sampler.sample_factors(n, rng)
    codes[:, k] = rng.integers(0, sampler.factor_sizes[k])
    return codes


def sample_representations(sampler: FactorSampler, represent: Represent, n: int,
                           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` observational samples: (codes (n, F), representations (n, K))."""
    codes = sampler.sample_factors(n, rng)
    return codes, encode(represent, sampler.observe(codes))


# ------------------------------------------------------------------------------------------------
# beta-VAE metric
# ------------------------------------------------------------------------------------------------
def _beta_vae_points(sampler, represent, n_points, batch_size, rng):
    varying = varying_factors(sampler)
    labels = varying[rng.integers(0, varying.size, n_points)]
    features = []
    for k in labels:
        first = sampler.sample_factors(batch_size, rng)
        second = sampler.sample_factors(batch_size, rng)
        second[:, k] = first[:, k]  # the pair agrees on factor k only (by design)
        z = encode(represent, sampler.observe(np.concatenate([first, second])))
        features.append(np.abs(z[:batch_size] - z[batch_size:]).mean(axis=0))  # (K,)
    return np.stack(features), labels


def beta_vae_score(sampler: FactorSampler, represent: Represent, *, n_train: int = 1000, n_test: int = 500,
                   batch_size: int = 64, seed: int = 0) -> float:
    """The beta-VAE metric: held-out accuracy of a linear classifier that tells which factor a pair
    batch shared from the mean absolute difference of its representations (chance 1/F, F the
    number of factors with two or more values)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    from sklearn.pipeline import make_pipeline

    _check_counts(n_train=n_train, n_test=n_test, batch_size=batch_size)
    varying_factors(sampler)
    rng = np.random.default_rng(seed)
    x_train, y_train = _beta_vae_points(sampler, represent, n_train, batch_size, rng)
    x_test, y_test = _beta_vae_points(sampler, represent, n_test, batch_size, rng)
    if len(np.unique(y_train)) < 2:
        return float(np.mean(y_test == y_train[0]))
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    clf.fit(x_train, y_train)
    return float(clf.score(x_test, y_test))


# ------------------------------------------------------------------------------------------------
# FactorVAE metric
# ------------------------------------------------------------------------------------------------
def _factor_vae_votes(sampler, represent, n_votes, batch_size, scale, active, rng):
    n_factors = len(sampler.factor_sizes)
    varying = varying_factors(sampler)
    votes = np.zeros((scale.shape[0], n_factors), dtype=np.int64)  # (K, F)
    active_idx = np.nonzero(active)[0]
    for _ in range(n_votes):
        k = int(varying[rng.integers(0, varying.size)])
        z = encode(represent, sampler.observe(_sample_fixed(sampler, k, batch_size, rng))) / scale
        local_var = z[:, active].var(axis=0, ddof=1)
        votes[active_idx[int(np.argmin(local_var))], k] += 1
    return votes


def factor_vae_score(sampler: FactorSampler, represent: Represent, *, n_train: int = 1000, n_test: int = 500,
                     batch_size: int = 64, n_variance: int = 10_000, prune_relative_std: float = 1e-3,
                     seed: int = 0) -> float:
    """The FactorVAE metric: accuracy of the majority-vote classifier on held-out votes (chance 1/F).

    Latents are scaled by their standard deviation over ``n_variance`` samples; latents whose
    standard deviation is at most ``prune_relative_std`` times the largest one (collapsed, Kim &
    Mnih's pruning) cast no votes. Kim & Mnih prune below an absolute 0.05, which assumes the
    N(0, 1) prior's scale: it prunes an informative latent whose scale is 0.01 and every latent of
    a code multiplied by 0.01. The relative threshold makes the score invariant to the scale of
    each latent and of the whole code. A representation with no active latent scores 0.
    """
    _check_counts(n_train=n_train, n_test=n_test, batch_size=batch_size, n_variance=n_variance)
    if not 0 <= prune_relative_std < 1:
        raise ValueError(f"prune_relative_std must lie in [0, 1), got {prune_relative_std}")
    varying_factors(sampler)
    rng = np.random.default_rng(seed)
    _, z = sample_representations(sampler, represent, n_variance, rng)
    scale = z.std(axis=0, ddof=1)
    active = scale > prune_relative_std * scale.max()
    if not active.any():
        return 0.0
    scale = np.where(active, scale, 1.0)
    train = _factor_vae_votes(sampler, represent, n_train, batch_size, scale, active, rng)
    test = _factor_vae_votes(sampler, represent, n_test, batch_size, scale, active, rng)
    classifier = train.argmax(axis=1)  # latent j -> the factor it was most often voted for
    return float(test[np.arange(test.shape[0]), classifier].sum() / test.sum())


# ------------------------------------------------------------------------------------------------
# MIG
# ------------------------------------------------------------------------------------------------
BINNINGS = ("rank", "width")


def discretize(z: np.ndarray, n_bins: int = 20, binning: str = "rank") -> np.ndarray:
    """Each column of z cut into ``n_bins`` bins, (n, K) int.

    ``rank``: bin ``floor(r n_bins / m)`` for the r-th smallest (from 0) of the column's m distinct
    values, so equal values share a bin, m <= n_bins distinct values get distinct bins, and the
    bins do not change under an increasing map of the column. ``width``: equal-width bins over the
    column's range (disentanglement_lib)."""
    if binning not in BINNINGS:
        raise ValueError(f"unknown binning {binning!r}: choose one of {', '.join(BINNINGS)}")
    out = np.zeros(z.shape, dtype=np.int64)
    for j in range(z.shape[1]):
        if binning == "rank":
            distinct, dense_rank = np.unique(z[:, j], return_inverse=True)
            out[:, j] = dense_rank.reshape(-1) * n_bins // distinct.size
        else:
            edges = np.histogram_bin_edges(z[:, j], bins=n_bins)
            out[:, j] = np.digitize(z[:, j], edges[1:-1])
    return out


def mutual_information_matrix(z: np.ndarray, codes: np.ndarray, n_bins: int = 20, binning: str = "rank"
                              ) -> np.ndarray:
    """I(z_j; v_k) in nats for discretised latents and discrete factors, (K, F). With ``rank`` binning
    latent j is cut into ``max(n_bins, number of values of v_k)`` bins for factor k; ``width`` keeps
    ``n_bins`` for every factor, as disentanglement_lib does (``discretize``)."""
    from sklearn.metrics import mutual_info_score

    bins = [max(n_bins, np.unique(codes[:, k]).size) if binning == "rank" else n_bins for k in range(codes.shape[1])]
    discrete = {b: discretize(z, b, binning) for b in set(bins)}
    return np.array([[mutual_info_score(codes[:, k], discrete[bins[k]][:, j]) for k in range(codes.shape[1])]
                     for j in range(z.shape[1])])


def mig_score(z: np.ndarray, codes: np.ndarray, n_bins: int = 20, binning: str = "rank") -> float:
    """MIG from samples: mean over factors of (largest - second largest MI) / H(v_k), over the
    factors that take two or more values in ``codes``."""
    from sklearn.metrics import mutual_info_score

    z, codes = np.asarray(z, dtype=float), np.asarray(codes)
    if z.ndim != 2 or codes.ndim != 2 or z.shape[0] != codes.shape[0]:
        raise ValueError(f"z (n, K) and codes (n, F) must be paired samples, got {z.shape} and {codes.shape}")
    check_finite(z, "z")
    if n_bins < 2:
        raise ValueError(f"n_bins must be >= 2, got {n_bins}")
    keep = np.array([np.unique(codes[:, k]).size > 1 for k in range(codes.shape[1])])
    if not keep.any():
        raise ValueError("codes has no factor with two or more values: MIG is undefined")
    codes = codes[:, keep]
    mi = mutual_information_matrix(z, codes, n_bins, binning)  # (K, F)
    entropy = np.array([mutual_info_score(codes[:, k], codes[:, k]) for k in range(codes.shape[1])])
    top = np.sort(mi, axis=0)[::-1]  # descending over latents
    second = top[1] if z.shape[1] > 1 else np.zeros(codes.shape[1])
    return float(np.mean((top[0] - second) / entropy))


def mig(sampler: FactorSampler, represent: Represent, *, n: int = 10_000, n_bins: int = 20, binning: str = "rank",
        seed: int = 0) -> float:
    """The mutual information gap on ``n`` observational samples."""
    _check_counts(n=n)
    varying_factors(sampler)
    codes, z = sample_representations(sampler, represent, n, np.random.default_rng(seed))
    return mig_score(z, codes, n_bins, binning)


# ------------------------------------------------------------------------------------------------
# DCI
# ------------------------------------------------------------------------------------------------
def _entropy_rows(p: np.ndarray, base: int) -> np.ndarray:
    """Entropy of each row of a row-stochastic matrix in the given base (0 log 0 = 0)."""
    if base < 2:
        return np.zeros(p.shape[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.where(p > 0, np.log(p), 0.0)
    return -(p * logs).sum(axis=1) / math.log(base)


def importance_matrix(z_train: np.ndarray, codes_train: np.ndarray, z_test: np.ndarray, codes_test: np.ndarray,
                      regressor: str = "lasso", alpha: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(R (K, F) importances, held-out R^2 per factor (F,)) of one regressor per factor."""
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.linear_model import Lasso

    check_finite(np.asarray(z_train, dtype=float), "z_train")
    check_finite(np.asarray(z_test, dtype=float), "z_test")
    mean, std = z_train.mean(0), z_train.std(0) + 1e-12
    zs_train, zs_test = (z_train - mean) / std, (z_test - mean) / std
    n_latents, n_factors = z_train.shape[1], codes_train.shape[1]
    importance = np.zeros((n_latents, n_factors))
    r2 = np.zeros(n_factors)
    for k in range(n_factors):
        y_mean, y_std = codes_train[:, k].mean(), codes_train[:, k].std()
        if y_std == 0:
            continue
        y_train = (codes_train[:, k] - y_mean) / y_std
        y_test = (codes_test[:, k] - y_mean) / y_std
        if regressor == "lasso":
            model = Lasso(alpha=alpha).fit(zs_train, y_train)
            importance[:, k] = np.abs(model.coef_)
        elif regressor == "forest":
            model = RandomForestRegressor(n_estimators=50, max_depth=8, random_state=seed, n_jobs=1)
            model.fit(zs_train, y_train)
            importance[:, k] = model.feature_importances_
        else:
            raise ValueError(f"unknown regressor {regressor!r}: choose lasso or forest")
        r2[k] = model.score(zs_test, y_test)
        if r2[k] <= 0:  # no better than the mean on held-out data: its importances mean nothing
            importance[:, k] = 0.0
    return importance, r2


def dci_scores(importance: np.ndarray, r2: np.ndarray | None = None) -> dict[str, float]:
    """Disentanglement, completeness (and informativeness if ``r2`` is given) from R (K, F)."""
    importance = np.abs(check_finite(np.asarray(importance, dtype=float), "importance"))
    if importance.ndim != 2:
        raise ValueError(f"importance must be a (K, F) matrix, got shape {importance.shape}")
    n_latents, n_factors = importance.shape
    total = importance.sum()
    if total <= 0:
        out = {"disentanglement": 0.0, "completeness": 0.0}
    else:
        row = importance.sum(axis=1)
        p_rows = np.divide(importance, row[:, None], out=np.zeros_like(importance), where=row[:, None] > 0)
        d_j = 1.0 - _entropy_rows(p_rows, n_factors)
        rho = row / total
        col = importance.sum(axis=0)
        p_cols = np.divide(importance.T, col[:, None], out=np.zeros_like(importance.T), where=col[:, None] > 0)
        c_k = np.where(col > 0, 1.0 - _entropy_rows(p_cols, n_latents), 0.0)
        out = {"disentanglement": float((rho * d_j).sum()), "completeness": float(c_k.mean())}
    if r2 is not None:
        out["informativeness"] = float(np.mean(np.clip(r2, 0.0, 1.0)))
    return out


def dci(sampler: FactorSampler, represent: Represent, *, n_train: int = 5000, n_test: int = 2000,
        regressor: str = "lasso", alpha: float = 0.1, seed: int = 0) -> dict[str, float]:
    """DCI disentanglement, completeness and informativeness on observational samples, over the
    factors with two or more values."""
    _check_counts(n_train=n_train, n_test=n_test)
    varying = varying_factors(sampler)
    rng = np.random.default_rng(seed)
    codes_train, z_train = sample_representations(sampler, represent, n_train, rng)
    codes_test, z_test = sample_representations(sampler, represent, n_test, rng)
    importance, r2 = importance_matrix(z_train, codes_train[:, varying], z_test, codes_test[:, varying], regressor,
                                       alpha, seed)
    return dci_scores(importance, r2)


def all_scores(sampler: FactorSampler, represent: Represent, *, n: int = 1000, batch_size: int = 64,
               seed: int = 0, regressor: str = "lasso") -> dict[str, float]:
    """The four metrics with one size knob ``n`` (votes / points for the first two, 10 n samples
    for MIG, 5 n for DCI): ``beta_vae``, ``factor_vae``, ``mig``, ``dci`` (disentanglement),
    ``dci_completeness``, ``dci_informativeness``. A smoke run (``INFOBOUNDS_SMOKE``) caps ``n`` and
    ``batch_size`` at ``SMOKE_DRAWS``."""
    n, batch_size = smoke_draws(n), smoke_draws(batch_size)
    d = dci(sampler, represent, n_train=5 * n, n_test=2 * n, regressor=regressor, seed=seed)
    return {
        "beta_vae": beta_vae_score(sampler, represent, n_train=n, n_test=n // 2, batch_size=batch_size, seed=seed),
        "factor_vae": factor_vae_score(sampler, represent, n_train=n, n_test=n // 2, batch_size=batch_size,
                                       n_variance=10 * n, seed=seed),
        "mig": mig(sampler, represent, n=10 * n, seed=seed),
        "dci": d["disentanglement"],
        "dci_completeness": d["completeness"],
        "dci_informativeness": d["informativeness"],
    }


def _check_counts(**counts: int) -> None:
    for name, value in counts.items():
        if value < (2 if name == "batch_size" else 1):
            raise ValueError(f"{name} must be positive (batch_size at least 2), got {value}")


__all__: Sequence[str] = [
    "BINNINGS", "DiscreteFactors", "FactorSampler", "all_scores", "beta_vae_score", "check_finite", "dci",
    "dci_scores", "discretize", "encode", "factor_vae_score", "importance_matrix", "mig", "mig_score",
    "mutual_information_matrix", "sample_representations", "varying_factors",
]
