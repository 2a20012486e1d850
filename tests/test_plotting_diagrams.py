"""plot_diagram draws a model's boxes and arrows that end on them; plot_information_diagram labels
the regions of two or three circles. Bad input is named."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from infobounds.plotting import plot_diagram, plot_information_diagram  # noqa: E402

BOXES = {"x": (0.0, 1.0, "input $x$"), "z": (3.0, 1.0, "code $z$", "#dbe7f3"),
         "r": (3.0, 0.0, "prior $r(z)$")}


def test_boxes_and_arrows_that_end_on_them():
    ax, nodes = plot_diagram(BOXES, [("x", "z", dict(label="$p(z \\mid x)$")),
                                     ("r", "z", dict(at_start=(0.5, 1), at_end=(0.5, 0), ls="--"))])
    assert set(nodes) == set(BOXES)
    labels = [t for t in ax.texts if not isinstance(t, matplotlib.text.Annotation)]
    assert [t.get_text() for t in labels] == ["input $x$", "code $z$", "prior $r(z)$",
                                                "$p(z \\mid x)$"]
    assert nodes["z"].get_bbox_patch().get_facecolor()[:3] == pytest.approx((0xdb / 255, 0xe7 / 255,
                                                                             0xf3 / 255))
    arrows = [a for a in ax.get_children() if isinstance(a, matplotlib.text.Annotation)]
    assert len(arrows) == 2
    # placed in the boxes' own coordinates, so that each arrow starts and ends on an edge
    assert arrows[0].xycoords is nodes["z"] and arrows[0].anncoords is nodes["x"]
    assert arrows[1].xy == (0.5, 0) and arrows[1].arrow_patch.get_linestyle() == "--"
    # the end of the first arrow lies on the left edge of the box it points at
    plt.gcf().canvas.draw()
    head = arrows[0].arrow_patch.get_path().vertices
    box = nodes["z"].get_bbox_patch().get_window_extent()
    tip = ax.transData.inverted().transform(box.get_points())
    end = ax.transData.inverted().transform(
        arrows[0].arrow_patch.get_transform().transform(head)).max(axis=0)
    assert end[0] == pytest.approx(tip[0, 0], abs=0.1)
    plt.close("all")


def test_unknown_box_and_bad_position_are_named():
    with pytest.raises(ValueError, match="names the box 'y'"):
        plot_diagram(BOXES, [("x", "y")])
    with pytest.raises(ValueError, match="box 'x' has a non-finite position"):
        plot_diagram({"x": (np.nan, 0.0, "x")})
    with pytest.raises(ValueError, match="box 'x' is"):
        plot_diagram({"x": (0.0, "x")})
    with pytest.raises(ValueError, match="boxes is empty"):
        plot_diagram({})
    plt.close("all")


def test_information_diagram_labels_each_region():
    regions = {"0": "H(X|Y)", "01": "I(X;Y)", "1": "H(Y|X)"}
    ax = plot_information_diagram(["H(X)", "H(Y)"], regions)
    assert len(ax.patches) == 2
    texts = {t.get_text(): t.get_position() for t in ax.texts}
    assert set(texts) == {"H(X)", "H(Y)", *regions.values()}
    # the shared region lies between the two one-circle regions, inside both circles
    assert texts["H(X|Y)"][0] < texts["I(X;Y)"][0] < texts["H(Y|X)"][0]
    for circle in ax.patches:
        assert np.hypot(*(np.subtract(texts["I(X;Y)"], circle.center))) < circle.radius
        assert circle.contains_point(ax.transData.transform(texts["I(X;Y)"]))
    three = plot_information_diagram(["A", "B", "C"], {"012": "I(A;B;C)", "02": "I(A;C|B)"})
    a, b, c = three.patches
    centre = [t for t in three.texts if t.get_text() == "I(A;B;C)"][0].get_position()
    only_ac = [t for t in three.texts if t.get_text() == "I(A;C|B)"][0].get_position()
    assert all(np.hypot(*np.subtract(centre, p.center)) < 1 for p in (a, b, c))
    assert np.hypot(*np.subtract(only_ac, a.center)) < 1 and np.hypot(*np.subtract(only_ac, c.center)) < 1
    assert np.hypot(*np.subtract(only_ac, b.center)) > 1
    plt.close("all")


def test_information_diagram_bad_input_is_named():
    with pytest.raises(ValueError, match="2 or 3 circles"):
        plot_information_diagram(["A"], {})
    with pytest.raises(ValueError, match="region '2' is not a region of 2 circles"):
        plot_information_diagram(["A", "B"], {"2": "H(C)"})
