"""CIFAR-10 (Krizhevsky 2009) through the same data API: ``load("cifar10", split)``.

The python-pickle release is looked for as ``cifar-10-batches-py/`` (or its ``.tar.gz``) in
``$INFOBOUNDS_DATA`` and the user cache, and downloaded into the cache when a network is there and
``INFOBOUNDS_OFFLINE`` is not set; otherwise :class:`DataNotFoundError` says how to get it.

Integrity and safety
--------------------
* The archive, downloaded or found, must have the MD5 published on the data set's page
  (``c58f30108f718f92721af3b95e74349a``) before it is cached or extracted.
* The batches are Python pickles, and ``pickle.load`` calls whatever a file names. They are read
  with :class:`ReleaseUnpickler`, which resolves only the four names the release's NumPy arrays
  need; any other name (``os.system``, ``builtins.open``, ...) is refused before it runs, and the
  error names the file.
* Each batch must hold ``(N, 3072)`` uint8 images and N labels in [0, 10)
  (:func:`~infobounds.data.integrity.check_labelled_arrays`).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import tarfile
import tempfile
import zlib
from pathlib import Path

import numpy as np

from infobounds.data.download import DownloadError, Published, download_verified, downloads_allowed
from infobounds.data.idx import cache_dir
from infobounds.data.integrity import DataCorruptError, DataNotFoundError, check_labelled_arrays
from infobounds.profiles import smoke_enabled

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
ARCHIVE = "cifar-10-python.tar.gz"
FOLDER = "cifar-10-batches-py"
PUBLISHED = Published(md5="c58f30108f718f92721af3b95e74349a")  # https://www.cs.toronto.edu/~kriz/cifar.html
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
_BATCHES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
HOW_TO_GET = (f"download {URL} (MD5 {PUBLISHED.md5}) and put the archive (or its extracted {FOLDER}/ folder) "
              "in $INFOBOUNDS_DATA or ~/.cache/infobounds/, or run once with a network and without "
              "INFOBOUNDS_OFFLINE so the package downloads and verifies it.")


# NumPy's array reconstructor, whatever module the installed NumPy keeps it in (numpy.core before 2.0,
# numpy._core since): an array's own __reduce__ names it.
_RECONSTRUCT = np.empty(0).__reduce__()[0]


class ReleaseUnpickler(pickle.Unpickler):
    """An unpickler for the CIFAR-10 python release that can build dicts, lists, strings, numbers
    and NumPy arrays, and nothing else.

    Builtin containers and scalars come from pickle opcodes; the only names a release batch looks up
    are those of NumPy's array reconstruction, mapped here to the objects themselves so that no
    module is imported on the file's behalf.
    """

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,  # written by NumPy 1.x (the release)
        ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,  # written by NumPy 2.x
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }

    def find_class(self, module: str, name: str):
        try:
            return self.ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"it asks for {module}.{name}, which a CIFAR-10 release batch never "
                                         "does (refused: unpickling a name can run code)") from None


def _folders() -> list[Path]:
    places = []
    if os.environ.get("INFOBOUNDS_DATA"):
        places.append(Path(os.environ["INFOBOUNDS_DATA"]))
    places.append(cache_dir())
    return places


def _check_archive(archive: Path) -> None:
    md5 = hashlib.md5(usedforsecurity=False)
    with open(archive, "rb") as f:
        while chunk := f.read(1 << 20):
            md5.update(chunk)
    if md5.hexdigest() != PUBLISHED.md5:
        raise DataCorruptError(f"{archive} has MD5 {md5.hexdigest()}, not the published {PUBLISHED.md5}: a damaged "
                               f"or different archive. Delete it and get a good copy: {HOW_TO_GET}")


def _extract(archive: Path, into: Path) -> Path:
    """Verify ``archive`` and extract its batches to ``into/cifar-10-batches-py``, each file renamed into
    place only once complete."""
    _check_archive(archive)
    staging = Path(tempfile.mkdtemp(dir=into, prefix=".cifar-10-extract-"))
    try:
        try:
            with tarfile.open(archive) as tar:
                tar.extractall(staging, filter="data")
        except (tarfile.TarError, EOFError, zlib.error) as err:
            raise DataCorruptError(f"{archive} cannot be extracted ({err}). Delete it and get a good copy: "
                                   f"{HOW_TO_GET}") from err
        unpacked, target = staging / FOLDER, into / FOLDER
        if not unpacked.is_dir():
            raise DataCorruptError(f"{archive} holds no {FOLDER}/ folder. Delete it and get a good copy: {HOW_TO_GET}")
        target.mkdir(exist_ok=True)
        for item in unpacked.iterdir():
            os.replace(item, target / item.name)
        return target
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def locate() -> Path:
    """The folder of the release's batches; extract or download (verified) the archive if needed."""
    for folder in _folders():
        if (folder / FOLDER / "test_batch").is_file():
            return folder / FOLDER
        if (folder / ARCHIVE).is_file():
            return _extract(folder / ARCHIVE, folder)
    if smoke_enabled():  # a smoke run rehearses on a generated stand-in instead of downloading
        from infobounds.data.standins import cifar_folder

        return cifar_folder()
    if downloads_allowed():
        target = cache_dir()
        try:
            download_verified([URL], target / ARCHIVE, PUBLISHED)
        except (DownloadError, OSError) as err:
            why = f"download failed: {err}"
        else:
            return _extract(target / ARCHIVE, target)
    else:
        why = "downloads are disabled: INFOBOUNDS_OFFLINE is set"
    looked = "\n  ".join(str(p / FOLDER) for p in _folders())
    raise DataNotFoundError(
        f"cifar10 not found. Looked in:\n  {looked}\nand could not download it ({why}).\nHow to get it: {HOW_TO_GET}"
    )


def read_batch(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 3, 32, 32) uint8 and labels (N,) int64 of one release batch file, read with
    :class:`ReleaseUnpickler` and checked; :class:`DataCorruptError` names the file otherwise."""
    path = Path(path)
    remedy = f"Delete it and get a good copy: {HOW_TO_GET}"
    if not path.is_file():
        raise DataNotFoundError(f"{path} is missing from the extracted release. How to get it: {HOW_TO_GET}")
    try:
        with open(path, "rb") as f:
            batch = ReleaseUnpickler(f, encoding="bytes").load()  # bytes: the release was pickled by Python 2
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
            OverflowError, MemoryError, RecursionError) as err:  # a damaged stream can raise any of these
        raise DataCorruptError(f"{path} is not a CIFAR-10 release batch: {err}. {remedy}") from err
    data = batch.get(b"data") if isinstance(batch, dict) else None
    labels = batch.get(b"labels") if isinstance(batch, dict) else None
    if not isinstance(data, np.ndarray) or data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or labels is None:
        raise DataCorruptError(f"{path} is not a CIFAR-10 release batch: it needs b'data', an (N, 3072) array, "
                               f"and b'labels'. {remedy}")
    labels = np.asarray(labels)
    images = data.reshape(-1, 3, 32, 32)
    check_labelled_arrays(images, labels, image_shape=(3, 32, 32), n_classes=len(CLASSES), images_file=path,
                          remedy=remedy)
    return images, labels.astype(np.int64)


def read_split(split: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 3, 32, 32) uint8 and labels (N,) of ``split``."""
    folder = locate()
    batches = [read_batch(folder / name) for name in _BATCHES[split]]
    return np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])
