"""Variational Wyner model: loss terms, players, grouped independence, annealing, generation."""

import math

import pytest
import torch

from infobounds.data.iterators import BatchStream
from infobounds.data.synthetic import correlated_gaussians
from infobounds.models.wyner import GroupedMLP, VariationalWyner, WynerConfig, model_common_information
from infobounds.training import fit


def small(**kw):
    base = dict(hidden=(16,), critic_hidden=(16,))
    base.update(kw)
    return VariationalWyner(WynerConfig(**base))


def test_loss_terms_and_players():
    model = small()
    x, y = correlated_gaussians(32, 1, 0.5)
    out = model.loss((x, y))
    assert set(out.terms) == {"distortion_x", "distortion_y", "rate", "common_information",
                              "common_information_model", "reverse_kl", "sleep", "kl_x", "kl_y"}
    assert out.weights["common_information"] == model.config.ci_weight
    assert float(out.terms["rate"].detach()) >= 0 and float(out.terms["kl_x"].detach()) >= 0
    critic = model.critic_loss((x, y))
    assert set(critic.terms) == {"ci_classifier", "ci_model_classifier", "rev_classifier"}
    # A classifier that outputs 0 everywhere pays log 2 per class, so at initialisation each loss is near 2 log 2.
    for value in critic.terms.values():
        assert 0.5 < float(value.detach()) < 3.0
    names = [p.name for p in model.players()]
    assert names == ["critic", "main"]
    critic_params = {id(p) for p in model.players()[0].parameters}
    main_params = {id(p) for p in model.players()[1].parameters}
    assert not critic_params & main_params
    assert len(critic_params) + len(main_params) == len(list(model.parameters()))


def test_bernoulli_images_with_local_latents():
    model = small(x_shape=(1, 4, 4), y_shape=(1, 6, 6), decoder="bernoulli", reverse_weight=0.0, local_dim=2,
                  latent_dim=3)
    x, y = torch.rand(8, 1, 4, 4).round(), torch.rand(8, 1, 6, 6).round()
    mask = torch.ones(8, 2)
    mask[:3, 1] = 0  # three incomplete pairs are ignored
    out = model.loss((x, y, mask))
    assert "rate_local" in out.terms and "common_information_model" not in out.terms
    gx, gy = model.sample(5)
    assert gx.shape == (5, 1, 4, 4) and gy.shape == (5, 1, 6, 6)
    assert 0 <= float(gy.min()) and float(gy.max()) <= 1
    assert model.cross_generate(x=x).shape == (8, 1, 6, 6)
    assert model.cross_generate(y=y).shape == (8, 1, 4, 4)
    with pytest.raises(ValueError):
        model.cross_generate(x=x, y=y)


def test_one_fit_step_changes_both_players():
    model = small()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    x, y = correlated_gaussians(256, 1, 0.5, torch.Generator().manual_seed(0))
    fit(model, BatchStream(x, y, batch_size=32), steps=2, progress=False)
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert any(n.startswith("ci_critic") for n in changed)
    assert any(n.startswith("joint_encoder") for n in changed)
    assert any(n.startswith("y_decoder") for n in changed)
    assert int(model.updates) == 2


def test_groups_are_independent_models():
    model = small(x_shape=(3,), y_shape=(3,), groups=3)
    x, y = torch.randn(10, 3), torch.randn(10, 3)
    mu, logvar = model.encode(x, y)
    x2 = x.clone()
    x2[:, 2] += 5.0  # change only group 2's input
    mu2, _ = model.encode(x2, y)
    assert torch.equal(mu[:, :2], mu2[:, :2]) and not torch.equal(mu[:, 2], mu2[:, 2])
    # The gradient of group 0's terms reaches no parameter slice of groups 1 and 2.
    net = GroupedMLP(3, 2, (4,), 1)
    out = net(torch.randn(3, 5, 2))
    out[0].sum().backward()
    for w in net.weights:
        assert w.grad[1:].abs().sum() == 0 and w.grad[0].abs().sum() > 0


def test_ci_weight_anneals_and_is_resumable(tmp_path):
    model = small(ci_weight=0.4, ci_anneal_steps=4)
    x, y = correlated_gaussians(256, 1, 0.5, torch.Generator().manual_seed(0))
    ckpt = tmp_path / "w.pt"
    fit(model, BatchStream(x, y, batch_size=32), steps=2, progress=False, checkpoint=ckpt)
    assert model.current_ci_weight() == pytest.approx(0.2)
    other = small(ci_weight=0.4, ci_anneal_steps=4)
    other.load_state_dict(torch.load(ckpt, weights_only=True)["model"])
    assert other.current_ci_weight() == pytest.approx(0.2)
    fit(model, BatchStream(x, y, batch_size=32), steps=6, progress=False)
    assert model.current_ci_weight() == 0.0


def test_evaluate_orders_the_bounds():
    torch.manual_seed(0)
    model = small(reverse_weight=0.0, cond_weight=0.0)
    x, y = correlated_gaussians(4096, 1, 0.7, torch.Generator().manual_seed(0))
    fit(model, BatchStream(x, y, batch_size=128), steps=150, progress=False)
    ev = model.evaluate(x, y, batch_size=1024)
    assert ev["ci_infonce"][0] <= math.log(1024)
    # InfoNCE with the exact density lower-bounds I_q <= rate (up to Monte Carlo noise).
    assert ev["ci_infonce"][0] <= ev["rate"][0] + 0.05
    assert math.isfinite(float(model_common_information(model, x, y)[0]))


@pytest.mark.parametrize("bad", [dict(decoder="poisson"), dict(latent_dim=0), dict(groups=2),
                                 dict(decoder="bernoulli"), dict(ci_weight=-1.0), dict(critic_steps=0),
                                 dict(local_dim=-1)])
def test_bad_config_raises(bad):
    with pytest.raises(ValueError):
        WynerConfig(**bad)
