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

This module holds the classifier network (:class:`ModalityClassifier`) and the two scores. Training
needs the training loop, which metrics do not import: the classifiers are trained once per modality
and image size, and cached, by :mod:`infobounds.estimators.coherence_classifiers`, whose
``modality_classifier`` returns one and whose ``CoherenceClassifiers`` holds the pair of a paired
data set and scores a model with them.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from infobounds.core import LossTerms, OptimizerConfig, Player, Trainable
from infobounds.nets import mlp


class ModalityClassifier(Trainable):
    """An MLP on flattened images of one shape that predicts the shared label (10 classes)."""

    def __init__(self, input_shape: tuple[int, ...], hidden: tuple[int, ...] = (256,), n_classes: int = 10,
                 optim: OptimizerConfig = OptimizerConfig()):
        super().__init__()
        self.input_shape = tuple(int(s) for s in input_shape)
        self.optim = optim
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
        return [Player("main", list(self.parameters()), self.optim)]

    @torch.no_grad()
    def predict(self, images: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
        """Predicted labels (N,) of images (N, ...) in [0, 1]."""
        device = next(self.parameters()).device
        out = [self(images[i:i + batch_size].to(device)).argmax(-1) for i in range(0, images.shape[0], batch_size)]
        return torch.cat(out).to(images.device)


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
