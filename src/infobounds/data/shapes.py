r"""Procedural dSprites-style shapes with known generative factors (chapters ``factorvae``,
``stiefel_rkm``, ``cmi_disentanglement``).

Every image shows one white shape on black and is a deterministic function of five discrete factors,
the same grid as dSprites (Matthey et al., 2017):

================  ======  ==================================================================
factor            levels  values
================  ======  ==================================================================
``shape``         3       square, ellipse, heart
``scale``         6       0.5, 0.6, ..., 1.0 (relative size)
``orientation``   40      2 pi k / 40, k = 0..39 (radians, counter-clockwise)
``pos_x``         32      (50.5 + 5 i) / 256, i = 0..31, from 0.197 to 0.803 of the width
``pos_y``         32      the same, from the top
================  ======  ==================================================================

so there are 3 x 6 x 40 x 32 x 32 = 737,280 combinations. As in dSprites the orientation runs over
a full turn for every shape, so the square's orientation is only identifiable modulo pi/2 and the
ellipse's modulo pi.

Rendering is exact and needs no download. The image is split into a fine grid of 256 x 256 sample
points, at ((m + 1/2) / 256, (n + 1/2) / 256). A pixel of an ``R x R`` image (``R`` divides 256) covers
``s x s`` of them, ``s = 256 / R``, and its grey value is the **fraction of its sample points that
fall inside the shape**: anti-aliasing by supersampling, 16 samples per pixel at 64 x 64, 64 at
32 x 32, so values are multiples of ``1 / s^2``. Because every position lies on the fine grid (one
position step is 5 samples), moving a shape moves its sample mask by whole samples: each
``(shape, scale, orientation)`` is rasterised once into a small mask, and an image at any position
is four look-ups per pixel in that mask's integral image. Rendering is therefore fast, bit-identical
on every machine, and the same factors always give the same image.

The shapes, in units of ``r = 0.19 * scale`` around their centre (after rotation by the
orientation): square ``max(|u|, |v|) <= r / sqrt 2`` (so its corners reach r), ellipse
``(u / r)^2 + (v / (r/2))^2 <= 1``, heart ``(a^2 + b^2 - 1)^3 <= a^2 b^3`` with
``(a, b) = (1.3 u / r, 0.2 - 1.3 v / r)`` (the classic sextic heart, v pointing down, scaled so it
fits in radius r).
Every shape stays inside the image at every position.

:class:`Shapes` describes a sub-grid of factor levels (the quick profile's subsets) and renders it;
:meth:`Shapes.grid` returns all its combinations, :meth:`Shapes.sample` random draws, optionally with
two factors correlated through a Gaussian copula (the correlation-shift experiments of chapter
``cmi_disentanglement``). ``Shapes`` also has the ``factor_sizes`` / ``sample_factors`` /
``observe`` interface of the disentanglement metrics (:mod:`infobounds.metrics.disentanglement`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Mapping, Sequence

import numpy as np
import torch

from infobounds.data.iterators import subset_indices
from infobounds.profiles import smoke_enabled, smoke_examples

FACTOR_NAMES: tuple[str, ...] = ("shape", "scale", "orientation", "pos_x", "pos_y")
FACTOR_SIZES: tuple[int, ...] = (3, 6, 40, 32, 32)
SHAPE_NAMES: tuple[str, ...] = ("square", "ellipse", "heart")
FINE = 256  # sample points per image side
POSITION_START, POSITION_STEP = 50, 5  # fine-grid index of position 0, and of one position step
RADIUS = 0.19  # radius of a shape at scale 1, as a fraction of the image side


def factor_values() -> dict[str, np.ndarray]:
    """The value of every level of every factor (see the module table)."""
    pos = (POSITION_START + POSITION_STEP * np.arange(32) + 0.5) / FINE
    return {
        "shape": np.arange(3, dtype=float),
        "scale": np.linspace(0.5, 1.0, 6),
        "orientation": 2 * math.pi * np.arange(40) / 40,
        "pos_x": pos,
        "pos_y": pos.copy(),
    }


def _inside(shape: int, u: np.ndarray, v: np.ndarray, r: float) -> np.ndarray:
    """Boolean mask of the points (u, v) (offsets from the centre, rotated into the shape's frame)."""
    if shape == 0:  # square with corners at radius r
        return np.maximum(np.abs(u), np.abs(v)) <= r / math.sqrt(2.0)
    if shape == 1:  # ellipse with semi-axes r and r/2
        return (u / r) ** 2 + (v / (0.5 * r)) ** 2 <= 1.0
    # heart (a^2 + b^2 - 1)^3 <= a^2 b^3 with b up; centred on (0, 0.2), where its farthest point lies
    # at 1.281, so the factor 1.3 keeps it inside radius r
    a = 1.3 * u / r
    b = 0.2 - 1.3 * v / r
    return (a**2 + b**2 - 1.0) ** 3 <= a**2 * b**3


@lru_cache(maxsize=None)
def _integral_mask(shape: int, scale_level: int, orientation_level: int) -> np.ndarray:
    """Integral image S[i, j] = number of inside samples in mask[:i, :j] of one (shape, scale,
    orientation), where mask[dy + H, dx + H] tells whether the sample dy, dx fine steps from the
    centre is inside; (2H + 2, 2H + 2) int32."""
    values = factor_values()
    r = RADIUS * values["scale"][scale_level]
    theta = values["orientation"][orientation_level]
    half = math.ceil(RADIUS * FINE) + 1  # H: every shape fits in the (2H + 1)^2 box
    d = np.arange(-half, half + 1) / FINE
    dy, dx = np.meshgrid(d, d, indexing="ij")  # rows are y (down), columns x (right)
    # Rotate the offset by -theta into the shape's frame; image y points down, so flip it first.
    c, s = math.cos(theta), math.sin(theta)
    x_up, y_up = dx, -dy
    u = c * x_up + s * y_up
    v = -(-s * x_up + c * y_up)  # back to "down" in the shape frame (the heart's point is down)
    mask = _inside(shape, u, v, r).astype(np.int32)
    integral = np.zeros((mask.shape[0] + 1, mask.shape[1] + 1), dtype=np.int32)
    integral[1:, 1:] = mask.cumsum(0).cumsum(1)
    return integral


def render(factors: np.ndarray, resolution: int = 64) -> np.ndarray:
    """Render images of the given factor levels.

    Parameters
    ----------
    factors : (N, 5) integer levels (shape, scale, orientation, pos_x, pos_y) of the full grid.
    resolution : side R of the images; must divide 256 (8, 16, 32, 64, 128, 256).

    Returns
    -------
    (N, R, R) float32 in [0, 1]: the fraction of each pixel's (256 / R)^2 sample points inside the
    shape.
    """
    factors = np.asarray(factors)
    if factors.ndim != 2 or factors.shape[1] != 5:
        raise ValueError(f"factors must be an (N, 5) array of levels, got shape {factors.shape}")
    if resolution < 8 or FINE % resolution:
        raise ValueError(f"resolution must divide {FINE} and be at least 8 (8, 16, ..., 256), got {resolution}")
    factors = factors.astype(np.int64)
    if (factors < 0).any() or (factors >= np.asarray(FACTOR_SIZES)).any():
        raise ValueError(f"factor levels must lie in [0, size) for sizes {FACTOR_SIZES}")
    ss = FINE // resolution
    half = math.ceil(RADIUS * FINE) + 1
    out = np.empty((factors.shape[0], resolution, resolution), dtype=np.float32)
    base_id = (factors[:, 0] * 6 + factors[:, 1]) * 40 + factors[:, 2]
    edges = np.arange(resolution + 1) * ss  # fine-grid boundaries of the pixels
    for b in np.unique(base_id):
        rows = np.nonzero(base_id == b)[0]
        integral = _integral_mask(int(factors[rows[0], 0]), int(factors[rows[0], 1]), int(factors[rows[0], 2]))
        # Mask rows covered by pixel row a: [a ss - c + H, (a+1) ss - c + H) for a centre c in fine
        # samples, clipped to the box (outside it the mask is empty).
        uy, iy = np.unique(factors[rows, 4], return_inverse=True)
        ux, ix = np.unique(factors[rows, 3], return_inverse=True)
        ry = np.clip(edges[None, :] - (POSITION_START + POSITION_STEP * uy)[:, None] + half, 0, 2 * half + 1)
        rx = np.clip(edges[None, :] - (POSITION_START + POSITION_STEP * ux)[:, None] + half, 0, 2 * half + 1)
        # Counts of pixel row a over mask columns [0, j): (ny, R, 2H + 2).
        band = integral[ry[:, 1:]] - integral[ry[:, :-1]]
        if 2 * len(rows) >= len(uy) * len(ux):  # most (y, x) pairs are wanted: all of them at once
            full = band[..., rx[:, 1:]] - band[..., rx[:, :-1]]  # (ny, R, nx, R)
            counts = full[iy, :, ix, :]  # (n, R, R)
        else:
            per_row = band[iy]  # (n, R, 2H + 2)
            counts = (np.take_along_axis(per_row, rx[ix, None, 1:], axis=2)
                      - np.take_along_axis(per_row, rx[ix, None, :-1], axis=2))  # (n, R, R)
        out[rows] = counts / float(ss * ss)
    return out


@dataclass(frozen=True)
class FactorImages:
    """Images with their generative factors.

    ``x`` (N, 1, R, R) float32 in [0, 1]; ``factors`` (N, 5) int64 levels of the *full* grid;
    ``codes`` (N, 5) int64 levels within the generating :class:`Shapes` sub-grid (0..size-1, what
    the metrics use); ``values`` (N, 5) float the factors' values (module table).
    """

    x: torch.Tensor
    factors: torch.Tensor
    codes: torch.Tensor
    factor_names: tuple[str, ...] = FACTOR_NAMES

    def __len__(self) -> int:
        return self.x.shape[0]

    @property
    def flat(self) -> torch.Tensor:
        """The images as vectors, (N, R*R)."""
        return self.x.reshape(len(self), -1)

    @property
    def y(self) -> torch.Tensor:
        """The shape label (0 square, 1 ellipse, 2 heart), so the images also work as a labelled set."""
        return self.factors[:, 0]

    @property
    def values(self) -> np.ndarray:
        vals = factor_values()
        f = self.factors.cpu().numpy()
        return np.stack([vals[name][f[:, k]] for k, name in enumerate(FACTOR_NAMES)], axis=1)

    @property
    def classes(self) -> tuple[str, ...]:
        """Names of the labels ``y``, as :class:`~infobounds.data.LabelledImages` has them."""
        return SHAPE_NAMES

    def factor(self, name: str) -> torch.Tensor:
        """The full-grid levels of one factor, (N,)."""
        return self.factors[:, FACTOR_NAMES.index(name)]

    def to(self, device: str | torch.device) -> "FactorImages":
        return replace(self, x=self.x.to(device), factors=self.factors.to(device), codes=self.codes.to(device))

    def subset(self, n: int | None, seed: int = 0) -> "FactorImages":
        """A seeded random subset of ``n`` images (all when ``n`` is None or too large)."""
        idx = subset_indices(len(self), n, seed)
        if idx is None:
            return self
        idx = idx.to(self.x.device)
        return replace(self, x=self.x[idx], factors=self.factors[idx], codes=self.codes[idx])


def _levels(spec, size: int, name: str) -> tuple[int, ...]:
    """None: all levels; an int k: k evenly spaced levels; a sequence: those levels."""
    if spec is None:
        return tuple(range(size))
    if isinstance(spec, (int, np.integer)):
        k = int(spec)
        if not 1 <= k <= size:
            raise ValueError(f"{name}: number of levels must lie in [1, {size}], got {k}")
        return tuple(int(i) for i in np.unique(np.round(np.linspace(0, size - 1, k)).astype(int))) if k > 1 else (0,)
    levels = tuple(int(i) for i in spec)
    if not levels or len(set(levels)) != len(levels) or min(levels) < 0 or max(levels) >= size:
        raise ValueError(f"{name}: levels must be distinct integers in [0, {size}), got {list(spec)}")
    return levels


@dataclass(frozen=True)
class Shapes:
    """A sub-grid of the shapes factors at one resolution.

    Build it with :meth:`Shapes.make`, e.g. ``Shapes.make(32, orientation=10, pos_x=16, pos_y=16)``
    keeps all 3 shapes and 6 scales, 10 evenly spaced orientations and every other position.
    """

    resolution: int = 64
    levels: tuple[tuple[int, ...], ...] = tuple(tuple(range(s)) for s in FACTOR_SIZES)

    def __post_init__(self) -> None:
        if self.resolution < 8 or FINE % self.resolution:
            raise ValueError(f"resolution must divide {FINE} and be at least 8, got {self.resolution}")
        if len(self.levels) != 5:
            raise ValueError("levels needs one tuple per factor")
        for name, size, lv in zip(FACTOR_NAMES, FACTOR_SIZES, self.levels):
            _levels(lv, size, name)

    @classmethod
    def make(cls, resolution: int = 64, **levels) -> "Shapes":
        """``levels[name]`` is None (all), an int k (k evenly spaced levels) or a list of levels."""
        unknown = set(levels) - set(FACTOR_NAMES)
        if unknown:
            raise ValueError(f"unknown factors {sorted(unknown)}: choose from {', '.join(FACTOR_NAMES)}")
        return cls(resolution, tuple(_levels(levels.get(n), s, n) for n, s in zip(FACTOR_NAMES, FACTOR_SIZES)))

    @property
    def factor_names(self) -> tuple[str, ...]:
        return FACTOR_NAMES

    @property
    def factor_sizes(self) -> tuple[int, ...]:
        return tuple(len(lv) for lv in self.levels)

    @property
    def n_combinations(self) -> int:
        return math.prod(self.factor_sizes)

    def to_full(self, codes: np.ndarray) -> np.ndarray:
        """Sub-grid codes (N, 5) -> full-grid levels (N, 5)."""
        codes = np.asarray(codes, dtype=np.int64)
        return np.stack([np.asarray(lv)[codes[:, k]] for k, lv in enumerate(self.levels)], axis=1)

    def render_codes(self, codes: np.ndarray) -> np.ndarray:
        """(N, R, R) float32 images of sub-grid codes."""
        return render(self.to_full(codes), self.resolution)

    def observe(self, codes: np.ndarray) -> torch.Tensor:
        """The images of sub-grid codes as a (N, 1, R, R) tensor (the metrics' interface).

        When :meth:`grid` has been built the images are looked up in it, else rendered.
        """
        codes = np.asarray(codes, dtype=np.int64)
        if self in _GRIDS:
            flat = np.ravel_multi_index(tuple(codes.T), self.factor_sizes)
            return _GRIDS[self].x[torch.from_numpy(flat)]
        return torch.from_numpy(self.render_codes(codes)).unsqueeze(1)

    def all_codes(self) -> np.ndarray:
        """Every combination of the sub-grid, (n_combinations, 5), the last factor fastest."""
        grids = np.meshgrid(*[np.arange(s) for s in self.factor_sizes], indexing="ij")
        return np.stack([g.reshape(-1) for g in grids], axis=1)

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` codes drawn independently and uniformly (the metrics' interface)."""
        return np.stack([rng.integers(0, s, n) for s in self.factor_sizes], axis=1)

    def sample_correlated(self, n: int, rng: np.random.Generator, pair: tuple[str, str], rho: float) -> np.ndarray:
        """``n`` codes in which the two factors of ``pair`` are coupled by a Gaussian copula.

        ``(g_1, g_2)`` is bivariate normal with correlation ``rho``; each factor's code is
        ``floor(Phi(g) * size)``, so each factor stays uniform on its levels while the two are
        dependent (their codes' correlation is close to, and in magnitude slightly below, ``rho``:
        :math:`\\frac{6}{\\pi}\\arcsin(\\rho/2)` for many levels). The other factors are uniform and
        independent.
        """
        from scipy.special import ndtr

        if not -1.0 <= rho <= 1.0:
            raise ValueError(f"rho must lie in [-1, 1], got {rho}")
        a, b = (FACTOR_NAMES.index(p) for p in pair)
        if a == b:
            raise ValueError("pair must name two different factors")
        codes = self.sample_factors(n, rng)
        g1 = rng.standard_normal(n)
        g2 = rho * g1 + math.sqrt(max(0.0, 1.0 - rho**2)) * rng.standard_normal(n)
        sizes = self.factor_sizes
        codes[:, a] = np.minimum((ndtr(g1) * sizes[a]).astype(np.int64), sizes[a] - 1)
        codes[:, b] = np.minimum((ndtr(g2) * sizes[b]).astype(np.int64), sizes[b] - 1)
        return codes

    def images(self, codes: np.ndarray, device: str | torch.device | None = None) -> FactorImages:
        codes = np.asarray(codes, dtype=np.int64)
        x = self.observe(codes)
        data = FactorImages(x=x, factors=torch.from_numpy(self.to_full(codes)), codes=torch.from_numpy(codes))
        return data.to(device) if device is not None else data

    def grid(self, device: str | torch.device | None = None) -> FactorImages:
        """All combinations of the sub-grid, the last factor fastest (kept in memory: a second call
        costs nothing; at most four grids are kept). A smoke run renders a seeded subset of
        ``SMOKE_EXAMPLES`` combinations instead, and keeps it nowhere."""
        if smoke_enabled():
            codes = self.all_codes()
            keep = subset_indices(len(codes), smoke_examples(None), seed=0)
            data = self.images(codes if keep is None else codes[keep.numpy()])
            return data.to(device) if device is not None else data
        if self not in _GRIDS:
            if len(_GRIDS) >= 4:
                _GRIDS.pop(next(iter(_GRIDS)))
            _GRIDS[self] = self.images(self.all_codes())
        data = _GRIDS[self]
        return data.to(device) if device is not None else data

    def sample(self, n: int, seed: int = 0, *, correlated: tuple[str, str] | None = None, rho: float = 0.0,
               device: str | torch.device | None = None) -> FactorImages:
        """``n`` random images; with ``correlated=(a, b)`` factors a and b are coupled with ``rho``."""
        if n <= 0:
            raise ValueError(f"n must be positive, got {n}")
        n = smoke_examples(n)  # a smoke run renders at most SMOKE_EXAMPLES images
        rng = np.random.default_rng(seed)
        codes = (self.sample_correlated(n, rng, correlated, rho) if correlated is not None
                 else self.sample_factors(n, rng))
        return self.images(codes, device)


_GRIDS: dict[Shapes, FactorImages] = {}  # rendered grids, oldest first


SPLITS = ("train", "test")
TRAIN_FRACTION = 0.8  # of the grid's combinations, in a fixed seeded partition


def split_codes(shapes: Shapes, split: str | None) -> np.ndarray:
    """The sub-grid codes of ``split``: every combination (None), or a fixed 80/20 partition of them
    into ``"train"`` and ``"test"`` (seed 0, the same on every machine; sorted grid order)."""
    codes = shapes.all_codes()
    if split is None:
        return codes
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: choose one of {', '.join(SPLITS)} (or None for the whole grid)")
    perm = torch.randperm(len(codes), generator=torch.Generator().manual_seed(0)).numpy()
    cut = int(TRAIN_FRACTION * len(codes))
    return codes[np.sort(perm[:cut] if split == "train" else perm[cut:])]


def load_shapes(
    *,
    split: str | None = None,
    resolution: int = 64,
    levels: Mapping[str, int | Sequence[int] | None] | None = None,
    n: int | None = None,
    seed: int = 0,
    device: str | torch.device | None = None,
) -> FactorImages:
    """Combinations of a sub-grid, like ``data.load`` (which calls this for ``"shapes"``).

    ``split=None`` gives every combination; ``"train"`` / ``"test"`` a fixed 80/20 partition of them
    (:func:`split_codes`). ``n`` keeps a seeded random subset of ``n`` of those, and only the kept
    images are rendered. ``load_shapes(resolution=64)`` is the dSprites-scale set of 737,280 images
    (about 2 GB as float32; the full profile keeps it on the GPU); the quick profile uses 32 x 32 and
    fewer levels.
    """
    shapes = Shapes.make(resolution, **(levels or {}))
    n = smoke_examples(n)  # a smoke run renders at most SMOKE_EXAMPLES images
    if split is None and n is None:
        data = shapes.grid()
    else:
        codes = split_codes(shapes, split)
        idx = subset_indices(len(codes), n, seed)
        data = shapes.images(codes if idx is None else codes[idx.numpy()])
    return data.to(device) if device is not None else data
