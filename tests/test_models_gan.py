"""GANs: the optimal discriminator, the gradient penalty, the Dirac-GAN, loss terms and one step."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from infobounds.core import OptimizerConfig
from infobounds.data.toy2d import MixtureStream, ring_means, sample_mixture
from infobounds.metrics.modes import mode_coverage
from infobounds.models.gan import (
    GAN,
    GANConfig,
    dirac_gan_field,
    dirac_gan_jacobian,
    dirac_gan_trajectory,
    gradient_penalty,
    optimal_discriminator,
)
from infobounds.training import fit


def normal_pdf(x, mean, std):
    return torch.exp(-0.5 * ((x - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))


def test_trained_discriminator_matches_the_optimal_discriminator_on_1d_gaussians():
    # Data N(0, 1); a fixed generator G(z) = 1 + 0.5 z, so Q_G = N(1, 0.25). Only the critic learns.
    torch.manual_seed(0)
    generator = nn.Linear(1, 1)
    with torch.no_grad():
        generator.weight.fill_(0.5)
        generator.bias.fill_(1.0)
    config = GANConfig(loss="minimax", data_shape=(1,), latent_dim=1, hidden=(32, 32),
                       critic_optim=OptimizerConfig(lr=3e-3, betas=(0.9, 0.999)), train_generator=False)
    model = GAN(config, generator=generator)
    assert [p.name for p in model.players()] == ["critic"]
    stream = MixtureStream([[0.0]], std=1.0, batch_size=512, seed=0)
    result = fit(model, stream, steps=600, seed=0, progress=False)
    x = torch.linspace(-1.5, 2.0, 71)[:, None]
    d_star = optimal_discriminator(normal_pdf(x, 0.0, 1.0), normal_pdf(x, 1.0, 0.5)).reshape(-1)
    d_trained = model.discriminator(x)
    assert torch.max(torch.abs(d_trained - d_star)) < 0.06
    # The value V(D, G) at a near-optimal D approaches 2 JSD - log 4 from below: it lies in [-log 4, 0].
    value = result.history["critic/value"][-100:].mean()
    assert -math.log(4) < value < 0


def test_gradient_penalty_is_zero_for_a_unit_slope_linear_critic():
    torch.manual_seed(0)
    critic = nn.Linear(3, 1)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[0.6, 0.0, -0.8]]))  # |w| = 1: 1-Lipschitz with unit slope
    real, fake = torch.randn(64, 3), torch.randn(64, 3) + 2.0
    assert float(gradient_penalty(critic, real, fake).detach()) == pytest.approx(0.0, abs=1e-10)
    with torch.no_grad():
        critic.weight.mul_(2.0)  # slope 2: (2 - 1)^2 = 1 everywhere
    assert float(gradient_penalty(critic, real, fake).detach()) == pytest.approx(1.0, abs=1e-6)


def test_gradient_penalty_rejects_mismatched_batches():
    with pytest.raises(ValueError, match="same shape"):
        gradient_penalty(nn.Linear(2, 1), torch.randn(4, 2), torch.randn(5, 2))


def test_gradient_penalty_on_images_uses_the_norm_over_all_pixels():
    critic = nn.Sequential(nn.Flatten(), nn.Linear(4, 1, bias=False))
    with torch.no_grad():
        critic[1].weight.fill_(0.5)  # gradient (0.5, 0.5, 0.5, 0.5) has norm 1
    x = torch.rand(8, 1, 2, 2)
    assert float(gradient_penalty(critic, x, torch.rand(8, 1, 2, 2)).detach()) == pytest.approx(0.0, abs=1e-10)


def test_value_is_minus_log_4_for_an_undecided_discriminator():
    model = GAN(GANConfig(loss="nonsaturating"))
    with torch.no_grad():
        for p in model.critic.parameters():
            p.zero_()
    out = model.critic_loss((torch.randn(16, 2),))
    assert float(out.metrics["value"]) == pytest.approx(-math.log(4), abs=1e-6)
    assert float(out.metrics["jsd_estimate"]) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("loss,critic_terms,generator_terms", [
    ("minimax", {"real", "fake"}, {"log_one_minus_d_fake"}),
    ("nonsaturating", {"real", "fake"}, {"neg_log_d_fake"}),
    ("wgan-gp", {"wasserstein", "gradient_penalty"}, {"critic_fake"}),
])
def test_loss_terms_and_one_step_changes_both_players(loss, critic_terms, generator_terms):
    torch.manual_seed(0)
    model = GAN(GANConfig(loss=loss, hidden=(16,), critic_steps=2))
    batch = (torch.randn(8, 2),)
    assert set(model.critic_loss(batch).terms) == critic_terms
    assert set(model.generator_loss(batch).terms) == generator_terms
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    result = fit(model, MixtureStream(ring_means(), 0.05, 32, seed=0), steps=1, progress=False)
    changed = {n.split(".")[0] for n, p in model.named_parameters() if not torch.equal(before[n], p)}
    assert changed == {"critic", "generator"}
    assert f"critic/{next(iter(critic_terms))}" in result.history.keys()


def test_dcgan_body_shapes_and_spectral_norm():
    torch.manual_seed(0)
    model = GAN(GANConfig.dcgan(channels=(8, 16), latent_dim=10, spectral_norm=True))
    x = model.sample(4)
    assert x.shape == (4, 1, 28, 28) and float(x.min()) >= 0 and float(x.max()) <= 1
    assert model.score(torch.rand(4, 1, 28, 28)).shape == (4,)
    model.train()
    for _ in range(30):  # power iterations converge in training mode
        model.score(torch.rand(4, 1, 28, 28))
    linear = model.critic[1]
    assert float(torch.linalg.matrix_norm(linear.weight.detach(), ord=2)) == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize("bad", [dict(loss="hinge"), dict(body="resnet"), dict(critic_steps=0),
                                 dict(gp_weight=-1.0), dict(output="tanh"),
                                 dict(body="dcgan", data_shape=(1, 30, 30))])
def test_bad_config_raises(bad):
    with pytest.raises(ValueError):
        GANConfig(**bad)


def test_dirac_gan_without_regularisation_never_approaches_the_equilibrium():
    w = dirac_gan_trajectory(1.0, 1.0, lr=0.1, steps=500, loss="gan")
    norms = np.linalg.norm(w, axis=1)
    assert np.all(np.diff(norms) >= -1e-12)  # the norm never decreases
    assert norms[-1] > norms[0]
    eig = np.linalg.eigvals(dirac_gan_jacobian(loss="gan"))
    assert np.allclose(eig.real, 0) and np.allclose(sorted(np.abs(eig.imag)), [0.5, 0.5])
    assert np.max(np.abs(np.linalg.eigvals(np.eye(2) + 0.1 * dirac_gan_jacobian(loss="gan")))) > 1


def test_dirac_gan_with_r1_penalty_converges_and_jacobian_matches_finite_differences():
    w = dirac_gan_trajectory(1.0, 1.0, lr=0.1, steps=2000, loss="gan", gamma=0.3)
    assert np.linalg.norm(w[-1]) < 1e-3
    for loss, gamma in [("gan", 0.0), ("gan", 0.3), ("wgan", 0.0)]:
        h = 1e-6
        numeric = np.stack([(dirac_gan_field(*(h * e), loss=loss, gamma=gamma)
                             - dirac_gan_field(*(-h * e), loss=loss, gamma=gamma)) / (2 * h)
                            for e in np.eye(2)], axis=1)
        assert np.allclose(numeric, dirac_gan_jacobian(loss=loss, gamma=gamma), atol=1e-6)
    assert np.all(np.linalg.eigvals(dirac_gan_jacobian(loss="gan", gamma=0.3)).real < 0)


def test_mixture_stream_resumes_and_mode_coverage_known_answers():
    means = ring_means(8, 2.0)
    stream = MixtureStream(means, 0.02, 16, seed=3)
    next(stream)
    state = stream.state_dict()
    a = next(stream)[0]
    stream.load_state_dict(state)
    assert torch.equal(a, next(stream)[0])
    x, _ = sample_mixture(4000, means, 0.02, torch.Generator().manual_seed(0))
    cov = mode_coverage(x, means, 0.02)
    assert cov.modes_covered == 8 and cov.high_quality > 0.98
    collapsed = means[:1].repeat(500, 1)
    cov = mode_coverage(collapsed, means, 0.02)
    assert cov.modes_covered == 1 and cov.high_quality == 1.0
    assert mode_coverage(torch.zeros(100, 2), means, 0.02).high_quality == 0.0
