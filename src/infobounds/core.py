"""The contract between a model and the training loop: named loss terms, players and an update schedule.

This module imports only torch, so every layer of the package can depend on it: models implement
it, :mod:`infobounds.training` drives it, and the estimators in :mod:`infobounds.bounds` and
:mod:`infobounds.metrics` build their critics on it (the layering is checked by
``tests/test_layering.py``).

A model is an ``nn.Module`` that says

* its **players**: parameter groups, each with its own optimiser settings, an
  :class:`OptimizerConfig` (a VAE has one player, ``main``; a GAN has ``generator`` and ``critic``);
* its **update schedule**: per training step, an ordered list of ``Update(player, loss, repeats)``.
  A WGAN-GP's is ``[Update("critic", critic_loss, 5), Update("generator", generator_loss)]``;
* for each loss function, a :class:`LossTerms`: the equation's terms by name, their weights, and
  metrics that are logged but not optimised.

The loop (:func:`infobounds.training.fit`) knows nothing else about a model.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import torch
from torch import nn

__all__ = ["LossTerms", "OptimizerConfig", "Player", "Trainable", "Update", "check_batch", "first_tensor",
           "flatten_batch", "parameters_of"]


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
class OptimizerConfig:
    """The optimiser settings of one player: Adam (Kingma & Ba, 2015, Algorithm 1) with an optional
    step decay of its rate.

    ``lr`` is Adam's step size alpha; ``betas`` its decay rates (beta1, beta2) of the first and
    second moment estimates, each in [0, 1); ``weight_decay`` an L2 penalty added to the gradient
    (torch's ``Adam(weight_decay=...)``). The rate after ``t`` optimiser steps is
    ``lr * decay ** (t // decay_every)``; ``decay_every=0`` keeps it constant. A player with its
    own optimiser factory (:attr:`Player.optimizer`) receives this config and uses what applies.
    """

    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    decay: float = 1.0  # multiply the rate by this ...
    decay_every: int = 0  # ... every this many optimiser steps (0: never)

    def __post_init__(self) -> None:
        # Written as `not (rule)` so that NaN breaks every rule (infobounds.validation's convention;
        # core imports only torch, so the checks are spelled out here).
        if not _finite_number(self.lr) or not self.lr > 0:
            raise ValueError(f"OptimizerConfig: lr must be a positive finite number, got {self.lr!r}")
        if (not isinstance(self.betas, tuple) or len(self.betas) != 2
                or not all(_finite_number(b) and 0 <= b < 1 for b in self.betas)):
            raise ValueError(f"OptimizerConfig: betas must be two numbers in [0, 1), got {self.betas!r}")
        if not _finite_number(self.weight_decay) or not self.weight_decay >= 0:
            raise ValueError(f"OptimizerConfig: weight_decay must be a finite number >= 0, got {self.weight_decay!r}")
        if not _finite_number(self.decay) or not 0 < self.decay <= 1:
            raise ValueError(f"OptimizerConfig: decay must lie in (0, 1], got {self.decay!r}")
        if isinstance(self.decay_every, bool) or not isinstance(self.decay_every, int) or self.decay_every < 0:
            raise ValueError(f"OptimizerConfig: decay_every must be an integer >= 0, got {self.decay_every!r}")


def _finite_number(value) -> bool:
    """A real number (not a bool) that is neither NaN nor infinite."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class Player:
    """A parameter group and its optimiser settings.

    ``optimizer`` builds another optimiser than Adam from ``(parameters, optim)``, e.g.
    :class:`infobounds.optim.CayleyAdam` for parameters constrained to a manifold; ``None`` means
    Adam with ``optim``'s settings.
    """

    name: str
    parameters: Sequence[nn.Parameter]
    optim: OptimizerConfig = OptimizerConfig()
    optimizer: Callable[[list[nn.Parameter], OptimizerConfig], torch.optim.Optimizer] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.optim, OptimizerConfig):
            raise ValueError(f"player {self.name!r}: optim must be an OptimizerConfig, got {self.optim!r}")


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

    optim: OptimizerConfig = OptimizerConfig()  # the settings of the one player the default players() returns

    def loss(self, batch: tuple[torch.Tensor, ...]) -> LossTerms:  # pragma: no cover - abstract
        raise NotImplementedError

    def players(self) -> list[Player]:
        return [Player("main", list(self.parameters()), self.optim)]

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

