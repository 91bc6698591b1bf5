"""
=================================================
Learning curves of an MLPClassifier on digits
=================================================

``fit(X, y, X_val=X_val, y_val=y_val)`` scores a fixed validation set
after every epoch. The figures land in ``history_`` and
:class:`sknn.HistoryDisplay` draws them. The training loss of an epoch is a
running mean over its mini-batches, so it is drawn half an epoch to the left of
the validation figures, which are measured at the end of the epoch.

The :class:`~sknn.callbacks.EarlyStopping` callback stops training once the
validation loss has not improved for ``patience`` epochs and puts back the
weights of the best epoch, as Keras' callback of the same name does.
"""

# %%
import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sknn import HistoryDisplay, MLPClassifier
from sknn.callbacks import EarlyStopping

# Short trainings on purpose: silence "maximum iterations reached".
warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
X_train, X_val, y_train, y_val = train_test_split(
    X_train, y_train, stratify=y_train, random_state=0
)
scaler = StandardScaler().fit(X_train)
X_train, X_val, X_test = (scaler.transform(a) for a in (X_train, X_val, X_test))

# %%
# A fixed number of epochs
# ------------------------
# tol=0 and a large n_iter_no_change: exactly max_iter epochs
params = dict(hidden_layer_sizes=(64,), learning_rate_init=0.01, max_iter=60,
              tol=0, n_iter_no_change=1000, random_state=0)
clf = MLPClassifier(**params)
clf.fit(X_train, y_train, X_val=X_val, y_val=y_val)
print(clf.summary())
print(f"epochs: {clf.n_iter_}, test accuracy: {clf.score(X_test, y_test):.3f}")

# %%
# Stopping on the validation loss
# -------------------------------
stopped = MLPClassifier(**params, callbacks=[EarlyStopping(patience=5)])
stopped.fit(X_train, y_train, X_val=X_val, y_val=y_val)
stop = stopped.callbacks_[0]
print(f"epochs run: {stopped.n_iter_}, best epoch: {stop.best_epoch + 1}, "
      f"test accuracy: {stopped.score(X_test, y_test):.3f}")

fig, axes = plt.subplots(1, 2, figsize=(11, 4))
HistoryDisplay.from_estimator(clf, ax=axes[0])
axes[0].set_title("60 epochs")
HistoryDisplay.from_estimator(stopped, ax=axes[1])
axes[1].axvline(stop.best_epoch + 1, color="grey", linestyle=":")
axes[1].set_title("EarlyStopping(patience=5)")
fig.tight_layout()
plt.show()
