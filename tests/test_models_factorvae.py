"""FactorVAE: the TC estimator on Gaussians with known TC, permute-dims, loss terms, one step learns."""

import math

import pytest
import torch

from infobounds.core import OptimizerConfig
from infobounds.data import BatchStream
from infobounds.estimators.total_correlation import estimate_total_correlation
from infobounds.models.factorvae import (FactorVAE, FactorVAEConfig, TCDiscriminator, gaussian_total_correlation,
                                         permute_dims)
from infobounds.models.vae import VAE, VAEConfig
from infobounds.training import fit


def small_factorvae(**kw):
    vae = VAEConfig(input_shape=(1, 8, 8), hidden=(32,), latent_dim=4)
    return FactorVAE(FactorVAEConfig(vae=vae, discriminator_hidden=(16,), **kw))


def test_tc_estimator_on_gaussians_with_known_tc():
    # TC(N(0, C)) = -1/2 log det C for a correlation matrix C.
    rho = 0.8
    cov = torch.tensor([[1.0, rho], [rho, 1.0]])
    assert gaussian_total_correlation(cov) == pytest.approx(-0.5 * math.log(1 - rho**2))
    assert gaussian_total_correlation(4.0 * torch.eye(3)) == pytest.approx(0.0, abs=1e-12)
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(12_000, 2, generator=gen) @ torch.linalg.cholesky(cov).T
    estimate = estimate_total_correlation(z, steps=600, batch_size=256, hidden=(32, 32),
                                          optim=OptimizerConfig(lr=3e-3))
    assert estimate == pytest.approx(gaussian_total_correlation(cov), abs=0.12)
    independent = estimate_total_correlation(torch.randn(12_000, 2, generator=gen), steps=300, batch_size=256,
                                             hidden=(32, 32), optim=OptimizerConfig(lr=3e-3))
    assert abs(independent) < 0.05


def test_permute_dims_shuffles_each_column_independently():
    z = torch.arange(40.0).reshape(10, 4)
    out = permute_dims(z, generator=torch.Generator().manual_seed(0))
    for j in range(4):
        assert sorted(out[:, j].tolist()) == z[:, j].tolist()  # each column keeps its values
    assert not torch.equal(out, z)
    with pytest.raises(ValueError):
        permute_dims(torch.zeros(3))


def test_factorvae_loss_terms_and_players():
    model = small_factorvae(gamma=10.0)
    x = torch.rand(16, 1, 8, 8)
    out = model.vae_loss((x,))
    assert set(out.terms) == {"distortion", "rate", "total_correlation"}
    assert out.weights == {"rate": 1.0, "total_correlation": 10.0}
    disc = model.discriminator_loss((x,))
    assert set(disc.terms) == {"cross_entropy"} and 0.0 <= float(disc.metrics["accuracy"]) <= 1.0
    # A discriminator that outputs 0 has cross-entropy log 2.
    zero = TCDiscriminator(4, (8,))
    for p in zero.parameters():
        torch.nn.init.zeros_(p)
    model.discriminator = zero
    assert float(model.discriminator_loss((x,)).terms["cross_entropy"].detach()) == pytest.approx(math.log(2), rel=1e-6)
    assert [p.name for p in model.players()] == ["vae", "discriminator"]
    assert [u.player for u in model.schedule()] == ["vae", "discriminator"]


def test_factorvae_with_gamma_zero_has_the_vaes_terms():
    """FactorVAE's VAE part is the book's VAE (both read VAE.terms): with gamma = 0, on the same batch,
    weights and draw of z, its distortion, rate, their weights and the total are the VAE's to the bit."""
    torch.manual_seed(0)
    vae_config = VAEConfig(input_shape=(1, 8, 8), hidden=(32,), latent_dim=4, beta=0.5)
    model = FactorVAE(FactorVAEConfig(vae=vae_config, gamma=0.0, discriminator_hidden=(16,)))
    vae = VAE(vae_config)
    vae.load_state_dict(model.vae.state_dict())
    x = torch.rand(16, 1, 8, 8)
    torch.manual_seed(1)
    factor = model.vae_loss((x,))
    torch.manual_seed(1)
    plain = vae.loss((x,))
    assert set(factor.terms) == set(plain.terms) | {"total_correlation"}
    for name in plain.terms:
        assert torch.equal(factor.terms[name], plain.terms[name]), name
    assert factor.weights["rate"] == plain.weights["rate"] == 0.5
    assert torch.equal(factor.total, plain.total)  # gamma = 0: the total correlation adds nothing
    # control: the terms depend on the draw of z, so the equalities above compare the same draw
    torch.manual_seed(2)
    assert not torch.equal(vae.loss((x,)).terms["distortion"], plain.terms["distortion"])


def test_one_step_changes_both_players():
    torch.manual_seed(0)
    model = small_factorvae()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    fit(model, BatchStream(torch.rand(64, 1, 8, 8), batch_size=16), steps=1, progress=False)
    changed = {n.split(".")[0] for n, p in model.named_parameters() if not torch.equal(before[n], p)}
    assert changed == {"vae", "discriminator"}


@pytest.mark.parametrize("bad", [dict(gamma=-1.0)])
def test_bad_factorvae_config_raises(bad):
    with pytest.raises(ValueError):
        FactorVAEConfig(**bad)
    with pytest.raises(ValueError):
        FactorVAEConfig(vae=VAEConfig(latent_dim=1))
