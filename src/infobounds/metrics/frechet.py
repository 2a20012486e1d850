r"""A Fréchet distance in the feature space of an in-book classifier (chapter ``gans``).

The Fréchet (2-Wasserstein) distance between two Gaussians (Dowson & Landau, 1982) is

.. math::

    d^2\big(\mathcal N(\mu_1, \Sigma_1), \mathcal N(\mu_2, \Sigma_2)\big)
      = \lVert \mu_1 - \mu_2 \rVert^2
      + \operatorname{tr}\big(\Sigma_1 + \Sigma_2 - 2 (\Sigma_1^{1/2} \Sigma_2 \Sigma_1^{1/2})^{1/2}\big).

The FID of Heusel et al. (2017) evaluates it between Gaussians fitted to the Inception-v3 pool
features of real and generated images. This module fits them instead to the penultimate-layer
features of a small classifier (:class:`FeatureClassifier`) that the package trains on Fashion-MNIST
once and caches (:func:`infobounds.estimators.frechet_classifier.feature_classifier`): offline, on
28x28 grey images, with no ImageNet network. Its values are therefore **not** FIDs and cannot be
compared with published ones; what it still measures is the distance between the first two moments
of real and generated images in a space where the classes of the data are separated, so it falls
when samples look more like the data and when they spread over as many kinds of garment as the data
do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from infobounds.core import LossTerms, OptimizerConfig, Player, Trainable
from infobounds.nets import mlp
from infobounds.validation import require_non_empty, require_non_negative, require_positive

CLASSIFIER_VERSION = 1  # bump when the architecture or its training changes: invalidates caches


def frechet_distance_gaussians(mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray) -> float:
    r"""Squared Fréchet distance between :math:`\mathcal N(\mu_1, \Sigma_1)` and :math:`\mathcal N(\mu_2, \Sigma_2)`.

    The matrix square roots are taken by symmetric eigendecompositions in float64, with negative
    eigenvalues (round-off) clipped to zero; the result is clipped at zero too.
    """
    mu1, mu2 = np.asarray(mu1, np.float64).ravel(), np.asarray(mu2, np.float64).ravel()
    cov1, cov2 = np.atleast_2d(np.asarray(cov1, np.float64)), np.atleast_2d(np.asarray(cov2, np.float64))
    d = mu1.shape[0]
    if mu2.shape != (d,) or cov1.shape != (d, d) or cov2.shape != (d, d):
        raise ValueError(f"shapes disagree: mu1 {mu1.shape}, mu2 {mu2.shape}, cov1 {cov1.shape}, cov2 {cov2.shape}")
    w1, v1 = np.linalg.eigh((cov1 + cov1.T) / 2)
    sqrt1 = (v1 * np.sqrt(np.clip(w1, 0, None))) @ v1.T  # Sigma_1^{1/2}
    middle = sqrt1 @ cov2 @ sqrt1  # Sigma_1^{1/2} Sigma_2 Sigma_1^{1/2}, symmetric PSD
    trace_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    value = np.sum((mu1 - mu2) ** 2) + np.trace(cov1) + np.trace(cov2) - 2.0 * trace_sqrt
    return float(max(value, 0.0))


def feature_statistics(features: torch.Tensor | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (d,) and unbiased covariance (d, d) of (n, d) features, in float64."""
    f = np.asarray(features.detach().cpu() if isinstance(features, torch.Tensor) else features, np.float64)
    if f.ndim != 2 or f.shape[0] < 2:
        raise ValueError(f"features must be an (n, d) matrix with n >= 2, got shape {f.shape}")
    return f.mean(0), np.cov(f, rowvar=False).reshape(f.shape[1], f.shape[1])


def frechet_distance(features_a, features_b) -> float:
    """Squared Fréchet distance between Gaussians fitted to two (n, d) sets of features."""
    return frechet_distance_gaussians(*feature_statistics(features_a), *feature_statistics(features_b))


