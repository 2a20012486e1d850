"""MEME: the importance weights on a Gaussian case, the loss with and without the second modality."""

import math

import pytest
import torch

from infobounds.data.iterators import BatchStream
from infobounds.models.meme import MEME, FixedDensityCase, FixedDensityMEME, MEMEConfig, importance_weights
from infobounds.training import fit

# The referee's counterexample (chapter 19, item 19-1): one latent coordinate,
# q(z|s) = N(-1.541, 1.421), p(z|t) := q(z|t) = N(-3.591, 0.047), p(s|z) = N(s; z, 0.21^2) at s = 1.572,
# and a Bernoulli label q(t=1|z) = sigmoid(3.304 z) observed at t = 1, so q(t|z) <= 1.
Q_MEAN, Q_VAR, P_MEAN, P_VAR, S_OBS, S_VAR, SLOPE = -1.541, 1.421, -3.591, 0.047, 1.572, 0.21 ** 2, 3.304


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


def _counterexample_exact() -> tuple[float, float, float]:
    """(L(s,t), the expected-KL surrogate, log p(s|t)) by quadrature on a fine grid (closed form for the last)."""
    z = torch.linspace(-15.0, 15.0, 600_001, dtype=torch.float64)
    log_q = -0.5 * (math.log(2 * math.pi * Q_VAR) + (z - Q_MEAN) ** 2 / Q_VAR)
    log_p_z_t = -0.5 * (math.log(2 * math.pi * P_VAR) + (z - P_MEAN) ** 2 / P_VAR)
    log_p_s_z = -0.5 * (math.log(2 * math.pi * S_VAR) + (S_OBS - z) ** 2 / S_VAR)
    log_q_t_z = torch.nn.functional.logsigmoid(SLOPE * z)
    q_t_s = torch.trapezoid(torch.exp(log_q + log_q_t_z), z)
    posterior = torch.exp(log_q + log_q_t_z) / q_t_s  # q(z|s,t) = q(z|s) w(z)
    kl = 0.5 * (math.log(P_VAR / Q_VAR) + (Q_VAR + (Q_MEAN - P_MEAN) ** 2) / P_VAR - 1)
    bound = torch.trapezoid(posterior * (log_p_s_z + log_p_z_t - log_q - log_q_t_z), z) + torch.log(q_t_s)
    surrogate = torch.trapezoid(posterior * (log_p_s_z - log_q_t_z), z) - kl + torch.log(q_t_s)
    log_p_s_t = -0.5 * (math.log(2 * math.pi * (P_VAR + S_VAR)) + (S_OBS - P_MEAN) ** 2 / (P_VAR + S_VAR))
    return float(bound), float(surrogate), log_p_s_t


def test_fixed_density_case_quadrature_matches_an_independent_one():
    # The chapter's table comes from FixedDensityCase; this file computes the same three numbers its
    # own way (the bound as one integral, not fit term minus prior term). Control: a case with another
    # slope differs by more than the tolerance (checked below).
    case = FixedDensityCase()
    assert (case.q_mean, case.q_var, case.p_mean, case.p_var, case.s_obs, case.s_var, case.slope) == \
        (Q_MEAN, Q_VAR, P_MEAN, P_VAR, S_OBS, S_VAR, SLOPE)
    bound, surrogate, log_p_s_t = _counterexample_exact()
    exact = case.quadrature()
    assert exact["weighted"] == pytest.approx(bound, abs=1e-6)
    assert exact["expected_kl"] == pytest.approx(surrogate, abs=1e-6)
    assert case.log_p_s_given_t() == pytest.approx(log_p_s_t, abs=1e-12)
    other = FixedDensityCase(slope=2.0).quadrature()
    assert abs(other["weighted"] - bound) > 1.0


@pytest.mark.parametrize("prior_term", ["weighted", "expected_kl"])
def test_supervised_term_is_the_proved_bound_or_the_named_surrogate(prior_term):
    # Monte Carlo over 40 000 rows, 100 draws each for q(t|s). Measured in numpy with 10^6 rows: the
    # per-row SD is 430 nats (weighted) and 145 (surrogate), so the SE is 2.2 and 0.7 nats, and the
    # self-normalised weights bias the mean by < 1 nat at 100 draws. The tolerances are 10 and 4 nats;
    # the two objectives differ by 102 nats, and the old code (always expected_kl) fails "weighted".
    exact_bound, exact_surrogate, log_p_s_t = _counterexample_exact()
    assert exact_bound < log_p_s_t - 30 < log_p_s_t + 30 < exact_surrogate  # -185.7 < -146.0 < -83.2
    model = FixedDensityMEME(FixedDensityCase(), MEMEConfig(x_shape=(1,), y_shape=(1,), latent_dim=1, hidden=(2,),
                                                           n_samples=99, n_pseudo=1, prior_term=prior_term)).double()
    rows = torch.zeros(40_000, 1, dtype=torch.float64)
    torch.manual_seed(0)
    with torch.no_grad():
        minus_bound, minus_log_q_t_s = model.supervised(0, rows, rows)
    estimate = -float(minus_bound + minus_log_q_t_s) / len(rows)
    if prior_term == "weighted":
        assert estimate == pytest.approx(exact_bound, abs=10.0)
        assert estimate < log_p_s_t
    else:
        assert estimate == pytest.approx(exact_surrogate, abs=4.0)
        assert estimate > log_p_s_t  # the surrogate is not a bound on log p(s|t)


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
                                 dict(n_pseudo=0), dict(prior_term="kl")])
def test_bad_config_raises(bad):
    with pytest.raises(ValueError):
        MEMEConfig(**bad)
