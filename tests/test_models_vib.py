"""VIB: loss terms on a case computed by hand, errors for bad configs and shapes, one step learns."""

import math

import pytest
import torch

from infobounds.core import OptimizerConfig
from infobounds.data import BatchStream
from infobounds.models.vib import VIB, VIBConfig
from infobounds.training import fit


def hand_made_vib(mu, std, bias):
    """A VIB with no hidden layer whose encoder outputs (mu, std) for every input and whose
    classifier ignores z and outputs the logits ``bias``."""
    model = VIB(VIBConfig(input_dim=3, hidden=(), latent_dim=1, n_classes=len(bias), beta=0.5, std_shift=0.0,
                          ))
    with torch.no_grad():
        model.head.linear.weight.zero_()
        # softplus(raw) + min_std = std  =>  raw = log(exp(std - min_std) - 1)
        raw = math.log(math.expm1(std - model.head.min_std))
        model.head.linear.bias.copy_(torch.tensor([mu, raw]))
        model.classifier.weight.zero_()
        model.classifier.bias.copy_(torch.tensor(bias))
    return model


def test_loss_terms_match_hand_computation():
    mu, std, bias = 0.7, 0.4, [0.0, 1.0, -2.0]
    model = hand_made_vib(mu, std, bias)
    x = torch.randn(5, 3)
    y = torch.tensor([0, 1, 2, 1, 1])
    out = model.loss((x, y))
    # KL(N(mu, std^2) || N(0, 1)) = 1/2 (std^2 + mu^2 - 1 - log std^2)
    kl = 0.5 * (std**2 + mu**2 - 1 - math.log(std**2))
    # The classifier is constant, so ce = mean over the batch of logsumexp(bias) - bias[y].
    lse = math.log(sum(math.exp(b) for b in bias))
    ce = sum(lse - bias[k] for k in y.tolist()) / 5
    assert set(out.terms) == {"ce", "kl"}
    assert float(out.terms["kl"].detach()) == pytest.approx(kl, rel=1e-5)
    assert float(out.terms["ce"].detach()) == pytest.approx(ce, rel=1e-5)
    assert float(out.total.detach()) == pytest.approx(ce + 0.5 * kl, rel=1e-5)


def test_evaluate_reports_bounds_consistently():
    model = hand_made_vib(0.0, 1.0, [0.0, 0.0])
    x, y = torch.randn(100, 3), torch.randint(0, 2, (100,))
    metrics = model.evaluate(x, y)
    # A constant uniform classifier has ce = log 2 and carries no information: i_zy_lower = H(Y) - log 2 <= 0.
    assert metrics["ce"] == pytest.approx(math.log(2), abs=1e-6)
    assert metrics["rate"] == pytest.approx(0.0, abs=1e-3)
    assert metrics["i_zy_lower"] <= 1e-6


@pytest.mark.parametrize("bad", [dict(beta=-1.0), dict(latent_dim=0), dict(n_classes=1),
                                 dict(train_samples=0)])
def test_bad_config_raises(bad):
    with pytest.raises(ValueError):
        VIBConfig(**bad)


def test_wrong_input_shape_raises():
    model = VIB(VIBConfig(input_dim=784))
    with pytest.raises(ValueError, match="784 features"):
        model.loss((torch.randn(4, 100), torch.zeros(4, dtype=torch.long)))


def test_one_step_changes_the_weights_and_training_lowers_the_loss():
    torch.manual_seed(0)
    x = torch.randn(512, 20)
    y = (x[:, 0] > 0).long()
    model = VIB(VIBConfig(input_dim=20, hidden=(32,), latent_dim=4, n_classes=2, beta=1e-3, optim=OptimizerConfig(lr=1e-2)))
    before = [p.detach().clone() for p in model.parameters()]
    stream = BatchStream(x, y, batch_size=64, seed=0)
    result = fit(model, stream, steps=1, progress=False)
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    result = fit(model, stream, steps=200, progress=False)
    ce = result.history["main/ce"]
    assert ce[-20:].mean() < 0.5 * ce[:20].mean()
    assert model.evaluate(x, y)["accuracy"] > 0.9


def test_multisample_training_loss():
    model = VIB(VIBConfig(input_dim=6, hidden=(8,), latent_dim=2, n_classes=3, train_samples=4))
    out = model.loss((torch.randn(10, 6), torch.randint(0, 3, (10,))))
    assert out.terms["ce"].ndim == 0 and torch.isfinite(out.total)
