"""Locating, fetching and reading IDX files (the format of MNIST and Fashion-MNIST), in one place.

Where the files are looked for
------------------------------
``$INFOBOUNDS_DATA/<folder>``, ``/usr/share/datasets/<folder>`` (Debian's ``dataset-fashion-mnist``
installs ``fashion-mnist/``), then the user cache ``~/.cache/infobounds/<folder>``, with ``<folder>``
``fashion-mnist`` or ``mnist``. Only these per-data-set folders: MNIST and Fashion-MNIST use the same
four file names, so a file lying loose in ``$INFOBOUNDS_DATA`` cannot be told apart by its name, and
searching there returned Fashion-MNIST for ``load("mnist")``. Loose files are pointed out in the
not-found message instead.

What is checked
---------------
Downloads are checked against the publishers' sizes and SHA-256 values before they enter the cache
(:mod:`infobounds.data.download`). Files found on disk are not compared with those values, because
valid copies differ byte-wise: Debian's package re-compresses the files (its ``train-labels``
``.gz`` is 29491 bytes against the published 29515, yet decompresses to the same labels). Instead
every file read passes :func:`read_idx`'s format checks and the loader's content check
(:func:`infobounds.data.integrity.check_labelled_arrays`), and a failure names the file and says how
to get a good copy.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

from infobounds.data.download import DownloadError, Published, download_verified, downloads_allowed
from infobounds.data.integrity import DataCorruptError, DataNotFoundError
from infobounds.profiles import smoke_enabled

__all__ = ["DataNotFoundError", "DataCorruptError", "cache_dir", "search_folders", "locate_idx_files", "read_idx",
           "how_to_get"]

_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

# Debian ships Fashion-MNIST as /usr/share/datasets/fashion-mnist; the folder names below follow it.
_FOLDER = {"fashion_mnist": "fashion-mnist", "mnist": "mnist"}
SYSTEM_DATA = Path("/usr/share/datasets")

# https mirrors only. Fashion-MNIST: the authors' repository (its data/fashion/*.gz are the published
# files) and their S3 bucket over https (its website endpoint serves plain http only). MNIST: the
# copies of LeCun's files that torchvision and TensorFlow Datasets use.
_MIRRORS = {
    "fashion_mnist": [
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        "https://fashion-mnist.s3.eu-central-1.amazonaws.com/",
    ],
    "mnist": [
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
    ],
}

# Sizes and SHA-256 of the published .gz files, from TensorFlow Datasets' url_checksums
# (fashion_mnist.txt, mnist.txt). For Fashion-MNIST they agree with the MD5 values in the authors'
# README: the two label files of the authors' repository have both these SHA-256 values and the
# README's MD5s.
PUBLISHED = {
    "fashion_mnist": {
        "train-images-idx3-ubyte":
            Published(26421880, "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"),
        "train-labels-idx1-ubyte":
            Published(29515, "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"),
        "t10k-images-idx3-ubyte":
            Published(4422102, "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"),
        "t10k-labels-idx1-ubyte":
            Published(5148, "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"),
    },
    "mnist": {
        "train-images-idx3-ubyte":
            Published(9912422, "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
        "train-labels-idx1-ubyte":
            Published(28881, "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
        "t10k-images-idx3-ubyte":
            Published(1648877, "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
        "t10k-labels-idx1-ubyte":
            Published(4542, "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
    },
}

_HOW_TO_GET = {
    "fashion_mnist": (
        "On Debian/Ubuntu: `sudo apt-get install dataset-fashion-mnist` (installs the files in "
        "/usr/share/datasets/fashion-mnist). Elsewhere: download the four *-ubyte.gz files from "
        "https://github.com/zalandoresearch/fashion-mnist into a folder named fashion-mnist and point "
        "INFOBOUNDS_DATA at its parent (files in $INFOBOUNDS_DATA/fashion-mnist/), or run once with a "
        "network and without INFOBOUNDS_OFFLINE so the package downloads and verifies them."
    ),
    "mnist": (
        "Download the four MNIST *-ubyte.gz files (train-images-idx3-ubyte.gz, ...) into "
        "$INFOBOUNDS_DATA/mnist/ or ~/.cache/infobounds/mnist/, or run once with a network "
        "and without INFOBOUNDS_OFFLINE so the package downloads and verifies them."
    ),
}


def how_to_get(name: str) -> str:
    """How to get a good copy of IDX data set ``name`` (``fashion_mnist`` or ``mnist``)."""
    return _HOW_TO_GET[name]


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "infobounds"


def search_folders(name: str) -> list[Path]:
    """Folders searched for data set ``name``, in order (never the bare ``$INFOBOUNDS_DATA``)."""
    folder = _FOLDER[name]
    places = []
    if os.environ.get("INFOBOUNDS_DATA"):
        places.append(Path(os.environ["INFOBOUNDS_DATA"]) / folder)
    places += [SYSTEM_DATA / folder, cache_dir() / folder]
    return places


def _find(folder: Path, stem: str) -> Path | None:
    for candidate in (folder / f"{stem}.gz", folder / stem):
        if candidate.is_file():
            return candidate
    return None


def _download(name: str) -> tuple[Path | None, str]:
    """Download the four files of ``name`` into the cache, each verified against :data:`PUBLISHED`.

    Returns the cache folder, or None and why not (downloads disabled, or what each mirror sent).
    """
    if not downloads_allowed():
        return None, "downloads are disabled: INFOBOUNDS_OFFLINE is set"
    target = cache_dir() / _FOLDER[name]
    try:
        for stem in _FILES["train"] + _FILES["test"]:
            if _find(target, stem) is None:
                download_verified([base + stem + ".gz" for base in _MIRRORS[name]], target / f"{stem}.gz",
                                  PUBLISHED[name][stem])
    except (DownloadError, OSError) as err:  # OSError: the cache folder cannot be created or written
        return None, f"download failed: {err}"
    return target, ""


def locate_idx_files(name: str, split: str) -> tuple[Path, Path]:
    """Paths of the (images, labels) IDX files of ``name``/``split``; download if needed and allowed."""
    stems = _FILES[split]
    for folder in search_folders(name):
        found = [_find(folder, stem) for stem in stems]
        if all(found):
            return found[0], found[1]
    if smoke_enabled():  # a smoke run rehearses on a generated stand-in instead of downloading
        from infobounds.data.standins import idx_files

        return idx_files(name, split)
    folder, why = _download(name)
    if folder is not None:
        return _find(folder, stems[0]), _find(folder, stems[1])
    looked = "\n  ".join(str(p) for p in search_folders(name))
    loose = ""
    root = os.environ.get("INFOBOUNDS_DATA")
    if root and any(_find(Path(root), stem) for stem in stems):
        loose = (f"\n{stems[0]}/{stems[1]} lie directly in INFOBOUNDS_DATA={root}; they are not used because "
                 f"MNIST and Fashion-MNIST share these file names: move them into {Path(root) / _FOLDER[name]}/ "
                 "if they are this data set.")
    raise DataNotFoundError(
        f"{name} ({split}) not found. Looked for {stems[0]}[.gz] and {stems[1]}[.gz] in:\n  "
        f"{looked}\nand could not download it ({why}).{loose}\nHow to get it: {_HOW_TO_GET[name]}"
    )


_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_DEFAULT_REMEDY = "Delete it and get a good copy of the data set."


def _read_bytes(path: Path, remedy: str) -> bytes:
    if path.suffix != ".gz":
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as f:
            return f.read()
    except EOFError as err:  # the stream stops before its end marker: a cut-off download or copy
        raise DataCorruptError(f"{path} is corrupt: the gzip stream is truncated ({err}). {remedy}") from err
    except (gzip.BadGzipFile, zlib.error) as err:  # not gzip at all, damaged deflate data, CRC or length mismatch
        raise DataCorruptError(f"{path} is corrupt: {err}. {remedy}") from err


def read_idx(path: str | Path, *, remedy: str = _DEFAULT_REMEDY) -> np.ndarray:
    """Read an IDX file (optionally gzipped) into a NumPy array of its declared shape.

    Raises :class:`DataCorruptError` (a ``ValueError``) naming ``path``, followed by ``remedy`` (how
    to get a good copy), when the gzip stream is damaged or truncated, the magic number or element
    type is not IDX's, or the body does not hold exactly the values the header declares.
    """
    path = Path(path)
    raw = _read_bytes(path, remedy)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataCorruptError(f"{path} is not an IDX file (bad magic number). {remedy}")
    if raw[2] not in _DTYPES:
        raise DataCorruptError(f"{path}: unknown IDX element type 0x{raw[2]:02x}. {remedy}")
    ndim, offset = raw[3], 4 + 4 * raw[3]
    if len(raw) < offset:
        raise DataCorruptError(f"{path}: the IDX header of a {ndim}-d array is cut off ({len(raw)} bytes). {remedy}")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_DTYPES[raw[2]])
    body = len(raw) - offset
    if body != math.prod(shape) * dtype.itemsize:  # exact integers: a damaged header can declare huge sizes
        raise DataCorruptError(f"{path}: header says {shape} but the file holds {body // dtype.itemsize} values. "
                               f"{remedy}")
    return np.frombuffer(raw, dtype=dtype, offset=offset).reshape(shape).copy()
