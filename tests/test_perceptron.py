"""sknn.Perceptron: sklearn parity, the perceptron learning rule, multilabel TLU layers."""

import json
import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from _helpers import run_script
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    load_iris,
    make_classification,
    make_multilabel_classification,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Perceptron as SkPerceptron
from sklearn.model_selection import train_test_split
from sklearn.multiclass import OneVsRestClassifier
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import (
    check_dataframe_column_names_consistency,
    check_param_validation,
    parametrize_with_checks,
)

from sknn import MLPClassifier, Perceptron

# Short trainings on purpose: "maximum iterations reached" is expected here;
# tests about that warning use pytest.warns, which still sees it.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

ESTIMATORS = [Perceptron(), Perceptron(penalty="elasticnet", shuffle=False)]

# The per-sample (online) updates of the perceptron rule cannot make integer sample
# weights equal to repeated rows; scikit-learn's own Perceptron declares the same two.
EXPECTED_FAILED = {
    "check_sample_weight_equivalence_on_dense_data": "online per-sample updates",
    "check_sample_weight_equivalence_on_sparse_data": "online per-sample updates",
}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=lambda est: EXPECTED_FAILED)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.parametrize("est", ESTIMATORS, ids=repr)
@pytest.mark.parametrize(
    "chk", [check_param_validation, check_dataframe_column_names_consistency]
)
def test_extra_sklearn_checks(est, chk):
    chk(type(est).__name__, est)


def _fit_quiet(est, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args, **kwargs)


def _blobs(n=60, n_features=5, n_classes=3, seed=0):
    X, y = make_classification(
        n_samples=n, n_features=n_features, n_informative=3, n_redundant=0,
        n_classes=n_classes, n_clusters_per_class=1, random_state=seed,
    )  # fmt: skip
    return X, y


# ------------------------------------------------------------------ the rule itself
def _reference_epoch(X, Y, eta0, fit_intercept=True):
    """One epoch of the perceptron learning rule, in order, for a layer of TLUs.

    Y is an indicator matrix (n_samples, n_units); every unit j follows
    w_j += eta0 * (y_j - yhat_j) * x (and b_j += eta0 * (y_j - yhat_j)), where
    yhat_j = [w_j . x + b_j > 0]; a point exactly on the boundary (activation 0)
    counts as a mistake for both classes, as in scikit-learn's perceptron.
    """
    n_units = Y.shape[1]
    W = np.zeros((n_units, X.shape[1]))
    b = np.zeros(n_units)
    for x, y in zip(X, Y):
        for j in range(n_units):
            a = W[j] @ x + b[j]
            yhat = 1.0 if a > 0 else 0.0
            if a == 0:
                yhat = 1.0 - y[j]  # on the boundary: wrong whatever the label
            W[j] += eta0 * (y[j] - yhat) * x
            if fit_intercept:
                b[j] += eta0 * (y[j] - yhat)
    return W, b


