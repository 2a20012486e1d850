"""CTRL: named, finite loss terms; players and schedule; one step moves each player; bad configs raise."""

import pytest
import torch

from infobounds.core import OptimizerConfig
from infobounds.data import BatchStream
from infobounds.data.subspaces import subspace_bases, subspace_mixture
from infobounds.models.ctrl import CTRL, CTRLConfig, abs_cosine_similarity, within_between_cosine
from infobounds.training import fit


def small_config(**kw):
    return CTRLConfig(**{**dict(data_shape=(12,), n_classes=3, feature_dim=6, hidden=(16,), pca_components=0), **kw})


def batch(n=24, d=12, k=3, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=gen), torch.arange(n) % k


def test_loss_terms_are_named_finite_and_weighted_as_the_game():
    torch.manual_seed(0)
    model = CTRL(small_config(gammas=(1.0, 0.5, 2.0), decoder_objective="full"))
    enc = model.encoder_loss(batch())
    assert set(enc.terms) == {"delta_r_z", "delta_r_z_hat", "transcription"}
    assert dict(enc.weights) == {"delta_r_z": -1.0, "delta_r_z_hat": -0.5, "transcription": -2.0}
    assert all(torch.isfinite(v) for v in enc.terms.values())
    assert float(enc.terms["transcription"].detach()) >= -1e-5  # a sum of pairwise rate reductions
    assert float(enc.metrics["utility"]) == pytest.approx(-float(enc.total.detach()), rel=1e-6)
    dec = model.decoder_loss(batch())
    assert set(dec.terms) == {"delta_r_z_hat", "transcription"}
    assert dict(dec.weights) == {"delta_r_z_hat": 0.5, "transcription": 2.0}
    assert {"delta_r_z", "x_mse"} <= set(dec.metrics)
    only = CTRL(small_config(decoder_objective="transcription")).decoder_loss(batch())
    assert set(only.terms) == {"transcription"}


def test_features_lie_on_the_unit_sphere_and_shapes_round_trip():
    model = CTRL(small_config())
    x, _ = batch()
    z = model.encode(x)
    assert z.shape == (24, 6)
    assert torch.allclose(z.norm(dim=1), torch.ones(24), atol=1e-5)
    assert model.decode(z).shape == x.shape
    xi = torch.rand(50, 1, 8, 8)
    image_model = CTRL(CTRLConfig(data_shape=(1, 8, 8), n_classes=2, feature_dim=4, hidden=(8,), pca_components=5))
    with pytest.raises(RuntimeError, match="set_principal_basis"):
        image_model.reconstruct(xi)
    x_hat = image_model.set_principal_basis(xi).reconstruct(xi)
    assert x_hat.shape == xi.shape
    # Reconstructions lie in the affine span of the top five principal directions of the data.
    flat = xi.reshape(50, -1)
    _, _, vh = torch.linalg.svd(flat - flat.mean(0), full_matrices=False)
    residual = (x_hat.reshape(50, -1) - flat.mean(0)) @ (torch.eye(64) - vh[:5].T @ vh[:5])
    assert residual.abs().max() < 1e-4
    conv = CTRL(CTRLConfig.paper(data_shape=(1, 8, 8), n_classes=2, feature_dim=4, channels=(4, 8)))
    assert conv.reconstruct(xi).shape == xi.shape


def test_players_schedule_and_one_step_moves_both_players():
    torch.manual_seed(0)
    model = CTRL(small_config(encoder_steps=2))
    assert [p.name for p in model.players()] == ["encoder", "decoder"]
    assert [(u.player, u.repeats) for u in model.schedule()] == [("encoder", 2), ("decoder", 1)]
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x, y = batch(n=48)
    result = fit(model, BatchStream(x, y, batch_size=24, seed=0), steps=1, seed=0, progress=False)
    moved = {k.split(".")[0] for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    assert {"encoder_body", "encoder_head", "decoder"} <= moved
    assert {"encoder/delta_r_z", "encoder/transcription", "decoder/transcription"} <= set(result.history.keys())


def test_a_short_game_separates_overlapping_subspaces():
    data = subspace_mixture(150, n_classes=3, ambient_dim=16, subspace_dim=2, overlap=0.8, seed=0)
    within_in, between_in = within_between_cosine(data.x, data.y)
    torch.manual_seed(0)
    model = CTRL(CTRLConfig(data_shape=(16,), n_classes=3, feature_dim=8, hidden=(32,), pca_components=0,
                            encoder_optim=OptimizerConfig(lr=1e-3, betas=(0.5, 0.999)),
                            decoder_optim=OptimizerConfig(lr=1e-3, betas=(0.5, 0.999))))
    fit(model, BatchStream(data.x, data.y, batch_size=150, seed=0), steps=60, seed=0, progress=False)
    within, between = within_between_cosine(model.features(data.x), data.y)
    assert within - between > (within_in - between_in) + 0.05


def test_subspace_mixture_has_the_requested_principal_angles():
    bases = subspace_bases(3, 20, 4, 0.6, torch.Generator().manual_seed(0))
    assert torch.allclose(bases[0].T @ bases[0], torch.eye(4), atol=1e-5)
    assert torch.allclose(bases[0].T @ bases[2], 0.6 * torch.eye(4), atol=1e-5)
    with pytest.raises(ValueError):
        subspace_bases(5, 20, 4, 0.5)  # (k + 1) r > D
    with pytest.raises(ValueError):
        subspace_bases(2, 20, 4, 1.0)


def test_cosine_helpers():
    z = torch.tensor([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0], [0.0, -3.0]])
    y = torch.tensor([0, 0, 1, 1])
    assert torch.allclose(abs_cosine_similarity(z), torch.tensor(
        [[1.0, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1], [0, 0, 1, 1]]))
    assert within_between_cosine(z, y) == pytest.approx((1.0, 0.0))


@pytest.mark.parametrize("bad", [
    dict(eps=0.0), dict(eps=float("inf")), dict(gammas=(1.0, -1.0, 1.0)), dict(gammas=(1.0, 1.0)),
    dict(n_classes=1), dict(feature_dim=1), dict(encoder_steps=0), dict(decoder_steps=0), dict(body="resnet"),
    dict(decoder_objective="pixels"), dict(output="tanh"), dict(data_shape=(0,)),
    dict(body="dcgan", data_shape=(1, 10, 10)), dict(pca_components=-1), dict(pca_components=13),
    dict(pca_components=4, output="sigmoid"),
])
def test_bad_hyper_parameters_raise(bad):
    with pytest.raises(ValueError):
        small_config(**bad)


def test_bad_batches_raise():
    model = CTRL(small_config())
    x, y = batch()
    with pytest.raises(ValueError, match="labels"):
        model.encoder_loss((x, y.float()))
    with pytest.raises(ValueError, match="shape"):
        model.encode(torch.randn(4, 11))
    with pytest.raises(ValueError):
        model.encoder_loss((x, torch.full((24,), 5)))  # label out of range for n_classes=3
