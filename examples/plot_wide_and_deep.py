"""
=========================================
Wide & deep network on California housing
=========================================

A wide & deep network (Cheng et al., 2016) feeds some input columns straight to
the output layer, beside the last hidden layer: the deep path learns complex
patterns, the wide path keeps simple ones (near-linear effects) from being
distorted by the stack of layers. In Keras this takes the Functional API; in
sknn it is a parameter:

- ``wide_features``: the columns that go straight to the output layer
  (``"all"`` for every column);
- ``deep_features``: the columns that enter the hidden layers (all by default).

The last model below follows the Keras example of *Hands-On Machine Learning*
(chapter 10): columns 0-4 take the wide path and columns 2-7 the deep one.
On California housing the wide path does not beat a plain deep network (the
three models score within a few hundredths): it pays off when some features
act nearly linearly, or are sparse crosses a deep stack learns poorly, so
compare with cross-validation before keeping it.
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

housing = fetch_california_housing()
names = np.array(housing.feature_names)
X_train, X_test, y_train, y_test = train_test_split(housing.data, housing.target,
                                                    random_state=42)

# Exactly 60 epochs each (n_iter_no_change=np.inf: the budget is on purpose).
params = dict(hidden_layer_sizes=(30, 30), max_iter=60, n_iter_no_change=np.inf,
              learning_rate_init=0.003, random_state=42)
models = {
    "deep only": MLPRegressor(**params),
    "wide (all) & deep": MLPRegressor(wide_features="all", **params),
    "wide & deep": MLPRegressor(wide_features=[0, 1, 2, 3, 4],
                                deep_features=[2, 3, 4, 5, 6, 7], **params),
}
for name, reg in models.items():
    pipe = make_pipeline(StandardScaler(), reg).fit(X_train, y_train)
    rmse = root_mean_squared_error(y_test, pipe.predict(X_test))
    print(f"{name:18s} test RMSE {rmse:.3f}")

# %%
# The layout of the weights
# -------------------------
# :meth:`~sknn.MLPRegressor.summary` lists the layers. The output layer's
# weight matrix ``coefs_[-1]`` has one row per wide column followed by one row
# per unit of the last hidden layer: **the wide rows come first**.
wide_deep = models["wide & deep"]
print(wide_deep.summary())
print("coefs_[-1].shape:", wide_deep.coefs_[-1].shape)

n_wide = len(wide_deep.wide_features)
wide_weights = wide_deep.coefs_[-1][:n_wide, 0]
deep_weights = wide_deep.coefs_[-1][n_wide:, 0]

fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 3.8), width_ratios=[1, 2])
ax0.barh(names[wide_deep.wide_features], wide_weights, color="C1")
ax0.invert_yaxis()
ax0.set_title("wide path: weight of each\nstandardised column")
ax1.bar(np.arange(len(deep_weights)), deep_weights, color="C0")
ax1.set_xlabel("unit of the last hidden layer")
ax1.set_title("deep path: output weights of the hidden units")
fig.tight_layout()
plt.show()
