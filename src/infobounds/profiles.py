"""Run profiles: every size a chapter uses comes from here.

``INFOBOUNDS_PROFILE=quick|full`` chooses the profile; without it the profile is ``quick`` on any
hardware, with or without CUDA: the full profile's hours of GPU time are only spent when asked for.
The device is chosen apart from the profile (CUDA when available), so a quick run on a GPU machine
still uses the GPU.

* ``quick``: a chapter executes in about a minute on two CPU cores and still shows its phenomenon on
  real data (subsets, MLPs, few epochs).
* ``full``: the paper's setting on one GPU, data resident on the device, bf16 autocast where the
  model declares it safe.

A chapter writes both sizes side by side, so a reader sees what the full run would do::

    cfg = profile.pick(quick=dict(epochs=3, n_train=20_000), full=dict(epochs=200, n_train=60_000))

Smoke runs
----------
``INFOBOUNDS_SMOKE=1`` (``python -m infobounds reproduce CHAPTER --smoke``) runs a profile, in practice
``full``, as a rehearsal on a CPU: every network, config, image shape and batch size is the
profile's, but :func:`infobounds.training.fit` stops each training run after :data:`SMOKE_STEPS`
steps and the data API keeps at most :data:`SMOKE_EXAMPLES` examples of each data set (evaluation
sets included); evaluations that draw many samples per example or vote many times (IWAE's K, the
disentanglement metrics) draw at most :data:`SMOKE_DRAWS`. A data set that is not on the machine is replaced by a generated stand-in of the
same shape, dtype, value range and classes, read through the real loaders
(:mod:`infobounds.data.standins`). Nothing is recorded (:mod:`infobounds.results` writes nothing) and
no classifier is cached outside a temporary folder, so a smoke run leaves no number behind. It finds
a typo, a shape mismatch or a missing data path in minutes instead of on a lent GPU.
"""

from __future__ import annotations

import contextlib
import os
import random
import sys
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import torch

PROFILE_NAMES = ("quick", "full")
ENV_VAR = "INFOBOUNDS_PROFILE"
SMOKE_VAR = "INFOBOUNDS_SMOKE"
SMOKE_STEPS = 2  # steps of every fit() in a smoke run: the second one uses the optimisers' state
SMOKE_EXAMPLES = 256  # examples kept of every data set in a smoke run (about 25 per class, cheap to evaluate)
SMOKE_DRAWS = 8  # draws or votes per evaluation in a smoke run (IWAE's K, a metric's votes and their batches)
_SWITCH = {"": False, "0": False, "false": False, "no": False, "off": False,
           "1": True, "true": True, "yes": True, "on": True}

T = TypeVar("T")


@dataclass(frozen=True)
class Profile:
    """The active run profile.

    Attributes
    ----------
    name : ``"quick"`` or ``"full"``.
    device : where models and resident data live.
    """

    name: str
    device: torch.device
    smoke: bool = False  # a smoke run (module docstring): phenomenon asserts are skipped under it

    def __post_init__(self) -> None:
        if self.name not in PROFILE_NAMES:
            raise ValueError(
                f"unknown profile {self.name!r}: choose one of {', '.join(PROFILE_NAMES)} "
                f"(set {ENV_VAR})"
            )

    @property
    def is_quick(self) -> bool:
        return self.name == "quick"

    def pick(self, *, quick: T, full: T) -> T:
        """Return ``quick`` or ``full`` according to the profile.

        Chapters pass both values in one call so the reader sees the paper's setting next to the
        laptop-sized one.
        """
        return quick if self.is_quick else full

    def autocast(self, enabled: bool = True) -> contextlib.AbstractContextManager:
        """bf16 autocast on CUDA, a no-op elsewhere (CPU runs stay in float32 and bit-repeatable)."""
        if enabled and self.device.type == "cuda":
            return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def describe(self) -> str:
        smoke = f", smoke run ({SMOKE_STEPS} steps per fit, <= {SMOKE_EXAMPLES} examples per data set)" \
            if self.smoke else ""
        return f"profile={self.name}{smoke}, device={self.device}, torch threads={torch.get_num_threads()}"


