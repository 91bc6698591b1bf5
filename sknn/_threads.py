"""How many BLAS threads a fit may use.

On two cores, OpenBLAS threads spinning against each other (or against another
job) on small GEMMs made a batch-32 epoch about 9x slower; small per-batch
products gain nothing from a second thread anyway.  So training runs on one BLAS
thread unless the per-batch GEMM work is large enough to be worth splitting.
"""

from contextlib import nullcontext

from threadpoolctl import threadpool_limits

# Multiply-adds of one batch's forward GEMMs above which BLAS keeps its threads.
# Measured (bench_mlp.py --threads auto,1, other jobs on the second core): at 5e7
# the FMNIST-shape batch-200 fit (1.1e8) got two threads and its epoch took 7.4x
# longer than on one; quiet, two threads gain only ~1.4x there.  So one thread
# until a batch's GEMMs are an order of magnitude bigger.
_MULTI_THREAD_MIN_FLOPS = 1e9


def blas_threads_for(layout, rows):
    """Context limiting BLAS to one thread for small per-batch GEMMs."""
    flops = 2.0 * rows * float((layout[:, 0] * layout[:, 1]).sum())
    if flops < _MULTI_THREAD_MIN_FLOPS:
        return threadpool_limits(limits=1, user_api="blas")
    return nullcontext()
