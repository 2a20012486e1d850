"""CayleyAdam: stays on the Stiefel manifold, descends, and finds the top eigenvectors (PCA)."""

import pytest
import torch

from infobounds.optim import CayleyAdam


def random_orthonormal(n, p, seed=0):
    q, _ = torch.linalg.qr(torch.randn(n, p, generator=torch.Generator().manual_seed(seed)))
    return q


def test_stays_on_the_manifold_for_1000_steps_and_solves_pca():
    torch.manual_seed(0)
    n, p = 50, 10
    a = torch.randn(n, n)
    cov = a @ a.T / n  # PCA: maximise tr(U^T C U) over U^T U = I
    u = torch.nn.Parameter(random_orthonormal(n, p))
    opt = CayleyAdam([u], lr=0.2)
    start = float(torch.trace(u.T @ cov @ u).detach())
    for _ in range(1000):
        opt.zero_grad()
        loss = -torch.trace(u.T @ cov @ u)
        loss.backward()
        opt.step()
        assert u.shape == (n, p)
    assert CayleyAdam.orthogonality_error(u) < 1e-5
    best = float(torch.linalg.eigvalsh(cov.double())[-p:].sum())  # Ky Fan: the sum of the top p eigenvalues
    reached = float(torch.trace(u.T @ cov @ u).detach())
    assert start < reached and reached == pytest.approx(best, rel=1e-3)


def test_noisy_gradients_do_not_drift_off_the_manifold():
    torch.manual_seed(1)
    u = torch.nn.Parameter(random_orthonormal(30, 5, seed=1))
    opt = CayleyAdam([u], lr=0.2)
    for _ in range(1000):
        opt.zero_grad()
        (u * torch.randn(30, 5) * 10).sum().backward()  # large random gradients
        opt.step()
    assert CayleyAdam.orthogonality_error(u) < 1e-5


def test_mixed_groups_and_reprojection():
    u = torch.nn.Parameter(torch.randn(6, 3))  # not orthonormal: projected by its polar factor at the first step
    w = torch.nn.Parameter(torch.ones(4))
    opt = CayleyAdam([{"params": [u]}, {"params": [w], "stiefel": False}], lr=0.1)
    (u.sum() + (w**2).sum()).backward()
    opt.step()
    assert CayleyAdam.orthogonality_error(u) < 1e-6
    assert torch.allclose(w, torch.full((4,), 0.9))  # one Adam step of size lr against the gradient's sign
    state = opt.state_dict()
    opt2 = CayleyAdam([{"params": [u]}, {"params": [w], "stiefel": False}], lr=0.1)
    opt2.load_state_dict(state)
    assert opt2.state_dict()["state"][0]["step"] == 1


def test_bad_shapes_and_settings_raise():
    with pytest.raises(ValueError, match="n >= p"):
        CayleyAdam([torch.nn.Parameter(torch.zeros(2, 5))])
    with pytest.raises(ValueError, match="lr"):
        CayleyAdam([torch.nn.Parameter(torch.zeros(5, 2))], lr=0.0)
