"""WAE-MMD, WAE-GAN, AAE and GWAE: loss terms, shapes, players, bad configs, one step changes weights."""

import math

import pytest
import torch

from infobounds.data import BatchStream
from infobounds.models.aae import AAE, AAEConfig
from infobounds.models.gwae import GWAE, PRIORS, GWAEConfig, MetaPrior, pairwise_distances
from infobounds.models.wae import WAEGAN, WAEMMD, WAEConfig, WAEGANConfig
from infobounds.training import fit

SMALL = dict(input_shape=(6,), hidden=(16,), latent_dim=2, output="identity")


def batch(n=32, d=6, seed=0):
    return (torch.randn(n, d, generator=torch.Generator().manual_seed(seed)),)


def snapshot(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items() if v.dtype.is_floating_point}


def changed(before, model):
    after = model.state_dict()
    return {k for k in before if not torch.equal(before[k], after[k])}


def test_wae_mmd_terms_are_finite_and_the_cost_matches_a_hand_computation():
    torch.manual_seed(0)
    model = WAEMMD(WAEConfig(**SMALL, lam=3.0))
    (x,) = batch()
    out = model.loss((x,))
    assert set(out.terms) == {"cost", "mmd"} and out.weights == {"mmd": 3.0}
    assert all(torch.isfinite(v) for v in out.terms.values())
    z = model.encode(x)
    assert z.shape == (32, 2) and model.decode(z).shape == (32, 6)
    assert float(out.terms["cost"].detach()) == pytest.approx(float(((x - model.decode(z)) ** 2).sum(-1).mean().detach()), rel=1e-6)
    assert model.kernel_scales() == (2.0 * 2 * 1.0,)  # C = 2 d_z sigma_z^2


def test_wae_accepts_images_and_rejects_wrong_shapes():
    model = WAEMMD(WAEConfig(input_shape=(1, 4, 4), hidden=(8,), latent_dim=2))
    assert model.encode(torch.rand(3, 1, 4, 4)).shape == (3, 2)
    assert model.sample(5).shape == (5, 16) and float(model.sample(5).min()) >= 0.0  # sigmoid output
    with pytest.raises(ValueError, match="shape"):
        model.encode(torch.rand(3, 15))


@pytest.mark.parametrize("bad", [dict(latent_dim=0), dict(lam=-1.0), dict(prior_std=0.0), dict(output="tanh"),
                                 dict(kernel_scales=()), dict(kernel_scales=(-1.0,)),
                                 dict(input_shape=())])
def test_wae_bad_config_raises(bad):
    with pytest.raises(ValueError):
        WAEConfig(**bad)


def test_wae_gan_config_and_model_checks():
    with pytest.raises(ValueError):
        WAEGANConfig(disc_hidden=())
    with pytest.raises(ValueError, match="WAEGANConfig"):
        WAEGAN(WAEConfig())
    with pytest.raises(ValueError, match="AAEConfig"):
        AAE(WAEGANConfig())


def test_wae_gan_players_and_terms():
    torch.manual_seed(0)
    model = WAEGAN(WAEGANConfig(**SMALL, disc_hidden=(8,)))
    assert [p.name for p in model.players()] == ["main", "discriminator"]
    assert [u.player for u in model.schedule()] == ["discriminator", "main"]
    d = model.discriminator_loss(batch())
    assert set(d.terms) == {"real", "fake"} and all(torch.isfinite(v) for v in d.terms.values())
    g = model.loss(batch())
    assert set(g.terms) == {"cost", "adversarial"}
    # A discriminator that outputs 0 (D = 1/2) makes each term log 2.
    with torch.no_grad():
        for p in model.discriminator.parameters():
            p.zero_()
    assert float(model.discriminator_loss(batch()).terms["real"].detach()) == pytest.approx(math.log(2))
    assert float(model.loss(batch()).terms["adversarial"].detach()) == pytest.approx(math.log(2))


def test_aae_reuses_the_wae_gan_networks_with_three_phases():
    model = AAE(AAEConfig(**SMALL, disc_hidden=(8,)))
    assert isinstance(model, WAEGAN)
    assert [p.name for p in model.players()] == ["autoencoder", "discriminator", "encoder"]
    enc_params = {id(p) for p in model.encoder.parameters()}
    assert {id(p) for p in model.players()[2].parameters} == enc_params
    assert set(model.reconstruction_loss(batch()).terms) == {"cost"}
    assert set(model.regularization_loss(batch()).terms) == {"adversarial"}


