"""
==================================================
An autoencoder beside PCA: codes, errors, outliers
==================================================

:class:`~sknn.MLPAutoencoder` is a network trained to reproduce its input
through a narrow code layer; as a scikit-learn transformer it sits where
:class:`~sklearn.decomposition.PCA` would. On the digits (8 x 8 images, pixels
scaled to [0, 1], a fixed train/test split) we compare, on held-out images:

- the 2-D codes of both, coloured by digit;
- the reconstruction error with 2 and 8 components;
- outlier scoring: ``score_samples`` (minus the reconstruction error) on a mix
  of clean test digits and digits with a 4 x 4 block of pixels replaced by
  noise, against PCA's reconstruction error and an
  :class:`~sklearn.ensemble.IsolationForest`.

The autoencoder uses its defaults: one hidden layer of 100 ReLU units on each
side of a linear code, Adam, 200 epochs.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from sknn import MLPAutoencoder

X, y = load_digits(return_X_y=True)
X = X / 16.0  # pixels in [0, 1]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)

# %%
# Codes and reconstruction error
# ------------------------------
errors = {}
models = {}
for k in (2, 8):
    pca = PCA(n_components=k, random_state=0).fit(X_train)
    # exactly max_iter=200 epochs: the budget here, not a failure to converge
    ae = MLPAutoencoder(n_components=k, n_iter_no_change=np.inf, random_state=0).fit(X_train)
    models[k] = pca, ae
    for name, model in (("PCA", pca), ("MLPAutoencoder", ae)):
        rec = model.inverse_transform(model.transform(X_test))
        errors[name, k] = np.mean((rec - X_test) ** 2)
    print(f"k={k}: held-out mean squared error  PCA {errors['PCA', k]:.4f}   "
          f"MLPAutoencoder {errors['MLPAutoencoder', k]:.4f}")

fig, axes = plt.subplots(1, 3, figsize=(13, 4), layout="constrained")
for ax, (name, model) in zip(axes[:2], (("PCA", models[2][0]),
                                         ("MLPAutoencoder", models[2][1]))):
    codes = model.transform(X_test)
    points = ax.scatter(codes[:, 0], codes[:, 1], c=y_test, cmap="tab10", s=8)
    ax.set_title(f"{name}: 2-D codes of test digits")
fig.colorbar(points, ax=axes[:2], ticks=range(10), label="digit")
ks = [2, 8]
width = 0.35
for i, name in enumerate(("PCA", "MLPAutoencoder")):
    axes[2].bar(np.arange(2) + (i - 0.5) * width, [errors[name, k] for k in ks], width,
                label=name)
axes[2].set_xticks(range(2), [f"{k} components" for k in ks])
axes[2].set_ylabel("held-out mean squared error")
axes[2].legend()
axes[2].set_title("Reconstruction error")

# %%
# Outliers: corrupted digits
# --------------------------
# A fifth as many corrupted images as clean ones join the test set; a good
# scorer ranks them below the clean ones (ROC AUC near 1).
rng = np.random.RandomState(0)
n_bad = len(X_test) // 5
corrupted = X_test[:n_bad].copy().reshape(-1, 8, 8)
for img in corrupted:
    i, j = rng.randint(0, 5, size=2)
    img[i:i + 4, j:j + 4] = rng.uniform(0, 1, size=(4, 4))
X_mix = np.vstack([X_test, corrupted.reshape(n_bad, -1)])
is_normal = np.r_[np.ones(len(X_test)), np.zeros(n_bad)]

pca8, ae8 = models[8]
scores = {
    "MLPAutoencoder (k=8)": ae8.score_samples(X_mix),
    "PCA (k=8) error": -np.mean((pca8.inverse_transform(pca8.transform(X_mix)) - X_mix) ** 2,
                                axis=1),
    "IsolationForest": IsolationForest(random_state=0).fit(X_train).score_samples(X_mix),
}
fig, axes = plt.subplots(1, 3, figsize=(13, 3.5), layout="constrained")
for ax, (name, s) in zip(axes, scores.items()):
    auc = roc_auc_score(is_normal, s)
    print(f"{name:22s} ROC AUC {auc:.3f}")
    ax.hist(s[is_normal == 1], bins=40, alpha=0.6, label="clean")
    ax.hist(s[is_normal == 0], bins=40, alpha=0.6, label="corrupted")
    ax.set_title(f"{name}\nROC AUC {auc:.3f}")
    ax.set_xlabel("score (higher = more normal)")
axes[0].legend()

# %%
# The worst-reconstructed images with their reconstructions.
worst = np.argsort(scores["MLPAutoencoder (k=8)"])[:6]
rec = ae8.inverse_transform(ae8.transform(X_mix[worst]))
fig, axes = plt.subplots(2, 6, figsize=(9, 3.2), layout="constrained")
for col, (i, r) in enumerate(zip(worst, rec)):
    axes[0, col].imshow(X_mix[i].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
    axes[0, col].set_title("corrupted" if is_normal[i] == 0 else "clean", fontsize=9)
    axes[1, col].imshow(r.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
for ax in axes.ravel():
    ax.set_axis_off()
fig.suptitle("Lowest scores: input (top) and reconstruction (bottom)")
plt.show()
