"""
Successive halving over the number of epochs
============================================

:class:`~sklearn.model_selection.HalvingRandomSearchCV` (successive halving,
the idea behind Hyperband) gives many candidates a small budget, keeps the
best third and triples their budget, and so on.  With ``resource="max_iter"``
the budget is the number of training epochs of an :class:`sknn.MLPClassifier`:
weak learning rates and penalties are dropped after a few epochs, and only the
winner trains for the full 27.
"""

import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import loguniform
from sklearn.datasets import load_digits
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import HalvingRandomSearchCV, train_test_split

from sknn import MLPClassifier

X, y = load_digits(return_X_y=True)
X = X / 16.0
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

search = HalvingRandomSearchCV(
    # each candidate trains exactly its budget of epochs
    MLPClassifier(hidden_layer_sizes=(64,), n_iter_no_change=np.inf, random_state=0),
    {
        "learning_rate_init": loguniform(1e-4, 1e-1),
        "alpha": loguniform(1e-6, 1e-1),
        "activation": ["relu", "tanh", "gelu"],
    },
    resource="max_iter",
    min_resources=1,
    max_resources=27,
    factor=3,
    n_candidates=27,
    cv=3,
    random_state=0,
).fit(X_train, y_train)

print("epochs per round:    ", search.n_resources_)
print("candidates per round:", search.n_candidates_)
print("best:", search.best_params_)
print(f"test accuracy: {search.score(X_test, y_test):.3f}")

# %%
# Each line is one candidate: its cross-validated accuracy after each round it
# survived.  Most are dropped after one or three epochs.
res = search.cv_results_
fig, ax = plt.subplots(figsize=(6, 3.5))
keys = [tuple(sorted((k, str(v)) for k, v in p.items() if k != "max_iter"))
        for p in res["params"]]
for key in set(keys):
    rows = [i for i, k in enumerate(keys) if k == key]
    ax.plot(res["n_resources"][rows], res["mean_test_score"][rows], marker="o", alpha=0.6)
ax.set(xscale="log", xticks=search.n_resources_, xticklabels=search.n_resources_,
       xlabel="epochs (max_iter)", ylabel="mean CV accuracy",
       title="Successive halving with MLPClassifier")
fig.tight_layout()
assert np.isfinite(res["mean_test_score"]).all()
