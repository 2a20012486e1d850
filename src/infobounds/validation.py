"""Checks of hyper-parameters, shared by every config dataclass so that bad input gets the same clear
error everywhere: the offending field's name, the rule, and the value that broke it.

Each check takes the fields as keyword arguments, so a config's ``__post_init__`` reads as its rules::

    require_positive(latent_dim=self.latent_dim, hidden=self.hidden, lr=self.lr)
    require_non_negative(beta=self.beta)
    require_choice("prior", self.prior, PRIORS)

Every entry of a tuple value (layer widths, kernel scales) must obey the rule; an empty tuple obeys
every rule (no hidden layer is a valid network), so ``require_non_empty`` says where one is not.
"""

from __future__ import annotations

from typing import Iterable

__all__ = ["require_positive", "require_non_negative", "require_at_least", "require_choice", "require_non_empty"]


def _entries(value) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


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


def require_choice(name: str, value, choices: Iterable) -> None:
    """``value`` is one of ``choices``."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}: choose one of {', '.join(map(str, choices))}")
