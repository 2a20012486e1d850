"""The classifier whose features the book's Fréchet distance is measured in, trained with ``fit`` and cached.

The Fréchet distance of :mod:`infobounds.metrics.frechet` compares Gaussians fitted to features of real
and generated images, as the FID of Heusel, Ramsauer, Unterthiner, Nessler & Hochreiter (2017), *GANs
Trained by a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium*, NeurIPS, does with
Inception-v3's; here the features are the last hidden layer of a small classifier
(:class:`~infobounds.metrics.frechet.FeatureClassifier`) trained on Fashion-MNIST (Xiao, Rasul &
Vollgraf, 2017) by :func:`train_feature_classifier`. :func:`feature_classifier` trains it once per
:class:`~infobounds.metrics.frechet.FeatureClassifierConfig` and caches it on disk
(:func:`classifier_cache_dir`), never inside the repository. Chapter ``gans`` uses it.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from infobounds.metrics.frechet import FeatureClassifier, FeatureClassifierConfig
from infobounds.training import fit, load_checkpoint, save_checkpoint, steps_for_epochs


def classifier_cache_dir() -> Path:
    """``$INFOBOUNDS_CACHE`` or ``~/.cache/infobounds`` (``$XDG_CACHE_HOME`` respected), then ``frechet/``;
    in a smoke run a temporary folder, so its few-step classifier is never found by a real run."""
    from infobounds.profiles import smoke_enabled

    if smoke_enabled():
        from infobounds.data.standins import scratch_dir

        return scratch_dir() / "frechet"
    base = os.environ.get("INFOBOUNDS_CACHE")
    if base:
        return Path(base) / "frechet"
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "infobounds" / "frechet"


def train_feature_classifier(config: FeatureClassifierConfig = FeatureClassifierConfig(),
                             device: str | torch.device = "cpu", progress: bool = False) -> FeatureClassifier:
    """Train the feature classifier of ``config`` with the book's training loop."""
    from infobounds.data import BatchStream, load

    train = load(config.data, "train", n=config.n_train, seed=config.seed, device=device)
    torch.manual_seed(config.seed)  # the initialisation too, so the classifier depends on its config alone
    model = FeatureClassifier(train.flat.shape[1], config.hidden, len(train.classes), config.optim).to(device)
    stream = BatchStream(train.flat, train.y, batch_size=config.batch_size, seed=config.seed)
    steps = steps_for_epochs(config.epochs, len(train), config.batch_size)
    fit(model, stream, steps=steps, seed=config.seed, progress=progress, desc="feature classifier")
    return model


def feature_classifier(config: FeatureClassifierConfig = FeatureClassifierConfig(), *,
                       device: str | torch.device = "cpu", cache: bool = True,
                       progress: bool = False) -> FeatureClassifier:
    """The feature classifier of ``config``: loaded from the cache, or trained once and cached there
    (:func:`classifier_cache_dir`; the file name encodes every setting)."""
    from infobounds.data import load

    path = classifier_cache_dir() / config.cache_name()
    if cache and path.is_file():
        state = load_checkpoint(path)
        probe = load(config.data, "test", n=2)  # input size and number of classes
        model = FeatureClassifier(probe.flat.shape[1], config.hidden, len(probe.classes), config.optim)
        model.load_state_dict(state["model"])
        return model.to(device).eval()
    model = train_feature_classifier(config, device=device, progress=progress)
    if cache:
        save_checkpoint({"model": {k: v.cpu() for k, v in model.state_dict().items()}}, path)
    return model.eval()
