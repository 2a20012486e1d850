r"""Measured properties of grey images, to say what a latent traversal changes (chapter ``infogan``).

A latent code "controls the slant" only if a number computed from the images says so. This module
treats an image :math:`I(i, j) \ge 0` (row :math:`i` counted downwards, column :math:`j` to the right,
pixel centres at integer coordinates) as a mass distribution and computes its moments:

* ``ink``: the total mass :math:`m = \sum_{i,j} I(i, j)` in pixel units. For glyphs of a fixed size
  it grows with the stroke width.
* ``brightness``: the mass-weighted mean intensity :math:`\sum I^2 / \sum I`. A shape drawn at one
  grey level :math:`b` has brightness :math:`b` whatever its area, which separates brightness from ink.
* ``centroid_x``, ``centroid_y``: the first moments :math:`\bar x = \sum j\,I / m` and
  :math:`\bar y = \sum i\,I / m` (pixels; :math:`\bar y` grows downwards). A shift by
  :math:`(\delta_x, \delta_y)` whole pixels moves them by exactly that much.
* ``slant``: :math:`-\mu_{11} / \mu_{02}` with the central moments :math:`\mu_{11} = \sum (j - \bar x)
  (i - \bar y) I / m` and :math:`\mu_{02} = \sum (i - \bar y)^2 I / m`: the slope of the least-squares
  line of :math:`x` on the upward height :math:`-y`, so that a stroke whose top leans to the right has
  positive slant, and shearing an image by :math:`x \mapsto x + s\,(\bar y - y)` adds exactly :math:`s`.
* ``width``, ``height``: the standard deviations :math:`\sqrt{\mu_{20}}` and :math:`\sqrt{\mu_{02}}`
  of the mass along each axis; ``extent``: the radius of gyration :math:`\sqrt{\mu_{20} + \mu_{02}}`,
  which scales linearly with the size of the drawing.
* ``orientation``: the angle of the principal axis of the second moments, counter-clockwise from
  the :math:`x` axis with :math:`y` pointing up, in :math:`(-\pi/2, \pi/2]`:
  :math:`\tfrac12 \operatorname{atan2}(-2\mu_{11}, \mu_{20} - \mu_{02})` (Hu, 1962, *Visual pattern
  recognition by moment invariants*, IRE Trans. Inf. Theory 8).

:func:`traversal_rank_correlation` then scores a traversal: the Spearman rank correlation between
the code's value and a property, pooled over many traversals after removing each traversal's own
mean, so that it measures how consistently one code moves one property whatever the other inputs.
"""

from __future__ import annotations

import numpy as np
import torch

PROPERTIES = ("ink", "brightness", "centroid_x", "centroid_y", "slant", "width", "height", "extent",
              "orientation")


def _as_images(images) -> torch.Tensor:
    x = torch.as_tensor(images.detach().cpu() if isinstance(images, torch.Tensor) else np.asarray(images))
    if x.ndim == 4:
        if x.shape[1] != 1:
            raise ValueError(f"images must be grey, (N, H, W) or (N, 1, H, W); got shape {tuple(x.shape)}")
        x = x[:, 0]
    if x.ndim != 3 or x.shape[0] == 0 or x.shape[1] == 0 or x.shape[2] == 0:
        raise ValueError(f"images must be a non-empty (N, H, W) or (N, 1, H, W) array, got shape {tuple(x.shape)}")
    x = x.to(torch.float64)
    if not torch.isfinite(x).all():
        raise ValueError("images contain NaN or infinite values")
    if (x < 0).any():
        raise ValueError(f"images must be non-negative intensities, got a minimum of {float(x.min()):.4g}")
    mass = x.sum((1, 2))
    if (mass <= 0).any():
        raise ValueError(f"images {torch.nonzero(mass <= 0).flatten()[:5].tolist()} are blank: their moments "
                         "are undefined")
    return x


def image_properties(images) -> dict[str, np.ndarray]:
    """The properties of the module docstring for each image.

    Parameters
    ----------
    images : (N, H, W) or (N, 1, H, W) non-negative intensities (a tensor or an array); no image may be
        blank.

    Returns
    -------
    A dict from each name in :data:`PROPERTIES` to an (N,) float64 array.
    """
    x = _as_images(images)
    _, h, w = x.shape
    rows = torch.arange(h, dtype=x.dtype)[None, :, None]  # i, downwards
    cols = torch.arange(w, dtype=x.dtype)[None, None, :]  # j, to the right
    mass = x.sum((1, 2))
    cy = (x * rows).sum((1, 2)) / mass
    cx = (x * cols).sum((1, 2)) / mass
    dy = rows - cy[:, None, None]
    dx = cols - cx[:, None, None]
    mu20 = (x * dx * dx).sum((1, 2)) / mass
    mu02 = (x * dy * dy).sum((1, 2)) / mass
    mu11 = (x * dx * dy).sum((1, 2)) / mass
    # A single row of mass has mu02 = 0 and no defined slant: report 0 there rather than divide by it.
    slant = torch.where(mu02 > 0, -mu11 / mu02.clamp_min(1e-300), torch.zeros_like(mu02))
    orientation = 0.5 * torch.atan2(-2.0 * mu11, mu20 - mu02)  # y up: mu11 changes sign
    orientation = torch.where(orientation <= -torch.pi / 2, orientation + torch.pi, orientation)  # -pi/2 -> pi/2
    out = {
        "ink": mass,
        "brightness": (x * x).sum((1, 2)) / mass,
        "centroid_x": cx,
        "centroid_y": cy,
        "slant": slant,
        "width": mu20.sqrt(),
        "height": mu02.sqrt(),
        "extent": (mu20 + mu02).sqrt(),
        "orientation": orientation,
    }
    return {k: v.numpy() for k, v in out.items()}


def traversal_rank_correlation(values, properties) -> float:
    """Spearman's rank correlation between a code's value and an image property along traversals.

    Parameters
    ----------
    values : (T,) the code values of one traversal, shared by all traversals.
    properties : (n, T) the property of the image at each value, one row per traversal (the other
        inputs fixed within a row, different between rows).

    Each row's mean is subtracted first, so the differences between traversals' starting points do
    not count; the rank correlation is then taken over all ``n T`` (value, property) pairs
    (:func:`scipy.stats.spearmanr`). It is +1 when every traversal moves the property up in the same
    order of values, -1 when every traversal moves it down, and near 0 when the code does not move it
    or moves it one way in some traversals and the other way in others.
    """
    from scipy.stats import spearmanr

    values = np.asarray(values, dtype=np.float64)
    props = np.asarray(properties, dtype=np.float64)
    if values.ndim != 1 or values.size < 2:
        raise ValueError(f"values must be a 1-d array of at least two code values, got shape {values.shape}")
    if np.ptp(values) == 0:
        raise ValueError(f"values must not all be equal, got {values[0]!r} throughout")
    if props.ndim != 2 or props.shape[1] != values.size or props.shape[0] == 0:
        raise ValueError(f"properties must be (n, {values.size}) for {values.size} values, got shape {props.shape}")
    if not (np.isfinite(values).all() and np.isfinite(props).all()):
        raise ValueError("values and properties must be finite (found NaN or inf)")
    centred = props - props.mean(axis=1, keepdims=True)
    if np.ptp(centred) == 0:
        return 0.0  # the code moves nothing: no correlation (spearmanr would return NaN)
    return float(spearmanr(np.tile(values, props.shape[0]), centred.ravel())[0])
