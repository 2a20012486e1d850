r"""Group-fairness and leakage metrics (chapters ``bottleneck_family``, ``distribution_shift``,
``fair_representations``).

For predictions :math:`\hat y`, true labels :math:`y` and a sensitive attribute :math:`s` with groups
:math:`\mathcal S`:

* **demographic-parity gap** (independence, :math:`\hat y \perp s`): the largest total-variation
  distance between the groups' prediction distributions,

  .. math:: \Delta_{DP} = \max_{s, s'} \tfrac12 \sum_c \bigl|P(\hat y = c \mid s) - P(\hat y = c \mid s')\bigr|,

  which for a binary prediction is the usual :math:`|P(\hat y = 1 \mid s=0) - P(\hat y = 1 \mid s=1)|`;
* **equalised-odds gap** (separation, :math:`\hat y \perp s \mid y`): the same distance computed
  within each true class, maximised over classes (Hardt, Price & Srebro, 2016);
* **adversary accuracy**: the test accuracy of a classifier trained to recover :math:`s` from a
  representation. Against the majority-group rate (:func:`chance_accuracy`) it measures leakage: by
  Fano's inequality a representation from which no classifier beats chance carries little
  information about :math:`s`.

Groups (or classes) with no examples are skipped; a gap needs at least two non-empty groups.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from infobounds.metrics.probes import linear_probe

__all__ = ["demographic_parity_gap", "equalized_odds_gap", "adversary_accuracy", "chance_accuracy"]


def _labels(a, name: str) -> np.ndarray:
    arr = a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-d array of integer labels, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if not np.all(arr == np.round(arr)):
            raise ValueError(f"{name} must hold integer labels (use argmax of the scores first)")
        arr = arr.astype(np.int64)
    return arr


def _max_tv(pred: np.ndarray, s: np.ndarray, n_values: int) -> float | None:
    dists = []
    for g in np.unique(s):
        p = np.bincount(pred[s == g], minlength=n_values).astype(float)
        dists.append(p / p.sum())
    if len(dists) < 2:
        return None
    return max(0.5 * np.abs(a - b).sum() for i, a in enumerate(dists) for b in dists[i + 1:])


def demographic_parity_gap(pred, s) -> float:
    """Largest total-variation distance between groups' distributions of the prediction."""
    pred, s = _labels(pred, "pred"), _labels(s, "s")
    if len(pred) != len(s):
        raise ValueError(f"pred and s differ in length: {len(pred)} vs {len(s)}")
    gap = _max_tv(pred, s, int(pred.max()) + 1 if len(pred) else 1)
    if gap is None:
        raise ValueError("the demographic-parity gap needs at least two groups present in s")
    return float(gap)


def equalized_odds_gap(pred, y, s) -> float:
    """Largest, over true classes, total-variation distance between groups' prediction distributions."""
    pred, y, s = _labels(pred, "pred"), _labels(y, "y"), _labels(s, "s")
    if not len(pred) == len(y) == len(s):
        raise ValueError(f"pred, y and s differ in length: {len(pred)}, {len(y)}, {len(s)}")
    n_values = int(max(pred.max(), y.max())) + 1 if len(pred) else 1
    gaps = [g for c in np.unique(y) if (g := _max_tv(pred[y == c], s[y == c], n_values)) is not None]
    if not gaps:
        raise ValueError("the equalised-odds gap needs two groups present within at least one class")
    return float(max(gaps))


def chance_accuracy(s) -> float:
    """Accuracy of always guessing the most frequent group."""
    s = _labels(s, "s")
    return float(np.bincount(s).max() / len(s))


def adversary_accuracy(z_train, s_train, z_test, s_test, *, kind: str = "mlp", hidden: int = 64,
                       max_iter: int = 200, seed: int = 0) -> float:
    """Test accuracy of an adversary recovering ``s`` from a frozen representation ``z``.

    ``kind="linear"`` is a logistic regression (:func:`~infobounds.metrics.probes.linear_probe`);
    ``kind="mlp"`` a one-hidden-layer network (scikit-learn's ``MLPClassifier``, with early stopping
    from 2,000 training points on), which also finds information hidden non-linearly.
    """
    if kind == "linear":
        return linear_probe(z_train, s_train, z_test, s_test, max_iter=max_iter, seed=seed)
    if kind != "mlp":
        raise ValueError(f"kind must be 'mlp' or 'linear', got {kind!r}")
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    def as_2d(z, n):
        arr = z.detach().cpu().float().numpy() if isinstance(z, torch.Tensor) else np.asarray(z, dtype=float)
        return arr.reshape(n, -1)

    s_tr, s_te = _labels(s_train, "s_train"), _labels(s_test, "s_test")
    z_tr, z_te = as_2d(z_train, len(s_tr)), as_2d(z_test, len(s_te))
    if z_tr.shape[1] != z_te.shape[1]:
        raise ValueError(f"train and test representations differ in dimension: {z_tr.shape[1]} vs {z_te.shape[1]}")
    # Early stopping holds out 10% for validation; below ~200 held-out points that estimate is so
    # noisy that training stops long before the adversary has learnt (measured: 0.83 instead of 0.99).
    adversary = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(hidden,), max_iter=max_iter,
                                                              early_stopping=len(s_tr) >= 2000, random_state=seed))
    # One BLAS thread: see infobounds.metrics.probes on OpenBLAS beside torch's threads.
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        adversary.fit(z_tr, s_tr)
        return float((adversary.predict(z_te) == s_te).mean())
