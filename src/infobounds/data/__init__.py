"""One data API for the whole book: ``load(name, split)`` returns tensors, ``BatchStream`` iterates.

Data sets
---------
``fashion_mnist``, ``mnist``
    28x28 grey images in [0, 1] (float32) and integer labels. Looked up, in this order, in
    ``$INFOBOUNDS_DATA/<name>`` (never loose in ``$INFOBOUNDS_DATA``: the two data sets share file
    names), ``/usr/share/datasets/<name>`` (Debian's ``dataset-fashion-mnist``
    package), the user cache ``~/.cache/infobounds/<name>``; downloaded into the cache when a
    network is there and ``INFOBOUNDS_OFFLINE`` is not set, each file verified against its
    published size and SHA-256 first (:mod:`infobounds.data.idx`). Otherwise
    :class:`DataNotFoundError` says where it looked and how to get the files. Files that are there
    but damaged, or are not this data set's (wrong shape, counts or labels), raise
    :class:`DataCorruptError`, a ``ValueError`` naming the file and how to get a good copy.
``digits``
    scikit-learn's 1797 8x8 digits, scaled to [0, 1]; ships with scikit-learn.
``cifar10``
    32x32 colour images in [0, 1], (N, 3, 32, 32); found or downloaded (and verified) as described
    in :mod:`infobounds.data.cifar`, whose release pickles are read with an unpickler that can
    build nothing but arrays.
``shapes``
    dSprites-style images with their five known factors, rendered exactly on the fly
    (:mod:`infobounds.data.shapes`): a :class:`~infobounds.data.shapes.FactorImages` with ``x``
    (N, 1, R, R), ``y`` (the shape), ``factors`` and ``codes``. Keywords ``resolution`` (default
    64) and ``levels`` choose a sub-grid; ``train`` and ``test`` are a fixed 80/20 partition of its
    combinations. Pass ``n``: the whole 64x64 grid is 737,280 images (12 GB).

In a smoke run (``INFOBOUNDS_SMOKE=1``, :mod:`infobounds.profiles`) every loader keeps at most
``SMOKE_EXAMPLES`` examples, and a missing MNIST, Fashion-MNIST, CIFAR-10 or SVHN is replaced by a
generated stand-in read through the same loader (:mod:`infobounds.data.standins`).

Synthetic sources (correlated Gaussians with known mutual information and friends) live in
:mod:`infobounds.data.synthetic`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import torch

from infobounds.data.idx import how_to_get, locate_idx_files, read_idx
from infobounds.data.integrity import DataCorruptError, DataNotFoundError, check_labelled_arrays
from infobounds.data.iterators import BatchStream, iterate_batches, subset_indices
from infobounds.profiles import smoke_examples

if TYPE_CHECKING:
    from infobounds.data.shapes import FactorImages

__all__ = [
    "BatchStream",
    "DataCorruptError",
    "DataNotFoundError",
    "LabelledImages",
    "available",
    "iterate_batches",
    "load",
]

SPLITS = ("train", "test")


@dataclass(frozen=True)
class LabelledImages:
    """Images ``x`` (N, C, H, W) float32 in [0, 1] and labels ``y`` (N,) int64."""

    name: str
    split: str
    x: torch.Tensor
    y: torch.Tensor
    classes: tuple[str, ...]

    def __len__(self) -> int:
        return self.x.shape[0]

    @property
    def flat(self) -> torch.Tensor:
        """The images as vectors, (N, C*H*W)."""
        return self.x.reshape(len(self), -1)

    def to(self, device: str | torch.device) -> "LabelledImages":
        """The same data resident on ``device`` (the full profile keeps data on the GPU)."""
        return replace(self, x=self.x.to(device), y=self.y.to(device))

    def subset(self, n: int | None, seed: int = 0) -> "LabelledImages":
        """A random subset of ``n`` examples (all of them when ``n`` is None or too large).

        The subset is stratified by nothing and seeded, so the same ``(n, seed)`` gives the same
        examples on every machine.
        """
        idx = subset_indices(len(self), n, seed)
        if idx is None:
            return self
        return replace(self, x=self.x[idx], y=self.y[idx])


FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
DIGIT_CLASSES = tuple(str(k) for k in range(10))


def _load_idx_images(name: str, split: str, classes: tuple[str, ...]) -> LabelledImages:
    images_path, labels_path = locate_idx_files(name, split)
    remedy = f"Delete it and get a good copy. {how_to_get(name)}"
    images, labels = read_idx(images_path, remedy=remedy), read_idx(labels_path, remedy=remedy)
    check_labelled_arrays(images, labels, image_shape=(28, 28), n_classes=len(classes), images_file=images_path,
                          labels_file=labels_path, remedy=f"Replace it with a good copy. {how_to_get(name)}")
    x = torch.from_numpy(images).unsqueeze(1).float().div_(255.0)  # (N, 1, 28, 28)
    return LabelledImages(name=name, split=split, x=x, y=torch.from_numpy(labels).long(), classes=classes)


def _load_digits(split: str) -> LabelledImages:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.from_numpy(bunch.images).float().div_(16.0).unsqueeze(1)  # (1797, 1, 8, 8)
    y = torch.from_numpy(bunch.target).long()
    # A fixed, seeded 80/20 split: scikit-learn ships no test split.
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))
    cut = int(0.8 * len(y))
    idx = perm[:cut] if split == "train" else perm[cut:]
    idx = idx.sort().values
    return LabelledImages(name="digits", split=split, x=x[idx], y=y[idx], classes=DIGIT_CLASSES)


def _load_cifar10(split: str) -> LabelledImages:
    from infobounds.data.cifar import CLASSES, read_split

    images, labels = read_split(split)
    x = torch.from_numpy(images).float().div_(255.0)  # (N, 3, 32, 32)
    return LabelledImages(name="cifar10", split=split, x=x, y=torch.from_numpy(labels), classes=CLASSES)


_LOADERS = {
    "fashion_mnist": lambda split: _load_idx_images("fashion_mnist", split, FASHION_CLASSES),
    "mnist": lambda split: _load_idx_images("mnist", split, DIGIT_CLASSES),
    "digits": _load_digits,
    "cifar10": _load_cifar10,
    "shapes": None,  # rendered by infobounds.data.shapes.load_shapes, with its own options
}


def available() -> tuple[str, ...]:
    """Names :func:`load` accepts."""
    return tuple(_LOADERS)


def load(
    name: str,
    split: str = "train",
    *,
    n: int | None = None,
    seed: int = 0,
    device: str | torch.device | None = None,
    **options,
) -> LabelledImages | FactorImages:
    """Load a labelled image data set as tensors.

    Parameters
    ----------
    name : one of :func:`available` (``fashion_mnist``, ``mnist``, ``digits``, ``cifar10``, ``shapes``).
    split : ``"train"`` or ``"test"``.
    n : keep a seeded random subset of this many examples (the quick profile's sizes).
    seed : seed of that subset.
    device : move the tensors there (the full profile keeps data resident on the GPU).
    options : for ``shapes`` only, ``resolution`` and ``levels`` of
        :func:`~infobounds.data.shapes.load_shapes`.

    Raises
    ------
    ValueError
        for an unknown name or split.
    DataNotFoundError
        when the files are not on this machine and cannot be downloaded; the message says where
        it looked and how to get them.
    DataCorruptError
        (a ``ValueError``) when a file is damaged or holds the wrong content; the message names the
        file and how to get a good copy.
    """
    key = name.lower().replace("-", "_")
    if key not in _LOADERS:
        raise ValueError(f"unknown data set {name!r}: choose one of {', '.join(available())}")
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: choose one of {', '.join(SPLITS)}")
    if key == "shapes":
        from infobounds.data.shapes import load_shapes

        unknown = set(options) - {"resolution", "levels"}
        if unknown:
            raise ValueError(f"shapes takes the options resolution and levels, not {', '.join(sorted(unknown))}")
        return load_shapes(split=split, n=n, seed=seed, device=device, **options)
    if options:
        raise ValueError(f"{name!r} takes no options, got {', '.join(sorted(options))}")
    data = _LOADERS[key](split).subset(smoke_examples(n), seed=seed)  # a smoke run keeps <= SMOKE_EXAMPLES
    return data.to(device) if device is not None else data
