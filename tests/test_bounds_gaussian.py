"""Closed forms against independent computations (scipy, torch.distributions, Monte Carlo)."""

import math

import numpy as np
import pytest
import torch
from scipy import stats

from infobounds.bounds import (
    gaussian_channel_mutual_information,
    gaussian_entropy,
    gaussian_mutual_information,
    kl_diagonal_gaussians,
    log_normal_density,
    rho_for_mutual_information,
)


def test_entropy_matches_scipy():
    cov = np.array([[2.0, 0.3, 0.0], [0.3, 1.0, 0.2], [0.0, 0.2, 0.5]])
    assert gaussian_entropy(torch.tensor(cov)) == pytest.approx(stats.multivariate_normal(cov=cov).entropy(), abs=1e-10)
    assert gaussian_entropy(2.0, dim=4) == pytest.approx(stats.norm(scale=math.sqrt(2.0)).entropy() * 4, abs=1e-12)


@pytest.mark.parametrize("rho,dim", [(0.1, 1), (0.5, 3), (0.9, 20), (-0.7, 5)])
def test_gaussian_mi_is_entropy_difference(rho, dim):
    # I(X;Y) = h(X) + h(Y) - h(X,Y), each from its covariance.
    block = np.array([[1.0, rho], [rho, 1.0]])
    joint = np.kron(block, np.eye(dim))
    expected = 2 * gaussian_entropy(1.0, dim) - gaussian_entropy(torch.tensor(joint))
    assert gaussian_mutual_information(rho, dim) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("mi,dim", [(0.0, 1), (2.0, 20), (10.0, 20), (0.3, 2)])
def test_rho_for_mutual_information_inverts(mi, dim):
    assert gaussian_mutual_information(rho_for_mutual_information(mi, dim), dim) == pytest.approx(mi, abs=1e-9)


def test_gaussian_mi_monte_carlo():
    # E log p(x,y)/(p(x)p(y)) by 200k samples agrees with the closed form within 4 standard errors.
    gen = torch.Generator().manual_seed(0)
    rho, n = 0.8, 200_000
    x = torch.randn(n, 1, generator=gen, dtype=torch.float64)
    y = rho * x + math.sqrt(1 - rho**2) * torch.randn(n, 1, generator=gen, dtype=torch.float64)
    log_ratio = log_normal_density(y, rho * x, torch.full_like(x, math.log(1 - rho**2))) - log_normal_density(
        y, torch.zeros_like(y), torch.zeros_like(y))
    stderr = float(log_ratio.std() / math.sqrt(n))
    assert float(log_ratio.mean()) == pytest.approx(gaussian_mutual_information(rho), abs=4 * stderr)


def test_kl_matches_torch_distributions():
    gen = torch.Generator().manual_seed(1)
    mu_q, lv_q, mu_p, lv_p = (torch.randn(7, 4, generator=gen, dtype=torch.float64) for _ in range(4))
    q = torch.distributions.Normal(mu_q, (0.5 * lv_q).exp())
    p = torch.distributions.Normal(mu_p, (0.5 * lv_p).exp())
    expected = torch.distributions.kl_divergence(q, p).sum(-1)
    torch.testing.assert_close(kl_diagonal_gaussians(mu_q, lv_q, mu_p, lv_p), expected)
    assert torch.all(kl_diagonal_gaussians(mu_q, lv_q, mu_q, lv_q).abs() < 1e-12)


def test_variational_upper_bound_on_gaussian_channel():
    # Z = X + N with X ~ N(0, S), N ~ N(0, s2): E_x KL(p(z|x) || r) >= I(X;Z), equality at r = p(z).
    S, s2 = 4.0, 0.5
    truth = gaussian_channel_mutual_information(S, s2)
    x = torch.linspace(-20, 20, 200_001, dtype=torch.float64)
    px = torch.exp(-x**2 / (2 * S)) / math.sqrt(2 * math.pi * S)
    dx = float(x[1] - x[0])
    for r_var in [S + s2, 1.0, 10.0]:
        kl = kl_diagonal_gaussians(x[:, None], torch.full((len(x), 1), math.log(s2), dtype=torch.float64),
                                   0.0, math.log(r_var))
        bound = float((kl * px).sum() * dx)
        if r_var == S + s2:
            assert bound == pytest.approx(truth, abs=1e-6)
        else:
            assert bound > truth + 1e-3


@pytest.mark.parametrize("bad", [dict(rho=1.0), dict(rho=-1.2), dict(rho=0.5, dim=0)])
def test_bad_inputs_raise(bad):
    with pytest.raises(ValueError):
        gaussian_mutual_information(**bad)
