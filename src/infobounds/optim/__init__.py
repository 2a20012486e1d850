"""Optimisers beyond torch's: :class:`CayleyAdam` keeps a matrix on the Stiefel manifold
(chapter ``stiefel_rkm``)."""

from infobounds.optim.cayley import CayleyAdam

__all__ = ["CayleyAdam"]
