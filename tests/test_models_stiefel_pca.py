"""StiefelPCA: Cayley Adam reaches the Ky Fan maximum on the Stiefel manifold and stays on it; bad
inputs are named."""

import pytest
import torch

from infobounds.core import OptimizerConfig
from infobounds.data import BatchStream
from infobounds.models.base import Player
from infobounds.models.stiefel_pca import StiefelPCA
from infobounds.optim import CAYLEY_BETAS, CayleyAdam
from infobounds.training import fit


def problem(ell=20, m=4, seed=0):
    gen = torch.Generator().manual_seed(seed)
    a = torch.randn(ell, ell, generator=gen)
    cov = a @ a.T / ell
    u0 = torch.linalg.qr(torch.randn(ell, m, generator=gen))[0]
    return cov, u0, float(torch.linalg.eigvalsh(cov.double())[-m:].sum())


def test_reaches_ky_fan_and_stays_on_the_manifold():
    cov, u0, ky_fan = problem()
    model = StiefelPCA(u0, OptimizerConfig(lr=0.2, betas=CAYLEY_BETAS))
    run = fit(model, BatchStream(cov[None], batch_size=1), steps=400, seed=None, progress=False)
    trace = -run.history["main/neg_trace"]
    assert trace[0] < 0.9 * ky_fan  # it starts well below the maximum ...
    assert abs(trace[-1] - ky_fan) < 1e-3 * ky_fan  # ... and reaches it
    assert float(model.trace(cov).detach()) <= ky_fan * (1 + 1e-6)  # never above (Ky Fan)
    assert max(run.history["main/orthogonality_error"]) < 1e-5
    assert CayleyAdam.orthogonality_error(model.u) < 1e-5


def test_plain_adam_leaves_the_manifold():
    """Control for the orthogonality check: the same problem with Adam instead of Cayley Adam."""
    cov, u0, _ = problem()

    class PlainAdam(StiefelPCA):
        def players(self):
            return [Player("main", [self.u], OptimizerConfig(lr=0.2))]

    model = PlainAdam(u0)
    fit(model, BatchStream(cov[None], batch_size=1), steps=50, seed=None, progress=False)
    assert CayleyAdam.orthogonality_error(model.u) > 1e-2


def test_bad_inputs_are_named():
    cov, u0, _ = problem()
    with pytest.raises(ValueError, match="orthonormal columns"):
        StiefelPCA(2 * u0)
    with pytest.raises(ValueError, match="ell >= m"):
        StiefelPCA(u0.T)
    with pytest.raises(ValueError, match=r"C must be \(20, 20\)"):
        StiefelPCA(u0).loss((cov[None, :5, :5],))
