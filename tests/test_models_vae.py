"""beta-VAE: loss terms on cases computed by hand, the IWAE bound against the ELBO, errors, one step."""

import math

import pytest
import torch

from infobounds.core import OptimizerConfig
from infobounds.data import BatchStream
from infobounds.models import MODELS
from infobounds.models.vae import VAE, VAEConfig
from infobounds.training import fit


def hand_made_vae(mu, std, bias, **config):
    """A VAE with no hidden layer whose encoder outputs (mu, std) for every input and whose decoder
    ignores z and outputs ``bias`` (logits or means)."""
    cfg = VAEConfig(input_shape=(len(bias),), hidden=(), latent_dim=1, **config)
    model = VAE(cfg)
    with torch.no_grad():
        model.head.linear.weight.zero_()
        # softplus(raw) + min_std = std  =>  raw = log(exp(std - min_std) - 1)
        raw = math.log(math.expm1(std - model.head.min_std))
        model.head.linear.bias.copy_(torch.tensor([mu, raw]))
        linear = model.decoder_net[-1]
        linear.weight.zero_()
        linear.bias.copy_(torch.tensor(bias))
    return model


def kl_to_standard_normal(mu, std):
    return 0.5 * (std**2 + mu**2 - 1 - math.log(std**2))


def test_registered():
    assert MODELS["vae"] == "infobounds.models.vae:VAE"


def test_gaussian_decoder_loss_matches_hand_computation():
    mu, std, means, s, beta = 0.7, 0.4, [0.5, -1.0, 2.0], 0.5, 0.3
    model = hand_made_vae(mu, std, means, decoder="gaussian", decoder_std=s, beta=beta)
    x = torch.tensor([[0.0, 0.0, 0.0], [1.0, -1.0, 3.0]])
    out = model.loss((x,))
    # -log N(x; m, s^2 I) = sum_j (x_j - m_j)^2 / (2 s^2) + 3 (log s + 1/2 log 2 pi), averaged over the batch.
    sq = [sum((a - b) ** 2 for a, b in zip(row, means)) for row in x.tolist()]
    distortion = sum(q / (2 * s**2) for q in sq) / 2 + 3 * (math.log(s) + 0.5 * math.log(2 * math.pi))
    rate = kl_to_standard_normal(mu, std)
    assert set(out.terms) == {"distortion", "rate"}
    assert dict(out.weights) == {"rate": beta}
    assert float(out.terms["distortion"].detach()) == pytest.approx(distortion, rel=1e-5)
    assert float(out.terms["rate"].detach()) == pytest.approx(rate, rel=1e-5)
    assert float(out.total.detach()) == pytest.approx(distortion + beta * rate, rel=1e-5)


def test_bernoulli_and_squared_error_decoders_by_hand():
    logits = [0.0, 2.0, -1.0]
    x = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    model = hand_made_vae(0.0, 1.0, logits, decoder="bernoulli")
    # BCE with logits: softplus(l) - x l, summed over pixels.
    softplus = [math.log1p(math.exp(v)) for v in logits]
    bce = sum(sum(sp - xi * v for sp, xi, v in zip(softplus, row, logits)) for row in x.tolist()) / 2
    assert float(model.loss((x,)).terms["distortion"].detach()) == pytest.approx(bce, rel=1e-5)
    model = hand_made_vae(0.0, 1.0, logits, decoder="squared_error")
    sq = sum(sum((xi - v) ** 2 for xi, v in zip(row, logits)) for row in x.tolist()) / 2
    assert float(model.loss((x,)).terms["distortion"].detach()) == pytest.approx(sq, rel=1e-5)


