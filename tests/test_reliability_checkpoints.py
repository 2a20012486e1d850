"""Reliability probes 3.1-3.14 (``/work/shared/reviews/reliability-probes.md``): a resumed run equals
an uninterrupted one; a checkpoint that is corrupt, foreign, ahead of the run or written with other
settings is refused with one line naming it and is left untouched; writes are atomic under SIGKILL
and leave no debris; ``weights_only`` loading runs no code."""

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import infobounds.training
from infobounds.__main__ import main
from infobounds.data import BatchStream
from infobounds.data.toy2d import MixtureStream, ring_means
from infobounds.models.factorvae import FactorVAE, FactorVAEConfig
from infobounds.models.gan import GAN, GANConfig
from infobounds.models.vae import VAEConfig
from infobounds.models.vib import VIB, VIBConfig
from infobounds.training import CheckpointError, fit, load_checkpoint, save_checkpoint
from reliability_support import (assert_same_state, flip_bits, member_data_offset, one_error_line, sha256,
                                 tensor_members, use_tiny_recipes)

TESTS = Path(__file__).parent


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setenv("INFOBOUNDS_PROGRESS", "0")


@pytest.fixture
def tiny(monkeypatch):
    use_tiny_recipes(monkeypatch)


def train(out, *args, model="vib"):
    return main(["train", model, "--out", str(out), *args])


def report(out, model="vib"):
    return json.loads((Path(out) / f"{model}.json").read_text())


def toy_vib(**config):
    return VIB(VIBConfig(input_dim=10, hidden=(16,), latent_dim=3, n_classes=2, **config))


def toy_stream(batch_size=32, seed=1):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(256, 10, generator=gen)
    return BatchStream(x, (x.sum(1) > 0).long(), batch_size=batch_size, seed=seed)


def child_env():
    return {**os.environ, "INFOBOUNDS_PROGRESS": "0", "OMP_NUM_THREADS": "1"}


def wait_for(condition, what: str, proc: subprocess.Popen, deadline_s: float = 120.0) -> None:
    """Poll until ``condition()`` holds (a deadline against hanging, not a timed assertion)."""
    end = time.monotonic() + deadline_s
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"the child exited ({proc.returncode}) before {what}: {proc.stderr.read()}")
        if time.monotonic() > end:
            proc.kill()
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def test_probe_3_1_resumed_cli_run_is_bit_identical(capsys, tmp_path):
    a, b = tmp_path / "A", tmp_path / "B"
    assert train(a, "--steps", "12", "--batch-size", "64") == 0
    assert train(b, "--steps", "7", "--batch-size", "64", "--checkpoint-every", "5") == 0
    assert load_checkpoint(b / "vib.pt")["step"] == 7
    assert train(b, "--steps", "12", "--batch-size", "64", "--resume") == 0
    assert_same_state(load_checkpoint(a / "vib.pt"), load_checkpoint(b / "vib.pt"))
    assert report(a)["metrics"] == report(b)["metrics"] and report(b)["steps"] == 12


def test_probe_3_2_resume_across_an_epoch_boundary_is_bit_identical(capsys, tmp_path, tiny):
    # 512 examples in batches of 128: 4 steps per epoch; the checkpoint at 11 is mid-epoch and the
    # resumed steps 12-14 cross into the next epoch.
    a, b = tmp_path / "A", tmp_path / "B"
    assert train(a, "--steps", "14", model="vae") == 0
    assert train(b, "--steps", "11", model="vae") == 0
    assert load_checkpoint(b / "vae.pt")["data"]["position"] == 3
    assert train(b, "--steps", "14", "--resume", model="vae") == 0
    assert_same_state(load_checkpoint(a / "vae.pt"), load_checkpoint(b / "vae.pt"))
    assert report(a, "vae")["metrics"] == report(b, "vae")["metrics"]


def wgan_gp():
    return GAN(GANConfig(loss="wgan-gp", hidden=(16,), critic_steps=3)), MixtureStream(ring_means(), 0.05, 32, seed=0)


