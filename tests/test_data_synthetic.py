"""The staircase stream's per-level statistics (chapter ``information_measures``)."""

import numpy as np
import pytest

from infobounds.data.synthetic import GaussianPairStream


def _stream(levels=(2.0, 4.0, 6.0), steps_per_level=10):
    return GaussianPairStream(dim=4, batch_size=8, mi_levels=levels, steps_per_level=steps_per_level, seed=0)


def test_level_statistics_drops_the_settling_steps():
    stream = _stream()
    # each level: 5 settling steps far off (100), then alternating level +- 1
    trace = np.concatenate([np.r_[np.full(5, 100.0), level + np.array([-1.0, 1.0, -1.0, 1.0, 0.0])]
                            for level in (2.0, 4.0, 6.0)])
    means, stds = stream.level_statistics(trace)
    np.testing.assert_allclose(means, [2.0, 4.0, 6.0])
    np.testing.assert_allclose(stds, np.full(3, np.std([-1.0, 1.0, -1.0, 1.0, 0.0])))
    # keeping every step lets the settling values in: the control the default must differ from
    means_all, _ = stream.level_statistics(trace, settle=0.0)
    assert np.all(means_all > 40)


def test_level_statistics_matches_a_direct_computation():
    stream = _stream(steps_per_level=40)
    trace = np.random.default_rng(0).normal(size=120)
    means, stds = stream.level_statistics(trace, settle=0.25)
    blocks = trace.reshape(3, 40)[:, 10:]
    np.testing.assert_allclose(means, blocks.mean(1))
    np.testing.assert_allclose(stds, blocks.std(1))


def test_level_statistics_propagates_nan():
    stream = _stream()
    trace = np.full(30, np.nan)
    trace[:2] = 1.0  # a smoke run: two steps, the rest padded
    means, stds = stream.level_statistics(trace)
    assert np.isnan(means).all() and np.isnan(stds).all()


@pytest.mark.parametrize("values, match", [(np.zeros(29), r"shape \(30,\)"), (np.zeros((3, 10)), r"shape \(30,\)")])
def test_level_statistics_rejects_a_trace_of_the_wrong_length(values, match):
    with pytest.raises(ValueError, match=match):
        _stream().level_statistics(values)


@pytest.mark.parametrize("settle", [-0.1, 1.0, 1.5])
def test_level_statistics_rejects_settle_outside_0_1(settle):
    with pytest.raises(ValueError, match="settle must lie in"):
        _stream().level_statistics(np.zeros(30), settle=settle)
