"""What threads sharing one nogil kernel need: atomic counters, a waiting loop, and a
matrix product on column blocks in place.

``unit_split.py`` runs one epoch kernel per thread; the threads meet at phase
ends through int64 counters (``atomic_add`` claims a piece, ``wait_until`` waits
for a phase's pieces to be done).  Each function is a plain Python function
(what runs under ``NUMBA_DISABLE_JIT``: a lock makes the counter updates atomic
between Python threads) with its jitted implementation registered as an
``overload``: LLVM's atomic instructions, the CPU's pause hint and libc's
``usleep``.
"""

import platform
import threading
import time

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload
from numba.np.linalg import _BLAS, get_blas_kind

#: A waiting thread first spins this many pause hints (~5 us on x86) ...
WAIT_SPINS = 100
#: ... then sleeps this many microseconds at a time: an idle CPU lets the kernel
#: move a preempted peer over to it, where spinning or ``sched_yield`` keep the CPU
#: busy (with a process spinning on one of two cores, a batch-200 epoch took 1.24-1.33x
#: its quiet one-thread time with spinning waiters, 1.06x with sleeping ones:
#: benchmarks/README.md).
WAIT_SLEEP_US = 20

_X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")
_python_lock = threading.Lock()


def atomic_add(counters, i, v):
    """``counters[i] += v`` atomically (int64 counters); returns the old value."""
    with _python_lock:
        old = int(counters[i])
        counters[i] = old + v
    return old


def atomic_load(counters, i):
    """``counters[i]``, read with acquire ordering: what a thread wrote before its
    ``atomic_add`` on that counter is visible after this read sees the add."""
    with _python_lock:
        return int(counters[i])


def wait_until(counters, i, target, abort):
    """Return once ``counters[i] >= target`` or ``counters[abort] != 0`` (a thread
    failed): spin briefly, then sleep."""
    while atomic_load(counters, i) < target and atomic_load(counters, abort) == 0:
        time.sleep(WAIT_SLEEP_US * 1e-6)


def _counter_pointer(context, builder, aty, arr, i):
    ary = context.make_array(aty)(context, builder, arr)
    return cgutils.get_item_pointer(context, builder, aty, ary, [i])


def _is_counters(arr):
    return isinstance(arr, types.Array) and arr.dtype == types.int64 and arr.ndim == 1


@intrinsic
def _atomic_add(typingctx, arr, i, v):
    if not (_is_counters(arr) and isinstance(i, types.Integer) and isinstance(v, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        ptr = _counter_pointer(context, builder, sig.args[0], args[0],
                               context.cast(builder, args[1], sig.args[1], types.intp))
        val = context.cast(builder, args[2], sig.args[2], types.int64)
        return builder.atomic_rmw("add", ptr, val, "seq_cst")

    return types.int64(arr, i, v), codegen


@intrinsic
def _atomic_load(typingctx, arr, i):
    if not (_is_counters(arr) and isinstance(i, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        ptr = _counter_pointer(context, builder, sig.args[0], args[0],
                               context.cast(builder, args[1], sig.args[1], types.intp))
        return builder.load_atomic(ptr, "acquire", 8)

    return types.int64(arr, i), codegen


@intrinsic
def _cpu_pause(typingctx):
    """The spin-wait hint (x86 ``pause``: frees the core's pipeline for the sibling
    hyper-thread and avoids a memory-order flush on exit); nothing elsewhere."""
    def codegen(context, builder, sig, args):
        if _X86:
            fn = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.VoidType(), []), "llvm.x86.sse2.pause")
            builder.call(fn, [])
        return context.get_dummy_value()

    return types.none(), codegen


@intrinsic
def _usleep(typingctx, us):
    if not isinstance(us, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(i32, [i32]),
                                            "usleep")
        return builder.call(fn, [context.cast(builder, args[0], sig.args[0], types.int32)])

    return types.int32(us), codegen


@overload(atomic_add, jit_options={"nogil": True})
def _atomic_add_jit(counters, i, v):
    return lambda counters, i, v: _atomic_add(counters, i, v)


@overload(atomic_load, jit_options={"nogil": True})
def _atomic_load_jit(counters, i):
    return lambda counters, i: _atomic_load(counters, i)


@overload(wait_until, jit_options={"nogil": True})
def _wait_until_jit(counters, i, target, abort):
    def impl(counters, i, target, abort):
        spins = 0
        while _atomic_load(counters, i) < target and _atomic_load(counters, abort) == 0:
            if spins < WAIT_SPINS:
                _cpu_pause()
                spins += 1
            else:
                _usleep(WAIT_SLEEP_US)
    return impl


def strided_dot(A, B, C, consts):
    """``C[...] = A @ B`` in place, for 2-D views whose rows or columns are contiguous.

    Each operand is a block of a C-contiguous array (``X[:, j0:j1]``, rows apart by
    the parent's width) or the transpose of one (``X[i0:i1].T``); ``C`` must be of
    the first kind.  The jitted version hands the views' pointers and leading
    dimensions to BLAS's gemm, without copies (numba's ``np.dot`` copies
    non-contiguous operands).  ``consts`` holds ``(0, 1)`` in the dtype (beta,
    alpha), so that no call allocates.  Every dimension must be at least 1.
    """
    C[...] = A @ B


def _operand(X):
    """BLAS's view of row-major operand ``X``: (transposed flag, leading dimension)."""


_NOTRANS, _TRANS = ord("n"), ord("t")


@overload(_operand, jit_options={"nogil": True})
def _operand_jit(X):
    def impl(X):
        item = X.itemsize
        r, c = X.shape
        s0, s1 = X.strides[0] // item, X.strides[1] // item
        # BLAS wants a leading dimension >= the column-major row count; a single row
        # or column may carry any stride
        if s1 == 1 and (r == 1 or s0 >= c):
            return np.int8(_NOTRANS), s0 if r > 1 else c
        return np.int8(_TRANS), s1 if c > 1 else r
    return impl


@overload(strided_dot, jit_options={"nogil": True})
def _strided_dot_jit(A, B, C, consts):
    gemm = _BLAS().numba_xxgemm(A.dtype)
    kind = ord(get_blas_kind(A.dtype))

    def impl(A, B, C, consts):
        m, k = A.shape
        n = B.shape[1]
        # Column-major BLAS computes C.T (n x m) = B.T @ A.T on the same memory.
        tb, ldb = _operand(B)
        ta, lda = _operand(A)
        _, ldc = _operand(C)
        gemm(kind, tb, ta, n, m, k, consts[1:].ctypes, B.ctypes, ldb, A.ctypes, lda,
             consts[:1].ctypes, C.ctypes, ldc)
    return impl


def gemm_constants(dtype):
    """The ``consts`` of ``strided_dot``: beta 0, alpha 1."""
    return np.array([0.0, 1.0], dtype=dtype)