def default_profile_name() -> str:
    """``$INFOBOUNDS_PROFILE`` if set, else ``quick`` (whether or not CUDA is available)."""
    name = os.environ.get(ENV_VAR, "").strip().lower()
    if name:
        if name not in PROFILE_NAMES:
            raise ValueError(
                f"{ENV_VAR}={name!r} is not a profile: choose one of {', '.join(PROFILE_NAMES)}"
            )
        return name
    return "quick"


def smoke_enabled() -> bool:
    """Whether this process is a smoke run: ``$INFOBOUNDS_SMOKE`` is ``1``/``true``/``yes``/``on``
    (unset, empty, ``0``, ``false``, ``no``, ``off``: not). Anything else is a ``ValueError`` naming
    the variable, so a typo cannot start hours of full-profile training."""
    value = os.environ.get(SMOKE_VAR, "").strip().lower()
    if value not in _SWITCH:
        raise ValueError(f"{SMOKE_VAR}={value!r} is not a switch: set it to 1 (smoke run) or 0")
    return _SWITCH[value]


def smoke_steps(steps: int) -> int:
    """``steps``, or at most :data:`SMOKE_STEPS` in a smoke run (what :func:`~infobounds.training.fit` runs)."""
    return min(steps, SMOKE_STEPS) if smoke_enabled() else steps


def smoke_examples(n: int | None) -> int | None:
    """The number of examples a data set keeps: ``n`` (None: all), or at most :data:`SMOKE_EXAMPLES`
    in a smoke run (what the data API's loaders keep)."""
    if not smoke_enabled():
        return n
    return SMOKE_EXAMPLES if n is None else min(n, SMOKE_EXAMPLES)


def smoke_batch(batch_size: int, n: int) -> int:
    """The batch size for ``n`` examples: ``batch_size``, or at most ``n`` in a smoke run, whose data
    sets are cut to :data:`SMOKE_EXAMPLES` (a full batch stays a full batch; smaller ones are kept).
    Outside a smoke run a batch larger than the data stays an error for the caller to raise."""
    return min(batch_size, max(n, 1)) if smoke_enabled() else batch_size


def smoke_draws(n: int) -> int:
    """How many draws an evaluation makes: ``n``, or at most :data:`SMOKE_DRAWS` in a smoke run. For
    the evaluations whose cost is a count of Monte Carlo draws or votes times a data set (IWAE's K
    samples per image, the votes of a disentanglement metric), which the data API's cap leaves large."""
    return min(n, SMOKE_DRAWS) if smoke_enabled() else n


_announced = False


def get_profile(name: str | None = None, device: str | torch.device | None = None) -> Profile:
    """Build the active :class:`Profile`.

    Parameters
    ----------
    name : ``"quick"`` or ``"full"``; default from :func:`default_profile_name`.
    device : default ``cuda`` when available, else ``cpu``.

    In a smoke run (:func:`smoke_enabled`) the profile's ``smoke`` is True and the first call says
    so in one line on stderr.
    """
    global _announced
    name = default_profile_name() if name is None else name
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    smoke = smoke_enabled()
    if smoke and not _announced:
        _announced = True
        print(f"smoke run of the {name} profile: its networks, configs and batch sizes, but every fit() stops "
              f"after {SMOKE_STEPS} steps and every data set keeps <= {SMOKE_EXAMPLES} examples; nothing is "
              "recorded", file=sys.stderr)
    return Profile(name=name, device=torch.device(device), smoke=smoke)


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch so that a CPU run repeats exactly; return a torch generator.

    The returned generator is for code that wants its own stream (data shuffling, for example) so
    that consuming random numbers in one place does not shift another.
    """
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    gen = torch.Generator()
    gen.manual_seed(seed)
    return gen