@pytest.mark.nojit
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_one_epoch_equals_numpy_reference_binary(fit_intercept):
    X, y = _blobs(n=40, n_classes=2)
    eta0 = 0.5
    clf = Perceptron(shuffle=False, max_iter=1, tol=None, eta0=eta0, fit_intercept=fit_intercept)
    clf.fit(X, y)  # tol=None: no convergence warning, as in sklearn
    W, b = _reference_epoch(X, (y == 1).astype(float)[:, None], eta0, fit_intercept)
    np.testing.assert_allclose(clf.coef_, W, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(clf.intercept_, b, rtol=1e-12, atol=1e-12)
    assert clf.n_iter_ == 1 and clf.t_ == 1 + X.shape[0]


@pytest.mark.nojit
def test_one_epoch_equals_numpy_reference_multilabel_layer():
    X, Y = make_multilabel_classification(n_samples=40, n_features=6, n_classes=4, random_state=0)
    clf = Perceptron(shuffle=False, max_iter=1, tol=None).fit(X, Y)
    W, b = _reference_epoch(X.astype(float), Y, 1.0)
    np.testing.assert_allclose(clf.coef_, W, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(clf.intercept_, b, rtol=1e-12, atol=1e-12)


@pytest.mark.nojit
def test_shuffled_epoch_matches_sklearn_order():
    """Same random_state, same xorshift Fisher-Yates order as sklearn: same weights."""
    X, y = _blobs(n=50, n_classes=3)
    kw = dict(max_iter=3, tol=None, random_state=7)
    ours = _fit_quiet(Perceptron(**kw), X, y)
    ref = _fit_quiet(SkPerceptron(**kw), X, y)
    np.testing.assert_array_equal(ours.coef_, ref.coef_)
    np.testing.assert_array_equal(ours.intercept_, ref.intercept_)


@pytest.mark.nojit
@pytest.mark.parametrize("penalty", ["l2", "l1", "elasticnet"])
def test_penalties_match_sklearn_small(penalty):
    X, y = _blobs(n=40, n_classes=2)
    kw = dict(penalty=penalty, alpha=0.01, max_iter=4, tol=None, random_state=0)
    ours = _fit_quiet(Perceptron(**kw), X, y)
    ref = _fit_quiet(SkPerceptron(**kw), X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-12, atol=1e-14)


# ------------------------------------------------------------------ behaviour
def test_iris_seed_example():
    iris = load_iris()
    X = iris.data[:, (2, 3)]
    y = iris.target == 0
    clf = Perceptron(random_state=42).fit(X, y)
    np.testing.assert_array_equal(clf.predict([[2, 0.5], [3, 1]]), [True, False])
    assert clf.predict([[2, 0.5]]).dtype == np.bool_


# sknn stops on the objective (loss + penalty), as scikit-learn's SGD does since 1.8
# (PR #31856); older releases stop on the loss alone, so a penalised fit may stop at
# another epoch there (it does on digits with 1.7.1).
_OBJECTIVE_STOP = pytest.mark.sklearn_min("1.8")


@pytest.mark.parametrize("loader", [load_iris, load_digits, load_breast_cancer])
@pytest.mark.parametrize(
    "params",
    [
        {},
        pytest.param({"penalty": "l2", "alpha": 1e-4}, marks=_OBJECTIVE_STOP),
        pytest.param({"penalty": "l1"}, marks=_OBJECTIVE_STOP),
        pytest.param({"penalty": "elasticnet", "l1_ratio": 0.5}, marks=_OBJECTIVE_STOP),
        {"early_stopping": True},
        {"class_weight": "balanced"},
        {"shuffle": False, "fit_intercept": False},
    ],
    ids=repr,
)
def test_accuracy_matches_sklearn(loader, params):
    X, y = loader(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    Xtr, Xte, ytr, yte = train_test_split(X, y, random_state=0, stratify=y)
    ours = _fit_quiet(Perceptron(**params), Xtr, ytr)
    ref = _fit_quiet(SkPerceptron(**params), Xtr, ytr)
    assert abs(ours.score(Xte, yte) - ref.score(Xte, yte)) <= 0.02
    # Dense float64 follows sklearn's trajectory sample by sample.
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-10, atol=1e-10)
    assert ours.n_iter_ <= ref.n_iter_
    assert ours.t_ == 1 + ours.n_iter_ * Xtr.shape[0]
    np.testing.assert_array_equal(ours.classes_, ref.classes_)
    assert ours.coef_.shape == ref.coef_.shape and ours.intercept_.shape == ref.intercept_.shape
    np.testing.assert_allclose(ours.decision_function(Xte), ref.decision_function(Xte), atol=1e-8)


def test_stops_after_an_epoch_without_mistakes():
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, (300, 2))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0.1).astype(int)
    keep = np.abs(X[:, 0] + 0.5 * X[:, 1] - 0.1) > 0.05  # a margin: separable
    X, y = X[keep], y[keep]
    clf = Perceptron(tol=None, max_iter=1000).fit(X, y)
    ref = SkPerceptron(tol=None, max_iter=1000).fit(X, y)
    assert clf.score(X, y) == 1.0
    assert clf.n_iter_ < 1000 and ref.n_iter_ == 1000
    np.testing.assert_array_equal(clf.coef_, ref.coef_)


