"""The library-API probes 6.1-6.12 of the reliability review (``reviews/reliability-probes.md``), one
test per probe (6.11, ``estimate_mi`` on NumPy arrays, is in the estimator tests): every bad input
raises a ``ValueError`` that names the argument and shows its value. 6.5-6.10 failed on 3a9ca49
(a wrong number, a NaN, or a torch error naming no argument); 6.1-6.4 and 6.12 passed there and are
kept so that they stay passing."""

import math

import pytest
import torch

from infobounds.bounds import (gaussian_channel_mutual_information, gaussian_entropy, gaussian_mutual_information,
                               infonce_lower_bound, kl_diagonal_gaussians, mi_lower_bound,
                               rho_for_mutual_information)
from infobounds.bounds.rate_distortion import (blahut_arimoto, gaussian_rate_distortion,
                                               gaussian_rate_distortion_at_slope, gaussian_rate_distortion_curve,
                                               shannon_lower_bound, water_level)
from infobounds.data.sources import gaussian_source
from infobounds.estimators import estimate_mi

NAN = float("nan")


@pytest.mark.parametrize("call, message", [
    (lambda: gaussian_mutual_information(1.5), r"rho must lie in \(-1, 1\), got 1.5"),
    (lambda: gaussian_mutual_information(NAN), r"rho must lie in \(-1, 1\), got nan"),
    (lambda: gaussian_mutual_information(0.5, dim=0), r"dim must be positive, got 0"),
    (lambda: rho_for_mutual_information(-1), r"mi must be >= 0, got -1"),
])
def test_6_1_gaussian_mutual_information_rejects_bad_rho_and_dim(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.fixture(scope="module")
def pairs():
    gen = torch.Generator().manual_seed(0)
    return torch.randn(1000, 2, generator=gen), torch.randn(1000, 2, generator=gen)


@pytest.mark.parametrize("change, message", [
    (dict(y=lambda y: y[:900]), r"same number of pairs, got 1000 and 900"),
    (dict(x=lambda x: x[:, 0]), r"\bx\b.*must be 2-d"),
    (dict(holdout=1.5), r"holdout must lie in \(0, 1\), got 1.5"),
    (dict(steps=0), r"steps"),
    (dict(steps=-5), r"steps"),
    (dict(batch_size=0), r"batch_size"),
    (dict(optim=1e-3), r"optim must be an OptimizerConfig, got 0.001"),
    (dict(estimator="foo"), r"unknown estimator 'foo'"),
])
def test_6_2_estimate_mi_rejects_bad_arguments_before_training(pairs, change, message):
    x, y = pairs
    change = dict(change)
    x = change.pop("x", lambda v: v)(x)
    y = change.pop("y", lambda v: v)(y)
    with pytest.raises(ValueError, match=message):
        estimate_mi(x, y, **change)


@pytest.mark.parametrize("call, message", [
    (lambda: gaussian_rate_distortion([1, 2], -1), r"distortion must be positive .*got -1"),
    (lambda: gaussian_rate_distortion([1, 2], 0), r"distortion must be positive .*got 0"),
    (lambda: gaussian_rate_distortion([1, 2], NAN), r"distortion must be positive .*got nan"),
    (lambda: gaussian_rate_distortion([1, 2], [0.5, -1]), r"distortion must be positive .*got -1"),
    (lambda: gaussian_rate_distortion([1, -2], 0.5), r"variances must be .* positive numbers, got \[1, -2\]"),
    (lambda: water_level([1, 2], 0), r"distortion must be positive .*got 0"),
])
def test_6_3_gaussian_rate_distortion_rejects_bad_distortions_and_variances(call, message):
    with pytest.raises(ValueError, match=message):
        call()


HAMMING = [[0.0, 1.0], [1.0, 0.0]]


@pytest.mark.parametrize("call, message", [
    (lambda: blahut_arimoto([0.3, 0.3], HAMMING, beta=1.0), r"p_x must be a probability vector, got \[0.3, 0.3\]"),
    (lambda: blahut_arimoto([1.5, -0.5], HAMMING, beta=1.0), r"p_x must be a probability vector"),
    (lambda: blahut_arimoto([NAN, 1.0], HAMMING, beta=1.0), r"p_x must be a probability vector, got \[nan, 1.0\]"),
    (lambda: blahut_arimoto([0.5, 0.5], HAMMING, beta=-1.0), r"slope 1/beta must be positive .*beta=-1"),
    (lambda: blahut_arimoto([0.5, 0.5], HAMMING, beta=NAN), r"slope 1/beta must be positive .*beta=nan"),
    (lambda: blahut_arimoto([0.5, 0.5], [[0, 1], [1, 0], [1, 1]], beta=1.0), r"distortion_matrix \(n, m\)"),
])
def test_6_4_blahut_arimoto_rejects_bad_sources_slopes_and_shapes(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("cov, message", [
    (-torch.eye(2), r"cov must be positive definite .*got \[\[-1.0, -0.0\], \[-0.0, -1.0\]\]"),
    (torch.tensor([[1.0, 5.0], [0.0, 1.0]]), r"cov must be symmetric, got \[\[1.0, 5.0\], \[0.0, 1.0\]\]"),
    (torch.tensor([[1.0, 2.0], [2.0, 1.0]]), r"cov must be positive definite"),  # det = -3: indefinite
    (torch.tensor([[1.0, NAN], [NAN, 1.0]]), r"cov must be finite"),
])
def test_6_5_gaussian_entropy_rejects_a_matrix_that_is_not_a_covariance(cov, message):
    # On 3a9ca49 -I_2 gave 2.8379 nats, the entropy of I_2 (sign(det(-I_2)) = +1).
    with pytest.raises(ValueError, match=message):
        gaussian_entropy(cov)


def test_6_5_control_gaussian_entropy_still_accepts_a_float32_sample_covariance():
    # The symmetry tolerance must not reject what a chapter computes: x^T x / n in float32.
    x = torch.randn(500, 6, generator=torch.Generator().manual_seed(1))
    cov = x.T @ x / 500
    assert math.isfinite(gaussian_entropy(cov))


@pytest.mark.parametrize("kwargs, message", [
    (dict(signal_var=1.0, noise_var=1.0, dim=-3), r"dim must be positive, got -3"),  # 3a9ca49: -1.04 nats
    (dict(signal_var=1.0, noise_var=1.0, dim=0), r"dim must be positive, got 0"),
    (dict(signal_var=-1.0, noise_var=1.0), r"signal_var must be >= 0, got -1"),
    (dict(signal_var=1.0, noise_var=0.0), r"noise_var must be positive, got 0"),
])
def test_6_6_gaussian_channel_mutual_information_checks_dim_and_variances(kwargs, message):
    with pytest.raises(ValueError, match=message):
        gaussian_channel_mutual_information(**kwargs)


@pytest.mark.parametrize("call, name", [
    (lambda: gaussian_mutual_information(0.5, dim=NAN), "dim"),
    (lambda: rho_for_mutual_information(NAN), "mi"),
    (lambda: rho_for_mutual_information(math.inf), "mi"),
    (lambda: gaussian_entropy(NAN, dim=2), "cov"),
    (lambda: gaussian_entropy(1.0, dim=NAN), "dim"),
    (lambda: gaussian_channel_mutual_information(NAN, 1.0), "signal_var"),
    (lambda: gaussian_channel_mutual_information(1.0, NAN), "noise_var"),
    (lambda: gaussian_rate_distortion_at_slope([1.0], NAN), "slope"),
    (lambda: shannon_lower_bound(NAN, 2, 1.0), "entropy"),
    (lambda: shannon_lower_bound(1.0, NAN, 1.0), "dim"),
    (lambda: shannon_lower_bound(1.0, 2, NAN), "distortion"),
    (lambda: gaussian_source(3, [1.0, NAN]), "variances"),
    (lambda: gaussian_source(3, [1.0, 1.0], mean=[0.0, NAN]), "mean"),
])
def test_6_7_nan_arguments_are_named_not_returned(call, name):
    # On 3a9ca49 each returned nan (or NaN samples; inf gave rho = 1): NaN passed every `x <= 0` check.
    with pytest.raises(ValueError, match=rf"^{name} must be .*got .*(nan|inf)"):
        call()


@pytest.mark.parametrize("min_level", [-1.0, 0.0, NAN, 5.0])
def test_6_8_gaussian_rate_distortion_curve_checks_min_level(min_level):
    # 3a9ca49: min_level=-1 went into np.geomspace and gave D = [-1, nan, ...] with NaN rates.
    with pytest.raises(ValueError, match=r"min_level must lie in \(0, 2\)"):
        gaussian_rate_distortion_curve([1.0, 2.0], min_level=min_level)


def test_6_8_control_a_valid_min_level_gives_a_finite_decreasing_curve():
    distortion, rate = gaussian_rate_distortion_curve([1.0, 2.0], num=20, min_level=0.01)
    assert distortion[0] == pytest.approx(0.02) and rate[-1] == pytest.approx(0.0)
    assert all(a > b for a, b in zip(rate[:-1], rate[1:]))


def test_6_9_blahut_arimoto_names_a_nan_distortion_matrix():
    # 3a9ca49: ran max_iter iterations, then "RuntimeError: Blahut-Arimoto did not reach tol".
    with pytest.raises(ValueError, match=r"distortion_matrix must be finite, got \[\[0, nan\], \[1, 0\]\]"):
        blahut_arimoto([0.5, 0.5], [[0, NAN], [1, 0]], beta=1.0)


@pytest.mark.parametrize("args, message", [
    ((torch.zeros(4, 3), torch.zeros(4)), r"logvar_q of shape \(4,\) does not broadcast with mu_q of shape \(4, 3\)"),
    ((torch.zeros(4, 3), torch.zeros(4, 3), torch.zeros(2, 3)), r"mu_p of shape \(2, 3\) does not broadcast"),
    ((torch.zeros(4, 3), torch.zeros(4, 3), 0.0, torch.zeros(5)), r"logvar_p of shape \(5,\) does not broadcast"),
])
def test_6_10_kl_diagonal_gaussians_names_the_argument_of_the_wrong_shape(args, message):
    # 3a9ca49: a raw torch RuntimeError "The size of tensor a (4) must match ..." naming no argument.
    with pytest.raises(ValueError, match=message):
        kl_diagonal_gaussians(*args)


def test_6_10_control_broadcasting_priors_are_still_accepted():
    mu, logvar = torch.zeros(4, 3), torch.zeros(4, 3)
    assert kl_diagonal_gaussians(mu, logvar, torch.zeros(3), 0.0).shape == (4,)
    assert float(kl_diagonal_gaussians(mu, logvar).abs().max()) == 0.0


@pytest.mark.parametrize("call, message", [
    (lambda: infonce_lower_bound(torch.randn(5)), r"scores must be a square \(K, K\) matrix"),
    (lambda: mi_lower_bound(torch.randn(4, 4), "xyz"), r"unknown critic-based estimator 'xyz'"),
    (lambda: gaussian_source(-1, [1.0]), r"n must be positive, got -1"),
])
def test_6_12_scores_estimator_names_and_sample_counts_are_checked(call, message):
    with pytest.raises(ValueError, match=message):
        call()
