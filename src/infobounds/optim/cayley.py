r"""Cayley Adam: Adam on the Stiefel manifold (chapter ``stiefel_rkm``).

Li, Li & Todorovic (2020), *Efficient Riemannian Optimization on the Stiefel Manifold via the
Cayley Transform*, ICLR.

A parameter :math:`X \in \mathbb R^{n \times p}` (:math:`n \ge p`) on the Stiefel manifold
:math:`\{X : X^\top X = I_p\}` is updated along a curve that never leaves it. With the Euclidean
gradient :math:`G` and Adam's first moment :math:`M \leftarrow \beta_1 M + (1 - \beta_1) G` and
(scalar) second moment :math:`v \leftarrow \beta_2 v + (1-\beta_2)\lVert G\rVert_F^2`, Algorithm 2 of
the paper forms the skew-symmetric matrix

.. math::

    \hat W = M X^\top - \tfrac12 X (X^\top M X^\top), \qquad W = \frac{\hat W - \hat W^\top}{r},
    \qquad r = (1 - \beta_1^k) \sqrt{\hat v + \epsilon},

projects the momentum onto the tangent space, :math:`M \leftarrow r\, W X`, and moves by the
*Cayley transform*

.. math:: X \leftarrow \Big(I + \frac\alpha2 W\Big)^{-1}\Big(I - \frac\alpha2 W\Big) X,
    \qquad \alpha = \min\Big(\mathrm{lr}, \frac{2q}{\lVert W\rVert_F + \epsilon}\Big),

which is orthogonal because :math:`W` is skew, so :math:`X^\top X = I` is kept exactly. The paper
approximates the inverse by two fixed-point iterations; here it is solved exactly with the
Woodbury identity, :math:`W = L R^\top` with :math:`L = [\hat G, X]`, :math:`R = [X, -\hat G]`,
:math:`\hat G = (M - \tfrac12 X X^\top M)/r` (Wen & Yin, 2013), at the same :math:`O(np^2)` cost:

.. math:: X \leftarrow X - \alpha L \Big(I_{2p} + \frac\alpha2 R^\top L\Big)^{-1} R^\top X .

The iterate is kept in float64 inside the optimiser's state (the parameter holds its rounding), so
round-off does not accumulate over many steps. Parameter groups with ``stiefel=False`` are updated
by plain Adam, so one optimiser serves a whole model (as the paper's code does).
"""

from __future__ import annotations

import math
from typing import Iterable

import torch

from infobounds.core import OptimizerConfig

CAYLEY_BETAS = (0.9, 0.99)  # CayleyAdam's default moment decay rates


