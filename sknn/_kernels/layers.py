"""Per-layer stages of the training pass: batch normalization and dropout.

``forward_pass`` / ``backward_pass`` (network.py) call these on a hidden layer's
``nb x m`` block when that layer's options say so; nothing here knows about the
rest of the network.

Batch normalization (Ioffe & Szegedy 2015) of a Dense layer without bias:
``y = gamma * xhat + beta`` with ``xhat = (z - mean) / sqrt(var + eps)``, where
``mean`` and ``var`` are the batch's *sample-weighted* statistics
(``sum_i w_i z_i / sum_i w_i``, and the biased variance as Keras and the paper
normalise with), so a zero-weight row moves neither the statistics nor any
gradient.  ``beta`` is stored in the layer's intercept slot of ``theta`` and
added by ``activations.bias_activate`` with the activation, so its gradient is
the column sum ``activations.activation_grad`` already returns; this module
only scales by ``gamma`` and handles the normalization.  Prediction folds the
moving statistics into ``W`` and ``beta`` (``sknn._layout.fold_batch_norm``): no
stage runs there.

Dropout (inverted): kept units are scaled by ``1 / (1 - rate)``; masks are drawn
from numba's Mersenne Twister, seeded per epoch by the caller from the
estimator's ``random_state`` (``seed_generator``), so the same seed gives the same
masks in any process and, under ``NUMBA_DISABLE_JIT``, NumPy's identical stream.
"""

import math

import numpy as np

from .._numba import jit


@jit(nogil=True)
def batch_norm_train(Z, sw, gamma, eps, xhat, mean, var, rstd):
    """Normalise ``Z`` (nb x m) in place with the weighted batch statistics, times gamma.

    ``sw`` holds at least ``nb`` weights with a positive sum.  ``mean``, ``var``
    and ``rstd`` (float64, length m) receive the batch statistics and
    ``1 / sqrt(var + eps)``, ``xhat`` (nb x m) the normalised values the backward
    pass needs; ``Z`` becomes
    ``gamma * xhat`` (beta is added with the activation).  Statistics are
    accumulated in float64 with two passes (mean, then centred squares), which
    stays accurate for float32 activations with a large mean.
    """
    n, m = Z.shape
    dt = Z.dtype.type
    s = 0.0
    for i in range(n):
        s += sw[i]
    for j in range(m):
        mean[j] = 0.0
        var[j] = 0.0
    for i in range(n):
        w = sw[i]
        for j in range(m):
            mean[j] += w * Z[i, j]
    for j in range(m):
        mean[j] /= s
    for i in range(n):
        w = sw[i]
        for j in range(m):
            d = Z[i, j] - mean[j]
            var[j] += w * d * d
    for j in range(m):
        var[j] /= s
        rstd[j] = 1.0 / math.sqrt(var[j] + eps)
    for i in range(n):
        for j in range(m):
            x = dt((Z[i, j] - mean[j]) * rstd[j])
            xhat[i, j] = x
            Z[i, j] = gamma[j] * x


@jit(nogil=True)
def batch_norm_backward(D, xhat, sw, gamma, rstd, gbeta, ggamma):
    """Turn ``D = dL/dy`` into ``dL/dz`` in place; write gamma's gradient.

    ``y = gamma * xhat + beta`` of ``batch_norm_train``; ``gbeta`` is beta's
    gradient ``sum_i D_i`` (``activation_grad`` computed it).  With weights
    ``w``, ``S = sum w`` and ``r = rstd = 1 / sqrt(var + eps)``::

        ggamma   = sum_i D_i * xhat_i
        dL/dz_k  = r * gamma * (D_k - (w_k / S) * (gbeta + xhat_k * ggamma))

    (the mean's and variance's dependence on every row of the batch).  A row with
    ``w_k = 0`` and ``D_k = 0`` stays zero.
    """
    n, m = D.shape
    dt = D.dtype.type
    s = 0.0
    for i in range(n):
        s += sw[i]
    for j in range(m):
        ggamma[j] = 0
    for i in range(n):
        for j in range(m):
            ggamma[j] += D[i, j] * xhat[i, j]
    for i in range(n):
        ws = sw[i] / s
        for j in range(m):
            rg = gamma[j] * rstd[j]
            D[i, j] = dt(rg * (D[i, j] - ws * (gbeta[j] + xhat[i, j] * ggamma[j])))


@jit(nogil=True)
def batch_norm_moving_update(moving_mean, moving_var, mean, var, momentum):
    """moving = momentum * moving + (1 - momentum) * batch (Keras' rule), in place."""
    c = 1.0 - momentum
    for j in range(moving_mean.shape[0]):
        moving_mean[j] = momentum * moving_mean[j] + c * mean[j]
        moving_var[j] = momentum * moving_var[j] + c * var[j]


@jit(nogil=True)
def seed_generator(seed):
    """Seed numba's per-thread generator (NumPy's global one under NUMBA_DISABLE_JIT)."""
    np.random.seed(seed)


@jit(nogil=True)
def dropout_forward(A, rate, mask, out):
    """Inverted dropout: ``out = A * mask``, ``mask`` 0 with probability ``rate``.

    Kept entries of ``mask`` are ``1 / (1 - rate)``; one uniform draw per
    element, in row-major order, from the generator ``seed_generator`` seeded.
    """
    n, m = A.shape
    dt = A.dtype.type
    scale = dt(1.0 / (1.0 - rate))
    zero = dt(0)
    for i in range(n):
        for j in range(m):
            k = scale if np.random.random() >= rate else zero
            mask[i, j] = k
            out[i, j] = A[i, j] * k


@jit(nogil=True)
def dropout_backward(D, mask):
    """dL/dA = dL/d(dropped A) * mask, in place."""
    n, m = D.shape
    for i in range(n):
        for j in range(m):
            D[i, j] *= mask[i, j]
