"""Cost of the training workflow (history, callbacks, validation) per epoch.

Shape of the foundation benchmark: California housing's training split
(11610 x 8), hidden_layer_sizes=(50, 50, 50), adam, batch 200.  The data is
synthetic with that shape (the epoch time depends on the shape only).

    python benchmarks/bench_callbacks.py [--epochs 20] [--repeats 5]

Prints the per-epoch wall time of ``fit`` for each configuration and its
ratio to the bare loop (history is always recorded; "callbacks" adds
EarlyStopping + CSVLogger + LambdaCallback; "validation" adds a 2902-row
validation set scored every epoch, which is a real forward pass rather than
overhead).  Target: callbacks + history < 2% over the bare loop.
"""

import argparse
import os
import tempfile
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from sknn import MLPRegressor
from sknn.callbacks import CSVLogger, EarlyStopping, LambdaCallback


def _data(seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(11610 + 2902, 8)
    y = X @ rng.randn(8) + np.sin(X[:, 0]) + 0.1 * rng.randn(len(X))
    return X[:11610], y[:11610], X[11610:], y[11610:]


def _per_epoch(make, X, y, fit_kw, epochs, repeats):
    times = []
    for _ in range(repeats):
        est = make()
        start = time.perf_counter()
        est.fit(X, y, **fit_kw)
        times.append((time.perf_counter() - start) / est.n_iter_)
    return min(times), est


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    X, y, Xv, yv = _data()
    tmp = tempfile.mkdtemp()

    def base(**kw):
        return MLPRegressor(hidden_layer_sizes=(50, 50, 50), max_iter=args.epochs, tol=0.0,
                            n_iter_no_change=np.inf, random_state=0, **kw)

    def with_callbacks():
        return base(callbacks=[
            EarlyStopping(monitor="loss", patience=10**6),
            CSVLogger(os.path.join(tmp, "log.csv")),
            LambdaCallback(on_epoch_end=lambda est, epoch, logs: False),
        ])

    base().fit(X[:400], y[:400])  # compile / load the kernels
    configs = [
        ("bare loop (history only)", base, {}),
        ("+ callbacks", with_callbacks, {}),
        ("+ callbacks + validation", with_callbacks, {"X_val": Xv, "y_val": yv}),
    ]
    # Interleave the configurations so drift on a shared machine hits all alike.
    results = {name: [] for name, _, _ in configs}
    kernel = []
    for _ in range(args.repeats):
        for i, (name, make, kw) in enumerate(configs):
            t, est = _per_epoch(make, X, y, kw, args.epochs, 1)
            results[name].append(t)
            if i == 0:  # the jitted epoch alone, as timed inside the loop
                kernel.append(float(np.median(est.history_["epoch_time"])))
    kernel = min(kernel)
    ref = min(results[configs[0][0]])
    print(f"X {X.shape}, hidden (50, 50, 50), {args.epochs} epochs, best of {args.repeats}")
    for name, _, _ in configs:
        t = min(results[name])
        print(f"{name:28s} {1e3 * t:8.2f} ms/epoch   ratio {t / ref:.4f}")
    print(f"{'jitted epoch (epoch_time)':28s} {1e3 * kernel:8.2f} ms/epoch   "
          f"(fit per epoch / kernel {ref / kernel:.4f}: setup + history + loop)")
    print(f"callbacks + history overhead, wall clock: "
          f"{100 * (min(results['+ callbacks']) / ref - 1):+.2f}% (noisy on a shared machine)")
    hooks = _hook_cost(with_callbacks(), X, y)
    print(f"callbacks + history overhead, timed directly: {1e6 * hooks:.1f} us/epoch = "
          f"{100 * hooks / kernel:.3f}% of an epoch")


def _hook_cost(est, X, y, n=2000):
    """Seconds per epoch spent recording history and running the callbacks,
    timed in isolation (EarlyStopping improving every time: a weight copy each)."""
    est.set_params(max_iter=1).fit(X[:400], y[:400])
    callbacks = est._callbacks_begin(False)
    logs = {"loss": 1.0, "learning_rate": 1e-3, "epoch_time": 0.0}
    start = time.perf_counter()
    for i in range(n):
        logs["loss"] = 1.0 - 1e-6 * i
        est._record_epoch(logs, verbose=False)
        est._callbacks_epoch_end(callbacks, logs)
    return (time.perf_counter() - start) / n


if __name__ == "__main__":
    main()
