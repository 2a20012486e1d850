"""Invariance penalties (chapter distribution_shift): named finite terms, known values, one step learns."""

import pytest
import torch

from infobounds.data import BatchStream
from infobounds.models.invariance import CRITERIA, InvarianceConfig, InvariantClassifier, per_environment_risks
from infobounds.models.vib import VIBConfig
from infobounds.training import fit

SMALL = VIBConfig(input_dim=6, hidden=(8,), latent_dim=3, n_classes=2, beta=0.0)


def batch(n=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 6, generator=g)
    y = torch.randint(0, 2, (n,), generator=g)
    e = torch.arange(n) % 2
    return x, y, e


@pytest.mark.parametrize("criterion", CRITERIA)
def test_loss_terms_named_and_finite(criterion):
    torch.manual_seed(0)
    model = InvariantClassifier(InvarianceConfig(criterion=criterion, vib=SMALL))
    out = model.loss(batch())
    expected = {"risk"} | ({model.config.penalty} if model.config.penalty else set())
    assert set(out.terms) == expected
    assert all(torch.isfinite(v) for v in out.terms.values())
    if criterion in ("dann", "cdann"):
        d = model.discriminator_loss(batch())
        assert set(d.terms) == {"discriminator_ce"} and torch.isfinite(d.terms["discriminator_ce"])


def test_vib_rate_term_and_penalty_schedule():
    model = InvariantClassifier(InvarianceConfig(criterion="vrex", penalty_weight=100.0, anneal_steps=2,
                                                 vib=VIBConfig(**{**SMALL.__dict__, "beta": 0.1})))
    first = model.loss(batch())
    assert set(first.terms) == {"risk", "kl", "rex_penalty"}
    assert first.weights["rex_penalty"] == 1.0 and first.weights["risk"] == 1.0
    model.loss(batch())
    late = model.loss(batch())  # after the warm-up: the loss is divided by lambda
    assert late.weights["rex_penalty"] == 1.0 and late.weights["risk"] == pytest.approx(0.01)
    assert late.weights["kl"] == pytest.approx(0.001)


def test_per_environment_risks_and_rex_by_hand():
    ce = torch.tensor([1.0, 3.0, 2.0, 6.0])
    e = torch.tensor([0, 1, 0, 1])
    risks, present = per_environment_risks(ce, e, 3)
    assert risks.tolist() == [1.5, 4.5, 0.0] and present.tolist() == [True, True, False]
    model = InvariantClassifier(InvarianceConfig(criterion="vrex", vib=SMALL))
    x, y, e = batch()
    out = model.loss((x, y, e))
    # variance of two risks = (R0 - R1)^2 / 4, and risk = their mean
    r = out.metrics["risk_env0"], out.metrics["risk_env1"]
    assert float(out.terms["rex_penalty"].detach()) == pytest.approx(float((r[0] - r[1]) ** 2 / 4), rel=1e-4, abs=1e-7)
    assert float(out.terms["risk"].detach()) == pytest.approx(float((r[0] + r[1]) / 2), rel=1e-5)


def test_irm_penalty_is_squared_gradient_of_scaled_risk():
    torch.manual_seed(0)
    model = InvariantClassifier(InvarianceConfig(criterion="irm", vib=VIBConfig(**{**SMALL.__dict__, "std_shift": -30.0})))
    x, y, e = batch()
    torch.manual_seed(1)
    out = model.loss((x, y, e))
    torch.manual_seed(1)
    mu, logvar = model.vib.encode(x)
    logits = model.vib.classifier(mu + (0.5 * logvar).exp() * torch.randn_like(mu))
    pen = 0.0
    for k in (0, 1):
        w = torch.ones((), requires_grad=True)
        r = torch.nn.functional.cross_entropy(logits[e == k] * w, y[e == k])
        (g,) = torch.autograd.grad(r, w)
        pen += float(g) ** 2 / 2
    assert float(out.terms["irm_penalty"].detach()) == pytest.approx(pen, rel=1e-4)


@pytest.mark.parametrize("criterion", ["erm", "cdann", "irm"])
def test_one_fit_step_changes_weights(criterion):
    torch.manual_seed(0)
    model = InvariantClassifier(InvarianceConfig(criterion=criterion, vib=SMALL))
    before = [p.detach().clone() for p in model.vib.parameters()]
    x, y, e = batch(64)
    result = fit(model, BatchStream(x, y, e, batch_size=32), steps=2, progress=False)
    assert any(not torch.equal(a, b) for a, b in zip(before, model.vib.parameters()))
    assert result.steps == 2


def test_bad_hyper_parameters_and_batches_raise():
    with pytest.raises(ValueError):
        InvarianceConfig(criterion="coral")
    with pytest.raises(ValueError):
        InvarianceConfig(n_environments=1)
    with pytest.raises(ValueError):
        InvarianceConfig(penalty_weight=-1.0)
    with pytest.raises(ValueError):
        InvarianceConfig(discriminator_steps=0)
    model = InvariantClassifier(InvarianceConfig(vib=SMALL))
    x, y, e = batch()
    with pytest.raises(ValueError, match="environment"):
        model.loss((x, y))
    with pytest.raises(ValueError, match="environment indices"):
        model.loss((x, y, e + 2))
