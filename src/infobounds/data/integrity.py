"""The two data errors, and the check every loaded image data set passes before anyone sees it.

:class:`DataNotFoundError` (a :class:`FileNotFoundError`) says a data set is not on this machine and
could not be fetched, where it was looked for, and how to get it. :class:`DataCorruptError` (a
:class:`ValueError`) says a file is there but is not what it should be: a truncated or damaged
archive, the wrong file under the right name, labels outside the classes. Both messages name the
file and say how to get a good copy, so a command line can print them as they are.

:func:`check_labelled_arrays` is the content check: images of the data set's shape and dtype, one
label per image, every label a class index. A file that fails it never reaches a model, where the
same fault would surface as a shape error blaming the model, or as an out-of-range target many
steps into training (a device-side assert on a GPU).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

__all__ = ["DataNotFoundError", "DataCorruptError", "check_labelled_arrays"]


class DataNotFoundError(FileNotFoundError):
    """A data set is not on this machine and could not be fetched; the message says how to get it."""


class DataCorruptError(ValueError):
    """A data file exists but is damaged or is not the file it is named after; the message names it
    and says how to get a good copy."""


def _names(files: Sequence[str | Path]) -> str:
    return " and ".join(str(f) for f in files)


def check_labelled_arrays(images: np.ndarray, labels: np.ndarray, *, image_shape: tuple[int, ...],
                          n_classes: int, images_file: str | Path, labels_file: str | Path | None = None,
                          remedy: str = "") -> None:
    """Raise :class:`DataCorruptError` unless ``images`` is ``(N, *image_shape)`` uint8 and ``labels``
    is ``(N,)`` of integers in ``[0, n_classes)``.

    ``images_file`` and ``labels_file`` (the same file when one holds both, then leave it None) are
    named in the message, followed by ``remedy`` (how to get a good copy).
    """
    labels_file = images_file if labels_file is None else labels_file
    both = (images_file,) if labels_file == images_file else (images_file, labels_file)
    tail = f" {remedy}" if remedy else ""
    if images.dtype != np.uint8 or images.ndim != 1 + len(image_shape) or tuple(images.shape[1:]) != image_shape:
        raise DataCorruptError(
            f"{images_file} should hold images of shape (N, {', '.join(map(str, image_shape))}) and dtype "
            f"uint8, but holds shape {tuple(images.shape)} and dtype {images.dtype}: it is not this data "
            f"set's image file.{tail}")
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise DataCorruptError(
            f"{labels_file} should hold one integer label per image, but holds shape {tuple(labels.shape)} "
            f"and dtype {labels.dtype}: it is not this data set's label file.{tail}")
    if len(labels) != len(images):
        raise DataCorruptError(
            f"{_names(both)} disagree: {len(images)} images but {len(labels)} labels (a file of the other "
            f"split, or a damaged one?).{tail}")
    outside = (labels < 0) | (labels >= n_classes)
    if outside.any():
        first = int(np.flatnonzero(outside)[0])
        raise DataCorruptError(
            f"{labels_file}: {int(outside.sum())} labels lie outside the {n_classes} classes [0, {n_classes}) "
            f"(the first is {int(labels[first])}, at index {first}).{tail}")
