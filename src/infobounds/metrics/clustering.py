r"""Accuracy of an unsupervised labelling after the best one-to-one matching (chapter ``infogan``).

A clustering, or InfoGAN's categorical code, names its groups arbitrarily: code 3 may be the
trousers. Its *matched accuracy* is the accuracy under the best assignment of codes to classes,

.. math:: \mathrm{acc} = \max_{\pi} \frac1n \sum_{i=1}^n \mathbb 1[\pi(\hat y_i) = y_i],

the maximum over one-to-one maps :math:`\pi` from codes to classes, found on the contingency table by
the Hungarian algorithm (Kuhn, 1955; :func:`scipy.optimize.linear_sum_assignment`). A labelling
that is a permutation of the truth scores 1.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment


def _as_labels(y) -> np.ndarray:
    y = y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"labels must be a 1-d array, got shape {y.shape}")
    if y.size and (y.min() < 0 or not np.issubdtype(y.dtype, np.integer)):
        raise ValueError("labels must be non-negative integers")
    return y.astype(np.int64)


def contingency_table(y_true, y_pred) -> np.ndarray:
    """Counts (n_pred, n_true): entry [c, k] is how many examples of class k got code c."""
    y_true, y_pred = _as_labels(y_true), _as_labels(y_pred)
    if y_true.shape != y_pred.shape or y_true.size == 0:
        raise ValueError(f"need two non-empty label arrays of the same length, got {y_true.shape} and {y_pred.shape}")
    table = np.zeros((y_pred.max() + 1, y_true.max() + 1), dtype=np.int64)
    np.add.at(table, (y_pred, y_true), 1)
    return table


def best_matching(y_true, y_pred) -> dict[int, int]:
    """The one-to-one map code -> class that maximises agreement (codes beyond the number of classes,
    or classes beyond the number of codes, stay unmatched)."""
    table = contingency_table(y_true, y_pred)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return {int(r): int(c) for r, c in zip(rows, cols)}


def matched_accuracy(y_true, y_pred) -> float:
    """Accuracy of ``y_pred`` against ``y_true`` under the best one-to-one matching of labels."""
    table = contingency_table(y_true, y_pred)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / table.sum())
