"""Fairness metrics on hand-made predictions whose gaps are known exactly."""

import numpy as np
import pytest
import torch

from infobounds.metrics.fairness import (adversary_accuracy, chance_accuracy, demographic_parity_gap,
                                         equalized_odds_gap)


def test_demographic_parity_gap_binary_matches_rate_difference():
    # Group 0: 3 of 4 positive; group 1: 1 of 4 positive -> gap 0.5.
    pred = [1, 1, 1, 0, 1, 0, 0, 0]
    s = [0, 0, 0, 0, 1, 1, 1, 1]
    assert demographic_parity_gap(pred, s) == pytest.approx(0.5)


def test_demographic_parity_gap_is_zero_for_equal_rates_and_one_for_disjoint():
    assert demographic_parity_gap([0, 1, 0, 1], [0, 0, 1, 1]) == 0.0
    assert demographic_parity_gap([2, 2, 0, 0], [0, 0, 1, 1]) == 1.0


def test_demographic_parity_gap_multiclass_is_total_variation():
    # Group 0 predicts classes (0, 1, 2) uniformly, group 1 always class 0: TV = 2/3.
    pred = torch.tensor([0, 1, 2, 0, 0, 0])
    s = torch.tensor([0, 0, 0, 1, 1, 1])
    assert demographic_parity_gap(pred, s) == pytest.approx(2 / 3)


def test_equalized_odds_gap_conditions_on_the_true_label():
    # Predictions equal the label: DP gap is large (groups have different base rates) but the
    # equalised-odds gap is zero, since within each class both groups are predicted alike.
    y = np.array([1, 1, 1, 0, 1, 0, 0, 0])
    s = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    assert demographic_parity_gap(y, s) == pytest.approx(0.5)
    assert equalized_odds_gap(y, y, s) == 0.0
    # Flip group 1's positive prediction: within y=1 the groups now differ by TV 1.
    pred = y.copy()
    pred[4] = 0
    assert equalized_odds_gap(pred, y, s) == pytest.approx(1.0)


def test_fairness_metrics_reject_bad_input():
    with pytest.raises(ValueError, match="two groups"):
        demographic_parity_gap([0, 1], [0, 0])
    with pytest.raises(ValueError, match="length"):
        demographic_parity_gap([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="integer labels"):
        demographic_parity_gap([0.2, 0.7], [0, 1])
    with pytest.raises(ValueError, match="1-d"):
        equalized_odds_gap(np.zeros((2, 2)), [0, 1], [0, 1])
    with pytest.raises(ValueError, match="kind"):
        adversary_accuracy(np.zeros((4, 2)), [0, 1, 0, 1], np.zeros((4, 2)), [0, 1, 0, 1], kind="forest")


@pytest.mark.parametrize("kind", ["linear", "mlp"])
def test_adversary_finds_an_encoded_attribute_and_not_an_absent_one(kind):
    rng = np.random.default_rng(0)
    n = 600
    s = rng.integers(0, 2, n)
    leaky = np.c_[s + 0.2 * rng.standard_normal(n), rng.standard_normal((n, 3))]
    clean = rng.standard_normal((n, 4))
    half = n // 2
    found = adversary_accuracy(leaky[:half], s[:half], leaky[half:], s[half:], kind=kind)
    absent = adversary_accuracy(clean[:half], s[:half], clean[half:], s[half:], kind=kind)
    chance = chance_accuracy(s[half:])
    assert found > 0.9  # the Bayes accuracy is 0.994 (threshold 0.5, noise sd 0.2)
    assert abs(absent - chance) < 0.1
