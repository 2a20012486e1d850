"""Paired digits <-> Fashion-MNIST: pairing by label, seeding, missing modalities, offline errors."""

import pytest
import torch

from infobounds.data import DataNotFoundError, load
from infobounds.data.paired import load_paired, load_svhn, pair_by_label


def test_pair_by_label_pairs_equal_labels_and_is_seeded():
    xl = torch.tensor([0, 1, 2, 1, 0, 2])
    yl = torch.tensor([2, 2, 1, 0, 1, 0, 0, 2, 1])
    ix, iy = pair_by_label(xl, yl, pairs_per_image=3, seed=4)
    assert len(ix) == 18 and torch.equal(xl[ix], yl[iy])
    assert torch.equal(ix, torch.arange(6).repeat_interleave(3))
    ix2, iy2 = pair_by_label(xl, yl, pairs_per_image=3, seed=4)
    assert torch.equal(iy, iy2)
    _, iy3 = pair_by_label(xl, yl, pairs_per_image=3, seed=5)
    assert not torch.equal(iy, iy3)
    with pytest.raises(ValueError):
        pair_by_label(torch.tensor([3]), yl)


def test_digits_fashion_pairs_share_the_label():
    data = load_paired("digits_fashion", "test", pairs_per_image=2, seed=0)
    digits, fashion = load("digits", "test"), load("fashion_mnist", "test")
    assert len(data) == 2 * len(digits)
    assert data.shapes == ((1, 8, 8), (1, 28, 28))
    assert torch.equal(data.label, digits.y.repeat_interleave(2))
    # Every y is a Fashion-MNIST test image of the pair's class.
    flat = fashion.x.reshape(len(fashion), -1)
    for i in range(0, len(data), 97):
        match = (flat == data.y[i].reshape(1, -1)).all(1)
        assert match.any() and int(fashion.y[match][0]) == int(data.label[i])
    assert data.mask.all()
    small = load_paired("digits_fashion", "test", y_size=14, n=100)
    assert small.shapes == ((1, 8, 8), (1, 14, 14)) and len(small) == 100
    assert 0.0 <= float(small.y.min()) and float(small.y.max()) <= 1.0


def test_missing_modality_mask_and_zeros():
    data = load_paired("digits_fashion", "test", missing=0.5, missing_modality="fashion_mnist", seed=3)
    fx, fy = data.observed_fraction
    assert fx == 1.0 and fy == pytest.approx(0.5, abs=1 / len(data))
    hidden = ~data.mask[:, 1]
    assert float(data.y[hidden].abs().sum()) == 0.0
    assert float(data.y[~hidden].abs().sum()) > 0.0
    assert len(data.complete()) == int((~hidden).sum())
    x, y, mask = next(data.stream(batch_size=16))
    assert x.shape == (16, 1, 8, 8) and y.shape == (16, 1, 28, 28) and mask.shape == (16, 2)
    with pytest.raises(ValueError, match="no observed modality"):
        data.with_missing(1.0, "x")
    with pytest.raises(ValueError):
        data.with_missing(0.1, "z")


def test_bad_names_and_offline_svhn(tmp_path, monkeypatch):
    with pytest.raises(ValueError):
        load_paired("digits_svhn")
    with pytest.raises(ValueError):
        load_paired("digits_fashion", "valid")
    monkeypatch.setenv("INFOBOUNDS_OFFLINE", "1")
    monkeypatch.setenv("INFOBOUNDS_DATA", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with pytest.raises(DataNotFoundError, match="svhn"):
        load_svhn("train")
