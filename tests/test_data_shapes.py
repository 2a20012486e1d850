"""The procedural shapes: the factor grid, exact and deterministic rendering, sub-grids, correlation."""

import math

import numpy as np
import pytest
import torch

from infobounds.data.shapes import FACTOR_SIZES, FactorImages, Shapes, factor_values, load_shapes, render


def test_full_grid_has_the_dsprites_number_of_combinations():
    full = Shapes(64)
    assert full.factor_sizes == FACTOR_SIZES == (3, 6, 40, 32, 32)
    assert full.n_combinations == 737_280 == 3 * 6 * 40 * 32 * 32
    small = Shapes.make(32, orientation=4, pos_x=4, pos_y=4)
    codes = small.all_codes()
    assert codes.shape == (3 * 6 * 4 * 4 * 4, 5) and len(np.unique(codes, axis=0)) == len(codes)
    assert small.levels[2] == (0, 13, 26, 39)  # evenly spaced levels, both ends kept


def test_same_factors_give_the_same_image_whatever_the_batch():
    rng = np.random.default_rng(0)
    factors = Shapes(64).sample_factors(50, rng)
    once = render(factors, 64)
    again = render(np.concatenate([factors[:3], factors[::-1]]), 64)[3:][::-1]  # other order and company
    assert np.array_equal(once, again)
    assert np.array_equal(once[7], render(factors[7:8], 64)[0])
    assert once.dtype == np.float32 and once.min() >= 0.0 and once.max() <= 1.0


@pytest.mark.parametrize("shape,area", [(0, 2 * 0.19**2), (1, math.pi * 0.19 * 0.095)])
def test_rendered_area_is_the_shapes_area(shape, area):
    # Pixel values are coverage fractions, so their sum is the covered area in pixels.
    for resolution in (32, 64):
        image = render(np.array([[shape, 5, 3, 10, 20]]), resolution)[0]
        assert image.sum() / resolution**2 == pytest.approx(area, rel=0.02)
    # Values are multiples of one sample's share, 1 / (256 / R)^2.
    image = render(np.array([[shape, 2, 7, 0, 31]]), 64)[0]
    assert np.allclose(image * 16, np.round(image * 16))


def test_shapes_stay_inside_the_image_and_move_with_position():
    for shape in range(3):
        for orientation in range(0, 40, 3):
            for pos in (0, 31):
                image = render(np.array([[shape, 5, orientation, pos, pos]]), 256)[0]  # one sample per pixel
                assert image[0].sum() == image[-1].sum() == image[:, 0].sum() == image[:, -1].sum() == 0
    # A position step is 5 fine samples; 32 steps of them, shifting whole samples: at R=256 (one sample
    # per pixel) moving x by one level shifts the image by exactly 5 pixels.
    a = render(np.array([[2, 3, 11, 10, 12]]), 256)[0]
    b = render(np.array([[2, 3, 11, 11, 12]]), 256)[0]
    assert np.array_equal(np.roll(a, 5, axis=1), b)


def test_grid_lookup_equals_rendering_and_images_carry_their_factors():
    spec = Shapes.make(16, shape=[0, 2], scale=2, orientation=3, pos_x=4, pos_y=2)
    grid = spec.grid()
    assert isinstance(grid, FactorImages) and len(grid) == spec.n_combinations == 2 * 2 * 3 * 4 * 2
    assert grid.x.shape == (len(grid), 1, 16, 16)
    codes = np.array([[1, 0, 2, 3, 1], [0, 1, 0, 0, 0]])
    assert torch.equal(spec.observe(codes), torch.from_numpy(render(spec.to_full(codes), 16)).unsqueeze(1))
    assert set(grid.factor("shape").tolist()) == {0, 2} and grid.values[:, 1].min() == 0.5
    assert torch.equal(grid.y, grid.factors[:, 0])
    sub = load_shapes(resolution=16, levels=dict(shape=[0, 2], scale=2, orientation=3, pos_x=4, pos_y=2), n=5, seed=1)
    assert len(sub) == 5 and torch.equal(sub.x, load_shapes(resolution=16, levels=dict(
        shape=[0, 2], scale=2, orientation=3, pos_x=4, pos_y=2), n=5, seed=1).x)


def test_correlated_sampling_couples_two_factors_and_keeps_marginals():
    spec = Shapes.make(16)
    rng = np.random.default_rng(0)
    for rho in (0.9, -0.9, 0.0):
        codes = spec.sample_correlated(20_000, rng, ("pos_x", "pos_y"), rho)
        r = np.corrcoef(codes[:, 3], codes[:, 4])[0, 1]
        # A Gaussian copula: the correlation of uniform codes is (6 / pi) arcsin(rho / 2).
        assert r == pytest.approx(6 / math.pi * math.asin(rho / 2), abs=0.02)
        counts = np.bincount(codes[:, 3], minlength=32)
        assert counts.min() > 0.8 * 20_000 / 32  # each level still about equally likely
    data = spec.sample(10, seed=3, correlated=("shape", "scale"), rho=0.5)
    assert torch.equal(data.x, spec.sample(10, seed=3, correlated=("shape", "scale"), rho=0.5).x)


@pytest.mark.parametrize("bad", [dict(resolution=48), dict(resolution=4)])
def test_bad_resolution_raises(bad):
    with pytest.raises(ValueError, match="resolution"):
        Shapes.make(**bad)


def test_bad_levels_raise():
    with pytest.raises(ValueError, match="unknown factors"):
        Shapes.make(32, colour=2)
    with pytest.raises(ValueError, match="levels"):
        Shapes.make(32, scale=[0, 0])
    with pytest.raises(ValueError, match="factor levels"):
        render(np.array([[3, 0, 0, 0, 0]]), 32)
    assert factor_values()["orientation"].shape == (40,)


def test_load_shapes_through_the_data_api_splits_the_grid_and_renders_only_what_it_keeps():
    from infobounds import data

    levels = dict(shape=[0, 2], scale=2, orientation=3, pos_x=4, pos_y=2)
    spec = Shapes.make(16, **levels)
    train = data.load("shapes", "train", resolution=16, levels=levels)
    test = data.load("shapes", "test", resolution=16, levels=levels)
    assert "shapes" in data.available() and train.classes == ("square", "ellipse", "heart")
    assert len(train) == int(0.8 * spec.n_combinations) and len(train) + len(test) == spec.n_combinations
    as_rows = lambda d: {tuple(c) for c in d.codes.tolist()}  # noqa: E731
    assert not as_rows(train) & as_rows(test) and as_rows(train) | as_rows(test) == as_rows(spec.grid())
    # a subset is rendered on its own and equals the same rows of the rendered grid
    sub = data.load("shapes", "test", n=7, seed=3, resolution=16, levels=levels)
    assert len(sub) == 7 and as_rows(sub) <= as_rows(test)
    flat = np.ravel_multi_index(tuple(sub.codes.numpy().T), spec.factor_sizes)
    assert torch.equal(sub.x, spec.grid().x[torch.from_numpy(flat)])
    # without a split, a subset is the grid's own seeded subset
    whole = load_shapes(resolution=16, levels=levels, n=5, seed=1)
    assert torch.equal(whole.codes, spec.grid().subset(5, seed=1).codes)
    with pytest.raises(ValueError, match="resolution and levels"):
        data.load("shapes", "train", n=3, colour=True)
    with pytest.raises(ValueError, match="takes no options"):
        data.load("digits", "train", resolution=16)
    with pytest.raises(ValueError, match="unknown split"):
        load_shapes(split="validation", resolution=16, levels=levels)
