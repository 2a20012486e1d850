r"""A comparison of two methods (or settings) over training seeds, as the chapters' claims make it.

A chapter that claims "method A beats method B" trains both on the same seeds
:math:`s = 1, \dots, n` and measures, per seed, the effect :math:`e_s` (A's metric minus B's,
oriented so that the claim says :math:`e_s > \tau` for a threshold :math:`\tau`, usually 0). With
the seed mean :math:`\bar e` and the sample standard deviation over seeds :math:`s_e` (divisor
:math:`n - 1`), the claim *holds* when

.. math::

    \bar e - \tau > k\, s_e ,

the mean effect clears the threshold by a margin of more than :math:`k` seed standard deviations
(:math:`k = 2` by default). For :math:`n = 3` and :math:`k = 2` this is a one-sided
:math:`t`-statistic :math:`(\bar e - \tau)/(s_e/\sqrt n) > 2\sqrt 3 \approx 3.5` (two degrees of
freedom, :math:`p \approx 0.04` for Gaussian effects). When every seed gives the same effect
(:math:`s_e = 0`) the criterion reduces to :math:`\bar e > \tau`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

from infobounds.validation import require_at_least, require_finite, require_non_negative


@dataclass(frozen=True)
class SeedComparison:
    """Per-seed ``effects``, their ``mean`` and sample standard deviation ``sd``, the ``threshold``
    and ``spread_multiple`` k of the criterion, and whether it ``holds``."""

    effects: tuple[float, ...]
    mean: float
    sd: float
    threshold: float
    spread_multiple: float
    holds: bool

    @property
    def n_seeds(self) -> int:
        return len(self.effects)

    @property
    def margin(self) -> float:
        """How far the mean effect clears the threshold, ``mean - threshold``."""
        return self.mean - self.threshold


def compare_over_seeds(effects: Iterable[float], *, threshold: float = 0.0,
                       spread_multiple: float = 2.0) -> SeedComparison:
    """Seed mean and spread of ``effects`` and whether ``mean - threshold > spread_multiple * sd``.

    Parameters
    ----------
    effects : the effect measured on each seed (at least 3), oriented so that the claim is
        ``effect > threshold``; finite.
    threshold : the value the mean effect must exceed (0 for "A beats B").
    spread_multiple : k, the margin in seed standard deviations (``>= 0``).
    """
    try:
        values = np.asarray([float(e) for e in effects], dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"effects must be numbers, one per seed, got {effects!r}") from None
    require_at_least(3, n_seeds=len(values))
    require_finite(effects=values, threshold=threshold, spread_multiple=spread_multiple)
    require_non_negative(spread_multiple=spread_multiple)
    mean = float(values.mean())
    sd = float(values.std(ddof=1))
    holds = bool(mean - threshold > spread_multiple * sd)
    return SeedComparison(tuple(float(v) for v in values), mean, sd, float(threshold), float(spread_multiple), holds)
