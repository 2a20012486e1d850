"""FarconVAE: kernel losses at identical and disjoint posteriors, pairs, named terms, bad configs."""

import math

import pytest
import torch

from infobounds.data.iterators import BatchStream
from infobounds.models.farconvae import (AdversarialConfig, AdversarialRepresentation, FarconVAE, FarconVAEConfig,
                                         contrastive_pairs, distributional_contrastive, gaussian_kernel, kernel,
                                         student_t_kernel, symmetric_kl)
from infobounds.training.loop import fit

KINDS = ("t", "gaussian")


def small(**kw):
    return FarconVAE(FarconVAEConfig(input_dim=12, hidden=(16,), latent_dim=3, **kw))


def batch(n=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 12, generator=g)
    return x, torch.randint(0, 2, (n,), generator=g), torch.randint(0, 2, (n,), generator=g)


def test_symmetric_kl_closed_form():
    mu, lv = torch.randn(5, 4), torch.randn(5, 4)
    assert torch.allclose(symmetric_kl(mu, lv, mu, lv), torch.zeros(5), atol=1e-6)
    # equal unit variances: KL both ways is |dmu|^2 / 2, so D = |dmu|^2 / (2K)
    d = symmetric_kl(torch.zeros(1, 4), torch.zeros(1, 4), torch.full((1, 4), 2.0), torch.zeros(1, 4))
    assert float(d) == pytest.approx(4 * 4.0 / (2 * 4))


@pytest.mark.parametrize("kind", KINDS)
def test_kernel_is_one_at_identical_posteriors_and_vanishes_at_disjoint_ones(kind):
    mu, lv = torch.randn(8, 6), torch.randn(8, 6)
    same = kernel(symmetric_kl(mu, lv, mu, lv), kind)
    assert torch.allclose(same, torch.ones(8), atol=1e-6)  # KL = 0: the kernel's maximum
    far = kernel(symmetric_kl(mu, lv, mu + 1e3, lv), kind)
    assert float(far.max()) < 1e-4  # disjoint posteriors: KL huge, kernel -> 0
    d = torch.linspace(0, 50, 101)
    k = kernel(d, kind)
    assert bool((k[1:] < k[:-1]).all()) and bool((k > 0).all()) and bool((k <= 1).all())


def test_kernel_forms_and_tails():
    d = torch.tensor([0.0, 1.0, 3.0])
    assert torch.allclose(student_t_kernel(d), 1 / (1 + d))  # nu = 1: the reference implementation's form
    assert torch.allclose(gaussian_kernel(d), torch.exp(-d))
    assert torch.allclose(student_t_kernel(d, 3.0), (1 + d / 3) ** -2)
    # the t kernel's tail is heavier: at D = 10 it still pushes, the Gaussian has stopped
    assert float(student_t_kernel(torch.tensor(10.0))) > 1e3 * float(gaussian_kernel(torch.tensor(10.0)))


@pytest.mark.parametrize("kind", KINDS)
def test_contrastive_loss_limits(kind):
    mu, lv = torch.randn(4, 3), torch.zeros(4, 3)
    # collapsed: every posterior identical -> pull 0, push 1, separate 2 (the maximum of each kernel term)
    worst = distributional_contrastive((mu, lv), (mu, lv), (mu, lv), (mu, lv), kind=kind)
    assert torch.allclose(worst["pull"], torch.zeros(4), atol=1e-6)
    assert torch.allclose(worst["dc"], torch.full((4,), 3.0), atol=1e-6)
    # ideal: z_x of the pair equal, z_s far from each other and from z_x -> dc near 0, its minimum
    best = distributional_contrastive((mu, lv), (mu, lv), (mu + 1e3, lv), (mu - 1e3, lv), kind=kind)
    assert float(best["dc"].max()) < 1e-4
    with pytest.raises(ValueError):
        distributional_contrastive((mu, lv), (mu, lv), (mu[:, :2], lv[:, :2]), (mu[:, :2], lv[:, :2]), kind=kind)


