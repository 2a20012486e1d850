"""Transport distances: Gromov-Wasserstein (POT) on isometric and distorted clouds, W_c, the IMQ MMD."""

import warnings

import numpy as np
import ot
import pytest
import torch

from infobounds.bounds.transport import (
    coupling_distortion,
    distance_matrix,
    gromov_wasserstein,
    imq_kernel,
    mmd,
    normalize_distances,
    round_to_coupling,
    wasserstein,
)


def cloud(n=120, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 3)) * np.array([3.0, 1.0, 0.5])  # anisotropic: no symmetry to confuse GW


def rigid_copy(x, seed=1):
    """x rotated by a random orthogonal matrix and translated: an isometric copy."""
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    return x @ q.T + np.array([5.0, -2.0, 1.0])


@pytest.mark.parametrize("init", ["product", "identity"])
def test_gw_of_an_isometric_copy_is_zero(init):
    x = cloud()
    y = rigid_copy(x)
    assert gromov_wasserstein(x, y, init=init) == pytest.approx(0.0, abs=1e-8)


def test_gw_of_a_shuffled_isometric_copy_is_zero_from_the_product_coupling():
    # The solver must find the matching permutation itself.
    x = cloud()
    y = rigid_copy(x)[np.random.default_rng(2).permutation(len(x))]
    assert gromov_wasserstein(x, y) == pytest.approx(0.0, abs=1e-8)


def test_gw_grows_with_a_non_isometric_distortion():
    x = cloud()
    values = [gromov_wasserstein(x, np.c_[x[:, 0], x[:, 1] + a * x[:, 0] ** 2, x[:, 2]]) for a in (0.0, 0.1, 0.3)]
    assert values[0] == pytest.approx(0.0, abs=1e-8)
    assert 1e-3 < values[1] < values[2]


def test_gw_is_scale_free_only_when_normalised():
    x = cloud()
    assert gromov_wasserstein(x, 4.0 * x) == pytest.approx(0.0, abs=1e-8)
    assert gromov_wasserstein(x, 4.0 * x, normalize="none") > 1.0


def test_gw_between_spaces_of_different_dimension():
    # A 2-d cloud and the same cloud isometrically embedded in 10-d: GW = 0.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 2)) * np.array([2.0, 0.5])
    basis, _ = np.linalg.qr(rng.normal(size=(10, 2)))  # (10, 2), orthonormal columns
    assert gromov_wasserstein(x, x @ basis.T) == pytest.approx(0.0, abs=1e-8)


def test_gw_never_exceeds_the_distortion_of_its_initial_coupling():
    rng = np.random.default_rng(0)
    x, z = rng.normal(size=(80, 5)), rng.normal(size=(80, 2))
    cx, cz = distance_matrix(x), distance_matrix(z)
    cx, cz = cx / cx.sum() * (80 * 79), cz / cz.sum() * (80 * 79)  # the "mean" normalisation
    assert gromov_wasserstein(x, z, init="identity") <= coupling_distortion(cx, cz) + 1e-12


def test_coupling_distortion_matches_the_quadruple_sum():
    rng = np.random.default_rng(0)
    cx, cz = distance_matrix(rng.normal(size=(5, 2))), distance_matrix(rng.normal(size=(4, 3)))
    pi = rng.random((5, 4))
    pi /= pi.sum()
    brute = sum((cx[i, k] - cz[j, l]) ** 2 * pi[i, j] * pi[k, l]
                for i in range(5) for j in range(4) for k in range(5) for l in range(4))
    assert coupling_distortion(cx, cz, pi) == pytest.approx(brute, rel=1e-10)


def test_entropic_gw_is_small_for_an_isometric_copy_and_larger_after_distortion():
    x = cloud(50)
    distorted = np.c_[x[:, 0], x[:, 1] + 0.3 * x[:, 0] ** 2, x[:, 2]]
    iso = gromov_wasserstein(x, rigid_copy(x), epsilon=0.05)
    bent = gromov_wasserstein(x, distorted, epsilon=0.05)
    exact_bent = gromov_wasserstein(x, distorted)
    assert iso < 0.05 and bent > iso + 0.05
    assert bent >= exact_bent - 0.02  # the entropic plan is feasible: its cost is near or above the optimum


def test_round_to_coupling_meets_the_marginals_exactly_and_stays_close():
    rng = np.random.default_rng(0)
    p, q = rng.dirichlet(np.ones(7)), rng.dirichlet(np.ones(5))
    plan = np.outer(p, q) * rng.uniform(0.7, 1.3, size=(7, 5))  # marginals off by up to ~30%
    rounded = round_to_coupling(plan, p, q)
    assert np.all(rounded >= 0)
    np.testing.assert_allclose(rounded.sum(1), p, atol=1e-15)
    np.testing.assert_allclose(rounded.sum(0), q, atol=1e-15)
    # Altschuler, Weed & Rigollet (2017): l1 distance at most 2 (|r(plan) - p|_1 + |c(plan) - q|_1).
    marginal_error = np.abs(plan.sum(1) - p).sum() + np.abs(plan.sum(0) - q).sum()
    assert np.abs(rounded - plan).sum() <= 2 * marginal_error + 1e-15
    exact = np.outer(p, q)
    np.testing.assert_allclose(round_to_coupling(exact, p, q), exact, atol=1e-17)  # a coupling is kept


