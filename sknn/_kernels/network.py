"""Forward and backward passes over the flat parameter buffer.

Parameter layout (sknn/_layout.py builds it; scikit-learn's ``_pack`` order):
``theta = [W_0, ..., W_{L-1}, b_0, ..., b_{L-1}]``, each ``W_l`` a C-ordered
``fan_in x fan_out`` block.  ``layout[l] = (fan_in, fan_out, w_off, b_off)``.
In a wide & deep network the output layer's ``W`` starts with ``n_wide`` rows for
the wide input columns, followed by the rows for the last hidden layer.

Workspaces (activations, deltas, pre-activations) are 1-D buffers with room for
``cap`` rows per layer; layer ``l`` of a batch of ``nb`` rows is the C-contiguous
block ``buf[cap * sum(fan_out[:l]):][:nb * fan_out[l]]``.

An input block is a tuple ``(dense, data, indices, indptr)``: a CSR matrix
(``dense`` an empty 2-D array), or the dense 2-D array (gathered batch rows) with
``None`` CSR parts, so that kernels are compiled for one kind (``is_sparse``).

Per-layer stages (layers.py: batch normalization, dropout, the auxiliary
output) are driven by ``net.layers`` and use the buffers ``lws``: the records
``Layers`` and ``LayerBuffers`` of records.py, whose unused parts are empty
arrays, so one compiled kernel serves every option combination.
"""

import numpy as np
from numba import types
from numba.extending import overload

from .._numba import jit, type_fact
from .activations import activation_grad, bias_activate
from .layers import (
    batch_norm_backward,
    batch_norm_moving_update,
    batch_norm_train,
    dropout_backward,
    dropout_forward,
)
from .records import AUX_OUTPUT, BATCH_NORM, DROPOUT
from .sparse import csr_rows_dot, csr_rows_t_dot


@jit(nogil=True)
def coef_view(theta, layout, l, row_start, row_stop):
    """Rows ``row_start:row_stop`` of ``W_l`` as a C-contiguous 2-D view."""
    fo = layout[l, 1]
    off = layout[l, 2]
    return theta[off + row_start * fo: off + row_stop * fo].reshape((row_stop - row_start, fo))


@jit(nogil=True)
def intercept_view(theta, layout, l):
    return theta[layout[l, 3]: layout[l, 3] + layout[l, 1]]


@jit(nogil=True)
def unit_offsets(layout, cap):
    """Start of each layer's block in a per-layer workspace with ``cap`` rows per layer.

    Computed once per epoch (or predict call) and passed down, so the batch loop
    does not re-add the layer widths for every view it takes.
    """
    L = layout.shape[0]
    offs = np.empty(L, dtype=np.int64)
    off = 0
    for l in range(L):
        offs[l] = off
        off += cap * layout[l, 1]
    return offs


@jit(nogil=True)
def unit_view(buf, offs, layout, l, nb):
    """Layer ``l``'s ``nb x fan_out`` block of a per-layer workspace."""
    if buf.shape[0] == 0:  # workspace not needed (e.g. no GELU pre-activations)
        return buf.reshape((0, 0))
    return buf[offs[l]: offs[l] + nb * layout[l, 1]].reshape((nb, layout[l, 1]))


def hidden_activation(net, l):
    """Activation code of hidden layer ``l``: its own entry of ``net.layer_codes``
    (the autoencoder's code layer differs from the others), else ``hidden_code``."""
    return net.layer_codes[l] if net.layer_codes.shape[0] > 0 else net.hidden_code


@overload(hidden_activation, prefer_literal=True)
def _hidden_activation(net, l):
    # A Code hidden_code (every hidden layer alike, sknn/_contract.py) is returned as
    # the compile-time constant it is typed as, so that only its branch compiles;
    # per-layer codes are runtime values and take the generic kernels.
    if isinstance(net.types[net.fields.index("hidden_code")], types.IntegerLiteral):
        return lambda net, l: net.hidden_code
    return hidden_activation