def factorvae():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(256, 1, 8, 8, generator=gen)
    model = FactorVAE(FactorVAEConfig(vae=VAEConfig(input_shape=(1, 8, 8), hidden=(32,), latent_dim=4),
                                      discriminator_hidden=(16,)))
    return model, BatchStream(x, batch_size=32, seed=0)


@pytest.mark.parametrize("build", [wgan_gp, factorvae])
@pytest.mark.parametrize("stop_after", [11, 13])
def test_probe_3_3_two_player_resume_in_a_fresh_process_is_bit_identical(tmp_path, build, stop_after):
    torch.manual_seed(123)
    model, stream = build()
    whole = fit(model, stream, steps=23, seed=5, progress=False)
    torch.manual_seed(123)
    model, stream = build()
    ckpt = tmp_path / "run.pt"
    fit(model, stream, steps=23, seed=5, checkpoint=ckpt, checkpoint_every=4, stop_after=stop_after, progress=False)
    torch.manual_seed(999)  # a fresh process: another initialisation and global RNG state
    model, stream = build()
    resumed = fit(model, stream, steps=23, seed=5, checkpoint=ckpt, resume=True, progress=False)
    for p, q in zip(whole.model.parameters(), resumed.model.parameters()):
        assert torch.equal(p, q)
    assert whole.history.rows == resumed.history.rows


def test_probe_3_4_resume_with_fewer_steps_refuses(capsys, tmp_path, tiny):
    ckpt = tmp_path / "vib.pt"
    assert train(tmp_path, "--steps", "6") == 0
    before = sha256(ckpt)
    assert train(tmp_path, "--steps", "3", "--resume") == 2
    line = one_error_line(capsys)
    assert str(ckpt) in line and "step 6" in line and "steps=3" in line
    assert sha256(ckpt) == before  # the checkpoint is left alone
    assert train(tmp_path, "--steps", "6", "--resume") == 0  # so resuming to 6 is still a clean 6-step run
    assert [row["step"] for row in load_checkpoint(ckpt)["history"]] == [1, 2, 3, 4, 5, 6]
    # the library refuses the same way, for steps and for stop_after
    lib = tmp_path / "lib.pt"
    fit(toy_vib(), toy_stream(), steps=6, checkpoint=lib, progress=False)
    before = sha256(lib)
    with pytest.raises(CheckpointError, match=rf"checkpoint {lib} is at step 6, beyond steps=3"):
        fit(toy_vib(), toy_stream(), steps=3, checkpoint=lib, resume=True, progress=False)
    with pytest.raises(CheckpointError, match=rf"checkpoint {lib} is at step 6, beyond stop_after=4"):
        fit(toy_vib(), toy_stream(), steps=9, stop_after=4, checkpoint=lib, resume=True, progress=False)
    assert sha256(lib) == before


@pytest.fixture(scope="module")
def tiny_checkpoints(tmp_path_factory):
    """A vib.pt and a vae.pt from the tiny recipes (3 steps each)."""
    folder = tmp_path_factory.mktemp("made")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INFOBOUNDS_PROGRESS", "0")
        use_tiny_recipes(mp)
        for model in ("vib", "vae"):
            assert train(folder, "--steps", "3", model=model) == 0
    return folder / "vib.pt", folder / "vae.pt"


