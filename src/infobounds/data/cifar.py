"""CIFAR-10 (Krizhevsky 2009) through the same data API: ``load("cifar10", split)``.

The python-pickle release is looked for as ``cifar-10-batches-py/`` (or its ``.tar.gz``) in
``$INFOBOUNDS_DATA`` and the user cache, and downloaded into the cache when a network is there and
``INFOBOUNDS_OFFLINE`` is not set; otherwise :class:`DataNotFoundError` says how to get it.
"""

from __future__ import annotations

import os
import pickle
import shutil
import tarfile
import tempfile
import urllib.request
from pathlib import Path

import numpy as np

from infobounds.data.idx import DataNotFoundError, cache_dir

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
_BATCHES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}


def _folders() -> list[Path]:
    places = []
    if os.environ.get("INFOBOUNDS_DATA"):
        places.append(Path(os.environ["INFOBOUNDS_DATA"]))
    places.append(cache_dir())
    return places


def _extract(archive: Path, into: Path) -> Path:
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into / "cifar-10-batches-py"


def locate() -> Path:
    for folder in _folders():
        if (folder / "cifar-10-batches-py" / "test_batch").is_file():
            return folder / "cifar-10-batches-py"
        if (folder / "cifar-10-python.tar.gz").is_file():
            return _extract(folder / "cifar-10-python.tar.gz", folder)
    offline = os.environ.get("INFOBOUNDS_OFFLINE", "").strip() not in ("", "0")
    if not offline:
        target = cache_dir()
        try:
            target.mkdir(parents=True, exist_ok=True)
            with urllib.request.urlopen(URL, timeout=30) as response, \
                    tempfile.NamedTemporaryFile(dir=target, delete=False) as tmp:
                shutil.copyfileobj(response, tmp)
            os.replace(tmp.name, target / "cifar-10-python.tar.gz")
            return _extract(target / "cifar-10-python.tar.gz", target)
        except OSError:
            pass
    looked = "\n  ".join(str(p / "cifar-10-batches-py") for p in _folders())
    why = "downloads are disabled: INFOBOUNDS_OFFLINE is set" if offline else "download failed: no network?"
    raise DataNotFoundError(
        f"cifar10 not found. Looked in:\n  {looked}\nand could not download it ({why}).\n"
        f"How to get it: download {URL} and put the archive (or its extracted cifar-10-batches-py/ "
        "folder) in $INFOBOUNDS_DATA or ~/.cache/infobounds/."
    )


def read_split(split: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 3, 32, 32) uint8 and labels (N,) of ``split``."""
    folder = locate()
    xs, ys = [], []
    for name in _BATCHES[split]:
        with open(folder / name, "rb") as f:
            batch = pickle.load(f, encoding="bytes")  # the data set's own release format
        xs.append(np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        ys.append(np.asarray(batch[b"labels"], dtype=np.int64))
    return np.concatenate(xs), np.concatenate(ys)
