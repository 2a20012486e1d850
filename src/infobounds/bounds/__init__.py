"""Closed forms and variational bounds of information quantities, in nats.

One estimator API: critic scores in, nats out (:func:`mi_lower_bound`). The function that trains a
critic on samples and returns an estimate is :func:`infobounds.estimators.estimate_mi`: it needs the
training loop, a layer above this one.
"""

from infobounds.bounds.gaussian import (
    gaussian_channel_mutual_information,
    gaussian_entropy,
    gaussian_mutual_information,
    kl_diagonal_gaussians,
    log_normal_density,
    rho_for_mutual_information,
)
from infobounds.bounds.mi import (
    CRITICS,
    ESTIMATORS,
    CriticMI,
    dv_lower_bound,
    evaluate_bound,
    infonce_lower_bound,
    js_lower_bound,
    js_objective,
    mi_lower_bound,
    nwj_lower_bound,
)

__all__ = [
    "CRITICS",
    "ESTIMATORS",
    "CriticMI",
    "dv_lower_bound",
    "evaluate_bound",
    "gaussian_channel_mutual_information",
    "gaussian_entropy",
    "gaussian_mutual_information",
    "infonce_lower_bound",
    "js_lower_bound",
    "js_objective",
    "kl_diagonal_gaussians",
    "log_normal_density",
    "mi_lower_bound",
    "nwj_lower_bound",
    "rho_for_mutual_information",
]
