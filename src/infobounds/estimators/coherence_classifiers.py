"""The per-modality classifiers that measure a multimodal model's coherence, trained with ``fit``.

Coherence (Shi, Siddharth, Paige & Torr, 2019, *Variational Mixture-of-Experts Autoencoders for
Multi-Modal Deep Generative Models*, NeurIPS; :mod:`infobounds.metrics.coherence`) is estimated with a
classifier per modality that predicts the label the two modalities share: the share of generated
images that the target modality's classifier labels with the source's label (cross coherence), and
the share of joint samples on which the two classifiers agree (joint coherence).

The classifiers (:class:`~infobounds.metrics.coherence.ModalityClassifier`, small MLPs) are trained
once per modality and image size (seconds on a CPU) on the train split and cached: in memory, and on
disk under ``$INFOBOUNDS_CACHE/coherence`` (default ``~/.cache/infobounds/coherence``), never inside
the repository. :func:`modality_classifier` returns the cached one; :class:`CoherenceClassifiers`
holds the pair for a paired data set and scores a model with them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from infobounds.core import OptimizerConfig
from infobounds.metrics.coherence import ModalityClassifier, cross_coherence, joint_coherence
from infobounds.training import fit
from infobounds.validation import require_non_empty, require_non_negative, require_positive


CACHE_VERSION = 1  # bump when the recipe below changes, so stale classifiers are retrained


@dataclass(frozen=True)
class ClassifierRecipe:
    """How the classifier of one modality is trained (defaults: seconds on two CPU cores)."""

    hidden: tuple[int, ...] = (256,)  # MLP widths
    steps: int = 2000  # Adam steps
    batch_size: int = 128
    optim: OptimizerConfig = OptimizerConfig()  # Adam
    seed: int = 0

    def __post_init__(self) -> None:
        require_non_empty(hidden=self.hidden)
        require_positive(hidden=self.hidden, steps=self.steps, batch_size=self.batch_size)
        require_non_negative(seed=self.seed)


_RECIPES = {"digits": ClassifierRecipe(hidden=(128,), steps=800)}
_MEMORY: dict[tuple, "ModalityClassifier"] = {}


def coherence_cache_dir() -> Path:
    """``$INFOBOUNDS_CACHE/coherence`` or ``~/.cache/infobounds/coherence`` (never the repository); in a
    smoke run a temporary folder."""
    from infobounds.data.idx import cache_dir
    from infobounds.profiles import smoke_enabled

    if smoke_enabled():  # a smoke run's classifiers (a few steps) must never be found by a real run
        from infobounds.data.standins import scratch_dir

        return scratch_dir() / "coherence"
    base = os.environ.get("INFOBOUNDS_CACHE")
    return (Path(base) if base else cache_dir()) / "coherence"


def _train_images(modality: str, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    if modality == "svhn":
        from infobounds.data.paired import load_svhn

        return load_svhn(split)
    from infobounds.data import load

    data = load(modality, split)
    return data.x, data.y


def modality_classifier(modality: str, size: int | None = None, *, device: str | torch.device | None = None,
                        retrain: bool = False) -> ModalityClassifier:
    """The coherence classifier of ``modality`` (``digits``, ``fashion_mnist``, ``mnist``, ``svhn``)
    at images resized to ``size`` (None: the native size), trained once and cached.

    The first call trains it (a few seconds), records its test accuracy in ``.test_accuracy`` and
    writes it to :func:`coherence_cache_dir`; later calls, in this process or another, load it.
    Building and training run on a forked random generator, so whether the classifier was cached
    does not change the random numbers a chapter draws afterwards.
    """
    from infobounds.data.paired import resize

    recipe = _RECIPES.get(modality, ClassifierRecipe())
    x_test, y_test = _train_images(modality, "test")
    x_test = resize(x_test, size)
    shape = tuple(x_test.shape[1:])
    key = (modality, shape, CACHE_VERSION)
    path = coherence_cache_dir() / f"{modality}_{'x'.join(map(str, shape))}_v{CACHE_VERSION}.pt"
    model = None if retrain else _MEMORY.get(key)
    # Building (initialising) or training a classifier draws random numbers: do it on a forked
    # generator so the caller's random stream is the same whether or not the classifier was cached.
    with torch.random.fork_rng(devices=[]):
        if model is None and not retrain and path.is_file():
            state = torch.load(path, map_location="cpu", weights_only=True)
            model = ModalityClassifier(shape, recipe.hidden, optim=recipe.optim)
            model.load_state_dict(state["model"])
            model.test_accuracy = float(state["test_accuracy"])
        if model is None:
            model = _train_classifier(modality, size, shape, recipe)
            model.test_accuracy = float((model.predict(x_test) == y_test).float().mean())
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            torch.save({"model": model.state_dict(), "test_accuracy": model.test_accuracy}, tmp)
            os.replace(tmp, path)
    model.eval()
    _MEMORY[key] = model
    if device is not None:
        return model.to(device)
    return model


def _train_classifier(modality: str, size: int | None, shape: tuple[int, ...],
                      recipe: ClassifierRecipe) -> ModalityClassifier:
    from infobounds.data.iterators import BatchStream
    from infobounds.data.paired import resize

    x, y = _train_images(modality, "train")
    x = resize(x, size)
    torch.manual_seed(recipe.seed)
    model = ModalityClassifier(shape, recipe.hidden, optim=recipe.optim)
    stream = BatchStream(x, y, batch_size=min(recipe.batch_size, len(y)), seed=recipe.seed)
    # Host reads of the loss every 200 steps: per-step reads triple the cost of so small a model.
    fit(model, stream, steps=recipe.steps, seed=recipe.seed, progress=False, sync_every=200, log_every=50)
    return model


@dataclass(frozen=True)
class CoherenceClassifiers:
    """The two classifiers of a paired data set, with helpers that score a model."""

    x: ModalityClassifier
    y: ModalityClassifier

    @classmethod
    def for_data(cls, data, device: str | torch.device | None = None) -> "CoherenceClassifiers":
        """The classifiers matching a :class:`~infobounds.data.paired.PairedImages` (its modalities and
        image sizes)."""
        (_, _, wx), (_, _, wy) = data.shapes
        return cls(modality_classifier(data.modalities[0], wx, device=device),
                   modality_classifier(data.modalities[1], wy, device=device))

    def reference(self, data) -> dict[str, float]:
        """Coherence of the real test pairs (the ceiling a model can be compared with): the share of
        pairs on which each classifier is right, and on which both are."""
        px, py = self.x.predict(data.x), self.y.predict(data.y)
        return {"x_accuracy": float((px == data.label).float().mean()),
                "y_accuracy": float((py == data.label).float().mean()),
                "agreement": float((px == py).float().mean())}

    def score(self, model, data, n_joint: int = 1000) -> dict[str, float]:
        """Cross coherence both ways and joint coherence of ``model``, which must provide
        ``cross_generate(x=..., y=...)`` and ``sample(n)`` (every multimodal model of the book does)."""
        y_from_x = model.cross_generate(x=data.x)
        x_from_y = model.cross_generate(y=data.y)
        x_joint, y_joint = model.sample(n_joint)
        return {"x_to_y": cross_coherence(y_from_x, data.label, self.y),
                "y_to_x": cross_coherence(x_from_y, data.label, self.x),
                "joint": joint_coherence(x_joint, y_joint, self.x, self.y)}
