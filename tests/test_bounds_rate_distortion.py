"""Rate-distortion: water-filling and Blahut-Arimoto against known answers; the neural sandwich
bounds on an 8-d Gaussian (tiny training, tolerances from the Monte Carlo standard errors)."""

import math

import numpy as np
import pytest
import torch

from infobounds.core import OptimizerConfig
from infobounds.bounds.rate_distortion import (
    DualBoundConfig,
    DualLowerBound,
    blahut_arimoto,
    gaussian_rate_distortion,
    gaussian_rate_distortion_at_slope,
    gaussian_rate_distortion_curve,
    lower_envelope,
    shannon_lower_bound,
    sup_log_partition,
    water_level,
)
from infobounds.data import BatchStream
from infobounds.data.sources import banana_entropy, banana_source, banana_variances, bump_images, gaussian_source
from infobounds.models.vae import VAE, VAEConfig
from infobounds.training import fit


# -- reverse water-filling -------------------------------------------------------------------------
def test_equal_variances():
    # Four unit variances, D = 2: level 1/2 on every component, R = 4 * 1/2 log 2.
    assert water_level([1, 1, 1, 1], 2.0) == pytest.approx(0.5)
    assert gaussian_rate_distortion([1, 1, 1, 1], 2.0) == pytest.approx(2 * math.log(2))


def test_unequal_variances():
    # Variances 4, 1, 1/4 and D = 1.5: the 1/4 component is under water (D_3 = 1/4), the other two
    # share 1.25, so theta = 0.625 and R = 1/2 log(4/0.625) + 1/2 log(1/0.625) = log 3.2.
    assert water_level([4, 1, 0.25], 1.5) == pytest.approx(0.625)
    assert gaussian_rate_distortion([4, 1, 0.25], 1.5) == pytest.approx(math.log(3.2))
    # Order does not matter.
    assert gaussian_rate_distortion([0.25, 4, 1], 1.5) == pytest.approx(math.log(3.2))


def test_distortion_above_total_variance_gives_zero():
    assert gaussian_rate_distortion([4, 1, 0.25], 5.25) == 0.0
    assert gaussian_rate_distortion([4, 1, 0.25], 100.0) == 0.0
    assert water_level([4, 1, 0.25], 100.0) == 4.0
    np.testing.assert_allclose(gaussian_rate_distortion([1.0], np.array([0.25, 1.0, 2.0])),
                               [math.log(2), 0.0, 0.0])


def test_slope_point_and_curve_are_consistent():
    var = [2.0, 1.0, 0.5, 0.1]
    for slope in [0.3, 1.0, 4.0, 20.0]:
        d, r = gaussian_rate_distortion_at_slope(var, slope)
        assert gaussian_rate_distortion(var, d) == pytest.approx(r, abs=1e-12)
        h = 1e-6 * d  # the curve's slope there is -slope
        derivative = (gaussian_rate_distortion(var, d + h) - gaussian_rate_distortion(var, d - h)) / (2 * h)
        assert derivative == pytest.approx(-slope, rel=1e-4)
    d, r = gaussian_rate_distortion_curve(var, num=50)
    assert np.all(np.diff(d) > 0) and np.all(np.diff(r) < 0) and r[-1] == pytest.approx(0.0, abs=1e-12)


def test_shannon_lower_bound():
    # Tight for equal variances, below R(D) otherwise.
    h = 0.5 * 3 * math.log(2 * math.pi * math.e * 1.0)
    assert shannon_lower_bound(h, 3, 0.9) == pytest.approx(gaussian_rate_distortion([1, 1, 1], 0.9))
    var = np.array([2.0, 0.5])
    h = 0.5 * np.sum(np.log(2 * math.pi * math.e * var))
    for d in [0.1, 0.6, 1.5]:
        assert shannon_lower_bound(h, 2, d) <= gaussian_rate_distortion(var, d) + 1e-12


@pytest.mark.parametrize("bad", [([], 1.0), ([1.0, -1.0], 1.0), ([1.0], 0.0), ([1.0], -2.0)])
def test_bad_inputs_raise(bad):
    with pytest.raises(ValueError):
        gaussian_rate_distortion(*bad)