def _sparse_type(block):
    """``is_sparse`` of a block's numba type."""
    return not isinstance(block.types[3], types.NoneType)


@type_fact(_sparse_type)
def is_sparse(block):
    """Whether an input block is a CSR matrix (the one definition of that test).

    A dense block's CSR parts are ``None``, so in jitted code this is a fact of
    the block's *type* (``type_fact``): a kernel is compiled for dense or for CSR
    input, and a dense fit compiles none of the CSR code.
    """
    return block[3] is not None


def dense_width(block):
    """Columns of a dense block's gathered rows; 0 for a CSR block (no gather buffer)."""
    return 0 if is_sparse(block) else block[0].shape[1]


@overload(dense_width)
def _dense_width(block):
    if _sparse_type(block):
        return lambda block: 0
    return lambda block: block[0].shape[1]


@jit(nogil=True)
def gather_rows(X, rows, out):
    """out[i] = X[rows[i]]: a batch of shuffled rows, without allocating."""
    m = X.shape[1]
    for i in range(rows.shape[0]):
        r = rows[i]
        for j in range(m):
            out[i, j] = X[r, j]


@jit(nogil=True)
def input_dot(block, rows, W, out):
    """out = block[rows] @ W (dense: block[0] already holds the gathered rows)."""
    if is_sparse(block):
        csr_rows_dot(block[1], block[2], block[3], rows, W, out)
    else:
        np.dot(block[0], W, out)


@jit(nogil=True)
def input_t_dot(block, rows, delta, out):
    """out = block[rows].T @ delta."""
    if is_sparse(block):
        csr_rows_t_dot(block[1], block[2], block[3], rows, delta, out)
    else:
        np.dot(block[0].T, delta, out)


@jit(nogil=True)
def hidden_unit_offset(layout, l):
    """Index of hidden layer ``l``'s first unit among all hidden units."""
    u = 0
    for k in range(l):
        u += layout[k, 1]
    return u


@jit(nogil=True)
def aux_view(buf, nb, m):
    """The ``nb x m`` prefix of an auxiliary-output buffer."""
    return buf[: nb * m].reshape((nb, m))


@jit(nogil=True)
def layer_input(acts, dropped, offs, layout, l, nb, dropout):
    """What layer ``l + 1`` reads from hidden layer ``l``: its (dropped-out) activations."""
    if dropout.shape[0] > 0 and dropout[l] > 0:
        return unit_view(dropped, offs, layout, l, nb)
    return unit_view(acts, offs, layout, l, nb)