def test_learned_gaussian_and_mixture_priors():
    torch.manual_seed(0)
    model = hand_made_vae(0.3, 0.6, [0.0, 0.0], decoder="gaussian", prior="gaussian")
    with torch.no_grad():
        model.prior_mean.fill_(-0.5)
        model.prior_logvar.fill_(math.log(2.0))
    # KL(N(0.3, 0.36) || N(-0.5, 2)) = 1/2 [log(2 / 0.36) + (0.36 + 0.64) / 2 - 1]
    expected = 0.5 * (math.log(2 / 0.36) + (0.36 + 0.8**2) / 2 - 1)
    out = model.loss((torch.zeros(4, 2),))
    assert float(out.terms["rate"].detach()) == pytest.approx(expected, rel=1e-5)
    # A one-component mixture is the same prior; its Monte Carlo rate is unbiased for the KL.
    mixture = hand_made_vae(0.3, 0.6, [0.0, 0.0], decoder="gaussian", prior="mixture", prior_components=1)
    with torch.no_grad():
        mixture.prior_means.fill_(-0.5)
        mixture.prior_logvars.fill_(math.log(2.0))
    rates = mixture.evaluate(torch.zeros(20_000, 2))["rate"]
    assert rates == pytest.approx(expected, abs=0.03)


def test_iwae_is_at_least_the_elbo_and_equals_it_in_mean_with_k1():
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_shape=(6,), hidden=(16,), latent_dim=2, decoder="bernoulli"))
    x = (torch.rand(400, 6) > 0.5).float()
    elbo = torch.stack([model.elbo(x) for _ in range(20)]).mean(0)  # (B,) averaged over 20 draws
    iwae1 = torch.stack([model.iwae(x, k=1) for _ in range(20)])  # (20, B)
    iwae1_mean = float(iwae1.mean())
    stderr = float(iwae1.mean(0).std() / math.sqrt(x.shape[0]))
    # K = 1: the same expectation as the ELBO (the KL estimated by the same single draw).
    assert iwae1_mean == pytest.approx(float(elbo.mean()), abs=4 * stderr + 1e-3)
    iwae10 = float(torch.stack([model.iwae(x, k=10) for _ in range(5)]).mean())
    iwae100 = float(model.iwae(x, k=100).mean())
    assert iwae10 > float(elbo.mean())
    assert iwae100 >= iwae10 - 0.01


def test_iwae_equals_elbo_exactly_when_the_posterior_is_the_prior():
    # Encoder output N(0, 1) = r(z) and a decoder that ignores z: every importance weight is q(x).
    model = hand_made_vae(0.0, 1.0, [0.3, -0.2, 1.0], decoder="bernoulli")
    x = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    log_q = -torch.nn.functional.binary_cross_entropy_with_logits(
        torch.tensor([0.3, -0.2, 1.0]).expand(2, 3), x, reduction="none").sum(-1)
    for k in (1, 7):
        torch.testing.assert_close(model.iwae(x, k=k), log_q, atol=1e-3, rtol=0)
    torch.testing.assert_close(model.elbo(x), log_q, atol=1e-3, rtol=0)


@pytest.mark.parametrize("bad", [dict(beta=-1.0), dict(latent_dim=0), dict(decoder="poisson"), dict(prior="flow"),
                                 dict(body="transformer"), dict(decoder_std=0.0),
                                 dict(prior_components=0), dict(input_shape=(0,)), dict(activation="gelu"),
                                 dict(body="conv", input_shape=(784,)), dict(body="conv", input_shape=(1, 30, 30))])
def test_bad_config_raises(bad):
    with pytest.raises(ValueError):
        VAEConfig(**bad)


def test_rate_distortion_config():
    cfg = VAEConfig.rate_distortion(8, slope=4.0)
    assert cfg.decoder == "squared_error" and cfg.beta == pytest.approx(0.25) and cfg.input_shape == (8,)
    with pytest.raises(ValueError):
        VAEConfig.rate_distortion(8, slope=0.0)
    model = VAE(cfg)
    with pytest.raises(ValueError, match="likelihood"):
        model.iwae(torch.randn(3, 8))


def test_wrong_input_shape_raises():
    model = VAE(VAEConfig())
    with pytest.raises(ValueError, match=r"\(B, 1, 28, 28\) or \(B, 784\)"):
        model.loss((torch.rand(4, 100),))
    with pytest.raises(ValueError, match="784"):
        model.encode(torch.rand(4, 3, 28, 28))