# -- Blahut-Arimoto ------------------------------------------------------------------------------------
def binary_entropy(p):
    return -p * math.log(p) - (1 - p) * math.log(1 - p)


@pytest.mark.parametrize("p", [0.5, 0.3])
@pytest.mark.parametrize("target_d", [0.05, 0.15, 0.25])
def test_blahut_arimoto_bernoulli_hamming(p, target_d):
    # R(D) = H(p) - H(D) for D <= min(p, 1-p); its slope is -log((1-D)/D).
    hamming = np.array([[0.0, 1.0], [1.0, 0.0]])
    slope = math.log((1 - target_d) / target_d)
    rate, distortion = blahut_arimoto([1 - p, p], hamming, slope=slope)
    assert distortion == pytest.approx(target_d, abs=1e-6)
    assert rate == pytest.approx(binary_entropy(p) - binary_entropy(target_d), abs=1e-6)
    # beta weights the rate (book convention): beta = 1 / slope gives the same point.
    assert blahut_arimoto([1 - p, p], hamming, 1.0 / slope) == pytest.approx((rate, distortion))


def test_blahut_arimoto_beyond_dmax_and_errors():
    hamming = np.array([[0.0, 1.0], [1.0, 0.0]])
    # A flat slope puts the point at D_max = min(p, 1-p), where R = 0.
    rate, distortion = blahut_arimoto([0.7, 0.3], hamming, slope=0.5)
    assert rate == pytest.approx(0.0, abs=1e-6) and distortion == pytest.approx(0.3, abs=1e-6)
    with pytest.raises(ValueError):
        blahut_arimoto([0.7, 0.3], hamming)
    with pytest.raises(ValueError):
        blahut_arimoto([0.7, 0.3], hamming, 1.0, slope=1.0)
    with pytest.raises(ValueError):
        blahut_arimoto([0.7, 0.4], hamming, 1.0)
    with pytest.raises(RuntimeError):
        blahut_arimoto([0.7, 0.3], hamming, slope=2.0, tol=1e-300, max_iter=3)


# -- sources -----------------------------------------------------------------------------------------
def test_sources():
    gen = torch.Generator().manual_seed(0)
    x = gaussian_source(100_000, [4.0, 0.25], mean=[1.0, -1.0], generator=gen)
    np.testing.assert_allclose(x.var(0).numpy(), [4.0, 0.25], rtol=0.03)
    np.testing.assert_allclose(x.mean(0).numpy(), [1.0, -1.0], atol=0.03)
    b = banana_source(200_000, gen).double()
    eig = torch.linalg.eigvalsh(torch.cov(b.T)).numpy()
    np.testing.assert_allclose(sorted(eig), sorted(banana_variances()), rtol=0.05)
    assert banana_entropy() == pytest.approx(math.log(2 * math.pi * math.e) + 0.5 * math.log(9 * 0.25))
    imgs = bump_images(4, gen)
    assert imgs.shape == (4, 1, 16, 16) and float(imgs.min()) >= 0 and float(imgs.max()) <= 1


# -- the inner supremum and the dual bound ---------------------------------------------------------------
def test_mean_shift_finds_the_supremum_of_a_small_mixture():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(40, 2, generator=gen)
    g = torch.randn(40, generator=gen)
    slope = 2.0
    value, y = sup_log_partition(x, g, slope)
    grid = torch.stack(torch.meshgrid(torch.linspace(-3, 3, 601), torch.linspace(-3, 3, 601),
                                      indexing="ij"), -1).reshape(-1, 2).double()
    on_grid = ((g.double()[None, :] - slope * torch.cdist(grid, x.double()) ** 2).logsumexp(1) - math.log(40)).max()
    assert value >= float(on_grid) - 1e-9  # never worse than a 0.01-spaced grid ...
    assert value == pytest.approx(float(on_grid), abs=1e-3)  # ... and the grid is that close to it
    # The quick mode (a few best starts) agrees here.
    assert sup_log_partition(x, g, slope, starts=5)[0] == pytest.approx(value, abs=1e-9)


