r"""Coupled autoregressive streams with a known transfer entropy (chapter ``transfer_entropy_bottleneck``).

A *source* stream :math:`X` drives a *target* stream :math:`Y` through a small coupling :math:`c`:

.. math::

    X_t = a_x X_{t-1} + f\, Y_{t-1} + \sigma_x \varepsilon_t, \qquad
    Y_t = a_y Y_{t-1} + c\, g(X_{t-1}) + \sigma_y \eta_t, \qquad
    \varepsilon_t, \eta_t \overset{iid}{\sim} \mathcal N(0, 1),

with :math:`g(x) = x` (the linear-Gaussian VAR(1)) or :math:`g(x) = \tanh(\gamma x)` (the nonlinear
variant) and an optional feedback :math:`f` from target to source (0 by default).

Transfer entropy with history length :math:`k` (Schreiber, 2000) is the conditional mutual information

.. math::

    \mathrm{TE}^{(k)}_{X\to Y} = I\big(Y_t ; X^{(k)}_{t-1} \,\big|\, Y^{(k)}_{t-1}\big),
    \qquad X^{(k)}_{t-1} = (X_{t-1}, \dots, X_{t-k}).

**Closed form in the linear case.** Write :math:`s_t = (X_t, Y_t)^\top = A s_{t-1} + w_t` with
:math:`A = \begin{pmatrix} a_x & f \\ c & a_y \end{pmatrix}` and :math:`w_t \sim \mathcal N(0, Q)`,
:math:`Q = \operatorname{diag}(\sigma_x^2, \sigma_y^2)`. If the spectral radius of :math:`A` is below
one, the process has a unique stationary law, Gaussian with zero mean and covariance :math:`\Sigma`
solving the discrete Lyapunov equation :math:`\Sigma = A \Sigma A^\top + Q` (take covariances of both
sides of the recursion; :math:`w_t` is independent of :math:`s_{t-1}`), computed with
:func:`scipy.linalg.solve_discrete_lyapunov`. Iterating the recursion,
:math:`s_t = A^h s_{t-h} + (\text{noise independent of } s_{t-h})`, so the autocovariances are
:math:`\Gamma(h) = \operatorname{Cov}(s_t, s_{t-h}) = A^h \Sigma`, and the covariance of any window
:math:`(s_t, s_{t-1}, \dots, s_{t-k})` is the block matrix with blocks
:math:`\operatorname{Cov}(s_{t-i}, s_{t-j}) = A^{j-i}\Sigma` for :math:`j \ge i` (transposed otherwise).
For jointly Gaussian variables the law of :math:`Y_t` given a vector :math:`W` is Gaussian with a
variance that does not depend on the value of :math:`W`, the Schur complement
:math:`\operatorname{Var}(Y_t | W) = \Sigma_{YY} - \Sigma_{YW}\Sigma_{WW}^{-1}\Sigma_{WY}`; its
differential entropy is :math:`\tfrac12\log(2\pi e \operatorname{Var}(Y_t|W))`, and therefore

.. math::

    \mathrm{TE}^{(k)}_{X\to Y} = h(Y_t | Y^{(k)}_{t-1}) - h(Y_t | Y^{(k)}_{t-1}, X^{(k)}_{t-1})
    = \frac12 \log \frac{\operatorname{Var}(Y_t \mid Y^{(k)}_{t-1})}
                        {\operatorname{Var}(Y_t \mid Y^{(k)}_{t-1}, X^{(k)}_{t-1})} ,

the Granger-causality statistic halved (Barnett, Barrett & Seth, 2009). For the VAR(1) the
denominator is :math:`\sigma_y^2` for every :math:`k \ge 1` (the process is Markov), while the
numerator falls with :math:`k`, because the target alone is not Markov.

The nonlinear variant has no closed form; it is provided for models, not for known answers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import torch
from scipy.linalg import solve_discrete_lyapunov

from infobounds.profiles import smoke_examples

NONLINEARITIES = ("linear", "tanh")


@dataclass(frozen=True)
class CoupledAR:
    """A source X driving a target Y; the defaults are the chapter's quick-profile process."""

    a_x: float = 0.5  # source self-coupling a_x
    a_y: float = 0.9  # target self-coupling a_y: the target predicts itself well ...
    coupling: float = 0.3  # c, the transfer X_{t-1} -> Y_t: ... and the source adds a little
    feedback: float = 0.0  # f, the reverse coupling Y_{t-1} -> X_t
    noise_x: float = 1.0  # sigma_x, standard deviation of the source's innovation
    noise_y: float = 1.0  # sigma_y, standard deviation of the target's innovation
    nonlinearity: str = "linear"  # g: "linear" (the VAR(1)) or "tanh" (no closed form)
    gain: float = 2.0  # gamma in g(x) = tanh(gamma x) (unused when linear)

    def __post_init__(self) -> None:
        if self.nonlinearity not in NONLINEARITIES:
            raise ValueError(f"nonlinearity must be one of {NONLINEARITIES}, got {self.nonlinearity!r}")
        if self.noise_x <= 0 or self.noise_y <= 0:
            raise ValueError(f"noise standard deviations must be positive, got {self.noise_x}, {self.noise_y}")
        if self.nonlinearity == "linear":
            radius = float(np.max(np.abs(np.linalg.eigvals(self.transition))))
            if radius >= 1.0:
                raise ValueError(f"the VAR(1) is not stationary: spectral radius of A is {radius:.3f} >= 1")
        elif abs(self.a_x) >= 1.0 or abs(self.a_y) >= 1.0:
            raise ValueError(f"need |a_x| < 1 and |a_y| < 1 for a stable process, got {self.a_x}, {self.a_y}")

    @property
    def is_linear(self) -> bool:
        return self.nonlinearity == "linear"

    @property
    def transition(self) -> np.ndarray:
        """A, acting on the state s = (x, y)."""
        return np.array([[self.a_x, self.feedback], [self.coupling, self.a_y]], dtype=np.float64)

    @property
    def noise_cov(self) -> np.ndarray:
        """Q = diag(sigma_x^2, sigma_y^2)."""
        return np.diag([self.noise_x**2, self.noise_y**2])

    def _require_linear(self, what: str) -> None:
        if not self.is_linear:
            raise ValueError(f"{what} has a closed form only for the linear process, not {self.nonlinearity!r}")

    def stationary_cov(self) -> np.ndarray:
        """Sigma = A Sigma A^T + Q, the stationary covariance of (X_t, Y_t)."""
        self._require_linear("the stationary covariance")
        return solve_discrete_lyapunov(self.transition, self.noise_cov)

    def window_cov(self, lag: int) -> np.ndarray:
        """Covariance of (s_t, s_{t-1}, ..., s_{t-lag}), s = (x, y): a (2 lag + 2)-square matrix whose
        block (i, j) is Cov(s_{t-i}, s_{t-j}) = A^{j-i} Sigma for j >= i."""
        _check_lag(lag)
        sigma, a = self.stationary_cov(), self.transition
        powers = [np.linalg.matrix_power(a, h) @ sigma for h in range(lag + 1)]  # Gamma(h)
        m = np.zeros((2 * (lag + 1), 2 * (lag + 1)))
        for i in range(lag + 1):
            for j in range(lag + 1):
                block = powers[j - i] if j >= i else powers[i - j].T
                m[2 * i:2 * i + 2, 2 * j:2 * j + 2] = block
        return m

    def conditional_variance(self, lag: int, target: str = "y", given: tuple[str, ...] = ("y", "x")) -> float:
        """Var(target_t | pasts of the streams in ``given``, ``lag`` steps each), a Schur complement."""
        _check_lag(lag)
        col = {"x": 0, "y": 1}
        if target not in col or any(g not in col for g in given):
            raise ValueError(f"streams are 'x' and 'y', got target={target!r}, given={given}")
        m = self.window_cov(lag)
        t = col[target]
        w = [2 * i + col[g] for g in given for i in range(1, lag + 1)]
        s_tw = m[t, w]
        return float(m[t, t] - s_tw @ np.linalg.solve(m[np.ix_(w, w)], s_tw))

    def transfer_entropy(self, lag: int = 1, source: str = "x") -> float:
        """TE^{(lag)} from ``source`` to the other stream, in nats (closed form, linear case only).

        ``source="x"`` gives TE_{X->Y} = I(Y_t; X^{(k)}_{t-1} | Y^{(k)}_{t-1}); ``source="y"`` the
        reverse TE_{Y->X}, zero when there is no feedback."""
        if source not in ("x", "y"):
            raise ValueError(f"source must be 'x' or 'y', got {source!r}")
        target = "y" if source == "x" else "x"
        restricted = self.conditional_variance(lag, target, (target,))
        full = self.conditional_variance(lag, target, (target, source))
        return 0.5 * math.log(restricted / full)

    def target_self_information(self, lag: int = 1) -> float:
        """I(Y_t; Y^{(lag)}_{t-1}) in nats: how much the target's own past tells (linear case)."""
        var_y = float(self.stationary_cov()[1, 1])
        return 0.5 * math.log(var_y / self.conditional_variance(lag, "y", ("y",)))

    def target_conditional_entropy(self, lag: int = 1) -> float:
        """h(Y_t | Y^{(lag)}_{t-1}) in nats, the best any target-only predictor can do (linear case)."""
        return 0.5 * math.log(2 * math.pi * math.e * self.conditional_variance(lag, "y", ("y",)))

    def sample(self, n_steps: int, seed: int = 0, burn_in: int = 500) -> tuple[np.ndarray, np.ndarray]:
        """One stationary path (x, y), each of shape (n_steps,), float64.

        The linear process starts from its stationary law N(0, Sigma), so no burn-in is needed; the
        nonlinear one runs ``burn_in`` steps from zero first."""
        if n_steps <= 0:
            raise ValueError(f"n_steps must be positive, got {n_steps}")
        rng = np.random.default_rng(seed)
        noise = rng.standard_normal((n_steps + burn_in, 2)) * np.array([self.noise_x, self.noise_y])
        if self.is_linear:
            state = np.linalg.cholesky(self.stationary_cov()) @ rng.standard_normal(2)
            burn_in = 0
        else:
            state = np.zeros(2)
        a = self.transition
        out = np.empty((n_steps + burn_in, 2))
        x, y = float(state[0]), float(state[1])
        for t in range(n_steps + burn_in):
            drive = x if self.is_linear else math.tanh(self.gain * x)
            x, y = a[0, 0] * x + a[0, 1] * y + noise[t, 0], a[1, 1] * y + self.coupling * drive + noise[t, 1]
            out[t, 0], out[t, 1] = x, y
        out = out[burn_in:]
        return out[:, 0].copy(), out[:, 1].copy()


