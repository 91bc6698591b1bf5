"""Predict latency: sknn vs scikit-learn on 1 and 10 rows (MLPs and Perceptron, float32/64,
dense and CSR).

Serving one request at a time is dominated by per-call overhead (input validation,
the BLAS thread limit, kernel dispatch), not by the GEMMs.  Each timing is one
block of ``--calls`` consecutive ``predict`` (classifier: ``predict_proba`` too)
calls; blocks of the contenders alternate (``interleaved``); the table reports
the median microseconds per call and ``sklearn / sknn`` (> 1: sknn is faster).
The last rows time ``Perceptron.predict`` and ``decision_function`` on the whole
sparse text workload of ``bench_perceptron.py`` (100000 x 50000, 5M non-zeros; binary
and 10 classes, float64 and float32; one call per timed block, ``--sparse-repeats``
blocks).  A few minutes in all:

    .venv/bin/python benchmarks/bench_predict_latency.py [--calls 200] [--repeats 15]

Run it as it is, with the process's default BLAS threads: that is what a serving
process sees.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _common import REPO, format_table, interleaved, machine_info, median, numba_cache_dir, quiet  # noqa: E402

os.environ.setdefault("NUMBA_CACHE_DIR", numba_cache_dir("predict_latency"))
sys.path.insert(0, str(REPO))

import argparse  # noqa: E402
import itertools  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from bench_perceptron import text_problem  # noqa: E402
from sklearn import linear_model as sk_linear  # noqa: E402
from sklearn import neural_network as sk  # noqa: E402

import sknn  # noqa: E402

#: California-housing-like regression and a 10-class problem, sknn's default net.
N_TRAIN = 2000
N_FEATURES = 8
HIDDEN = (100,)
ROW_COUNTS = (1, 10)
#: Classes of the sparse text workload: one unit (binary) and ten (one-vs-rest).
SPARSE_CLASSES = (2, 10)


def fitted_pair(kind, dtype):
    rng = np.random.RandomState(0)
    X = rng.randn(N_TRAIN, N_FEATURES).astype(dtype)
    if kind == "MLPRegressor":
        y = X[:, 0] + np.sin(X[:, 1])
    else:
        y = np.digitize(X[:, 0] + X[:, 1], np.linspace(-2, 2, 9))
    if kind == "Perceptron":
        kw, sk_module = dict(max_iter=5, random_state=0), sk_linear
    else:
        kw, sk_module = dict(hidden_layer_sizes=HIDDEN, max_iter=5, random_state=0), sk
    with quiet():
        return X, getattr(sk_module, kind)(**kw).fit(X, y), getattr(sknn, kind)(**kw).fit(X, y)


def block(method, X, calls):
    def run():
        for _ in range(calls):
            method(X)
    return run


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=200, help="predict calls per timed block")
    ap.add_argument("--repeats", type=int, default=15, help="timed blocks per contender")
    ap.add_argument("--sparse-repeats", type=int, default=11,
                    help="timed full-matrix predicts per contender on the sparse text workload")
    ap.add_argument("--sparse-only", action="store_true",
                    help="only the sparse text workload (the Perceptron's CSR predictions)")
    ap.add_argument("--cpu-time", action="store_true",
                    help="time the process's CPU seconds, not the wall clock (a loaded machine "
                         "descheduling the process inflates wall times at random)")
    args = ap.parse_args(argv)
    clock = time.process_time if args.cpu_time else time.perf_counter
    print(machine_info())
    headers = ["estimator", "method", "dtype", "rows", "sklearn us", "sknn us", "sklearn/sknn"]
    rows = []

    def report(row):
        rows.append(row)
        print(format_table(headers, [row]).splitlines()[-1], flush=True)

    for kind in () if args.sparse_only else ("MLPRegressor", "MLPClassifier", "Perceptron"):
        methods = ["predict"] + (["predict_proba"] if kind == "MLPClassifier" else [])
        for dtype in (np.float64, np.float32):
            X, sk_est, sknn_est = fitted_pair(kind, dtype)
            for method in methods:
                for n, sparse in itertools.product(ROW_COUNTS, (False, True)):
                    Xn = sp.csr_matrix(X[:n]) if sparse else np.ascontiguousarray(X[:n])
                    times = interleaved(
                        {"sklearn": block(getattr(sk_est, method), Xn, args.calls),
                         "sknn": block(getattr(sknn_est, method), Xn, args.calls)},
                        args.repeats, warmup=("sklearn", "sknn"), clock=clock)
                    t_sk = median(times["sklearn"]) / args.calls * 1e6
                    t_nn = median(times["sknn"]) / args.calls * 1e6
                    report([kind, method, np.dtype(dtype).name + (" CSR" if sparse else ""), n,
                            f"{t_sk:.0f}", f"{t_nn:.0f}", f"{t_sk / t_nn:.2f}x"])
    for n_classes in SPARSE_CLASSES:
        X64, y = text_problem(n_classes=n_classes)
        for dtype in (np.float64, np.float32):
            X = X64.astype(dtype)
            with quiet():
                sk_est = sk_linear.Perceptron(max_iter=5, tol=None, random_state=0).fit(X, y)
                sknn_est = sknn.Perceptron(max_iter=5, tol=None, random_state=0).fit(X, y)
            for method in ("predict", "decision_function"):
                times = interleaved({"sklearn": block(getattr(sk_est, method), X, 1),
                                     "sknn": block(getattr(sknn_est, method), X, 1)},
                                    args.sparse_repeats, warmup=("sklearn", "sknn"),
                                    clock=clock)
                t_sk, t_nn = median(times["sklearn"]) * 1e6, median(times["sknn"]) * 1e6
                report([f"Perceptron {n_classes} cl.", method,
                        f"{np.dtype(dtype).name} CSR {X.nnz / 1e6:.1f}M nnz", X.shape[0],
                        f"{t_sk:.0f}", f"{t_nn:.0f}", f"{t_sk / t_nn:.2f}x"])
    print()
    print(format_table(headers, rows))


if __name__ == "__main__":
    main()
