"""
=========================================
Perceptron on iris petals
=========================================

:class:`sknn.Perceptron` is a layer of threshold logic units (TLUs). On the two
petal features of the iris data set, *setosa* is linearly separable from the
other species, so a single TLU finds a separating line. With three classes,
one unit per class is trained one-vs-rest; *versicolor* is not linearly
separable from the rest, which the second panel shows.

sknn visits the samples in scikit-learn's order, so with the same
``random_state`` it learns scikit-learn's coefficients.
"""

# %%
# Setosa against the rest: one threshold logic unit
# --------------------------------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_iris
from sklearn.linear_model import Perceptron as SklearnPerceptron

from sknn import Perceptron

iris = load_iris(as_frame=True)
X = iris.data[["petal length (cm)", "petal width (cm)"]].to_numpy()
y = iris.target.to_numpy()
is_setosa = y == 0

binary = Perceptron(random_state=0).fit(X, is_setosa)
print(f"training accuracy, setosa vs rest: {binary.score(X, is_setosa):.3f}")
print(f"weights {binary.coef_.ravel()}, bias {binary.intercept_}")

reference = SklearnPerceptron(random_state=0).fit(X, is_setosa)
print("same coefficients as scikit-learn:", np.allclose(binary.coef_, reference.coef_))

# %%
# Three classes: three units, one-vs-rest
# ---------------------------------------
multiclass = Perceptron(random_state=0).fit(X, y)
print(f"training accuracy, 3 classes: {multiclass.score(X, y):.3f}")
print("one row of weights per unit:\n", multiclass.coef_)

# %%
# The decision regions
# --------------------
# Each point of a fine grid is coloured by the class the perceptron predicts.
xx, yy = np.meshgrid(np.linspace(0, 7.5, 400), np.linspace(-0.5, 3.0, 300))
grid = np.c_[xx.ravel(), yy.ravel()]

fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
for ax, model, target, labels in [
    (axes[0], binary, is_setosa, ["not setosa", "setosa"]),
    (axes[1], multiclass, y, list(iris.target_names)),
]:
    regions = model.predict(grid).astype(int).reshape(xx.shape)
    ax.contourf(xx, yy, regions, levels=np.arange(len(labels) + 1) - 0.5,
                cmap="viridis", alpha=0.3)
    points = ax.scatter(X[:, 0], X[:, 1], c=target.astype(int), cmap="viridis",
                        vmin=0, vmax=len(labels) - 1, edgecolor="k", s=25)
    ax.legend(points.legend_elements()[0], labels, loc="upper left")
    ax.set_xlabel("petal length (cm)")
    ax.set_title(f"{len(labels)} classes, training accuracy "
                 f"{model.score(X, target):.2f}")
axes[0].set_ylabel("petal width (cm)")
fig.tight_layout()
plt.show()
