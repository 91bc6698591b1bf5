"""What threads sharing one nogil kernel need: atomic counters, a waiting loop, and a
matrix product on column blocks in place.

``unit_split.py`` runs one epoch kernel per thread; the threads meet at phase
ends through int64 counters (``atomic_add`` claims a piece, ``wait_until`` waits
for a phase's pieces to be done).  Each function is a plain Python function
(what runs under ``NUMBA_DISABLE_JIT``: a lock makes the counter updates atomic
between Python threads) with its jitted implementation registered as an
``overload``: LLVM's atomic instructions, the CPU's pause hint and, to sleep,
Linux's ``futex`` (woken by the thread that finishes a phase; ``usleep``
elsewhere).
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

#: A waiting thread first spins this many pause hints (25 us on an AMD EPYC, ~50 us
#: on a Xeon): at batch 32 a phase lasts tens of microseconds and a futex wake-up
#: costs about as much (FMNIST b32 float32, 2 vs 1 thread: 1.17-1.27x with 100,
#: 1.27-1.45x with 1000; benchmarks/README.md) ...
WAIT_SPINS = 1000
#: ... then sleeps, leaving its CPU idle so that the kernel can move a preempted peer
#: over to it (a spinning waiter keeps it busy: with a process spinning on one of two
#: cores, two threads' batch-200 epoch took 1.24-1.33x the quiet one-thread time with
#: waiters spinning ~100 us, 1.06x with ~5 us; n_jobs=None now takes one thread
#: there, ``free_cores``).  On Linux it sleeps on a futex the finishing thread wakes,
#: at most this many microseconds at a time (a bound, so that an abort or a missed
#: wake-up only delays); elsewhere ``usleep`` this long.  A timed sleep alone is too
#: coarse: a VM's ``usleep(20)`` measured 160 us.
WAIT_SLEEP_US = 20

_X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")
#: ``SYS_futex`` of the Linux ABIs the futex wait is built for (others ``usleep``).
_SYS_FUTEX = {"x86_64": 202, "amd64": 202, "aarch64": 98, "arm64": 98}.get(
    platform.machine().lower()) if platform.system() == "Linux" else None
_FUTEX_WAIT_PRIVATE, _FUTEX_WAKE_PRIVATE = 128, 129
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
    failed): spin briefly, then sleep until ``wake_waiters(counters, i)`` (or a
    bounded while, so that a missed wake-up or an abort only delays)."""
    while atomic_load(counters, i) < target and atomic_load(counters, abort) == 0:
        time.sleep(WAIT_SLEEP_US * 1e-6)


def wake_waiters(counters, i):
    """Wake the threads sleeping in ``wait_until`` on ``counters[i]`` (call it after
    the ``atomic_add`` that reaches their target)."""


def _counter_pointer(context, builder, sig, args):
    """The address of ``counters[i]`` for an intrinsic called as ``(counters, i, ...)``."""
    aty = sig.args[0]
    ary = context.make_array(aty)(context, builder, args[0])
    i = context.cast(builder, args[1], sig.args[1], types.intp)
    return cgutils.get_item_pointer(context, builder, aty, ary, [i])


def _is_counters(arr):
    return isinstance(arr, types.Array) and arr.dtype == types.int64 and arr.ndim == 1


@intrinsic
def _atomic_add(typingctx, arr, i, v):
    if not (_is_counters(arr) and isinstance(i, types.Integer) and isinstance(v, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        ptr = _counter_pointer(context, builder, sig, args)
        val = context.cast(builder, args[2], sig.args[2], types.int64)
        return builder.atomic_rmw("add", ptr, val, "seq_cst")

    return types.int64(arr, i, v), codegen


@intrinsic
def _atomic_load(typingctx, arr, i):
    if not (_is_counters(arr) and isinstance(i, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        ptr = _counter_pointer(context, builder, sig, args)
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


def _futex(builder, ptr, op, val, timeout_us):
    """``syscall(SYS_futex, ptr, op, val, timeout, NULL, 0)`` on the low 32 bits of
    the int64 at ``ptr`` (little-endian: a counter below 2**31 is that word);
    ``timeout_us`` (a Python int) > 0 builds the relative ``timespec``, else none."""
    i64 = ir.IntType(64)
    fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(i64, [i64], var_arg=True),
                                        "syscall")
    ts = ir.Constant(i64, 0)
    if timeout_us > 0:
        spec = cgutils.alloca_once(builder, ir.ArrayType(i64, 2))
        builder.store(ir.Constant(ir.ArrayType(i64, 2), [0, timeout_us * 1000]), spec)
        ts = builder.ptrtoint(spec, i64)
    return builder.call(fn, [ir.Constant(i64, _SYS_FUTEX), builder.ptrtoint(ptr, i64),
                             ir.Constant(i64, op), val, ts, ir.Constant(i64, 0),
                             ir.Constant(i64, 0)])


@intrinsic
def _sleep_on(typingctx, arr, i, seen):
    """Sleep while ``arr[i]`` still holds ``seen`` (futex), at most ``WAIT_SLEEP_US``;
    ``usleep(WAIT_SLEEP_US)`` where there is no futex."""
    if not (_is_counters(arr) and isinstance(i, types.Integer) and isinstance(seen, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        if _SYS_FUTEX is None:
            i32 = ir.IntType(32)
            fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(i32, [i32]),
                                                "usleep")
            builder.call(fn, [ir.Constant(i32, WAIT_SLEEP_US)])
        else:
            ptr = _counter_pointer(context, builder, sig, args)
            seen32 = builder.and_(context.cast(builder, args[2], sig.args[2], types.int64),
                                  ir.Constant(ir.IntType(64), 0xFFFFFFFF))
            _futex(builder, ptr, _FUTEX_WAIT_PRIVATE, seen32, WAIT_SLEEP_US)
        return context.get_dummy_value()

    return types.none(arr, i, seen), codegen


@intrinsic
def _wake_all(typingctx, arr, i):
    if not (_is_counters(arr) and isinstance(i, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        if _SYS_FUTEX is not None:
            ptr = _counter_pointer(context, builder, sig, args)
            _futex(builder, ptr, _FUTEX_WAKE_PRIVATE, ir.Constant(ir.IntType(64), 2 ** 31 - 1), 0)
        return context.get_dummy_value()

    return types.none(arr, i), codegen


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
        while True:
            seen = _atomic_load(counters, i)
            if seen >= target or _atomic_load(counters, abort) != 0:
                return
            if spins < WAIT_SPINS:
                _cpu_pause()
                spins += 1
            else:
                _sleep_on(counters, i, seen)
    return impl


@overload(wake_waiters, jit_options={"nogil": True})
def _wake_waiters_jit(counters, i):
    return lambda counters, i: _wake_all(counters, i)


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

