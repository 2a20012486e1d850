r"""Estimating a conditional mutual information from samples: a pair critic trained with ``fit``.

:math:`I(z_1; z_2 \mid a)` is estimated by the within-:math:`a` shuffle of Funke, Vicol, Wang, Kümmerer,
Zemel & Bethge (2022), *Disentanglement and Generalization Under Correlation Shifts*, CoLLAs: a critic
(:class:`~infobounds.models.cmi.ConditionalMIEstimator`) learns to tell real pairs
:math:`(z_1, z_2, a)` from pairs whose :math:`z_2` was shuffled among the rows with the same :math:`a`
(:func:`~infobounds.models.cmi.shuffle_within`), by the density-ratio trick of chapter ``factorvae``;
its mean logit on held-out real pairs estimates the CMI in nats (without :math:`a`, the MI).
Chapter ``cmi_disentanglement`` checks it on Gaussians whose CMI is known.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from infobounds.bounds.mi import suspicious_estimate, warn_estimate
from infobounds.bounds.standardise import STANDARDISATIONS, Standardiser, as_samples
from infobounds.core import OptimizerConfig
from infobounds.data.iterators import BatchStream
from infobounds.models.cmi import ConditionalMIEstimator
from infobounds.profiles import smoke_batch
from infobounds.training import fit


def _as_labels(a, n: int, n_values: int | None, device) -> tuple[torch.Tensor, int]:
    """``a`` as (N,) int64 codes in [0, n_values) and ``n_values`` (inferred as max + 1 when None)."""
    where = "estimate_conditional_mi"
    array = np.asarray(a.detach().cpu() if isinstance(a, torch.Tensor) else a)
    if array.ndim != 1 or array.shape[0] != n:
        raise ValueError(f"{where}: a must be a 1-d array of one label per row ({n}), got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.number) or not np.all(np.isfinite(array)) \
            or not np.array_equal(array, np.round(array)) or array.min() < 0:
        raise ValueError(f"{where}: a must hold non-negative integer labels 0, 1, ..., got {array[:5]} ...")
    labels = torch.as_tensor(array.astype(np.int64), device=device)
    n_values = int(labels.max()) + 1 if n_values is None else n_values
    if n_values < 1 or int(labels.max()) >= n_values:
        raise ValueError(f"{where}: n_values={n_values} but a has a label {int(labels.max())}")
    return labels, n_values


def estimate_conditional_mi(z1, z2, a, *, n_values: int | None = None, steps: int = 2000, batch_size: int = 256,
                            optim: OptimizerConfig = OptimizerConfig(), hidden: tuple[int, ...] = (64, 64),
                            holdout: float = 0.2,
                            standardise: str = "rank", seed: int = 0) -> float:
    """I(z_1; z_2 | a) in nats by the within-``a`` shuffle (``a=None``: I(z_1; z_2)): train the critic on
    ``1 - holdout`` of the rows (drawn at random, seeded), average its logit on the real pairs of the rest.

    ``z1`` (N, d_1) and ``z2`` (N, d_2) are tensors or arrays of any real dtype; ``a`` (N,) holds
    integer labels 0 .. ``n_values`` - 1 (``n_values`` defaults to the largest label + 1). ``optim`` is
    the critic's Adam.
    ``standardise`` (``rank``, ``zscore`` or ``none``, :mod:`infobounds.bounds.standardise`) maps each
    coordinate of z_1 and z_2 by an increasing function fitted on the training rows, which leaves
    the CMI unchanged and the estimate independent of the codes' scale and tails. The mean logit is
    not a bound: at the optimal critic it is the CMI, and a trained critic can land on either side
    (it is biased low by the batch's finite label groups, chapter ``cmi_disentanglement``). A clearly
    negative value raises an :class:`~infobounds.bounds.mi.EstimateWarning`
    (:func:`~infobounds.bounds.mi.suspicious_estimate`). The caller's global random state is left as it
    was; the result depends on ``seed`` alone."""
    where = "estimate_conditional_mi"
    z1 = as_samples(z1, "z1", where=where)
    z2 = as_samples(z2, "z2", where=where, device=z1.device)
    n = z1.shape[0]
    if z2.shape[0] != n:
        raise ValueError(f"{where}: z1 and z2 must hold the same number of rows, got {n} and {z2.shape[0]}")
    if a is None:
        if n_values:
            raise ValueError(f"{where}: n_values={n_values} is given but a is None")
        a, n_values = torch.zeros(n, dtype=torch.long, device=z1.device), 0
    else:
        if n_values == 0:
            raise ValueError(f"{where}: a is given but n_values=0; pass the number of values of a, or None")
        a, n_values = _as_labels(a, n, n_values, z1.device)
    if standardise not in STANDARDISATIONS:
        raise ValueError(f"{where}: unknown standardise {standardise!r}: choose one of {', '.join(STANDARDISATIONS)}")
    if not 0 < holdout < 1:
        raise ValueError(f"{where}: holdout must lie in (0, 1), got {holdout}")
    n_test = max(1, int(math.floor(holdout * n)))
    batch_size = smoke_batch(batch_size, n - n_test)  # a smoke run's few rows: the batch shrinks with them
    if n - n_test < batch_size:
        raise ValueError(f"{where}: {n} rows are too few for batch_size={batch_size} with holdout={holdout}")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).to(z1.device)
    test, train = perm[:n_test], perm[n_test:]
    z1 = Standardiser(z1[train], standardise)(z1)
    z2 = Standardiser(z2[train], standardise)(z2)
    with torch.random.fork_rng(devices=[z1.device] if z1.device.type == "cuda" else []):
        torch.manual_seed(seed)  # the critic's initialisation too, so the estimate depends on seed alone
        model = ConditionalMIEstimator(z1.shape[1], z2.shape[1], n_values, hidden, optim).to(z1.device)
        fit(model, BatchStream(z1[train], z2[train], a[train], batch_size=batch_size, seed=seed), steps=steps,
            seed=seed, progress=False)
    with torch.no_grad():
        logits = model.critic(z1[test], z2[test], a[test] if n_values else None)  # (n_test,)
    value = float(logits.mean())
    stderr = float(logits.std() / math.sqrt(n_test)) if n_test > 1 else float("nan")
    warn_estimate(where, suspicious_estimate(value, stderr))
    return value
