"""How many BLAS threads a fit or a predict may use.

On two cores, OpenBLAS threads spinning against each other (or against another
job) on small GEMMs made a batch-32 epoch about 9x slower; small per-batch
products gain nothing from a second thread anyway.  So training and prediction
run on one BLAS thread unless the per-batch (per-chunk) GEMM work is large
enough to be worth splitting.

threadpoolctl's limits are process-global: ``threadpool_limits`` saves the
current thread counts on entry and restores them on exit.  Two threads using it
concurrently can interleave (A saves 2 and sets 1, B saves 1, A restores 2, B
restores 1), which would leave the *whole process* on one BLAS thread after both
finished.  So sknn's limit is reference-counted: the first sknn call to enter
saves the counts and sets one thread, nested or concurrent sknn calls only bump a
counter, and the last one to leave restores the saved counts.  Consequences:

- while any sknn fit/predict in the process holds the limit, all BLAS calls in
  the process (other threads' NumPy code too) run on one thread;
- a large fit or predict that would be allowed several threads gets one if it
  overlaps a small one in another thread (conservative, never oversubscribed);
- a ``threadpool_limits`` the caller opens around sknn is respected and restored;
- threadpoolctl >= 3.6 lets only one "controlling" Python thread change
  OpenBLAS and ignores the rest; sknn releases that control around its own set
  and restore (see ``_release_openblas_control``), so its limit holds whichever
  thread enters first and the restore works whichever thread leaves last.

The threadpoolctl controller (which scans the loaded libraries, ~5 ms) is built
once, on first use; BLAS libraries loaded later (another package's) are not
limited by sknn.  numba calls scipy's OpenBLAS, loaded before sknn's kernels.
"""

import threading
from contextlib import contextmanager, nullcontext

# Flops (2 x multiply-adds) of one batch's (or predict chunk's) forward GEMMs
# above which BLAS keeps its threads.  Measured on 2 shared cores:
# - training (bench_mlp.py, another job on the second core): at 5e7 the FMNIST
#   batch-200 fit (1.1e8) got two threads and its epoch took 7.4x longer than on
#   one; quiet, two threads gained only ~1.4x there;
# - predict of 55000 FMNIST rows in 4096-row chunks (2.2e9 per chunk): two
#   threads took 1.55x (float32) and 1.2x (float64) as long as one with other
#   jobs on the machine, and never won.
# So one thread until the GEMMs are far bigger than any of those.
_MULTI_THREAD_MIN_FLOPS = 1e10

# OpenBLAS runs a GEMM of m x k by k x n on one thread whatever its thread count
# when m * n * k <= SMP_THRESHOLD_MIN (65536) * GEMM_MULTITHREAD_THRESHOLD (4, the
# build default) (interface/gemm.c, 0.3.x).  For predict calls whose every GEMM is
# that small the limiter would change nothing but costs ~120 us per call
# (threadpoolctl's set and restore), more than a small predict itself.
_OPENBLAS_ONE_THREAD_MNK = 65536 * 4
# ... and only for calls this short (rows per chunk), where that cost matters: a
# larger call keeps the explicit limit, which also covers BLAS builds with another
# threshold at no measurable cost.
_LATENCY_MAX_ROWS = 32

_lock = threading.Lock()
_depth = 0  # sknn calls currently inside the one-thread limit
_limiter = None  # the open threadpoolctl limiter while _depth > 0
_controller = None
_all_openblas = None  # cached by _only_openblas


def _get_controller():
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    return _controller


def _release_openblas_control():
    """Forget which Python thread "controls" OpenBLAS (threadpoolctl >= 3.6).

    threadpoolctl lets only one thread at a time change OpenBLAS's process-wide
    thread count and silently ignores the others.  sknn's set and restore may run
    on different threads (first to enter, last to leave), so each is done with no
    controlling thread and releases control again afterwards; a caller's own
    ``threadpool_limits`` block re-takes control when it restores.
    """
    import threadpoolctl

    clear = getattr(getattr(threadpoolctl, "OpenBLASController", None),
                    "clear_controlling_thread", None)
    if clear is not None:
        clear(force=True)


@contextmanager
def one_blas_thread():
    """Limit BLAS to one thread, reference-counted across threads and nesting."""
    global _depth, _limiter
    with _lock:
        if _depth == 0:
            _release_openblas_control()
            _limiter = _get_controller().limit(limits=1, user_api="blas")
            _release_openblas_control()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                limiter, _limiter = _limiter, None
                _release_openblas_control()
                limiter.restore_original_limits()
                _release_openblas_control()


def _only_openblas():
    """Whether every BLAS threadpoolctl sees is OpenBLAS (numba's scipy BLAS is)."""
    global _all_openblas
    if _all_openblas is None:
        _all_openblas = all(c.internal_api == "openblas"
                            for c in _get_controller().lib_controllers if c.user_api == "blas")
    return _all_openblas


def predict_blas_threads_for(layout, rows):
    """``blas_threads_for`` for prediction: no limiter at all for short calls whose
    GEMMs OpenBLAS runs on one thread anyway (``_OPENBLAS_ONE_THREAD_MNK``).

    ``rows`` is the row-chunk size.  The wide product (``n_wide`` rows of the
    output layer's ``W``) is part of that layer's ``fan_in``, so it is covered.
    """
    if rows <= _LATENCY_MAX_ROWS and _only_openblas():
        largest = int((layout[:, 0] * layout[:, 1]).max()) * rows
        if largest <= _OPENBLAS_ONE_THREAD_MNK:
            return nullcontext()
    return blas_threads_for(layout, rows)


def blas_threads_for(layout, rows):
    """Context limiting BLAS to one thread for small per-batch GEMMs.

    ``rows`` is the batch size (training) or the row-chunk size (prediction).
    """
    flops = 2.0 * rows * float((layout[:, 0] * layout[:, 1]).sum())
    if flops < _MULTI_THREAD_MIN_FLOPS:
        return one_blas_thread()
    return nullcontext()
