"""
=====================================
Finding a learning rate with lr_find
=====================================

:func:`sknn.lr_find` runs the learning-rate range test (L. Smith, 2017; fast.ai's
``lr_find``): a clone of the estimator takes mini-batch steps with a learning
rate growing geometrically from ``min_lr`` to ``max_lr`` while the loss of
every step is recorded. The loss first barely moves, then falls, then
explodes. The suggestion lies below the rate of the lowest smoothed loss (the
Keras chapter's "a bit below where the loss starts to climb"): a tenth of it
for Adam, a third for SGD with batches of 200, less for smaller batches. The
estimator passed in is left untouched.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sknn import MLPClassifier, lr_find

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
# For comparison, exactly 20 epochs (``n_iter_no_change=np.inf``) with the
# default rate (0.001) and with the suggestion:
for lr in [0.001, result.suggestion]:
    model = clf.set_params(learning_rate_init=lr, max_iter=20,
                           n_iter_no_change=np.inf).fit(X_train, y_train)
    print(f"learning_rate_init={lr:.3g}: training loss {model.loss_:.3f}, "
          f"test accuracy {model.score(X_test, y_test):.3f}")
