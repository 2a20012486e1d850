"""Coupled AR streams: the closed-form transfer entropy against a Monte Carlo estimate, zero transfer
without coupling, window layout, and errors for bad processes."""

import math

import numpy as np
import pytest
import torch

from infobounds.data import BatchStream
from infobounds.data.timeseries import CoupledAR, load_coupled_ar, transfer_windows


def least_squares_te(w) -> float:
    """Monte Carlo TE_{X->Y}: half the log-ratio of the residual variances of least-squares fits of
    y_t on (1, y_past) and on (1, y_past, x_past), the Gaussian conditional variances of a long path."""
    y = w.y_next.double().numpy()[:, 0]
    ones = np.ones((len(w), 1))
    restricted = np.hstack([ones, w.y_past.double().numpy()])
    full = np.hstack([restricted, w.x_past.double().numpy()])

    def residual_var(design):
        coef = np.linalg.lstsq(design, y, rcond=None)[0]
        return np.mean((y - design @ coef) ** 2)

    return 0.5 * math.log(residual_var(restricted) / residual_var(full))


@pytest.mark.parametrize("process, lag", [
    (CoupledAR(), 1),
    (CoupledAR(), 3),
    (CoupledAR(a_x=0.5, a_y=0.6, coupling=0.5, feedback=0.2, noise_x=0.5, noise_y=1.5), 2),
])
def test_analytic_te_matches_least_squares_monte_carlo(process, lag):
    # 200,000 windows: the standard error of the estimate is about sqrt(2 TE / n) < 0.002 nats here;
    # the tolerance is 0.01 nats or 5%, whichever is larger.
    w = transfer_windows(process, 200_000, lag=lag, seed=7)
    assert w.te == pytest.approx(process.transfer_entropy(lag))
    assert least_squares_te(w) == pytest.approx(w.te, abs=max(0.01, 0.05 * w.te))


def test_zero_coupling_gives_zero_transfer_entropy():
    process = CoupledAR(coupling=0.0)
    for lag in (1, 2, 4):
        assert process.transfer_entropy(lag) == pytest.approx(0.0, abs=1e-12)
    assert least_squares_te(transfer_windows(process, 100_000, seed=1)) < 5e-4


def test_reverse_direction_is_zero_without_feedback_and_positive_with_it():
    assert CoupledAR().transfer_entropy(2, source="y") == pytest.approx(0.0, abs=1e-12)
    assert CoupledAR(feedback=-0.3).transfer_entropy(2, source="y") > 0.01


def test_closed_form_pieces():
    p = CoupledAR()
    sigma = p.stationary_cov()
    a, q = p.transition, p.noise_cov
    np.testing.assert_allclose(sigma, a @ sigma @ a.T + q, atol=1e-12)  # the Lyapunov equation
    # Markov: given both pasts the target's variance is its innovation's, for every lag.
    for lag in (1, 3):
        assert p.conditional_variance(lag, "y", ("y", "x")) == pytest.approx(p.noise_y**2)
    # Longer target histories can only lower Var(Y_t | Y_past), so TE^(k) is non-increasing here.
    tes = [p.transfer_entropy(k) for k in (1, 2, 3, 5)]
    assert all(b <= a_ + 1e-12 for a_, b in zip(tes, tes[1:]))
    # h(Y_t | Y_past) = 1/2 log(2 pi e Var); I(Y_t; Y_past) + h(Y_t | Y_past) = h(Y_t).
    h_y = 0.5 * math.log(2 * math.pi * math.e * sigma[1, 1])
    assert p.target_self_information() + p.target_conditional_entropy() == pytest.approx(h_y)


def test_windows_layout_and_stream():
    p = CoupledAR()
    w = transfer_windows(p, 50, lag=3, seed=0)
    x, y = p.sample(53, seed=0)
    assert w.x_past.shape == (50, 3) and w.y_past.shape == (50, 3) and w.y_next.shape == (50, 1)
    assert w.x_past.dtype == torch.float32
    # Row i is time t = i + 3; column j is t - 1 - j.
    assert float(w.y_next[4, 0]) == pytest.approx(y[7], rel=1e-6)
    assert float(w.y_past[4, 0]) == pytest.approx(y[6], rel=1e-6)
    assert float(w.x_past[4, 2]) == pytest.approx(x[4], rel=1e-6)
    batch = next(BatchStream(*w.tensors, batch_size=10, seed=0))
    assert [b.shape[0] for b in batch] == [10, 10, 10]
    train, test = load_coupled_ar("train", n=100), load_coupled_ar("test", n=100)
    assert not torch.equal(train.y_next, test.y_next)
    assert torch.equal(train.y_next, load_coupled_ar("train", n=100).y_next)  # seeded


def test_nonlinear_variant_samples_and_has_no_closed_form():
    p = CoupledAR(nonlinearity="tanh", gain=2.0, coupling=0.5)
    w = transfer_windows(p, 1000, lag=2, seed=0)
    assert w.te is None
    assert torch.isfinite(w.y_next).all()
    with pytest.raises(ValueError):
        p.transfer_entropy()


@pytest.mark.parametrize("bad", [dict(a_y=1.0), dict(a_x=0.9, a_y=0.9, coupling=0.5, feedback=0.5),
                                 dict(noise_y=0.0), dict(nonlinearity="relu"),
                                 dict(nonlinearity="tanh", a_x=1.2)])
def test_bad_process_raises(bad):
    with pytest.raises(ValueError):
        CoupledAR(**bad)


def test_bad_arguments_raise():
    p = CoupledAR()
    with pytest.raises(ValueError):
        p.transfer_entropy(0)
    with pytest.raises(ValueError):
        p.transfer_entropy(1, source="z")
    with pytest.raises(ValueError):
        transfer_windows(p, 0)
    with pytest.raises(ValueError):
        load_coupled_ar("valid")
