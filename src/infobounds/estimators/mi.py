"""Estimating mutual information from samples: a critic trained on a variational bound with ``fit``.

:func:`estimate_mi` trains a critic (:class:`~infobounds.bounds.mi.CriticMI`) on one of the lower
bounds of :mod:`infobounds.bounds.mi`, whose table gives each with its reference (Barber & Agakov 2003;
Belghazi et al. 2018; Nguyen, Wainwright & Jordan 2010; van den Oord, Li & Vinyals 2018; Poole, Ozair,
van den Oord, Alemi & Tucker 2019, *On Variational Bounds of Mutual Information*, ICML), with the
book's training loop, and reports the bound on held-out pairs. Chapter ``information_measures``
derives the bounds and tests the estimator against closed forms.

:func:`estimate_mi` standardises each input on its training rows (:mod:`infobounds.bounds.standardise`;
MI is invariant to an increasing map of each coordinate), shuffles before it holds pairs out, and
warns (:class:`~infobounds.bounds.mi.EstimateWarning`) when the held-out value is negative or at
InfoNCE's log K ceiling.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from infobounds.bounds.mi import CriticMI, Standardised, evaluate_bound, suspicious_estimate, warn_estimate
from infobounds.bounds.standardise import STANDARDISATIONS, Standardiser, as_samples
from infobounds.core import OptimizerConfig
from infobounds.data.iterators import BatchStream
from infobounds.profiles import smoke_batch
from infobounds.training import fit


@dataclass
class MIEstimate:
    """An MI estimate in nats: ``value`` on held-out batches of ``eval_batch_size`` pairs, its standard
    error over those batches, ``trace`` per training step; ``warning`` says why the value is probably
    not the MI (negative, or at InfoNCE's log K ceiling), None otherwise."""

    estimator: str
    value: float
    stderr: float
    trace: np.ndarray = field(repr=False)
    critic: CriticMI = field(repr=False)
    eval_batch_size: int = 0
    warning: str | None = None


def shuffled_split(n: int, holdout: float, seed: int, device: torch.device | str) -> tuple[torch.Tensor, torch.Tensor]:
    """(held-out rows, training rows) of a seeded permutation of ``range(n)``; ``holdout`` of them held out."""
    n_test = int(round(holdout * n))
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).to(device)
    return perm[:n_test], perm[n_test:]


