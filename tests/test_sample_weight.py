"""Sample and class weights: integer weights equal repeated rows, zero weights equal
dropped rows, weights reach the validation scores, class_weight='balanced' helps
the minority class (invalid weights: tests/test_input_validation.py).
"""


import numpy as np
import pytest
from _helpers import scaled_diabetes
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.metrics import recall_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sknn import MLPClassifier, MLPRegressor

# Short trainings on purpose: "maximum iterations reached" is expected here;
# tests about that warning use pytest.warns, which still sees it.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def test_class_weight_balanced_raises_minority_recall():
    X, y = load_breast_cancer(return_X_y=True)
    minority = np.flatnonzero(y == 0)[:25]  # keep 25 malignant cases: ~7% of the data
    keep = np.r_[minority, np.flatnonzero(y == 1)]
    X, y = StandardScaler().fit_transform(X[keep]), y[keep]
    Xtr, Xte, ytr, yte = train_test_split(X, y, stratify=y, random_state=0, test_size=0.5)
    recall = {}
    for cw in [None, "balanced"]:
        clf = MLPClassifier(hidden_layer_sizes=(5,), class_weight=cw, alpha=1.0, random_state=0,
                            max_iter=30).fit(Xtr, ytr)
        recall[cw] = recall_score(yte, clf.predict(Xte), pos_label=0)
    assert recall["balanced"] > recall[None]


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_integer_weights_equal_repeated_rows_with_lbfgs(Est):
    X, y = load_digits(return_X_y=True)
    X, y = StandardScaler().fit_transform(X[:300]), y[:300]
    if Est is MLPRegressor:
        y = y / 9.0
    w = np.random.RandomState(0).randint(0, 4, len(y))
    kw = dict(hidden_layer_sizes=(10,), solver="lbfgs", random_state=0, max_iter=30)
    weighted = Est(**kw).fit(X, y, sample_weight=w)
    repeated = Est(**kw).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    for a, b in zip(weighted.coefs_, repeated.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_zero_weights_equal_dropping_rows(solver):
    X, y = scaled_diabetes()
    w = (np.arange(len(y)) % 3 != 0).astype(float)
    kw = dict(hidden_layer_sizes=(8,), solver=solver, random_state=0, max_iter=5,
              batch_size=len(y), shuffle=False, learning_rate_init=0.01)
    weighted = MLPRegressor(**kw).fit(X, y, sample_weight=w)
    dropped = MLPRegressor(**{**kw, "batch_size": int(w.sum())}).fit(X[w > 0], y[w > 0])
    for a, b in zip(weighted.coefs_, dropped.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-10)


def test_sample_weight_enters_validation_scores():
    X, y = scaled_diabetes()
    w = np.r_[np.ones(200), np.zeros(len(y) - 200)]
    reg = MLPRegressor(hidden_layer_sizes=(5,), random_state=0, max_iter=3)
    reg.fit(X, y, X_val=X, y_val=y, sample_weight_val=w)
    from sklearn.metrics import r2_score

    expected = r2_score(y, reg.predict(X), sample_weight=w)
    assert reg.history_["val_score"][-1] == pytest.approx(expected)
