"""Forward and backward passes over the flat parameter buffer.

Parameter layout (sknn/_layout.py builds it; scikit-learn's ``_pack`` order):
``theta = [W_0, ..., W_{L-1}, b_0, ..., b_{L-1}]``, each ``W_l`` a C-ordered
``fan_in x fan_out`` block.  ``layout[l] = (fan_in, fan_out, w_off, b_off)``.
In a wide & deep network the output layer's ``W`` starts with ``n_wide`` rows for
the wide input columns, followed by the rows for the last hidden layer.

Workspaces (activations, deltas, pre-activations) are 1-D buffers with room for
``cap`` rows per layer; layer ``l`` of a batch of ``nb`` rows is the C-contiguous
block ``buf[cap * sum(fan_out[:l]):][:nb * fan_out[l]]``.

An input block is a tuple ``(dense, data, indices, indptr)``: a CSR matrix when
``indptr`` is non-empty, else the dense 2-D array (gathered batch rows).
"""

import numpy as np

from .._numba import jit
from .activations import activate, activation_grad
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
def unit_view(buf, cap, layout, l, nb):
    """Layer ``l``'s ``nb x fan_out`` block of a per-layer workspace."""
    if buf.shape[0] == 0:  # workspace not needed (e.g. no GELU pre-activations)
        return buf.reshape((0, 0))
    off = 0
    for k in range(l):
        off += cap * layout[k, 1]
    return buf[off: off + nb * layout[l, 1]].reshape((nb, layout[l, 1]))


@jit(nogil=True)
def is_sparse(block):
    return block[3].shape[0] > 0


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
def add_bias(Z, b):
    n, m = Z.shape
    for i in range(n):
        for j in range(m):
            Z[i, j] += b[j]


@jit(nogil=True)
def forward_pass(theta, layout, n_wide, hidden_code, out_code, deep, wide, rows,
                 acts, zpre, cap, wide_tmp):
    """Compute every layer's activations for the batch ``rows`` (nb rows).

    ``deep``/``wide`` are input blocks holding the batch (dense blocks are the
    gathered rows).  ``wide_tmp`` is an ``nb x n_outputs`` scratch for the wide
    product (unused when ``n_wide == 0``).  Returns the output activations.
    """
    nb = rows.shape[0]
    L = layout.shape[0]
    for l in range(L):
        Z = unit_view(acts, cap, layout, l, nb)
        W = coef_view(theta, layout, l, n_wide if l == L - 1 else 0, layout[l, 0])
        if l == 0:
            input_dot(deep, rows, W, Z)
        else:
            np.dot(unit_view(acts, cap, layout, l - 1, nb), W, Z)
        if l == L - 1 and n_wide > 0:
            input_dot(wide, rows, coef_view(theta, layout, l, 0, n_wide), wide_tmp)
            Z += wide_tmp
        add_bias(Z, intercept_view(theta, layout, l))
        activate(Z, out_code if l == L - 1 else hidden_code, unit_view(zpre, cap, layout, l, nb))
    return unit_view(acts, cap, layout, L - 1, nb)


@jit(nogil=True)
def backward_pass(theta, layout, n_wide, hidden_code, deep, wide, rows,
                  acts, zpre, deltas, cap, grad):
    """Back-propagate the output delta into raw gradients ``grad`` (theta's layout).

    The output layer's delta (sw-weighted dL/dZ) must already be in ``deltas``.
    Writes ``grad_W = A^T delta`` and ``grad_b = sum(delta)``, without the L2 term
    and without dividing by the weight sum: the optimizer step adds both.
    """
    nb = rows.shape[0]
    L = layout.shape[0]
    for l in range(L - 1, -1, -1):
        D = unit_view(deltas, cap, layout, l, nb)
        row0 = n_wide if l == L - 1 else 0
        gW = coef_view(grad, layout, l, row0, layout[l, 0])
        if l == 0:
            input_t_dot(deep, rows, D, gW)
        else:
            np.dot(unit_view(acts, cap, layout, l - 1, nb).T, D, gW)
        if l == L - 1 and n_wide > 0:
            input_t_dot(wide, rows, D, coef_view(grad, layout, l, 0, n_wide))
        gb = intercept_view(grad, layout, l)
        gb[:] = 0
        for i in range(nb):
            for j in range(D.shape[1]):
                gb[j] += D[i, j]
        if l > 0:
            D_prev = unit_view(deltas, cap, layout, l - 1, nb)
            np.dot(D, coef_view(theta, layout, l, row0, layout[l, 0]).T, D_prev)
            activation_grad(unit_view(acts, cap, layout, l - 1, nb),
                            unit_view(zpre, cap, layout, l - 1, nb), D_prev, hidden_code)


@jit(nogil=True)
def l2_sum(theta, layout):
    """Sum of squared coefficients (intercepts excluded), as scikit-learn's penalty."""
    n_coef = layout[0, 3]  # intercepts start right after all W
    s = 0.0
    for i in range(n_coef):
        s += theta[i] * theta[i]
    return s
