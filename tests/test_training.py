"""The training loop: resume equals uninterrupted, determinism, NaN guard, multi-player schedules,
atomic checkpoints."""

import pytest
import torch
from torch import nn

from infobounds.core import OptimizerConfig
from infobounds.data import BatchStream
from infobounds.models.base import LossTerms, Player, Trainable, Update
from infobounds.models.vib import VIB, VIBConfig
from infobounds.training import NonFiniteLossError, fit, load_checkpoint, save_checkpoint


def toy_data(n=256, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 10, generator=gen)
    return x, (x.sum(1) > 0).long()


def small_vib():
    return VIB(VIBConfig(input_dim=10, hidden=(16,), latent_dim=3, n_classes=2,
                         optim=OptimizerConfig(lr=1e-2, decay=0.5, decay_every=7)))


def params(model):
    return [p.detach().clone() for p in model.parameters()]


def test_resumed_run_equals_uninterrupted(tmp_path):
    x, y = toy_data()
    torch.manual_seed(123)
    a = small_vib()
    fit(a, BatchStream(x, y, batch_size=32, seed=1), steps=30, seed=5, progress=False)

    torch.manual_seed(123)
    b = small_vib()
    ckpt = tmp_path / "run.pt"
    fit(b, BatchStream(x, y, batch_size=32, seed=1), steps=30, seed=5, checkpoint=ckpt, stop_after=13,
        progress=False)
    # A fresh process would rebuild everything from scratch: new model, new stream.
    torch.manual_seed(999)
    c = small_vib()
    resumed = fit(c, BatchStream(x, y, batch_size=32, seed=1), steps=30, seed=5, checkpoint=ckpt, resume=True,
                  progress=False)
    assert resumed.steps == 30 and len(resumed.history) == 30
    for pa, pc in zip(a.parameters(), c.parameters()):
        assert torch.equal(pa, pc)


def test_same_seed_same_numbers():
    x, y = toy_data()
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = small_vib()
        result = fit(model, BatchStream(x, y, batch_size=32, seed=2), steps=20, seed=3, progress=False)
        runs.append((params(model), result.history["main/total"]))
    assert all(torch.equal(p, q) for p, q in zip(runs[0][0], runs[1][0]))
    assert (runs[0][1] == runs[1][1]).all()


class ExplodingModel(Trainable):
    def __init__(self, bad_step):
        super().__init__()
        self.w = nn.Parameter(torch.ones(1))
        self.calls = 0
        self.bad_step = bad_step

    def loss(self, batch):
        self.calls += 1
        bad = torch.tensor(float("nan")) if self.calls == self.bad_step else torch.tensor(0.0)
        return LossTerms(terms={"distortion": (self.w ** 2).sum(), "rate": self.w.sum() * 0 + bad})


@pytest.mark.parametrize("sync_every", [1, 5])
def test_nan_guard_names_step_and_term(sync_every):
    # With deferred host reads (as on a GPU) the error still names the step where the NaN appeared.
    x, y = toy_data()
    with pytest.raises(NonFiniteLossError, match=r"step 4, player 'main': loss term 'rate'"):
        fit(ExplodingModel(bad_step=4), BatchStream(x, y, batch_size=32), steps=10, progress=False,
            sync_every=sync_every)


class TwoPlayers(Trainable):
    """A 'critic' that takes three steps per 'generator' step; each player must move only its own weights."""

    def __init__(self):
        super().__init__()
        self.gen = nn.Linear(10, 1)
        self.critic = nn.Linear(10, 1)
        self.critic_calls = 0

    def critic_loss(self, batch):
        self.critic_calls += 1
        x, _ = batch
        return LossTerms(terms={"critic": (self.critic(x) - self.gen(x)).pow(2).mean()})

    def generator_loss(self, batch):
        x, _ = batch
        return LossTerms(terms={"generator": (self.critic(x) + self.gen(x)).pow(2).mean()})

    def players(self):
        return [Player("critic", list(self.critic.parameters())), Player("generator", list(self.gen.parameters()))]

    def schedule(self):
        return [Update("critic", self.critic_loss, repeats=3), Update("generator", self.generator_loss)]


def test_update_schedule_steps_each_player_on_its_own_parameters():
    x, y = toy_data()
    model = TwoPlayers()
    gen_before = params(model.gen)
    stream = BatchStream(x, y, batch_size=32)
    # Only the critic's update: its schedule entry runs 3 times per step.
    only_critic = model.schedule()[:1]
    model.schedule = lambda: only_critic
    fit(model, stream, steps=2, progress=False)
    assert model.critic_calls == 6
    assert all(torch.equal(a, b) for a, b in zip(gen_before, model.gen.parameters()))
    del model.schedule
    result = fit(model, stream, steps=2, progress=False)
    assert {"critic/critic", "generator/generator"} <= set(result.history.keys())
    assert any(not torch.equal(a, b) for a, b in zip(gen_before, model.gen.parameters()))


def test_atomic_checkpoint_keeps_previous_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.pt"
    save_checkpoint({"step": 1, "w": torch.ones(3)}, path)

    def broken_save(obj, f):
        f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint({"step": 2, "w": torch.zeros(3)}, path)
    monkeypatch.undo()
    state = load_checkpoint(path)
    assert state["step"] == 1 and torch.equal(state["w"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]


def test_bad_arguments_raise(tmp_path):
    x, y = toy_data()
    model = small_vib()
    stream = BatchStream(x, y, batch_size=32)
    with pytest.raises(ValueError, match="steps must be positive"):
        fit(model, stream, steps=0)
    with pytest.raises(ValueError, match="checkpoint path"):
        fit(model, stream, steps=5, resume=True)
    with pytest.raises(TypeError, match="resumable stream"):
        fit(model, [(x, y)], steps=5)
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.pt")


def test_player_can_bring_its_own_optimizer():
    x, y = toy_data()

    class SGDModel(Trainable):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.ones(10))

        def loss(self, batch):
            return LossTerms(terms={"distortion": (batch[0] @ self.w).pow(2).mean()})

        def players(self):
            return [Player("main", [self.w], OptimizerConfig(lr=0.01),
                           optimizer=lambda params, optim: torch.optim.SGD(params, lr=optim.lr))]

    model = SGDModel()
    batch = next(BatchStream(x, y, batch_size=32, seed=0))
    grad = torch.autograd.grad(model.loss(batch).total, model.w)[0]
    fit(model, BatchStream(x, y, batch_size=32, seed=0), steps=1, progress=False)
    # One plain SGD step: w <- w - lr * grad (Adam's first step would move every weight by ~lr).
    torch.testing.assert_close(model.w.detach(), torch.ones(10) - 0.01 * grad)


def test_fit_reports_its_throughput_and_appends_it_to_the_run_log(tmp_path, monkeypatch):
    import json

    log = tmp_path / "fits.jsonl"
    monkeypatch.setenv("INFOBOUNDS_RUN_LOG", str(log))
    x, y = torch.rand(100, 6), torch.randint(0, 2, (100,))
    result = fit(VIB(VIBConfig(input_dim=6, hidden=(4,), latent_dim=2, n_classes=2)), BatchStream(x, y, batch_size=16),
                 steps=5, progress=False, desc="tiny")
    assert result.examples == 5 * 16 and result.seconds > 0 and result.examples_per_second > 0
    (line,) = log.read_text().splitlines()
    assert json.loads(line) == {"desc": "tiny", "device": "cpu", "steps": 5, "seconds": result.seconds,
                                "examples": 80}
