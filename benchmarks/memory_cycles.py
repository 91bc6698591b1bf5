"""Memory stability: many fit/predict cycles in one process must not grow RSS.

    python benchmarks/memory_cycles.py [--cycles 500] [--warmup 50] [--bound-mb 50]

Each cycle fits and predicts with small models of all three estimators on dense
and sparse data (MLPClassifier adam, MLPRegressor lbfgs, Perceptron, plus a
partial_fit and a predict_proba), i.e. 10 fit/partial_fit calls per cycle.  RSS (VmRSS from
/proc/self/status, else ru_maxrss) is sampled after the warm-up -- which
compiles / loads every kernel and lets the allocator settle -- and every 50
cycles.  Exits non-zero when the growth after warm-up exceeds ``--bound-mb``.
"""

import argparse
import gc
import os
import resource
import sys
import time
import warnings

from _common import numba_cache_dir

os.environ.setdefault("NUMBA_CACHE_DIR", numba_cache_dir())

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402

from sknn import MLPClassifier, MLPRegressor, Perceptron  # noqa: E402


def rss_mb():
    """Current resident set size in MB (peak RSS where /proc is unavailable)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024.0 * 1024.0 if sys.platform == "darwin" else 1024.0)


def _data(seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(200, 10)
    y_clf = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    y_reg = X[:, 0] - 2 * X[:, 3]
    X_sparse = sp.csr_matrix(np.where(np.abs(X) > 0.8, X, 0.0))
    return X, X_sparse, y_clf, y_reg


def cycle(i, X, X_sparse, y_clf, y_reg):
    for data in (X, X_sparse):
        clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=5, random_state=i)
        clf.fit(data, y_clf)
        clf.partial_fit(data, y_clf)
        clf.predict(data)
        clf.predict_proba(data)
        reg = MLPRegressor(hidden_layer_sizes=(8, 8), solver="lbfgs", max_iter=10,
                           random_state=i)
        reg.fit(data, y_reg)
        reg.predict(data)
        per = Perceptron(max_iter=5, random_state=i).fit(data, y_clf)
        per.predict(data)
        per.partial_fit(data, y_clf)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--bound-mb", type=float, default=50.0)
    args = parser.parse_args(argv)

    warnings.simplefilter("ignore")
    X, X_sparse, y_clf, y_reg = _data()
    start_rss = rss_mb()
    t0 = time.perf_counter()
    for i in range(args.warmup):
        cycle(i, X, X_sparse, y_clf, y_reg)
    gc.collect()
    base = rss_mb()
    print(f"RSS at start {start_rss:.1f} MB, after {args.warmup} warm-up cycles {base:.1f} MB "
          f"({time.perf_counter() - t0:.1f} s)")
    samples = []
    t0 = time.perf_counter()
    for i in range(args.cycles):
        cycle(i, X, X_sparse, y_clf, y_reg)
        if (i + 1) % 50 == 0:
            gc.collect()
            samples.append(rss_mb())
            print(f"cycle {i + 1:4d}: RSS {samples[-1]:.1f} MB "
                  f"(+{samples[-1] - base:.1f} MB since warm-up)")
    growth = samples[-1] - base if samples else 0.0
    peak_growth = max(samples) - base if samples else 0.0
    # Slope of the second half: a leak keeps climbing, allocator noise flattens out.
    half = samples[len(samples) // 2:]
    slope = (half[-1] - half[0]) / max(1, 50 * (len(half) - 1)) * 1000 if len(half) > 1 else 0.0
    elapsed = time.perf_counter() - t0
    ok = growth < args.bound_mb
    print(f"{args.cycles} cycles ({10 * args.cycles} fit calls) in {elapsed:.1f} s: RSS growth "
          f"{growth:+.1f} MB after warm-up (peak {peak_growth:+.1f} MB), second-half slope "
          f"{slope:+.2f} MB / 1000 cycles; bound {args.bound_mb:g} MB -> "
          f"{'OK' if ok else 'EXCEEDED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