class CayleyAdam(torch.optim.Optimizer):
    """Adam with a Cayley retraction for matrices with orthonormal columns.

    Parameters
    ----------
    params : parameters or parameter groups; a group with ``stiefel=True`` (the default) holds 2-d
        parameters (n, p), n >= p, with orthonormal columns; ``stiefel=False`` groups get Adam.
    lr : learning rate (the largest Cayley step alpha for Stiefel groups).
    betas, eps : Adam's moment decay rates and stabiliser.
    q : the step is at most 2 q / ||W||_F (the paper's q = 0.5).
    weight_decay : L2 penalty added to the gradient of ``stiefel=False`` groups only.
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, betas: tuple[float, float] = CAYLEY_BETAS,
                 eps: float = 1e-8, q: float = 0.5, weight_decay: float = 0.0, stiefel: bool = True):
        if lr <= 0:
            raise ValueError(f"lr must be positive, got {lr}")
        if not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ValueError(f"betas must lie in [0, 1), got {betas}")
        if q <= 0:
            raise ValueError(f"q must be positive, got {q}")
        defaults = dict(lr=lr, betas=betas, eps=eps, q=q, weight_decay=weight_decay, stiefel=stiefel)
        super().__init__(params, defaults)
        for group in self.param_groups:
            if group["stiefel"]:
                for p in group["params"]:
                    if p.ndim != 2 or p.shape[0] < p.shape[1]:
                        raise ValueError(f"a Stiefel parameter must be an (n, p) matrix with n >= p, "
                                         f"got shape {tuple(p.shape)}")

    @staticmethod
    def orthogonality_error(x: torch.Tensor) -> float:
        """max |X^T X - I|, how far ``x`` is from the Stiefel manifold."""
        x = x.detach().double()
        return float((x.T @ x - torch.eye(x.shape[1], dtype=x.dtype, device=x.device)).abs().max())

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            if group["stiefel"]:
                self._stiefel_step(group)
            else:
                self._adam_step(group)
        return loss

    def _adam_step(self, group: dict) -> None:
        beta1, beta2 = group["betas"]
        for p in group["params"]:
            if p.grad is None:
                continue
            grad = p.grad
            if group["weight_decay"]:
                grad = grad.add(p, alpha=group["weight_decay"])
            state = self.state[p]
            if not state:
                state["step"] = 0
                state["exp_avg"] = torch.zeros_like(p)
                state["exp_avg_sq"] = torch.zeros_like(p)
            state["step"] += 1
            k = state["step"]
            state["exp_avg"].mul_(beta1).add_(grad, alpha=1 - beta1)
            state["exp_avg_sq"].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            denom = (state["exp_avg_sq"] / (1 - beta2**k)).sqrt_().add_(group["eps"])
            p.addcdiv_(state["exp_avg"], denom, value=-group["lr"] / (1 - beta1**k))

    def _stiefel_step(self, group: dict) -> None:
        beta1, beta2 = group["betas"]
        eps, q, lr = group["eps"], group["q"], group["lr"]
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if not state or not torch.allclose(state["x"].to(p.dtype), p, atol=1e-6, rtol=0.0):
                # First step, or the parameter was set from outside (a checkpoint, a re-projection):
                # (re)start from it, projected onto the manifold by its polar factor.
                u, _, vh = torch.linalg.svd(p.detach().double(), full_matrices=False)
                state["x"] = u @ vh  # (n, p) float64, orthonormal columns
                state.setdefault("step", 0)
                state.setdefault("momentum", torch.zeros_like(state["x"]))
                state.setdefault("v", torch.zeros((), dtype=torch.float64, device=p.device))
            x = state["x"]
            g = p.grad.double()  # (n, p) Euclidean gradient
            state["step"] += 1
            k = state["step"]
            m = state["momentum"].mul_(beta1).add_(g, alpha=1 - beta1)  # M
            state["v"].mul_(beta2).add_((g * g).sum(), alpha=1 - beta2)  # v (a scalar)
            v_hat = state["v"] / (1 - beta2**k)
            r = (1 - beta1**k) * torch.sqrt(v_hat + eps)
            g_hat = (m - 0.5 * x @ (x.T @ m)) / r  # (n, p): W = g_hat X^T - X g_hat^T
            left = torch.cat([g_hat, x], dim=1)  # L (n, 2p)
            right = torch.cat([x, -g_hat], dim=1)  # R (n, 2p)
            # ||W||_F^2 = 2 ||g_hat||^2 ||X||^2-type terms; compute it exactly from the small Gram matrices.
            w_norm = math.sqrt(max(0.0, float(2 * ((g_hat.T @ g_hat) * (x.T @ x)).sum()
                                              - 2 * ((x.T @ g_hat) * (g_hat.T @ x)).sum())))
            alpha = min(lr, 2 * q / (w_norm + eps))
            # The momentum, projected onto the tangent space at X: M <- r W X.
            state["momentum"] = r * (g_hat @ (x.T @ x) - x @ (g_hat.T @ x))
            small = torch.eye(left.shape[1], dtype=x.dtype, device=x.device) + 0.5 * alpha * (right.T @ left)
            x_new = x - alpha * left @ torch.linalg.solve(small, right.T @ x)  # the Cayley transform
            state["x"] = x_new
            p.copy_(x_new.to(p.dtype))


def cayley_adam(params: Iterable, optim: OptimizerConfig) -> CayleyAdam:
    """A :class:`CayleyAdam` with ``optim``'s rate, betas and weight decay: the optimiser factory of a
    :class:`~infobounds.core.Player` (the training loop applies ``optim``'s rate decay)."""
    return CayleyAdam(params, lr=optim.lr, betas=optim.betas, weight_decay=optim.weight_decay)