@jit(nogil=True)
def forward_pass(theta, net, deep, wide, rows, acts, zpre, offs, wide_tmp, sw, lws):
    """Compute every layer's activations for the batch ``rows`` (nb rows).

    ``net`` is the ``Network`` record (records.py).  ``deep``/``wide`` are input
    blocks holding the batch (dense blocks are the gathered rows).  ``offs`` are
    the workspaces' layer offsets (``unit_offsets``).  ``wide_tmp`` is an
    ``nb x n_outputs`` scratch for the wide product (unused when ``n_wide == 0``).
    ``sw`` are the batch's sample weights (batch normalization's statistics);
    ``net.layers`` the layer stages and ``lws`` their buffers (``Layers`` and
    ``LayerBuffers`` in records.py).  A hidden layer is ``Z = A W`` -> batch
    normalization (``gamma * xhat``) -> bias (beta) and activation -> dropout.
    Returns the output activations; the auxiliary output goes to ``lws.aux_acts``.
    """
    layout, n_wide, out_code = net.layout, net.n_wide, net.out_code
    dropout, gamma_off, bn_eps, momentum, moving, aux, _, keys, seed, stages = net.layers
    xhat, stats, dropped, aux_acts, _, _ = lws
    nb = rows.shape[0]
    L = layout.shape[0]
    n_bn = stats.shape[0] // 3
    n_mov = moving.shape[0] // 2
    for l in range(L):
        Z = unit_view(acts, offs, layout, l, nb)
        W = coef_view(theta, layout, l, n_wide if l == L - 1 else 0, layout[l, 0])
        if l == 0:
            input_dot(deep, rows, W, Z)
        else:
            np.dot(layer_input(acts, dropped, offs, layout, l - 1, nb, dropout), W, Z)
        if n_wide > 0 and l == L - 1:
            input_dot(wide, rows, coef_view(theta, layout, l, 0, n_wide), wide_tmp)
            Z += wide_tmp
        if stages & BATCH_NORM and l < L - 1:
            u, fo = hidden_unit_offset(layout, l), layout[l, 1]
            mean = stats[u: u + fo]
            var = stats[n_bn + u: n_bn + u + fo]
            batch_norm_train(Z, sw, theta[gamma_off + u: gamma_off + u + fo], bn_eps,
                             unit_view(xhat, offs, layout, l, nb), mean, var,
                             stats[2 * n_bn + u: 2 * n_bn + u + fo])
            if n_mov > 0:
                batch_norm_moving_update(moving[u: u + fo], moving[n_mov + u: n_mov + u + fo],
                                         mean, var, momentum)
        # two calls, not one with a conditional code: each keeps its code a constant
        if l == L - 1:
            bias_activate(Z, intercept_view(theta, layout, l), out_code,
                          unit_view(zpre, offs, layout, l, nb), 0, Z.shape[1])
        else:
            bias_activate(Z, intercept_view(theta, layout, l), hidden_activation(net, l),
                          unit_view(zpre, offs, layout, l, nb), 0, Z.shape[1])
        if stages & DROPOUT and l < L - 1 and dropout[l] > 0:
            dropout_forward(Z, dropout[l], unit_view(dropped, offs, layout, l, nb), keys, rows,
                            seed, l)
    if stages & AUX_OUTPUT:
        Za = aux_view(aux_acts, nb, aux[0, 1])
        np.dot(layer_input(acts, dropped, offs, layout, L - 2, nb, dropout),
               coef_view(theta, aux, 0, 0, aux[0, 0]), Za)
        # Zpre: never GELU
        bias_activate(Za, intercept_view(theta, aux, 0), out_code, Za, 0, aux[0, 1])
    return unit_view(acts, offs, layout, L - 1, nb)


#: Largest ``W_l`` (in bytes) that ``backward_pass`` copies transposed before
#: ``delta @ W.T``.  OpenBLAS's small-matrix path is slower with a transposed
#: operand: at 50x50 (float64) ``D @ W.T`` took 4.7 us at batch 32 and 24.8 us at
#: batch 200, against 3.7 and 19.0 us for transpose (0.7 us) + plain product.
#: For a 300x100 layer the strided copy costs as much as it saves.
TRANSPOSE_MAX_BYTES = 32 * 1024


def transpose_workspace_size(layout, itemsize):
    """Elements of the ``W.T`` scratch ``backward_pass`` uses (0: never transpose).

    Only the rows of ``W_l`` fed by layer ``l - 1`` (``layout[l - 1, 1]`` of them;
    a wide part is never back-propagated) are transposed, for ``l >= 1``.
    """
    size = 0
    for l in range(1, layout.shape[0]):
        n = int(layout[l - 1, 1]) * int(layout[l, 1])
        if n * itemsize <= TRANSPOSE_MAX_BYTES:
            size = max(size, n)
    return size


@jit(nogil=True)
def transpose_into(W, out):
    """out = W.T for C-contiguous ``W`` (fan_in x fan_out) and ``out`` (fan_out x fan_in)."""
    fi, fo = W.shape
    for i in range(fi):
        for j in range(fo):
            out[j, i] = W[i, j]


