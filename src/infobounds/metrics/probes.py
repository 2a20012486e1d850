r"""Linear probes: how linearly decodable a label is from a frozen representation (chapter ``deep_infomax``).

A multinomial logistic regression (scikit-learn's ``LogisticRegression``) is fitted on the
standardised features of a training set and scored on a test set. The representation is frozen; a
higher accuracy means the label is closer to a linear function of it. This is the evaluation of
Hjelm et al. (2019) for Deep InfoMax ("linear" / logistic classifier on the encoder's features).

The fit runs with one BLAS thread: beside torch's OpenMP threads on a shared two-core machine,
OpenBLAS with two threads was measured 40 times slower (25 s instead of 0.6 s of CPU for one probe).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch


def _numpy(a) -> np.ndarray:
    return a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)


def linear_probe(features_train, y_train, features_test, y_test, *, C: float = 1.0, max_iter: int = 200,
                 seed: int = 0, blas_threads: int = 1) -> float:
    """Test accuracy of a logistic regression trained on frozen features.

    Parameters
    ----------
    features_train, features_test : (n, d) representations.
    y_train, y_test : (n,) integer labels.
    C : inverse L2 regularisation strength of the logistic regression.
    max_iter : iterations of L-BFGS (a probe that has not fully converged is reported as is; the
        convergence warning is silenced).
    blas_threads : BLAS threads for the fit (see the module docstring).
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    f_tr, f_te = _numpy(features_train).reshape(len(y_train), -1), _numpy(features_test).reshape(len(y_test), -1)
    y_tr, y_te = _numpy(y_train), _numpy(y_test)
    if f_tr.shape[1] != f_te.shape[1]:
        raise ValueError(f"train and test features differ in dimension: {f_tr.shape[1]} vs {f_te.shape[1]}")
    probe = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter, random_state=seed))
    with warnings.catch_warnings(), threadpool_limits(limits=blas_threads):
        warnings.simplefilter("ignore", ConvergenceWarning)
        probe.fit(f_tr, y_tr)
        return float((probe.predict(f_te) == y_te).mean())
