"""Compile sknn's kernels into numba's disk cache ahead of the first fit.

Each variant is a tiny fit (and predict) through the estimators' own code path,
so it compiles exactly the kernels a user's fit of that kind loads.  Groups of
variants run in separate processes, one per core; a last pass in one process
loads every variant back, so that a cache entry lost to two processes writing
one kernel's cache index at once is compiled again.
"""

import os
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np

#: What ``warmup`` compiles by default.
DTYPES = ("float64", "float32")
SOLVERS = ("adam", "lbfgs")
TASKS = ("multiclass", "binary", "regression", "perceptron")


def _data(task, dtype):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(24, 3)).astype(dtype)
    if task == "regression":
        return X, X[:, 0]
    return X, np.arange(24) % (2 if task == "binary" else 3)


def run_variant(task, dtype, solver=None):
    """One tiny fit + predict of ``task`` ("multiclass", "binary", "regression",
    "perceptron") in ``dtype`` with ``solver`` (MLPs only, on dense and on CSR
    input), without dropout, batch normalization, auxiliary output or wide part:
    the kernels are compiled for the stages a fit uses (``Layers.stages``), and a
    plain fit is the common one.
    """
    import scipy.sparse as sp

    from . import MLPClassifier, MLPRegressor, Perceptron

    X, y = _data(task, dtype)
    kw = dict(hidden_layer_sizes=(4,), solver=solver, max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if task == "perceptron":
            Perceptron(max_iter=2, random_state=0).fit(X, y).predict(X)
            return
        # dense and CSR input: an MLP is compiled for one kind (network.is_sparse)
        for Xk in (X, sp.csr_matrix(X)):
            if task == "regression":
                MLPRegressor(**kw).fit(Xk, y).predict(Xk)
            else:
                MLPClassifier(**kw).fit(Xk, y).predict_proba(Xk)


def _run_group(variants):
    for v in variants:
        run_variant(*v)
    return len(variants)


def variants(dtypes=DTYPES, solvers=SOLVERS, tasks=TASKS):
    """The ``(task, dtype, solver)`` triples ``warmup`` runs."""
    out = []
    for dtype in dtypes:
        for task in tasks:
            if task == "perceptron":
                out.append((task, np.dtype(dtype).name, None))
            else:
                out.extend((task, np.dtype(dtype).name, s) for s in solvers)
    return out


def cache_dir():
    """Where numba caches sknn's kernels in this process (``NUMBA_CACHE_DIR`` or its default)."""
    from ._kernels.epoch import train_epoch
    from ._numba import python_dispatcher

    cache = getattr(python_dispatcher(train_epoch), "_cache", None)
    return getattr(cache, "cache_path", None)  # None: caching is off


def _validate(name, values, allowed):
    values = tuple(values)
    bad = [v for v in values if v not in allowed]
    if not values or bad:
        raise ValueError(f"{name} must be a non-empty subset of {allowed}, got {values!r}.")
    return values


def warmup(dtypes=DTYPES, *, solvers=SOLVERS, tasks=TASKS, n_jobs=None, verbose=False):
    """Compile sknn's kernels into numba's disk cache ahead of the first fit.

    The first fit of each kind in a new environment compiles the Numba kernels it
    needs and caches them on disk; every later process loads them in a fraction
    of a second.  ``warmup`` compiles the common kinds in advance, one process
    per core, so that the first real fit is warm: run it once when building a
    Docker image, at the start of a CI job or on a cluster worker, with
    ``NUMBA_CACHE_DIR`` pointing at the (shared, writable) directory the later
    processes use.  From a shell: ``python -m sknn.warmup``.

    Parameters
    ----------
    dtypes : iterable of {"float64", "float32"}, default=("float64", "float32")
        Model dtypes to compile for (the dtype of ``X`` a fit receives).
    solvers : iterable of {"adam", "sgd", "lbfgs"}, default=("adam", "lbfgs")
        MLP solvers to compile for.
    tasks : iterable of {"multiclass", "binary", "regression", "perceptron"}, \
default=("multiclass", "binary", "regression", "perceptron")
        ``MLPClassifier`` with more than two classes (softmax output), with two
        classes or multilabel targets (logistic outputs), ``MLPRegressor``
        (identity output, squared error) and ``Perceptron``.  Each MLP task is
        compiled with the default ``relu`` hidden activation; another
        activation, loss or output compiles its own kernels at its first fit, as
        do dropout, batch normalization, an auxiliary output and wide & deep
        (a plain fit compiles none of their code).  An MLP's CSR input has its
        own kernels (a dense fit compiles no CSR code): each MLP variant is
        compiled for dense and CSR input; ``Perceptron``'s sparse fit and
        sparse predict compile their own kernels at their first use.
    n_jobs : int, default=None
        Processes compiling at once; ``None`` uses every core.
    verbose : bool, default=False
        Print what is compiled, how long it took and where the cache is.

    Returns
    -------
    cache_dir : str or None
        The directory numba caches sknn's kernels in (``None`` when caching is
        off: ``SKNN_NUMBA_CACHE=0`` or no writable location).

    Examples
    --------
    >>> import sknn
    >>> path = sknn.warmup(dtypes=["float64"], solvers=["adam"],
    ...                    tasks=["multiclass"])  # doctest: +SKIP
    """
    dtypes = _validate("dtypes", (np.dtype(d).name for d in dtypes), DTYPES)
    solvers = _validate("solvers", solvers, ("adam", "sgd", "lbfgs"))
    tasks = _validate("tasks", tasks, TASKS)
    if n_jobs is not None and (not isinstance(n_jobs, int) or n_jobs < 1):
        raise ValueError(f"n_jobs must be None or a positive int, got {n_jobs!r}.")
    todo = variants(dtypes, solvers, tasks)
    n_jobs = min(n_jobs or os.cpu_count() or 1, len(todo))
    t0 = time.perf_counter()
    if n_jobs > 1:
        # one group per (task, dtype): a group's variants share helpers it compiles once
        groups = {}
        for v in todo:
            groups.setdefault(v[:2], []).append(v)
        with ProcessPoolExecutor(n_jobs, mp_context=get_context("spawn")) as pool:
            list(pool.map(_run_group, groups.values()))
    t1 = time.perf_counter()
    _run_group(todo)  # loads what the workers cached; compiles what a race lost
    path = cache_dir()
    if verbose:
        print(f"sknn.warmup: {len(todo)} variants ({', '.join(dtypes)}; {', '.join(tasks)}; "
              f"solvers {', '.join(solvers)}) compiled in {t1 - t0:.1f} s on {n_jobs} "
              f"process(es), checked in {time.perf_counter() - t1:.1f} s", file=sys.stderr)
        print(f"numba cache: {path}", file=sys.stderr)
    return path


def main(argv=None):
    """``python -m sknn.warmup [--dtypes ...] [--solvers ...] [--tasks ...] [--n-jobs N]``."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m sknn.warmup",
                                 description=warmup.__doc__.splitlines()[0])
    ap.add_argument("--dtypes", nargs="+", default=DTYPES, choices=DTYPES)
    ap.add_argument("--solvers", nargs="+", default=SOLVERS, choices=("adam", "sgd", "lbfgs"))
    ap.add_argument("--tasks", nargs="+", default=TASKS, choices=TASKS)
    ap.add_argument("--n-jobs", type=int, default=None)
    ap.add_argument("--quiet", action="store_true", help="print only the cache directory")
    args = ap.parse_args(argv)
    path = warmup(args.dtypes, solvers=args.solvers, tasks=args.tasks, n_jobs=args.n_jobs,
                  verbose=not args.quiet)
    print(path)
