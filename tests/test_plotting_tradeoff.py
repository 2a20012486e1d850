"""plot_tradeoff: one small point per run, one large point per setting at its seed mean."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from infobounds.plotting import plot_tradeoff  # noqa: E402


def runs_table():
    rows = []
    for method, settings in {"A": ["a1", "a2"], "B": ["b1", "b2"]}.items():
        for k, setting in enumerate(settings):
            for seed in range(3):
                rows.append({"method": method, "setting": setting, "seed": seed,
                             "distortion": 10.0 * (k + 1) + seed, "score": 0.1 * k + 0.01 * seed})
    return pd.DataFrame(rows)


def test_points_per_run_and_per_setting_mean():
    runs = runs_table()
    _, ax = plt.subplots()
    plot_tradeoff(runs, "score", ax=ax, chance=0.2, ylim=(0, 1))
    sizes = sorted(len(c.get_offsets()) for c in ax.collections)
    assert sizes == [2, 2, 6, 6]  # per method: 6 runs and 2 setting means
    means = [c.get_offsets() for c in ax.collections if len(c.get_offsets()) == 2]
    np.testing.assert_allclose(sorted(means[0][:, 0]), [11.0, 21.0])  # seed means of the distortions
    assert ax.get_ylim() == (0, 1)
    assert [t.get_text() for t in ax.texts] == ["a1", "a2", "b1", "b2"]
    plt.close("all")


def test_missing_column_is_named():
    with pytest.raises(ValueError, match="no column 'mig'"):
        plot_tradeoff(runs_table(), "mig")
