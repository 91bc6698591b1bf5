"""
===================================================
Output activations for positive and bounded targets
===================================================

A regression network's output is linear (``output_activation="identity"``) by
default, as in scikit-learn, so nothing stops it predicting a negative price.
sknn's ``output_activation`` parameter puts an activation on the output layer:

- ``"softplus"`` (or ``"relu"``) keeps predictions positive;
- ``"sigmoid"`` keeps them in [0, 1] (``"tanh"``: [-1, 1]). Bounded outputs
  reject targets outside their range, so scale the targets, for instance with
  :class:`~sklearn.compose.TransformedTargetRegressor` and a
  :class:`~sklearn.preprocessing.MinMaxScaler`.

California house values are positive and the data set caps them at 5 (that
is, $500,000): a sigmoid output scaled to the observed range cannot predict
beyond the cap.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import fetch_california_housing
from sklearn.metrics import root_mean_squared_error
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from sknn import MLPRegressor

X, y = fetch_california_housing(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)


def network(output_activation):
    # exactly 60 epochs each
    return MLPRegressor(hidden_layer_sizes=(50, 50), max_iter=60, n_iter_no_change=np.inf,
                        random_state=0, output_activation=output_activation)


models = {
    "identity": make_pipeline(StandardScaler(), network("identity")),
    "softplus": make_pipeline(StandardScaler(), network("softplus")),
    "sigmoid + MinMaxScaler": TransformedTargetRegressor(
        regressor=make_pipeline(StandardScaler(), network("sigmoid")),
        transformer=MinMaxScaler(),
    ),
}

# %%
# The linear output may predict negative values and values above the cap; the
# softplus output never predicts a negative one; the scaled sigmoid output
# stays within the range of the training targets.
fig, axes = plt.subplots(1, 3, figsize=(12, 4), sharey=True)
for ax, (name, model) in zip(axes, models.items()):
    pred = model.fit(X_train, y_train).predict(X_test)
    print(f"{name:24s} RMSE {root_mean_squared_error(y_test, pred):.3f}  "
          f"predictions in [{pred.min():6.2f}, {pred.max():5.2f}]  "
          f"below 0: {np.sum(pred < 0):3d}  "
          f"above the cap: {np.sum(pred > y_train.max()):3d}")
    ax.scatter(y_test, pred, s=3, alpha=0.3)
    ax.axhline(0, color="C3", linewidth=0.8)
    ax.axhline(y_train.max(), color="C3", linewidth=0.8, linestyle="--")
    ax.set_title(f"output: {name}")
    ax.set_xlabel("true value")
axes[0].set_ylabel("predicted value")
fig.tight_layout()
plt.show()
