"""InfoGAN and Deep InfoMax: the bounds on hand-made cases, loss terms, players, one step learns."""

import math

import pytest
import torch

from infobounds.core import OptimizerConfig
from infobounds.data import BatchStream
from infobounds.models.dim import DIM, DIMConfig, SupervisedEncoder
from infobounds.models.infogan import InfoGAN, InfoGANConfig
from infobounds.training import fit

TINY_GAN = dict(data_shape=(1, 8, 8), noise_dim=4, hidden=(16,), q_hidden=8)
TINY_DIM = dict(image_size=8, channels=(4, 8), code_dim=6, embed_dim=5)


# -- InfoGAN ------------------------------------------------------------------------------------------

def test_l_i_is_at_most_log_k_and_reaches_it_when_q_is_exact():
    torch.manual_seed(0)
    model = InfoGAN(InfoGANConfig(n_continuous=0, **TINY_GAN))
    x = torch.rand(32, 1, 8, 8)
    c_cat = torch.randint(10, (32,))
    with torch.no_grad():
        info = model.information_terms(x, c_cat, torch.zeros(32, 0))
    assert float(info["l_i_categorical"]) <= math.log(10)
    assert set(info) == {"l_i_categorical", "infonce_categorical"}
    # A Q that is certain of the right code: replace q_params by an exact posterior.
    exact = torch.full((32, 10), -1e4)
    exact[torch.arange(32), c_cat] = 0.0
    model.q_params = lambda x: (exact, torch.zeros(32, 0), torch.zeros(32, 0))
    info = model.information_terms(x, c_cat, torch.zeros(32, 0))
    assert float(info["l_i_categorical"]) == pytest.approx(math.log(10), abs=1e-6)
    # InfoNCE from the same Q is a lower bound too, and below log K of the batch.
    assert float(info["infonce_categorical"]) <= math.log(32)


def test_information_terms_from_shared_features_equal_those_from_images():
    # The losses pass body(x) once to both heads; the terms and their gradients must not change.
    torch.manual_seed(0)
    model = InfoGAN(InfoGANConfig(**TINY_GAN))
    x, c_cat, c_cont = torch.rand(16, 1, 8, 8), torch.randint(10, (16,)), 2 * torch.rand(16, 2) - 1
    direct = model.information_terms(x, c_cat, c_cont)
    shared = model.information_terms(x, c_cat, c_cont, features=model.body(x))
    for key in direct:
        assert shared[key].item() == pytest.approx(direct[key].item(), abs=1e-6), key
    grads = []
    for info in (direct, shared):
        model.zero_grad()
        (info["l_i_categorical"] + info["l_i_continuous"]).backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.body.parameters()]))
    torch.testing.assert_close(grads[0], grads[1])


def test_uniform_q_gives_zero_information():
    model = InfoGAN(InfoGANConfig(**TINY_GAN))
    with torch.no_grad():
        last = model.q_head[-1]
        last.weight.zero_()
        last.bias.zero_()  # uniform logits; means 0; log-std 0
    z, c_cat, c_cont = model.sample_codes(64)
    with torch.no_grad():
        info = model.information_terms(model.generate(z, c_cat, c_cont), c_cat, c_cont)
    assert float(info["l_i_categorical"]) == pytest.approx(0.0, abs=1e-6)
    # Continuous: E log N(c; 0, 1) + 2 log 2 with c ~ U(-1, 1): E c^2 = 1/3.
    expected = 2 * (-0.5 * math.log(2 * math.pi) - 0.5 / 3 + math.log(2))
    assert float(info["l_i_continuous"]) == pytest.approx(expected, abs=0.1)


def test_infogan_players_schedule_and_one_step():
    torch.manual_seed(0)
    model = InfoGAN(InfoGANConfig(**TINY_GAN))
    assert [p.name for p in model.players()] == ["discriminator", "generator"]
    batch = (torch.rand(8, 1, 8, 8),)
    d = model.discriminator_loss(batch)
    assert set(d.terms) == {"real", "fake", "info_categorical", "info_continuous"}
    assert d.weights == {"info_categorical": 1.0, "info_continuous": 0.1}
    g = model.generator_loss(batch)
    assert set(g.terms) == {"neg_log_d_fake", "info_categorical", "info_continuous"}
    assert model.sample(5).shape == (5, 1, 8, 8)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    result = fit(model, BatchStream(torch.rand(64, 1, 8, 8), batch_size=16), steps=1, progress=False)
    changed = {n.split(".")[0] for n, p in model.named_parameters() if not torch.equal(before[n], p)}
    assert changed == {"generator", "body", "d_head", "q_head"}
    assert "generator/l_i_categorical" in result.history.keys()
    assert model.predict_category(torch.rand(7, 1, 8, 8)).shape == (7,)


