"""
==========================================
class_weight on an imbalanced data set
==========================================

With few examples of one class, a classifier minimising the plain log-loss may
sacrifice that class. ``class_weight="balanced"`` weighs every class inversely
to its frequency (``n_samples / (n_classes * bincount(y))``), as scikit-learn's
linear models do; a dict sets the weights by hand. Class weights multiply any
``sample_weight`` passed to ``fit``.

The breast cancer data set is made imbalanced by keeping only 25 malignant
tumours (about 7% of the samples); missing one is the costly error.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import (
    ConfusionMatrixDisplay,
    balanced_accuracy_score,
    recall_score,
)
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sknn import MLPClassifier

data = load_breast_cancer()
malignant = np.flatnonzero(data.target == 0)[:25]
keep = np.r_[malignant, np.flatnonzero(data.target == 1)]
X, y = data.data[keep], data.target[keep]
print(f"{np.sum(y == 0)} malignant, {np.sum(y == 1)} benign")
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, test_size=0.5,
                                                    random_state=0)

# %%
fig, axes = plt.subplots(1, 2, figsize=(9, 4))
for ax, class_weight in zip(axes, [None, "balanced"]):
    clf = make_pipeline(
        StandardScaler(),
        MLPClassifier(hidden_layer_sizes=(5,), alpha=1.0, max_iter=30,
                      n_iter_no_change=np.inf,  # exactly 30 epochs
                      class_weight=class_weight, random_state=0),
    ).fit(X_train, y_train)
    pred = clf.predict(X_test)
    print(f"class_weight={class_weight!s:9s} recall(malignant) "
          f"{recall_score(y_test, pred, pos_label=0):.2f}  "
          f"balanced accuracy {balanced_accuracy_score(y_test, pred):.2f}")
    ConfusionMatrixDisplay.from_predictions(
        y_test, pred, display_labels=data.target_names, ax=ax, colorbar=False
    )
    ax.set_title(f"class_weight={class_weight!r}")
fig.tight_layout()
plt.show()
