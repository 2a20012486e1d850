"""Multimodal VAEs: the product of Gaussian experts against a numerical product, the four losses,
missing modalities, generation."""

import math

import pytest
import torch

from infobounds.data.iterators import BatchStream
from infobounds.models.multimodal import KINDS, MultimodalConfig, MultimodalVAE, product_of_gaussians
from infobounds.training import fit


@pytest.mark.parametrize("n_experts", [1, 2, 3])
def test_product_of_gaussians_matches_numerical_product(n_experts):
    gen = torch.Generator().manual_seed(n_experts)
    mu = torch.randn(n_experts, 1, 1, generator=gen, dtype=torch.float64)
    logvar = torch.randn(n_experts, 1, 1, generator=gen, dtype=torch.float64) * 0.5
    grid = torch.linspace(-12, 12, 200_001, dtype=torch.float64)
    dz = float(grid[1] - grid[0])
    log_dens = -0.5 * (math.log(2 * math.pi) + logvar[:, 0] + (grid - mu[:, 0]) ** 2 / logvar[:, 0].exp())  # (E, G)
    product = log_dens.sum(0).exp()
    product = product / (product.sum() * dz)  # normalise on the grid
    mean = float((grid * product).sum() * dz)
    var = float(((grid - mean) ** 2 * product).sum() * dz)
    m, lv = product_of_gaussians(mu, logvar)
    assert float(m) == pytest.approx(mean, abs=1e-6)
    assert float(lv.exp()) == pytest.approx(var, rel=1e-6)
    # The product's density is the normalised pointwise product everywhere on the grid.
    closed = torch.exp(-0.5 * (math.log(2 * math.pi) + lv[0, 0] + (grid - m[0, 0]) ** 2 / lv[0, 0].exp()))
    assert float((closed - product).abs().max()) < 1e-6


def test_product_weights_drop_experts_and_raise_errors():
    mu = torch.tensor([[[0.0]], [[2.0]]])
    logvar = torch.zeros(2, 1, 1)
    m, lv = product_of_gaussians(mu, logvar, weight=torch.tensor([[0.0], [1.0]]))
    assert float(m) == 2.0 and float(lv) == pytest.approx(0.0)
    m, lv = product_of_gaussians(mu, logvar)  # two unit experts: mean halfway, variance 1/2
    assert float(m) == 1.0 and float(lv.exp()) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        product_of_gaussians(mu, logvar, weight=torch.zeros(2, 1))


def test_product_with_negative_weight_divides_by_an_expert():
    # N(1, 1/2) / N(0, 1): precision 2 - 1 = 1, mean (2 * 1 - 1 * 0) / 1 = 2 (the quotient of the exercise).
    mu = torch.tensor([[[1.0]], [[0.0]]])
    logvar = torch.tensor([[[math.log(0.5)]], [[0.0]]])
    m, lv = product_of_gaussians(mu, logvar, weight=torch.tensor([[1.0], [-1.0]]))
    assert float(m) == pytest.approx(2.0) and float(lv) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="total precision"):  # 2 - 3 < 0: no Gaussian
        product_of_gaussians(mu, logvar, weight=torch.tensor([[1.0], [-3.0]]))


def tiny(kind, **kw):
    return MultimodalVAE(MultimodalConfig(kind=kind, x_shape=(1, 4, 4), y_shape=(1, 6, 6), latent_dim=3,
                                          hidden=(16,), **kw))


def batch(n=12, missing_y=0):
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(n, 1, 4, 4, generator=gen).round()
    y = torch.rand(n, 1, 6, 6, generator=gen).round()
    mask = torch.ones(n, 2)
    mask[:missing_y, 1] = 0
    y[:missing_y] = 0
    return x, y, mask


@pytest.mark.parametrize("kind", KINDS)
def test_losses_have_the_equation_terms_and_learn(kind):
    model = tiny(kind)
    out = model.loss(batch())
    expected = {"jmvae": {"distortion", "rate", "kl_x", "kl_y"},
                "mvae": {"distortion", "rate", "distortion_unimodal", "rate_unimodal"},
                "mmvae": {"distortion", "rate"}, "mopoe": {"distortion", "rate"}}[kind]
    assert set(out.terms) == expected
    assert all(torch.isfinite(v) for v in out.terms.values())
    before = [p.detach().clone() for p in model.parameters()]
    x, y, mask = batch(64)
    fit(model, BatchStream(x, y, mask, batch_size=16), steps=3, progress=False)
    assert any(not torch.equal(p, q) for p, q in zip(model.parameters(), before))


def test_missing_pairs_use_the_unimodal_bound():
    model = tiny("mmvae")
    x, y, mask = batch(6, missing_y=6)  # no y observed at all
    torch.manual_seed(0)
    out = model.loss((x, y, mask))
    torch.manual_seed(0)
    d, r = model._unimodal_nelbo(0, x)
    assert float(out.terms["distortion"].detach()) == pytest.approx(float(d.detach()) / 6, rel=1e-6)
    assert float(out.terms["rate"].detach()) == pytest.approx(float(r.detach()) / 6, rel=1e-6)
    # Changing the hidden y of those pairs changes nothing.
    torch.manual_seed(0)
    out2 = model.loss((x, torch.ones_like(y), mask))
    assert float(out2.total.detach()) == pytest.approx(float(out.total.detach()), rel=1e-6)


def test_mopoe_rate_upper_bounds_the_mixture_kl():
    # KL(mixture || p) <= average of the components' KLs (convexity), checked by Monte Carlo.
    from infobounds.bounds.gaussian import kl_diagonal_gaussians, log_normal_density
    mus = torch.tensor([[0.0, 1.0], [2.0, -1.0], [1.0, 0.0]]).unsqueeze(1)  # (3, 1, 2)
    logvars = torch.tensor([[0.0, -1.0], [-0.5, 0.0], [-1.0, -1.0]]).unsqueeze(1)
    avg_kl = float(kl_diagonal_gaussians(mus, logvars).mean())
    comp = torch.randint(0, 3, (200_000,), generator=torch.Generator().manual_seed(0))
    z = mus[comp, 0] + (0.5 * logvars[comp, 0]).exp() * torch.randn(200_000, 2)
    log_mix = log_normal_density(z.unsqueeze(0), mus, logvars).logsumexp(0) - math.log(3)
    mix_kl = float((log_mix - log_normal_density(z, torch.zeros(2), torch.zeros(2))).mean())
    assert mix_kl < avg_kl


def test_generation_shapes_and_mvae_posterior():
    model = tiny("mvae")
    x, y, _ = batch()
    assert model.cross_generate(x=x).shape == (12, 1, 6, 6)
    assert model.cross_generate(y=y).shape == (12, 1, 4, 4)
    gx, gy = model.sample(5)
    assert gx.shape == (5, 1, 4, 4) and gy.shape == (5, 1, 6, 6)
    # MVAE's unimodal posterior includes the prior expert: its variance is below both.
    mu, logvar = model.expert(0, x)
    pmu, plogvar = model.posterior(0, x)
    assert torch.all(plogvar < torch.minimum(logvar, torch.zeros_like(logvar)))


@pytest.mark.parametrize("bad", [dict(kind="poe"), dict(latent_dim=0), dict(beta=-1.0),
                                 dict(hidden=())])
def test_bad_config_raises(bad):
    with pytest.raises(ValueError):
        MultimodalConfig(**bad)
