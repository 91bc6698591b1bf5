"""
==============================================
Huber and absolute-error losses with outliers
==============================================

The squared error lets a few wild targets pull the whole fit towards them. With
``loss="huber"`` the loss is quadratic for residuals up to ``huber_delta`` (in
units of y) and linear beyond, so an outlier's gradient is bounded;
``loss="absolute_error"`` is linear everywhere and fits the conditional median.

Here 5% of the California housing training targets are multiplied by 10, as a
unit mistake in data entry would do; the models are scored on the clean test
set.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import fetch_california_housing
from sklearn.metrics import root_mean_squared_error
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sknn import MLPRegressor

X, y = fetch_california_housing(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
rng = np.random.RandomState(0)
y_dirty = y_train.copy()
corrupted = rng.rand(len(y_dirty)) < 0.05
y_dirty[corrupted] *= 10
print(f"{corrupted.sum()} of {len(y_dirty)} training targets corrupted")

# %%
# One network per loss
# --------------------
losses = {"squared_error": {}, "huber": {"huber_delta": 1.0}, "absolute_error": {}}
rmse = {}
predictions = {}
for loss, extra in losses.items():
    model = make_pipeline(
        StandardScaler(),
        MLPRegressor(loss=loss, hidden_layer_sizes=(50, 50), max_iter=60,
                     n_iter_no_change=np.inf, random_state=0, **extra),
    ).fit(X_train, y_dirty)
    predictions[loss] = model.predict(X_test)
    rmse[loss] = root_mean_squared_error(y_test, predictions[loss])
    print(f"{loss:15s} test RMSE {rmse[loss]:.3f}  epochs {model[-1].n_iter_}")

# %%
# The squared-error model is pulled upwards by the corrupted targets; the
# robust losses are hardly affected.
fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4))
ax0.bar(list(rmse), list(rmse.values()), color=["C0", "C1", "C2"])
ax0.set_ylabel("test RMSE (clean targets)")
ax0.set_title("error on the clean test set")
bins = np.linspace(-3, 3, 61)
for i, (loss, pred) in enumerate(predictions.items()):
    ax1.hist(pred - y_test, bins=bins, histtype="step", linewidth=1.5, color=f"C{i}",
             label=loss)
ax1.axvline(0, color="k", linewidth=0.8)
ax1.set_xlabel("prediction - target")
ax1.set_title("test residuals")
ax1.legend()
fig.tight_layout()
plt.show()