def test_multilabel_layer_vs_one_vs_rest_sklearn():
    X, Y = make_multilabel_classification(
        n_samples=600, n_features=20, n_classes=5, random_state=0
    )
    Xtr, Xte, Ytr, Yte = train_test_split(X, Y, random_state=0)
    ours = Perceptron().fit(Xtr, Ytr)
    ref = OneVsRestClassifier(SkPerceptron()).fit(Xtr, Ytr)
    P, R = ours.predict(Xte), ref.predict(Xte)
    assert P.shape == Yte.shape and P.dtype == Yte.dtype
    assert ours.coef_.shape == (5, 20)
    np.testing.assert_array_equal(ours.classes_, np.arange(5))
    acc = (P == Yte).mean(axis=0)
    chance = np.maximum(Ytr.mean(axis=0), 1 - Ytr.mean(axis=0))  # majority per label
    ref_acc = (R == Yte).mean(axis=0)
    assert np.all(acc > np.maximum(0.5, chance - 0.05)), (acc, chance)
    assert np.all(np.abs(acc - ref_acc) <= 0.05)
    # One TLU per label, trained like sklearn's per-label Perceptron: the same weights.
    for j, est in enumerate(ref.estimators_):
        np.testing.assert_allclose(ours.coef_[j], est.coef_[0], rtol=1e-10, atol=1e-10)


def test_xor_not_learnable_but_mlp_learns_it():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]] * 25, dtype=float)
    y = np.array([0, 1, 1, 0] * 25)
    clf = _fit_quiet(Perceptron(max_iter=200), X, y)
    assert clf.score(X, y) <= 0.75  # no line separates XOR
    ref = _fit_quiet(SkPerceptron(max_iter=200), X, y)
    assert ref.score(X, y) <= 0.75
    mlp = MLPClassifier(hidden_layer_sizes=(8,), activation="tanh", solver="lbfgs", random_state=0)
    assert _fit_quiet(mlp, X, y).score(X, y) == 1.0


