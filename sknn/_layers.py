"""Dropout, batch normalization and the auxiliary output: the estimators' options.

``layer_options`` is the one place these parameters are checked against the
network they apply to and turned into what the kernels take (a float array of
per-hidden-layer dropout rates, empty when dropout is off; floats for the
batch-normalization momentum and epsilon and the auxiliary loss weight).  The
scalar ranges are also in ``BaseMLP._parameter_constraints``; the checks here
are those that need the network (rates per hidden layer, the solver, wide
features) and run before a fit changes anything.
"""

from numbers import Real

import numpy as np

from ._compat import Interval

#: Constraints for ``BaseMLP._parameter_constraints`` (scikit-learn's validation).
LAYER_PARAMETER_CONSTRAINTS = {
    "dropout": [Interval(Real, 0, 1, closed="left"), "array-like"],
    "batch_normalization": ["boolean"],
    "batch_norm_momentum": [Interval(Real, 0, 1, closed="both")],
    "batch_norm_epsilon": [Interval(Real, 0, None, closed="neither")],
    "auxiliary_loss_weight": [Interval(Real, 0, 1, closed="left")],
}


class LayerOptions:
    """The resolved options of one fit (plain values, nothing estimator-bound)."""

    def __init__(self, dropout, batch_norm, momentum, epsilon, aux_weight):
        self.dropout = dropout  # float64 (n_hidden,) rates, or empty: no dropout
        self.batch_norm = batch_norm
        self.momentum = momentum
        self.epsilon = epsilon
        self.aux_weight = aux_weight

    @property
    def has_dropout(self):
        return self.dropout.size > 0


def dropout_rates(dropout, n_hidden):
    """Per-hidden-layer rates as a float64 array; empty when every rate is 0."""
    if isinstance(dropout, Real) and not isinstance(dropout, bool):
        rates = np.full(n_hidden, float(dropout))
    else:
        try:
            rates = np.asarray(dropout, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"dropout must be a float in [0, 1) or a sequence of them, got {dropout!r}."
            ) from exc
        if rates.shape != (n_hidden,):
            raise ValueError(
                f"dropout as a sequence needs one rate per hidden layer ({n_hidden}), "
                f"got {dropout!r}."
            )
    if not np.all((rates >= 0) & (rates < 1)):
        raise ValueError(f"dropout rates must lie in [0, 1), got {dropout!r}.")
    return rates if np.any(rates > 0) else np.empty(0)


def layer_options(est, n_hidden):
    """Check the layer parameters of ``est`` for a network with ``n_hidden`` hidden layers."""
    rates = dropout_rates(est.dropout, n_hidden)
    if rates.size and est.solver == "lbfgs":
        raise ValueError(
            "dropout needs a stochastic solver ('adam' or 'sgd'): a random mask per "
            "evaluation makes the objective solver='lbfgs' line-searches on noisy. Set "
            "dropout=0.0 or choose another solver."
        )
    aux = float(est.auxiliary_loss_weight)
    if not 0 <= aux < 1:
        raise ValueError(f"auxiliary_loss_weight must lie in [0, 1), got {aux!r}.")
    if aux > 0 and est.wide_features is None:
        raise ValueError(
            "auxiliary_loss_weight > 0 adds an output on the deep path of a wide & deep "
            "network; set wide_features as well (or auxiliary_loss_weight=0.0)."
        )
    momentum = float(est.batch_norm_momentum)
    if not 0 <= momentum <= 1:
        raise ValueError(f"batch_norm_momentum must lie in [0, 1], got {momentum!r}.")
    epsilon = float(est.batch_norm_epsilon)
    if not epsilon > 0:
        raise ValueError(f"batch_norm_epsilon must be > 0, got {epsilon!r}.")
    return LayerOptions(rates, bool(est.batch_normalization), momentum, epsilon, aux)
