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

Dropout (inverted): kept units are scaled by ``1 / (1 - rate)``.  Masks are a
hash of the row's content (``row_keys``, computed once per fit), a seed the
caller draws per epoch from the estimator's ``random_state``, the layer and the
unit (``dropout_forward``): the same seed gives the same masks in any process,
on any number of threads, with or without NUMBA_DISABLE_JIT, and integer sample
weights stay equivalent to repeated rows.
"""

import math

import numpy as np

from .._numba import jit, jitable
from .records import LayerBuffers, Layers


@jitable
def no_layers(dtype):
    """The ``Layers`` record with every stage off (prediction, plain networks)."""
    return Layers(np.empty(0), -1, 0.0, 0.0, np.empty(0, dtype=dtype),
                  np.empty((0, 4), dtype=np.int64), 0.0, np.empty(0, dtype=np.int64), 0)


@jitable
def no_layer_buffers(dtype):
    """The ``LayerBuffers`` record of a network whose stages are all off."""
    none = np.empty(0, dtype=dtype)
    return LayerBuffers(none, np.empty(0), none, none, none, none, none)


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


_M32 = 0xFFFFFFFF
_MIX = 0x45D9F3B  # < 2**27: every product below stays under 2**63 (int64, no overflow)
_GOLDEN = 0x9E3779B1


@jit(nogil=True)
def mix32(x):
    """A 32-bit integer hash of ``0 <= x < 2**32`` (the same in numba and Python)."""
    x = (((x >> 16) ^ x) * _MIX) & _M32
    x = (((x >> 16) ^ x) * _MIX) & _M32
    return (x >> 16) ^ x


@jit(nogil=True)
def value_key(v):
    """A 32-bit key of a float value (from its mantissa and exponent)."""
    m, e = math.frexp(v)
    return mix32((np.int64(m * 2147483648.0) & _M32) ^ mix32(np.int64(e) & 0xFFFF))


@jit(nogil=True)
def row_keys(block, out):
    """``out[i]``: a 32-bit key of row i's non-zero values and their columns.

    Dense and CSR storage of the same rows give the same keys; equal rows give
    equal keys, so they get equal dropout masks (``dropout_forward``).
    """
    dense, data, indices, indptr = block
    if indptr.shape[0] > 0:
        for i in range(indptr.shape[0] - 1):
            h = 0
            for k in range(indptr[i], indptr[i + 1]):
                if data[k] != 0:
                    h = (h + mix32(mix32(np.int64(indices[k])) ^ value_key(data[k]))) & _M32
            out[i] = h
    else:
        n, p = dense.shape
        for i in range(n):
            h = 0
            for j in range(p):
                if dense[i, j] != 0:
                    h = (h + mix32(mix32(np.int64(j)) ^ value_key(dense[i, j]))) & _M32
            out[i] = h


@jit(nogil=True)
def dropout_forward(A, rate, mask, out, keys, rows, seed, layer):
    """Inverted dropout: ``out = A * mask``, ``mask`` 0 with probability ``rate``.

    Kept entries of ``mask`` are ``1 / (1 - rate)``.  The draw for unit ``j`` of
    batch row ``i`` is a hash of (``keys[rows[i]]``, ``seed``, ``layer``, ``j``):
    a mask depends on the row's content, the epoch's seed and the unit, never on
    the batch's order, composition or thread, so a row of integer weight k
    trains exactly as k copies of it (scikit-learn's sample-weight meaning) and
    NUMBA_DISABLE_JIT gives the same masks.
    """
    n, m = A.shape
    dt = A.dtype.type
    scale = dt(1.0 / (1.0 - rate))
    zero = dt(0)
    threshold = rate * 4294967296.0
    base = mix32((np.int64(seed) + mix32(np.int64(layer))) & _M32)
    for i in range(n):
        r = mix32(keys[rows[i]] ^ base)
        for j in range(m):
            k = scale if mix32((r + j * _GOLDEN) & _M32) >= threshold else zero
            mask[i, j] = k
            out[i, j] = A[i, j] * k


@jit(nogil=True)
def dropout_backward(D, mask):
    """dL/dA = dL/d(dropped A) * mask, in place."""
    n, m = D.shape
    for i in range(n):
        for j in range(m):
            D[i, j] *= mask[i, j]
