"""CSR kernels for the first layer: X[rows] @ W and X[rows].T @ delta, never densified."""

from .._numba import jit


@jit(nogil=True)
def csr_rows_dot(data, indices, indptr, rows, W, out):
    """out = X[rows] @ W for CSR X given by (data, indices, indptr)."""
    out[:, :] = 0
    m = W.shape[1]
    for i in range(rows.shape[0]):
        r = rows[i]
        for k in range(indptr[r], indptr[r + 1]):
            c = indices[k]
            v = data[k]
            for j in range(m):
                out[i, j] += v * W[c, j]


@jit(nogil=True)
def csr_rows_t_dot(data, indices, indptr, rows, delta, out):
    """out = X[rows].T @ delta for CSR X (out has X's n_features rows)."""
    out[:, :] = 0
    m = delta.shape[1]
    for i in range(rows.shape[0]):
        r = rows[i]
        for k in range(indptr[r], indptr[r + 1]):
            c = indices[k]
            v = data[k]
            for j in range(m):
                out[c, j] += v * delta[i, j]
