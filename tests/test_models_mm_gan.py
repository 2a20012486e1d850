"""Multimodal GAN: the factorisation identity on Gaussians, heads and players, missing modalities."""

import numpy as np
import pytest
import torch
from torch.distributions import MultivariateNormal

from infobounds.data.iterators import BatchStream
from infobounds.data import paired
from infobounds.data.paired import two_modality_mixture
from infobounds.data.toy2d import nearest_component, ring_means
from infobounds.models.mm_gan import HEADS, MMGANConfig, MultimodalGAN
from infobounds.training import fit


def _gauss(cov):
    return MultivariateNormal(torch.zeros(len(cov), dtype=torch.float64), torch.tensor(cov, dtype=torch.float64))


@pytest.mark.parametrize("rho,a,b,c", [(0.6, 0.8, 0.7, 0.5), (-0.3, 1.2, 0.2, 0.9)])
def test_factorisation_of_the_joint_log_ratio(rho, a, b, c):
    # Q_x: (x, y) correlated, z = a x + noise (Z - X - Y); P: x = b z + n, y = c z + n' (X - Z - Y).
    Q = _gauss([[1, rho, a], [rho, 1, a * rho], [a, a * rho, a * a + 0.3]])
    P = _gauss([[b * b + 0.4, b * c, b], [b * c, c * c + 0.4, c], [b, c, 1.0]])
    v = torch.randn(500, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 1.5

    def lp(dist, idx):
        cov = dist.covariance_matrix[np.ix_(idx, idx)]
        return _gauss(cov.tolist()).log_prob(v[:, idx])

    lhs = Q.log_prob(v) - P.log_prob(v)
    rhs = (lp(Q, [0, 2]) - lp(P, [0, 2])) + (lp(Q, [1]) - lp(P, [1])) \
        + (lp(Q, [0, 1]) - lp(Q, [0]) - lp(Q, [1])) - (lp(P, [1, 2]) - lp(P, [1]) - lp(P, [2]))
    assert float((lhs - rhs).abs().max()) < 1e-9


def test_losses_players_and_missing_modalities():
    model = MultimodalGAN(MMGANConfig(hidden=(16,), disc_hidden=(16,), cycle_weight=1.0))
    x, y, _ = two_modality_mixture(64, seed=0)
    mask = torch.ones(64, 2)
    mask[:10, 1] = 0
    mask[10:20, 0] = 0
    disc = model.disc_loss((x, y, mask))
    assert set(disc.terms) == set(HEADS)
    out = model.loss((x, y, mask))
    assert set(out.terms) == {"match_x", "match_y", "unpaired", "cycle_x", "cycle_y"}
    complete = model.loss((x, y))
    assert "unpaired" not in complete.terms
    names = [p.name for p in model.players()]
    assert names == ["disc", "main"]
    disc_ids = {id(p) for p in model.players()[0].parameters}
    main_ids = {id(p) for p in model.players()[1].parameters}
    assert not disc_ids & main_ids and len(disc_ids | main_ids) == len(list(model.parameters()))
    # The contrastive head is trained on complete pairs only: hidden y's of incomplete pairs do not matter.
    torch.manual_seed(0)
    a = model.disc_loss((x, y, mask)).terms["xy"]
    y2 = y.clone()
    y2[:10] = 99.0
    torch.manual_seed(0)
    b = model.disc_loss((x, y2, mask)).terms["xy"]
    assert float(a.detach()) == pytest.approx(float(b.detach()))


@pytest.mark.parametrize("shape", [None, (1, 4, 4)])
def test_batch_without_a_complete_pair_trains_every_head_but_the_pairs(shape):
    # Only unimodal examples (half x, half y): the ALI and marginal heads still learn, the contrastive
    # head has no term, and the generators' loss is finite. (On the old code the empty selection of
    # complete pairs failed to reshape: 'cannot reshape tensor of 0 elements'.)
    if shape is None:
        model = MultimodalGAN(MMGANConfig(hidden=(16,), disc_hidden=(16,), cycle_weight=1.0))
        x, y, _ = two_modality_mixture(32, seed=0)
    else:
        model = MultimodalGAN(MMGANConfig(x_shape=shape, y_shape=shape, hidden=(8,), disc_hidden=(8,),
                                          output="sigmoid"))
        x, y = torch.rand(32, *shape), torch.rand(32, *shape)
    mask = torch.ones(32, 2)
    mask[:16, 1], mask[16:, 0] = 0, 0
    disc = model.disc_loss((x, y, mask))
    assert set(disc.terms) == set(HEADS) - {"xy"}
    out = model.loss((x, y, mask))
    assert all(torch.isfinite(v.detach()) for v in out.terms.values()) and float(out.terms["unpaired"].detach()) > 0
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    fit(model, BatchStream(x, y, mask, batch_size=32), steps=2, progress=False)
    moved = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert not any(n.startswith("heads.xy.") for n in moved)
    assert any(n.startswith("generators.") for n in moved) and any(n.startswith("heads.xz.") for n in moved)


def test_fit_moves_both_players_and_generation():
    model = MultimodalGAN(MMGANConfig(hidden=(16,), disc_hidden=(16,)))
    x, y, _ = two_modality_mixture(256, seed=0)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    fit(model, BatchStream(x, y, batch_size=32), steps=2, progress=False)
    changed = {n.split(".")[0] for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert {"heads", "generators", "encoders"} <= changed
    gx, gy = model.sample(5)
    assert gx.shape == (5, 2) and gy.shape == (5, 2)
    assert model.cross_generate(x=x[:3]).shape == (3, 2)
    img = MultimodalGAN(MMGANConfig(x_shape=(1, 4, 4), y_shape=(1, 6, 6), output="sigmoid", hidden=(8,),
                                    disc_hidden=(8,)))
    gx, gy = img.sample(3)
    assert gx.shape == (3, 1, 4, 4) and gy.shape == (3, 1, 6, 6) and float(gy.min()) >= 0


def test_two_modality_mixture_shares_only_the_component():
    x, y, c = two_modality_mixture(4000, k=8, std=0.1, seed=3)
    mx, my = ring_means(8, 2.0), ring_means(8, 1.0, rotation=0.5).flip(0)
    # Nearest means recover the component (up to the rare draw beyond half the spacing, 3.8 std away).
    assert float((nearest_component(x, mx) == c).float().mean()) > 0.999
    assert float((nearest_component(y, my) == c).float().mean()) > 0.99
    # Given the component, x and y are independent: their within-component correlation is near 0.
    rx, ry = x - mx[c], y - my[c]
    assert abs(float(torch.corrcoef(torch.stack([rx[:, 0], ry[:, 0]]))[0, 1])) < 0.05
    with pytest.raises(ValueError):
        two_modality_mixture(10, k=1)


@pytest.mark.parametrize("bad", [dict(output="tanh"), dict(latent_dim=0), dict(disc_steps=0),
                                 dict(cycle_weight=-1.0), dict(hidden=())])
def test_bad_config_raises(bad):
    with pytest.raises(ValueError):
        MMGANConfig(**bad)


def test_chapter_names_are_the_toy2d_functions():
    """Chapter 20 imports mixture_means and nearest_component from data.paired: one implementation each."""
    assert paired.mixture_means is ring_means
    assert paired.nearest_component is nearest_component
    points = torch.tensor([[2.1, 0.0], [0.0, -0.9]])
    distance, index = nearest_component(points, ring_means(4, 1.0), with_distance=True)
    assert index.tolist() == [0, 3] and torch.allclose(distance, torch.tensor([1.1, 0.1]))
