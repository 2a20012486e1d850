"""Metrics of chapters 08-10: Hungarian-matched accuracy, the Fréchet distance, linear probes."""

import numpy as np
import pytest
import torch

from infobounds.core import OptimizerConfig
from infobounds.estimators.frechet_classifier import feature_classifier
from infobounds.metrics.clustering import best_matching, contingency_table, matched_accuracy
from infobounds.metrics.frechet import (
    FeatureClassifierConfig,
    classifier_features,
    classifier_frechet_distance,
    feature_statistics,
    frechet_distance,
    frechet_distance_gaussians,
)
from infobounds.metrics.probes import linear_probe


# -- Hungarian matching -------------------------------------------------------------------------------

def test_matched_accuracy_of_a_permuted_labelling_is_one():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, size=500)
    perm = rng.permutation(10)
    assert matched_accuracy(y, perm[y]) == 1.0
    assert best_matching(y, perm[y]) == {int(perm[k]): k for k in range(10)}
    assert matched_accuracy(torch.as_tensor(y), torch.as_tensor(perm[y])) == 1.0


def test_matched_accuracy_known_case_and_merged_clusters():
    y_true = [0, 0, 0, 1, 1, 2]
    y_pred = [1, 1, 0, 0, 0, 0]  # code 1 -> class 0 (2 right), code 0 -> class 1 (2 right)
    assert contingency_table(y_true, y_pred).tolist() == [[1, 2, 1], [2, 0, 0]]
    assert matched_accuracy(y_true, y_pred) == pytest.approx(4 / 6)
    # A constant labelling can only be matched to one class.
    assert matched_accuracy([0, 1, 2, 3], [5, 5, 5, 5]) == pytest.approx(0.25)


def test_matched_accuracy_rejects_bad_labels():
    with pytest.raises(ValueError):
        matched_accuracy([0, 1], [0])
    with pytest.raises(ValueError):
        matched_accuracy([0, -1], [0, 1])
    with pytest.raises(ValueError):
        matched_accuracy([0.5, 1.0], [0, 1])


# -- Fréchet distance ---------------------------------------------------------------------------------

def test_frechet_distance_of_commuting_gaussians_has_its_closed_form():
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    var1, var2 = np.array([1.0, 4.0, 0.25]), np.array([2.0, 1.0, 0.25])
    # For diagonal covariances: |mu1 - mu2|^2 + sum (sqrt(a) - sqrt(b))^2.
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(var1) - np.sqrt(var2)) ** 2)
    assert frechet_distance_gaussians(mu1, np.diag(var1), mu2, np.diag(var2)) == pytest.approx(expected, rel=1e-10)
    cov = np.array([[2.0, 0.5], [0.5, 1.0]])
    assert frechet_distance_gaussians(np.zeros(2), cov, np.zeros(2), cov) == pytest.approx(0.0, abs=1e-10)


def test_frechet_distance_of_a_rotated_covariance():
    # Non-commuting case: N(0, diag(4, 1)) vs N(0, R diag(4, 1) R^T), checked against scipy's sqrtm.
    from scipy.linalg import sqrtm

    c1 = np.diag([4.0, 1.0])
    angle = 0.7
    r = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    c2 = r @ c1 @ r.T
    s1 = sqrtm(c1)
    expected = np.trace(c1 + c2 - 2 * np.real(sqrtm(s1 @ c2 @ s1)))
    assert frechet_distance_gaussians(np.zeros(2), c1, np.zeros(2), c2) == pytest.approx(expected, rel=1e-8)


def test_sample_frechet_distance_approaches_the_closed_form():
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(20000, 4, generator=gen)
    b = 2.0 * torch.randn(20000, 4, generator=gen) + 1.0
    # N(0, I) vs N(1, 4 I) in 4-d: 4 * 1 + 4 * (2 - 1)^2 = 8.
    assert frechet_distance(a, b) == pytest.approx(8.0, rel=0.05)
    mu, cov = feature_statistics(a)
    assert mu.shape == (4,) and cov.shape == (4, 4)
    with pytest.raises(ValueError):
        feature_statistics(torch.randn(1, 4))


def test_feature_classifier_is_trained_once_then_loaded_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("INFOBOUNDS_CACHE", str(tmp_path))
    config = FeatureClassifierConfig(data="digits", hidden=(32, 16), epochs=10, batch_size=64,
                                     optim=OptimizerConfig(lr=3e-3))
    model = feature_classifier(config)
    files = list((tmp_path / "frechet").glob("*.pt"))
    assert len(files) == 1 and files[0].name == config.cache_name()
    from infobounds.data import load

    test = load("digits", "test")
    assert model.accuracy(test.flat, test.y) > 0.8
    cached = feature_classifier(config)
    assert torch.allclose(classifier_features(model, test.x), classifier_features(cached, test.x))
    # Real images against themselves: distance 0; against noise: large.
    assert classifier_frechet_distance(test.x, test.x, cached) == pytest.approx(0.0, abs=1e-6)
    assert classifier_frechet_distance(test.x, torch.rand_like(test.x), cached) > 1.0


# -- linear probes ------------------------------------------------------------------------------------

def test_linear_probe_reads_a_linear_label_and_not_noise():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(600, 5, generator=gen)
    y = (x[:, 0] + x[:, 1] > 0).long()
    assert linear_probe(x[:400], y[:400], x[400:], y[400:]) > 0.95
    noise = torch.randn(600, 5, generator=gen)
    assert linear_probe(noise[:400], y[:400], noise[400:], y[400:]) < 0.7
    with pytest.raises(ValueError):
        linear_probe(x[:400], y[:400], x[400:, :3], y[400:])
