r"""Bimodal data sets: two image modalities paired by label (chapters ``multimodal_vaes`` to
``wyner_common_information``).

``digits_fashion`` (offline, everywhere)
    scikit-learn's 8x8 digits paired with Fashion-MNIST by label: digit :math:`k` goes with a
    Fashion-MNIST image of class :math:`k` (0 T-shirt/top, 1 Trouser, ..., 9 Ankle boot), drawn at
    random within the class with a seeded generator. The two modalities share only the label, the
    way MNIST-SVHN pairs do (Shi et al., 2019): everything else in one image is independent of the
    other, so the label is the common part a multimodal model should find.
``mnist_svhn`` (needs the files or a network)
    MNIST paired with SVHN by digit, as in Shi et al. (2019). MNIST comes through
    :func:`infobounds.data.load`; SVHN's ``{train,test}_32x32.mat`` are looked up in
    ``$INFOBOUNDS_DATA/svhn``, ``/usr/share/datasets/svhn`` and ``~/.cache/infobounds/svhn``, and
    downloaded over https into the cache when a network is there and ``INFOBOUNDS_OFFLINE`` is not
    set, verified against the published size and SHA-256 before it is cached.

Partially observed data (chapter ``meme``): :meth:`PairedImages.with_missing` hides one modality of a
chosen fraction of the pairs; ``mask[:, m]`` says whether modality ``m`` is observed, and a hidden
image is set to zero so that nothing of it can leak into a model that ignores the mask.

Batches for :func:`infobounds.training.fit` come from :meth:`PairedImages.stream`, a
:class:`~infobounds.data.iterators.BatchStream` over ``(x, y, mask)``.

:func:`two_modality_mixture` is a synthetic bimodal source whose shared part is known: two 2-d
Gaussian mixtures that share only the component index (chapter ``multimodal_gan``).
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from infobounds.data.download import DownloadError, Published, download_verified, downloads_allowed
from infobounds.data.idx import SYSTEM_DATA, cache_dir
from infobounds.data.integrity import DataCorruptError, DataNotFoundError, check_labelled_arrays
from infobounds.data.iterators import BatchStream
from infobounds.data.toy2d import nearest_component, ring_means  # noqa: F401 (nearest_component: chapter 20)
from infobounds.profiles import smoke_enabled, smoke_examples

PAIRED = ("digits_fashion", "mnist_svhn")
MODALITIES = {"digits_fashion": ("digits", "fashion_mnist"), "mnist_svhn": ("mnist", "svhn")}
SPLITS = ("train", "test")
DIGIT_CLASSES = tuple(str(k) for k in range(10))


@dataclass(frozen=True)
class PairedImages:
    """Pairs ``(x, y)`` of images in [0, 1] that share the label ``label``.

    ``x`` is (N, C1, H1, W1), ``y`` is (N, C2, H2, W2), ``label`` (N,) int64 and ``mask`` (N, 2) bool:
    ``mask[i, 0]`` (``mask[i, 1]``) is True when ``x[i]`` (``y[i]``) is observed.
    """

    name: str
    split: str
    x: torch.Tensor
    y: torch.Tensor
    label: torch.Tensor
    mask: torch.Tensor
    modalities: tuple[str, str]
    classes: tuple[str, ...]

    def __post_init__(self) -> None:
        n = self.x.shape[0]
        if not (self.y.shape[0] == self.label.shape[0] == self.mask.shape[0] == n):
            raise ValueError("x, y, label and mask must hold the same number of pairs")
        if self.mask.shape != (n, 2) or self.mask.dtype != torch.bool:
            raise ValueError(f"mask must be a (N, 2) bool tensor, got {tuple(self.mask.shape)} {self.mask.dtype}")

    def __len__(self) -> int:
        return self.x.shape[0]

    @property
    def x_flat(self) -> torch.Tensor:
        return self.x.reshape(len(self), -1)  # (N, C1*H1*W1)

    @property
    def y_flat(self) -> torch.Tensor:
        return self.y.reshape(len(self), -1)  # (N, C2*H2*W2)

    @property
    def shapes(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Shapes of one x and one y, e.g. ((1, 8, 8), (1, 28, 28))."""
        return tuple(self.x.shape[1:]), tuple(self.y.shape[1:])

    @property
    def observed_fraction(self) -> tuple[float, float]:
        """Share of pairs in which x, and y, are observed."""
        m = self.mask.float().mean(0)
        return float(m[0]), float(m[1])

    def to(self, device: str | torch.device) -> "PairedImages":
        return replace(self, x=self.x.to(device), y=self.y.to(device), label=self.label.to(device),
                       mask=self.mask.to(device))

    def subset(self, index: torch.Tensor) -> "PairedImages":
        """The pairs at ``index`` (a long or bool tensor)."""
        return replace(self, x=self.x[index], y=self.y[index], label=self.label[index], mask=self.mask[index])

    def complete(self) -> "PairedImages":
        """Only the pairs in which both modalities are observed."""
        return self.subset(self.mask.all(1))

    def with_missing(self, fraction: float, modality: int | str = 1, seed: int = 0) -> "PairedImages":
        """Hide ``modality`` (0 or "x", 1 or "y", or its name) in a seeded random ``fraction`` of the
        pairs: its mask entry becomes False and its image zero. The label stays (for evaluation)."""
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"fraction must lie in [0, 1], got {fraction}")
        m = self._modality_index(modality)
        n_hide = int(round(fraction * len(self)))
        gen = torch.Generator().manual_seed(seed)
        hide = torch.randperm(len(self), generator=gen)[:n_hide].to(self.mask.device)
        mask = self.mask.clone()
        mask[hide, m] = False
        if (~mask.any(1)).any():
            raise ValueError("hiding would leave pairs with no observed modality")
        images = [self.x.clone(), self.y.clone()]
        images[m][~mask[:, m]] = 0.0
        return replace(self, x=images[0], y=images[1], mask=mask)

    def stream(self, batch_size: int, seed: int = 0) -> BatchStream:
        """A resumable stream of ``(x, y, mask)`` batches, mask as float (B, 2), for ``fit``."""
        return BatchStream(self.x, self.y, self.mask.float(), batch_size=batch_size, seed=seed)

    def _modality_index(self, modality: int | str) -> int:
        if modality in (0, "x", self.modalities[0]):
            return 0
        if modality in (1, "y", self.modalities[1]):
            return 1
        raise ValueError(f"unknown modality {modality!r}: use 0/'x'/{self.modalities[0]!r} or 1/'y'/{self.modalities[1]!r}")


