"""How many BLAS threads a fit may use.

On two cores, OpenBLAS threads spinning against each other (or against another
job) on small GEMMs made a batch-32 epoch about 9x slower; small per-batch
products gain nothing from a second thread anyway.  So training runs on one BLAS
thread unless the per-batch GEMM work is large enough to be worth splitting.
"""

from contextlib import nullcontext

from threadpoolctl import threadpool_limits

# Multiply-adds of one batch's forward GEMMs above which BLAS keeps its threads.
_MULTI_THREAD_MIN_FLOPS = 5e7


def blas_threads_for(layout, rows):
    """Context limiting BLAS to one thread for small per-batch GEMMs."""
    flops = 2.0 * rows * float((layout[:, 0] * layout[:, 1]).sum())
    if flops < _MULTI_THREAD_MIN_FLOPS:
        return threadpool_limits(limits=1, user_api="blas")
    return nullcontext()
