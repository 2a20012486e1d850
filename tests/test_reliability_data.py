"""Reliability probes 2.1-2.15 of the review (reviews/reliability-probes.md, section 2): missing,
corrupt, mismatched and malicious data files, and downloads that go wrong.

Nothing here touches the network or /usr/share/datasets: small IDX, CIFAR and SVHN files are built in
``tmp_path``; ``INFOBOUNDS_DATA`` and ``XDG_CACHE_HOME`` point there; the system folder is replaced by
``tmp_path/system`` in the search path; ``urllib.request.urlopen`` is replaced by a fake server that
records every URL and serves what a test says (by default it refuses, like a machine with no network).
"""

import gzip
import hashlib
import io
import os
import pickle
import struct
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch

from infobounds.__main__ import main
from infobounds.data import DataNotFoundError, load
from infobounds.data import cifar as cifar_module
from infobounds.data import idx as idx_module
from infobounds.data import paired as paired_module
from infobounds.data.paired import load_svhn

try:
    from infobounds.data.download import Published
except ImportError:  # 3a9ca49, before the fix: the positive controls below run there too, unverified
    def Published(size=None, sha256=None, md5=None):
        return None

STEMS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
SYSTEM = "/usr/share/datasets"


# ------------------------------------------------------------------------------------------------
# Helpers: small files in the release formats, a fake network, an isolated search path
# ------------------------------------------------------------------------------------------------

def idx_bytes(array: np.ndarray) -> bytes:
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + b"".join(struct.pack(">I", s) for s in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(idx_bytes(array), mtime=0))
    return path


