"""Wyner's common information: hand values, the sandwich I <= C <= min(H), decompositions."""

import math

import numpy as np
import pytest
import torch

from infobounds.bounds.gaussian import gaussian_mutual_information
from infobounds.bounds.wyner import (
    GaussianDecomposition,
    common_information_sandwich,
    discrete_decomposition_information,
    discrete_mutual_information,
    dsbs_common_information,
    dsbs_joint,
    dsbs_wyner_decomposition,
    exact_decompositions,
    gaussian_common_information,
    gaussian_decomposition_information,
    gaussian_wyner_decomposition,
)


@pytest.mark.parametrize("rho,expected", [
    (0.0, 0.0),
    (0.5, 0.5 * math.log(3.0)),          # (1 + 1/2) / (1 - 1/2) = 3
    (-0.5, 0.5 * math.log(3.0)),         # only |rho| matters
    (0.8, 0.5 * math.log(9.0)),          # 1.8 / 0.2 = 9
    (1 / 3, 0.5 * math.log(2.0)),        # (4/3) / (2/3) = 2
])
def test_gaussian_common_information_hand_values(rho, expected):
    assert gaussian_common_information(rho) == pytest.approx(expected, abs=1e-12)


def test_gaussian_common_information_is_atanh():
    # 1/2 log((1+r)/(1-r)) = artanh(r): an independent formula.
    for rho in np.linspace(-0.99, 0.99, 41):
        assert gaussian_common_information(rho) == pytest.approx(math.atanh(abs(rho)), abs=1e-12)


@pytest.mark.parametrize("rho", np.linspace(-0.999, 0.999, 81))
def test_common_information_exceeds_mutual_information(rho):
    c, i = gaussian_common_information(rho), gaussian_mutual_information(rho)
    assert c >= i - 1e-15
    if 0 < abs(rho) < 1:
        assert c > i


def test_dim_and_canonical_correlations_add():
    assert gaussian_common_information(0.5, dim=4) == pytest.approx(4 * gaussian_common_information(0.5))
    assert gaussian_common_information([0.5, -0.2, 0.9]) == pytest.approx(
        sum(gaussian_common_information(r) for r in (0.5, -0.2, 0.9)))
    with pytest.raises(ValueError):
        gaussian_common_information([0.5], dim=2)
    for bad in (1.0, -1.0, 1.5):
        with pytest.raises(ValueError):
            gaussian_common_information(bad)


@pytest.mark.parametrize("rho", [0.1, 0.5, -0.7, 0.95])
def test_optimal_decomposition_attains_closed_form(rho):
    info = gaussian_decomposition_information(gaussian_wyner_decomposition(rho))
    assert info["rho"] == pytest.approx(rho, abs=1e-12)
    assert info["var_x"] == pytest.approx(1.0) and info["var_y"] == pytest.approx(1.0)
    assert info["i_xy_w"] == pytest.approx(gaussian_common_information(rho), abs=1e-12)


@pytest.mark.parametrize("rho", [0.2, 0.5, 0.9])
def test_every_exact_decomposition_is_at_least_the_closed_form(rho):
    loadings = np.linspace(rho + 1e-3, 0.999, 400)
    values = [gaussian_decomposition_information(d)["i_xy_w"] for d in exact_decompositions(rho, loadings)]
    c = gaussian_common_information(rho)
    assert min(values) >= c - 1e-12
    # The minimum of the valley is at a = sqrt(rho) and equals C.
    best = loadings[int(np.argmin(values))]
    assert best == pytest.approx(math.sqrt(rho), abs=0.01)
    assert min(values) == pytest.approx(c, abs=1e-3)