@dataclass(frozen=True)
class FeatureClassifierConfig:
    """The classifier whose features the Fréchet distance uses (trained once, then cached)."""

    data: str = "fashion_mnist"  # data set it is trained on (infobounds.data.load)
    hidden: tuple[int, ...] = (256, 128)  # MLP widths; the features are the last hidden layer's
    epochs: int = 3  # passes over the training set
    batch_size: int = 128
    optim: OptimizerConfig = OptimizerConfig()  # Adam
    n_train: int | None = None  # training subset (None: all 60,000 images)
    seed: int = 0

    def __post_init__(self) -> None:
        require_non_empty(hidden=self.hidden)  # the features are the last hidden layer's
        require_positive(hidden=self.hidden, epochs=self.epochs, batch_size=self.batch_size)
        if self.n_train is not None:
            require_positive(n_train=self.n_train)
        require_non_negative(seed=self.seed)

    def cache_name(self) -> str:
        widths = "-".join(str(h) for h in self.hidden)
        n = "all" if self.n_train is None else str(self.n_train)
        o = self.optim
        # Adam's other settings are named only where they differ from the defaults, so that the
        # classifiers cached before they were configurable keep their names.
        other = "" if o == OptimizerConfig(lr=o.lr) else \
            f"_betas{o.betas[0]:g}-{o.betas[1]:g}_wd{o.weight_decay:g}_decay{o.decay:g}x{o.decay_every}"
        return (f"{self.data}_mlp{widths}_e{self.epochs}_b{self.batch_size}_lr{o.lr:g}{other}_n{n}_s{self.seed}"
                f"_v{CLASSIFIER_VERSION}.pt")


class FeatureClassifier(Trainable):
    """An MLP classifier of flattened images; :meth:`features` are its last hidden activations."""

    def __init__(self, input_dim: int = 784, hidden: tuple[int, ...] = (256, 128), n_classes: int = 10,
                 optim: OptimizerConfig = OptimizerConfig()):
        super().__init__()
        if not hidden:
            raise ValueError("the feature classifier needs at least one hidden layer")
        self.body = nn.Sequential(mlp(input_dim, hidden[:-1], hidden[-1]), nn.ReLU()) if len(hidden) > 1 else \
            nn.Sequential(nn.Linear(input_dim, hidden[0]), nn.ReLU())
        self.head = nn.Linear(hidden[-1], n_classes)
        self.optim = optim

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) or (B, D) images -> (B, hidden[-1]) features."""
        return self.body(x.reshape(x.shape[0], -1))

    def loss(self, batch) -> LossTerms:
        x, y = batch
        logits = self.head(self.features(x))
        accuracy = (logits.argmax(-1) == y).float().mean()
        return LossTerms(terms={"ce": F.cross_entropy(logits, y)}, metrics={"accuracy": accuracy})

    def players(self) -> list[Player]:
        return [Player("main", list(self.parameters()), self.optim)]

    @torch.no_grad()
    def accuracy(self, x: torch.Tensor, y: torch.Tensor, batch_size: int = 2000) -> float:
        correct = 0
        for start in range(0, x.shape[0], batch_size):
            logits = self.head(self.features(x[start:start + batch_size]))
            correct += int((logits.argmax(-1) == y[start:start + batch_size]).sum())
        return correct / x.shape[0]


@torch.no_grad()
def classifier_features(classifier: FeatureClassifier, x: torch.Tensor, batch_size: int = 2000) -> torch.Tensor:
    """Features (n, d) of images ``x`` (n, C, H, W), computed in batches on the classifier's device."""
    device = next(classifier.parameters()).device
    classifier.eval()
    out = [classifier.features(x[s:s + batch_size].to(device)).cpu() for s in range(0, x.shape[0], batch_size)]
    return torch.cat(out)


def classifier_frechet_distance(x_a: torch.Tensor, x_b: torch.Tensor, classifier: FeatureClassifier) -> float:
    """Squared Fréchet distance between two image sets in the classifier's feature space."""
    return frechet_distance(classifier_features(classifier, x_a), classifier_features(classifier, x_b))