def test_entropic_gw_reports_the_cost_of_an_exact_coupling():
    # At a small epsilon POT's Sinkhorn plan misses a marginal by ~1e-3; a plan that is not a
    # coupling gives no upper bound on GW^2, so the value must be that of the rounded plan.
    x = cloud(50)
    distorted = np.c_[x[:, 0], x[:, 1] + 0.3 * x[:, 0] ** 2, x[:, 2]]
    cx, cz = normalize_distances(distance_matrix(x)), normalize_distances(distance_matrix(distorted))
    w = np.full(50, 1 / 50)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = ot.gromov.entropic_gromov_wasserstein(cx, cz, w, w, loss_fun="square_loss", epsilon=0.005,
                                                     max_iter=1_000)
    assert np.abs(plan.sum(0) - w).sum() > 1e-4  # the raw plan is not a coupling here
    expected = coupling_distortion(cx, cz, round_to_coupling(plan, w, w))
    assert gromov_wasserstein(x, distorted, epsilon=0.005) == pytest.approx(expected, rel=1e-9)
    assert abs(expected - coupling_distortion(cx, cz, plan)) > 1e-3  # rounding changes the answer


def test_round_to_coupling_rejects_bad_input():
    p = np.full(3, 1 / 3)
    with pytest.raises(ValueError, match="shape"):
        round_to_coupling(np.ones((3, 2)), p, p)
    with pytest.raises(ValueError, match="non-negative"):
        round_to_coupling(-np.ones((3, 3)), p, p)
    with pytest.raises(ValueError, match="same mass"):
        round_to_coupling(np.ones((3, 3)), p, 2 * p)


def test_entropic_gw_reports_underflow():
    x = cloud(60)
    with pytest.raises(ValueError, match="underflowed"):
        gromov_wasserstein(x, np.c_[x[:, 0], x[:, 1] + 0.3 * x[:, 0] ** 2, x[:, 2]], epsilon=1e-4)


def test_gw_bad_arguments_raise():
    x = cloud(10)
    with pytest.raises(ValueError, match="normalize"):
        gromov_wasserstein(x, x, normalize="std")
    with pytest.raises(ValueError, match="epsilon"):
        gromov_wasserstein(x, x, epsilon=0.0)
    with pytest.raises(ValueError, match="identity"):
        gromov_wasserstein(x, x[:5], init="identity")
    with pytest.raises(ValueError, match="metric"):
        distance_matrix(x, "cosine")
    with pytest.raises(ValueError, match="NaN"):
        gromov_wasserstein(np.full((4, 2), np.nan), x)


def test_wasserstein_known_answers():
    x = cloud(50)
    assert wasserstein(x, x) == pytest.approx(0.0, abs=1e-12)
    shift = np.array([1.0, 2.0, 2.0])  # a translation by |t| = 3 costs |t|^2 = 9 in W_2^2
    assert wasserstein(x, x + shift) == pytest.approx(9.0, rel=1e-9)
    assert wasserstein(x, x + shift, cost="euclidean") == pytest.approx(3.0, rel=1e-9)
    with pytest.raises(ValueError, match="same space"):
        wasserstein(x, x[:, :2])


def test_mmd_of_identical_samples_is_zero_and_of_shifted_ones_positive():
    torch.manual_seed(0)
    a = torch.randn(300, 4)
    assert float(mmd(a, a, scales=(8.0,), unbiased=False)) == pytest.approx(0.0, abs=1e-7)
    same_law = float(mmd(a, torch.randn(300, 4), scales=(8.0,)))  # two samples of N(0, I)
    shifted = float(mmd(a, torch.randn(300, 4) + 1.0, scales=(8.0,)))
    assert abs(same_law) < 0.01
    assert shifted > 0.05 > 5 * abs(same_law)


def test_imq_kernel_values_and_mmd_errors():
    a = torch.tensor([[0.0, 0.0]])
    b = torch.tensor([[3.0, 4.0]])  # |a - b|^2 = 25
    assert float(imq_kernel(a, b, (25.0,))) == pytest.approx(0.5)
    assert float(imq_kernel(a, b, (25.0, 75.0))) == pytest.approx(0.5 + 0.75)
    with pytest.raises(ValueError, match="two points"):
        mmd(a, b)
    with pytest.raises(ValueError, match="positive"):
        mmd(torch.randn(4, 2), torch.randn(4, 2), scales=(0.0,))
    with pytest.raises(ValueError, match=r"\(n, d\)"):
        mmd(torch.randn(4, 2), torch.randn(4, 3))