@pytest.mark.parametrize("make", [
    lambda: WAEMMD(WAEConfig(**SMALL)),
    lambda: WAEGAN(WAEGANConfig(**SMALL, disc_hidden=(8,))),
    lambda: AAE(AAEConfig(**SMALL, disc_hidden=(8,))),
    lambda: GWAE(GWAEConfig(**SMALL)),
    lambda: GWAE(GWAEConfig(**SMALL, prior="mixture", prior_components=3)),
    lambda: GWAE(GWAEConfig(**SMALL, prior="neural")),
])
def test_one_step_changes_the_weights(make):
    torch.manual_seed(0)
    model = make()
    before = snapshot(model)
    result = fit(model, BatchStream(torch.randn(64, 6), batch_size=16, seed=0), steps=1, seed=0, progress=False)
    assert len(changed(before, model)) > 0
    assert all(math.isfinite(v) for k in result.history.keys() if k != "step" for v in result.history[k])


def test_gwae_terms_shapes_and_weights():
    torch.manual_seed(0)
    cfg = GWAEConfig(**SMALL, coef_w=2.0, coef_d=3.0, coef_entropy=0.5)
    model = GWAE(cfg)
    out = model.loss(batch())
    assert set(out.terms) == {"gw", "reconstruction", "prior_mmd", "neg_entropy"}
    assert out.weights == {"reconstruction": 2.0, "prior_mmd": 3.0, "neg_entropy": 0.5}
    assert all(torch.isfinite(v) for v in out.terms.values())
    mu, logvar = model.encode(batch()[0])
    assert mu.shape == logvar.shape == (32, 2)
    assert model.sample(7).shape == (7, 6)


def test_gwae_gw_term_vanishes_for_an_isometric_decoder():
    # Decoder G(z) = A z with orthonormal columns, kappa = 1, standard prior: d_X(G z, G z') = d_Z(z, z'),
    # so the term is |d_Z / s - d_Z| with s the sample's mean std, ~0 for a large batch.
    torch.manual_seed(0)
    model = GWAE(GWAEConfig(input_shape=(5,), hidden=(), latent_dim=2, output="identity",
                            distance_scale_init=1.0))
    a, _ = torch.linalg.qr(torch.randn(5, 2))
    with torch.no_grad():
        model.decoder_net[-1].weight.copy_(a)
        model.decoder_net[-1].bias.zero_()
    z = torch.randn(4000, 2)
    z = z / z.std(0)  # s = 1 exactly
    assert float(model.gw_distortion(z[:400]).detach()) < 0.05
    with torch.no_grad():
        model.decoder_net[-1].weight.mul_(torch.tensor([[3.0, 1.0]]))  # stretch one latent direction
    assert float(model.gw_distortion(z[:400]).detach()) > 0.3


def test_meta_priors_sample_standardised_batches():
    torch.manual_seed(0)
    for family in PRIORS:
        z = MetaPrior(family, 3, components=4)(512)
        assert z.shape == (512, 3) and torch.isfinite(z).all()
        if family != "gaussian":  # batch-norm standardised
            assert torch.allclose(z.mean(0), torch.zeros(3), atol=1e-4)
    with pytest.raises(ValueError):
        MetaPrior("uniform", 3)


def test_pairwise_distances_and_their_gradient_are_finite():
    a = torch.tensor([[0.0, 0.0], [3.0, 4.0], [3.0, 4.0]], requires_grad=True)
    d = pairwise_distances(a)
    assert torch.allclose(d, torch.tensor([5.0, 5.0, 0.0]), atol=1e-5)
    d.sum().backward()
    assert torch.isfinite(a.grad).all()


@pytest.mark.parametrize("bad", [dict(prior="uniform"), dict(prior_components=1), dict(gw_exponent=3),
                                 dict(coef_w=-1.0), dict(coef_entropy=-0.1), dict(distance_scale_init=0.0),
                                 dict(kernel_scales=(0.0,)), dict(latent_dim=0),
                                 dict(output="relu")])
def test_gwae_bad_config_raises(bad):
    with pytest.raises(ValueError):
        GWAEConfig(**bad)