@pytest.mark.parametrize("penalty", [None, "l2"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_sparse_equals_dense(penalty, n_classes):
    X, y = _blobs(n=120, n_features=12, n_classes=n_classes)
    X[np.abs(X) < 0.6] = 0.0
    kw = dict(penalty=penalty, random_state=3, alpha=1e-3)
    dense = _fit_quiet(Perceptron(**kw), X, y)
    for fmt in (sp.csr_matrix, sp.csr_array, sp.csc_matrix):
        sparse = _fit_quiet(Perceptron(**kw), fmt(X), y)
        np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(sparse.intercept_, dense.intercept_, rtol=1e-10, atol=1e-12)
        assert sparse.n_iter_ == dense.n_iter_
        np.testing.assert_array_equal(sparse.predict(fmt(X)), dense.predict(X))


@pytest.mark.parametrize("penalty", ["l1", "elasticnet"])
def test_sparse_l1_follows_sklearn_sparse(penalty):
    # L1 is applied lazily to a sample's stored features (sklearn's sparse scheme), so
    # under L1 sparse and dense differ; without an intercept (sklearn damps sparse
    # intercept updates, sknn does not) sparse input matches sklearn's sparse fit.
    X, y = _blobs(n=120, n_features=12, n_classes=3)
    X[np.abs(X) < 0.6] = 0.0
    kw = dict(penalty=penalty, random_state=3, alpha=1e-3, fit_intercept=False)
    ours = _fit_quiet(Perceptron(**kw), sp.csr_matrix(X), y)
    ref = _fit_quiet(SkPerceptron(**kw), sp.csr_matrix(X), y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-10, atol=1e-12)


def test_sparse_multilabel_and_predict():
    X, Y = make_multilabel_classification(n_samples=100, n_features=30, random_state=1)
    dense = Perceptron().fit(X, Y)
    sparse = Perceptron().fit(sp.csr_matrix(X), Y)
    np.testing.assert_allclose(sparse.coef_, dense.coef_)
    np.testing.assert_array_equal(sparse.predict(sp.csr_matrix(X)), dense.predict(X))


# --------------------------------------------------------------- sparse prediction
def _messy_csr(n_rows, n_features, dtype, seed):
    """A valid CSR matrix scipy leaves as built: empty rows, unsorted and repeated
    column indices in a row, explicit zeros."""
    rng = np.random.RandomState(seed)
    lengths = rng.randint(0, 6, n_rows)
    lengths[::4] = 0
    indptr = np.r_[0, np.cumsum(lengths)].astype(np.int32)
    indices = rng.randint(0, n_features, indptr[-1]).astype(np.int32)
    data = np.where(rng.rand(indptr[-1]) < 0.1, 0.0, rng.randn(indptr[-1])).astype(dtype)
    return sp.csr_matrix((data, indices, indptr), shape=(n_rows, n_features))


@pytest.mark.nojit
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_out", [1, 2, 3, 8, 11])  # every path through the output blocks
def test_csr_dot_add_equals_scipy_bit_for_bit(dtype, n_out):
    from sknn._kernels.sparse import csr_dot_add

    X = _messy_csr(30, 7, dtype, seed=n_out)
    rng = np.random.RandomState(1)
    WT, b = rng.randn(7, n_out).astype(dtype), rng.randn(n_out).astype(dtype)
    out = np.full((30, n_out), np.nan, dtype=dtype)
    csr_dot_add(X.data, X.indices.view(np.uint32), X.indptr.view(np.uint32), WT, b, out)
    # the same products summed in the same order as scipy's, in X's dtype
    np.testing.assert_array_equal(out, X @ WT + b)
    reference = X.toarray().astype(np.float64) @ WT.astype(np.float64) + b
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out, reference, rtol=tol, atol=tol)


def _sparse_fit(dtype, n_classes):
    X, y = _blobs(n=120, n_features=8, n_classes=n_classes)
    X[np.abs(X) < 0.7] = 0.0
    Xs = sp.csr_matrix(X.astype(dtype))
    return Xs, _fit_quiet(Perceptron(), Xs, y)


def _counting_kernel(monkeypatch):
    import sknn._perceptron as perceptron_module

    calls = []
    kernel = perceptron_module.csr_dot_add

    def counting(*args):
        calls.append(args[-1].shape)
        return kernel(*args)

    monkeypatch.setattr(perceptron_module, "csr_dot_add", counting)
    return calls


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_sparse_prediction_is_sklearns(monkeypatch, dtype, n_classes):
    # sknn's CSR kernel returns exactly what scikit-learn's prediction code
    # (LinearClassifierMixin, scipy's product) returns for the fitted model; the
    # inputs the kernel does not take (CSC, another dtype) go through scipy.
    Xs, clf = _sparse_fit(dtype, n_classes)
    calls = _counting_kernel(monkeypatch)
    int64 = Xs.copy()
    int64.indices, int64.indptr = Xs.indices.astype(np.int64), Xs.indptr.astype(np.int64)
    other = np.float64 if dtype == np.float32 else np.float32
    by_kernel = {
        "csr_matrix": Xs, "csr_array": sp.csr_array(Xs), "int64 indices": int64,
        "unsorted, duplicates": _messy_csr(50, 8, dtype, seed=3),
    }
    by_scipy = {"csc": Xs.tocsc(), "other dtype": Xs.astype(other)}
    for name, Z in {**by_kernel, **by_scipy}.items():
        n_calls = len(calls)
        scores, labels = clf.decision_function(Z), clf.predict(Z)
        assert len(calls) - n_calls == (2 if name in by_kernel else 0), name
        assert scores.dtype == np.result_type(Z.dtype, dtype), name
        np.testing.assert_array_equal(scores, SkPerceptron.decision_function(clf, Z), name)
        np.testing.assert_array_equal(labels, SkPerceptron.predict(clf, Z), name)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(clf.decision_function(Xs), clf.decision_function(Xs.toarray()),
                               rtol=tol, atol=tol)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("value, message", [
    (np.nan, r"^Input X contains NaN"),
    (np.inf, r"^Input X contains infinity"),
])
def test_sparse_prediction_of_non_finite_X_names_X(value, message, n_classes):
    # The kernel reads X's values once; a NaN or inf among them shows in the
    # output, and then X gets scikit-learn's error, as dense X does.
    Xs, clf = _sparse_fit(np.float64, n_classes)
    Z = Xs.copy()
    Z.data[5] = value
    for method in (clf.predict, clf.decision_function):
        with pytest.raises(ValueError, match=message):
            method(Z)
        with pytest.raises(ValueError, match=message):
            method(Z.toarray())


def test_sparse_prediction_overflow_is_named():
    Xs, clf = _sparse_fit(np.float32, 3)
    clf.coef_ = np.full_like(clf.coef_, 1e30)
    Z = Xs.copy()
    Z.data[:] = 1e30  # finite float32 values whose products overflow
    with pytest.raises(ValueError, match=r"^The model's output is not finite for \d+ of 120 rows"):
        clf.decision_function(Z)


_CORRUPTED_CSR_SCRIPT = """
    import json, sys, warnings
    import numpy as np, scipy.sparse as sp
    import sknn._perceptron as perceptron_module
    from sknn import Perceptron

    calls = []
    kernel = perceptron_module.csr_dot_add
    perceptron_module.csr_dot_add = lambda *args: (calls.append(1), kernel(*args))
    warnings.simplefilter("ignore")

    def corrupt(A, kind):
        A = A.copy()
        if kind == "index_eq_n_features":
            A.indices[7] = A.shape[1]
        elif kind == "index_far":
            A.indices[7] = 10**6
        elif kind == "index_negative":
            A.indices[7] = -1
        elif kind == "index_int64_huge":
            A.indices = A.indices.astype(np.int64)
            A.indices[7] = 2**40
        elif kind == "indptr_decreasing":
            A.indptr[5] = A.indptr[6] + 3
        elif kind == "indptr_start":
            A.indptr[0] = 1
        elif kind == "indptr_end_beyond":
            A.indptr[-1] = A.nnz + 4
        return A

    rng = np.random.RandomState(0)
    X = rng.randn(40, 6)
    X[np.abs(X) < 0.5] = 0.0
    for dtype in ("float64", "float32"):
        Xs = sp.csr_matrix(X.astype(dtype))
        for n_classes in (2, 3):
            clf = Perceptron(max_iter=3).fit(Xs, np.arange(40) % n_classes)
            for kind in json.loads(sys.argv[1]):
                for method in ("predict", "decision_function"):
                    calls.clear()
                    try:
                        getattr(clf, method)(corrupt(Xs, kind))
                        outcome = "accepted"
                    except ValueError as exc:
                        outcome = str(exc)
                    print(json.dumps([kind, method, outcome, len(calls)]), flush=True)
    calls.clear()
    clf.predict(Xs)
    print(json.dumps(["valid", "predict", "", len(calls)]))
"""
_CSR_CORRUPTIONS = ("index_eq_n_features", "index_far", "index_negative", "index_int64_huge",
                    "indptr_decreasing", "indptr_start", "indptr_end_beyond")


def test_corrupted_csr_is_refused_before_the_prediction_kernel():
    # In a subprocess: a corrupted matrix reaching the kernel could crash it.
    out = run_script(_CORRUPTED_CSR_SCRIPT, json.dumps(_CSR_CORRUPTIONS))
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("[")]
    assert len(rows) == 2 * 2 * len(_CSR_CORRUPTIONS) * 2 + 1
    for kind, method, outcome, calls in rows[:-1]:
        assert outcome.startswith("X is a corrupted CSR sparse matrix"), (kind, method, outcome)
        assert calls == 0, (kind, method)
    assert rows[-1][-1] == 1  # valid CSR does take the kernel


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float32_and_float64(dtype):
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(dtype)
    clf = _fit_quiet(Perceptron(), X, y)
    ref = _fit_quiet(SkPerceptron(), X, y)
    assert clf.coef_.dtype == dtype and clf.intercept_.dtype == dtype
    assert clf.decision_function(X).dtype == dtype
    assert abs(clf.score(X, y) - ref.score(X, y)) <= 0.03
    if dtype == np.float64:
        np.testing.assert_array_equal(clf.coef_, ref.coef_)
    np.testing.assert_allclose(
        clf.coef_, _fit_quiet(Perceptron(), X.astype(np.float64), y).coef_, rtol=0.05, atol=0.5
    )


