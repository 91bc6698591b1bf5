"""Cost of the input checks of issue 13 on the sparse text workload.

The sparse-structure check (``sknn._validation.check_sparse_structure``, run on
every sparse X before scipy or a kernel sees it) and the finiteness check of
predictions (``check_finite_output``) are timed alone, then fit / predict are
timed with the checks on and replaced by no-ops, alternating in one process;
the ratio with/without is the median over ``--repeats``. Run:
``.venv/bin/python benchmarks/bench_input_checks.py [--repeats N]``.
"""

import os
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _common import numba_cache_dir  # noqa: E402

os.environ.setdefault("NUMBA_CACHE_DIR", numba_cache_dir("input-checks"))

import argparse  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
from bench_perceptron import text_problem  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

import sknn._base  # noqa: E402
import sknn._perceptron  # noqa: E402
import sknn._validation  # noqa: E402
from sknn import MLPClassifier, Perceptron  # noqa: E402

_REAL = {
    (sknn._validation, "check_sparse_structure"): sknn._validation.check_sparse_structure,
    (sknn._base, "check_finite_output"): sknn._base.check_finite_output,
    (sknn._perceptron, "check_finite_output"): sknn._perceptron.check_finite_output,
}


def checks(on):
    for (module, name), fn in _REAL.items():
        setattr(module, name, fn if on else (lambda *args, **kwargs: None))


def median_time(fn, repeats):
    """(median seconds with the checks, median seconds without), alternating."""
    with_, without = [], []
    for r in range(repeats):
        order = ((True, with_), (False, without))
        for on, times in order if r % 2 == 0 else order[::-1]:  # no first-call bias
            checks(on)
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    checks(True)
    return np.median(with_), np.median(without)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-fit", action="store_true", help="time predict only")
    args = parser.parse_args()
    X, y = text_problem()
    print(f"sparse text workload: {X.shape[0]} x {X.shape[1]}, nnz={X.nnz}")
    check = sknn._validation.check_sparse_structure
    t_check = min(_timed(lambda: check(X, "X")) for _ in range(args.repeats))
    print(f"{'check_sparse_structure alone':44s} {t_check * 1e3:8.2f} ms")
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier(hidden_layer_sizes=(32,), max_iter=1, random_state=0)
        clf.fit(X[:2000], y[:2000])  # compile / load the kernels outside the timing
        perc = Perceptron(max_iter=5, tol=None, random_state=0)
        rows = {
            "Perceptron fit (5 epochs)": lambda: perc.fit(X, y),
            "Perceptron predict": lambda: perc.predict(X),
            "MLPClassifier fit (1 epoch, 32 hidden)": lambda: clf.fit(X, y),
            "MLPClassifier predict_proba": lambda: clf.predict_proba(X),
            "MLPClassifier predict_proba, 1000 rows": lambda: clf.predict_proba(X[:1000]),
        }
        perc.fit(X, y)
        if args.skip_fit:
            rows = {k: v for k, v in rows.items() if "fit" not in k}
        print(f"{'call':44s} {'with s':>9s} {'without s':>10s} {'ratio':>7s}")
        for name, fn in rows.items():
            on, off = median_time(fn, args.repeats)
            print(f"{name:44s} {on:9.4f} {off:10.4f} {on / off:6.3f}x")


def _timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
