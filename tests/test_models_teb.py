"""TEB and its baselines: named finite loss terms, the rate on a hand-made case, the Gaussian IB
curve, errors for bad configs and shapes, one step learns."""

import math

import pytest
import torch

from infobounds.data import BatchStream
from infobounds.data.timeseries import CoupledAR, transfer_windows
from infobounds.models.teb import (TEB, ConditionalPredictor, PredictorConfig, TEBConfig,
                                   gaussian_conditional_ib_curve, gaussian_nll)
from infobounds.training import fit


def batch(n=32, lag=2, seed=0):
    return transfer_windows(CoupledAR(), n, lag=lag, seed=seed).tensors


def test_teb_loss_terms_are_named_finite_and_weighted():
    model = TEB(TEBConfig(source_dim=2, target_dim=2, beta=0.25, hidden=(16,)))
    out = model.loss(batch())
    assert set(out.terms) == {"distortion", "rate"}
    out = type(out)(terms={k: v.detach() for k, v in out.terms.items()}, weights=out.weights)
    for v in out.terms.values():
        assert v.ndim == 0 and torch.isfinite(v)
    assert float(out.terms["rate"]) >= 0.0
    expected = out.terms["distortion"] + 0.25 * out.terms["rate"]
    assert float(out.total) == pytest.approx(float(expected), rel=1e-6)
    metrics = model.evaluate(*batch(), n_samples=4)
    assert set(metrics) == {"distortion", "rate"} and all(math.isfinite(v) for v in metrics.values())


def test_rate_is_zero_when_encoder_and_prior_agree():
    torch.manual_seed(0)
    model = TEB(TEBConfig(hidden=(8,)))
    # Make both Gaussian heads output constants (zero weights, equal biases): q(z|x,y) = p(z|y).
    with torch.no_grad():
        for head in (model.encoder[-1].linear, model.prior[-1].linear):
            head.weight.zero_()
            head.bias.copy_(torch.linspace(-1, 1, head.bias.numel()))
    assert float(model.loss(batch(lag=1)).terms["rate"].detach()) == pytest.approx(0.0, abs=1e-6)


def test_gaussian_nll_known_value():
    y, mean, logvar = torch.tensor([[1.0]]), torch.tensor([[0.0]]), torch.tensor([[math.log(4.0)]])
    expected = 0.5 * (math.log(2 * math.pi) + math.log(4.0) + 1.0 / 4.0)
    assert float(gaussian_nll(y, mean, logvar)) == pytest.approx(expected)


@pytest.mark.parametrize("use_source", [False, True])
def test_predictors_loss_and_inputs(use_source):
    model = ConditionalPredictor(PredictorConfig(source_dim=2, target_dim=2, hidden=(8,), use_source=use_source))
    out = model.loss(batch())
    assert set(out.terms) == {"nll"} and torch.isfinite(out.terms["nll"])
    x_past, y_past, y_next = batch()
    # The target-only model must not read the source: changing x_past leaves it unchanged.
    changed = model.evaluate(x_past + 5.0, y_past, y_next)["nll"] != model.evaluate(x_past, y_past, y_next)["nll"]
    assert changed == use_source


def test_ib_curve_limits():
    te = 0.1
    assert float(gaussian_conditional_ib_curve(0.0, te)) == pytest.approx(0.0, abs=1e-12)
    assert float(gaussian_conditional_ib_curve(50.0, te)) == pytest.approx(te, rel=1e-9)
    r = torch.linspace(0, 5, 50)
    curve = gaussian_conditional_ib_curve(r, te)
    assert torch.all(curve.diff() > 0) and torch.all(curve <= r + 1e-12)  # increasing, below the diagonal
    slope0 = float(gaussian_conditional_ib_curve(1e-6, te)) / 1e-6
    assert slope0 == pytest.approx(-math.expm1(-2 * te), rel=1e-4)  # rho^2, the knee of the beta sweep


@pytest.mark.parametrize("bad", [dict(beta=-0.1), dict(latent_dim=0), dict(source_dim=0), dict(hidden=())])
def test_bad_teb_config_raises(bad):
    with pytest.raises(ValueError):
        TEBConfig(**bad)


@pytest.mark.parametrize("bad", [dict(target_dim=0), dict(hidden=(0,))])
def test_bad_predictor_config_raises(bad):
    with pytest.raises(ValueError):
        PredictorConfig(**bad)


def test_wrong_shapes_raise():
    x_past, y_past, y_next = batch(lag=2)
    with pytest.raises(ValueError):
        TEB(TEBConfig(source_dim=1, target_dim=2)).loss((x_past, y_past, y_next))
    with pytest.raises(ValueError):
        ConditionalPredictor().loss((x_past, y_past[:, 0], y_next))
    with pytest.raises(ValueError):
        gaussian_conditional_ib_curve(1.0, -0.1)


@pytest.mark.parametrize("make", [lambda: TEB(TEBConfig(hidden=(8,))),
                                  lambda: ConditionalPredictor(PredictorConfig(hidden=(8,), use_source=True))])
def test_one_step_changes_weights(make):
    torch.manual_seed(0)
    model = make()
    before = [p.detach().clone() for p in model.parameters()]
    w = transfer_windows(CoupledAR(), 64, lag=1, seed=0)
    fit(model, BatchStream(*w.tensors, batch_size=16, seed=0), steps=1, seed=0, progress=False)
    assert any(not torch.equal(b, p) for b, p in zip(before, model.parameters()))
