"""MI lower bounds against the closed form of correlated Gaussians.

Two levels: (1) with the *optimal* critic, log p(y|x)/p(y), computed analytically, each bound is
evaluated on large batches and compared with the truth (no training, tight tolerances); (2) each
estimator's critic is trained by ``estimate_mi`` and must land within a stated tolerance.
"""

import math

import pytest
import torch

from infobounds.core import OptimizerConfig
from infobounds.bounds import (
    ESTIMATORS,
    dv_lower_bound,
    gaussian_entropy,
    gaussian_mutual_information,
    infonce_lower_bound,
    js_lower_bound,
    mi_lower_bound,
    nwj_lower_bound,
)
from infobounds.data.synthetic import correlated_gaussians
from infobounds.estimators import estimate_mi


def optimal_scores(x, y, rho):
    """scores[i, j] = log p(y_j | x_i) / p(y_j) for per-coordinate correlation rho."""
    s2 = 1 - rho**2
    cond = -0.5 * math.log(s2) - (y[None, :, :] - rho * x[:, None, :]) ** 2 / (2 * s2)
    marg = -(y[None, :, :] ** 2) / 2
    return (cond - marg).sum(-1)


@pytest.mark.parametrize("rho,dim", [(0.5, 1), (0.5, 4), (0.8, 2)])
def test_bounds_with_optimal_critic(rho, dim):
    gen = torch.Generator().manual_seed(0)
    truth = gaussian_mutual_information(rho, dim)
    values = {"dv": [], "nwj": [], "infonce": [], "js_at_log_ratio_minus_1": []}
    for _ in range(20):
        x, y = correlated_gaussians(512, dim, rho, gen)
        s = optimal_scores(x.double(), y.double(), rho)
        values["dv"].append(float(dv_lower_bound(s)))
        # NWJ's optimal critic is 1 + log ratio.
        values["nwj"].append(float(nwj_lower_bound(s + 1)))
        values["infonce"].append(float(infonce_lower_bound(s)))
        # js_lower_bound adds the 1 itself, so it takes the log ratio.
        values["js_at_log_ratio_minus_1"].append(float(js_lower_bound(s)))
    mean = {k: sum(v) / len(v) for k, v in values.items()}
    # Tolerance 0.05 nats: the Monte-Carlo error of 20 batches of 512 at these MI levels.
    assert mean["dv"] == pytest.approx(truth, abs=0.05)
    assert mean["nwj"] == pytest.approx(truth, abs=0.05)
    assert mean["js_at_log_ratio_minus_1"] == pytest.approx(truth, abs=0.05)
    # InfoNCE with K=512 is biased low by at most ~K^-1 e^I here; never above log K.
    assert truth - 0.05 <= mean["infonce"] + 0.05 and mean["infonce"] <= truth + 0.05
    assert max(values["infonce"]) <= math.log(512) + 1e-9


def test_infonce_never_exceeds_log_k():
    # Even a critic that separates pairs perfectly cannot push InfoNCE past log K.
    for k in [2, 16, 128]:
        scores = torch.full((k, k), -1e3)
        scores.fill_diagonal_(1e3)
        assert float(infonce_lower_bound(scores)) == pytest.approx(math.log(k), abs=1e-6)
        assert float(infonce_lower_bound(torch.randn(k, k) * 50)) <= math.log(k) + 1e-6


def test_bounds_are_zero_for_a_constant_critic():
    scores = torch.zeros(64, 64)
    assert float(dv_lower_bound(scores)) == pytest.approx(0.0, abs=1e-5)
    assert float(infonce_lower_bound(scores)) == pytest.approx(0.0, abs=1e-5)
    # NWJ at f = 1 (its value for the independent case): 1 - e^{-1} e^{1} = 0.
    assert float(nwj_lower_bound(scores + 1)) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("shape", [(3, 4), (5,), (1, 1)])
def test_bad_score_shapes_raise(shape):
    with pytest.raises(ValueError, match="scores|pairs"):
        infonce_lower_bound(torch.zeros(shape))


def test_unknown_estimator_raises():
    with pytest.raises(ValueError, match="unknown"):
        mi_lower_bound(torch.zeros(4, 4), "mine")


# Trained critics on 20k pairs of 2-d Gaussians. Each estimate is a lower bound: it must not exceed
# the truth by more than 0.05 nats and must come within the stated tolerance below it. The JS
# estimator's value (NWJ at f + 1) has the largest variance, hence its looser tolerance at high MI.
TRAINED_CASES = {
    # rho: (steps, {estimator: tolerance in nats})
    0.5: (600, {"ba": 0.05, "dv": 0.05, "nwj": 0.05, "infonce": 0.05, "js": 0.05}),
    0.9: (1500, {"ba": 0.1, "dv": 0.1, "nwj": 0.1, "infonce": 0.1, "js": 0.4}),
}


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("rho", sorted(TRAINED_CASES))
def test_trained_estimators_match_closed_form(estimator, rho):
    dim = 2
    steps, tolerance = TRAINED_CASES[rho]
    x, y = correlated_gaussians(20_000, dim, rho, torch.Generator().manual_seed(3))
    truth = gaussian_mutual_information(rho, dim)
    optim = OptimizerConfig(lr=2e-3 if steps < 1000 else 1e-3)
    est = estimate_mi(x, y, estimator=estimator, steps=steps, batch_size=128, optim=optim, hidden=(64, 64),
                      embed_dim=16, entropy_x=gaussian_entropy(1.0, dim), seed=0)
    assert est.value <= truth + 0.05, f"{estimator}: {est.value:.3f} exceeds the truth {truth:.3f}"
    assert est.value >= truth - tolerance[estimator], f"{estimator}: {est.value:.3f} vs {truth:.3f}"


def test_estimate_mi_validates_inputs():
    x = torch.randn(100, 3)
    with pytest.raises(ValueError, match="same number of pairs"):
        estimate_mi(x, torch.randn(99, 3))
    with pytest.raises(ValueError, match="2-d"):
        estimate_mi(x[:, 0], x[:, 0])
    with pytest.raises(ValueError, match="unknown estimator"):
        estimate_mi(torch.randn(1000, 3), torch.randn(1000, 3), estimator="mine", batch_size=64)
    with pytest.raises(ValueError, match="entropy"):
        estimate_mi(torch.randn(1000, 3), torch.randn(1000, 3), estimator="ba", batch_size=64)
    with pytest.raises(ValueError, match="too few"):
        estimate_mi(x, x, batch_size=128)


def test_concat_critic_matches_closed_form():
    # The concatenated critic f(x, y) = MLP([x, y]) scores all K^2 pairs; same tolerance as above.
    x, y = correlated_gaussians(8_000, 1, 0.8, torch.Generator().manual_seed(4))
    truth = gaussian_mutual_information(0.8, 1)
    est = estimate_mi(x, y, estimator="infonce", critic="concat", steps=400, batch_size=64,
                      optim=OptimizerConfig(lr=2e-3), hidden=(32, 32), seed=0)
    assert truth - 0.1 <= est.value <= truth + 0.05