def test_dual_bound_with_constant_g_is_known():
    # g = 0: sup_y E exp(-lambda ||X - y||^2) = prod_i (1 + 2 lambda s_i^2)^(-1/2) at y = 0, so the
    # intercept is 1/2 sum_i log(1 + 2 lambda s_i^2); C_k with k = 1024 is within a few 0.01 of it.
    var, slope = [1.0, 0.5], 2.0
    model = DualLowerBound(DualBoundConfig(input_dim=2, slope=slope))
    with torch.no_grad():
        model.g[-1].weight.zero_()
        model.g[-1].bias.zero_()
    x = gaussian_source(16 * 1024, var, generator=torch.Generator().manual_seed(1))
    est = model.estimate(x, 1024, starts=8)
    truth = 0.5 * sum(math.log1p(2 * slope * v) for v in var)
    # E[C_k] >= c: the estimate can only be lower in expectation, by little here.
    assert est.intercept <= truth + 4 * est.stderr
    assert est.intercept == pytest.approx(truth, abs=0.05)
    assert est.plug_in == pytest.approx(truth, abs=0.05)


def test_dual_bound_trains_through_fit():
    torch.manual_seed(0)
    x = gaussian_source(4096, [1.0, 0.5], generator=torch.Generator().manual_seed(0))
    model = DualLowerBound(DualBoundConfig(input_dim=2, slope=2.0))
    before = [p.detach().clone() for p in model.parameters()]
    result = fit(model, BatchStream(x, batch_size=256, seed=0), steps=1, progress=False)
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert set(result.history.keys()) >= {"dual/negative_objective", "dual/plug_in", "dual/log_partition"}
    assert torch.isfinite(model.log_alpha)
    with pytest.raises(ValueError, match=r"\(k, 2\)"):
        model(torch.randn(5, 3))
    with pytest.raises(ValueError):
        DualBoundConfig(slope=0.0)


VARIANCES_8D = [2.0, 1.6, 1.2, 1.0, 0.8, 0.5, 0.3, 0.15]


@pytest.mark.parametrize("slope", [1.0, 2.5, 6.0])
def test_sandwich_on_an_8d_gaussian(slope):
    """Upper bound >= truth - tol and lower bound <= truth + tol, each tol = 4 standard errors of its
    Monte Carlo estimate. Training is tiny (seconds): these are the directions the theorems
    guarantee, not tightness."""
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    train = gaussian_source(20_000, VARIANCES_8D, generator=gen)
    test = gaussian_source(16_384, VARIANCES_8D, generator=gen)

    vae = VAE(VAEConfig.rate_distortion(8, slope, hidden=(32,), optim=OptimizerConfig(lr=3e-3)))
    fit(vae, BatchStream(train, batch_size=256, seed=0), steps=300, progress=False)
    with torch.no_grad():
        mu, logvar = vae.encode(test)
        z = mu + (0.5 * logvar).exp() * torch.randn_like(mu)
        d_i = vae.distortion_per_example(test, z).double()
        r_i = vae.rate_per_example(z, mu, logvar).double()
    d_hat, r_hat = float(d_i.mean()), float(r_i.mean())
    # R(D) has slope -slope near d_hat, so the error of r_hat - R(d_hat) is that of mean(r_i + slope d_i).
    tol_upper = 4 * float((r_i + slope * d_i).std() / math.sqrt(len(d_i)))
    assert r_hat >= gaussian_rate_distortion(VARIANCES_8D, d_hat) - tol_upper

    dual = DualLowerBound(DualBoundConfig(input_dim=8, slope=slope))
    fit(dual, BatchStream(train, batch_size=256, seed=0), steps=150, progress=False)
    est = dual.estimate(test[:8 * 1024], 1024, starts=8)
    d_star, r_star = gaussian_rate_distortion_at_slope(VARIANCES_8D, slope)
    for d in [0.5 * d_star, d_star, 2 * d_star]:
        assert est.at(d) <= gaussian_rate_distortion(VARIANCES_8D, d) + 4 * est.stderr
    assert lower_envelope([est], d_star) <= r_star + 4 * est.stderr
