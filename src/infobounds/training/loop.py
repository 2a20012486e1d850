"""The one training loop of the book.

``fit`` drives any :class:`~infobounds.core.Trainable` through its update schedule. Per step,
for each ``Update(player, loss, repeats)`` it draws a fresh batch, evaluates the named loss terms,
backpropagates their weighted sum into that player's parameters only, and steps that player's
optimiser. It logs every term, shows them on a tqdm bar, stops on a NaN/inf naming the step and the
term, checkpoints atomically, and resumes so that a resumed CPU run equals an uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm as _tqdm_auto
from tqdm.std import tqdm as _tqdm_text

from infobounds.core import LossTerms, Player, Trainable, Update
from infobounds.profiles import smoke_steps
from infobounds.training.checkpoint import (READ_ERRORS, CheckpointError, check_checkpoint_path, load_checkpoint,
                                            one_line, save_checkpoint)
from infobounds.training.history import History


class NonFiniteLossError(FloatingPointError):
    """A loss term became NaN or infinite; the message names the step, player and term."""


@dataclass
class FitResult:
    """The trained model, its history, the steps done, and the throughput of this call: ``seconds``
    of wall time in the loop and ``examples`` drawn from the stream (every batch of every update,
    the global batch under torchrun)."""

    model: Trainable
    history: History
    steps: int
    seconds: float = 0.0
    examples: int = 0

    @property
    def examples_per_second(self) -> float:
        return self.examples / self.seconds if self.seconds > 0 else float("nan")


RUN_LOG_VAR = "INFOBOUNDS_RUN_LOG"  # a file to which every fit() call appends its throughput (JSON lines)


def _batch_examples(batch) -> int:
    """Number of examples in a batch: the leading size of its first tensor (0 when it has none)."""
    items = batch if isinstance(batch, (tuple, list)) else (batch,)
    return next((int(t.shape[0]) for t in items if isinstance(t, torch.Tensor) and t.ndim), 0)


def _append_run_log(result: FitResult, desc: str, device: str) -> None:
    """Append this call's throughput to ``$INFOBOUNDS_RUN_LOG`` (``reproduce`` sums them per chapter)."""
    path = os.environ.get(RUN_LOG_VAR)
    if not path:
        return
    with open(path, "a") as f:
        f.write(json.dumps({"desc": desc, "device": device, "steps": result.steps, "seconds": result.seconds,
                            "examples": result.examples}) + "\n")


def _make_optimizers(players: list[Player]) -> dict[str, torch.optim.Optimizer]:
    names = [p.name for p in players]
    if len(set(names)) != len(names):
        raise ValueError(f"player names must be unique, got {names}")
    optimizers = {}
    for p in players:
        params = [q for q in p.parameters if q.requires_grad]
        if not params:
            raise ValueError(f"player {p.name!r} has no trainable parameters")
        if p.optimizer is not None:
            optimizers[p.name] = p.optimizer(params, p.lr)
        else:
            # The fused kernel updates every tensor in one pass instead of a Python loop over them,
            # which on CPU is a visible share of a small model's step.
            fused = all(q.is_floating_point() and q.device.type in ("cpu", "cuda") for q in params)
            optimizers[p.name] = torch.optim.Adam(params, lr=p.lr, betas=p.betas, weight_decay=p.weight_decay,
                                                  fused=fused)
    return optimizers


def _make_schedulers(players: list[Player], optimizers: dict) -> dict:
    return {
        p.name: torch.optim.lr_scheduler.StepLR(optimizers[p.name], step_size=p.lr_decay_every, gamma=p.lr_decay)
        for p in players
        if p.lr_decay_every > 0 and p.lr_decay < 1
    }


def _progress_bar(total: int, initial: int, enabled: bool, desc: str):
    if not enabled or os.environ.get("INFOBOUNDS_PROGRESS", "1") == "0":
        return None
    # A text bar in notebooks too: widget bars need a live kernel and vanish from the built book.
    bar_cls = _tqdm_text if "ipykernel" in sys.modules else _tqdm_auto
    return bar_cls(total=total, initial=initial, desc=desc, mininterval=1.0, ncols=110,
                   file=sys.stderr, leave=True)


