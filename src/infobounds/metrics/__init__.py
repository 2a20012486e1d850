"""Evaluation metrics shared by the chapters."""

from infobounds.metrics.robustness import fgsm_accuracy, fgsm_examples

__all__ = ["fgsm_accuracy", "fgsm_examples"]
