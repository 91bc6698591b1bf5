"""
=====================================
Finding a learning rate with lr_find
=====================================

:func:`sknn.lr_find` runs the learning-rate range test (L. Smith, 2017; fast.ai's
``lr_find``): a clone of the estimator takes mini-batch steps with a learning
rate growing geometrically from ``min_lr`` to ``max_lr`` while the loss of
every batch is recorded. The loss first barely moves, then falls, then
explodes. The suggestion is where the smoothed loss falls fastest, a good
``learning_rate_init``. The estimator passed in is left untouched.
"""

# %%
import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sknn import MLPClassifier, lr_find

# Short trainings on purpose: silence "maximum iterations reached".
warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

clf = MLPClassifier(hidden_layer_sizes=(64,), solver="sgd", batch_size=32,
                    random_state=0)
result = lr_find(clf, X_train, y_train, min_lr=1e-5, max_lr=10.0, n_steps=200)
print(result)

fig, ax = plt.subplots(figsize=(7, 4))
result.plot(ax=ax)
ax.set_title("lr_find: MLPClassifier(solver='sgd') on digits")
plt.show()

# %%
# Training with the suggested rate
# --------------------------------
# For comparison, 20 epochs with the default rate (0.001) and with the
# suggestion:
for lr in [0.001, result.suggestion]:
    model = clf.set_params(learning_rate_init=lr, max_iter=20, tol=0,
                           n_iter_no_change=1000).fit(X_train, y_train)
    print(f"learning_rate_init={lr:.3g}: training loss {model.loss_:.3f}, "
          f"test accuracy {model.score(X_test, y_test):.3f}")
