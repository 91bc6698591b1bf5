"""
=========================================
Batch normalization in a deep network
=========================================

Batch normalization (Ioffe & Szegedy, 2015) standardises every hidden unit over
the training batch, then scales and shifts it with two trained parameters
(``gamma``, ``beta``). The Keras chapter this project follows sums up its
effect: faster, more stable learning curves, and larger learning rates allowed.
In sknn it is one parameter, ``batch_normalization=True``: every hidden layer
becomes Dense (no bias) -> BatchNormalization -> activation.

Below, a deep network (6 hidden ReLU layers of 64 units) learns the digits,
with and without batch normalization, from the same initial weights
(``random_state``): first with Adam, then with plain SGD at a learning rate of
0.5, too high for the plain network.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sknn import MLPClassifier

X, y = load_digits(return_X_y=True)
X_train, X_val, y_train, y_val = train_test_split(X / 16, y, test_size=0.3, stratify=y,
                                                  random_state=0)
# n_iter_no_change=np.inf: exactly max_iter epochs for every run
deep = dict(hidden_layer_sizes=(64,) * 6, batch_size=32, n_iter_no_change=np.inf,
            random_state=0)
runs = {
    ("adam", "plain"): MLPClassifier(max_iter=30, **deep),
    ("adam", "batch norm"): MLPClassifier(max_iter=30, batch_normalization=True, **deep),
    ("sgd, lr 0.5", "plain"): MLPClassifier(solver="sgd", learning_rate_init=0.5,
                                            max_iter=20, **deep),
    ("sgd, lr 0.5", "batch norm"): MLPClassifier(solver="sgd", learning_rate_init=0.5,
                                                 max_iter=20, batch_normalization=True, **deep),
}
for (solver, kind), clf in runs.items():
    clf.fit(X_train, y_train, X_val=X_val, y_val=y_val)
    val = np.array(clf.history_["val_loss"])
    print(f"{solver:12s} {kind:10s} best validation loss {val.min():.3f} at epoch "
          f"{val.argmin() + 1}, accuracy {clf.score(X_val, y_val):.3f}")

# %%
# Learning curves
# ---------------
# With Adam the normalised network reaches the plain network's best validation
# loss in well under half the epochs. With SGD at rate 0.5 the plain network
# stays at chance level (log-loss ~ log 10) while the normalised one learns.
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
for ax, solver in zip(axes, ["adam", "sgd, lr 0.5"]):
    for kind, color in [("plain", "C0"), ("batch norm", "C1")]:
        val = runs[(solver, kind)].history_["val_loss"]
        ax.plot(np.arange(1, len(val) + 1), val, color=color, label=kind)
    ax.axhline(np.log(10), color="grey", ls=":", lw=1)
    ax.set_title(solver)
    ax.set_xlabel("epoch")
axes[0].set_ylabel("validation log-loss")
axes[0].set_yscale("log")
axes[0].legend()
fig.tight_layout()

# %%
# What the fitted model holds
# ---------------------------
# ``summary()`` shows the Keras-style layers: Dense without bias,
# BatchNormalization (gamma, beta and the moving mean and variance: 4
# parameters per unit, 2 of them not trained) and the activation. Prediction
# uses the moving statistics, so each row is predicted on its own.
clf = runs[("adam", "batch norm")]
print(clf.summary())
print("gamma of the first layer:", np.round(clf.batch_norm_gamma_[0][:5], 3))
print("moving mean of the first layer:", np.round(clf.batch_norm_moving_mean_[0][:5], 3))
