"""
=======================================================
California housing: the same RMSE as scikit-learn
=======================================================

A classic recipe for scikit-learn's :class:`~sklearn.neural_network.MLPRegressor`
(three hidden layers of 50 units, a standardising pipeline, ``random_state=42``)
reaches a validation RMSE of about 0.505 (in units of $100,000). Changing the
import to ``from sknn import MLPRegressor`` gives the same model: the same
weight initialisation, the same mini-batch order, the same number of epochs and
the same RMSE, computed by Numba kernels.
"""

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import fetch_california_housing
from sklearn.metrics import root_mean_squared_error
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPRegressor as SklearnMLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sknn import MLPRegressor

housing = fetch_california_housing()
X_train_full, X_test, y_train_full, y_test = train_test_split(
    housing.data, housing.target, random_state=42
)
X_train, X_valid, y_train, y_valid = train_test_split(
    X_train_full, y_train_full, random_state=42
)

# %%
# The same pipeline with either class
# -----------------------------------
# sknn compiles its kernels on first use (or loads them from Numba's disk
# cache): a one-epoch warm-up fit (exactly one: ``n_iter_no_change=np.inf``)
# keeps that out of the timing below.
warm_up = MLPRegressor(hidden_layer_sizes=[50, 50, 50], max_iter=1, n_iter_no_change=np.inf)
warm_up.fit(X_train[:200], y_train[:200])

results = {}
contenders = [("sknn", MLPRegressor), ("scikit-learn", SklearnMLPRegressor)]
for name, Regressor in contenders:
    pipeline = make_pipeline(
        StandardScaler(),
        Regressor(hidden_layer_sizes=[50, 50, 50], random_state=42),
    )
    start = time.perf_counter()
    pipeline.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    rmse = root_mean_squared_error(y_valid, pipeline.predict(X_valid))
    results[name] = pipeline
    print(f"{name:13s} validation RMSE {rmse:.4f}  "
          f"epochs {pipeline[-1].n_iter_:3d}  fit {seconds:5.1f} s")

# %%
# Fit times on a shared machine vary from run to run; see :ref:`performance`
# for measured epoch times.
#
# Both fits follow the same training-loss curve:
fig, ax = plt.subplots(figsize=(7, 4))
for (name, pipeline), style in zip(results.items(), ["-", "--"]):
    ax.plot(pipeline[-1].loss_curve_, style, label=name)
ax.set_xlabel("epoch")
ax.set_ylabel("training loss (half squared error)")
ax.set_yscale("log")
ax.legend()
plt.show()