@dataclass(frozen=True)
class TransferWindows:
    """Windows of a coupled stream, ready for :class:`~infobounds.data.BatchStream`.

    ``x_past`` and ``y_past`` are (N, lag) with columns (t-1, t-2, ..., t-lag), most recent first;
    ``y_next`` is (N, 1), the value at t. ``te`` is the analytic TE^{(lag)}_{X->Y} in nats (None for
    the nonlinear process)."""

    x_past: torch.Tensor
    y_past: torch.Tensor
    y_next: torch.Tensor
    lag: int
    process: CoupledAR
    te: float | None

    def __len__(self) -> int:
        return self.y_next.shape[0]

    @property
    def tensors(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(x_past, y_past, y_next), the batch layout the models of ``infobounds.models.teb`` expect."""
        return self.x_past, self.y_past, self.y_next

    def to(self, device: str | torch.device) -> "TransferWindows":
        return replace(self, x_past=self.x_past.to(device), y_past=self.y_past.to(device),
                       y_next=self.y_next.to(device))


def _check_lag(lag: int) -> None:
    if not isinstance(lag, (int, np.integer)) or lag < 1:
        raise ValueError(f"lag must be a positive integer, got {lag!r}")


def transfer_windows(process: CoupledAR, n: int, lag: int = 1, seed: int = 0,
                     device: str | torch.device | None = None) -> TransferWindows:
    """``n`` overlapping windows (past of X, past of Y, next Y) cut from one path of ``n + lag`` steps."""
    _check_lag(lag)
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    x, y = process.sample(n + lag, seed=seed)
    # Row i holds times t = i + lag; column j holds t - 1 - j.
    idx = np.arange(lag, n + lag)[:, None] - 1 - np.arange(lag)[None, :]  # (n, lag)
    to = lambda a: torch.from_numpy(np.ascontiguousarray(a)).float()  # noqa: E731
    windows = TransferWindows(x_past=to(x[idx]), y_past=to(y[idx]), y_next=to(y[lag:, None]), lag=lag,
                              process=process, te=process.transfer_entropy(lag) if process.is_linear else None)
    return windows.to(device) if device is not None else windows


SPLIT_SEEDS = {"train": 0, "test": 1}


def load_coupled_ar(split: str = "train", *, n: int = 20_000, lag: int = 1, seed: int = 0,
                    process: CoupledAR = CoupledAR(), device: str | torch.device | None = None) -> TransferWindows:
    """``load``-style entry: train and test are independent paths of the same process (for a given
    ``seed``), so a model is evaluated on a stretch of the stream it never saw."""
    if split not in SPLIT_SEEDS:
        raise ValueError(f"unknown split {split!r}: choose one of {', '.join(SPLIT_SEEDS)}")
    n = smoke_examples(n)  # a smoke run keeps at most SMOKE_EXAMPLES windows
    return transfer_windows(process, n, lag=lag, seed=2 * seed + SPLIT_SEEDS[split], device=device)