def _rng_state() -> dict:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class _ScheduleRunner(nn.Module):
    """Calls the i-th loss of the schedule through ``forward``, so DistributedDataParallel can wrap it
    and average each player's gradients across processes during ``backward``."""

    def __init__(self, model: Trainable, schedule: list[Update]):
        super().__init__()
        self.model = model
        self._losses = [u.loss for u in schedule]

    def forward(self, index: int, batch) -> LossTerms:
        return self._losses[index](batch)


def _world() -> tuple[int, int]:
    """(rank, world size) under torchrun with an initialised process group, else (0, 1)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _shard(batch, rank: int, world: int):
    """This process's equal share of a global batch (split along the first dimension)."""
    n = batch[0].shape[0]
    if n % world:
        raise ValueError(f"the global batch of {n} does not split evenly over {world} processes")
    return tuple(t.tensor_split(world)[rank] for t in batch)


def fit(
    model: Trainable,
    data: Iterator,
    *,
    steps: int,
    seed: int | None = 0,
    checkpoint: str | Path | None = None,
    checkpoint_every: int = 0,
    resume: bool = False,
    stop_after: int | None = None,
    autocast=None,
    progress: bool = True,
    desc: str | None = None,
    log_every: int = 1,
    sync_every: int | None = None,
) -> FitResult:
    """Train ``model`` for ``steps`` steps of its update schedule.

    Parameters
    ----------
    model : a :class:`~infobounds.core.Trainable`.
    data : a stream of batches with ``state_dict``/``load_state_dict`` (a
        :class:`~infobounds.data.BatchStream` or a synthetic stream); each ``Update`` repeat draws
        one batch from it.
    steps : total number of schedule steps of the run.
    seed : seeds torch's global generator (used for reparameterisation noise) at the start of a
        fresh run; a resumed run restores the generator state from the checkpoint instead.
    checkpoint : path of the checkpoint file; written every ``checkpoint_every`` steps and at the
        end, atomically.
    resume : continue from ``checkpoint`` if that file exists, else start a fresh run (so a
        restart loop can always pass ``resume=True``). The checkpoint must have been written by a
        run with the same settings (model class, config, players, batch size, seed) and at a step
        no later than ``steps``; otherwise :class:`CheckpointError` names the first difference. A
        corrupt or foreign file raises :class:`CheckpointError`, and a folder at ``checkpoint``
        raises it before any training, with or without ``resume``.
    stop_after : stop (with a checkpoint) after this step, as an interruption would; for tests and
        for splitting long runs.
    autocast : a context manager factory (``profile.autocast``) used around the loss; None for none.
    log_every : record the terms in the history every this many steps (1 keeps every step).
    sync_every : read the losses on the host (and check them for NaN/inf) every this many steps;
        default 10 on CPU and 50 on a GPU, where each read waits for the device. A NaN is still
        reported with the exact step at which it first appeared.

    In a smoke run (``INFOBOUNDS_SMOKE=1``, :mod:`infobounds.profiles`) ``steps`` is cut to
    :data:`~infobounds.profiles.SMOKE_STEPS`: every chapter's training goes through here, so this is
    the one place that shortens it.

    Under ``torchrun`` with an initialised process group (gloo on CPU, NCCL on GPU) the same call
    trains data-parallel: every process draws the same global batch from an identically seeded
    stream and keeps its equal share, DistributedDataParallel averages the gradients, the logged
    terms are averaged over processes, and only rank 0 shows progress and writes checkpoints. The
    trajectory is that of one process with the same global batch.

    Returns
    -------
    FitResult with the model, its :class:`History` and the number of steps done.
    """
    if steps <= 0:
        raise ValueError(f"steps must be positive, got {steps}")
    if checkpoint_every < 0 or log_every < 1:
        raise ValueError("checkpoint_every must be >= 0 and log_every >= 1")
    if (checkpoint_every or resume or stop_after) and checkpoint is None:
        raise ValueError("checkpoint_every, resume and stop_after need a checkpoint path")
    if not (hasattr(data, "state_dict") and hasattr(data, "load_state_dict")):
        raise TypeError(
            "data must be a resumable stream (infobounds.data.BatchStream or a synthetic stream), "
            f"got {type(data).__name__}"
        )
    steps = smoke_steps(steps)  # a smoke run (INFOBOUNDS_SMOKE) stops every training run after a few steps

    players = model.players()
    schedule: list[Update] = model.schedule()
    optimizers = _make_optimizers(players)
    schedulers = _make_schedulers(players, optimizers)
    unknown = {u.player for u in schedule} - set(optimizers)
    if unknown:
        raise ValueError(f"schedule names unknown players {sorted(unknown)}; players: {sorted(optimizers)}")

    rank, world = _world()
    if checkpoint is not None and rank == 0:
        check_checkpoint_path(checkpoint)  # now, not after the whole run when the first write fails
    settings = _run_settings(model, players, data, seed)
    runner = None
    if world > 1:
        device_ids = [next(model.parameters()).device.index] if next(model.parameters()).is_cuda else None
        runner = DistributedDataParallel(_ScheduleRunner(model, schedule), device_ids=device_ids,
                                         find_unused_parameters=True)

    history = History()
    start = 0
    if resume and checkpoint is not None and Path(checkpoint).is_file():
        state = load_checkpoint(checkpoint)
        with _restoring(checkpoint):
            _check_same_settings(checkpoint, state.get("settings"), settings)
            model.load_state_dict(state["model"])
            for name, opt in optimizers.items():
                opt.load_state_dict(state["optimizers"][name])
            for name, sch in schedulers.items():
                sch.load_state_dict(state["schedulers"][name])
            data.load_state_dict(state["data"])
            _set_rng_state(state["rng"])
            history = History.from_state(state["history"])
            start = int(state["step"])
    elif seed is not None:
        torch.manual_seed(seed)

    def write_checkpoint(step: int) -> None:
        if rank != 0:
            return
        save_checkpoint(
            {
                "step": step,
                "model": model.state_dict(),
                "optimizers": {n: o.state_dict() for n, o in optimizers.items()},
                "schedulers": {n: s.state_dict() for n, s in schedulers.items()},
                "data": data.state_dict(),
                "rng": _rng_state(),
                "history": history.state_dict(),
                "settings": settings,
            },
            checkpoint,
        )

    end = steps if stop_after is None else min(steps, stop_after)
    _check_resume_not_past_end(checkpoint, start, end, steps, stop_after)
    if sync_every is None:
        # Reading a loss on the host waits for the GPU; on CPU it costs about 2 ms per read.
        sync_every = 10 if next(model.parameters()).device.type == "cpu" else 50
    bar = _progress_bar(steps, start, progress and rank == 0, desc or type(model).__name__)
    pending: list[tuple[int, dict[str, torch.Tensor]]] = []

    def flush() -> None:
        """Move the pending per-step values to the host, check them, and log them."""
        if not pending:
            return
        keys = [list(row) for _, row in pending]
        values = torch.stack([torch.stack(list(row.values())).float() for _, row in pending])
        if world > 1:
            dist.all_reduce(values)
            values /= world
        values = values.cpu()
        for (step_k, _), names, vals in zip(pending, keys, values.tolist()):
            row = dict(zip(names, vals))
            _check_finite(step_k, row)
            if step_k % log_every == 0 or step_k == end:
                history.append({"step": float(step_k), **row})
        if bar is not None:
            bar.set_postfix({k.split("/")[-1]: f"{v:.3g}" for k, v in row.items()}, refresh=False)
        pending.clear()

    model.train()
    examples = 0
    started = time.perf_counter()
    try:
        for step in range(start + 1, end + 1):
            row: dict[str, torch.Tensor] = {}
            for index, update in enumerate(schedule):
                opt = optimizers[update.player]
                for _ in range(update.repeats):
                    batch = next(data)
                    examples += _batch_examples(batch)
                    # Every player's gradients are cleared: a generator loss must not leave
                    # gradients in the critic that the critic's next step would apply.
                    for o in optimizers.values():
                        o.zero_grad(set_to_none=True)
                    if runner is not None:
                        batch = _shard(batch, rank, world)
                    call = (lambda b: runner(index, b)) if runner is not None else update.loss
                    ctx = autocast() if autocast is not None and model.autocast_safe else None
                    if ctx is None:
                        out = call(batch)
                    else:
                        with ctx:
                            out = call(batch)
                    if not isinstance(out, LossTerms):
                        raise TypeError(f"loss of player {update.player!r} must return LossTerms, "
                                        f"got {type(out).__name__}")
                    total = out.total
                    total.backward()
                    opt.step()
                    if update.player in schedulers:
                        schedulers[update.player].step()
                for name, value in out.terms.items():
                    row[f"{update.player}/{name}"] = value.detach()
                row[f"{update.player}/total"] = total.detach()
                for name, value in out.metrics.items():
                    row[f"{update.player}/{name}"] = value.detach()
            pending.append((step, row))
            checkpoint_due = checkpoint is not None and checkpoint_every and step % checkpoint_every == 0
            if len(pending) >= sync_every or step == end or checkpoint_due:
                flush()
            if bar is not None:
                bar.update(1)
            if checkpoint_due:
                write_checkpoint(step)
    finally:
        if bar is not None:
            bar.close()
    seconds = time.perf_counter() - started  # the last flush read the losses, so the device is done
    if checkpoint is not None:
        write_checkpoint(end)
    model.eval()
    result = FitResult(model=model, history=history, steps=end, seconds=seconds, examples=examples)
    if rank == 0:
        _append_run_log(result, desc or type(model).__name__, next(model.parameters()).device.type)
    return result


