"""Every ``.paper()`` config builds its model, and the model trains one step at the paper's input size.

The full profile's chapters build these configs; no GPU run has executed them, so a typo or a width
that does not fit the paper's data would first show on a lent GPU. Each case below states the paper's
data (shape, value range, labels) independently of the config, so a config whose input size is wrong
fails here. ``test_every_paper_config_has_a_case`` finds every ``paper`` classmethod in
``infobounds.models``, so a new one without a case fails too.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Callable

import pytest
import torch

import infobounds.models
from infobounds.data import BatchStream
from infobounds.models.ctrl import CTRL, CTRLConfig
from infobounds.models.factorvae import FactorVAE, FactorVAEConfig
from infobounds.models.infogan import InfoGAN, InfoGANConfig
from infobounds.models.vib import VIB, VIBConfig
from infobounds.training import fit

BATCH = 16  # small: the test is about shapes and gradients, not about the paper's batch size


def mnist_images(n: int, gen: torch.Generator) -> torch.Tensor:
    return torch.rand(n, 1, 28, 28, generator=gen)  # MNIST: (1, 28, 28) in [0, 1]


def digits(n: int, gen: torch.Generator) -> torch.Tensor:
    return torch.randint(0, 10, (n,), generator=gen)  # ten classes


@dataclass(frozen=True)
class PaperCase:
    """A ``.paper()`` config, the model it configures, and a batch of the paper's data."""

    config: Callable[[], object]
    model: Callable[[object], torch.nn.Module]
    batch: Callable[[int, torch.Generator], tuple[torch.Tensor, ...]]
    data: str  # the paper's data, for the test's id and messages


CASES = {
    # Alemi et al. (2017): permutation-invariant MNIST, flattened 784-vectors and ten labels.
    "VIBConfig": PaperCase(VIBConfig.paper, VIB,
                           lambda n, g: (mnist_images(n, g).reshape(n, -1), digits(n, g)), "MNIST, (784,)"),
    # Kim & Mnih (2018): dSprites, binary 64 x 64 images.
    "FactorVAEConfig": PaperCase(FactorVAEConfig.paper, FactorVAE,
                                 lambda n, g: ((torch.rand(n, 1, 64, 64, generator=g) > 0.8).float(),),
                                 "dSprites, (1, 64, 64) binary"),
    # Chen et al. (2016): MNIST images.
    "InfoGANConfig": PaperCase(InfoGANConfig.paper, InfoGAN, lambda n, g: (mnist_images(n, g),), "MNIST, (1, 28, 28)"),
    # Dai et al. (2022): MNIST images and their ten labels.
    "CTRLConfig": PaperCase(CTRLConfig.paper, CTRL, lambda n, g: (mnist_images(n, g), digits(n, g)),
                            "MNIST, (1, 28, 28) and labels"),
}


def paper_configs_in_package() -> set[str]:
    """Names of the classes in ``infobounds.models`` that define a ``paper`` classmethod."""
    found = set()
    for info in pkgutil.iter_modules(infobounds.models.__path__):
        module = importlib.import_module(f"infobounds.models.{info.name}")
        for name, obj in vars(module).items():
            if isinstance(obj, type) and obj.__module__ == module.__name__ and "paper" in vars(obj):
                found.add(name)
    return found


def test_every_paper_config_has_a_case():
    found = paper_configs_in_package()
    assert found, "no .paper() config found: the discovery is broken"
    missing = found - set(CASES)
    assert not missing, f".paper() configs without a case in this test: {sorted(missing)}"
    stale = set(CASES) - found
    assert not stale, f"cases for configs that no longer have .paper(): {sorted(stale)}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_paper_config_trains_one_step_at_the_papers_input_size(name):
    case = CASES[name]
    torch.manual_seed(0)
    model = case.model(case.config())
    batch = case.batch(BATCH, torch.Generator().manual_seed(0))
    before = {k: v.detach().clone() for k, v in model.state_dict().items() if v.is_floating_point()}
    try:
        # One step of the real loop: every update of the schedule runs its forward pass, backward
        # pass and optimiser step; a NaN or infinite term raises NonFiniteLossError.
        result = fit(model, BatchStream(*batch, batch_size=BATCH, seed=0), steps=1, seed=0, progress=False)
    except (RuntimeError, ValueError) as err:
        pytest.fail(f"{name}.paper() does not train on the paper's data ({case.data}): {err}")
    assert result.steps == 1 and len(result.history) == 1
    moved = {k for k, v in model.state_dict().items() if k in before and not torch.equal(v, before[k])}
    for player in model.players():
        names = {k for k, p in model.named_parameters() if any(p is q for q in player.parameters)}
        assert names & moved, f"{name}.paper(): player {player.name!r} was not updated by its step"