def test_decomposition_information_by_monte_carlo():
    # I(X,Y;W) = E log p(x,y|w)/p(x,y) estimated from samples of the decomposition.
    dec = GaussianDecomposition(a=0.9, c=0.4, noise_x=0.3, noise_y=0.8)
    x, y, w = dec.sample(200_000, generator=torch.Generator().manual_seed(0))
    info = gaussian_decomposition_information(dec)
    cov = torch.tensor([[info["var_x"], dec.a * dec.c], [dec.a * dec.c, info["var_y"]]], dtype=torch.float64)
    joint = torch.distributions.MultivariateNormal(torch.zeros(2, dtype=torch.float64), cov)
    log_joint = joint.log_prob(torch.stack([x, y], -1))
    log_cond = (torch.distributions.Normal(dec.a * w, math.sqrt(dec.noise_x)).log_prob(x)
                + torch.distributions.Normal(dec.c * w, math.sqrt(dec.noise_y)).log_prob(y))
    values = log_cond - log_joint
    assert float(values.mean()) == pytest.approx(info["i_xy_w"], abs=4 * float(values.std()) / math.sqrt(len(values)))


@pytest.mark.parametrize("p", [0.0, 0.05, 0.1, 0.25, 0.4, 0.5])
def test_dsbs_closed_form_against_its_decomposition(p):
    p_xy, i_xy_w = discrete_decomposition_information(*dsbs_wyner_decomposition(p))
    assert np.allclose(p_xy, dsbs_joint(p), atol=1e-12)
    assert i_xy_w == pytest.approx(dsbs_common_information(p), abs=1e-12)
    lower, upper = common_information_sandwich(dsbs_joint(p))
    assert lower - 1e-12 <= dsbs_common_information(p) <= upper + 1e-12


def test_dsbs_hand_values():
    assert dsbs_common_information(0.0) == pytest.approx(math.log(2))   # X = Y: C = H(X)
    assert dsbs_common_information(0.5) == pytest.approx(0.0, abs=1e-12)  # independent
    # p = 0.1 in bits: 1 + h(0.1) - 2 h(a), a = (1 - sqrt(0.8)) / 2; C > I = 1 - h(0.1).
    c_bits = dsbs_common_information(0.1) / math.log(2)
    assert c_bits == pytest.approx(0.8720, abs=1e-3)
    assert c_bits > 1 - 0.4690


def test_random_decompositions_respect_the_sandwich():
    # Any W that makes X and Y conditionally independent carries at least I(X;Y) (lower bound of C).
    rng = np.random.default_rng(0)
    for _ in range(200):
        k, nx, ny = rng.integers(1, 5), rng.integers(2, 4), rng.integers(2, 4)
        p_w = rng.dirichlet(np.ones(k))
        px = rng.dirichlet(np.ones(nx), size=k)
        py = rng.dirichlet(np.ones(ny), size=k)
        p_xy, i_xy_w = discrete_decomposition_information(p_w, px, py)
        assert i_xy_w >= discrete_mutual_information(p_xy) - 1e-10


def test_bad_inputs_raise():
    with pytest.raises(ValueError):
        discrete_decomposition_information([0.5, 0.5], [[1.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]])
    with pytest.raises(ValueError):
        dsbs_common_information(0.7)
    with pytest.raises(ValueError):
        exact_decompositions(0.5, [0.3])
    with pytest.raises(ValueError):
        gaussian_decomposition_information(GaussianDecomposition(1.0, 1.0, 0.0, 1.0))


@pytest.mark.parametrize("rho", [0.3, 0.5, 0.8])
def test_infonce_with_the_exact_posterior_recovers_the_closed_form(rho):
    # The estimator chapter 21 uses for I_q(X,Y;Z): InfoNCE whose critic is the exact log-density
    # log q(w_i | x_j, y_j). For Wyner's decomposition it must give C(X;Y) up to the log K cap.
    from infobounds.bounds.gaussian import log_normal_density
    from infobounds.bounds.mi import infonce_lower_bound

    dec = gaussian_wyner_decomposition(rho)
    x, y, w = dec.sample(4096, generator=torch.Generator().manual_seed(1))
    precision = 1.0 + dec.a**2 / dec.noise_x + dec.c**2 / dec.noise_y
    mean = (dec.a * x / dec.noise_x + dec.c * y / dec.noise_y) / precision  # E[w | x, y]
    logvar = torch.full_like(mean, -math.log(precision))
    scores = log_normal_density(w[:, None, None], mean[None, :, None], logvar[None, :, None])  # (K, K)
    estimate = float(infonce_lower_bound(scores))
    assert estimate <= math.log(4096)
    assert estimate == pytest.approx(gaussian_common_information(rho), abs=0.05)
