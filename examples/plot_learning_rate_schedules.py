"""
==================================================
Learning-rate schedules: one cycle and cosine
==================================================

``learning_rate="one_cycle"`` warms the rate up linearly from
``learning_rate_init / 25`` to ``learning_rate_init`` over the first 30% of
``max_iter`` epochs, then lowers it along a cosine to zero (L. Smith's 1cycle,
fast.ai's ``fit_one_cycle``); ``"cosine"`` only anneals. Both work with Adam
and SGD. The warm-up is what makes a large rate usable: held constant, the
same rate makes the validation loss wander.

The callbacks :class:`~sknn.callbacks.LearningRateScheduler` and
:class:`~sknn.callbacks.ReduceLROnPlateau` set the rate from a function or on
a plateau, as Keras' callbacks of the same names; ``history_["learning_rate"]``
records the rate each epoch used.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import fetch_california_housing
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sknn import MLPRegressor
from sknn.callbacks import ReduceLROnPlateau

X, y = fetch_california_housing(return_X_y=True)
X_train, X_val, y_train, y_val = train_test_split(X, y, random_state=42)
scaler = StandardScaler().fit(X_train)
X_train, X_val = scaler.transform(X_train), scaler.transform(X_val)

# Exactly 30 epochs each (n_iter_no_change=np.inf), large batches, Adam.
params = dict(hidden_layer_sizes=(50, 50, 50), batch_size=512, max_iter=30,
              n_iter_no_change=np.inf, random_state=42)
runs = {
    "constant 0.01": MLPRegressor(learning_rate_init=0.01, **params),
    "constant 0.03": MLPRegressor(learning_rate_init=0.03, **params),
    "one_cycle 0.03": MLPRegressor(learning_rate="one_cycle", learning_rate_init=0.03,
                                   **params),
    "cosine 0.03": MLPRegressor(learning_rate="cosine", learning_rate_init=0.03, **params),
    "ReduceLROnPlateau 0.03": MLPRegressor(
        learning_rate_init=0.03, **params,
        callbacks=[ReduceLROnPlateau(monitor="val_loss", factor=0.3, patience=3)]),
}
for name, est in runs.items():
    est.fit(X_train, y_train, X_val=X_val, y_val=y_val)
    val = np.array(est.history_["val_loss"])
    print(f"{name:24s} best val_loss {val.min():.4f} at epoch {val.argmin() + 1}")

# %%
# When does one cycle reach the constant rate's best?
# ---------------------------------------------------
best = min(runs["constant 0.03"].history_["val_loss"])
one_cycle = np.array(runs["one_cycle 0.03"].history_["val_loss"])
print(f"constant 0.03 reaches {best:.4f} at epoch "
      f"{np.argmin(runs['constant 0.03'].history_['val_loss']) + 1}; one_cycle at epoch "
      f"{np.flatnonzero(one_cycle <= best)[0] + 1}")

fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
for name, est in runs.items():
    epochs = np.arange(1, est.n_iter_ + 1)
    ax0.plot(epochs, est.history_["val_loss"], label=name)
    ax1.plot(epochs, est.history_["learning_rate"], label=name)
ax0.set_ylim(0.12, 0.25)
ax0.set_xlabel("epoch")
ax0.set_ylabel("validation loss (half squared error)")
ax1.set_xlabel("epoch")
ax1.set_ylabel('history_["learning_rate"]')
ax1.set_yscale("log")
ax1.legend(loc="lower left", fontsize="small")
plt.show()
