"""The one training loop of the book.

``fit`` drives any :class:`~infobounds.core.Trainable` through its update schedule. Per step, for
each ``Update(player, loss, repeats)`` it draws a fresh batch, evaluates the named loss terms,
backpropagates their weighted sum into that player's parameters only, and steps that player's
optimiser. Its pieces, each in its own module: the run's state, checkpoints and resume
(:mod:`~infobounds.training.run_state`), the NaN/inf guard, history and progress bar
(:mod:`~infobounds.training.step_log`), data parallelism under torchrun
(:mod:`~infobounds.training.parallel`) and the throughput (:mod:`~infobounds.training.throughput`).
A resumed CPU run equals an uninterrupted one bit for bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import torch

from infobounds.core import LossTerms, Trainable, Update
from infobounds.profiles import smoke_steps
from infobounds.training.history import History
from infobounds.training.parallel import Processes, world
from infobounds.training.run_state import Checkpointer, TrainingState, run_settings
from infobounds.training.step_log import NonFiniteLossError, StepLog, progress_bar
from infobounds.training.throughput import RUN_LOG_VAR, Throughput

__all__ = ["RUN_LOG_VAR", "FitResult", "NonFiniteLossError", "fit", "steps_for_epochs"]


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
    _check_arguments(data, steps, checkpoint, checkpoint_every, resume, stop_after, log_every)
    steps = smoke_steps(steps)  # a smoke run (INFOBOUNDS_SMOKE) stops every training run after a few steps
    state = TrainingState.build(model, data)
    rank, size = world()
    saver = Checkpointer(checkpoint, checkpoint_every, rank, run_settings(model, state.players, data, seed))
    processes = Processes(model, state.schedule, rank, size)
    start = saver.restore(state) if saver.can_resume(resume) else _fresh_start(seed)
    end = steps if stop_after is None else min(steps, stop_after)
    saver.check_not_past_end(start, end, steps, stop_after)
    bar = progress_bar(steps, start, progress and rank == 0, desc or type(model).__name__)
    log = StepLog(state.history, end, log_every, _sync_every(model) if sync_every is None else sync_every,
                  processes.average, bar)
    throughput = Throughput()
    model.train()
    with throughput, log:
        for step in range(start + 1, end + 1):
            row: dict[str, torch.Tensor] = {}
            for index, update in enumerate(state.schedule):
                for _ in range(update.repeats):
                    terms, total = _scheduled_update(state, processes, throughput, index, update, autocast)
                row.update(_logged_values(update.player, terms, total))  # the last repeat's values
            checkpoint_due = saver.due(step)
            log.record(step, row, sync=checkpoint_due)
            if checkpoint_due:
                saver.save(state, step)
    saver.save(state, end)
    model.eval()
    if rank == 0:
        throughput.append_to_run_log(desc or type(model).__name__, next(model.parameters()).device.type, end)
    return FitResult(model=model, history=state.history, steps=end, seconds=throughput.seconds,
                     examples=throughput.examples)


def _check_arguments(data, steps: int, checkpoint, checkpoint_every: int, resume: bool, stop_after: int | None,
                     log_every: int) -> None:
    """``ValueError``/``TypeError`` for arguments of :func:`fit` that no run could use."""
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


def _fresh_start(seed: int | None) -> int:
    """Seed torch's global generator for a fresh run (``None`` leaves it as it is); the run starts at step 0."""
    if seed is not None:
        torch.manual_seed(seed)
    return 0


def _sync_every(model: Trainable) -> int:
    """Steps between host reads of the losses: reading a loss on the host waits for the GPU; on CPU it
    costs about 2 ms per read."""
    return 10 if next(model.parameters()).device.type == "cpu" else 50


def _scheduled_update(state: TrainingState, processes: Processes, throughput: Throughput, index: int,
                      update: Update, autocast) -> tuple[LossTerms, torch.Tensor]:
    """One optimiser step of ``update.player``: draw a fresh batch, clear the gradients, evaluate the
    loss on this process's share of the batch (under ``autocast`` where the model allows it),
    backpropagate its weighted total, and step the player's optimiser and learning-rate schedule.
    Returns the loss terms and their total."""
    batch = next(state.data)
    throughput.count(batch)
    # Every player's gradients are cleared: a generator loss must not leave gradients in the critic
    # that the critic's next step would apply.
    for optimizer in state.optimizers.values():
        optimizer.zero_grad(set_to_none=True)
    batch = processes.shard(batch)
    loss = processes.loss(index, update)
    if autocast is not None and state.model.autocast_safe:
        with autocast():
            terms = loss(batch)
    else:
        terms = loss(batch)
    if not isinstance(terms, LossTerms):
        raise TypeError(f"loss of player {update.player!r} must return LossTerms, got {type(terms).__name__}")
    total = terms.total
    total.backward()
    state.optimizers[update.player].step()
    if update.player in state.schedulers:
        state.schedulers[update.player].step()
    return terms, total


def _logged_values(player: str, terms: LossTerms, total: torch.Tensor) -> dict[str, torch.Tensor]:
    """``{"<player>/<term>": value}`` for the terms, the weighted total and the metrics, detached."""
    row = {f"{player}/{name}": value.detach() for name, value in terms.terms.items()}
    row[f"{player}/total"] = total.detach()
    row.update({f"{player}/{name}": value.detach() for name, value in terms.metrics.items()})
    return row


def steps_for_epochs(epochs: float, n_examples: int, batch_size: int) -> int:
    """Number of single-update steps that make ``epochs`` passes over ``n_examples``."""
    if epochs <= 0:
        raise ValueError(f"epochs must be positive, got {epochs}")
    return max(1, math.ceil(epochs * (n_examples // batch_size)))
