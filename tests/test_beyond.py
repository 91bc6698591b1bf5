"""Beyond scikit-learn's MLP: losses, output activations, weight init, weights, wide & deep.

The real-data tests read California housing through scikit-learn's own loader
(tests/conftest.py primes its cache offline from ../shared/data).
"""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn import neural_network as sk
from sklearn.datasets import (
    fetch_california_housing,
    load_breast_cancer,
    load_diabetes,
    load_digits,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import recall_score, root_mean_squared_error
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from sknn import MLPClassifier, MLPRegressor

# Short trainings on purpose: "maximum iterations reached" is expected here;
# tests about that warning use pytest.warns, which still sees it.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@pytest.fixture(scope="module")
def housing():
    """The seed's recipe: train_test_split(random_state=42) twice."""
    data = fetch_california_housing()
    X_full, X_test, y_full, y_test = train_test_split(data.data, data.target, random_state=42)
    X_train, X_valid, y_train, y_valid = train_test_split(X_full, y_full, random_state=42)
    return X_train, X_valid, X_test, y_train, y_valid, y_test


def _diabetes():
    X, y = load_diabetes(return_X_y=True)
    return StandardScaler().fit_transform(X), (y - y.mean()) / y.std()


# ------------------------------------------------------------ real data
@pytest.mark.slow
def test_california_rmse_matches_sklearn(housing):
    X_train, X_valid, _, y_train, y_valid, _ = housing
    rmse = {}
    for name, est in [("sknn", MLPRegressor), ("sklearn", sk.MLPRegressor)]:
        net = est(hidden_layer_sizes=[50, 50, 50], random_state=42)
        model = make_pipeline(StandardScaler(), net)
        rmse[name] = root_mean_squared_error(y_valid, model.fit(X_train, y_train).predict(X_valid))
    assert abs(rmse["sknn"] - rmse["sklearn"]) < 0.01


@pytest.mark.slow
def test_robust_losses_beat_squared_error_with_outliers(housing):
    X_train, _, X_test, y_train, _, y_test = housing
    rng = np.random.RandomState(0)
    y_dirty = y_train.copy()
    hit = rng.rand(len(y_dirty)) < 0.05
    y_dirty[hit] *= 10
    rmse = {}
    for loss in ["squared_error", "huber", "absolute_error"]:
        model = make_pipeline(
            StandardScaler(),
            MLPRegressor(loss=loss, hidden_layer_sizes=(50, 50), random_state=0, max_iter=60),
        ).fit(X_train, y_dirty)
        rmse[loss] = root_mean_squared_error(y_test, model.predict(X_test))
    assert rmse["huber"] < 0.9 * rmse["squared_error"]
    assert rmse["absolute_error"] < 0.9 * rmse["squared_error"]


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


def test_positive_and_bounded_output_activations(housing):
    X_train, _, X_test, y_train, _, _ = housing
    X_train, X_test = X_train[:3000], X_test[:1000]
    scaler = StandardScaler().fit(X_train)
    Xtr, Xte = scaler.transform(X_train), scaler.transform(X_test)
    y = y_train[:3000]
    for act in ["softplus", "relu"]:
        reg = MLPRegressor(output_activation=act, hidden_layer_sizes=(20,), random_state=0,
                           max_iter=30).fit(Xtr, y - y.min())
        assert reg.predict(Xte * 3).min() >= 0
    y01 = MinMaxScaler().fit_transform(y.reshape(-1, 1)).ravel()
    reg = MLPRegressor(output_activation="sigmoid", hidden_layer_sizes=(20,), random_state=0,
                       max_iter=30).fit(Xtr, y01)
    pred = reg.predict(Xte * 10)
    assert pred.min() >= 0 and pred.max() <= 1
    assert reg.score(Xtr, y01) > 0.5


def test_bounded_output_rejects_out_of_range_targets_before_any_change():
    X, y = _diabetes()
    reg = MLPRegressor(output_activation="tanh", hidden_layer_sizes=(5,), max_iter=5,
                       random_state=0, warm_start=True).fit(X, np.tanh(y))
    before = [c.copy() for c in reg.coefs_]
    with pytest.raises(ValueError, match="MinMaxScaler"):
        reg.fit(X, y * 3)
    assert all(np.array_equal(a, b) for a, b in zip(reg.coefs_, before))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        MLPRegressor(output_activation="sigmoid").fit(X, y)
    with pytest.raises(ValueError, match="poisson.*tanh"):
        MLPRegressor(loss="poisson", output_activation="tanh").fit(X, np.abs(y) / 4)
    with pytest.raises(ValueError, match="huber_delta"):
        MLPRegressor(loss="huber", huber_delta=0).fit(X, y)


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


# ---------------------------------------------------------- sample weights
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
    X, y = _diabetes()
    w = (np.arange(len(y)) % 3 != 0).astype(float)
    kw = dict(hidden_layer_sizes=(8,), solver=solver, random_state=0, max_iter=5,
              batch_size=len(y), shuffle=False, learning_rate_init=0.01)
    weighted = MLPRegressor(**kw).fit(X, y, sample_weight=w)
    dropped = MLPRegressor(**{**kw, "batch_size": int(w.sum())}).fit(X[w > 0], y[w > 0])
    for a, b in zip(weighted.coefs_, dropped.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-10)


def test_sample_weight_enters_validation_scores():
    X, y = _diabetes()
    w = np.r_[np.ones(200), np.zeros(len(y) - 200)]
    reg = MLPRegressor(hidden_layer_sizes=(5,), random_state=0, max_iter=3)
    reg.fit(X, y, X_val=X, y_val=y, sample_weight_val=w)
    from sklearn.metrics import r2_score

    expected = r2_score(y, reg.predict(X), sample_weight=w)
    assert reg.history_["val_score"][-1] == pytest.approx(expected)


# ------------------------------------------------------- losses x solvers
@pytest.mark.parametrize("loss", ["squared_error", "absolute_error", "huber", "poisson"])
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_every_loss_with_every_solver_multioutput(loss, solver):
    X, y = _diabetes()
    Y = np.c_[y, 0.5 * y]
    if loss == "poisson":
        Y = np.exp(Y / 2)
    reg = MLPRegressor(loss=loss, solver=solver, hidden_layer_sizes=(10,), random_state=0,
                       max_iter=60, learning_rate_init=0.01)
    reg.fit(X, Y)
    assert reg.predict(X).shape == Y.shape
    assert reg.score(X, Y) > 0.2
    if solver != "lbfgs":
        es = MLPRegressor(loss=loss, solver=solver, hidden_layer_sizes=(10,), random_state=0,
                          early_stopping=True, max_iter=30, learning_rate_init=0.01).fit(X, Y)
        # the validation score stays R^2, whatever the loss
        assert es.best_validation_score_ == max(es.validation_scores_)
        assert -1 < es.best_validation_score_ <= 1


def test_huber_interpolates_between_squared_and_absolute():
    X, y = _diabetes()
    kw = dict(hidden_layer_sizes=(6,), solver="lbfgs", random_state=0, max_iter=20)
    big = MLPRegressor(loss="huber", huber_delta=1e6, **kw).fit(X, y)
    sq = MLPRegressor(loss="squared_error", **kw).fit(X, y)
    np.testing.assert_allclose(big.predict(X), sq.predict(X), rtol=1e-8)
    assert big.loss_ == pytest.approx(sq.loss_)


# -------------------------------------------------------------- weight init
@pytest.mark.parametrize("scheme, std", [
    ("glorot_normal", lambda fi, fo: np.sqrt(2 / (fi + fo))),
    ("he_normal", lambda fi, fo: np.sqrt(2 / fi)),
    ("lecun_normal", lambda fi, fo: np.sqrt(1 / fi)),
    ("he_uniform", lambda fi, fo: np.sqrt(2 / fi)),
])
def test_weight_init_schemes(scheme, std):
    X = np.random.RandomState(0).randn(50, 400)
    y = np.r_[np.zeros(25), np.ones(25)]
    clf = MLPClassifier(hidden_layer_sizes=(300,), weight_init=scheme, max_iter=1, random_state=0,
                        learning_rate_init=1e-12)
    clf.fit(X, y)
    W = clf.coefs_[0]
    assert W.std() == pytest.approx(std(*W.shape), rel=0.03)
    assert np.all(clf.intercepts_[0] == 0) or np.abs(clf.intercepts_[0]).max() < 1e-9
    if scheme.endswith("normal"):
        assert np.abs(W).max() <= 2 * std(*W.shape) / 0.87962566103423978 + 1e-12


def test_default_init_is_sklearns():
    X, y = _diabetes()
    kw = dict(hidden_layer_sizes=(7,), max_iter=1, random_state=5, learning_rate_init=1e-12,
              activation="logistic")
    ours, theirs = MLPRegressor(**kw).fit(X, y), sk.MLPRegressor(**kw).fit(X, y)
    for a, b in zip(ours.coefs_, theirs.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-9)


# --------------------------------------------------------------- wide & deep
def test_wide_and_deep_layout_and_columns():
    X, y = _diabetes()
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
