"""What the beyond-sklearn options cost per epoch: losses, output activations, wide & deep.

    .venv/bin/python benchmarks/bench_losses.py [--batch 200] [--epochs 20] [--repeats 7]

California-housing shape (11610 x 8, synthetic, standardised target), hidden
(50, 50, 50), adam, one BLAS thread.  Every configuration fits the same data in
this process with interleaved repeats; the table gives the median epoch time as a
ratio to the default (squared_error, identity output, no wide part).  Target:
huber and absolute_error within 10% of squared_error.
"""

import os
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    REPO,
    blas_threads,
    format_table,
    interleaved,
    median,
    numba_cache_dir,
    quiet,
)

os.environ.setdefault("NUMBA_CACHE_DIR", numba_cache_dir())

import argparse  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(REPO))
from sknn import MLPRegressor  # noqa: E402

CONFIGS = {
    "squared_error (default)": {},
    "huber": {"loss": "huber"},
    "absolute_error": {"loss": "absolute_error"},
    "softplus output": {"output_activation": "softplus"},
    "huber + sigmoid output": {"loss": "huber", "output_activation": "sigmoid"},
    "wide & deep (all 8 wide)": {"wide_features": list(range(8))},
}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args(argv)
    rng = np.random.RandomState(0)
    X = rng.randn(11610, 8)
    y = np.tanh(X @ rng.randn(8) / 3 + np.sin(X[:, 0]))
    y = (y - y.min()) / (y.max() - y.min())  # inside (0, 1): valid for every output

    def fit(params):
        est = MLPRegressor(hidden_layer_sizes=(50, 50, 50), batch_size=args.batch,
                           max_iter=args.epochs, tol=0.0, n_iter_no_change=10**9,
                           random_state=0, **params)
        return lambda: est.fit(X, y)

    contenders = {name: fit(p) for name, p in CONFIGS.items()}
    with quiet(), blas_threads(1):
        for p in CONFIGS.values():  # compile every variant, untimed
            MLPRegressor(hidden_layer_sizes=(5,), max_iter=1, **p).fit(X[:50], y[:50])
        times = interleaved(contenders, args.repeats)
    ref = median(times["squared_error (default)"])
    rows = [[name, f"{1e3 * median(t) / args.epochs:.2f}", f"{median(t) / ref:.3f}",
             f"{(max(t) - min(t)) / median(t):.0%}"] for name, t in times.items()]
    print(f"11610 x 8, hidden (50, 50, 50), adam, batch {args.batch}, "
          f"{args.epochs} epochs per fit, median of {args.repeats}, 1 BLAS thread")
    print(format_table(["configuration", "ms/epoch", "ratio to default", "spread"], rows))


if __name__ == "__main__":
    main()
