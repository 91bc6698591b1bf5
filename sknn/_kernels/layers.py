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
weights stay equivalent to repeated rows.  The backward pass draws the mask
again instead of storing it.
"""

import math

import numpy as np

from .._numba import Code, jit, jitable
from .records import LayerBuffers, make_layers

#: ``Layers.stages`` with every stage off, compiled out.
NO_STAGES = Code(0)


@jitable
def no_layers(dtype):
    """The ``Layers`` record with every stage off (prediction, plain networks)."""
    return make_layers(np.empty(0), -1, 0.0, 0.0, np.empty(0, dtype=dtype),
                       np.empty((0, 4), dtype=np.int64), 0.0, np.empty(0, dtype=np.int64), 0,
                       NO_STAGES)


@jitable
def no_layer_buffers(dtype):
    """The ``LayerBuffers`` record of a network whose stages are all off."""
    none = np.empty(0, dtype=dtype)
    return LayerBuffers(none, np.empty(0), none, none, none, none)


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
def column_multiplier(j):
    """Row keys' odd multiplier of column ``j``, below ``2**31`` (products fit int64)."""
    return (mix32(np.int64(j) & _M32) >> 1) | 1


@jit(nogil=True)
def value_bits(bits, wide):
    """32 bits of a float's bit pattern: its int32 view, or an int64 view's halves xored."""
    u = np.int64(bits)
    return ((u ^ (u >> 32)) if wide else u) & _M32


@jit(nogil=True)
def _dense_row_keys(values, bits, out):
    n, p = values.shape
    wide = values.itemsize == 8
    mult = np.empty(p, dtype=np.int64)
    for j in range(p):
        mult[j] = column_multiplier(j)
    zero = values.dtype.type(0)
    for i in range(n):
        h = 0
        for j in range(p):
            # -0.0 counts as 0: the same value, and CSR stores neither
            term = (value_bits(bits[i, j], wide) * mult[j]) & _M32
            h += 0 if values[i, j] == zero else term
        out[i] = mix32(h & _M32)


@jit(nogil=True)
def _csr_row_keys(data, bits, indices, indptr, out):
    zero = data.dtype.type(0)
    wide = data.itemsize == 8
    for i in range(indptr.shape[0] - 1):
        h = 0
        for k in range(indptr[i], indptr[i + 1]):
            if data[k] != zero:
                h += (value_bits(bits[k], wide) * column_multiplier(indices[k])) & _M32
        out[i] = mix32(h & _M32)


def row_keys(block, out):
    """``out[i]``: a 32-bit key of row i's non-zero values and their columns.

    ``mix32`` of ``sum_j bits(x_ij) * c_j mod 2**32`` over the non-zero entries,
    with ``bits`` the value's bit pattern folded to 32 bits (``value_bits``) and
    ``c_j`` an odd multiplier per column (``column_multiplier``): one integer
    multiply-add per entry, which vectorises, so keying every row costs about one
    read of X.  Dense and CSR storage of the same rows give the same keys; equal
    rows give equal keys, so they get equal dropout masks (``dropout_forward``);
    rows differing in one entry collide only where the two values' 32 folded bits
    agree.  A float32 and a float64 copy of X give different keys.

    Called from Python: the storage kind selects the kernel (a dense block's CSR
    parts are None, ``network.is_sparse``).
    """
    dense, data, indices, indptr = block
    if indptr is not None:
        if data.itemsize == 8:
            _csr_row_keys(data, data.view(np.int64), indices, indptr, out)
        else:
            _csr_row_keys(data, data.view(np.int32), indices, indptr, out)
    elif dense.itemsize == 8:
        _dense_row_keys(dense, dense.view(np.int64), out)
    else:
        _dense_row_keys(dense, dense.view(np.int32), out)


@jit(nogil=True)
def _mask_base(seed, layer):
    return mix32((np.int64(seed) + mix32(np.int64(layer))) & _M32)


@jit(nogil=True)
def _keep_threshold(rate):
    """Draws ``u`` (32-bit ints) keep their unit where ``u >= rate * 2**32``."""
    return np.int64(math.ceil(rate * 4294967296.0))


@jit(nogil=True)
def dropout_forward(A, rate, out, keys, rows, seed, layer):
    """Inverted dropout: ``out = A * mask``, ``mask`` 0 with probability ``rate``.

    Kept entries of ``mask`` are ``1 / (1 - rate)``.  The draw for unit ``j`` of
    batch row ``i`` is a hash of (``keys[rows[i]]``, ``seed``, ``layer``, ``j``):
    a mask depends on the row's content, the epoch's seed and the unit, never on
    the batch's order, composition or thread, so a row of integer weight k
    trains exactly as k copies of it (scikit-learn's sample-weight meaning) and
    NUMBA_DISABLE_JIT gives the same masks.  The mask is never stored:
    ``dropout_backward`` draws it again (a few integer operations per unit,
    vectorised, cost less than writing and re-reading a mask buffer).
    """
    n, m = A.shape
    dt = A.dtype.type
    scale = dt(1.0 / (1.0 - rate))
    zero = dt(0)
    threshold = _keep_threshold(rate)
    base = _mask_base(seed, layer)
    for i in range(n):
        r = mix32(keys[rows[i]] ^ base)
        for j in range(m):
            k = scale if mix32((r + j * _GOLDEN) & _M32) >= threshold else zero
            out[i, j] = A[i, j] * k


@jit(nogil=True)
def dropout_backward(D, rate, keys, rows, seed, layer):
    """dL/dA = dL/d(dropped A) * mask, in place: the mask ``dropout_forward`` drew."""
    n, m = D.shape
    dt = D.dtype.type
    scale = dt(1.0 / (1.0 - rate))
    zero = dt(0)
    threshold = _keep_threshold(rate)
    base = _mask_base(seed, layer)
    for i in range(n):
        r = mix32(keys[rows[i]] ^ base)
        for j in range(m):
            D[i, j] *= scale if mix32((r + j * _GOLDEN) & _M32) >= threshold else zero
