"""Checks of hyper-parameters, shared by every config dataclass so that bad input gets the same clear
error everywhere: the offending field's name, the rule, and the value that broke it.

Each check takes the fields as keyword arguments, so a config's ``__post_init__`` reads as its rules::

    require_positive(latent_dim=self.latent_dim, hidden=self.hidden)
    require_non_negative(beta=self.beta)
    require_choice("prior", self.prior, PRIORS)

Every entry of a tuple value (layer widths, kernel scales), or of an array or tensor, must obey the
rule; an empty tuple obeys every rule (no hidden layer is a valid network), so ``require_non_empty``
says where one is not. The comparisons are written so that NaN breaks every rule (``not v > 0``
rather than ``v <= 0``), and ``require_finite`` rejects NaN and infinities by name.
"""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np
import torch

__all__ = ["require_positive", "require_non_negative", "require_at_least", "require_choice", "require_non_empty",
           "require_finite", "require_probability", "require_length", "require_adam_betas"]


def _entries(value) -> tuple:
    if isinstance(value, torch.Tensor):
        return tuple(value.detach().cpu().reshape(-1).tolist())
    if isinstance(value, np.ndarray):
        return tuple(value.reshape(-1).tolist())
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _is_finite(value) -> bool:
    try:
        return math.isfinite(value)
    except TypeError:  # None, a string: not a number at all
        return False


def require_non_empty(**values) -> None:
    """Every value (a tuple: kernel scales, a shape) has at least one entry."""
    for name, value in values.items():
        if len(value) == 0:
            raise ValueError(f"{name} must not be empty")


def require_positive(**values) -> None:
    """Every value (or every entry of a tuple value) is > 0."""
    for name, value in values.items():
        if not all(v > 0 for v in _entries(value)):
            raise ValueError(f"{name} must be positive, got {value!r}")


def require_non_negative(**values) -> None:
    """Every value (or every entry of a tuple value) is >= 0."""
    for name, value in values.items():
        if not all(v >= 0 for v in _entries(value)):
            raise ValueError(f"{name} must be >= 0, got {value!r}")


def require_at_least(minimum: float, **values) -> None:
    """Every value is >= ``minimum`` (counts: at least two classes, at least one repeat)."""
    for name, value in values.items():
        if not all(v >= minimum for v in _entries(value)):
            raise ValueError(f"{name} must be >= {minimum}, got {value!r}")


def require_finite(**values) -> None:
    """Every value (or every entry of a tuple, array or tensor value) is a number that is neither NaN
    nor infinite."""
    for name, value in values.items():
        if not all(_is_finite(v) for v in _entries(value)):
            raise ValueError(f"{name} must be finite, got {value!r}")


def require_probability(**values) -> None:
    """Every value (or every entry of a tuple value) lies in [0, 1]."""
    for name, value in values.items():
        if not all(0 <= v <= 1 for v in _entries(value)):
            raise ValueError(f"{name} must lie in [0, 1], got {value!r}")


def require_length(length: int, **values) -> None:
    """Every value (a tuple: Adam's betas, one weight per term) has exactly ``length`` entries."""
    for name, value in values.items():
        if len(value) != length:
            raise ValueError(f"{name} must have {length} entries, got {value!r}")


def require_adam_betas(**values) -> None:
    """Every value is a pair (beta1, beta2) of Adam's decay rates, each in [0, 1) as torch requires."""
    require_length(2, **values)
    for name, value in values.items():
        if not all(0 <= v < 1 for v in _entries(value)):
            raise ValueError(f"{name} must be two numbers in [0, 1), got {value!r}")


def require_choice(name: str, value, choices: Iterable) -> None:
    """``value`` is one of ``choices``."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}: choose one of {', '.join(map(str, choices))}")
