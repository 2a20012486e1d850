"""plot_latent_traversals: one row per latent, one column per value, and an optional value axis."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from infobounds.plotting import plot_latent_traversals  # noqa: E402


def decode(codes):
    """Images of 4x5 pixels whose brightness is the first coordinate, squashed to [0, 1]."""
    return torch.sigmoid(codes[:, :1, None, None]).expand(-1, 1, 4, 5)


def test_value_axis_ticks_name_the_traversal_values():
    values = np.linspace(-2, 2, 5)
    with plt.rc_context({"axes.grid": True}):  # the book's theme draws a grid
        _, ax = plt.subplots()
        plot_latent_traversals(decode, torch.zeros(3), [0, 2], values, ax=ax,
                               value_label="value of the latent")
    assert ax.get_xlabel() == "value of the latent"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["-2", "-1", "0", "1", "2"]
    centres = ax.get_xticks()
    np.testing.assert_allclose(centres, [2.0, 8.0, 14.0, 20.0, 26.0])  # width 5, gap 1
    assert [t.get_text() for t in ax.texts] == ["z0", "z2"]
    assert not any(line.get_visible() for line in ax.get_xgridlines())  # over the images
    plt.close("all")


def test_without_value_label_the_grid_has_no_axis():
    _, ax = plt.subplots()
    plot_latent_traversals(decode, torch.zeros(3), [0], [-1.0, 1.0], ax=ax)
    assert not ax.axison
    plt.close("all")
