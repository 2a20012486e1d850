"""The data API: IDX reading, locating, clear errors for missing data, the batch iterators."""

import gzip
import struct

import numpy as np
import pytest
import torch

from infobounds.data import BatchStream, DataNotFoundError, available, iterate_batches, load
from infobounds.data import idx as idx_module
from infobounds.data.idx import read_idx


def write_idx(path, array):
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + b"".join(struct.pack(">I", s) for s in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def fake_mnist(folder, n_train=12, n_test=5):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in [("train", n_train), ("t10k", n_test)]:
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", rng.integers(0, 10, (n,)))


def test_read_idx_round_trip(tmp_path):
    arr = np.arange(2 * 3 * 4).reshape(2, 3, 4) % 256
    write_idx(tmp_path / "a.gz", arr)
    assert np.array_equal(read_idx(tmp_path / "a.gz"), arr)
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "bad")


def test_load_from_infobounds_data(tmp_path, monkeypatch):
    fake_mnist(tmp_path / "mnist")
    monkeypatch.setenv("INFOBOUNDS_DATA", str(tmp_path))
    data = load("mnist", "train")
    assert data.x.shape == (12, 1, 28, 28) and data.x.dtype == torch.float32
    assert 0.0 <= float(data.x.min()) and float(data.x.max()) <= 1.0
    assert data.y.dtype == torch.int64 and len(load("mnist", "test")) == 5
    assert len(load("mnist", "train", n=4, seed=1)) == 4
    assert torch.equal(load("mnist", "train", n=4, seed=1).x, load("mnist", "train", n=4, seed=1).x)


def test_missing_data_names_where_it_looked_and_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("INFOBOUNDS_DATA", str(tmp_path / "nothing-here"))
    monkeypatch.setenv("INFOBOUNDS_OFFLINE", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    # Pretend the system-wide Debian folder is empty too, whatever this machine has installed.
    real = idx_module.search_folders
    monkeypatch.setattr(idx_module, "search_folders",
                        lambda name: [p for p in real(name) if not str(p).startswith("/usr/share")])
    with pytest.raises(DataNotFoundError) as err:
        load("fashion_mnist", "train")
    message = str(err.value)
    assert "nothing-here" in message and "cache" in message
    assert "apt-get install dataset-fashion-mnist" in message and "INFOBOUNDS_OFFLINE" in message


def test_fashion_mnist_is_installed_by_the_setup():
    # scripts/setup.sh installs it (Debian package or download); the chapters need it.
    train, test = load("fashion_mnist", "train"), load("fashion_mnist", "test")
    assert train.x.shape == (60_000, 1, 28, 28) and test.x.shape == (10_000, 1, 28, 28)
    assert torch.equal(torch.bincount(train.y), torch.full((10,), 6000))
    assert train.classes[0] == "T-shirt/top"


def test_digits():
    train, test = load("digits", "train"), load("digits", "test")
    assert len(train) + len(test) == 1797 and train.x.shape[1:] == (1, 8, 8)
    assert float(train.x.max()) == 1.0


@pytest.mark.parametrize("name,split,match", [("cifar100", "train", "unknown data set"),
                                              ("digits", "valid", "unknown split")])
def test_bad_names_raise(name, split, match):
    with pytest.raises(ValueError, match=match):
        load(name, split)
    assert "fashion_mnist" in available()


def test_batch_stream_covers_each_epoch_and_resumes():
    x = torch.arange(10).float()
    stream = BatchStream(x, batch_size=3, seed=0)
    first_epoch = torch.cat([next(stream)[0] for _ in range(stream.batches_per_epoch)])
    assert len(set(first_epoch.tolist())) == 9  # 3 full batches, no repeats, last one dropped
    for _ in range(4):
        next(stream)
    state = stream.state_dict()
    expected = [next(stream)[0] for _ in range(5)]
    restored = BatchStream(x, batch_size=3, seed=123)
    restored.load_state_dict(state)
    assert all(torch.equal(a, next(restored)[0]) for a in expected)


def test_batch_stream_and_iterator_check_inputs():
    with pytest.raises(ValueError, match="disagree"):
        BatchStream(torch.zeros(5, 2), torch.zeros(4), batch_size=2)
    with pytest.raises(ValueError, match="exceeds"):
        BatchStream(torch.zeros(5, 2), batch_size=6)
    with pytest.raises(ValueError, match="positive"):
        list(iterate_batches(torch.zeros(5), batch_size=0))
    batches = list(iterate_batches(torch.arange(5), batch_size=2))
    assert [b[0].tolist() for b in batches] == [[0, 1], [2, 3], [4]]


def test_missing_cifar10_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("INFOBOUNDS_DATA", str(tmp_path / "none"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("INFOBOUNDS_OFFLINE", "1")
    with pytest.raises(DataNotFoundError, match="cifar-10-python.tar.gz"):
        load("cifar10", "test")


def test_cifar10_reads_the_release_format(tmp_path, monkeypatch):
    import pickle

    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in ["test_batch"] + [f"data_batch_{i}" for i in range(1, 6)]:
        batch = {b"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8), b"labels": [0, 1, 2, 9]}
        (folder / name).write_bytes(pickle.dumps(batch))
    monkeypatch.setenv("INFOBOUNDS_DATA", str(tmp_path))
    test = load("cifar10", "test")
    assert test.x.shape == (4, 3, 32, 32) and test.y.tolist() == [0, 1, 2, 9] and float(test.x.max()) <= 1.0
    assert len(load("cifar10", "train")) == 20
