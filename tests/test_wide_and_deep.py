"""Wide & deep networks: the layout of ``wide_features`` / ``deep_features``, column
names, sparse input, pickling, partial_fit, and the real-data gain on California
housing.
"""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from _helpers import badly_scaled_regression, scaled_diabetes
from sklearn.datasets import load_digits
from sklearn.metrics import root_mean_squared_error
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sknn import MLPClassifier, MLPRegressor

# Short trainings on purpose: "maximum iterations reached" is expected here;
# tests about that warning use pytest.warns, which still sees it.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _reg(**kw):
    params = dict(hidden_layer_sizes=(8,), max_iter=5, random_state=0, n_iter_no_change=np.inf)
    params.update(kw)
    return MLPRegressor(**params)


@pytest.mark.slow
def test_wide_and_deep_at_least_as_good_as_plain(housing):
    X_train, _, X_test, y_train, _, y_test = housing

    def mean_rmse(**params):
        scores = []
        for seed in range(3):
            model = make_pipeline(
                StandardScaler(),
                MLPRegressor(hidden_layer_sizes=[50, 50, 50], random_state=seed, **params),
            ).fit(X_train, y_train)
            scores.append(root_mean_squared_error(y_test, model.predict(X_test)))
        return np.mean(scores)

    assert mean_rmse(wide_features="all") <= mean_rmse()


def test_wide_and_deep_layout_and_columns():
    X, y = scaled_diabetes()
    reg = MLPRegressor(hidden_layer_sizes=(8, 4), wide_features=[0, 2, 9],
                       deep_features=[1, 2, 3, 4], random_state=0, max_iter=20).fit(X, y)
    assert reg.coefs_[0].shape == (4, 8)
    assert reg.coefs_[-1].shape == (3 + 4, 1)  # wide rows first, then the last hidden layer
    # The prediction is exactly: deep path + wide columns @ their rows of coefs_[-1].
    h = X[:, [1, 2, 3, 4]]
    for W, b in zip(reg.coefs_[:-1], reg.intercepts_[:-1]):
        h = np.maximum(h @ W + b, 0)
    manual = X[:, [0, 2, 9]] @ reg.coefs_[-1][:3] + h @ reg.coefs_[-1][3:] + reg.intercepts_[-1]
    np.testing.assert_allclose(reg.predict(X), manual.ravel(), rtol=1e-10)
    # Columns outside deep_features but in wide_features still matter; others don't.
    X2 = X.copy()
    X2[:, 5] += 100.0
    np.testing.assert_array_equal(reg.predict(X2), reg.predict(X))


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_wide_and_deep_sparse_equals_dense_and_pickles(solver):
    rng = np.random.RandomState(0)
    X = rng.rand(150, 20) * (rng.rand(150, 20) < 0.3)
    y = X[:, 0] * 3 - X[:, 1] + X[:, 2:].sum(1) * 0.1
    kw = dict(hidden_layer_sizes=(6,), wide_features=[0, 1], deep_features=list(range(2, 20)),
              solver=solver, random_state=0, max_iter=20)
    dense = MLPRegressor(**kw).fit(X, y)
    sparse = MLPRegressor(**kw).fit(sp.csr_matrix(X), y)
    for a, b in zip(dense.coefs_, sparse.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    again = pickle.loads(pickle.dumps(sparse))
    np.testing.assert_array_equal(again.predict(sp.csr_matrix(X)), sparse.predict(sp.csr_matrix(X)))
    np.testing.assert_allclose(again.predict(X), sparse.predict(sp.csr_matrix(X)), rtol=1e-12)


def test_wide_and_deep_partial_fit():
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    wide = MLPClassifier(hidden_layer_sizes=(16,), wide_features="all", random_state=0)
    plain = MLPClassifier(hidden_layer_sizes=(16,), random_state=0)
    for _ in range(15):  # stream the first 1500 rows in blocks, 15 passes
        for start in range(0, 1500, 300):
            for clf in (wide, plain):
                clf.partial_fit(X[start:start + 300], y[start:start + 300], classes=np.arange(10))
    assert wide.coefs_[-1].shape == (64 + 16, 10)
    assert wide.score(X[1500:], y[1500:]) >= plain.score(X[1500:], y[1500:]) - 0.02


def test_wide_and_deep_features_accept_column_names():
    import pandas as pd
    X, y = badly_scaled_regression()
    df = pd.DataFrame(X, columns=["w0", "d0", "d1", "w1"])
    by_name = _reg(wide_features=["w0", "w1"], deep_features=["d0", "d1"]).fit(df, y)
    by_index = _reg(wide_features=[0, 3], deep_features=[1, 2]).fit(X, y)
    np.testing.assert_array_equal(by_name._wide_idx, [0, 3])
    np.testing.assert_allclose(by_name.predict(df), by_index.predict(X))
    with pytest.raises(ValueError, match=r"wide_features names columns not in X: \['zz'\]"):
        _reg(wide_features=["zz"]).fit(df, y)
    with pytest.raises(ValueError, match="deep_features holds column names.*DataFrame"):
        _reg(deep_features=["d0"]).fit(X, y)


def test_wide_and_deep_summary_fits_a_docs_page():
    X, y = badly_scaled_regression()
    X = np.c_[X, X]
    est = _reg(hidden_layer_sizes=(30, 30), max_iter=1, wide_features=[0, 1, 2, 3, 4],
               deep_features=[2, 3, 4, 5, 6, 7]).fit(X, y)
    assert max(len(line) for line in est.summary().splitlines()) <= 82
