"""Locating and reading IDX files (the format of MNIST and Fashion-MNIST), in one place."""

from __future__ import annotations

import gzip
import os
import shutil
import tempfile
import urllib.request
from pathlib import Path

import numpy as np

_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

# Debian ships Fashion-MNIST as /usr/share/datasets/fashion-mnist; the folder names below follow it.
_FOLDER = {"fashion_mnist": "fashion-mnist", "mnist": "mnist"}

_MIRRORS = {
    "fashion_mnist": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
    "mnist": ["https://ossci-datasets.s3.amazonaws.com/mnist/"],
}

_HOW_TO_GET = {
    "fashion_mnist": (
        "On Debian/Ubuntu: `sudo apt-get install dataset-fashion-mnist` (installs the files in "
        "/usr/share/datasets/fashion-mnist). Elsewhere: download the four *-ubyte.gz files from "
        "https://github.com/zalandoresearch/fashion-mnist into a folder and point "
        "INFOBOUNDS_DATA at its parent (files in $INFOBOUNDS_DATA/fashion-mnist/)."
    ),
    "mnist": (
        "Download the four MNIST *-ubyte.gz files (train-images-idx3-ubyte.gz, ...) into "
        "$INFOBOUNDS_DATA/mnist/ or ~/.cache/infobounds/mnist/, or run once with a network "
        "and without INFOBOUNDS_OFFLINE so the package downloads them."
    ),
}


class DataNotFoundError(FileNotFoundError):
    """A data set is not on this machine and could not be fetched; the message says how to get it."""


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "infobounds"


def search_folders(name: str) -> list[Path]:
    """Folders searched for data set ``name``, in order."""
    folder = _FOLDER[name]
    places = []
    if os.environ.get("INFOBOUNDS_DATA"):
        root = Path(os.environ["INFOBOUNDS_DATA"])
        places += [root / folder, root]
    places += [Path("/usr/share/datasets") / folder, cache_dir() / folder]
    return places


def _find(folder: Path, stem: str) -> Path | None:
    for candidate in (folder / f"{stem}.gz", folder / stem):
        if candidate.is_file():
            return candidate
    return None


def _download(name: str, stems: tuple[str, ...]) -> Path | None:
    """Download into the user cache; None when there is no network (or downloads are disabled)."""
    if os.environ.get("INFOBOUNDS_OFFLINE", "").strip() not in ("", "0"):
        return None
    target = cache_dir() / _FOLDER[name]
    for base in _MIRRORS[name]:
        try:
            target.mkdir(parents=True, exist_ok=True)
            for stem in stems:
                if _find(target, stem):
                    continue
                with urllib.request.urlopen(base + stem + ".gz", timeout=20) as response:
                    # Write to a temporary file and rename, so an interrupted download leaves nothing.
                    with tempfile.NamedTemporaryFile(dir=target, delete=False) as tmp:
                        shutil.copyfileobj(response, tmp)
                os.replace(tmp.name, target / f"{stem}.gz")
            return target
        except OSError:
            continue
    return None


def locate_idx_files(name: str, split: str) -> tuple[Path, Path]:
    """Paths of the (images, labels) IDX files of ``name``/``split``; download if needed and allowed."""
    stems = _FILES[split]
    for folder in search_folders(name):
        found = [_find(folder, stem) for stem in stems]
        if all(found):
            return found[0], found[1]
    folder = _download(name, _FILES["train"] + _FILES["test"])
    if folder is not None:
        return _find(folder, stems[0]), _find(folder, stems[1])
    looked = "\n  ".join(str(p) for p in search_folders(name))
    offline = " (downloads are disabled: INFOBOUNDS_OFFLINE is set)" if os.environ.get(
        "INFOBOUNDS_OFFLINE", "").strip() not in ("", "0") else " (download failed: no network?)"
    raise DataNotFoundError(
        f"{name} ({split}) not found. Looked for {stems[0]}[.gz] and {stems[1]}[.gz] in:\n  "
        f"{looked}\nand could not download it{offline}.\nHow to get it: {_HOW_TO_GET[name]}"
    )


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (optionally gzipped) into a NumPy array of its declared shape."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path} is not an IDX file (bad magic number)")
    dtypes = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if raw[2] not in dtypes:
        raise ValueError(f"{path}: unknown IDX element type 0x{raw[2]:02x}")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=dtypes[raw[2]], offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header says {shape} but the file holds {data.size} values")
    return data.reshape(shape).copy()