def estimate_mi(
    x: torch.Tensor | np.ndarray,
    y: torch.Tensor | np.ndarray,
    *,
    estimator: str = "infonce",
    critic: str = "separable",
    steps: int = 2000,
    batch_size: int = 128,
    eval_batch_size: int | None = None,
    optim: OptimizerConfig = OptimizerConfig(lr=5e-4),
    hidden: tuple[int, ...] = (256, 256),
    embed_dim: int = 32,
    holdout: float = 0.2,
    entropy_x: float | None = None,
    standardise: str = "rank",
    js_value: str = "dv",
    seed: int = 0,
    progress: bool = False,
) -> MIEstimate:
    """Estimate I(X;Y) in nats from paired samples by training a critic on one of the bounds.

    Parameters
    ----------
    x, y : (N, d_x) and (N, d_y) paired samples of p(x, y), tensors or arrays of any real dtype.
    estimator : one of ``ba``, ``dv``, ``nwj``, ``infonce``, ``js`` (the table of :mod:`infobounds.bounds.mi`).
    critic : ``separable`` (g(x)^T h(y)) or ``concat`` (MLP on [x, y]; costs K^2 evaluations).
    steps, batch_size, optim, hidden, embed_dim : critic training; ``batch_size`` is K of InfoNCE in
        training, ``optim`` the critic's Adam settings.
    eval_batch_size : K of the held-out evaluation (default ``batch_size``). The held-out InfoNCE
        never exceeds log ``eval_batch_size``; a larger K raises that ceiling (InfoNCE is a lower
        bound for every K with the same critic) but leaves fewer held-out batches for the stderr.
    holdout : share of the pairs, drawn at random (seeded), kept out of training; the returned value
        is the bound's mean over held-out batches, so it is not inflated by a critic that memorised
        its training pairs.
    entropy_x : h(X) in nats of the raw x, required by ``ba``.
    standardise : ``rank`` (default), ``zscore`` or ``none``: the per-coordinate increasing map
        fitted on the training rows and applied before the critic
        (:mod:`infobounds.bounds.standardise`); it leaves the MI unchanged and makes the estimate
        independent of the inputs' scale and tails. For ``ba`` x is z-scored (the bound needs the
        map's Jacobian) and y gets ``standardise``.
    js_value : what ``js`` reports on its critic: ``dv`` (default) or ``nwj`` (:mod:`infobounds.bounds.mi`).
    seed : the split, the batches and the critic's initialisation; the caller's global random state
        is left as it was, and the result depends on ``seed`` alone.

    Returns
    -------
    MIEstimate with the held-out value, its standard error, the per-step training trace and a
    ``warning`` (also issued as an :class:`~infobounds.bounds.mi.EstimateWarning`) when the value is suspicious
    (:func:`~infobounds.bounds.mi.suspicious_estimate`).
    """
    where = "estimate_mi"
    x = as_samples(x, "x", where=where)
    y = as_samples(y, "y", where=where, device=x.device)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x and y must hold the same number of pairs, got {x.shape[0]} and {y.shape[0]}")
    if not 0 < holdout < 1:
        raise ValueError(f"holdout must lie in (0, 1), got {holdout}")
    if standardise not in STANDARDISATIONS:
        raise ValueError(f"unknown standardise {standardise!r}: choose one of {', '.join(STANDARDISATIONS)}")
    eval_batch_size = batch_size if eval_batch_size is None else eval_batch_size
    if batch_size < 2 or eval_batch_size < 2:
        raise ValueError(f"batch_size and eval_batch_size must be >= 2, got {batch_size} and {eval_batch_size}")
    n_eval = int(round(holdout * x.shape[0]))
    # A smoke run (INFOBOUNDS_SMOKE) cuts the data to a few hundred pairs; its batches shrink with them.
    batch_size, eval_batch_size = smoke_batch(batch_size, x.shape[0] - n_eval), smoke_batch(eval_batch_size, n_eval)
    if n_eval < eval_batch_size or x.shape[0] - n_eval < batch_size:
        raise ValueError(f"{x.shape[0]} pairs are too few for batch_size={batch_size}, "
                         f"eval_batch_size={eval_batch_size} with holdout={holdout}")
    test, train = shuffled_split(x.shape[0], holdout, seed, x.device)
    x_method = "zscore" if estimator == "ba" and standardise == "rank" else standardise
    standardisers = (Standardiser(x[train], x_method), Standardiser(y[train], standardise))
    devices = [x.device] if x.device.type == "cuda" else []
    # ba's every value needs phi_x's Jacobian, so its decoder standardises each batch (an affine map,
    # cheap); the critics train on standardised rows, computed once, and take the standardisers after.
    in_model = estimator == "ba"
    x_train, y_train = (x[train], y[train]) if in_model else (standardisers[0](x[train]), standardisers[1](y[train]))
    with torch.random.fork_rng(devices=devices):  # leave the caller's random stream alone
        torch.manual_seed(seed)  # the critic's initialisation too, so the estimate depends on seed alone
        model = CriticMI(x.shape[1], y.shape[1], estimator, critic, hidden, embed_dim, optim, entropy_x, js_value,
                         standardisers if in_model else None).to(x.device)
        stream = BatchStream(x_train, y_train, batch_size=batch_size, seed=seed)
        result = fit(model, stream, steps=steps, seed=seed, progress=progress, desc=f"MI ({estimator})")
    if not in_model:
        model.net = Standardised(model.net, *standardisers)  # the returned critic takes raw samples
    value, stderr = evaluate_bound(model, x[test], y[test], eval_batch_size)
    warning = suspicious_estimate(value, stderr, ceiling=math.log(eval_batch_size) if estimator == "infonce" else None)
    warn_estimate(f"{where} ({estimator})", warning)
    return MIEstimate(estimator, value, stderr, result.history["critic/mi"], model, eval_batch_size, warning)
