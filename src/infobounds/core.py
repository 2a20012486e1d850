"""The contract between a model and the training loop: named loss terms, players and an update schedule.

This module imports only torch, so every layer of the package can depend on it: models implement
it, :mod:`infobounds.training` drives it, and the estimators in :mod:`infobounds.bounds` and
:mod:`infobounds.metrics` build their critics on it (the layering is checked by
``tests/test_layering.py``).

A model is an ``nn.Module`` that says

* its **players**: parameter groups, each with its own optimiser settings (a VAE has one, ``main``;
  a GAN has ``generator`` and ``critic``);
* its **update schedule**: per training step, an ordered list of ``Update(player, loss, repeats)``.
  A WGAN-GP's is ``[Update("critic", critic_loss, 5), Update("generator", generator_loss)]``;
* for each loss function, a :class:`LossTerms`: the equation's terms by name, their weights, and
  metrics that are logged but not optimised.

The loop (:func:`infobounds.training.fit`) knows nothing else about a model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import torch
from torch import nn

__all__ = ["LossTerms", "Player", "Trainable", "Update", "check_batch", "first_tensor", "flatten_batch",
           "parameters_of"]


@dataclass
class LossTerms:
    """Named terms of an objective.

    ``total = sum(weights.get(name, 1) * terms[name])`` is what the player minimises. Terms keep
    their raw values (a VIB's ``kl`` in nats, not ``beta * kl``), so what is logged is what the
    chapter plots.
    """

    terms: dict[str, torch.Tensor]
    weights: Mapping[str, float] = field(default_factory=dict)
    metrics: dict[str, torch.Tensor] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.terms:
            raise ValueError("a loss needs at least one term")
        unknown = set(self.weights) - set(self.terms)
        if unknown:
            raise ValueError(f"weights name terms that do not exist: {sorted(unknown)}")

    @property
    def total(self) -> torch.Tensor:
        return sum(self.weights.get(name, 1.0) * value for name, value in self.terms.items())


@dataclass(frozen=True)
class Player:
    """A parameter group with its optimiser (Adam) settings and optional step decay of the rate."""

    name: str
    parameters: Sequence[nn.Parameter]
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    lr_decay: float = 1.0  # multiply the learning rate by this ...
    lr_decay_every: int = 0  # ... every this many optimiser steps (0: never)
    # Build another optimiser than Adam from (parameters, lr), e.g. infobounds.optim.CayleyAdam for
    # parameters constrained to a manifold; None means Adam with the settings above.
    optimizer: Callable[[list[nn.Parameter], float], torch.optim.Optimizer] | None = None

    def __post_init__(self) -> None:
        if self.lr <= 0:
            raise ValueError(f"player {self.name!r}: learning rate must be positive, got {self.lr}")
        if not 0 < self.lr_decay <= 1:
            raise ValueError(f"player {self.name!r}: lr_decay must lie in (0, 1], got {self.lr_decay}")


@dataclass(frozen=True)
class Update:
    """One entry of an update schedule: minimise ``loss(batch)`` over ``player``, ``repeats`` times,
    each time on a fresh batch."""

    player: str
    loss: Callable[[tuple[torch.Tensor, ...]], LossTerms]
    repeats: int = 1

    def __post_init__(self) -> None:
        if self.repeats < 1:
            raise ValueError(f"repeats must be >= 1, got {self.repeats}")


class Trainable(nn.Module):
    """Base class of every model in :mod:`infobounds.models` and of every network an estimator trains.

    Subclasses implement :meth:`loss` (one player) or override :meth:`players` and :meth:`schedule`
    (several players).
    """

    lr: float = 1e-3

    def loss(self, batch: tuple[torch.Tensor, ...]) -> LossTerms:  # pragma: no cover - abstract
        raise NotImplementedError

    def players(self) -> list[Player]:
        return [Player("main", list(self.parameters()), lr=self.lr)]

    def schedule(self) -> list[Update]:
        return [Update("main", self.loss)]

    # Models whose forward pass is not safe in bf16 (log-sum-exp heavy critics) return False.
    autocast_safe: bool = True


def parameters_of(*modules: nn.Module) -> list[nn.Parameter]:
    """All parameters of ``modules``, each once (for building a player from several blocks)."""
    seen: dict[int, nn.Parameter] = {}
    for m in modules:
        for p in m.parameters():
            seen.setdefault(id(p), p)
    return list(seen.values())


def first_tensor(batch):
    """The inputs of a batch: ``batch`` itself, or its first item when it is a tuple or list (a stream
    yields ``x`` alone or ``(x, y, ...)``; a model that reads only x takes either)."""
    return batch[0] if isinstance(batch, (tuple, list)) else batch


def check_batch(x: torch.Tensor, expected_ndim: int, name: str = "x", feature_dim: int | None = None,
                where: str = "") -> None:
    """Raise a clear ``ValueError`` for a tensor of the wrong rank or feature size."""
    prefix = f"{where}: " if where else ""
    if x.ndim != expected_ndim:
        raise ValueError(f"{prefix}{name} must have {expected_ndim} dimensions, got shape {tuple(x.shape)}")
    if feature_dim is not None and x.shape[-1] != feature_dim:
        raise ValueError(f"{prefix}{name} must have {feature_dim} features in its last dimension, "
                         f"got shape {tuple(x.shape)}")


def flatten_batch(x: torch.Tensor, input_shape: Sequence[int], where: str) -> torch.Tensor:
    """``x`` as (B, prod(input_shape)) from (B, *input_shape) or already flat (B, prod(input_shape));
    anything else is a ``ValueError`` that names ``where`` and both accepted shapes."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{where}: x must be a tensor, got {type(x).__name__}")
    input_dim = math.prod(input_shape)
    if x.ndim >= 2 and (tuple(x.shape[1:]) == tuple(input_shape) or (x.ndim == 2 and x.shape[1] == input_dim)):
        return x.reshape(x.shape[0], input_dim)
    raise ValueError(f"{where}: x must have shape (B, {', '.join(map(str, input_shape))}) or (B, {input_dim}), "
                     f"got {tuple(x.shape)}")

