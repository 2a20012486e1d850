"""Coding rate, class-conditional rate and rate reduction: known answers computed independently."""

import math

import numpy as np
import pytest
import torch

from infobounds.bounds.coding_rate import (
    class_coding_rate,
    class_pairwise_rate_reduction,
    coding_rate,
    memberships,
    pairwise_rate_reduction,
    rate_reduction,
)


def rate_numpy(z: np.ndarray, eps: float) -> float:
    """1/2 sum log(1 + d/(n eps^2) lambda_i) with lambda_i the eigenvalues of Z^T Z (numpy, float64)."""
    n, d = z.shape
    lam = np.linalg.eigvalsh(z.T @ z)
    return 0.5 * float(np.sum(np.log1p(d / (n * eps**2) * np.clip(lam, 0, None))))


def orthonormal(d: int, r: int, gen: torch.Generator) -> torch.Tensor:
    q, _ = torch.linalg.qr(torch.randn(d, r, generator=gen, dtype=torch.float64))
    return q  # (d, r)


@pytest.mark.parametrize("n, d", [(200, 8), (5, 40), (30, 30)])
def test_coding_rate_of_gaussian_samples_matches_the_eigenvalue_formula(n, d):
    gen = torch.Generator().manual_seed(n + d)
    scales = torch.linspace(0.2, 2.0, d, dtype=torch.float64)
    z = torch.randn(n, d, generator=gen, dtype=torch.float64) * scales  # N(0, diag(scales^2))
    for eps in (0.1, 0.5, 2.0):
        assert float(coding_rate(z, eps)) == pytest.approx(rate_numpy(z.numpy(), eps), rel=1e-10, abs=1e-10)


def test_the_n_by_n_and_d_by_d_forms_agree():
    gen = torch.Generator().manual_seed(1)
    z = torch.randn(7, 50, generator=gen, dtype=torch.float64)
    n, d = z.shape
    a = d / (n * 0.5**2)
    small = torch.logdet(torch.eye(n, dtype=z.dtype) + a * z @ z.T)  # n x n
    large = torch.logdet(torch.eye(d, dtype=z.dtype) + a * z.T @ z)  # d x d
    assert float(small) == pytest.approx(float(large), rel=1e-10)
    assert float(coding_rate(z, 0.5)) == pytest.approx(0.5 * float(large), rel=1e-10)
    assert float(coding_rate(z.T.contiguous(), 0.5)) == pytest.approx(
        0.5 * float(torch.logdet(torch.eye(n, dtype=z.dtype) + (n / (d * 0.25)) * z @ z.T)), rel=1e-10)


def test_coding_rate_converges_to_the_gaussian_channel_rate():
    # R(Z, eps) of n samples of N(0, Sigma) -> 1/2 log det(I + d/eps^2 Sigma) as n grows.
    gen = torch.Generator().manual_seed(2)
    d, eps = 6, 0.5
    sigma_half = torch.randn(d, d, generator=gen, dtype=torch.float64) / math.sqrt(d)
    sigma = sigma_half @ sigma_half.T
    truth = 0.5 * float(torch.logdet(torch.eye(d, dtype=torch.float64) + d / eps**2 * sigma))
    z = torch.randn(200_000, d, generator=gen, dtype=torch.float64) @ sigma_half.T
    assert float(coding_rate(z, eps)) == pytest.approx(truth, rel=2e-2)


def test_class_rate_with_hard_labels_is_the_weighted_sum_of_class_rates():
    gen = torch.Generator().manual_seed(3)
    z = torch.randn(60, 5, generator=gen, dtype=torch.float64)
    y = torch.arange(60) % 3
    y[:10] = 0  # unequal class sizes
    eps = 0.7
    expected = sum((y == j).sum().item() / 60 * rate_numpy(z[y == j].numpy(), eps) for j in range(3))
    assert float(class_coding_rate(z, y, eps)) == pytest.approx(expected, rel=1e-10)
    # A soft membership matrix with one-hot rows gives the same; an empty class contributes nothing.
    pi = torch.nn.functional.one_hot(y, 4).double()
    assert float(class_coding_rate(z, pi, eps)) == pytest.approx(expected, rel=1e-10)
    assert float(rate_reduction(z, y, eps, n_classes=4)) == pytest.approx(
        rate_numpy(z.numpy(), eps) - expected, rel=1e-10)


def test_one_class_has_zero_rate_reduction_and_rate_reduction_is_non_negative():
    gen = torch.Generator().manual_seed(4)
    z = torch.randn(40, 6, generator=gen)
    assert float(rate_reduction(z, torch.zeros(40, dtype=torch.long), 0.5)) == pytest.approx(0.0, abs=1e-5)
    for _ in range(5):
        y = torch.randint(0, 4, (40,), generator=gen)
        assert float(rate_reduction(z, y, 0.5)) >= -1e-5  # concavity of log det