def test_conv_body_shapes():
    model = VAE(VAEConfig(body="conv", conv_channels=(4, 8), latent_dim=3))
    x = torch.rand(5, 1, 28, 28).round()
    out = model.loss((x,))
    assert torch.isfinite(out.total)
    assert model.reconstruct(x).shape == (5, 1, 28, 28)
    assert model.sample(2).shape == (2, 1, 28, 28)
    assert model.iwae(x, k=3).shape == (5,)


def test_one_step_changes_the_weights_and_training_lowers_the_loss():
    torch.manual_seed(0)
    prototypes = (torch.rand(4, 20) > 0.5).float()
    x = prototypes[torch.randint(0, 4, (512,))]
    model = VAE(VAEConfig(input_shape=(20,), hidden=(32,), latent_dim=2, optim=OptimizerConfig(lr=1e-2), prior="mixture",
                          prior_components=4))
    before = [p.detach().clone() for p in model.parameters()]
    stream = BatchStream(x, batch_size=64, seed=0)
    fit(model, stream, steps=1, progress=False)
    assert all(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    result = fit(model, stream, steps=200, progress=False)
    total = result.history["main/total"]
    assert total[-20:].mean() < 0.5 * total[:20].mean()
    metrics = model.evaluate(x, iwae_samples=20)
    assert set(metrics) == {"distortion", "rate", "elbo", "iwae"}
    assert metrics["iwae"] >= metrics["elbo"] - 0.05


def test_mutual_information_on_a_finite_set():
    # An encoder that ignores x carries no information; one with distinct, very narrow posteriors
    # identifies each of the N examples, I = log N.
    x = torch.eye(4)
    blind = hand_made_vae(0.5, 1.0, [0.0] * 4, decoder="gaussian")
    assert blind.mutual_information(x, 500) == pytest.approx(0.0, abs=1e-6)
    sharp = VAE(VAEConfig(input_shape=(4,), hidden=(), latent_dim=1, decoder="gaussian"))
    with torch.no_grad():
        sharp.head.linear.weight.copy_(torch.tensor([[0.0, 10.0, 20.0, 30.0], [0.0, 0.0, 0.0, 0.0]]))
        sharp.head.linear.bias.copy_(torch.tensor([0.0, math.log(math.expm1(0.01))]))
    assert sharp.mutual_information(x, 500) == pytest.approx(math.log(4), abs=1e-4)


def test_sweep_regrets_of_points_on_a_convex_frontier():
    # D(R) = 1/R: the model at beta minimises 1/R + beta R at R = beta^(-1/2), on the frontier
    import numpy as np
    from infobounds.models.vae import sweep_regrets

    betas = np.array([0.25, 1.0, 4.0])
    rates = betas ** -0.5
    regrets = sweep_regrets(betas, 1 / rates, rates)
    assert regrets.shape == (3, 3)
    np.testing.assert_allclose(np.diag(regrets), 0.0)
    off = regrets[~np.eye(3, dtype=bool)]
    assert (off > 0).all()
    # by hand: model 0 (beta 1/4, R = 2, D = 1/2) against model 1 (R = 1, D = 1): 1 + 1/4 - (1/2 + 1/2)
    assert regrets[0, 1] == pytest.approx(0.25)
    # the control: the same points with the betas in reverse order are not optimal for them
    assert (sweep_regrets(betas[::-1], 1 / rates, rates)[~np.eye(3, dtype=bool)] < 0).any()


def test_sweep_regrets_rejects_bad_input():
    import numpy as np
    from infobounds.models.vae import sweep_regrets

    with pytest.raises(ValueError, match="one length"):
        sweep_regrets([0.1, 1.0], [1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="models"):
        sweep_regrets([1.0], [1.0], [1.0])
    with pytest.raises(ValueError, match="distortions"):
        sweep_regrets([0.1, 1.0], [1.0, np.nan], [1.0, 2.0])
    with pytest.raises(ValueError, match="betas"):
        sweep_regrets([-0.1, 1.0], [1.0, 2.0], [1.0, 2.0])
