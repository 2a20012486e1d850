"""MEME: the importance weights on a Gaussian case, the loss with and without the second modality."""

import math

import pytest
import torch

from infobounds.data.iterators import BatchStream
from infobounds.models.meme import MEME, MEMEConfig, importance_weights
from infobounds.training import fit


def test_importance_weights_on_a_gaussian_case():
    # q(z|s) = N(m, v); q(t|z) = N(t; a z, sig2). Then q(t|s) = N(t; a m, a^2 v + sig2) and the
    # reweighted draws follow the posterior q(z|s,t) = N(mean_post, var_post).
    m, v, a, sig2, t = 0.5, 0.8, 1.5, 0.6, 1.7
    gen = torch.Generator().manual_seed(0)
    z = m + math.sqrt(v) * torch.randn(400_000, 1, generator=gen, dtype=torch.float64)
    log_q_t_z = -0.5 * (math.log(2 * math.pi * sig2) + (t - a * z) ** 2 / sig2)  # (K, 1)
    log_q_t_s, w = importance_weights(log_q_t_z)
    exact = -0.5 * (math.log(2 * math.pi * (a * a * v + sig2)) + (t - a * m) ** 2 / (a * a * v + sig2))
    assert float(log_q_t_s) == pytest.approx(exact, abs=5e-3)
    assert float(w.mean()) == pytest.approx(1.0, abs=1e-9)  # by construction of the estimate
    var_post = 1.0 / (1.0 / v + a * a / sig2)
    mean_post = var_post * (m / v + a * t / sig2)
    assert float((w * z).mean()) == pytest.approx(mean_post, abs=5e-3)
    assert float((w * (z - mean_post) ** 2).mean()) == pytest.approx(var_post, abs=5e-3)


def tiny(**kw):
    return MEME(MEMEConfig(x_shape=(1, 4, 4), y_shape=(1, 6, 6), latent_dim=3, hidden=(16,), n_samples=3,
                           n_pseudo=4, **kw))


def batch(n=10, missing_y=0):
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(n, 1, 4, 4, generator=gen).round()
    y = torch.rand(n, 1, 6, 6, generator=gen).round()
    mask = torch.ones(n, 2)
    mask[:missing_y, 1] = 0
    return x, y, mask


def test_loss_terms_and_missing_modality():
    model = tiny(supervision_weight=10.0)
    out = model.loss(batch(10, missing_y=4))
    assert set(out.terms) == {"supervised_x", "supervised_y", "supervision", "unsupervised"}
    assert out.weights == {"supervision": 10.0}
    assert all(torch.isfinite(v) for v in out.terms.values())
    assert float(out.terms["unsupervised"].detach()) != 0.0
    complete = model.loss(batch(10))
    assert float(complete.terms["unsupervised"].detach()) == 0.0
    # A batch with no y at all only trains x's unimodal part, whatever the hidden y's are.
    x, y, mask = batch(6, missing_y=6)
    torch.manual_seed(0)
    a = model.loss((x, y, mask)).total
    torch.manual_seed(0)
    b = model.loss((x, torch.zeros_like(y), mask)).total
    assert float(a.detach()) == pytest.approx(float(b.detach()), rel=1e-6)


def test_fit_changes_weights_and_generation_shapes():
    model = tiny()
    x, y, mask = batch(64, missing_y=20)
    model.init_pseudo_inputs(x[20:], y[20:])
    before = [p.detach().clone() for p in model.parameters()]
    fit(model, BatchStream(x, y, mask, batch_size=16), steps=3, progress=False)
    assert any(not torch.equal(p, q) for p, q in zip(model.parameters(), before))
    assert model.cross_generate(x=x[:5]).shape == (5, 1, 6, 6)
    gx, gy = model.sample(7)
    assert gx.shape == (7, 1, 4, 4) and gy.shape == (7, 1, 6, 6)


@pytest.mark.parametrize("bad", [dict(n_samples=0), dict(supervision_weight=-1.0), dict(latent_dim=0),
                                 dict(n_pseudo=0), dict(lr=0.0)])
def test_bad_config_raises(bad):
    with pytest.raises(ValueError):
        MEMEConfig(**bad)
