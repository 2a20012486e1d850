"""Quantities estimated by training a network with the book's loop (:func:`infobounds.training.fit`).

Each module trains a critic, a discriminator or a classifier on samples, then returns the quantity it
estimates, or the trained network a metric is measured with:

* :mod:`~infobounds.estimators.mi`: I(X;Y) in nats from paired samples, with a critic trained on one
  of the variational bounds of :mod:`infobounds.bounds.mi` (:func:`estimate_mi`);
* :mod:`~infobounds.estimators.total_correlation`: the total correlation of a code, with FactorVAE's
  density-ratio discriminator (:func:`estimate_total_correlation`);
* :mod:`~infobounds.estimators.conditional_mi`: I(z_1; z_2 | a), with the within-``a`` shuffle critic
  of :mod:`infobounds.models.cmi` (:func:`estimate_conditional_mi`);
* :mod:`~infobounds.estimators.frechet_classifier`: the classifier in whose features
  :mod:`infobounds.metrics.frechet` measures its Fréchet distance (:func:`feature_classifier`);
* :mod:`~infobounds.estimators.coherence_classifiers`: the per-modality classifiers that
  :mod:`infobounds.metrics.coherence` scores coherence with (:func:`modality_classifier`,
  :class:`CoherenceClassifiers`).

The networks themselves are defined next to what they describe (``bounds``, ``models``, ``metrics``),
none of which imports the training loop; they are trained here, one layer above it.
"""

from infobounds.estimators.coherence_classifiers import CoherenceClassifiers, modality_classifier
from infobounds.estimators.conditional_mi import estimate_conditional_mi
from infobounds.estimators.frechet_classifier import feature_classifier, train_feature_classifier
from infobounds.estimators.mi import MIEstimate, estimate_mi
from infobounds.estimators.total_correlation import estimate_total_correlation

__all__ = [
    "CoherenceClassifiers",
    "MIEstimate",
    "estimate_conditional_mi",
    "estimate_mi",
    "estimate_total_correlation",
    "feature_classifier",
    "modality_classifier",
    "train_feature_classifier",
]