def fake_idx_set(folder: Path, n_train=40, n_test=12, seed=0, n_classes=10) -> dict[str, np.ndarray]:
    """The four IDX files of an MNIST-like set in ``folder``; returns the arrays by stem."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28)),
        "train-labels-idx1-ubyte": rng.integers(0, n_classes, (n_train,)),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28)),
        "t10k-labels-idx1-ubyte": rng.integers(0, n_classes, (n_test,)),
    }
    for stem, array in arrays.items():
        write_idx(folder / f"{stem}.gz", array)
    return arrays


def cifar_batch(n=4, seed=0) -> dict:
    rng = np.random.default_rng(seed)
    return {b"batch_label": b"fake", b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            b"labels": [int(v) for v in rng.integers(0, 10, n)], b"filenames": [b"a.png"] * n}


def write_cifar_folder(folder: Path, seed=0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(["test_batch"] + [f"data_batch_{k}" for k in range(1, 6)]):
        (folder / name).write_bytes(pickle.dumps(cifar_batch(seed=seed + i), protocol=3))
    return folder


def cifar_archive_bytes(batches: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(batches, arcname="cifar-10-batches-py")
    return buffer.getvalue()


def svhn_bytes(n=6, seed=0, labels=None) -> bytes:
    from scipy.io import savemat

    rng = np.random.default_rng(seed)
    y = np.asarray(labels if labels is not None else rng.integers(1, 11, n), dtype=np.uint8).reshape(-1, 1)
    buffer = io.BytesIO()
    savemat(buffer, {"X": rng.integers(0, 256, (32, 32, 3, len(y)), dtype=np.uint8), "y": y})
    return buffer.getvalue()


class FakeResponse(io.BytesIO):
    """What ``urlopen`` returns: a readable body and its headers."""

    def __init__(self, body: bytes, content_length: int | None = None, fail_after: int | None = None):
        super().__init__(body)
        self.headers = {} if content_length is None else {"Content-Length": str(content_length)}
        self.fail_after = fail_after

    def read(self, n=-1):
        if self.fail_after is not None and self.tell() >= self.fail_after:
            raise ConnectionResetError("connection reset by peer")
        if self.fail_after is not None and n is not None and n > 0:
            n = min(n, self.fail_after - self.tell())
        return super().read(n)


class FakeNetwork:
    """Stands in for ``urllib.request.urlopen``: records each URL and answers with ``serve(url)``."""

    def __init__(self):
        self.urls: list[str] = []
        self.serve = lambda url: (_ for _ in ()).throw(urllib.error.URLError("no network in tests"))

    def __call__(self, url, *args, **kwargs):
        url = url if isinstance(url, str) else url.full_url
        self.urls.append(url)
        return self.serve(url)


@pytest.fixture
def net(monkeypatch):
    fake = FakeNetwork()
    monkeypatch.setattr(urllib.request, "urlopen", fake)
    return fake


@pytest.fixture
def env(tmp_path, monkeypatch, net):
    """An isolated machine: data, cache and the system folder all under ``tmp_path``, offline."""
    data, cache, system = tmp_path / "data", tmp_path / "cache", tmp_path / "system"
    for folder in (data, cache, system):
        folder.mkdir()
    monkeypatch.setenv("INFOBOUNDS_DATA", str(data))
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.setenv("INFOBOUNDS_OFFLINE", "1")
    monkeypatch.setenv("INFOBOUNDS_PROGRESS", "0")

    def moved(folders):
        return [system / p.relative_to(SYSTEM) if str(p).startswith(SYSTEM) else p for p in folders]

    real_idx, real_svhn = idx_module.search_folders, paired_module._svhn_folders
    monkeypatch.setattr(idx_module, "search_folders", lambda name: moved(real_idx(name)))
    monkeypatch.setattr(paired_module, "_svhn_folders", lambda: moved(real_svhn()))

    class Env:
        pass

    e = Env()
    e.data, e.cache, e.system, e.root, e.net = data, cache / "infobounds", system, tmp_path, net
    return e


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


# ------------------------------------------------------------------------------------------------
# 2.1-2.3: where the data is looked for, and the message when it is nowhere
# ------------------------------------------------------------------------------------------------

def test_probe_2_1_empty_infobounds_data_uses_the_system_copy(env):
    arrays = fake_idx_set(env.system / "fashion-mnist")
    data = load("fashion_mnist", "test")
    assert torch.equal(data.y, torch.from_numpy(arrays["t10k-labels-idx1-ubyte"]).long())
    assert torch.equal((data.x[:, 0] * 255).round().to(torch.uint8),
                       torch.from_numpy(arrays["t10k-images-idx3-ubyte"].astype(np.uint8)))
    assert env.net.urls == []


def test_probe_2_2_missing_data_offline_names_the_folders_and_how_to_get_it(env, capsys):
    with pytest.raises(DataNotFoundError) as err:
        load("fashion_mnist", "train")
    message = str(err.value)
    for folder in idx_module.search_folders("fashion_mnist"):
        assert str(folder) in message
    assert "downloads are disabled" in message and "apt-get install dataset-fashion-mnist" in message
    assert main(["train", "vib", "--steps", "1", "--out", str(env.root / "runs")]) == 2
    stderr = capsys.readouterr().err
    assert "Traceback" not in stderr and "downloads are disabled" in stderr
    assert env.net.urls == []


def test_probe_2_3_no_infobounds_data_offline_train_vae_exits_2(env, monkeypatch, capsys):
    monkeypatch.delenv("INFOBOUNDS_DATA")
    assert main(["train", "vae", "--steps", "1", "--out", str(env.root / "runs")]) == 2
    stderr = capsys.readouterr().err
    assert "Traceback" not in stderr and "not found" in stderr and "dataset-fashion-mnist" in stderr
    assert env.net.urls == []


# ------------------------------------------------------------------------------------------------
# 2.4-2.8: damaged IDX files give a ValueError naming the file and how to get a good copy
# ------------------------------------------------------------------------------------------------

def _damaged_fashion(env, damage) -> Path:
    fake_idx_set(env.data / "fashion-mnist", n_train=200)
    path = env.data / "fashion-mnist" / "train-images-idx3-ubyte.gz"
    path.write_bytes(damage(path.read_bytes()))
    return path


def _assert_names_file_and_remedy(err, path):
    message = str(err.value)
    assert str(path) in message, message
    assert "good copy" in message and "dataset-fashion-mnist" in message, message


def test_probe_2_4_truncated_gzip_is_a_value_error_naming_the_file(env, capsys):
    path = _damaged_fashion(env, lambda raw: raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="truncated") as err:
        load("fashion_mnist", "train")
    _assert_names_file_and_remedy(err, path)
    assert main(["train", "vib", "--steps", "1", "--out", str(env.root / "runs")]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_probe_2_5_random_bytes_instead_of_gzip_is_a_value_error_naming_the_file(env):
    path = _damaged_fashion(env, lambda raw: np.random.default_rng(5).bytes(30_000))
    with pytest.raises(ValueError, match="[Nn]ot a gzipped file") as err:
        load("fashion_mnist", "train")
    _assert_names_file_and_remedy(err, path)


def _flip_crc(raw: bytes) -> bytes:
    crc = bytearray(raw)
    crc[-8] ^= 0xFF  # the gzip trailer: CRC-32 of the content, then its length
    return bytes(crc)


def _flip_middle(raw: bytes) -> bytes:
    out = bytearray(raw)
    middle = len(out) // 2
    for i in range(middle, middle + 100):
        out[i] ^= 0xFF
    return bytes(out)


@pytest.mark.parametrize("damage", [_flip_crc, _flip_middle], ids=["crc-trailer", "100-bytes-in-stream"])
def test_probe_2_6_flipped_bytes_are_a_value_error_naming_the_file(env, damage):
    path = _damaged_fashion(env, damage)
    with pytest.raises(ValueError) as err:
        load("fashion_mnist", "train")
    _assert_names_file_and_remedy(err, path)
    if damage is _flip_crc:
        assert "CRC check failed" in str(err.value)


def test_probe_2_7_bad_idx_magic_is_a_value_error_naming_the_file(env):
    path = _damaged_fashion(env, lambda raw: gzip.compress(np.random.default_rng(7).bytes(5000), mtime=0))
    with pytest.raises(ValueError, match="not an IDX file") as err:
        load("fashion_mnist", "train")
    assert str(path) in str(err.value)


def test_probe_2_8_idx_body_shorter_than_its_header_is_a_value_error_naming_the_file(env):
    path = _damaged_fashion(env, lambda raw: gzip.compress(gzip.decompress(raw)[:-16], mtime=0))
    with pytest.raises(ValueError, match=r"header says \(200, 28, 28\)") as err:
        load("fashion_mnist", "train")
    assert str(path) in str(err.value)


# ------------------------------------------------------------------------------------------------
# 2.9-2.11: well-formed files with the wrong content
# ------------------------------------------------------------------------------------------------

def test_probe_2_9_labels_of_the_other_split_are_refused_naming_both_files(env):
    folder = env.data / "fashion-mnist"
    fake_idx_set(folder, n_train=40, n_test=12)
    (folder / "train-labels-idx1-ubyte.gz").write_bytes((folder / "t10k-labels-idx1-ubyte.gz").read_bytes())
    with pytest.raises(ValueError, match="40 images but 12 labels") as err:
        load("fashion_mnist", "train")
    assert str(folder / "train-images-idx3-ubyte.gz") in str(err.value)
    assert str(folder / "train-labels-idx1-ubyte.gz") in str(err.value)


def test_probe_2_10_labels_file_in_place_of_the_images_is_refused_naming_it(env):
    folder = env.data / "fashion-mnist"
    fake_idx_set(folder)
    (folder / "train-images-idx3-ubyte.gz").write_bytes((folder / "train-labels-idx1-ubyte.gz").read_bytes())
    with pytest.raises(ValueError, match=r"shape \(40,\)") as err:
        load("fashion_mnist", "train")
    assert str(folder / "train-images-idx3-ubyte.gz") in str(err.value)
    assert "VIB" not in str(err.value)


def test_probe_2_11_labels_outside_the_classes_are_refused_naming_the_file(env):
    folder = env.data / "fashion-mnist"
    arrays = fake_idx_set(folder, n_train=150)
    labels = arrays["train-labels-idx1-ubyte"].copy()
    labels[20:120] = 200
    write_idx(folder / "train-labels-idx1-ubyte.gz", labels)
    with pytest.raises(ValueError, match=r"100 labels lie outside the 10 classes .*the first is 200, at index 20") \
            as err:
        load("fashion_mnist", "train")
    assert str(folder / "train-labels-idx1-ubyte.gz") in str(err.value)


# ------------------------------------------------------------------------------------------------
# 2.12: MNIST and Fashion-MNIST share file names; neither is returned for the other
# ------------------------------------------------------------------------------------------------

def test_probe_2_12_mnist_never_returns_fashion_mnist(env):
    fake_idx_set(env.data, seed=12)  # Fashion-MNIST's files dropped loose into $INFOBOUNDS_DATA
    with pytest.raises(DataNotFoundError, match="share these file names") as err:
        load("mnist", "test")
    assert str(env.data / "mnist") in str(err.value)
    with pytest.raises(DataNotFoundError):
        load("fashion_mnist", "test")  # and loose files are not taken for Fashion-MNIST either


def test_probe_2_12_each_data_set_reads_its_own_folder(env):
    mnist = fake_idx_set(env.data / "mnist", seed=1)
    fashion = fake_idx_set(env.data / "fashion-mnist", seed=2)
    assert torch.equal(load("mnist", "test").y, torch.from_numpy(mnist["t10k-labels-idx1-ubyte"]).long())
    assert torch.equal(load("fashion_mnist", "test").y, torch.from_numpy(fashion["t10k-labels-idx1-ubyte"]).long())
    assert not torch.equal(load("mnist", "test").x, load("fashion_mnist", "test").x)


# ------------------------------------------------------------------------------------------------
# 2.13-2.14: downloads are verified before they are cached; https only
# ------------------------------------------------------------------------------------------------

PORTAL = b"<html><body>Please log in to the hotel Wi-Fi</body></html>"


def _go_online(env, monkeypatch):
    monkeypatch.delenv("INFOBOUNDS_OFFLINE")


def _load_any(name):
    if name == "svhn":
        return load_svhn("test")
    return load(name, "test")


DOWNLOADED = ["fashion_mnist", "mnist", "svhn", "cifar10"]


@pytest.mark.parametrize("name", DOWNLOADED)
def test_probe_2_13_captive_portal_page_is_never_cached(env, monkeypatch, name):
    _go_online(env, monkeypatch)
    env.net.serve = lambda url: FakeResponse(PORTAL, content_length=len(PORTAL))
    with pytest.raises(Exception) as err:
        _load_any(name)
    assert env.net.urls, "the control: a download was attempted"
    assert files_under(env.cache) == []  # neither the page nor a temporary file stays
    assert isinstance(err.value, DataNotFoundError) and "download failed" in str(err.value)
    assert "SHA-256" in str(err.value) or "MD5" in str(err.value) or "bytes" in str(err.value)
    monkeypatch.setenv("INFOBOUNDS_OFFLINE", "1")
    with pytest.raises(DataNotFoundError):  # the next (offline) run is not poisoned
        _load_any(name)


@pytest.mark.parametrize("name", DOWNLOADED)
def test_probe_2_13_downloads_only_over_https(env, monkeypatch, name):
    _go_online(env, monkeypatch)
    with pytest.raises(DataNotFoundError):
        _load_any(name)
    assert env.net.urls and all(url.startswith("https://") for url in env.net.urls), env.net.urls


def _publish(monkeypatch, files: dict[str, bytes]):
    """Make the fake files the published ones (their sizes and SHA-256), for the positive controls."""
    table = {stem: Published(len(files[stem]), hashlib.sha256(files[stem]).hexdigest()) for stem in STEMS}
    # raising=False: the code before the fix (3a9ca49) had no table, and these controls run there too.
    monkeypatch.setattr(idx_module, "PUBLISHED", {"fashion_mnist": table, "mnist": table}, raising=False)


def _idx_server(files):
    def serve(url):
        stem = url.rsplit("/", 1)[1].removesuffix(".gz")
        return FakeResponse(files[stem], content_length=len(files[stem]))
    return serve


def test_probe_2_13_a_correct_download_is_cached_and_used_offline(env, monkeypatch):
    _go_online(env, monkeypatch)
    source = env.root / "upstream"
    arrays = fake_idx_set(source, seed=13)
    files = {stem: (source / f"{stem}.gz").read_bytes() for stem in STEMS}
    _publish(monkeypatch, files)
    env.net.serve = _idx_server(files)
    first = load("mnist", "test")
    assert torch.equal(first.y, torch.from_numpy(arrays["t10k-labels-idx1-ubyte"]).long())
    assert files_under(env.cache) == sorted(f"mnist/{stem}.gz" for stem in STEMS)
    served = len(env.net.urls)
    monkeypatch.setenv("INFOBOUNDS_OFFLINE", "1")
    assert torch.equal(load("mnist", "test").x, first.x) and len(env.net.urls) == served


def test_probe_2_13_a_page_that_matches_nothing_published_is_refused_even_with_the_right_length(env, monkeypatch):
    # A body of exactly the published size that is not the published file: only the checksum catches it.
    _go_online(env, monkeypatch)
    source = env.root / "upstream"
    fake_idx_set(source, seed=13)
    files = {stem: (source / f"{stem}.gz").read_bytes() for stem in STEMS}
    _publish(monkeypatch, files)
    env.net.serve = lambda url: FakeResponse(b"\0" * len(files[url.rsplit("/", 1)[1].removesuffix(".gz")]))
    with pytest.raises(Exception) as err:
        load("mnist", "test")
    assert files_under(env.cache) == []
    assert isinstance(err.value, DataNotFoundError) and "SHA-256" in str(err.value)


def test_probe_2_14_body_shorter_than_its_content_length_is_never_cached(env, monkeypatch):
    _go_online(env, monkeypatch)
    env.net.serve = lambda url: FakeResponse(b"\x1f\x8b" + b"x" * 100, content_length=1_000_000)
    with pytest.raises(Exception) as err:
        load("fashion_mnist", "test")
    assert files_under(env.cache) == []
    assert isinstance(err.value, DataNotFoundError) and "closed after 102 of the 1000000 bytes" in str(err.value)


def test_probe_2_14_connection_reset_mid_download_leaves_no_temporary_file(env, monkeypatch):
    _go_online(env, monkeypatch)
    source = env.root / "upstream"
    fake_idx_set(source, seed=14)
    files = {stem: (source / f"{stem}.gz").read_bytes() for stem in STEMS}
    _publish(monkeypatch, files)
    env.net.serve = lambda url: FakeResponse(files[url.rsplit("/", 1)[1].removesuffix(".gz")], fail_after=64)
    with pytest.raises(Exception) as err:
        load("mnist", "test")
    assert files_under(env.cache) == []
    assert isinstance(err.value, DataNotFoundError) and "connection reset" in str(err.value)


def test_probe_2_14_correct_svhn_and_cifar_downloads_are_cached(env, monkeypatch):
    _go_online(env, monkeypatch)
    svhn = svhn_bytes(n=7, seed=3)
    archive = cifar_archive_bytes(write_cifar_folder(env.root / "upstream" / "cifar-10-batches-py"))
    monkeypatch.setattr(paired_module, "SVHN_PUBLISHED",
                        {"test_32x32.mat": Published(len(svhn), hashlib.sha256(svhn).hexdigest())}, raising=False)
    monkeypatch.setattr(cifar_module, "PUBLISHED", Published(md5=hashlib.md5(archive).hexdigest()), raising=False)
    env.net.serve = lambda url: FakeResponse(svhn if url.endswith(".mat") else archive)
    x, y = load_svhn("test")
    assert x.shape == (7, 3, 32, 32) and int(y.max()) <= 9
    assert len(load("cifar10", "test")) == 4
    assert "svhn/test_32x32.mat" in files_under(env.cache) and "cifar-10-python.tar.gz" in files_under(env.cache)


def test_probe_2_11_svhn_labels_outside_1_to_10_are_refused_naming_the_file(env):
    path = env.data / "svhn" / "test_32x32.mat"
    path.parent.mkdir()
    path.write_bytes(svhn_bytes(labels=[1, 2, 10, 11]))
    with pytest.raises(ValueError, match="outside 1..10") as err:
        load_svhn("test")
    assert str(path) in str(err.value)


# ------------------------------------------------------------------------------------------------
# 2.15: the CIFAR-10 pickles cannot run code; the archive must be the published one
# ------------------------------------------------------------------------------------------------

class _Payload:
    """A pickle that, when loaded by ``pickle.load``, creates ``marker``."""

    def __init__(self, marker: Path, how: str):
        self.marker, self.how = marker, how

    def __reduce__(self):
        if self.how == "open":
            return (open, (str(self.marker), "w"))
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("how", ["open", "os.system"])
def test_probe_2_15_a_malicious_cifar_pickle_does_not_run(env, how):
    folder = write_cifar_folder(env.data / "cifar-10-batches-py")
    marker = env.root / "PWNED"
    (folder / "test_batch").write_bytes(pickle.dumps(_Payload(marker, how), protocol=2))
    with pytest.raises(Exception) as err:
        load("cifar10", "test")
    assert not marker.exists(), "the pickle's code ran"
    assert isinstance(err.value, ValueError) and "refused" in str(err.value)
    assert str(folder / "test_batch") in str(err.value) and "good copy" in str(err.value)


def test_probe_2_15_an_archive_without_the_published_md5_is_not_extracted(env):
    batches = write_cifar_folder(env.root / "evil" / "cifar-10-batches-py")
    marker = env.root / "PWNED"
    (batches / "test_batch").write_bytes(pickle.dumps(_Payload(marker, "open"), protocol=2))
    archive = env.data / "cifar-10-python.tar.gz"
    archive.write_bytes(cifar_archive_bytes(batches))
    with pytest.raises(Exception) as err:
        load("cifar10", "test")
    assert not marker.exists() and not (env.data / "cifar-10-batches-py").exists()
    assert isinstance(err.value, ValueError) and "c58f30108f718f92721af3b95e74349a" in str(err.value)
    assert str(archive) in str(err.value)


def test_probe_2_15_the_release_format_still_loads(env, monkeypatch):
    # As the release was written: NumPy 1.x's module name for the array reconstructor.
    batches = env.root / "release" / "cifar-10-batches-py"
    write_cifar_folder(batches, seed=15)
    for path in batches.iterdir():
        raw = path.read_bytes()
        assert b"cnumpy._core.multiarray\n_reconstruct\n" in raw
        path.write_bytes(raw.replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n"))
    archive = cifar_archive_bytes(batches)
    (env.data / "cifar-10-python.tar.gz").write_bytes(archive)
    monkeypatch.setattr(cifar_module, "PUBLISHED", Published(md5=hashlib.md5(archive).hexdigest()), raising=False)
    test = load("cifar10", "test")
    expected = cifar_batch(seed=15)
    assert test.y.tolist() == expected[b"labels"]
    assert torch.equal((test.x * 255).round().to(torch.uint8).reshape(4, -1), torch.from_numpy(expected[b"data"]))
    assert len(load("cifar10", "train")) == 20
    assert not list(env.data.glob(".cifar-10-extract-*"))  # the staging folder is gone


def test_probe_2_11_cifar_labels_outside_the_classes_are_refused_naming_the_file(env):
    folder = write_cifar_folder(env.data / "cifar-10-batches-py")
    batch = cifar_batch()
    batch[b"labels"][2] = 10
    (folder / "test_batch").write_bytes(pickle.dumps(batch, protocol=3))
    with pytest.raises(ValueError, match="outside the 10 classes") as err:
        load("cifar10", "test")
    assert str(folder / "test_batch") in str(err.value)
