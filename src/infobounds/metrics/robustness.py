r"""Adversarial robustness: the fast gradient sign method (Goodfellow, Shlens & Szegedy, 2015).

FGSM moves every input by :math:`\epsilon` in the direction that increases the loss fastest under an
:math:`L_\infty` budget, :math:`x' = \operatorname{clip}_{[0,1]}(x + \epsilon\,\operatorname{sign}\nabla_x \ell(x, y))`.
Chapter ``information_bottleneck`` uses it to test the claim that a tighter bottleneck is more robust.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch.nn import functional as F


def fgsm_examples(log_prob_fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, y: torch.Tensor,
                  epsilon: float, clip: tuple[float, float] = (0.0, 1.0)) -> torch.Tensor:
    """Adversarial copies of ``x`` (any shape, values in ``clip``) for a model's log-probabilities."""
    if epsilon < 0:
        raise ValueError(f"epsilon must be >= 0, got {epsilon}")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x and y disagree on the batch size: {tuple(x.shape)} vs {tuple(y.shape)}")
    x_adv = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        loss = F.nll_loss(log_prob_fn(x_adv), y)
        (grad,) = torch.autograd.grad(loss, x_adv)
    return (x + epsilon * grad.sign()).clamp(*clip).detach()


def fgsm_accuracy(log_prob_fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, y: torch.Tensor,
                  epsilon: float, batch_size: int = 1000) -> float:
    """Accuracy on FGSM examples of budget ``epsilon`` (``epsilon = 0`` gives the clean accuracy)."""
    correct = 0
    for start in range(0, x.shape[0], batch_size):
        xb, yb = x[start:start + batch_size], y[start:start + batch_size]
        x_adv = fgsm_examples(log_prob_fn, xb, yb, epsilon) if epsilon > 0 else xb
        with torch.no_grad():
            correct += int((log_prob_fn(x_adv).argmax(-1) == yb).sum())
    return correct / x.shape[0]
