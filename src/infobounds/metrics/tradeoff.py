r"""Two methods compared at matched reconstruction, as on a disentanglement trade-off plot
(chapters ``factorvae`` and ``stiefel_rkm``).

Kim & Mnih (2018) compare FactorVAE with the :math:`\beta`-VAE on a plot of a disentanglement metric
against the reconstruction error, one point per hyper-parameter setting: a method has the better
trade-off when its points lie above the other method's curve at the same reconstruction error. This
module turns that reading into one number per training seed, so that a chapter can test it with
:func:`infobounds.metrics.seeds.compare_over_seeds`.

Let the *reference* method (the :math:`\beta`-VAE) be trained with settings :math:`b = 1..B` and the
*compared* method with settings :math:`g = 1..G`, each on the seeds :math:`s = 1..n`, giving
distortions :math:`d` (lower is better) and metric values :math:`m`. On seed :math:`s` the
reference's trade-off curve :math:`\hat m_s(d)` is the piecewise-linear interpolation through its
points :math:`(d_{bs}, m_{bs})` in order of distortion, held at the end values beyond the first and
last point. A compared setting :math:`g` is **matched** when its seed-mean distortion
:math:`\bar d_g` is at most the largest seed-mean distortion of the reference's settings,
:math:`\max_b \bar d_b`, plus a ``tolerance``: beyond that the reference might reach a higher metric
with a stronger setting that was not run, so no comparison is made there. Below the reference's
smallest distortion the comparison is with the reference's best-reconstructing setting, which the
compared method then beats in reconstruction as well. The effect on seed :math:`s` is

.. math::

    e_s = \frac1{|M|} \sum_{g \in M} \big( m_{gs} - \hat m_s(d_{gs}) \big),

the metric the compared method gains at equal reconstruction, averaged over the matched settings
:math:`M`. Swapping the two methods is the control: it measures the reference against the compared
method's curve, and a real gain in one direction cannot survive it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from infobounds.validation import require_finite, require_non_negative


@dataclass(frozen=True)
class MatchedGap:
    """The comparison of :func:`matched_metric_gap`.

    ``gaps`` (G, n): :math:`m_{gs} - \\hat m_s(d_{gs})` for every compared setting and seed;
    ``matched`` (G,): which settings are matched; ``effects`` (n,): the per-seed mean gap over the
    matched settings (NaN on every seed when none is matched).
    """

    gaps: np.ndarray
    matched: np.ndarray
    effects: np.ndarray

    @property
    def any_matched(self) -> bool:
        return bool(self.matched.any())


def _as_grid(name: str, values) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numbers of shape (settings, seeds), got {values!r}") from None
    if array.ndim != 2 or array.shape[0] < 1 or array.shape[1] < 1:
        raise ValueError(f"{name} must have shape (settings, seeds) with at least one of each, got shape "
                         f"{array.shape}")
    require_finite(**{name: array})
    return array


def matched_metric_gap(distortion, metric, reference_distortion, reference_metric, *,
                       tolerance: float = 0.0) -> MatchedGap:
    """The compared method's metric gain over the reference's trade-off curve at equal distortion.

    Parameters
    ----------
    distortion, metric : the compared method's reconstruction error (lower is better) and metric
        (higher is better), shape (G settings, n seeds); column s of every array is seed s.
    reference_distortion, reference_metric : the same for the reference method, shape (B, n).
    tolerance : how far (in distortion units, >= 0) a compared setting's seed-mean distortion may
        exceed the reference's largest seed-mean distortion and still count as matched.
    """
    d, m = _as_grid("distortion", distortion), _as_grid("metric", metric)
    d_ref, m_ref = _as_grid("reference_distortion", reference_distortion), _as_grid("reference_metric",
                                                                                    reference_metric)
    if d.shape != m.shape or d_ref.shape != m_ref.shape:
        raise ValueError(f"distortion and metric must have the same shape, got {d.shape} and {m.shape}; "
                         f"reference: {d_ref.shape} and {m_ref.shape}")
    if d.shape[1] != d_ref.shape[1]:
        raise ValueError(f"both methods need the same seeds (columns), got {d.shape[1]} and {d_ref.shape[1]}")
    require_finite(tolerance=tolerance)
    require_non_negative(tolerance=tolerance)
    n_seeds = d.shape[1]
    curve = np.empty_like(m)
    for s in range(n_seeds):
        order = np.argsort(d_ref[:, s], kind="stable")
        curve[:, s] = np.interp(d[:, s], d_ref[order, s], m_ref[order, s])  # held at the end values
    gaps = m - curve
    matched = d.mean(axis=1) <= d_ref.mean(axis=1).max() + tolerance
    effects = gaps[matched].mean(axis=0) if matched.any() else np.full(n_seeds, np.nan)
    return MatchedGap(gaps=gaps, matched=matched, effects=effects)


__all__ = ["MatchedGap", "matched_metric_gap"]