def test_partial_fit_matches_sklearn():
    X, y = _blobs(n=200, n_classes=3)
    classes = np.unique(y)
    ours, ref = Perceptron(), SkPerceptron()
    for chunk in np.array_split(np.arange(len(y)), 4):
        ours.partial_fit(X[chunk], y[chunk], classes=classes)
        ref.partial_fit(X[chunk], y[chunk], classes=classes)
        np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-12, atol=1e-12)
        assert ours.n_iter_ == ref.n_iter_ == 1
        assert ours.t_ == ref.t_
    np.testing.assert_array_equal(ours.classes_, ref.classes_)
    # y need not hold every class; later calls may omit classes=
    ours.partial_fit(X[y == 0], y[y == 0])
    ref.partial_fit(X[y == 0], y[y == 0])
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-12, atol=1e-12)


def test_partial_fit_errors():
    X, y = _blobs(n=60, n_classes=3)
    with pytest.raises(ValueError, match="classes"):
        Perceptron().partial_fit(X, y)
    with pytest.raises(ValueError, match="early_stopping"):
        Perceptron(early_stopping=True).partial_fit(X, y, classes=np.unique(y))
    with pytest.raises(ValueError, match="balanced"):
        Perceptron(class_weight="balanced").partial_fit(X, y, classes=np.unique(y))
    clf = Perceptron().partial_fit(X, y, classes=np.unique(y))
    with pytest.raises(ValueError, match="classes"):
        clf.partial_fit(X, y, classes=np.array([0, 1, 5]))
    with pytest.raises(ValueError, match="classes"):
        clf.partial_fit(X, y + 10)
    with pytest.raises(ValueError, match="features"):
        clf.partial_fit(X[:, :3], y)