@pytest.mark.parametrize("bad", [dict(n_categories=1), dict(lambda_continuous=-1.0), dict(body="rnn"),
                                 dict(q_hidden=0)])
def test_infogan_bad_config_raises(bad):
    with pytest.raises(ValueError):
        InfoGANConfig(**bad)


# -- Deep InfoMax -------------------------------------------------------------------------------------

@pytest.mark.parametrize("estimator", ["infonce", "js", "dv"])
def test_dim_terms_for_each_estimator(estimator):
    torch.manual_seed(0)
    model = DIM(DIMConfig(estimator=estimator, alpha=0.5, beta=1.0, **TINY_DIM))
    out = model.encoder_loss((torch.rand(16, 1, 8, 8),))
    assert set(out.terms) == {"global", "local"}
    assert out.weights == {"global": 0.5, "local": 1.0}
    assert set(out.metrics) == {"global_mi", "local_mi"}
    if estimator == "infonce":
        assert float(out.metrics["local_mi"]) <= math.log(16) + 1e-6  # InfoNCE's ceiling


def test_dim_local_scores_pair_every_location_with_every_code():
    torch.manual_seed(0)
    model = DIM(DIMConfig(**TINY_DIM))
    x = torch.rand(5, 1, 8, 8)
    with torch.no_grad():
        local, code = model.encoder(x)
    assert local.shape == (5, 8, 2, 2) and code.shape == (5, 6)
    with torch.no_grad():
        scores = model.local_scores(local, code)
        a = model.phi_local(local)[2, :, 1, 0]  # image 2, location (1, 0) = flat index 2
        b = model.psi_local(code)[3]
    assert scores.shape == (4, 5, 5)
    assert float(scores[2, 2, 3]) == pytest.approx(float(a @ b), rel=1e-5)


def test_dim_prior_matching_adds_a_player_and_one_step_changes_both():
    torch.manual_seed(0)
    model = DIM(DIMConfig(gamma=0.1, **TINY_DIM))
    assert [p.name for p in model.players()] == ["encoder", "prior_discriminator"]
    assert [u.player for u in model.schedule()] == ["prior_discriminator", "encoder"]
    assert set(model.encoder_loss((torch.rand(8, 1, 8, 8),)).terms) == {"local", "prior"}
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    fit(model, BatchStream(torch.rand(64, 1, 8, 8), batch_size=16), steps=1, progress=False)
    changed = {n.split(".")[0] for n, p in model.named_parameters() if not torch.equal(before[n], p)}
    assert {"encoder", "prior_discriminator", "phi_local", "psi_local"} <= changed
    assert DIM(DIMConfig(**TINY_DIM)).prior_discriminator is None


def test_dim_training_raises_the_bound_and_features_have_the_right_shapes():
    torch.manual_seed(0)
    # Images that are one of four patterns plus noise: the local bound must rise above zero.
    patterns = (torch.rand(4, 1, 8, 8) > 0.5).float()
    x = patterns[torch.randint(4, (256,))] + 0.1 * torch.randn(256, 1, 8, 8)
    model = DIM(DIMConfig(encoder_optim=OptimizerConfig(lr=3e-3), **TINY_DIM))
    result = fit(model, BatchStream(x, batch_size=32, seed=0), steps=150, progress=False)
    mi = result.history["encoder/local_mi"]
    assert mi[-20:].mean() > mi[:5].mean() + 0.3
    assert model.features(x[:10], "conv").shape == (10, 32)
    assert model.features(x[:10], "code").shape == (10, 6)
    with pytest.raises(ValueError):
        model.features(x[:10], "pixels")


def test_supervised_encoder_learns_labels():
    torch.manual_seed(0)
    x = torch.rand(256, 1, 8, 8)
    y = (x[:, 0, :4].mean((1, 2)) > x[:, 0, 4:].mean((1, 2))).long()
    model = SupervisedEncoder(DIMConfig(encoder_optim=OptimizerConfig(lr=3e-3), **TINY_DIM), n_classes=2)
    result = fit(model, BatchStream(x, y, batch_size=32, seed=0), steps=150, progress=False)
    assert result.history["main/accuracy"][-20:].mean() > 0.8
    assert model.features(x[:3], "code").shape == (3, 6)


@pytest.mark.parametrize("bad", [dict(estimator="nwj"), dict(alpha=0.0, beta=0.0), dict(gamma=-1.0),
                                 dict(image_size=30), dict(code_dim=0)])
def test_dim_bad_config_raises(bad):
    with pytest.raises(ValueError):
        DIMConfig(**bad)
