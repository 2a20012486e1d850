"""Helpers shared by the reliability-probe tests (tests/test_reliability_{cli,checkpoints,numerics}.py).

The probes of ``/work/shared/reviews/reliability-probes.md`` ran ``python -m infobounds train``
on Fashion-MNIST; most of them are about the command line, the loop and the checkpoint, not the
data, so :func:`use_tiny_recipes` swaps in recipes of the same shape on 512 synthetic examples.
"""

from __future__ import annotations

import hashlib
import struct
import zipfile
from pathlib import Path

import pytest
import torch

from infobounds.data import BatchStream
from infobounds.models.vae import VAE, VAEConfig
from infobounds.models.vib import VIB, VIBConfig
from infobounds.recipes import RECIPES, Setup

N_TINY = 512


def tiny_data():
    """512 examples of 12 features in [0, 1] and a binary label."""
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(N_TINY, 12, generator=gen)
    return x, (x[:, :6].sum(1) > x[:, 6:].sum(1)).long()


def tiny_vib(profile, batch_size: int, seed: int, **config) -> Setup:
    x, y = tiny_data()
    model = VIB(VIBConfig(**{"input_dim": 12, "hidden": (16,), "latent_dim": 3, "n_classes": 2, **config}))
    return Setup(model, BatchStream(x, y, batch_size=batch_size, seed=seed), N_TINY // batch_size,
                 lambda: model.evaluate(x, y, n_samples=2))


def tiny_vae(profile, batch_size: int, seed: int) -> Setup:
    x, _ = tiny_data()
    model = VAE(VAEConfig(input_shape=(12,), hidden=(16,), latent_dim=3))
    return Setup(model, BatchStream(x, batch_size=batch_size, seed=seed), N_TINY // batch_size,
                 lambda: model.evaluate(x))


def use_tiny_recipes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(RECIPES, "vib", tiny_vib)
    monkeypatch.setitem(RECIPES, "vae", tiny_vae)


def one_error_line(capsys: pytest.CaptureFixture) -> str:
    """The CLI's stderr, asserted to be one line ``infobounds: ...`` and no traceback."""
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("infobounds: ") and "Traceback" not in err, err
    return lines[0]


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def assert_same_state(a, b, where: str = "state") -> None:
    """Every tensor of two nested checkpoint states is bit-identical and every other value equal."""
    assert type(a) is type(b), where
    if isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for key in a:
            assert_same_state(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (u, v) in enumerate(zip(a, b)):
            assert_same_state(u, v, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def member_data_offset(path: Path, member: str) -> tuple[int, int]:
    """(offset, size) of ``member``'s stored bytes in the zip archive at ``path``."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
    raw = Path(path).read_bytes()
    name_len, extra_len = struct.unpack("<HH", raw[info.header_offset + 26:info.header_offset + 30])
    return info.header_offset + 30 + name_len + extra_len, info.compress_size


def tensor_members(path: Path) -> list[str]:
    """The members of a torch checkpoint archive that hold tensor storages, largest first."""
    with zipfile.ZipFile(path) as archive:
        infos = [i for i in archive.infolist() if "/data/" in i.filename and not i.filename.endswith(".pkl")]
    return [i.filename for i in sorted(infos, key=lambda i: -i.file_size)]


def flip_bits(path: Path, offset: int, mask: int = 1, count: int = 1) -> None:
    """XOR ``mask`` into ``count`` bytes of the file from ``offset`` on."""
    raw = bytearray(Path(path).read_bytes())
    for i in range(offset, offset + count):
        raw[i] ^= mask
    Path(path).write_bytes(bytes(raw))