def test_pairs_have_same_label_and_different_sensitive_value():
    y = torch.tensor([0, 0, 1, 1, 1, 2, 0])
    s = torch.tensor([0, 1, 0, 1, 1, 0, 0])
    i, j = contrastive_pairs(y, s, generator=torch.Generator().manual_seed(0))
    assert bool((y[i] == y[j]).all()) and bool((s[i] != s[j]).all())
    assert i.tolist() == [0, 1, 2, 3, 4, 6]  # example 5 (the only y = 2) has no partner
    y, s = torch.randint(0, 10, (256,)), torch.randint(0, 2, (256,))
    i, j = contrastive_pairs(y, s)
    assert bool((y[i] == y[j]).all()) and bool((s[i] != s[j]).all()) and i.numel() > 200
    with pytest.raises(ValueError):
        contrastive_pairs(y, s[:10])


def test_loss_terms_are_named_finite_and_weighted():
    model = small(alpha=2.0, beta=0.5, gamma=3.0)
    out = model.loss(batch())
    assert set(out.terms) == {"recon", "kl", "pred", "dc", "sr"}
    assert dict(out.weights) == {"kl": 0.5, "dc": 2.0, "sr": 3.0}
    assert all(math.isfinite(float(v.detach())) for v in out.terms.values())
    assert {"pull", "push", "separate", "accuracy", "pairs"} <= set(out.metrics)
    plain = small(alpha=0.0, gamma=0.0).loss(batch())
    assert set(plain.terms) == {"recon", "kl", "pred"}  # the supervised VAE baseline
    # a batch with no admissible pair keeps finite (zero) contrastive terms
    x, y, s = batch()
    none = model.loss((x, y, torch.zeros_like(s)))
    assert float(none.terms["dc"].detach()) == 0.0 and float(none.terms["sr"].detach()) == 0.0


def test_one_step_changes_weights_and_predictions_have_shape():
    x, y, s = batch(64)
    for model in (small(), AdversarialRepresentation(AdversarialConfig(input_dim=12, hidden=(16,), latent_dim=3,
                                                                         adversary_hidden=(8,)))):
        before = [p.detach().clone() for p in model.parameters()]
        fit(model, BatchStream(x, y, s, batch_size=32, seed=0), steps=2, seed=0, progress=False)
        assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
        assert model.predict(x, s).shape == (64,) and model.representation(x, s).shape == (64, 3)
    adv = AdversarialRepresentation(AdversarialConfig(input_dim=12, hidden=(16,), latent_dim=3))
    assert [p.name for p in adv.players()] == ["adversary", "main"]
    assert set(adv.main_loss(batch()).terms) == {"ce", "kl", "confusion"}
    assert float(adv.main_loss(batch()).terms["confusion"].detach()) < 0  # the negated CE of the adversary
    uniform = AdversarialRepresentation(AdversarialConfig(input_dim=12, hidden=(16,), latent_dim=3,
                                                          objective="confusion"))
    assert float(uniform.main_loss(batch()).terms["confusion"].detach()) >= -1e-6  # CE to uniform >= log |S|


@pytest.mark.parametrize("bad", [dict(alpha=-1.0), dict(beta=-0.1), dict(gamma=-1.0), dict(kernel="cauchy"),
                                 dict(kernel_scale=0.0), dict(latent_dim=0), dict(n_sensitive=1)])
def test_bad_hyperparameters_raise(bad):
    with pytest.raises(ValueError):
        FarconVAEConfig(**bad)


@pytest.mark.parametrize("bad", [dict(lam=-1.0), dict(adversary_steps=0),
                                 dict(objective="gradient_reversal")])
def test_bad_adversarial_config_raises(bad):
    with pytest.raises(ValueError):
        AdversarialConfig(**bad)


def test_kernel_functions_reject_bad_scale():
    with pytest.raises(ValueError):
        gaussian_kernel(torch.zeros(1), 0.0)
    with pytest.raises(ValueError):
        student_t_kernel(torch.zeros(1), -1.0)
    with pytest.raises(ValueError):
        kernel(torch.zeros(1), "laplace")