def damage(ckpt, vae_ckpt, how):
    raw = Path(ckpt).read_bytes()
    if how == "truncated":
        Path(ckpt).write_bytes(raw[:len(raw) // 2])
    elif how == "empty":
        Path(ckpt).write_bytes(b"")
    elif how == "text":
        Path(ckpt).write_text("this is not a checkpoint\n")
    elif how == "a VAE checkpoint":
        Path(ckpt).write_bytes(Path(vae_ckpt).read_bytes())


@pytest.mark.parametrize("how,says", [("truncated", "unreadable"), ("empty", "unreadable"), ("text", "unreadable"),
                                      ("a VAE checkpoint", "model=\"infobounds.models.vae.VAE\"")])
def test_probe_3_5_corrupt_or_foreign_checkpoint_is_one_line_naming_it(capsys, tmp_path, tiny, tiny_checkpoints,
                                                                      how, says):
    ckpt = tmp_path / "vib.pt"
    ckpt.write_bytes(tiny_checkpoints[0].read_bytes())
    damage(ckpt, tiny_checkpoints[1], how)
    before = sha256(ckpt)
    assert train(tmp_path, "--steps", "6", "--resume") == 2
    line = one_error_line(capsys)
    assert line.startswith(f"infobounds: checkpoint {ckpt} ") and says in line
    assert sha256(ckpt) == before


def test_probe_3_5_checkpoint_without_settings_that_does_not_fit_names_it(tmp_path):
    # A checkpoint written before settings were stored: the state restore's own error, wrapped.
    ckpt = tmp_path / "old.pt"
    fit(toy_vib(), toy_stream(), steps=2, checkpoint=ckpt, progress=False)
    state = load_checkpoint(ckpt)
    del state["settings"]
    save_checkpoint(state, ckpt)
    wider = VIB(VIBConfig(input_dim=10, hidden=(32,), latent_dim=3, n_classes=2))
    with pytest.raises(CheckpointError, match=rf"checkpoint {ckpt} does not fit this run: RuntimeError: .*size mismatch"):
        fit(wider, toy_stream(), steps=4, checkpoint=ckpt, resume=True, progress=False)


@pytest.mark.parametrize("flip", ["400 bytes of tensor data", "one low mantissa bit of one weight"])
def test_probe_3_6_flipped_bits_are_detected(capsys, tmp_path, tiny, tiny_checkpoints, flip):
    ckpt = tmp_path / "vib.pt"
    ckpt.write_bytes(tiny_checkpoints[0].read_bytes())
    member = tensor_members(ckpt)[0]
    offset, size = member_data_offset(ckpt, member)
    if flip == "400 bytes of tensor data":
        flip_bits(ckpt, offset, mask=0xFF, count=min(400, size))
    else:
        flip_bits(ckpt, offset, mask=0x01)  # little-endian float32: bit 0 of byte 0 is the lowest mantissa bit
    with pytest.raises(CheckpointError, match=rf"{member} do not match their CRC-32"):
        load_checkpoint(ckpt)
    before = sha256(ckpt)
    assert train(tmp_path, "--steps", "6", "--resume") == 2
    assert one_error_line(capsys).startswith(f"infobounds: checkpoint {ckpt} is corrupt: the bytes of {member}")
    assert sha256(ckpt) == before


KILLED_MID_WRITE = r'''
import sys, time
from pathlib import Path
import torch
from infobounds.data import BatchStream
from infobounds.models.vib import VIB, VIBConfig
from infobounds.training import fit

checkpoint, stalled = Path(sys.argv[1]), Path(sys.argv[2])
real_save, saves = torch.save, []

def save_that_stalls_in_the_third_write(obj, f):
    saves.append(1)
    if len(saves) == 3:  # write the start of an archive, then hang there until killed
        f.write(b"PK\x03\x04 a partial archive")
        f.flush()
        stalled.touch()
        time.sleep(600)
    real_save(obj, f)

torch.save = save_that_stalls_in_the_third_write
x = torch.randn(256, 10, generator=torch.Generator().manual_seed(0))
fit(VIB(VIBConfig(input_dim=10, hidden=(16,), latent_dim=3, n_classes=2)),
    BatchStream(x, (x.sum(1) > 0).long(), batch_size=32, seed=0), steps=1000, checkpoint=checkpoint, checkpoint_every=1,
    progress=False)
'''


@pytest.fixture(scope="module")
def killed_mid_write(tmp_path_factory):
    """A run SIGKILLed in the middle of writing its third checkpoint: (folder, checkpoint)."""
    folder = tmp_path_factory.mktemp("killed")
    ckpt, stalled = folder / "run.pt", folder / "stalled"
    proc = subprocess.Popen([sys.executable, "-c", KILLED_MID_WRITE, str(ckpt), str(stalled)], env=child_env(),
                            stderr=subprocess.PIPE, text=True)
    wait_for(stalled.exists, "the third checkpoint write", proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    return folder, ckpt


def test_probe_3_7_sigkill_during_a_write_leaves_the_previous_checkpoint(killed_mid_write):
    folder, ckpt = killed_mid_write
    state = load_checkpoint(ckpt)
    assert state["step"] == 2 and len(state["history"]) == 2
    copy = folder / "resumable.pt"
    copy.write_bytes(ckpt.read_bytes())
    result = fit(toy_vib(), toy_stream(seed=0), steps=4, checkpoint=copy, resume=True, progress=False)
    assert [row["step"] for row in result.history.rows] == [1, 2, 3, 4]


def test_probe_3_8_orphaned_temporary_files_are_swept_by_the_next_save(killed_mid_write, tmp_path):
    folder, ckpt = killed_mid_write
    orphans = sorted(folder.glob(".run.pt.*.tmp"))
    assert len(orphans) == 1 and orphans[0].read_bytes().startswith(b"PK\x03\x04 a partial")
    save_checkpoint(load_checkpoint(ckpt), ckpt)
    assert not list(folder.glob(".run.pt.*.tmp"))
    # only this checkpoint's temporaries go: not another checkpoint's, nor other files
    keep = [tmp_path / ".other.pt.abcd1234.tmp", tmp_path / ".run.pt.x.y.tmp", tmp_path / "run.pt.bak",
            tmp_path / ".run.pt.tmp"]
    for path in keep:
        path.write_bytes(b"keep")
    stale = tmp_path / ".run.pt.k1ll3d_x.tmp"
    stale.write_bytes(b"stale")
    save_checkpoint({"step": 1}, tmp_path / "run.pt")
    assert not stale.exists() and all(path.exists() for path in keep)


class RunsCode:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("kind", ["torch zip archive", "legacy pickle"])
def test_probe_3_9_a_malicious_pickle_is_not_run(capsys, tmp_path, tiny, kind):
    ckpt, marker = tmp_path / "vib.pt", tmp_path / "PWNED"
    if kind == "torch zip archive":
        torch.save({"step": RunsCode(marker)}, ckpt)
    else:
        ckpt.write_bytes(pickle.dumps({"step": RunsCode(marker)}))
    assert train(tmp_path, "--steps", "3", "--resume") == 2
    assert not marker.exists()
    assert one_error_line(capsys).startswith(f"infobounds: checkpoint {ckpt} ")


def test_probe_3_10_resume_without_a_checkpoint_says_so(capsys, tmp_path, tiny):
    scratch = tmp_path / "typo"
    assert train(scratch, "--steps", "3", "--resume") == 2
    assert one_error_line(capsys) == (f"infobounds: --resume: there is no checkpoint {scratch / 'vib.pt'} to continue "
                                      "(check --out, or drop --resume to start a fresh run)")
    assert not scratch.exists()
    # The library keeps "resume if present", so a restart loop can always pass resume=True.
    result = fit(toy_vib(), toy_stream(), steps=3, checkpoint=tmp_path / "lib.pt", resume=True, progress=False)
    assert result.steps == 3 and load_checkpoint(tmp_path / "lib.pt")["step"] == 3


def test_probe_3_11_resume_with_other_settings_refuses_naming_the_first(capsys, tmp_path, tiny):
    ckpt = tmp_path / "vib.pt"
    assert train(tmp_path, "--steps", "4", "--batch-size", "64", "--seed", "1") == 0
    before = sha256(ckpt)
    assert train(tmp_path, "--steps", "8", "--batch-size", "32", "--seed", "7", "--resume") == 2
    assert one_error_line(capsys).startswith(
        f"infobounds: checkpoint {ckpt} was written by a run with batch_size=64, but this run has batch_size=32")
    assert train(tmp_path, "--steps", "8", "--batch-size", "64", "--seed", "7", "--resume") == 2
    assert "with seed=1, but this run has seed=7" in one_error_line(capsys)
    assert sha256(ckpt) == before
    # the model's config is part of the settings
    lib = tmp_path / "lib.pt"
    fit(toy_vib(beta=1e-3), toy_stream(), steps=2, checkpoint=lib, progress=False)
    with pytest.raises(CheckpointError, match=r"with config.beta=0.001, but this run has config.beta=0.01"):
        fit(toy_vib(beta=1e-2), toy_stream(), steps=4, checkpoint=lib, resume=True, progress=False)


def test_probe_3_12_checkpoint_path_that_is_a_folder_is_refused_before_training(capsys, tmp_path, tiny,
                                                                               monkeypatch):
    (tmp_path / "vib.pt").mkdir()
    calls = []
    monkeypatch.setattr(infobounds.training, "fit", lambda *a, **kw: calls.append(kw))
    for extra in (["--resume"], []):
        assert train(tmp_path, "--steps", "3", *extra) == 2
        assert str(tmp_path / "vib.pt") in one_error_line(capsys)
    assert calls == []
    monkeypatch.undo()
    model = toy_vib()
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(CheckpointError, match=rf"checkpoint {tmp_path / 'vib.pt'} is a folder"):
        fit(model, toy_stream(), steps=3, checkpoint=tmp_path / "vib.pt", resume=True, progress=False)
    assert all(torch.equal(p, q) for p, q in zip(before, model.parameters()))


SIGINT_RUN = r'''
import sys
from pathlib import Path
import torch
from infobounds.data import BatchStream
from infobounds.models.vib import VIB, VIBConfig
from infobounds.training import fit

x = torch.randn(256, 10)
fit(VIB(VIBConfig(input_dim=10, hidden=(16,), latent_dim=3, n_classes=2)),
    BatchStream(x, (x.sum(1) > 0).long(), batch_size=32), steps=10**9, checkpoint=Path(sys.argv[1]),
    checkpoint_every=5, progress=False)
'''


def _checkpoint_at_least(path, step):
    def reached():
        try:
            return load_checkpoint(path)["step"] >= step
        except (FileNotFoundError, CheckpointError):
            return False
    return reached


def test_probe_3_13_sigint_keeps_the_last_checkpoint(tmp_path):
    ckpt = tmp_path / "run.pt"
    proc = subprocess.Popen([sys.executable, "-c", SIGINT_RUN, str(ckpt)], env=child_env(),
                            stderr=subprocess.PIPE, text=True)
    wait_for(_checkpoint_at_least(ckpt, 10), "two checkpoints", proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0 and "KeyboardInterrupt" in err
    state = load_checkpoint(ckpt)
    assert state["step"] >= 10 and state["step"] % 5 == 0 and len(state["history"]) == state["step"]


def test_probe_3_14_sigterm_on_a_huge_cli_run_leaves_a_loadable_checkpoint(tmp_path):
    cli_with_tiny_recipes = (
        f"import sys; sys.path.insert(0, {str(TESTS)!r}); from reliability_support import tiny_vib; "
        "from infobounds.recipes import RECIPES; RECIPES['vib'] = tiny_vib; "
        "from infobounds.__main__ import main; "
        f"sys.exit(main(['train', 'vib', '--epochs', '1e9', '--checkpoint-every', '1', '--out', {str(tmp_path)!r}]))"
    )
    proc = subprocess.Popen([sys.executable, "-c", cli_with_tiny_recipes], env=child_env(), stderr=subprocess.PIPE,
                            text=True)
    wait_for(_checkpoint_at_least(tmp_path / "vib.pt", 3), "three checkpoints", proc)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGTERM
    state = load_checkpoint(tmp_path / "vib.pt")
    assert state["step"] >= 3 and len(state["history"]) == state["step"]
