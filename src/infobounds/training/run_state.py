"""What a training run saves and restores: its state, its settings, and when it may be resumed.

:class:`TrainingState` holds the objects whose state a checkpoint keeps (the model, one optimiser
and learning-rate scheduler per player, the data stream, the history). :class:`Checkpointer`
writes that state (with torch's generator state and the run's settings) every ``every`` steps and
at the end, and restores it on resume, refusing a checkpoint written with other settings or past
the step this run would end at. The file format and its integrity checks are
:mod:`infobounds.training.checkpoint`'s.
"""

from __future__ import annotations

import dataclasses
import json
import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch

from infobounds.core import Player, Trainable, Update
from infobounds.training.checkpoint import (READ_ERRORS, CheckpointError, check_checkpoint_path, load_checkpoint,
                                            one_line, save_checkpoint)
from infobounds.training.history import History

__all__ = ["Checkpointer", "TrainingState"]


def make_optimizers(players: list[Player]) -> dict[str, torch.optim.Optimizer]:
    """One optimiser per player: its own factory's, else (fused) Adam with its ``optim`` settings."""
    names = [p.name for p in players]
    if len(set(names)) != len(names):
        raise ValueError(f"player names must be unique, got {names}")
    optimizers = {}
    for p in players:
        params = [q for q in p.parameters if q.requires_grad]
        if not params:
            raise ValueError(f"player {p.name!r} has no trainable parameters")
        if p.optimizer is not None:
            optimizers[p.name] = p.optimizer(params, p.optim)
        else:
            # The fused kernel updates every tensor in one pass instead of a Python loop over them,
            # which on CPU is a visible share of a small model's step.
            fused = all(q.is_floating_point() and q.device.type in ("cpu", "cuda") for q in params)
            o = p.optim
            optimizers[p.name] = torch.optim.Adam(params, lr=o.lr, betas=o.betas, weight_decay=o.weight_decay,
                                                  fused=fused)
    return optimizers


def make_schedulers(players: list[Player], optimizers: dict) -> dict:
    """A step decay of the learning rate for each player whose ``optim`` asks for one."""
    return {
        p.name: torch.optim.lr_scheduler.StepLR(optimizers[p.name], step_size=p.optim.decay_every,
                                                gamma=p.optim.decay)
        for p in players
        if p.optim.decay_every > 0 and p.optim.decay < 1
    }


@dataclass
class TrainingState:
    """The model, its players and update schedule, their optimisers and schedulers, the data stream
    and the history: everything a checkpoint restores."""

    model: Trainable
    data: object
    players: list[Player]
    schedule: list[Update]
    optimizers: dict[str, torch.optim.Optimizer]
    schedulers: dict[str, torch.optim.lr_scheduler.LRScheduler]
    history: History

    @classmethod
    def build(cls, model: Trainable, data) -> "TrainingState":
        """Ask ``model`` for its players and schedule and build their optimisers; a schedule that
        names a player the model does not have is a ``ValueError``."""
        players = model.players()
        schedule: list[Update] = model.schedule()
        optimizers = make_optimizers(players)
        schedulers = make_schedulers(players, optimizers)
        unknown = {u.player for u in schedule} - set(optimizers)
        if unknown:
            raise ValueError(f"schedule names unknown players {sorted(unknown)}; players: {sorted(optimizers)}")
        return cls(model, data, players, schedule, optimizers, schedulers, History())

    def state_dict(self, step: int) -> dict:
        return {
            "step": step,
            "model": self.model.state_dict(),
            "optimizers": {n: o.state_dict() for n, o in self.optimizers.items()},
            "schedulers": {n: s.state_dict() for n, s in self.schedulers.items()},
            "data": self.data.state_dict(),
            "rng": _rng_state(),
            "history": self.history.state_dict(),
        }

    def load_state_dict(self, state: dict) -> int:
        """Put ``state`` back into this run's objects and torch's generator; returns its step."""
        self.model.load_state_dict(state["model"])
        for name, opt in self.optimizers.items():
            opt.load_state_dict(state["optimizers"][name])
        for name, sch in self.schedulers.items():
            sch.load_state_dict(state["schedulers"][name])
        self.data.load_state_dict(state["data"])
        _set_rng_state(state["rng"])
        self.history = History.from_state(state["history"])
        return int(state["step"])


