r"""Coherence of multimodal generative models (Shi et al., 2019), from per-modality classifiers.

A multimodal model is *coherent* when what it generates in one modality shows the same concept as
what it was given, or generated, in the other. With a classifier :math:`f_m` per modality that
predicts the shared label:

* **cross coherence** :math:`m \to n`: the share of test pairs for which the classifier of
  modality :math:`n` assigns the source's label :math:`\ell` to the image generated from
  :math:`x_m`, :math:`\Pr[f_n(\hat x_n) = \ell]`;
* **joint coherence**: the share of joint samples :math:`(\hat x_1, \hat x_2)` on which the two
  classifiers agree, :math:`\Pr[f_1(\hat x_1) = f_2(\hat x_2)]`.

A generator that always produces an image its classifier labels correctly has coherence 1; one
that ignores its input has about 1/10 on ten balanced classes. Real test pairs score the product
of the two classifiers' accuracies or so, the practical ceiling to compare with.

The classifiers are small MLPs trained once per modality and image size (seconds on a CPU) on the
train split and cached: in memory, and on disk under ``$INFOBOUNDS_CACHE/coherence`` (default
``~/.cache/infobounds/coherence``), never inside the repository. :func:`modality_classifier`
returns the cached one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.nn import functional as F

from infobounds.core import LossTerms, Player, Trainable
from infobounds.nets import mlp

CACHE_VERSION = 1  # bump when the recipe below changes, so stale classifiers are retrained


@dataclass(frozen=True)
class ClassifierRecipe:
    """How the classifier of one modality is trained (defaults: seconds on two CPU cores)."""

    hidden: tuple[int, ...] = (256,)  # MLP widths
    steps: int = 2000  # Adam steps
    batch_size: int = 128
    lr: float = 1e-3
    seed: int = 0


_RECIPES = {"digits": ClassifierRecipe(hidden=(128,), steps=800)}
_MEMORY: dict[tuple, "ModalityClassifier"] = {}


class ModalityClassifier(Trainable):
    """An MLP on flattened images of one shape that predicts the shared label (10 classes)."""

    def __init__(self, input_shape: tuple[int, ...], hidden: tuple[int, ...] = (256,), n_classes: int = 10,
                 lr: float = 1e-3):
        super().__init__()
        self.input_shape = tuple(int(s) for s in input_shape)
        self.lr = lr
        n_in = 1
        for s in self.input_shape:
            n_in *= s
        self.net = mlp(n_in, hidden, n_classes)
        self.test_accuracy: float = float("nan")  # filled in after training

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.shape[1:].numel() != self.net[0].in_features:
            raise ValueError(f"classifier expects images of shape {self.input_shape}, got {tuple(images.shape[1:])}")
        return self.net(images.reshape(images.shape[0], -1))  # (B, n_classes)

    def loss(self, batch) -> LossTerms:
        x, y = batch
        logits = self(x)
        return LossTerms(terms={"ce": F.cross_entropy(logits, y)},
                         metrics={"accuracy": (logits.argmax(-1) == y).float().mean()})

    def players(self) -> list[Player]:
        return [Player("main", list(self.parameters()), lr=self.lr)]

    @torch.no_grad()
    def predict(self, images: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
        """Predicted labels (N,) of images (N, ...) in [0, 1]."""
        device = next(self.parameters()).device
        out = [self(images[i:i + batch_size].to(device)).argmax(-1) for i in range(0, images.shape[0], batch_size)]
        return torch.cat(out).to(images.device)


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
            model = ModalityClassifier(shape, recipe.hidden, lr=recipe.lr)
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
    from infobounds.training import fit

    x, y = _train_images(modality, "train")
    x = resize(x, size)
    torch.manual_seed(recipe.seed)
    model = ModalityClassifier(shape, recipe.hidden, lr=recipe.lr)
    stream = BatchStream(x, y, batch_size=min(recipe.batch_size, len(y)), seed=recipe.seed)
    # Host reads of the loss every 200 steps: per-step reads triple the cost of so small a model.
    fit(model, stream, steps=recipe.steps, seed=recipe.seed, progress=False, sync_every=200, log_every=50)
    return model


def cross_coherence(generated: torch.Tensor, labels: torch.Tensor, classifier: ModalityClassifier) -> float:
    """Share of ``generated`` images (N, ...) of the target modality that ``classifier`` labels with the
    label of the source they were generated from (``labels``, (N,))."""
    if generated.shape[0] != labels.shape[0]:
        raise ValueError(f"{generated.shape[0]} generated images but {labels.shape[0]} labels")
    if generated.shape[0] == 0:
        raise ValueError("need at least one generated image")
    return float((classifier.predict(generated) == labels.to(generated.device)).float().mean())


def joint_coherence(x_generated: torch.Tensor, y_generated: torch.Tensor, classifier_x: ModalityClassifier,
                    classifier_y: ModalityClassifier) -> float:
    """Share of jointly generated pairs on which the two modalities' classifiers agree."""
    if x_generated.shape[0] != y_generated.shape[0]:
        raise ValueError(f"{x_generated.shape[0]} x samples but {y_generated.shape[0]} y samples")
    if x_generated.shape[0] == 0:
        raise ValueError("need at least one generated pair")
    return float((classifier_x.predict(x_generated) == classifier_y.predict(y_generated)).float().mean())


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