def _describe(value) -> str:
    """A name for a non-data config value that is the same in every process: the qualified name of
    a class or function, else its repr without memory addresses."""
    name = getattr(value, "__qualname__", None)
    if name is not None:
        return f"{getattr(value, '__module__', '')}.{name}"
    return re.sub(r" at 0x[0-9a-fA-F]+", "", repr(value))


def _run_settings(model: Trainable, players: list[Player], data, seed: int | None) -> dict:
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


def _check_resume_not_past_end(checkpoint, start: int, end: int, steps: int, stop_after: int | None) -> None:
    """Refuse a resume whose checkpoint is already past the step this call would end at: the loop
    would not run, and the final save would label the later state with the earlier step."""
    if start > end:
        limit = f"steps={steps}" if end == steps else f"stop_after={stop_after}"
        raise CheckpointError(f"checkpoint {checkpoint} is at step {start}, beyond {limit}: pass at least "
                              f"{start} steps to continue it, or start a fresh run with another checkpoint path")


def _check_finite(step: int, row: dict[str, float]) -> None:
    """Raise :class:`NonFiniteLossError` naming the first non-finite term of a step's values."""
    for key, value in row.items():
        if not math.isfinite(value):
            player, term = key.split("/", 1)
            what = "the weighted total" if term == "total" else f"loss term {term!r}"
            raise NonFiniteLossError(
                f"step {step}, player {player!r}: {what} is {value} "
                "(lower the learning rate, check the inputs for NaN, or clip the log-variance)"
            )


def steps_for_epochs(epochs: float, n_examples: int, batch_size: int) -> int:
    """Number of single-update steps that make ``epochs`` passes over ``n_examples``."""
    if epochs <= 0:
        raise ValueError(f"epochs must be positive, got {epochs}")
    return max(1, math.ceil(epochs * (n_examples // batch_size)))