class Checkpointer:
    """Saves a run's state to ``path`` (atomically, on rank 0 only) every ``every`` steps and at the
    end, and restores it on resume.

    The path is checked when the run starts, not after the whole run when the first write would
    fail. Every checkpoint stores the run's settings
    (``run_settings``); a resume refuses a checkpoint written
    with other settings, naming the first difference, or one whose step is past the end of this
    call. ``path=None`` saves nothing.
    """

    def __init__(self, path: str | Path | None, every: int, rank: int, settings: dict):
        if path is not None and rank == 0:
            check_checkpoint_path(path)
        self.path, self.every, self.rank, self.settings = path, every, rank, settings

    def can_resume(self, resume: bool) -> bool:
        """Resume from the file if asked and it exists (else the run starts afresh)."""
        return resume and self.path is not None and Path(self.path).is_file()

    def restore(self, state: TrainingState) -> int:
        """Load the checkpoint into ``state``; returns the step it was written at."""
        saved = load_checkpoint(self.path)
        with _restoring(self.path):
            _check_same_settings(self.path, saved.get("settings"), self.settings)
            return state.load_state_dict(saved)

    def due(self, step: int) -> bool:
        return bool(self.path is not None and self.every and step % self.every == 0)

    def save(self, state: TrainingState, step: int) -> None:
        if self.path is None or self.rank != 0:
            return
        save_checkpoint({**state.state_dict(step), "settings": self.settings}, self.path)

    def check_not_past_end(self, start: int, end: int, steps: int, stop_after: int | None) -> None:
        """Refuse a resume whose checkpoint is already past the step this call would end at: the loop
        would not run, and the final save would label the later state with the earlier step."""
        if start > end:
            limit = f"steps={steps}" if end == steps else f"stop_after={stop_after}"
            raise CheckpointError(f"checkpoint {self.path} is at step {start}, beyond {limit}: pass at least "
                                  f"{start} steps to continue it, or start a fresh run with another checkpoint path")


def _rng_state() -> dict:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _describe(value) -> str:
    """A name for a non-data config value that is the same in every process: the qualified name of
    a class or function, else its repr without memory addresses."""
    name = getattr(value, "__qualname__", None)
    if name is not None:
        return f"{getattr(value, '__module__', '')}.{name}"
    return re.sub(r" at 0x[0-9a-fA-F]+", "", repr(value))


def run_settings(model: Trainable, players: list[Player], data, seed: int | None) -> dict:
    """The settings that a resumed run must share with the run that wrote the checkpoint: the model's
    class, its config dataclass as plain data, the player names, the stream's batch size (where it
    has one) and the seed. Stored in every checkpoint; see :func:`_check_same_settings`."""
    settings: dict = {"model": _describe(type(model))}
    config = getattr(model, "config", None)
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        settings["config"] = json.loads(json.dumps(dataclasses.asdict(config), default=_describe))
    settings["players"] = [p.name for p in players]
    batch_size = getattr(data, "batch_size", None)
    if isinstance(batch_size, int):
        settings["batch_size"] = batch_size
    settings["seed"] = seed
    return settings


def _flat_settings(settings: dict, prefix: str = "") -> dict:
    """Nested settings as ``{"config.vae.latent_dim": 10, ...}``, in their order."""
    flat = {}
    for key, value in settings.items():
        if isinstance(value, dict):
            flat.update(_flat_settings(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _check_same_settings(checkpoint, saved: dict | None, current: dict) -> None:
    """Refuse to resume from a checkpoint written with other settings, naming the first that
    differs (checkpoints written before settings were stored are not checked)."""
    if saved is None:
        return
    saved, current = _flat_settings(saved), _flat_settings(current)
    for key in [*current, *(k for k in saved if k not in current)]:
        old, new = (json.dumps(d[key]) if key in d else "(not set)" for d in (saved, current))
        if old != new:
            raise CheckpointError(
                f"checkpoint {checkpoint} was written by a run with {key}={old}, but this run has {key}={new}: "
                "resume with that run's settings, or start a fresh run with another checkpoint path"
            )


@contextmanager
def _restoring(checkpoint):
    """Name the checkpoint in any error raised while its state is put back into this run's objects."""
    try:
        yield
    except CheckpointError:
        raise
    except READ_ERRORS as err:
        raise CheckpointError(f"checkpoint {checkpoint} does not fit this run: {type(err).__name__}: "
                              f"{one_line(err)}") from err
