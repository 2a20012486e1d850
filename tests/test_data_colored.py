"""Coloured Fashion-MNIST: colour is tied to the class with the stated bias, environments are disjoint."""

import pytest
import torch

from infobounds.data.colored import PALETTE, concat, load_colored, load_environments


def test_colour_agrees_with_class_at_the_stated_bias():
    data = load_colored(n=4000, bias=0.9, n_colors=2, seed=1)
    assert data.x.shape == (4000, 3, 28, 28)
    assert 0.0 <= data.x.min() and data.x.max() <= 1.0
    # Binomial standard error at n=4000 is 0.005; 0.02 is four of them.
    assert data.agreement() == pytest.approx(0.9, abs=0.02)
    # Each image is its grey image times its colour: the channel ratios equal the palette's.
    k = data.x.flatten(1).sum(1).argmax()
    rgb = data.x[k].flatten(1).sum(1)
    torch.testing.assert_close(rgb / rgb.max(), PALETTE[data.s[k]] / PALETTE[data.s[k]].max(), atol=1e-4, rtol=0)


def test_independent_and_reversed_bias():
    independent = load_colored(n=4000, bias=0.5, n_colors=2, seed=2)
    reversed_ = load_colored(n=4000, bias=0.1, n_colors=2, seed=2)
    assert independent.agreement() == pytest.approx(0.5, abs=0.025)
    assert reversed_.agreement() == pytest.approx(0.1, abs=0.02)


def test_ten_colours_and_binary_target_with_label_noise():
    ten = load_colored(n=2000, bias=1.0, n_colors=10, seed=0)
    assert torch.equal(ten.s, ten.y)
    binary = load_colored(n=4000, bias=0.5, binary=True, label_noise=0.25, seed=0)
    assert set(binary.y.unique().tolist()) == {0, 1} and binary.n_classes == 2


def test_environments_are_disjoint_slices_with_their_own_bias():
    data = load_environments([0.9, 0.8, 0.1], 1500, resolution=14, seed=3)
    assert data.x.shape == (4500, 3, 14, 14)
    assert data.bias == (0.9, 0.8, 0.1)
    for e, b in enumerate(data.bias):
        env = data.select(data.environment == e)
        assert len(env) == 1500
        assert env.agreement() == pytest.approx(b, abs=0.035)
    # Disjoint: no two images identical across environments (Fashion-MNIST has no duplicates at this size).
    grey = data.x.sum(1).flatten(1)
    assert torch.unique(grey, dim=0).shape[0] == len(data)
    both = concat([data, load_colored(n=100, bias=0.5, resolution=14)])
    assert both.bias == (0.9, 0.8, 0.1, 0.5) and both.environment.max() == 3


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="bias"):
        load_colored(n=10, bias=1.5)
    with pytest.raises(ValueError, match="n_colors"):
        load_colored(n=10, n_colors=1)
    with pytest.raises(ValueError, match="binary=True"):
        load_colored(n=10, label_noise=0.2)
    with pytest.raises(ValueError, match="resolution"):
        load_colored(n=10, resolution=5)
    with pytest.raises(ValueError, match="sizes"):
        load_environments([0.9, 0.1], [100])
