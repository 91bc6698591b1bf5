"""CSR kernels, never densifying X: the first layer's X[rows] @ W and X[rows].T @ delta,
and a linear layer's X @ WT + b (the Perceptron's predictions)."""

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload

from .._numba import jit

#: How many stored values ahead ``csr_dot_add`` prefetches the weight row it will
#: need: gathering rows of weights larger than L2 (ten float64 classes of 50000
#: features: 4 MB) waits on memory, ~40% of the time at 0 ahead on a 100000 x
#: 50000 text matrix (bench_predict_latency.py); anything from 48 to 160 ahead
#: (about a row of that matrix) hid the wait equally well.
PREFETCH_AHEAD = 64


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


def _prefetch_row(A, i):
    """Hint the CPU to fetch row ``i`` of C-contiguous 2-D ``A`` into cache (its first
    and last element: a row may straddle cache lines). A hint only: it reads
    nothing and never faults, whatever ``i`` is; nothing at all in Python."""


@overload(_prefetch_row)
def _prefetch_row_jit(A, i):
    return lambda A, i: _llvm_prefetch_row(A, i)


@intrinsic
def _llvm_prefetch_row(typingctx, A, i):
    if not (isinstance(A, types.Array) and A.ndim == 2 and A.layout == "C"
            and isinstance(i, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        aryty, idxty = sig.args
        ary = context.make_array(aryty)(context, builder, args[0])
        shape = cgutils.unpack_tuple(builder, ary.shape)
        strides = cgutils.unpack_tuple(builder, ary.strides)
        row = context.cast(builder, args[1], idxty, types.intp)
        last = builder.sub(shape[1], context.get_constant(types.intp, 1))
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
            "llvm.prefetch.p0i8")
        for col in (context.get_constant(types.intp, 0), last):
            ptr = cgutils.get_item_pointer2(context, builder, ary.data, shape, strides,
                                            aryty.layout, [row, col])
            # read access, keep in all cache levels, data cache
            builder.call(fn, [builder.bitcast(ptr, i8p), ir.Constant(i32, 0),
                              ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return types.void(A, i), codegen


@jit(nogil=True)
def csr_dot_add(data, indices, indptr, WT, b, out):
    """out = X @ WT + b for CSR X, summed as scipy's ``X @ WT + b`` sums, bit for bit.

    A linear layer's outputs (the Perceptron's decision function), ``WT`` of shape
    (n_features, n_out), C-contiguous: each stored value of a row meets one
    contiguous row of ``WT``. Each output is summed from zero in the stored order,
    then ``b`` is added (scipy's ``csr_matvec(s)``, then NumPy's ``+``).

    The sums run in local accumulators, 8, 2 or 1 outputs per pass over the row
    (its values stay in L1 between passes): numba cannot tell ``out`` from the
    inputs, so sums kept in ``out`` would be stored and reloaded at every term.
    With several outputs the first pass prefetches the weight row
    ``PREFETCH_AHEAD`` stored values on (one output's weights, a vector, stay in
    L2 and the prefetches only cost time: 25% on the binary text workload).
    """
    n_out = out.shape[1]
    zero = out.dtype.type(0)
    nnz = indptr[out.shape[0]]
    for i in range(out.shape[0]):
        start = indptr[i]
        end = indptr[i + 1]
        j = 0
        while j + 8 <= n_out:
            s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = zero
            for k in range(start, end):
                if j == 0 and k + PREFETCH_AHEAD < nnz:
                    _prefetch_row(WT, indices[k + PREFETCH_AHEAD])
                v = data[k]
                c = indices[k]
                s0 += v * WT[c, j]
                s1 += v * WT[c, j + 1]
                s2 += v * WT[c, j + 2]
                s3 += v * WT[c, j + 3]
                s4 += v * WT[c, j + 4]
                s5 += v * WT[c, j + 5]
                s6 += v * WT[c, j + 6]
                s7 += v * WT[c, j + 7]
            out[i, j] = s0 + b[j]
            out[i, j + 1] = s1 + b[j + 1]
            out[i, j + 2] = s2 + b[j + 2]
            out[i, j + 3] = s3 + b[j + 3]
            out[i, j + 4] = s4 + b[j + 4]
            out[i, j + 5] = s5 + b[j + 5]
            out[i, j + 6] = s6 + b[j + 6]
            out[i, j + 7] = s7 + b[j + 7]
            j += 8
        while j + 2 <= n_out:
            s0 = s1 = zero
            for k in range(start, end):
                if j == 0 and k + PREFETCH_AHEAD < nnz:
                    _prefetch_row(WT, indices[k + PREFETCH_AHEAD])
                v = data[k]
                c = indices[k]
                s0 += v * WT[c, j]
                s1 += v * WT[c, j + 1]
            out[i, j] = s0 + b[j]
            out[i, j + 1] = s1 + b[j + 1]
            j += 2
        if j < n_out:  # one output: binary targets, or the last of an odd count
            s0 = zero
            for k in range(start, end):
                s0 += data[k] * WT[indices[k], j]
            out[i, j] = s0 + b[j]
