"""matched_metric_gap: a method's metric gain over the reference's trade-off curve at equal
reconstruction, per seed; unmatched settings are left out; swapping the methods is the control."""

import numpy as np
import pytest

from infobounds.metrics.tradeoff import matched_metric_gap

# The reference on three seeds: two settings, distortion 10 -> metric 0.4 and distortion 20 -> 0.6
# (a line of slope 0.02 per distortion unit), the same on every seed.
REF_D = np.array([[10.0, 10.0, 10.0], [20.0, 20.0, 20.0]])
REF_M = np.array([[0.4, 0.4, 0.4], [0.6, 0.6, 0.6]])


def test_gain_over_the_interpolated_curve():
    # At distortion 15 the reference's curve is 0.5; the compared method scores 0.55, 0.6, 0.65.
    d = np.array([[15.0, 15.0, 15.0]])
    m = np.array([[0.55, 0.6, 0.65]])
    result = matched_metric_gap(d, m, REF_D, REF_M)
    assert result.matched.tolist() == [True]
    np.testing.assert_allclose(result.effects, [0.05, 0.1, 0.15])


def test_each_seed_uses_its_own_reference_curve():
    ref_m = np.array([[0.4, 0.2, 0.4], [0.6, 0.6, 0.8]])  # seed 1 and 2 have other curves
    d = np.array([[15.0, 15.0, 15.0]])
    m = np.array([[0.5, 0.5, 0.5]])
    result = matched_metric_gap(d, m, REF_D, ref_m)
    np.testing.assert_allclose(result.effects, [0.0, 0.1, -0.1])


def test_below_the_reference_range_compares_with_its_best_reconstruction():
    # Distortion 5 is below every reference setting: the curve is held at the value at 10 (0.4).
    result = matched_metric_gap([[5.0, 5.0, 5.0]], [[0.45, 0.45, 0.45]], REF_D, REF_M)
    np.testing.assert_allclose(result.effects, [0.05, 0.05, 0.05])


def test_settings_beyond_the_reference_range_are_not_matched():
    # Setting 2 reconstructs worse (25) than the reference's worst setting (20): left out.
    d = np.array([[15.0, 15.0, 15.0], [25.0, 25.0, 25.0]])
    m = np.array([[0.6, 0.6, 0.6], [0.9, 0.9, 0.9]])
    result = matched_metric_gap(d, m, REF_D, REF_M)
    assert result.matched.tolist() == [True, False]
    np.testing.assert_allclose(result.effects, [0.1, 0.1, 0.1])
    np.testing.assert_allclose(result.gaps[1], [0.3, 0.3, 0.3])  # reported, but not in the effect
    # within the tolerance it counts
    assert matched_metric_gap(d, m, REF_D, REF_M, tolerance=5.0).matched.tolist() == [True, True]


def test_no_matched_setting_gives_no_effect():
    result = matched_metric_gap([[30.0, 30.0, 30.0]], [[0.9, 0.9, 0.9]], REF_D, REF_M)
    assert not result.any_matched
    assert np.isnan(result.effects).all()


def test_swapping_the_methods_reverses_a_real_gain():
    # The compared method lies 0.1 above the reference at every distortion: swapped, it is the
    # reference that lies 0.1 below.
    d = np.array([[10.0, 11.0, 9.0], [20.0, 21.0, 19.0]])
    m = np.array([[0.5, 0.5, 0.5], [0.7, 0.7, 0.7]])
    forward = matched_metric_gap(d, m, d, m - 0.1)
    backward = matched_metric_gap(d, m - 0.1, d, m)
    np.testing.assert_allclose(forward.effects, [0.1, 0.1, 0.1])
    np.testing.assert_allclose(backward.effects, [-0.1, -0.1, -0.1])


@pytest.mark.parametrize("kwargs,message", [
    (dict(distortion=[[1.0, 2.0]], metric=[[0.1, 0.2, 0.3]]), "same shape"),
    (dict(distortion=[[1.0, 2.0]], metric=[[0.1, 0.2]]), "same seeds"),
    (dict(distortion=[[1.0, float("nan"), 3.0]], metric=[[0.1, 0.2, 0.3]]), "distortion"),
    (dict(distortion=[1.0, 2.0, 3.0], metric=[0.1, 0.2, 0.3]), r"shape \(settings, seeds\)"),
    (dict(distortion=[[1.0, 2.0, 3.0]], metric=[[0.1, 0.2, 0.3]], tolerance=-1.0), "tolerance"),
])
def test_bad_input_is_named(kwargs, message):
    kwargs.setdefault("reference_distortion", REF_D)
    kwargs.setdefault("reference_metric", REF_M)
    with pytest.raises(ValueError, match=message):
        matched_metric_gap(**kwargs)
