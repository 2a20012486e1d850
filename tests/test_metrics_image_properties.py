"""Image properties with known answers on synthetic images (infobounds.metrics.image_properties)."""

import math

import numpy as np
import pytest
import torch

from infobounds.metrics.image_properties import PROPERTIES, image_properties, traversal_rank_correlation


def square(size=16, top=3, left=4, side=5, level=1.0):
    x = np.zeros((size, size))
    x[top:top + side, left:left + side] = level
    return x


def props(*images):
    return image_properties(np.stack(images))


def test_every_property_is_returned_per_image():
    out = props(square(), square(side=3))
    assert set(out) == set(PROPERTIES)
    assert all(v.shape == (2,) for v in out.values())


def test_centroid_of_a_square_and_its_shift():
    out = props(square(top=3, left=4, side=5), square(top=3 + 2, left=4 - 3, side=5))
    # pixel centres at integer coordinates: rows 3..7 -> 5, columns 4..8 -> 6
    assert out["centroid_y"][0] == pytest.approx(5.0) and out["centroid_x"][0] == pytest.approx(6.0)
    assert out["centroid_y"][1] - out["centroid_y"][0] == pytest.approx(2.0, abs=1e-12)
    assert out["centroid_x"][1] - out["centroid_x"][0] == pytest.approx(-3.0, abs=1e-12)
    # a shift changes nothing else
    for k in ("ink", "brightness", "slant", "width", "height", "extent", "orientation"):
        assert out[k][1] == pytest.approx(out[k][0], abs=1e-12), k


def test_ink_brightness_and_their_separation():
    out = props(square(side=4, level=0.5), square(side=6, level=0.5), square(side=4, level=1.0))
    np.testing.assert_allclose(out["ink"], [16 * 0.5, 36 * 0.5, 16.0])
    # brightness is the grey level of a one-level shape, whatever its area
    np.testing.assert_allclose(out["brightness"], [0.5, 0.5, 1.0])
    # two equal areas at 1 and 0.5: sum I^2 / sum I = (1 + 0.25) / (1 + 0.5)
    two_levels = square(side=4, level=1.0) + square(top=10, side=4, level=0.5)
    assert props(two_levels, two_levels)["brightness"][0] == pytest.approx(1.25 / 1.5)


def test_extent_of_a_square_grows_with_its_side():
    sides = [2, 4, 6, 8]
    out = props(*[square(size=20, top=1, left=1, side=s) for s in sides])
    # a discrete uniform on s consecutive integers has variance (s^2 - 1) / 12 along each axis
    expected = [math.sqrt((s * s - 1) / 6) for s in sides]
    np.testing.assert_allclose(out["extent"], expected, rtol=1e-12)
    np.testing.assert_allclose(out["width"], [math.sqrt((s * s - 1) / 12) for s in sides], rtol=1e-12)
    np.testing.assert_allclose(out["slant"], 0.0, atol=1e-12)


def test_slant_of_a_sheared_rectangle_is_the_shear():
    upright = np.zeros((12, 16))
    upright[2:10, 6:9] = 1.0  # rows 2..9, columns 6..8
    sheared = np.zeros((12, 16))
    for i in range(2, 10):
        shift = 9 - i  # x -> x + (c - y): the top row moves furthest right, one pixel per row
        sheared[i, 6 + shift - 4:9 + shift - 4] = 1.0
    out = props(upright, sheared, sheared[:, ::-1].copy())
    assert out["slant"][0] == pytest.approx(0.0, abs=1e-12)
    assert out["slant"][1] == pytest.approx(1.0, abs=1e-12)  # top leans right: +1 pixel per row
    assert out["slant"][2] == pytest.approx(-1.0, abs=1e-12)  # mirrored: leans left


def test_orientation_of_bars():
    horizontal = np.zeros((9, 9)); horizontal[4, 1:8] = 1
    vertical = horizontal.T.copy()
    rising = np.eye(9)[::-1].copy()  # from bottom-left to top-right (rows count downwards)
    out = props(horizontal + 0.0, vertical, rising)
    np.testing.assert_allclose(out["orientation"], [0.0, math.pi / 2, math.pi / 4], atol=1e-12)


def test_accepts_a_channel_axis_and_tensors():
    x = torch.from_numpy(np.stack([square(), square(side=3)]))[:, None].float()
    a, b = image_properties(x), image_properties(x[:, 0].numpy())
    for k in PROPERTIES:
        np.testing.assert_allclose(a[k], b[k])


@pytest.mark.parametrize("bad, match", [
    (np.zeros((2, 3, 8, 8)), "grey"),
    (np.zeros((8, 8)), "non-empty"),
    (np.stack([square(), np.full((16, 16), np.nan)]), "NaN"),
    (np.stack([square(), -square()]), "non-negative"),
    (np.stack([square(), np.zeros((16, 16))]), r"images \[1\] are blank"),
])
def test_bad_images_are_named(bad, match):
    with pytest.raises(ValueError, match=match):
        image_properties(bad)


def test_traversal_rank_correlation_known_answers():
    values = np.arange(5.0)  # integers throughout, so that the centred rows tie exactly
    rng = np.random.default_rng(0)
    offsets = 10.0 * rng.integers(-20, 20, size=(20, 1))  # traversals start far apart
    up = offsets + values  # every traversal moves the property up by less than the offsets differ
    assert traversal_rank_correlation(values, up) == pytest.approx(1.0)
    assert traversal_rank_correlation(values, -up) == pytest.approx(-1.0)
    # half the traversals go up, half go down: no consistent effect
    mixed = np.concatenate([up[:10], offsets[10:] - values])
    assert abs(traversal_rank_correlation(values, mixed)) < 0.1
    assert traversal_rank_correlation(values, np.tile(offsets, (1, 5))) == 0.0  # nothing moves
    # without removing each traversal's mean the offsets would swamp the effect
    from scipy.stats import spearmanr
    assert abs(spearmanr(np.tile(values, 20), up.ravel())[0]) < 0.5


@pytest.mark.parametrize("values, properties, match", [
    ([0.0], np.zeros((3, 1)), "at least two"),
    ([1.0, 1.0], np.zeros((3, 2)), "all be equal"),
    ([0.0, 1.0], np.zeros((3, 3)), r"\(n, 2\)"),
    ([0.0, 1.0], np.array([[0.0, np.nan]]), "finite"),
])
def test_traversal_rank_correlation_rejects_bad_input(values, properties, match):
    with pytest.raises(ValueError, match=match):
        traversal_rank_correlation(values, properties)
