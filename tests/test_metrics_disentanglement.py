"""Disentanglement metrics and MCC: known answers (identity ~1, a rotation clearly lower, noise at chance)."""

import numpy as np
import pytest
from scipy.stats import ortho_group

from infobounds.data.shapes import Shapes
from infobounds.metrics.disentanglement import (DiscreteFactors, all_scores, beta_vae_score, dci_scores,
                                                factor_vae_score, mig_score)
from infobounds.metrics.mcc import correlation_matrix, matching, mcc

SIZES = (3, 6, 10, 8, 8)  # five factors, as in the shapes
ROTATION = ortho_group.rvs(5, random_state=1)


NOISE = np.random.default_rng(123)


def noise(codes):
    # Independent of the factors: a fresh draw per call.
    return NOISE.standard_normal(codes.shape)


@pytest.fixture(scope="module")
def scores():
    identity = DiscreteFactors(SIZES)
    rotated = DiscreteFactors(SIZES, lambda f: f @ ROTATION)
    pure_noise = DiscreteFactors(SIZES, noise)
    return {name: all_scores(sampler, lambda x: x, n=200, seed=0)
            for name, sampler in [("identity", identity), ("rotation", rotated), ("noise", pure_noise)]}


@pytest.mark.parametrize("metric", ["beta_vae", "factor_vae", "mig", "dci"])
def test_identity_scores_close_to_one(scores, metric):
    assert scores["identity"][metric] >= 0.95


@pytest.mark.parametrize("metric,margin", [("beta_vae", 0.1), ("factor_vae", 0.2), ("mig", 0.5), ("dci", 0.5)])
def test_rotation_scores_clearly_lower(scores, metric, margin):
    assert scores["rotation"][metric] <= scores["identity"][metric] - margin
    # A rotation loses no information, only its alignment with the factors.
    assert scores["rotation"]["dci_informativeness"] >= 0.9


@pytest.mark.parametrize("metric,chance", [("beta_vae", 0.2), ("factor_vae", 0.2), ("mig", 0.0), ("dci", 0.0)])
def test_noise_scores_at_chance(scores, metric, chance):
    assert abs(scores["noise"][metric] - chance) <= 0.1
    assert scores["noise"]["dci_informativeness"] <= 0.05


def test_factor_vae_metric_sees_a_missing_factor_that_the_beta_vae_metric_forgives():
    # Kim & Mnih's argument: drop one factor from the representation. The beta-VAE metric's
    # classifier still tells the missing factor apart (the only one with no zero coordinate);
    # the majority vote has no latent to give it, so it loses that factor's share, 1/F.
    dropped = DiscreteFactors(SIZES, lambda f: f[:, :4])
    beta = beta_vae_score(dropped, lambda x: x, n_train=300, n_test=200)
    factor = factor_vae_score(dropped, lambda x: x, n_train=300, n_test=200)
    assert beta >= 0.95
    assert factor == pytest.approx(0.8, abs=0.06)


def test_dci_of_hand_made_importances():
    assert dci_scores(np.eye(3)) == {"disentanglement": 1.0, "completeness": 1.0}
    uniform = dci_scores(np.ones((3, 3)))
    assert uniform["disentanglement"] == pytest.approx(0.0) and uniform["completeness"] == pytest.approx(0.0)
    assert dci_scores(np.zeros((2, 2)))["disentanglement"] == 0.0


def test_mig_of_a_duplicated_latent_is_zero():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 5, (4000, 2))
    z = codes.astype(float)
    assert mig_score(z, codes) == pytest.approx(1.0, abs=0.01)
    assert mig_score(np.concatenate([z, z[:, :1]], 1), codes) == pytest.approx(0.5, abs=0.01)  # factor 0 twice


def test_metrics_run_on_shapes_images():
    spec = Shapes.make(16, orientation=2, pos_x=4, pos_y=4)
    pixels = lambda x: x.reshape(len(x), -1)[:, ::16]  # a crude "representation": a few pixels
    value = factor_vae_score(spec, pixels, n_train=20, n_test=10, batch_size=8, n_variance=200)
    assert 0.0 <= value <= 1.0


def test_mcc_known_answers():
    rng = np.random.default_rng(0)
    s = rng.standard_normal((5000, 4))
    assert mcc(s, s) == pytest.approx(1.0)
    # Permutation, scaling and sign flips are the ambiguities MCC forgives.
    z = -3.0 * s[:, [2, 0, 3, 1]] + 1.0
    assert mcc(z, s) == pytest.approx(1.0)
    latent, _ = matching(z, s)
    assert latent.tolist() == [1, 3, 0, 2]
    assert mcc(np.exp(s), s, method="spearman") == pytest.approx(1.0)  # monotone maps, by ranks
    # A rotation mixes the sources, independent noise is uncorrelated.
    assert mcc(s @ ortho_group.rvs(4, random_state=0), s) < 0.8
    assert mcc(rng.standard_normal((5000, 4)), s) < 0.05
    assert correlation_matrix(np.zeros((10, 1)), s[:10]).max() == 0.0  # a constant latent


def test_bad_inputs_raise():
    with pytest.raises(ValueError):
        mcc(np.zeros((5, 2)), np.zeros((4, 2)))
    with pytest.raises(ValueError):
        mcc(np.zeros((5, 2)), np.zeros((5, 2)), method="kendall")
    with pytest.raises(ValueError):
        beta_vae_score(DiscreteFactors(SIZES), lambda x: x, n_train=0)
