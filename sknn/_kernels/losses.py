"""Losses: the weighted loss value and dL/dZ of the output layer, by int code.

Per-sample losses are summed over outputs (``loss_`` is their weighted mean over
samples).  For the canonical pairs -- squared error + identity, poisson + exp,
log-loss + softmax, binary log-loss + logistic -- dL/dZ is the fused
``yhat - y``, exactly as scikit-learn's backprop.  Every other (loss, output
activation) pair goes through the chain rule: dL/dyhat times f'(Z), the latter
from ``activations.activation_grad``.
"""

import math

import numpy as np

from .._numba import jit
from .activations import EXP, IDENTITY, LOGISTIC, SOFTMAX, activation_grad

SQUARED_ERROR = 0
POISSON = 1
LOG_LOSS = 2  # multiclass, softmax output
BINARY_LOG_LOSS = 3  # binary and multilabel, logistic outputs; soft targets in [0, 1] too
ABSOLUTE_ERROR = 4
HUBER = 5

LOSS_CODES = {
    "squared_error": SQUARED_ERROR,
    "poisson": POISSON,
    "log_loss": LOG_LOSS,
    "binary_log_loss": BINARY_LOG_LOSS,
    # Keras' name, for targets anywhere in [0, 1] (the autoencoder's pixels against
    # sigmoid outputs): -y log p - (1 - y) log(1 - p) and its gradient p - y hold
    # for any such y, so it is the same code.
    "binary_crossentropy": BINARY_LOG_LOSS,
    "absolute_error": ABSOLUTE_ERROR,
    "huber": HUBER,
}


@jit(nogil=True, static=("loss",))
def pointwise_loss(y, yhat, loss, huber_delta, eps):
    """Loss of one output value; log-losses clip probabilities to [eps, 1-eps]."""
    if loss == SQUARED_ERROR:
        r = yhat - y
        return 0.5 * r * r
    if loss == ABSOLUTE_ERROR:
        return abs(yhat - y)
    if loss == HUBER:
        r = abs(yhat - y)
        if r <= huber_delta:
            return 0.5 * r * r
        return huber_delta * (r - 0.5 * huber_delta)
    if loss == POISSON:
        # half poisson deviance, as scikit-learn: y log(y / yhat) - y + yhat
        v = yhat - y
        if y > 0:
            v += y * (math.log(y) - math.log(max(yhat, eps)))
        return v
    p = min(max(yhat, eps), 1.0 - eps)
    if loss == LOG_LOSS:
        return -y * math.log(p) if y != 0 else 0.0
    # binary log-loss
    v = 0.0
    if y != 0:
        v -= y * math.log(p)
    if y != 1:
        v -= (1.0 - y) * math.log(1.0 - p)
    return v


@jit(nogil=True, static=("loss",))
def pointwise_loss_grad(y, yhat, loss, huber_delta, eps):
    """dL/dyhat of one output value (used off the canonical pairs)."""
    r = yhat - y
    if loss == SQUARED_ERROR:
        return r
    if loss == ABSOLUTE_ERROR:
        if r > 0:
            return 1.0
        if r < 0:
            return -1.0
        return 0.0
    if loss == HUBER:
        return min(max(r, -huber_delta), huber_delta)
    if loss == POISSON:
        # the loss clamps yhat at eps; below it the loss is yhat + const
        return 1.0 - y / yhat if yhat > eps else 1.0
    p = min(max(yhat, eps), 1.0 - eps)
    if loss == LOG_LOSS:
        return -y / p
    return (p - y) / (p * (1.0 - p))


@jit(nogil=True, static=("loss",))
def loss_value(Y, Yhat, sw, loss, huber_delta):
    """Return sum_i sw[i] * sum_j loss(Y[i, j], Yhat[i, j]) (rows of ``Yhat``)."""
    n, m = Yhat.shape
    eps = np.finfo(Yhat.dtype).eps
    total = 0.0
    for i in range(n):
        row = 0.0
        for j in range(m):
            row += pointwise_loss(Y[i, j], Yhat[i, j], loss, huber_delta, eps)
        total += sw[i] * row
    return total


@jit(nogil=True, static=("loss", "out_code"))
def loss_and_output_delta(Y, Yhat, Zpre, sw, loss, out_code, huber_delta, delta, gb):
    """Fill ``delta`` with sw[i] * dL/dZ of the output layer; return the weighted loss.

    ``gb`` receives the output layer's bias gradient, the column sums of ``delta``
    (rows summed in order).  ``Y``, ``sw`` and ``delta`` have at least
    ``Yhat.shape[0]`` rows (the batch is a prefix of the workspaces).  ``Zpre``
    is the output pre-activation, only read for activations whose derivative
    needs it.  The canonical pairs compute loss, delta and bias gradient in one
    pass over the outputs.
    """
    n, m = Yhat.shape
    eps = np.finfo(Yhat.dtype).eps
    # The canonical pairs (fused gradient ``yhat - y``), spelled out as comparisons
    # of the static codes: numba then compiles only the path this pair takes.
    if ((loss == SQUARED_ERROR and out_code == IDENTITY)
            or (loss == POISSON and out_code == EXP)
            or (loss == LOG_LOSS and out_code == SOFTMAX)
            or (loss == BINARY_LOG_LOSS and out_code == LOGISTIC)):
        for j in range(m):
            gb[j] = 0
        total = 0.0
        for i in range(n):
            w = sw[i]
            row = 0.0
            for j in range(m):
                y = Y[i, j]
                p = Yhat[i, j]
                row += pointwise_loss(y, p, loss, huber_delta, eps)
                d = w * (p - y)
                delta[i, j] = d
                gb[j] += d
            total += w * row
        return total
    total = loss_value(Y, Yhat, sw, loss, huber_delta)
    for i in range(n):
        w = sw[i]
        for j in range(m):
            delta[i, j] = w * pointwise_loss_grad(Y[i, j], Yhat[i, j], loss, huber_delta, eps)
    activation_grad(Yhat, Zpre, delta[:n], out_code, gb, 0, m)
    return total
