"""Generated stand-ins for the image data sets a smoke run does not find on the machine.

A smoke run (``INFOBOUNDS_SMOKE=1``, :mod:`infobounds.profiles`) rehearses the full profile on a CPU,
where MNIST, CIFAR-10 and SVHN are usually absent (nothing downloads in tests). When a loader has
looked in all its folders and found nothing, it asks this module for a stand-in instead of failing:
a small file set in the release's own format (gzipped IDX for MNIST and Fashion-MNIST, the pickled
``cifar-10-batches-py`` batches, SVHN's MATLAB ``{split}_32x32.mat``), written into a temporary folder
of this process and then read by the same loader as a real copy. So the loaders' parsing and content
checks run, and what reaches a chapter has the real data's shape, dtype (uint8 on disk, float32 in
[0, 1] after loading), value range and number of classes; only the number of examples
(:data:`SIZES`) and the content differ. The content is noise with a bright square whose position
depends on the class, so a label is learnable but nothing about the real data set is claimed.

Each stand-in is announced once per process (one line on stderr), and the temporary folder is removed
when the process ends. Outside a smoke run no loader calls this module: missing data fails with its
:class:`~infobounds.data.DataNotFoundError` as before.
"""

from __future__ import annotations

import atexit
import gzip
import pickle
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["SIZES", "scratch_dir", "idx_files", "cifar_folder", "svhn_file"]

# Examples per split: more than SMOKE_EXAMPLES in train, so the smoke cap is exercised, and at least
# ten of every class in each split, so pairing by label always finds a partner.
SIZES = {"train": 600, "test": 300}
N_CLASSES = 10

_scratch: Path | None = None
_made: dict[str, Path] = {}


def scratch_dir() -> Path:
    """This process's temporary folder for a smoke run's stand-ins and caches (removed at exit)."""
    global _scratch
    if _scratch is None:
        _scratch = Path(tempfile.mkdtemp(prefix="infobounds-smoke-"))
        atexit.register(shutil.rmtree, _scratch, ignore_errors=True)
    return _scratch


def _announce(name: str, where: Path) -> None:
    print(f"smoke run: {name} is not on this machine; using a generated stand-in of the same shape, dtype, "
          f"value range and classes ({SIZES['train']} train, {SIZES['test']} test examples) in {where}",
          file=sys.stderr)


def _images(split: str, shape: tuple[int, ...], channel_axis: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images ``(N, *shape)`` and labels ``(N,)`` in ``[0, 10)``, every class present; the image's
    spatial axes are the two of ``shape`` that are not ``channel_axis``."""
    n = SIZES[split]
    rng = np.random.default_rng(0 if split == "train" else 1)
    labels = rng.permutation(np.arange(n) % N_CLASSES)
    images = rng.integers(0, 96, size=(n, *shape), dtype=np.uint8)
    spatial = [k for k in range(len(shape)) if k != channel_axis]
    h, w = shape[spatial[0]], shape[spatial[1]]
    side = h // 4
    for i, k in enumerate(labels):
        r, c = (k // 5) * (h // 2), (k % 5) * ((w - side) // 4)
        index = [slice(None)] * len(shape)
        index[spatial[0]], index[spatial[1]] = slice(r, r + side), slice(c, c + side)
        images[(i, *index)] = 255
    return images, labels


def _write_idx(path: Path, array: np.ndarray) -> None:
    """An IDX file of unsigned bytes (type 0x08), gzipped, as MNIST's are published."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def idx_files(name: str, split: str) -> tuple[Path, Path]:
    """(images, labels) IDX files of a stand-in for ``name`` (``mnist`` or ``fashion_mnist``)."""
    from infobounds.data.idx import _FILES, _FOLDER

    key = f"idx:{name}"
    if key not in _made:
        folder = scratch_dir() / _FOLDER[name]
        folder.mkdir(parents=True, exist_ok=True)
        for part, (images_stem, labels_stem) in _FILES.items():
            images, labels = _images(part, (28, 28))
            _write_idx(folder / f"{images_stem}.gz", images)
            _write_idx(folder / f"{labels_stem}.gz", labels)
        _made[key] = folder
        _announce(name, folder)
    images_stem, labels_stem = _FILES[split]
    return _made[key] / f"{images_stem}.gz", _made[key] / f"{labels_stem}.gz"


def cifar_folder() -> Path:
    """A stand-in ``cifar-10-batches-py/`` folder: five training batches and ``test_batch``, each a
    pickled dict with ``b"data"`` (N, 3072) uint8 (channel-major rows) and ``b"labels"``, a list of ints,
    as in the release (read with its unpickler, whose allow-list admits only NumPy's array builders)."""
    from infobounds.data.cifar import _BATCHES, FOLDER

    if "cifar10" not in _made:
        folder = scratch_dir() / FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        for split, names in _BATCHES.items():
            images, labels = _images(split, (3, 32, 32), channel_axis=0)
            for name, rows in zip(names, np.array_split(np.arange(len(labels)), len(names))):
                batch = {b"batch_label": f"stand-in {name}".encode(), b"labels": labels[rows].tolist(),
                         b"data": images[rows].reshape(len(rows), -1)}
                with open(folder / name, "wb") as f:
                    pickle.dump(batch, f)
        _made["cifar10"] = folder
        _announce("cifar10", folder)
    return _made["cifar10"]


def svhn_file(split: str) -> Path:
    """A stand-in SVHN ``{split}_32x32.mat``: ``X`` (32, 32, 3, N) uint8 and ``y`` (N, 1) in 1..10 (10 is
    the digit 0, as in the release)."""
    from scipy.io import savemat

    if "svhn" not in _made:
        folder = scratch_dir() / "svhn"
        folder.mkdir(parents=True, exist_ok=True)
        for part in SIZES:
            images, labels = _images(part, (32, 32, 3), channel_axis=2)  # (N, 32, 32, 3)
            file_labels = np.where(labels == 0, 10, labels).astype(np.uint8)[:, None]
            savemat(folder / f"{part}_32x32.mat", {"X": np.moveaxis(images, 0, 3), "y": file_labels})
        _made["svhn"] = folder
        _announce("svhn", folder)
    return _made["svhn"] / f"{split}_32x32.mat"
