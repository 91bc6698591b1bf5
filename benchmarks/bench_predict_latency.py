"""Predict latency: sknn vs scikit-learn on 1 and 10 rows (both MLP estimators, float32/64).

Serving one request at a time is dominated by per-call overhead (input validation,
the BLAS thread limit, kernel dispatch), not by the GEMMs.  Each timing is one
block of ``--calls`` consecutive ``predict`` (classifier: ``predict_proba`` too)
calls; blocks of the contenders alternate (``interleaved``); the table reports
the median microseconds per call and ``sklearn / sknn`` (> 1: sknn is faster).

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

import numpy as np  # noqa: E402
from sklearn import neural_network as sk  # noqa: E402

import sknn  # noqa: E402

#: California-housing-like regression and a 10-class problem, sknn's default net.
N_TRAIN = 2000
N_FEATURES = 8
HIDDEN = (100,)
ROW_COUNTS = (1, 10)


def fitted_pair(kind, dtype):
    rng = np.random.RandomState(0)
    X = rng.randn(N_TRAIN, N_FEATURES).astype(dtype)
    if kind == "MLPRegressor":
        y = X[:, 0] + np.sin(X[:, 1])
    else:
        y = np.digitize(X[:, 0] + X[:, 1], np.linspace(-2, 2, 9))
    kw = dict(hidden_layer_sizes=HIDDEN, max_iter=5, random_state=0)
    with quiet():
        return X, getattr(sk, kind)(**kw).fit(X, y), getattr(sknn, kind)(**kw).fit(X, y)


def block(method, X, calls):
    def run():
        for _ in range(calls):
            method(X)
    return run


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=200, help="predict calls per timed block")
    ap.add_argument("--repeats", type=int, default=15, help="timed blocks per contender")
    args = ap.parse_args(argv)
    print(machine_info())
    rows = []
    for kind in ("MLPRegressor", "MLPClassifier"):
        methods = ["predict"] + (["predict_proba"] if kind == "MLPClassifier" else [])
        for dtype in (np.float64, np.float32):
            X, sk_est, sknn_est = fitted_pair(kind, dtype)
            for method in methods:
                for n in ROW_COUNTS:
                    Xn = np.ascontiguousarray(X[:n])
                    times = interleaved(
                        {"sklearn": block(getattr(sk_est, method), Xn, args.calls),
                         "sknn": block(getattr(sknn_est, method), Xn, args.calls)},
                        args.repeats, warmup=("sklearn", "sknn"))
                    t_sk = median(times["sklearn"]) / args.calls * 1e6
                    t_nn = median(times["sknn"]) / args.calls * 1e6
                    rows.append([kind, method, np.dtype(dtype).name, n, f"{t_sk:.0f}",
                                 f"{t_nn:.0f}", f"{t_sk / t_nn:.2f}x"])
                    print(format_table(["estimator", "method", "dtype", "rows", "sklearn us",
                                        "sknn us", "sklearn/sknn"], rows[-1:]).splitlines()[-1],
                          flush=True)
    print()
    print(format_table(["estimator", "method", "dtype", "rows", "sklearn us", "sknn us",
                        "sklearn/sknn"], rows))


if __name__ == "__main__":
    main()
