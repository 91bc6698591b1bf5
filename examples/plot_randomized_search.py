"""
=================================================
Tuning the learning rate with RandomizedSearchCV
=================================================

sknn's estimators are scikit-learn estimators, so every model-selection tool
works with them. Learning rates and penalties span orders of magnitude: sample
them from :func:`scipy.stats.loguniform`, not from a linear grid.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.stats import loguniform
from sklearn.datasets import load_digits
from sklearn.model_selection import RandomizedSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sknn import MLPClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)

pipeline = make_pipeline(
    StandardScaler(),
    # exactly 15 epochs per candidate
    MLPClassifier(hidden_layer_sizes=(32,), max_iter=15, n_iter_no_change=np.inf,
                  random_state=0),
)
search = RandomizedSearchCV(
    pipeline,
    {
        "mlpclassifier__learning_rate_init": loguniform(1e-5, 1.0),
        "mlpclassifier__alpha": loguniform(1e-6, 1e1),
    },
    n_iter=24,
    cv=3,
    random_state=0,
)
search.fit(X_train, y_train)
print("best parameters:", search.best_params_)
print(f"cross-validated accuracy {search.best_score_:.3f}, "
      f"test accuracy {search.score(X_test, y_test):.3f}")

# %%
results = pd.DataFrame(search.cv_results_)
fig, ax = plt.subplots(figsize=(7, 4))
points = ax.scatter(results["param_mlpclassifier__learning_rate_init"].astype(float),
                    results["mean_test_score"],
                    c=results["param_mlpclassifier__alpha"].astype(float),
                    norm="log", cmap="viridis", edgecolor="k")
fig.colorbar(points, ax=ax, label="alpha")
ax.set_xscale("log")
ax.set_xlabel("learning_rate_init")
ax.set_ylabel("mean cross-validated accuracy")
ax.set_title("15 epochs of MLPClassifier(32) on digits")
plt.show()
