"""
=================================================
Learning curves of an MLPClassifier on digits
=================================================

``fit(X, y, X_val=X_val, y_val=y_val)`` scores a fixed validation set after
every epoch; in a :class:`~sklearn.pipeline.Pipeline` with
``transform_input=["X_val"]`` the validation set is scaled like the training
data. ``scoring="accuracy"`` records the accuracy of every epoch, on the
training data and on the validation set, next to the losses. The figures land
in ``history_`` and :class:`sknn.HistoryDisplay` draws them. The training loss
of an epoch is a running mean over its mini-batches, so it is drawn half an
epoch to the left of the figures measured at the end of the epoch.

The :class:`~sknn.callbacks.EarlyStopping` callback stops training once the
monitored figure has not improved for ``patience`` epochs and puts back the
weights of the best epoch, as Keras' callback of the same name does.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn import config_context
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sknn import HistoryDisplay, MLPClassifier
from sknn.callbacks import EarlyStopping

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
X_train, X_val, y_train, y_val = train_test_split(
    X_train, y_train, stratify=y_train, random_state=0
)


def pipeline(**params):
    """StandardScaler + MLP; the pipeline scales X_val with the scaler fitted on X."""
    mlp = MLPClassifier(hidden_layer_sizes=(64,), learning_rate_init=0.01, random_state=0,
                        scoring="accuracy", **params)
    return Pipeline([("scale", StandardScaler()),
                     ("mlp", mlp.set_fit_request(X_val=True, y_val=True))],
                    transform_input=["X_val"])


# %%
# Exactly 60 epochs
# -----------------
# ``n_iter_no_change=np.inf`` switches scikit-learn's convergence test off:
# training runs all ``max_iter`` epochs (Keras' ``epochs=60``) and does not
# warn that it "hasn't converged yet".
with config_context(enable_metadata_routing=True):
    full = pipeline(max_iter=60, n_iter_no_change=np.inf)
    full.fit(X_train, y_train, X_val=X_val, y_val=y_val)
    print(full[-1].summary())
    print(f"epochs: {full[-1].n_iter_}, test accuracy: {full.score(X_test, y_test):.3f}")

# %%
# Stopping on the validation accuracy
# -----------------------------------
# The ``scoring`` metrics are monitors like the losses (greater is better).
with config_context(enable_metadata_routing=True):
    stopped = pipeline(max_iter=60, n_iter_no_change=np.inf,
                       callbacks=[EarlyStopping(monitor="val_accuracy", patience=5)])
    stopped.fit(X_train, y_train, X_val=X_val, y_val=y_val)
    stop = stopped[-1].callbacks_[0]
    print(f"epochs run: {stopped[-1].n_iter_}, best epoch: {stop.best_epoch + 1} "
          f"(val_accuracy {stop.best:.3f}), test accuracy: {stopped.score(X_test, y_test):.3f}")

fig, axes = plt.subplots(1, 2, figsize=(10, 4.5), layout="constrained")
HistoryDisplay.from_estimator(full[-1], ax=axes[0])
axes[0].set_title("60 epochs")
HistoryDisplay.from_estimator(stopped[-1], ax=axes[1])
axes[1].axvline(stop.best_epoch + 1, color="grey", linestyle=":")
axes[1].set_title("EarlyStopping(monitor='val_accuracy', patience=5)")
plt.show()
