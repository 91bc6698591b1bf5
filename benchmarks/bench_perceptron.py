"""Fit time of sknn.Perceptron vs sklearn.linear_model.Perceptron (same process).

Workloads: 200000 x 100 dense float64 (binary and 10 classes) and a sparse
text-like CSR matrix. Repeats alternate between the two libraries; the median
is reported, under ``threadpool_limits(1)``. Run:
``.venv/bin/python benchmarks/bench_perceptron.py [--repeats N]``.  The dense
10-class workload also runs as part of ``bench_mlp.py`` (``make bench``).
"""

import os
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _common import numba_cache_dir  # noqa: E402

# Keyed by a hash of sknn's sources (a stale cache would hide kernel edits).
os.environ.setdefault("NUMBA_CACHE_DIR", numba_cache_dir())

import argparse  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import Perceptron as SkPerceptron  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from sknn import Perceptron  # noqa: E402


def dense_problem(n_samples, n_features, n_classes, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n_samples, n_features))
    W = rng.standard_normal((n_features, n_classes))
    scores = X @ W + 0.5 * rng.standard_normal((n_samples, n_classes))
    y = scores.argmax(axis=1) if n_classes > 2 else (scores[:, 0] > 0).astype(int)
    return X, y


def text_problem(n_samples=100000, n_features=50000, nnz_per_row=60, n_classes=2, seed=0):
    """Zipf-distributed term counts, tf-idf-like scaling, rows L2-normalised."""
    rng = np.random.RandomState(seed)
    ranks = np.arange(1, n_features + 1)
    p = 1.0 / ranks
    p /= p.sum()
    lengths = rng.poisson(nnz_per_row, n_samples).clip(1)
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    cols = rng.choice(n_features, size=indptr[-1], p=p)
    data = rng.exponential(1.0, size=indptr[-1])
    X = sp.csr_matrix((data, cols, indptr), shape=(n_samples, n_features))
    X.sum_duplicates()
    X = sp.csr_matrix(X.multiply(1.0 / np.sqrt(X.multiply(X).sum(axis=1))))
    w = rng.standard_normal((n_features, n_classes))
    scores = np.asarray(X @ w)
    if n_classes > 2:
        y = scores.argmax(axis=1)
    else:
        y = (scores[:, 0] > np.median(scores[:, 0])).astype(int)
    return X, y


def time_fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t0 = time.perf_counter()
        est.fit(X, y)
        return time.perf_counter() - t0, est


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--max-iter", type=int, default=20)
    args = parser.parse_args()
    problems = {
        "dense 200000x100 binary": dense_problem(200000, 100, 2),
        "dense 200000x100 10 classes": dense_problem(200000, 100, 10),
        "sparse text 100000x50000 binary": text_problem(),
        "sparse text 100000x50000 10 classes": text_problem(n_classes=10),
    }
    # tol=None: both run exactly max_iter epochs, so the timing compares equal work.
    params = dict(max_iter=args.max_iter, tol=None, random_state=0)
    with threadpool_limits(1):
        Xw, yw = dense_problem(200, 10, 3)
        Perceptron(**params).fit(Xw, yw)  # compile / load the kernels outside the timing
        Perceptron(**params).fit(sp.csr_matrix(Xw), yw)
        print(f"{'workload':38s} {'sknn s':>8s} {'sklearn s':>9s} "
              f"{'sklearn/sknn':>12s} {'same coef':>9s}")
        for name, (X, y) in problems.items():
            ours, theirs = [], []
            for _ in range(args.repeats):
                t, a = time_fit(Perceptron(**params), X, y)
                ours.append(t)
                t, b = time_fit(SkPerceptron(**params), X, y)
                theirs.append(t)
            same = np.allclose(a.coef_, b.coef_, rtol=1e-10, atol=1e-12)
            mo, mt = np.median(ours), np.median(theirs)
            print(f"{name:38s} {mo:8.3f} {mt:9.3f} {mt / mo:11.2f}x {str(same):>9s}")
        print("same coef: dense input follows sklearn's trajectory exactly; sparse input differs")
        print("by design (sklearn damps sparse intercept updates by 0.01, "
              "sknn trains sparse = dense).")


if __name__ == "__main__":
    main()
