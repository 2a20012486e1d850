"""St-RKM: loss terms, the projection term is the PCA error, training keeps U on the Stiefel manifold."""

import pytest
import torch

from infobounds.data import BatchStream
from infobounds.models.st_rkm import StRKM, StRKMConfig
from infobounds.optim import CayleyAdam
from infobounds.training import fit


def small_strkm(**kw):
    return StRKM(StRKMConfig(input_shape=(1, 8, 8), hidden=(32,), feature_dim=12, latent_dim=3, **kw))


@pytest.mark.parametrize("objective,terms", [("deterministic", {"projection", "reconstruction"}),
                                             ("noisy", {"projection", "reconstruction"}),
                                             ("splitloss", {"projection", "reconstruction", "noise_sensitivity"})])
def test_strkm_loss_terms(objective, terms):
    model = small_strkm(objective=objective)
    out = model.loss((torch.rand(16, 1, 8, 8),))
    assert set(out.terms) == terms
    assert float(out.metrics["orthogonality_error"]) < 1e-5


def test_strkm_projection_term_is_the_pca_error():
    # With U fixed to the top principal directions of the centred features the projection term is
    # the sum of the remaining eigenvalues of the feature covariance (Eckart-Young).
    torch.manual_seed(0)
    model = small_strkm(objective="deterministic")
    x = torch.rand(200, 1, 8, 8)
    with torch.no_grad():
        phi = model.features(x)
        phi_c = phi - phi.mean(0)
        evals, evecs = torch.linalg.eigh(phi_c.T @ phi_c / len(x))
        model.U.copy_(evecs[:, -3:])
        out = model.loss((x,))
    assert float(out.terms["projection"]) == pytest.approx(float(evals[:-3].sum()), rel=1e-4)


def test_strkm_trains_with_cayley_adam_and_keeps_u_orthonormal():
    torch.manual_seed(0)
    model = small_strkm()
    (player,) = model.players()
    assert isinstance(player.optimizer(list(model.parameters()), player.optim), CayleyAdam)
    x = torch.rand(256, 1, 8, 8)
    u0 = model.U.detach().clone()
    result = fit(model, BatchStream(x, batch_size=32), steps=150, progress=False)
    assert not torch.equal(u0, model.U)
    assert CayleyAdam.orthogonality_error(model.U) < 1e-5
    recon = result.history["main/reconstruction"]
    assert recon[-10:].mean() < recon[:10].mean()
    assert model.encode(x).shape == (256, 3) and model.decode(torch.zeros(2, 3)).shape == (2, 1, 8, 8)


@pytest.mark.parametrize("bad", [dict(objective="vae"), dict(latent_dim=20), dict(noise_std=-1.0)])
def test_bad_strkm_config_raises(bad):
    with pytest.raises(ValueError):
        StRKMConfig(feature_dim=12, **{"latent_dim": 3, **bad})
