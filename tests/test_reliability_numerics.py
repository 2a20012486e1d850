"""Reliability probes 4.1-4.4 (numerical faults) and 5.1-5.4 (determinism) of
``/work/shared/reviews/reliability-probes.md``: a NaN or inf stops training naming the step, player
and term, whatever ``sync_every`` is, without poisoning the checkpoint, and on the command line as
one line; the same seed gives the same checkpoint and metrics, another seed others."""

import json
import re

import pytest
import torch
from torch import nn

from infobounds.core import OptimizerConfig
from infobounds.__main__ import main
from infobounds.data import BatchStream
from infobounds.estimators.mi import estimate_mi
from infobounds.models.base import LossTerms, Trainable
from infobounds.models.vib import VIB, VIBConfig
from infobounds.recipes import RECIPES
from infobounds.training import NonFiniteLossError, fit, load_checkpoint
from reliability_support import assert_same_state, one_error_line, tiny_data, tiny_vib

NON_FINITE = r"step (\d+), player '(\w+)': loss term '(\w+)' is (nan|inf|-inf)"


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setenv("INFOBOUNDS_PROGRESS", "0")


def toy_data(n=256):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(n, 10, generator=gen)
    return x, (x.sum(1) > 0).long()


# lr=1e6 as in the probe; a network this wide overflows (a 16-unit one only diverges, finitely)
DIVERGING = {"hidden": (64, 64), "latent_dim": 8, "optim": OptimizerConfig(lr=1e6)}


def test_probe_4_1_nan_guard_names_the_same_step_for_every_sync_every():
    x, y = tiny_data()
    messages = []
    for sync_every in (1, 7, 10, 50):
        with pytest.raises(NonFiniteLossError) as info:
            torch.manual_seed(0)
            fit(VIB(VIBConfig(input_dim=12, n_classes=2, **DIVERGING)), BatchStream(x, y, batch_size=32, seed=0), steps=100, sync_every=sync_every,
                progress=False)
        messages.append(str(info.value))
    assert re.match(NON_FINITE, messages[0]) and "lower the learning rate" in messages[0]
    assert messages == [messages[0]] * 4


def test_probe_4_2_nan_inputs_are_named_at_step_1():
    x, y = toy_data()
    x[5, 3] = float("nan")
    with pytest.raises(NonFiniteLossError, match=r"step 1, player 'main': loss term 'ce' is nan"):
        fit(VIB(VIBConfig(input_dim=10, hidden=(16,), latent_dim=3, n_classes=2)),
            BatchStream(x, y, batch_size=256), steps=5, progress=False)
    # estimate_mi: its critic's loss is NaN at step 1 (or the inputs are refused up front, naming the NaN)
    with pytest.raises((NonFiniteLossError, ValueError), match=r"(?i)nan"):
        x_mi, _ = toy_data(1024)
        x_mi[:, 3] = float("nan")
        estimate_mi(x_mi, torch.randn(1024, 2), steps=5, batch_size=128, hidden=(8,))


class TurnsNaNAt(Trainable):
    """One weight pulled towards 0; its loss is NaN from the ``bad_step``-th call on."""

    def __init__(self, bad_step):
        super().__init__()
        self.w = nn.Parameter(torch.ones(3))
        self.calls = 0
        self.bad_step = bad_step

    def loss(self, batch):
        self.calls += 1
        poison = float("nan") if self.calls >= self.bad_step else 0.0
        return LossTerms(terms={"distortion": (self.w ** 2).sum() + poison})


def test_probe_4_3_nan_after_a_checkpoint_leaves_that_checkpoint_finite(tmp_path):
    x, y = toy_data()
    ckpt = tmp_path / "run.pt"
    with pytest.raises(NonFiniteLossError, match=r"step 8, player 'main': loss term 'distortion' is nan"):
        fit(TurnsNaNAt(8), BatchStream(x, y, batch_size=32), steps=20, checkpoint=ckpt, checkpoint_every=5,
            progress=False)
    state = load_checkpoint(ckpt)
    assert state["step"] == 5 and torch.isfinite(state["model"]["w"]).all()
    assert len(state["history"]) == 5


def test_probe_4_4_nan_on_the_cli_is_one_line(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(RECIPES, "vib", lambda profile, batch_size, seed: tiny_vib(profile, batch_size, seed, **DIVERGING))
    assert main(["train", "vib", "--steps", "50", "--out", str(tmp_path)]) == 2
    line = one_error_line(capsys)
    assert re.match(rf"infobounds: {NON_FINITE} \(lower the learning rate", line)


def cli_run(tmp_path, name, *args, model="vib"):
    out = tmp_path / name
    assert main(["train", model, "--out", str(out), *args]) == 0
    return load_checkpoint(out / f"{model}.pt"), json.loads((out / f"{model}.json").read_text())["metrics"]


@pytest.fixture(scope="module")
def vib_seed_3(tmp_path_factory):
    """``train vib --steps 30 --seed 3`` (real recipe, one thread): the reference of 5.1, 5.2 and 5.4."""
    # A module fixture is set up before conftest's one-thread fixture, so it sets the thread
    # count itself: with the machine's default (2 on CI) the reductions differ in the last bit.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("INFOBOUNDS_PROGRESS", "0")
            return cli_run(tmp_path_factory.mktemp("seed3"), "a", "--steps", "30", "--seed", "3")
    finally:
        torch.set_num_threads(threads)


def test_probe_5_1_same_seed_same_checkpoint_and_metrics(capsys, tmp_path, vib_seed_3):
    state, metrics = cli_run(tmp_path, "b", "--steps", "30", "--seed", "3")
    assert_same_state(vib_seed_3[0], state)
    assert metrics == vib_seed_3[1]


def test_probe_5_2_same_seed_same_numbers_with_two_threads(capsys, tmp_path):
    torch.set_num_threads(2)  # the conftest fixture restores one thread afterwards
    first = cli_run(tmp_path, "a", "--steps", "30", "--seed", "3")
    second = cli_run(tmp_path, "b", "--steps", "30", "--seed", "3")
    assert_same_state(first[0], second[0])
    assert first[1] == second[1]


def test_probe_5_3_same_seed_same_vae(capsys, tmp_path):
    first = cli_run(tmp_path, "a", "--steps", "10", "--seed", "3", model="vae")
    second = cli_run(tmp_path, "b", "--steps", "10", "--seed", "3", model="vae")
    assert_same_state(first[0], second[0])
    assert first[1] == second[1]


def test_probe_5_4_another_seed_other_numbers(capsys, tmp_path, vib_seed_3):
    state, metrics = cli_run(tmp_path, "b", "--steps", "30", "--seed", "4")
    reference = vib_seed_3[0]["model"]
    assert all(not torch.equal(reference[k], state["model"][k]) for k in reference if reference[k].is_floating_point())
    assert metrics != vib_seed_3[1]
