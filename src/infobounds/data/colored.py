r"""Coloured images whose colour is a sensitive attribute correlated with the class.

Each grey image :math:`x \in [0,1]^{H\times W}` of a base data set (Fashion-MNIST, or MNIST where it
is available) is painted with one colour of a fixed palette, :math:`x_c = x \cdot \mathrm{rgb}(s)`.
The colour index :math:`s` is the *sensitive attribute* of chapters ``bottleneck_family`` and
``fair_representations`` and the *spurious feature* of chapter ``distribution_shift``. It is tied to
the target :math:`y` through a ``bias`` :math:`b \in [0, 1]`:

.. math::

    P(s = g(y) \mid y) = b, \qquad P(s = s' \mid y) = \frac{1-b}{K-1} \quad (s' \neq g(y)),

with :math:`K` colours and :math:`g(y) = y \bmod K`. ``bias = 1/K`` makes colour independent of the
class; ``bias = 1`` makes it a perfect shortcut; with two colours ``bias = 0.1`` *reverses* the
correlation of a ``bias = 0.9`` training set. This is the construction of Coloured MNIST (Arjovsky
et al., 2019, with :math:`K=2` and a binary target; Bahng et al., 2020, with :math:`K=10`).

With ``binary=True`` the target is the coarse label :math:`y = \mathbb 1[\text{class} \ge 5]` (for
Fashion-MNIST: sandal, shirt, sneaker, bag, ankle boot against the rest), optionally flipped with
probability ``label_noise`` *before* the colour is drawn, so that colour predicts the noisy label
better than the shape does when ``bias > 1 - label_noise`` (the setting of IRM's experiments).

Several *environments* of different bias (:func:`load_environments`) are disjoint slices of the
base split, so no image appears in two environments.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

import torch
import torch.nn.functional as F

from infobounds.data.iterators import subset_indices
from infobounds.profiles import SMOKE_EXAMPLES, smoke_enabled

__all__ = ["PALETTE", "ColoredImages", "load_colored", "load_environments", "concat"]

# Distinct, colour-blind-friendly hues (Okabe-Ito order, then two greys), as RGB in [0, 1].
PALETTE = torch.tensor([
    [0.90, 0.60, 0.00],  # orange
    [0.34, 0.71, 0.91],  # sky blue
    [0.00, 0.62, 0.45],  # bluish green
    [0.94, 0.89, 0.26],  # yellow
    [0.00, 0.45, 0.70],  # blue
    [0.84, 0.37, 0.00],  # vermillion
    [0.80, 0.47, 0.65],  # reddish purple
    [1.00, 1.00, 1.00],  # white
    [0.60, 0.60, 0.60],  # grey
    [0.55, 0.27, 0.07],  # brown
])


@dataclass(frozen=True)
class ColoredImages:
    """Coloured images ``x`` (N, 3, H, W) in [0, 1], target ``y`` (N,), colour ``s`` (N,).

    ``environment`` (N,) numbers the environment each example came from (all zeros for a single
    :func:`load_colored` call); ``bias`` is each environment's bias.
    """

    x: torch.Tensor
    y: torch.Tensor
    s: torch.Tensor
    environment: torch.Tensor
    n_classes: int
    n_colors: int
    bias: tuple[float, ...]

    def __len__(self) -> int:
        return self.x.shape[0]

    @property
    def flat(self) -> torch.Tensor:
        """The images as vectors, (N, 3*H*W)."""
        return self.x.reshape(len(self), -1)

    def to(self, device: str | torch.device) -> "ColoredImages":
        return replace(self, x=self.x.to(device), y=self.y.to(device), s=self.s.to(device),
                       environment=self.environment.to(device))

    def subset(self, n: int | None, seed: int = 0) -> "ColoredImages":
        """A seeded random subset of ``n`` examples (all of them when ``n`` is None or too large)."""
        idx = subset_indices(len(self), n, seed)
        return self if idx is None else self.select(idx)

    def select(self, idx: torch.Tensor) -> "ColoredImages":
        """The examples at ``idx`` (a long index or a boolean mask)."""
        idx = idx.to(self.x.device)
        return replace(self, x=self.x[idx], y=self.y[idx], s=self.s[idx], environment=self.environment[idx])

    def agreement(self) -> float:
        """Empirical :math:`P(s = g(y))`, the realised bias."""
        return (self.s == self.y % self.n_colors).float().mean().item()


def _check(bias: float, n_colors: int, label_noise: float) -> None:
    if not 2 <= n_colors <= len(PALETTE):
        raise ValueError(f"n_colors must be in [2, {len(PALETTE)}], got {n_colors}")
    if not 0.0 <= bias <= 1.0:
        raise ValueError(f"bias is the probability P(s = y mod n_colors) and must be in [0, 1], got {bias}")
    if not 0.0 <= label_noise < 0.5:
        raise ValueError(f"label_noise must be in [0, 0.5), got {label_noise}")


def _paint(grey: torch.Tensor, y: torch.Tensor, *, bias: float, n_colors: int,
           gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    n = len(y)
    agree = torch.rand(n, generator=gen) < bias
    # A uniformly chosen *other* colour: shift g(y) by 1..K-1.
    offset = torch.randint(1, n_colors, (n,), generator=gen)
    s = torch.where(agree, y % n_colors, (y + offset) % n_colors)
    x = grey * PALETTE[s].view(n, 3, 1, 1)
    return x, s


def _base(base: str, split: str, resolution: int):
    from infobounds.data import load

    images = load(base, split)
    x = images.x
    if resolution != x.shape[-1]:
        if x.shape[-1] % resolution:
            raise ValueError(f"resolution must divide {x.shape[-1]}, got {resolution}")
        x = F.avg_pool2d(x, x.shape[-1] // resolution)
    return x, images.y


def _colored_slices(base: str, split: str, sizes: Sequence[int | None], biases: Sequence[float], *, n_colors: int,
                    binary: bool, label_noise: float, resolution: int, seed: int) -> ColoredImages:
    for b in biases:
        _check(b, n_colors, label_noise)
    grey, label = _base(base, split, resolution)
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(label), generator=gen)
    if smoke_enabled():  # the base split keeps SMOKE_EXAMPLES examples in a smoke run: share them out
        sizes = [None if n is None else min(n, SMOKE_EXAMPLES // len(sizes)) for n in sizes]
    if any(n is None for n in sizes):
        if len(sizes) != 1:
            raise ValueError("give every environment a size when there are several")
        sizes = [len(label)]
    if sum(sizes) > len(label):
        raise ValueError(f"asked for {sum(sizes)} examples in total but the {base} {split} split has {len(label)}")
    xs, ys, ss, es = [], [], [], []
    start = 0
    for env, (n, b) in enumerate(zip(sizes, biases)):
        if n <= 0:
            raise ValueError(f"environment sizes must be positive, got {n}")
        idx = order[start:start + n].sort().values
        start += n
        y = label[idx]
        if binary:
            y = (y >= 5).long()
            flip = torch.rand(n, generator=gen) < label_noise
            y = torch.where(flip, 1 - y, y)
        x, s = _paint(grey[idx], y, bias=b, n_colors=n_colors, gen=gen)
        xs.append(x), ys.append(y), ss.append(s), es.append(torch.full((n,), env, dtype=torch.long))
    return ColoredImages(x=torch.cat(xs), y=torch.cat(ys), s=torch.cat(ss), environment=torch.cat(es),
                         n_classes=2 if binary else 10, n_colors=n_colors, bias=tuple(float(b) for b in biases))


def load_colored(base: str = "fashion_mnist", split: str = "train", n: int | None = None, *, bias: float = 0.9,
                 n_colors: int = 2, binary: bool = False, label_noise: float = 0.0, resolution: int = 28,
                 seed: int = 0, device: str | torch.device | None = None) -> ColoredImages:
    """One coloured data set.

    Parameters
    ----------
    base : ``"fashion_mnist"`` or ``"mnist"`` (loaded through :func:`infobounds.data.load`, so a
        missing data set raises :class:`~infobounds.data.DataNotFoundError` saying how to get it).
    n : number of examples (a seeded random slice of the split); all of them when None.
    bias : :math:`P(s = y \\bmod K)`; ``1/n_colors`` means colour and class are independent.
    n_colors : :math:`K`, number of colours (2 to 10).
    binary : use the coarse binary target ``class >= 5`` instead of the ten classes.
    label_noise : probability of flipping the binary target (only with ``binary=True``).
    resolution : 28, or a divisor of it (average pooling; IRM's experiments use 14).
    """
    if label_noise and not binary:
        raise ValueError("label_noise applies to the binary target; pass binary=True")
    data = _colored_slices(base, split, [n], [bias], n_colors=n_colors, binary=binary, label_noise=label_noise,
                           resolution=resolution, seed=seed)
    return data.to(device) if device is not None else data


def load_environments(biases: Sequence[float], n_per_env: int | Sequence[int], base: str = "fashion_mnist",
                      split: str = "train", *, n_colors: int = 2, binary: bool = False, label_noise: float = 0.0,
                      resolution: int = 28, seed: int = 0, device: str | torch.device | None = None) -> ColoredImages:
    """Environments of different bias on disjoint slices of one split, concatenated.

    ``data.environment == e`` selects environment ``e`` (bias ``biases[e]``); :meth:`ColoredImages.select`
    takes it out.
    """
    if len(biases) == 0:
        raise ValueError("give at least one environment bias")
    if label_noise and not binary:
        raise ValueError("label_noise applies to the binary target; pass binary=True")
    sizes = [n_per_env] * len(biases) if isinstance(n_per_env, int) else list(n_per_env)
    if len(sizes) != len(biases):
        raise ValueError(f"{len(sizes)} sizes for {len(biases)} environments")
    data = _colored_slices(base, split, sizes, biases, n_colors=n_colors, binary=binary, label_noise=label_noise,
                           resolution=resolution, seed=seed)
    return data.to(device) if device is not None else data


def concat(parts: Sequence[ColoredImages]) -> ColoredImages:
    """Several coloured sets as one, environments renumbered in order."""
    if not parts:
        raise ValueError("nothing to concatenate")
    first = parts[0]
    envs, offset = [], 0
    for p in parts:
        if (p.n_classes, p.n_colors, p.x.shape[1:]) != (first.n_classes, first.n_colors, first.x.shape[1:]):
            raise ValueError("coloured sets differ in classes, colours or image size")
        envs.append(p.environment + offset)
        offset += len(p.bias)
    return ColoredImages(x=torch.cat([p.x for p in parts]), y=torch.cat([p.y for p in parts]),
                         s=torch.cat([p.s for p in parts]), environment=torch.cat(envs), n_classes=first.n_classes,
                         n_colors=first.n_colors, bias=tuple(b for p in parts for b in p.bias))
