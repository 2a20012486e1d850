"""Optimisers beyond torch's: :class:`CayleyAdam` keeps a matrix on the Stiefel manifold
(chapter ``stiefel_rkm``)."""

from infobounds.optim.cayley import CAYLEY_BETAS, CayleyAdam, cayley_adam

__all__ = ["CAYLEY_BETAS", "CayleyAdam", "cayley_adam"]