def test_multilabel_partial_fit():
    X, Y = make_multilabel_classification(n_samples=100, n_features=8, n_classes=3, random_state=0)
    clf = Perceptron().partial_fit(X, Y, classes=np.arange(3))
    refs = [SkPerceptron().partial_fit(X, Y[:, j], classes=[0, 1]) for j in range(3)]
    for j, ref in enumerate(refs):
        np.testing.assert_allclose(clf.coef_[j], ref.coef_[0])
    clf.partial_fit(X, Y)
    assert clf.predict(X).shape == Y.shape
    with pytest.raises(ValueError, match="labels"):
        clf.partial_fit(X, Y[:, :2])


def test_warm_start_and_init_match_sklearn():
    X, y = _blobs(n=150, n_classes=3)
    ours = _fit_quiet(Perceptron(warm_start=True, max_iter=2), X, y)
    ref = _fit_quiet(SkPerceptron(warm_start=True, max_iter=2), X, y)
    _fit_quiet(ours, X, y)
    _fit_quiet(ref, X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-12, atol=1e-12)
    assert ours.n_iter_ == ref.n_iter_ and ours.t_ == ref.t_
    cold = _fit_quiet(Perceptron(max_iter=2), X, y)
    assert not np.allclose(cold.coef_, ours.coef_)
    # coef_init / intercept_init
    rng = np.random.RandomState(0)
    c0, b0 = rng.standard_normal((3, X.shape[1])), rng.standard_normal(3)
    a = _fit_quiet(Perceptron(max_iter=3), X, y, coef_init=c0, intercept_init=b0)
    # sknn never writes into the caller's arrays (sklearn trains coef_init in place)
    np.testing.assert_array_equal(c0, np.random.RandomState(0).standard_normal((3, X.shape[1])))
    r = _fit_quiet(SkPerceptron(max_iter=3), X, y, coef_init=c0.copy(), intercept_init=b0.copy())
    np.testing.assert_allclose(a.coef_, r.coef_, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(a.intercept_, r.intercept_, rtol=1e-12, atol=1e-12)


def test_sample_and_class_weight_match_sklearn():
    X, y = _blobs(n=120, n_classes=3)
    sw = np.random.RandomState(0).uniform(0.1, 2, len(y))
    sw_copy = sw.copy()
    kw = dict(class_weight={0: 2.0, 2: 0.5}, random_state=1)
    ours = _fit_quiet(Perceptron(**kw), X, y, sample_weight=sw)
    ref = _fit_quiet(SkPerceptron(**kw), X, y, sample_weight=sw)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(sw, sw_copy)


def test_bad_input_raises_and_leaves_model_unchanged():
    X, y = _blobs(n=80, n_classes=3)
    clf = Perceptron().fit(X, y)
    before = pickle.dumps(clf)
    state = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in vars(clf).items()}
    bad_calls = [
        (ValueError, "coef_init", lambda: clf.fit(X, y, coef_init=np.zeros((2, 5)))),
        (ValueError, "intercept_init", lambda: clf.fit(X, y, intercept_init=np.zeros(7))),
        (ValueError, "sample", lambda: clf.fit(X, y, sample_weight=np.ones(3))),
        (ValueError, "NaN|infinity", lambda: clf.fit(np.full_like(X, np.nan), y)),
        (ValueError, "class", lambda: clf.fit(X[:, :2], np.zeros(len(y)))),
        (ValueError, "Unknown label type", lambda: clf.fit(X, y + 0.5)),
        (ValueError, "features", lambda: clf.predict(X[:, :2])),
        (ValueError, "class_weight", lambda: clf.set_params(class_weight={9: 1.0}).fit(X, y)),
        (ValueError, "eta0", lambda: clf.set_params(class_weight=None, eta0=-1).fit(X, y)),
        (ValueError, "penalty", lambda: clf.set_params(eta0=1.0, penalty="l3").fit(X, y)),
    ]
    for exc, match, call in bad_calls:
        with pytest.raises(exc, match=match):
            call()
        clf.set_params(penalty=None, eta0=1.0, class_weight=None)
        for k, v in state.items():
            now = getattr(clf, k)
            if isinstance(v, np.ndarray):
                np.testing.assert_array_equal(now, v)
            else:
                assert now == v, k
        assert set(vars(clf)) == set(state)
    assert pickle.dumps(clf) == before
    with pytest.raises(TypeError):
        Perceptron(alpha="big").fit(X, y)


def test_not_fitted_and_n_jobs_accepted():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        Perceptron().predict([[0.0, 1.0]])
    X, y = _blobs(n=60, n_classes=3)
    a = Perceptron(n_jobs=2).fit(X, y)
    b = Perceptron().fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
