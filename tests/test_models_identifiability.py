"""Nonlinear-ICA data, the GMM-prior VAE and the iVAE (chapter identifiability_clustering)."""

import pytest
import torch

from infobounds.data import BatchStream
from infobounds.data.nonlinear_ica import InvertibleMLP, gaussian_mixture_sources
from infobounds.models.gmvae import GMVAE, GMVAEConfig
from infobounds.models.ivae import IVAE, IVAEConfig
from infobounds.models.vae import VAEConfig
from infobounds.training import fit


def test_mixing_is_invertible_and_sources_are_independent_given_u():
    f = InvertibleMLP(4, layers=3, slope=0.3, seed=1)
    s = torch.randn(500, 4, dtype=torch.float64)
    assert torch.allclose(f.inverse(f(s)), s, atol=1e-10)
    data, mixing = gaussian_mixture_sources(20_000, dim=3, n_components=4, seed=0, noise=0.0)
    assert data.x.shape == (20_000, 3) and data.u.max() == 3
    assert torch.allclose(mixing.inverse(data.x.double()).float(), data.s, atol=1e-4)
    for k in range(4):
        corr = torch.corrcoef(data.s[data.u == k].T)
        assert (corr - torch.eye(3)).abs().max() < 0.06  # diagonal covariance given u
    again, _ = gaussian_mixture_sources(10, dim=3, n_components=4, seed=0, noise=0.0)
    assert torch.equal(again.s, gaussian_mixture_sources(10, dim=3, n_components=4, seed=0, noise=0.0)[0].s)


def small_gmvae():
    vae = VAEConfig(input_shape=(3,), hidden=(16,), activation="elu", latent_dim=2, decoder="gaussian",
                    prior="standard", prior_components=5)
    return GMVAE(GMVAEConfig(vae=vae))


def test_gmvae_forces_a_mixture_prior_and_clusters():
    model = small_gmvae()
    assert model.config.vae.prior == "mixture"
    out = model.loss((torch.randn(8, 3),))
    assert set(out.terms) == {"distortion", "rate"}
    resp = model.responsibilities(torch.randn(10, 2))
    assert resp.shape == (10, 5) and torch.allclose(resp.sum(1), torch.ones(10))
    assert model.cluster(torch.randn(7, 3)).shape == (7,)


def test_ivae_rate_is_the_closed_form_kl_to_the_conditional_prior():
    torch.manual_seed(0)
    model = IVAE(IVAEConfig(data_dim=3, latent_dim=2, n_aux=4, hidden=(8,)))
    x, u = torch.randn(6, 3), torch.tensor([0, 1, 2, 3, 0, 1])
    with torch.no_grad():
        # Make the prior of every u equal the encoder's output distribution: the rate must vanish.
        mu, logvar = model.encode(x, u)
        model.prior_mean.weight.zero_()
        model.prior_logvar.weight.zero_()
        model.head.linear.weight.zero_()
        model.head.linear.bias.copy_(torch.tensor([0.0, 0.0, 0.5413, 0.5413]))  # softplus(0.5413) ~ 1 - 1e-4
        out = model.loss((x, u))
    assert set(out.terms) == {"distortion", "rate"}
    assert float(out.terms["rate"]) == pytest.approx(0.0, abs=1e-3)


def test_both_models_learn_in_one_step():
    data, _ = gaussian_mixture_sources(256, dim=3, n_components=4, seed=0)
    for model, stream in [(small_gmvae(), BatchStream(data.x, batch_size=64)),
                          (IVAE(IVAEConfig(data_dim=3, latent_dim=3, n_aux=4, hidden=(8,))),
                           BatchStream(data.x, data.u, batch_size=64))]:
        before = [p.detach().clone() for p in model.parameters()]
        fit(model, stream, steps=1, progress=False)
        assert any(not torch.equal(b, p) for b, p in zip(before, model.parameters()))


@pytest.mark.parametrize("bad", [dict(n_aux=0), dict(decoder_std=0.0)])
def test_bad_ivae_config_raises(bad):
    with pytest.raises(ValueError):
        IVAEConfig(**bad)