@jit(nogil=True)
def backward_pass(theta, net, deep, wide, rows, acts, zpre, deltas, offs, grad, wtbuf, sw, lws):
    """Back-propagate the output delta into raw gradients ``grad`` (theta's layout).

    ``net`` is the ``Network`` record (records.py).  The output layer's delta (sw-weighted
    dL/dZ) must already be in ``deltas`` and its bias gradient in ``grad``
    (``loss_and_output_delta`` writes both).  Writes
    ``grad_W = A^T delta``; each hidden layer's ``grad_b = sum(delta)`` comes out
    of ``activation_grad`` in the pass that forms that delta.  Neither the L2
    term nor the division by the weight sum is applied: the optimizer step adds both.
    ``wtbuf`` is scratch for ``W.T`` (see ``TRANSPOSE_MAX_BYTES``); layers whose
    ``W`` does not fit in it use BLAS's transposed product directly.

    Layer stages as in ``forward_pass``: the auxiliary output's delta (in
    ``lws.aux_deltas``, its bias gradient in ``grad``) joins the last hidden layer's;
    dropout multiplies by the mask; batch normalization turns dL/dy into dL/dz
    and writes gamma's gradient (beta's is the column sum of ``activation_grad``).
    """
    layout, n_wide = net.layout, net.n_wide
    dropout, gamma_off, _, _, _, aux, _, keys, seed, stages = net.layers
    xhat, stats, dropped, _, aux_deltas, aux_tmp = lws
    nb = rows.shape[0]
    L = layout.shape[0]
    n_bn = stats.shape[0] // 3
    for l in range(L - 1, -1, -1):
        D = unit_view(deltas, offs, layout, l, nb)
        row0 = n_wide if l == L - 1 else 0
        gW = coef_view(grad, layout, l, row0, layout[l, 0])
        if l == 0:
            input_t_dot(deep, rows, D, gW)
        else:
            np.dot(layer_input(acts, dropped, offs, layout, l - 1, nb, dropout).T, D, gW)
        if n_wide > 0 and l == L - 1:
            input_t_dot(wide, rows, D, coef_view(grad, layout, l, 0, n_wide))
        if stages & AUX_OUTPUT and l == L - 1:
            Da = aux_view(aux_deltas, nb, aux[0, 1])
            np.dot(layer_input(acts, dropped, offs, layout, l - 1, nb, dropout).T, Da,
                   coef_view(grad, aux, 0, 0, aux[0, 0]))
        if l > 0:
            D_prev = unit_view(deltas, offs, layout, l - 1, nb)
            W = coef_view(theta, layout, l, row0, layout[l, 0])
            fi, fo = W.shape
            if wtbuf.shape[0] >= fi * fo:
                WT = wtbuf[: fi * fo].reshape((fo, fi))
                transpose_into(W, WT)
                np.dot(D, WT, D_prev)
            else:
                np.dot(D, W.T, D_prev)
            if stages & AUX_OUTPUT and l == L - 1:
                tmp = aux_view(aux_tmp, nb, aux[0, 0])
                np.dot(Da, coef_view(theta, aux, 0, 0, aux[0, 0]).T, tmp)
                D_prev += tmp
            if stages & DROPOUT and dropout[l - 1] > 0:
                dropout_backward(D_prev, dropout[l - 1], keys, rows, seed, l - 1)
            gb = intercept_view(grad, layout, l - 1)
            activation_grad(unit_view(acts, offs, layout, l - 1, nb),
                            unit_view(zpre, offs, layout, l - 1, nb), D_prev,
                            hidden_activation(net, l - 1), gb, 0, layout[l - 1, 1])
            if stages & BATCH_NORM:
                u, fo_prev = hidden_unit_offset(layout, l - 1), layout[l - 1, 1]
                batch_norm_backward(D_prev, unit_view(xhat, offs, layout, l - 1, nb), sw,
                                    theta[gamma_off + u: gamma_off + u + fo_prev],
                                    stats[2 * n_bn + u: 2 * n_bn + u + fo_prev], gb,
                                    grad[gamma_off + u: gamma_off + u + fo_prev])
