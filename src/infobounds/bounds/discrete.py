"""Entropies of discrete variables, in nats (0 log 0 = 0).

* :func:`discrete_entropy` -- H(P) of a probability mass function given as an array (NumPy, float64);
  the discrete quantities of :mod:`infobounds.bounds.wyner`, :mod:`infobounds.bounds.club` and
  :mod:`infobounds.bounds.shift` are built on it.
* :func:`plugin_entropy` -- the plug-in entropy of integer labels (torch): the entropy of their
  empirical distribution, used by the adversaries' bounds (:mod:`infobounds.models.adversary`'s users)
  and by :meth:`infobounds.models.vib.VIB.evaluate`'s H(Y).

They stay two functions because their arithmetic differs (NumPy's float64 log and pairwise sum, torch's
on the labels' device), and merging them would move results in the last bits.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["discrete_entropy", "plugin_entropy"]


def discrete_entropy(p) -> float:
    """H(P) = -sum p log p in nats (0 log 0 = 0) of a pmf of any shape; it must sum to 1."""
    p = np.asarray(p, dtype=np.float64).ravel()
    if (p < -1e-12).any() or abs(p.sum() - 1.0) > 1e-9:
        raise ValueError("p must be a probability mass function (non-negative, summing to 1)")
    nz = p[p > 0]
    return float(-(nz * np.log(nz)).sum())


def plugin_entropy(labels: torch.Tensor, n_values: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Entropy in nats of the empirical distribution of integer ``labels`` in ``0..n_values-1``: a
    0-dimensional tensor on the labels' device, computed in float64 and returned as ``dtype``."""
    if labels.numel() == 0:
        raise ValueError("plugin_entropy needs at least one label")
    freq = torch.bincount(labels.reshape(-1).long(), minlength=n_values).double() / labels.numel()
    freq = freq[freq > 0]
    return -(freq * freq.log()).sum().to(dtype)
