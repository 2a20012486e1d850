"""compare_over_seeds: the claim criterion mean - threshold > k * sd over at least three seeds."""

import math

import numpy as np
import pytest

from infobounds.metrics.seeds import compare_over_seeds


def test_mean_sd_and_margin():
    result = compare_over_seeds([1.0, 2.0, 3.0], threshold=0.5)
    assert result.mean == pytest.approx(2.0)
    assert result.sd == pytest.approx(1.0)  # sample standard deviation, divisor n - 1
    assert result.n_seeds == 3 and result.margin == pytest.approx(1.5)
    assert result.effects == (1.0, 2.0, 3.0)


def test_holds_only_beyond_the_spread():
    # mean 2, sd 1: clears 0 by 2 sd exactly, which is not "more than" 2 sd
    assert not compare_over_seeds([1.0, 2.0, 3.0]).holds
    assert compare_over_seeds([1.0, 2.0, 3.0], spread_multiple=1.9).holds
    assert compare_over_seeds([5.0, 5.2, 4.8]).holds


def test_swapped_methods_fail():
    """The control every chapter runs: the same effects with the two methods swapped."""
    effects = np.array([5.0, 4.0, 6.0])
    assert compare_over_seeds(effects).holds
    assert not compare_over_seeds(-effects).holds


def test_equal_effects_reduce_to_the_threshold():
    assert compare_over_seeds([3, 3, 3], threshold=2).holds
    assert not compare_over_seeds([3, 3, 3], threshold=3).holds


@pytest.mark.parametrize("effects", [[1.0, 2.0], [1.0], []])
def test_fewer_than_three_seeds_refused(effects):
    with pytest.raises(ValueError, match="n_seeds"):
        compare_over_seeds(effects)


@pytest.mark.parametrize("kwargs, name", [(dict(effects=[1, math.nan, 2]), "effects"),
                                          (dict(effects=[1, 2, math.inf]), "effects"),
                                          (dict(effects=[1, 2, 3], threshold=math.nan), "threshold"),
                                          (dict(effects=[1, 2, 3], spread_multiple=-1.0), "spread_multiple"),
                                          (dict(effects=["a", 2, 3]), "effects")])
def test_bad_input_named(kwargs, name):
    with pytest.raises(ValueError, match=name):
        compare_over_seeds(**kwargs)