def subspace_features(bases, per_class: int, gen: torch.Generator):
    """Unit-norm rows drawn uniformly from each subspace (basis (d, r)), and their labels."""
    zs, ys = [], []
    for j, u in enumerate(bases):
        c = torch.randn(per_class, u.shape[1], generator=gen, dtype=torch.float64)
        z = c @ u.T
        zs.append(z / z.norm(dim=1, keepdim=True))
        ys.append(torch.full((per_class,), j))
    return torch.cat(zs), torch.cat(ys)


def test_rate_reduction_is_larger_for_orthogonal_than_for_aligned_subspaces():
    gen = torch.Generator().manual_seed(5)
    d, r, k, eps = 16, 3, 4, 0.5
    q = orthonormal(d, k * r, gen)
    orthogonal = [q[:, j * r:(j + 1) * r] for j in range(k)]
    aligned = [q[:, :r]] * k  # every class in the same subspace
    z_o, y = subspace_features(orthogonal, 100, gen)
    z_a, _ = subspace_features(aligned, 100, gen)
    dr_o, dr_a = float(rate_reduction(z_o, y, eps)), float(rate_reduction(z_a, y, eps))
    assert dr_o > dr_a + 1.0
    # Rotating one class towards another lowers Delta R monotonically in this construction.
    values = []
    for t in np.linspace(0.0, 1.0, 5):
        mixed = [orthogonal[0]] + [torch.linalg.qr(math.cos(t * math.pi / 2) * u
                                                  + math.sin(t * math.pi / 2) * orthogonal[0])[0]
                                   for u in orthogonal[1:]]
        z, _ = subspace_features(mixed, 100, torch.Generator().manual_seed(6))
        values.append(float(rate_reduction(z, y, eps)))
    assert all(a > b for a, b in zip(values[:-1], values[1:]))


def test_orthogonal_classes_attain_the_subadditivity_bound():
    # log det(I + a(A + B)) = log det(I + aA) + log det(I + aB) when the row spaces are orthogonal.
    gen = torch.Generator().manual_seed(7)
    d, eps = 12, 0.5
    q = orthonormal(d, 6, gen)
    z1 = torch.randn(30, 3, generator=gen, dtype=torch.float64) @ q[:, :3].T
    z2 = torch.randn(30, 3, generator=gen, dtype=torch.float64) @ q[:, 3:].T
    z = torch.cat([z1, z2])
    n = 60
    a = d / (n * eps**2)
    split = 0.5 * sum(float(torch.logdet(torch.eye(d, dtype=z.dtype) + a * w.T @ w)) for w in (z1, z2))
    assert float(coding_rate(z, eps)) == pytest.approx(split, rel=1e-10)


def test_pairwise_rate_reduction_is_zero_for_equal_second_moments_and_positive_otherwise():
    gen = torch.Generator().manual_seed(8)
    z = torch.randn(50, 8, generator=gen, dtype=torch.float64)
    perm = torch.randperm(50, generator=gen)
    assert float(pairwise_rate_reduction(z, z[perm], 0.5)) == pytest.approx(0.0, abs=1e-10)
    rotation = orthonormal(8, 8, gen)
    assert float(pairwise_rate_reduction(z, z @ rotation, 0.5)) > 1e-3
    # The class-wise version agrees with the per-class pairwise rate reduction.
    z_hat = z + 0.3 * torch.randn(50, 8, generator=gen, dtype=torch.float64)
    y = torch.arange(50) % 3
    per_class = class_pairwise_rate_reduction(z, z_hat, y, 0.5)
    expected = [float(pairwise_rate_reduction(z[y == j], z_hat[y == j], 0.5)) for j in range(3)]
    assert per_class.tolist() == pytest.approx(expected, rel=1e-9)
    assert all(v >= 0 for v in expected)


def test_gradients_flow_and_agree_with_finite_differences():
    gen = torch.Generator().manual_seed(9)
    z = torch.randn(10, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    y = torch.arange(10) % 2
    torch.autograd.gradcheck(lambda t: rate_reduction(t, y, 0.5), (z,))
    torch.autograd.gradcheck(lambda t: class_pairwise_rate_reduction(t, t.flip(0), y, 0.5).sum(), (z,))


def test_bad_inputs_raise():
    z = torch.randn(10, 4)
    with pytest.raises(ValueError, match="shape"):
        coding_rate(torch.randn(10), 0.5)
    with pytest.raises(ValueError, match="eps"):
        coding_rate(z, 0.0)
    with pytest.raises(ValueError, match="eps"):
        coding_rate(z, float("nan"))
    with pytest.raises(ValueError, match="floating"):
        coding_rate(torch.ones(3, 2, dtype=torch.long), 0.5)
    with pytest.raises(ValueError, match="one entry per sample"):
        rate_reduction(z, torch.zeros(9, dtype=torch.long), 0.5)
    with pytest.raises(ValueError, match="out of range"):
        class_coding_rate(z, torch.full((10,), 3), 0.5, n_classes=2)
    with pytest.raises(ValueError, match="sum to one"):
        class_coding_rate(z, torch.ones(10, 2), 0.5)
    with pytest.raises(ValueError, match="same shape"):
        pairwise_rate_reduction(z, z[:5], 0.5)
    assert memberships(torch.tensor([0, 2]), 2).shape == (2, 3)
