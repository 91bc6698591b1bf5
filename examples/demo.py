"""sknn and scikit-learn side by side on scikit-learn's bundled data sets.

Run with ``make demo``: trains the same pipelines with the same hyperparameters
and random_state, and prints test scores and fit times.  The first sknn fit of
each kind includes Numba's one-off compilation (cached on disk afterwards).
"""

import time
import warnings

from sklearn import neural_network as sk
from sklearn.datasets import load_diabetes, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

import sknn


def timed_fit(model, X, y):
    start = time.perf_counter()
    model.fit(X, y)
    return time.perf_counter() - start


def main():
    # Both libraries get identical parameters and both reach max_iter on the
    # diabetes cases; scikit-learn has no exact-epoch budget without the warning
    # (sknn's n_iter_no_change=np.inf), so the side-by-side silences it for both.
    warnings.simplefilter("ignore", ConvergenceWarning)
    cases = [
        ("digits, MLPClassifier(hidden=(100,))", load_digits, "MLPClassifier",
         dict(hidden_layer_sizes=(100,), max_iter=200, random_state=0)),
        ("diabetes, MLPRegressor(hidden=(10,), lbfgs)", load_diabetes, "MLPRegressor",
         dict(hidden_layer_sizes=(10,), solver="lbfgs", alpha=10.0, max_iter=200,
              random_state=0)),
        ("diabetes, MLPRegressor(hidden=(50, 50), adam)", load_diabetes, "MLPRegressor",
         dict(hidden_layer_sizes=(50, 50), learning_rate_init=0.01, max_iter=500, random_state=0)),
    ]
    print(f"sknn {sknn.__version__}")
    print(f"{'data set / model':50s} {'library':8s} {'score':>7s} {'fit s':>7s}")
    for title, loader, name, params in cases:
        X, y = loader(return_X_y=True)
        Xtr, Xte, ytr, yte = train_test_split(X, y, random_state=0)
        # a warm-up fit compiles sknn's kernels (or loads them from the disk cache)
        warm_up = getattr(sknn, name)(**{**params, "max_iter": 1})
        make_pipeline(StandardScaler(), warm_up).fit(Xtr, ytr)
        for lib, module in (("sknn", sknn), ("sklearn", sk)):
            model = make_pipeline(StandardScaler(), getattr(module, name)(**params))
            # One BLAS thread for both: sknn picks it for small networks anyway,
            # and two OpenBLAS threads on a busy 2-core machine slow sklearn down
            # many times over, which would make the comparison unfair.
            with threadpool_limits(1, user_api="blas"):
                seconds = timed_fit(model, Xtr, ytr)
            print(f"{title:50s} {lib:8s} {model.score(Xte, yte):7.4f} {seconds:7.3f}")
    print("score: accuracy (classifier) or R^2 (regressor) on a held-out quarter;")
    print("both libraries ran with one BLAS thread and the same random_state")


if __name__ == "__main__":
    main()