def resize(images: torch.Tensor, size: int | None) -> torch.Tensor:
    """Images (N, C, H, W) resized to ``size`` x ``size`` (area averaging when shrinking)."""
    if size is None or images.shape[-1] == size:
        return images
    if size <= 0:
        raise ValueError(f"size must be positive, got {size}")
    mode = "area" if size < images.shape[-1] else "bilinear"
    return F.interpolate(images, size=(size, size), mode=mode).clamp_(0.0, 1.0)


def pair_by_label(x_labels: torch.Tensor, y_labels: torch.Tensor, pairs_per_image: int = 1,
                  seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices ``(ix, iy)`` pairing every x with ``pairs_per_image`` y's of the same label, each drawn
    uniformly at random (with replacement across x's) among the y's of that label."""
    if pairs_per_image < 1:
        raise ValueError(f"pairs_per_image must be >= 1, got {pairs_per_image}")
    gen = torch.Generator().manual_seed(seed)
    ix = torch.arange(len(x_labels)).repeat_interleave(pairs_per_image)
    iy = torch.empty_like(ix)
    lab = x_labels[ix]
    for k in torch.unique(lab).tolist():
        pool = torch.nonzero(y_labels == k).squeeze(1)
        if len(pool) == 0:
            raise ValueError(f"no y with label {k} to pair with")
        where = torch.nonzero(lab == k).squeeze(1)
        iy[where] = pool[torch.randint(len(pool), (len(where),), generator=gen)]
    return ix, iy


def load_paired(
    name: str = "digits_fashion",
    split: str = "train",
    *,
    pairs_per_image: int = 1,
    y_size: int | None = None,
    n: int | None = None,
    missing: float = 0.0,
    missing_modality: int | str = 1,
    seed: int = 0,
    device: str | torch.device | None = None,
) -> PairedImages:
    """Load a bimodal data set of images paired by label.

    Parameters
    ----------
    name : ``digits_fashion`` (offline) or ``mnist_svhn`` (needs the files or a network).
    split : ``train`` or ``test``. Pairs are drawn within the split, so no test image of either
        modality is seen in training.
    pairs_per_image : number of partners drawn for each image of the first modality (Shi et al.
        pair each MNIST digit with 20 SVHN digits; the quick profile uses a few).
    y_size : resize the second modality to ``y_size`` x ``y_size`` (e.g. 14 for Fashion-MNIST in
        the quick profile of the GAN chapter); None keeps it.
    n : keep a seeded random subset of this many pairs.
    missing, missing_modality : hide that modality in this fraction of the pairs
        (:meth:`PairedImages.with_missing`).
    seed : seed of the pairing, the subset and the missingness.

    Raises
    ------
    ValueError for an unknown name or split; DataNotFoundError when the files are missing and
    cannot be downloaded.
    """
    from infobounds.data import load

    key = name.lower().replace("-", "_")
    if key not in PAIRED:
        raise ValueError(f"unknown paired data set {name!r}: choose one of {', '.join(PAIRED)}")
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: choose one of {', '.join(SPLITS)}")
    if key == "digits_fashion":
        first, second = load("digits", split), load("fashion_mnist", split)
        xs, xl, ys, yl = first.x, first.y, second.x, second.y
    else:
        first = load("mnist", split)
        xs, xl = first.x, first.y
        ys, yl = load_svhn(split)
    n = smoke_examples(n)  # a smoke run keeps at most SMOKE_EXAMPLES pairs
    ix, iy = pair_by_label(xl, yl, pairs_per_image, seed=seed)
    data = PairedImages(name=key, split=split, x=xs[ix], y=resize(ys[iy], y_size), label=xl[ix],
                        mask=torch.ones(len(ix), 2, dtype=torch.bool), modalities=MODALITIES[key],
                        classes=DIGIT_CLASSES)
    if n is not None and n < len(data):
        if n <= 0:
            raise ValueError(f"n must be positive, got {n}")
        keep = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed + 1))[:n].sort().values
        data = data.subset(keep)
    if missing > 0:
        data = data.with_missing(missing, missing_modality, seed=seed + 2)
    return data.to(device) if device is not None else data


# ---------------------------------------------------------------------------------------------
# SVHN (only for mnist_svhn)
# ---------------------------------------------------------------------------------------------

_SVHN_URL = "https://ufldl.stanford.edu/housenumbers/"
# Sizes and SHA-256 of the published files, from TensorFlow Datasets' url_checksums/svhn_cropped.txt.
SVHN_PUBLISHED = {
    "train_32x32.mat": Published(182040794,
                                 "435e94d69a87fde4fd4d7f3dd208dfc32cb6ae8af2240d066de1df7508d083b8"),
    "test_32x32.mat": Published(64275384,
                                "cdce80dfb2a2c4c6160906d0bd7c68ec5a99d7ca4831afa54f09182025b6a75b"),
}


def _svhn_folders() -> list[Path]:
    places = []
    if os.environ.get("INFOBOUNDS_DATA"):
        places.append(Path(os.environ["INFOBOUNDS_DATA"]) / "svhn")
    return places + [SYSTEM_DATA / "svhn", cache_dir() / "svhn"]


def _svhn_how_to_get(fname: str) -> str:
    return (f"download {_SVHN_URL}{fname} (SHA-256 {SVHN_PUBLISHED[fname].sha256}) into $INFOBOUNDS_DATA/svhn/ "
            "or ~/.cache/infobounds/svhn/, or run once with a network and without INFOBOUNDS_OFFLINE.")


def _read_svhn(path: Path, fname: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, 3, 32, 32) in [0, 1] and labels 0-9 of one SVHN ``.mat`` file, checked."""
    from scipy.io import loadmat
    from scipy.io.matlab import MatReadError

    remedy = f"Delete it and get a good copy: {_svhn_how_to_get(fname)}"
    try:
        mat = loadmat(path)
    except (MatReadError, ValueError, TypeError, IndexError, KeyError, EOFError, NotImplementedError,
            zlib.error, OSError) as err:  # what scipy raises for a file that is not a MATLAB 5 file, or a damaged one
        if isinstance(err, OSError) and err.errno is not None:
            raise  # the system's own error (permissions, ...) names the file and is not about its content
        raise DataCorruptError(f"{path} is not a readable SVHN .mat file ({err}). {remedy}") from err
    if not isinstance(mat.get("X"), np.ndarray) or not isinstance(mat.get("y"), np.ndarray):
        raise DataCorruptError(f"{path} holds no X and y arrays: it is not an SVHN cropped-digits file. {remedy}")
    images = np.moveaxis(mat["X"], 3, 0)  # (32, 32, 3, N) -> (N, 32, 32, 3)
    labels = mat["y"].reshape(-1)
    if np.issubdtype(labels.dtype, np.integer):
        # The files label the digit 0 as 10: a file label lies in [1, 10], the digit is it mod 10.
        outside = (labels < 1) | (labels > 10)
        if outside.any():
            raise DataCorruptError(f"{path}: {int(outside.sum())} labels lie outside 1..10 (10 stands for the "
                                   f"digit 0), the first is {int(labels[outside][0])}. {remedy}")
        labels = labels % 10
    check_labelled_arrays(images, labels, image_shape=(32, 32, 3), n_classes=10, images_file=path, remedy=remedy)
    x = torch.from_numpy(mat["X"]).permute(3, 2, 0, 1).float().div_(255.0)  # (32, 32, 3, N) -> (N, 3, 32, 32)
    return x, torch.from_numpy(labels.astype(np.int64))


def load_svhn(split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """SVHN images (N, 3, 32, 32) in [0, 1] and digit labels 0-9 (the files label 0 as 10)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: choose one of {', '.join(SPLITS)}")
    fname = f"{split}_32x32.mat"
    path = next((f / fname for f in _svhn_folders() if (f / fname).is_file()), None)
    if path is None and smoke_enabled():  # a smoke run rehearses on a generated stand-in instead of downloading
        from infobounds.data.standins import svhn_file

        path = svhn_file(split)
    if path is None:
        if downloads_allowed():
            try:
                path = download_verified([_SVHN_URL + fname], cache_dir() / "svhn" / fname, SVHN_PUBLISHED[fname])
            except (DownloadError, OSError) as err:
                why = f"download failed: {err}"
        else:
            why = "downloads are disabled: INFOBOUNDS_OFFLINE is set"
    if path is None:
        looked = "\n  ".join(str(f) for f in _svhn_folders())
        raise DataNotFoundError(
            f"SVHN ({split}) not found. Looked for {fname} in:\n  {looked}\n({why}).\nHow to get it: "
            f"{_svhn_how_to_get(fname)}"
        )
    return _read_svhn(path, fname)


# ---------------------------------------------------------------------------------------------
# A synthetic bimodal source with a known shared part (chapter ``multimodal_gan``)
# ---------------------------------------------------------------------------------------------

# ``k`` means evenly spaced on a circle, rotated: the ring of :mod:`infobounds.data.toy2d` under the
# name chapter 20 imports.
mixture_means = ring_means


def two_modality_mixture(n: int, k: int = 8, std: float = 0.1, seed: int = 0,
                         means_x: torch.Tensor | None = None, means_y: torch.Tensor | None = None,
                         ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``n`` pairs of 2-d points that share only a mixture component: ``c`` uniform on {0..k-1},
    ``x ~ N(means_x[c], std^2 I)``, ``y ~ N(means_y[c], std^2 I)`` independently given ``c``.

    Defaults: ``means_x`` on a circle of radius 2, ``means_y`` on a circle of radius 1 traversed in
    the other direction and rotated, so the map from x's component to y's is not the identity.
    Returns ``(x, y, c)``.
    """
    if n <= 0 or k < 2 or std <= 0:
        raise ValueError("need n > 0, k >= 2 and std > 0")
    means_x = mixture_means(k, 2.0) if means_x is None else means_x
    means_y = mixture_means(k, 1.0, rotation=0.5).flip(0) if means_y is None else means_y
    gen = torch.Generator().manual_seed(seed)
    c = torch.randint(k, (n,), generator=gen)
    x = means_x[c] + std * torch.randn(n, 2, generator=gen)
    y = means_y[c] + std * torch.randn(n, 2, generator=gen)
    return x, y, c
