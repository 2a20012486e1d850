"""Reliability probes 8.1-8.4 of the review (reviews/reliability-probes.md, section 8): with
``INFOBOUNDS_OFFLINE=1`` nothing opens a network connection.

The review ran the command line under strace. Here the two doors to the network are watched
instead: ``urllib.request.urlopen``, through which every loader downloads, and
``socket.socket.connect``, through which any other route would have to pass. Both record the call
and refuse it, so no test reaches a network. 8.4 is the control: without ``INFOBOUNDS_OFFLINE`` the
same command does call the opener, so the recorder can see a download when there is one.
"""

import gzip
import socket
import struct
import urllib.error
import urllib.request

import numpy as np
import pytest

from infobounds.__main__ import main
from infobounds.data import DataNotFoundError, load
from infobounds.data import idx as idx_module
from infobounds.data import paired as paired_module
from infobounds.data.paired import load_svhn

SYSTEM = "/usr/share/datasets"


def write_fake_fashion_mnist(folder, n_train=96, n_test=32):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        for kind, array in (("images-idx3", rng.integers(0, 256, (n, 28, 28))),
                            ("labels-idx1", rng.integers(0, 10, n))):
            header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + b"".join(struct.pack(">I", s) for s in array.shape)
            body = header + array.astype(np.uint8).tobytes()
            (folder / f"{prefix}-{kind}-ubyte.gz").write_bytes(gzip.compress(body))


@pytest.fixture
def watched(tmp_path, monkeypatch):
    """An isolated machine whose network doors record every call; returns the list of calls."""
    calls = []

    def opener(url, *args, **kwargs):
        calls.append(("urlopen", url if isinstance(url, str) else url.full_url))
        raise urllib.error.URLError("no network in tests")

    def connect(self, address):
        calls.append(("connect", address))
        raise ConnectionRefusedError("no network in tests")

    monkeypatch.setattr(urllib.request, "urlopen", opener)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setenv("INFOBOUNDS_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("INFOBOUNDS_OFFLINE", "1")
    monkeypatch.setenv("INFOBOUNDS_PROGRESS", "0")
    system = tmp_path / "system"  # stands in for /usr/share/datasets: empty unless a test fills it

    def moved(folders):
        return [system / p.relative_to(SYSTEM) if str(p).startswith(SYSTEM) else p for p in folders]

    real_idx, real_svhn = idx_module.search_folders, paired_module._svhn_folders
    monkeypatch.setattr(idx_module, "search_folders", lambda name: moved(real_idx(name)))
    monkeypatch.setattr(paired_module, "_svhn_folders", lambda: moved(real_svhn()))
    return calls


def test_probe_8_1_offline_train_without_data_opens_no_connection(watched, tmp_path, capsys):
    assert main(["train", "vib", "--steps", "2", "--out", str(tmp_path / "runs")]) == 2
    assert "downloads are disabled" in capsys.readouterr().err
    assert watched == []


@pytest.mark.parametrize("loader", [lambda: load("cifar10", "test"), lambda: load_svhn("test"),
                                    lambda: load("mnist", "test"), lambda: load("fashion_mnist", "train")],
                         ids=["cifar10", "svhn", "mnist", "fashion_mnist"])
def test_probe_8_2_offline_loaders_without_data_open_no_connection(watched, loader):
    with pytest.raises(DataNotFoundError, match="INFOBOUNDS_OFFLINE"):
        loader()
    assert watched == []


def test_probe_8_3_offline_training_with_data_present_opens_no_connection(watched, tmp_path, capsys):
    write_fake_fashion_mnist(tmp_path / "data" / "fashion-mnist")
    assert main(["train", "vae", "--steps", "2", "--batch-size", "32", "--out", str(tmp_path / "runs")]) == 0
    assert '"steps": 2' in capsys.readouterr().out
    assert watched == []


def test_probe_8_4_control_without_offline_the_opener_is_called(watched, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("INFOBOUNDS_OFFLINE")
    assert main(["train", "vib", "--steps", "2", "--out", str(tmp_path / "runs")]) == 2
    assert "download failed" in capsys.readouterr().err
    urls = [target for door, target in watched if door == "urlopen"]
    assert urls and all("train-images-idx3-ubyte.gz" in url for url in urls[:1])
