"""The model contract, re-exported from :mod:`infobounds.core` where it now lives.

``LossTerms``, ``OptimizerConfig``, ``Player``, ``Update``, ``Trainable`` and the batch helpers are defined in
:mod:`infobounds.core`, a module that imports only torch, so that the training loop and the
estimators in :mod:`infobounds.bounds` and :mod:`infobounds.metrics` depend on the contract
without depending on :mod:`infobounds.models`. Models may keep importing them from here.
"""

from infobounds.core import (LossTerms, OptimizerConfig, Player, Trainable, Update, check_batch, first_tensor,
                             flatten_batch, parameters_of)

__all__ = ["LossTerms", "OptimizerConfig", "Player", "Trainable", "Update", "check_batch", "first_tensor", "flatten_batch",
           "parameters_of"]
