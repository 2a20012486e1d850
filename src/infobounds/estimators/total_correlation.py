r"""Estimating the total correlation of a code from samples: a discriminator trained with ``fit``.

The total correlation :math:`\mathrm{TC}(z) = \mathrm{KL}(p(z) \,\|\, \prod_j p(z_j))` is estimated
with the *density-ratio trick* of FactorVAE (Kim & Mnih, 2018, *Disentangling by Factorising*, ICML):
a discriminator (:class:`~infobounds.models.factorvae.TotalCorrelationEstimator`) learns to tell samples
of :math:`p(z)` from samples of :math:`\prod_j p(z_j)` made by shuffling each coordinate across a batch
(:func:`~infobounds.models.factorvae.permute_dims`); at its optimum the logit is
:math:`\log p(z) / \prod_j p(z_j)`, so its mean over held-out draws of :math:`p(z)` estimates the TC in
nats. Chapter ``factorvae`` proves the identity and checks the estimator against the closed form of a
Gaussian (:func:`~infobounds.models.factorvae.gaussian_total_correlation`).
"""

from __future__ import annotations

import math

import torch

from infobounds.bounds.mi import suspicious_estimate, warn_estimate
from infobounds.bounds.standardise import STANDARDISATIONS, Standardiser, as_samples
from infobounds.core import OptimizerConfig
from infobounds.data.iterators import BatchStream
from infobounds.models.factorvae import TotalCorrelationEstimator
from infobounds.profiles import smoke_batch
from infobounds.training import fit


def estimate_total_correlation(z, *, steps: int = 2000, batch_size: int = 256,
                               optim: OptimizerConfig = OptimizerConfig(), hidden: tuple[int, ...] = (64, 64), holdout: float = 0.2, standardise: str = "rank",
                               seed: int = 0, progress: bool = False) -> float:
    """Estimate TC(z) in nats from samples z (N, K) of p(z) with the density-ratio trick: train the
    discriminator (Adam with ``optim``) on ``1 - holdout`` of the rows (drawn at random, seeded),
    average its logit over the rest.

    ``z`` is a tensor or array of any real dtype. ``standardise`` (``rank``, ``zscore`` or ``none``,
    :mod:`infobounds.bounds.standardise`) maps each coordinate by an increasing function fitted on
    the training rows: TC is invariant to such maps (they take prod_j p(z_j) to the product of the
    new marginals), and the estimate becomes independent of the code's scale and tails. A clearly
    negative value raises an :class:`~infobounds.bounds.mi.EstimateWarning`
    (:func:`~infobounds.bounds.mi.suspicious_estimate`).
    The caller's global random state is left as it was; the result depends on ``seed`` alone."""
    where = "estimate_total_correlation"
    z = as_samples(z, "z", where=where)
    if z.shape[1] < 2:
        raise ValueError(f"{where}: z needs at least 2 columns for a total correlation, got shape {tuple(z.shape)}")
    if standardise not in STANDARDISATIONS:
        raise ValueError(f"{where}: unknown standardise {standardise!r}: choose one of {', '.join(STANDARDISATIONS)}")
    if not 0 < holdout < 1:
        raise ValueError(f"{where}: holdout must lie in (0, 1), got {holdout}")
    n_test = max(1, int(math.floor(holdout * z.shape[0])))
    batch_size = smoke_batch(batch_size, z.shape[0] - n_test)  # a smoke run's few rows: the batch shrinks with them
    if z.shape[0] - n_test < batch_size:
        raise ValueError(f"{where}: {z.shape[0]} rows are too few for batch_size={batch_size} with holdout={holdout}")
    perm = torch.randperm(z.shape[0], generator=torch.Generator().manual_seed(seed)).to(z.device)
    z = Standardiser(z[perm[n_test:]], standardise)(z)
    train, test = z[perm[n_test:]], z[perm[:n_test]]
    with torch.random.fork_rng(devices=[z.device] if z.device.type == "cuda" else []):
        torch.manual_seed(seed)  # the discriminator's initialisation too, so the estimate depends on seed alone
        model = TotalCorrelationEstimator(z.shape[1], hidden, optim).to(z.device)
        fit(model, BatchStream(train, batch_size=batch_size, seed=seed), steps=steps, seed=seed, progress=progress,
            desc="TC discriminator")
    with torch.no_grad():
        logits = model.discriminator(test)  # (n_test,)
    value = float(logits.mean())
    stderr = float(logits.std() / math.sqrt(n_test)) if n_test > 1 else float("nan")
    warn_estimate(where, suspicious_estimate(value, stderr))
    return value
