"""
=====================================
Dropout against overfitting on digits
=====================================

A network much larger than its data memorises the training set: the training
loss falls towards zero while the held-out loss stops improving and then rises.
Dropout (Srivastava et al., 2014) zeroes a random half (``dropout=0.5``) of the
hidden units at every training step and scales the others up, so no unit can
rely on a few specific partners; prediction uses the whole network.

Both networks below are the same (two hidden layers of 256 units, same
``random_state``, so the same initial weights and batch order), trained for
the same number of epochs on half of the digits; only ``dropout`` differs.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import train_test_split

from sknn import MLPClassifier

X, y = load_digits(return_X_y=True)
X = (X / 16).astype(np.float32)  # pixels in [0, 1]; float32 trains in float32
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.5, stratify=y,
                                                    random_state=0)

# n_iter_no_change=np.inf: exactly max_iter epochs for both
params = dict(hidden_layer_sizes=(256, 256), alpha=0.0, max_iter=100,
              n_iter_no_change=np.inf, random_state=0)
models = {"no dropout": MLPClassifier(**params),
          "dropout=0.5": MLPClassifier(dropout=0.5, **params)}
for name, clf in models.items():
    clf.fit(X_train, y_train, X_val=X_test, y_val=y_test)
    proba = clf.predict_proba(X_test)
    print(f"{name:12s} held-out accuracy {accuracy_score(y_test, clf.predict(X_test)):.4f}"
          f"  log-loss {log_loss(y_test, proba):.4f}  final training loss {clf.loss_:.5f}")

# %%
# Learning curves
# ---------------
# Without dropout the training loss goes to almost zero and the held-out loss
# turns up after its minimum: the network memorises. With dropout the training
# loss (measured on the thinned networks) stays higher and the held-out loss
# keeps a lower floor.
fig, ax = plt.subplots(figsize=(7, 4))
for (name, clf), color in zip(models.items(), ["C0", "C1"]):
    epochs = np.arange(1, clf.n_iter_ + 1)
    ax.plot(epochs - 0.5, clf.history_["loss"], color=color, ls="--",
            label=f"{name}: training")
    ax.plot(epochs, clf.history_["val_loss"], color=color, label=f"{name}: held out")
ax.set_yscale("log")
ax.set_xlabel("epoch")
ax.set_ylabel("log-loss")
ax.legend()
fig.tight_layout()

# %%
# The model
# ---------
# ``summary()`` shows the dropout layers; they hold no parameters.
print(models["dropout=0.5"].summary())
