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
"""

from __future__ import annotations

import contextlib
import os
import random
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import torch

PROFILE_NAMES = ("quick", "full")
ENV_VAR = "INFOBOUNDS_PROFILE"

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
        return f"profile={self.name}, device={self.device}, torch threads={torch.get_num_threads()}"


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


def get_profile(name: str | None = None, device: str | torch.device | None = None) -> Profile:
    """Build the active :class:`Profile`.

    Parameters
    ----------
    name : ``"quick"`` or ``"full"``; default from :func:`default_profile_name`.
    device : default ``cuda`` when available, else ``cpu``.
    """
    name = default_profile_name() if name is None else name
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return Profile(name=name, device=torch.device(device))


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


def as_dict(obj: Any) -> dict:
    """A dataclass or mapping as a plain dict (for logging configs next to results)."""
    from dataclasses import asdict, is_dataclass

    if is_dataclass(obj):
        return asdict(obj)
    return dict(obj)
