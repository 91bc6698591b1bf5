"""Hardening: memory safety of the kernels' inputs, one fit per estimator at a
time, and no NaN returned as an answer (interrupts, a real SIGINT included:
tests/test_reliability.py).

Cases that crashed the interpreter before the fix (corrupted sparse matrices)
run in a subprocess, so a regression fails the test instead of
killing the run. Each class of input is generated (a parametrized grid or
hypothesis), not only the example that found it.
"""

import functools
import json
import os
import pickle
import threading
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from _helpers import run_script
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

from sknn import MLPClassifier, MLPRegressor, Perceptron
from sknn._validation import _sparse_structure_problem, check_sparse_structure
from sknn.callbacks import LambdaCallback

HYPOTHESIS = settings(max_examples=60, deadline=None, derandomize=True, database=None)

_rng = np.random.RandomState(0)
X = _rng.randn(30, 5)
Y_CLF = np.arange(30) % 3
Y_REG = X @ _rng.randn(5)


# ---------------------------------------------------- 1. corrupted sparse input
# Each corruption edits a valid matrix's index arrays after construction, as a
# user can; ``seed`` moves the edit around. Compressed formats: (major, minor)
# axes are (rows, columns) for CSR, (columns, rows) for CSC.
CORRUPTIONS = [
    "index_eq_minor", "index_far", "index_negative", "indptr_decreasing",
    "indptr_start", "indptr_end_beyond", "data_short", "indices_short",
    "indices_float", "indptr_length", "coo_row", "coo_col_negative",
]


def corrupt(A, kind, seed):
    """A copy of sparse ``A`` with the index structure broken as ``kind`` says."""
    rng = np.random.RandomState(seed)
    if kind.startswith("coo"):
        A = sp.coo_matrix(A, copy=True)  # tocoo shares the index arrays
        if kind == "coo_row":
            A.row[rng.randint(A.nnz)] = A.shape[0] + rng.randint(3)
        else:
            A.col[rng.randint(A.nnz)] = -1 - rng.randint(3)
        return A
    A = A.copy()
    n_minor = A.shape[1] if A.format == "csr" else A.shape[0]
    k = rng.randint(A.nnz)
    if kind == "index_eq_minor":
        A.indices[k] = n_minor
    elif kind == "index_far":
        A.indices[k] = n_minor + rng.randint(1, 10**6)
    elif kind == "index_negative":
        A.indices[k] = -rng.randint(1, 5)
    elif kind == "indptr_decreasing":
        i = rng.randint(1, len(A.indptr) - 1)
        A.indptr[i] = A.indptr[i + 1] + 1 + rng.randint(3)
    elif kind == "indptr_start":
        A.indptr[0] = 1 + rng.randint(2)
    elif kind == "indptr_end_beyond":
        A.indptr[-1] = A.nnz + 1 + rng.randint(5)
    elif kind == "data_short":
        A.data = A.data[: -1 - rng.randint(3)]
    elif kind == "indices_short":
        A.indices = A.indices[: -1 - rng.randint(3)]
    elif kind == "indices_float":
        A.indices = A.indices.astype(np.float64)
    elif kind == "indptr_length":
        A.indptr = A.indptr[:-1]
    return A


_CORRUPTED_SCRIPT = """
    import json, sys, warnings
    import numpy as np, scipy.sparse as sp
    sys.path.insert(0, sys.argv[2])
    from test_hardening import corrupt, X, Y_CLF, Y_REG
    from sknn import MLPClassifier, MLPRegressor, Perceptron, lr_find
    warnings.simplefilter("ignore")
    fmt = sys.argv[1]
    Xs = sp.csr_matrix(np.where(np.abs(X) > 0.3, X, 0.0))
    Xs = Xs.tocsc() if fmt == "csc" else Xs
    small = dict(hidden_layer_sizes=(3,), max_iter=2, random_state=0)
    fitted = {
        "clf": MLPClassifier(**small).fit(Xs, Y_CLF),
        "reg": MLPRegressor(**small).fit(Xs, Y_REG),
        "perc": Perceptron(max_iter=2).fit(Xs, Y_CLF),
    }
    entries = {
        "clf.fit": lambda Z: MLPClassifier(**small).fit(Z, Y_CLF),
        "clf.partial_fit": lambda Z: fitted["clf"].partial_fit(Z, Y_CLF),
        "clf.predict_proba": lambda Z: fitted["clf"].predict_proba(Z),
        "clf.score": lambda Z: fitted["clf"].score(Z, Y_CLF),
        "clf.validation_data": lambda Z: MLPClassifier(**small).fit(
            Xs, Y_CLF, X_val=Z, y_val=Y_CLF),
        "reg.fit": lambda Z: MLPRegressor(**small).fit(Z, Y_REG),
        "reg.predict": lambda Z: fitted["reg"].predict(Z),
        "reg.lbfgs": lambda Z: MLPRegressor(**small, solver="lbfgs").fit(Z, Y_REG),
        "lr_find": lambda Z: lr_find(MLPRegressor(**small), Z, Y_REG, n_steps=3),
        "perc.fit": lambda Z: Perceptron(max_iter=2).fit(Z, Y_CLF),
        "perc.partial_fit": lambda Z: fitted["perc"].partial_fit(Z, Y_CLF),
        "perc.decision_function": lambda Z: fitted["perc"].decision_function(Z),
    }
    for kind in json.loads(sys.argv[3]):
        for seed in range(3):
            Z = corrupt(Xs, kind, seed)
            for name, call in entries.items():
                print("case", kind, seed, name, flush=True)  # the last line names a crash
                try:
                    call(Z)
                    outcome = "accepted"
                except ValueError as exc:
                    outcome = "ValueError: " + str(exc)
                print(json.dumps([kind, seed, name, outcome]), flush=True)
"""


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_corrupted_sparse_input_is_refused_everywhere(fmt):
    kinds = [k for k in CORRUPTIONS if fmt == "csr" or not k.startswith("coo")]
    out = run_script(_CORRUPTED_SCRIPT, fmt, os.path.dirname(__file__), json.dumps(kinds))
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("[")]
    assert len(rows) == len(kinds) * 3 * 12
    for kind, seed, entry, outcome in rows:
        assert outcome.startswith("ValueError") and "corrupted" in outcome, (kind, seed, entry,
                                                                              outcome)
        assert " X " in outcome or "X_val" in outcome or outcome.startswith("ValueError: X ")


def _raw_structure(data):
    """A CSR matrix whose index arrays are drawn freely (valid or not)."""
    n_rows = data.draw(st.integers(0, 4))
    n_cols = data.draw(st.integers(1, 4))
    nnz = data.draw(st.integers(0, 6))
    ints = st.integers(-2, 6)
    A = sp.csr_matrix((n_rows, n_cols))
    A.indptr = np.array(data.draw(st.lists(ints, min_size=max(n_rows + 1, 1),
                                           max_size=n_rows + 2)), dtype=np.int32)
    A.indices = np.array(data.draw(st.lists(ints, min_size=nnz, max_size=nnz)), dtype=np.int32)
    A.data = np.ones(data.draw(st.sampled_from([nnz, max(nnz - 1, 0), nnz + 1])))
    return A


@HYPOTHESIS
@given(data=st.data())
def test_sparse_structure_check_guarantees_in_bounds_reads(data):
    # What the kernels rely on: every row's [indptr[r], indptr[r+1]) range lies
    # inside indices and data, and every index there is a valid column.
    A = _raw_structure(data)
    if _sparse_structure_problem(A) is not None:
        with pytest.raises(ValueError, match="corrupted CSR"):
            check_sparse_structure(A, "X")
        return
    indptr, n_rows = A.indptr, A.shape[0]
    assert len(indptr) == n_rows + 1 and indptr[0] == 0
    for r in range(n_rows):
        assert 0 <= indptr[r] <= indptr[r + 1] <= min(len(A.indices), len(A.data))
        assert all(0 <= A.indices[k] < A.shape[1] for k in range(indptr[r], indptr[r + 1]))


@HYPOTHESIS
@given(
    dense=st.lists(st.sampled_from([0.0, 0.0, 1.5, -2.0]), min_size=12, max_size=12),
    fmt=st.sampled_from(["csr", "csc", "coo", "bsr", "lil", "dok", "dia"]),
    index_dtype=st.sampled_from([np.int32, np.int64]),
    unsorted=st.booleans(),
)
def test_valid_sparse_matrices_pass_the_structure_check(dense, fmt, index_dtype, unsorted):
    # No false alarm: explicit zeros, duplicates, unsorted and int64 indices,
    # empty rows and every scipy format are valid input.
    A = sp.csr_matrix(np.reshape(dense, (4, 3)))
    A.indices, A.indptr = A.indices.astype(index_dtype), A.indptr.astype(index_dtype)
    if unsorted and A.nnz > 1:
        A = sp.csr_matrix((np.r_[A.data, 0.0], np.r_[A.indices[::-1], 0].astype(index_dtype),
                           np.r_[A.indptr[:-1], A.nnz + 1]), shape=A.shape)
    check_sparse_structure(A.asformat(fmt), "X")


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # short fits
def test_int64_index_csr_trains_the_perceptron_like_int32():
    # Found a bug: int64-index CSR was refused with "y must be ...".
    A = sp.csr_matrix(np.where(np.abs(X) > 0.3, X, 0.0))
    B = A.copy()
    B.indices, B.indptr = B.indices.astype(np.int64), B.indptr.astype(np.int64)
    a = Perceptron(max_iter=5).fit(A, Y_CLF)
    b = Perceptron(max_iter=5).fit(B, Y_CLF)
    np.testing.assert_array_equal(a.coef_, b.coef_)


# --------------------------------------------------- 2. coefs_ / intercepts_
def _fitted_mlp(name, **params):
    base = dict(hidden_layer_sizes=(4, 3), max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if name == "clf":
            return MLPClassifier(**{**base, **params}).fit(X, Y_CLF), Y_CLF
        return MLPRegressor(**{**base, **params}).fit(X, Y_REG), Y_REG


def _wrong_shapes(shapes, rng):
    """Variants of a list of shapes: transposed, resized, one short, one extra."""
    out = []
    for i, shape in enumerate(shapes):
        if len(shape) == 2 and shape[0] != shape[1]:
            out.append([s if j != i else shape[::-1] for j, s in enumerate(shapes)])
        bigger = tuple(d + 1 + rng.randint(2) for d in shape)
        out.append([s if j != i else bigger for j, s in enumerate(shapes)])
        out.append([s if j != i else shape[:-1] + (shape[-1] - 1,) for j, s in enumerate(shapes)])
    out.append(shapes[:-1])
    out.append(shapes + [shapes[-1]])
    return out


@pytest.mark.parametrize("attr", ["coefs_", "intercepts_"])
@pytest.mark.parametrize("name, params", [
    ("clf", {}), ("reg", {}), ("reg", {"wide_features": "all"}),
    ("clf", {"hidden_layer_sizes": ()}), ("reg", {"deep_features": [0, 2]}),
])
def test_setting_parameters_of_another_shape_raises_naming_shapes(name, params, attr):
    est, y = _fitted_mlp(name, **params)
    shapes = [a.shape for a in getattr(est, attr)]
    before = est._get_weights()
    expected = est.predict(X)
    for wrong in _wrong_shapes(shapes, np.random.RandomState(len(shapes))):
        with pytest.raises(ValueError, match=rf"{attr} must be a list of .* shapes"):
            setattr(est, attr, [np.ones(s) for s in wrong])
        np.testing.assert_array_equal(est._get_weights(), before)
    np.testing.assert_array_equal(est.predict(X), expected)
    # Same shapes: accepted, used by predict and by partial_fit.
    setattr(est, attr, [np.full(s, 0.01) for s in shapes])
    assert all((a == 0.01).all() for a in getattr(est, attr))
    est.partial_fit(X, y)


def test_setting_parameters_on_an_unfitted_model_says_fit_first():
    with pytest.raises(AttributeError, match="fit"):
        MLPClassifier().coefs_ = [np.ones((2, 2))]


@pytest.mark.parametrize("how", ["theta_short", "theta_long", "layout_rows", "layout_units"])
def test_predict_never_runs_on_a_buffer_the_layout_does_not_describe(how):
    est, y = _fitted_mlp("clf")
    state = est.__getstate__()
    if how == "theta_short":
        state["_theta"] = state["_theta"][:-1]
    elif how == "theta_long":
        state["_theta"] = np.r_[state["_theta"], np.zeros(50)]
    elif how == "layout_rows":
        state["_layout"] = state["_layout"][:-1]
    else:
        state["_layout"] = state["_layout"].copy()
        state["_layout"][0, 1] += 5
    est.__setstate__(state)
    for call in (lambda: est.predict(X), lambda: est.partial_fit(X, y)):
        with pytest.raises(ValueError, match="parameters are inconsistent"):
            call()


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # short fits
@pytest.mark.parametrize("attr, shape", [("coef_", (3, 4)), ("coef_", (5, 3)),
                                         ("intercept_", (4,))])
def test_perceptron_partial_fit_refuses_reassigned_coef_of_another_shape(attr, shape):
    est = Perceptron(max_iter=2).fit(X, Y_CLF)
    setattr(est, attr, np.zeros(shape))
    with pytest.raises(ValueError, match=rf"{attr} has shape"):
        est.partial_fit(X, Y_CLF)


# ------------------------------------------------- 3. re-entrant and concurrent fits
def _refit_inside(y, how):
    """An on_epoch_end that fits its own estimator again (a closure: fit deep-copies
    callbacks, and a closure's cells are shared by the copy)."""
    errors = []

    def on_epoch_end(est, epoch, logs):
        if epoch == 1:
            try:
                getattr(est, how)(X, y)
            except RuntimeError as exc:
                errors.append(str(exc))

    return on_epoch_end, errors


@pytest.mark.parametrize("solver, how", [
    ("adam", "fit"), ("adam", "partial_fit"), ("sgd", "fit"), ("sgd", "partial_fit"),
    ("lbfgs", "fit"),
])
@pytest.mark.parametrize("name", ["clf", "reg"])
@pytest.mark.parametrize("sparse", [False, True])
def test_fit_from_a_callback_of_the_same_estimator_raises_in_the_callback(
    name, solver, how, sparse
):
    # Found a bug: the outer loop then ran its kernels on the inner fit's buffers.
    Xf = sp.csr_matrix(X) if sparse else X
    y = Y_CLF if name == "clf" else Y_REG
    on_epoch_end, errors = _refit_inside(y, how)
    Est = MLPClassifier if name == "clf" else MLPRegressor
    params = dict(hidden_layer_sizes=(4,), max_iter=4, solver=solver, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = Est(**params, callbacks=[LambdaCallback(on_epoch_end=on_epoch_end)]).fit(Xf, y)
        plain = Est(**params).fit(Xf, y)
    assert len(errors) == 1 and "already being fitted" in errors[0]
    np.testing.assert_array_equal(est._get_weights(), plain._get_weights())
    assert est.n_iter_ == plain.n_iter_


def test_uncaught_reentrant_fit_fails_the_outer_fit_and_restores_it():
    est = MLPRegressor(hidden_layer_sizes=(3,), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, Y_REG)
    before = pickle.dumps(est)
    est.set_params(callbacks=[LambdaCallback(on_epoch_end=lambda e, i, logs: e.fit(X, Y_REG))])
    with pytest.raises(RuntimeError, match="already being fitted"):
        est.fit(X, Y_REG)
    est.set_params(callbacks=None)
    assert pickle.dumps(est) == before


def _reentrant_perceptron_fit(est):
    # Perceptron has no callbacks: re-enter through a sample_weight that fits
    # the same estimator when validation converts it to an array.
    class Reenter:
        def __array__(self, dtype=None, copy=None):
            est.fit(X, Y_CLF)
            return np.ones(len(X))

        def __len__(self):
            return len(X)

    return est.fit(X, Y_CLF, sample_weight=Reenter())


def test_perceptron_shares_the_guard():
    est = Perceptron(max_iter=3)
    with pytest.raises(RuntimeError, match="Perceptron is already being fitted"):
        _reentrant_perceptron_fit(est)
    assert "coef_" not in est.__dict__


@pytest.mark.parametrize("name", ["clf", "reg", "perc"])
def test_concurrent_fits_of_one_estimator_first_completes_second_raises(name):
    Xb = np.random.RandomState(2).randn(3000, 10)
    y = (Xb[:, 0] > 0).astype(int) if name != "reg" else Xb[:, 0]
    if name == "perc":
        make = functools.partial(Perceptron, max_iter=50, tol=None)
    else:
        Est = MLPClassifier if name == "clf" else MLPRegressor
        make = functools.partial(Est, hidden_layer_sizes=(32,), max_iter=30, random_state=0)
    est = make()
    started, errors = threading.Event(), []

    def second():
        started.wait()
        try:
            est.fit(Xb, y)
        except RuntimeError as exc:
            errors.append(exc)

    if name == "perc":  # no callbacks: hold the first fit inside validation
        hold = threading.Event()

        class Slow:
            def __array__(self, dtype=None, copy=None):
                started.set()
                hold.wait(30)
                return np.ones(len(Xb))

            def __len__(self):
                return len(Xb)

        first = functools.partial(est.fit, Xb, y, sample_weight=Slow())
    else:
        hold = threading.Event()

        def on_epoch_end(e, epoch, logs):
            if epoch == 0:
                started.set()
                hold.wait(30)

        est.set_params(callbacks=[LambdaCallback(on_epoch_end=on_epoch_end)])
        first = functools.partial(est.fit, Xb, y)
    t = threading.Thread(target=second)
    t.start()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        threading.Timer(0.0, lambda: (started.wait(), t.join(30), hold.set())).start()
        first()
    t.join()
    assert len(errors) == 1 and "already being fitted" in str(errors[0])
    reference = make()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference.fit(Xb, y)
    if name == "perc":
        np.testing.assert_array_equal(est.coef_, reference.coef_)
    else:
        np.testing.assert_array_equal(est._get_weights(), reference._get_weights())


# --------------------------------------------- 5-6. non-finite outputs and casts
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.parametrize("name", ["clf", "reg"])
@pytest.mark.parametrize("case", ["row_1e200", "float32_1e39", "float32_3e38"])
@pytest.mark.parametrize("early_stopping", [True, False])
def test_non_finite_validation_output_is_an_error_not_initial_weights(
    name, solver, case, early_stopping
):
    # Found a bug: early stopping recorded NaN scores every epoch and silently
    # returned the initial weights.
    if solver == "lbfgs" and early_stopping:
        early_stopping = False  # lbfgs scores the validation set without stopping on it
    Xt = X.astype(np.float32) if case.startswith("float32") else X
    X_val = X[:10].copy()
    X_val[3, 1] = {"row_1e200": 1e200, "float32_1e39": 1e39, "float32_3e38": 3e38}[case]
    y = Y_CLF if name == "clf" else Y_REG
    Est = MLPClassifier if name == "clf" else MLPRegressor
    est = Est(hidden_layer_sizes=(8,), solver=solver, max_iter=5, random_state=0,
              early_stopping=early_stopping)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            est.fit(Xt, y, X_val=X_val, y_val=y[:10])
        except ValueError as exc:
            assert "X_val" in str(exc)
            assert "float32" in str(exc) or "not finite" in str(exc)
            assert "_theta" not in est.__dict__
            return
    # Otherwise the output stayed finite (a softmax on huge rows, a float32
    # output below the overflow): every score recorded is finite, nothing NaN.
    assert case != "float32_1e39"
    assert np.isfinite(est.history_["val_loss"]).all()
    assert np.isfinite(est.history_["val_score"]).all()
    assert est.n_iter_ >= 1


@pytest.mark.parametrize("value", [1e39, -1e39, 3e38, 1e300])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["clf", "reg", "perc"])
@pytest.mark.parametrize("sparse", [False, True])
def test_predict_never_returns_nan_for_overflowing_inputs(name, dtype, value, sparse):
    rng = np.random.RandomState(int(abs(value)) % 7)
    y = Y_CLF if name != "reg" else Y_REG
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if name == "perc":
            est = Perceptron(max_iter=3).fit(X.astype(dtype), y)
            methods = ["predict", "decision_function", "score"]
        else:
            Est = MLPClassifier if name == "clf" else MLPRegressor
            est = Est(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(X.astype(dtype), y)
            methods = ["predict", "score"] + (["predict_proba", "predict_log_proba"]
                                              if name == "clf" else [])
    Xq = X.copy()
    Xq[rng.randint(len(X)), rng.randint(X.shape[1])] = value
    if name == "perc":
        Xq[rng.randint(len(X))] = value * np.sign(est.coef_[0])  # +inf + -inf = NaN
    Xq = sp.csr_matrix(Xq) if sparse else Xq
    for method in methods:
        args = (Xq, y) if method == "score" else (Xq,)
        try:
            out = getattr(est, method)(*args)
        except ValueError as exc:
            assert "X" in str(exc) and ("too large" in str(exc) or "not finite" in str(exc))
            continue
        out = np.asarray(out, dtype=float)
        assert not np.isnan(out).any(), (method, out)
        if method in ("predict", "predict_proba", "decision_function"):
            assert np.isfinite(out).all(), (method, out)


def test_float32_model_refuses_float64_rows_beyond_float32_in_partial_fit():
    est = MLPRegressor(hidden_layer_sizes=(3,), max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X.astype(np.float32), Y_REG)
    before = est._get_weights()
    Xb = X.copy()
    Xb[0, 0] = 1e39
    with pytest.raises(ValueError, match="X has values too large for this model's float32"):
        est.partial_fit(Xb, Y_REG)
    np.testing.assert_array_equal(est._get_weights(), before)


# ---------------------------------------------------- 7. partial_fit classes
@pytest.mark.parametrize("Est", [Perceptron, MLPClassifier])
@pytest.mark.parametrize("classes", [
    [0.0, 1.0, np.nan], [[0, 1, 2]], np.array([[0], [1], [2]]), [0, np.inf, 2],
    np.array([0, 1, float("nan")], dtype=object),
])
def test_partial_fit_refuses_nan_or_2d_classes(Est, classes):
    est = Est(max_iter=2) if Est is Perceptron else Est(hidden_layer_sizes=(3,))
    with pytest.raises(ValueError, match="classes must"):
        est.partial_fit(X, Y_CLF, classes=classes)
    assert "classes_" not in est.__dict__


@pytest.mark.parametrize("Est", [Perceptron, MLPClassifier])
@given(perm=st.permutations([0, 1, 2]), repeat=st.lists(st.sampled_from([0, 1, 2]), max_size=4))
@settings(max_examples=15, deadline=None, derandomize=True, database=None)
def test_partial_fit_accepts_the_same_classes_in_any_order_or_repeated(Est, perm, repeat):
    est = Est(max_iter=2) if Est is Perceptron else Est(hidden_layer_sizes=(3,))
    est.partial_fit(X, Y_CLF, classes=list(perm) + repeat)
    np.testing.assert_array_equal(est.classes_, [0, 1, 2])
    est.partial_fit(X, Y_CLF, classes=list(perm[::-1]) + repeat[::-1])
    with pytest.raises(ValueError, match="not the same|classes"):
        est.partial_fit(X, Y_CLF, classes=[0, 1, 2, 3])


# ------------------------------------------------- 8. errors naming the culprit
def _mlp(name, **params):
    Est = MLPClassifier if name == "clf" else MLPRegressor
    return Est(hidden_layer_sizes=(3,), max_iter=2, random_state=0, **params)


@pytest.mark.parametrize("name", ["clf", "reg"])
@pytest.mark.parametrize("make_X_val, what", [
    (lambda: X[:, :3], "X_val"), (lambda: X[:, :6] if X.shape[1] > 5 else np.c_[X, X], "X_val"),
    (lambda: np.where(np.arange(X.size).reshape(X.shape) == 7, np.nan, X), "X_val"),
    (lambda: np.where(np.arange(X.size).reshape(X.shape) == 3, np.inf, X), "X_val"),
    (lambda: X.astype(str).astype(object) + "a", "X_val"),
])
def test_validation_X_errors_name_X_val(name, make_X_val, what):
    y = Y_CLF if name == "clf" else Y_REG
    with pytest.raises(ValueError) as info:
        _mlp(name).fit(X, y, X_val=make_X_val(), y_val=y)
    assert str(info.value).startswith(what) or f"{what} " in str(info.value)
    assert "y_val must" not in str(info.value)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # short fits
@pytest.mark.parametrize("y_val, match", [
    (np.c_[Y_REG, Y_REG], "y_val has 2 output"), (Y_REG.astype(str).astype(object), None),
    (np.array(["a"] * len(Y_REG)), "y_val must hold numbers"),
])
def test_regressor_y_val_errors_come_before_training_and_name_y_val(y_val, match):
    if match is None:  # numeric strings convert, as for y
        _mlp("reg").fit(X, Y_REG, X_val=X, y_val=y_val)
        return
    seen = []
    est = _mlp("reg", callbacks=[LambdaCallback(on_train_begin=lambda e, logs: seen.append(1))])
    with pytest.raises(ValueError, match=match):
        est.fit(X, Y_REG, X_val=X, y_val=y_val)
    assert not seen  # refused before the first epoch


@pytest.mark.parametrize("name", ["clf", "perc"])
@pytest.mark.parametrize("weight", [-1.0, np.nan, np.inf, -np.inf, -1e-300])
def test_class_weight_must_be_finite_and_non_negative_like_sample_weight(name, weight):
    est = (Perceptron(max_iter=2) if name == "perc" else _mlp("clf"))
    est.set_params(class_weight={0: 1.0, 1: weight, 2: 1.0})
    with pytest.raises(ValueError, match="class_weight values must be finite and non-negative"):
        est.fit(X, Y_CLF)
    with pytest.raises(ValueError, match="sample_weight"):
        est.set_params(class_weight=None).fit(X, Y_CLF, sample_weight=np.full(len(X), weight))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("how", ["sample_weight", "class_weight"])
@pytest.mark.parametrize("scale", [1e308, 1e300, 3e38, 1e37])
def test_weights_the_loss_cannot_sum_are_named_not_blamed_on_the_learning_rate(dtype, how, scale):
    total = scale * len(X)
    if total <= np.finfo(dtype).max and scale <= np.finfo(dtype).max:
        return  # representable: trains (covered elsewhere)
    est = _mlp("clf")
    kw = {}
    if how == "class_weight":
        est.set_params(class_weight={0: scale, 1: scale, 2: scale})
    else:
        kw["sample_weight"] = np.full(len(X), scale)
    with pytest.raises(ValueError, match="sample_weight") as info:
        est.fit(X.astype(dtype), Y_CLF, **kw)
    assert "learning_rate" not in str(info.value)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # lbfgs aborts
@pytest.mark.parametrize("big", [1e306, 1e307, 5e307])
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_divergence_from_huge_weight_ratios_names_the_weights(big, solver):
    # The weight sum is representable, but weight x loss overflows the loss sum.
    sw = np.ones(len(X))
    sw[:3] = big
    est = _mlp("reg", solver=solver)
    with pytest.raises(ValueError, match=r"diverged.*training weights.*rescale them"):
        est.fit(X, Y_REG * 1e3, sample_weight=sw)


@pytest.mark.parametrize("bad", [1, "x", None, 2.5, object()])
def test_callbacks_without_any_hook_are_refused(bad):
    with pytest.raises(TypeError, match=r"callbacks\[1\]"):
        _mlp("reg", callbacks=[LambdaCallback(), bad]).fit(X, Y_REG)


@pytest.mark.parametrize("answer", ["no", "", np.nan, 0, 1, [], [True], 0.0])
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_callback_answers_other_than_bool_or_none_are_refused(answer, solver):
    est = _mlp("reg", solver=solver,
               callbacks=[LambdaCallback(on_epoch_end=lambda e, i, logs: answer)])
    with pytest.raises(TypeError, match="must return True .*False or None"):
        est.fit(X, Y_REG)


@pytest.mark.parametrize("answer, n_iter", [(True, 1), (np.True_, 1), (False, 2), (None, 2),
                                            (np.False_, 2)])
def test_callback_bool_and_none_answers(answer, n_iter):
    est = _mlp("reg", callbacks=[LambdaCallback(on_epoch_end=lambda e, i, logs: answer)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        assert est.fit(X, Y_REG).n_iter_ == n_iter


# ----------------------------------------------------------- 9. tags, proba
@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
@pytest.mark.parametrize("multilabel", [True, False])
def test_saturated_probabilities_stay_inside_zero_one_without_changing_predict(
    solver, multilabel
):
    y = np.c_[Y_CLF == 0, Y_CLF == 1].astype(int) if multilabel else (Y_CLF == 0).astype(int)
    Xs = X * 1e3  # saturates every logistic output
    est = MLPClassifier(hidden_layer_sizes=(20,), solver=solver, max_iter=200, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(Xs, y)
    proba = est.predict_proba(Xs)
    assert (proba > 0).all() and (proba < 1).all()
    assert np.isfinite(est.predict_log_proba(Xs)).all()
    raw = est._raw_output(Xs)
    expected = (raw > 0.5).astype(int)
    pred = est.predict(Xs)
    np.testing.assert_array_equal(pred if multilabel else pred[:, None], expected)


@pytest.mark.parametrize("params, positive", [
    ({}, False), ({"output_activation": "relu"}, True), ({"output_activation": "softplus"}, True),
    ({"loss": "poisson"}, True), ({"output_activation": "sigmoid"}, False),
    ({"output_activation": "tanh"}, False),
])
def test_positive_only_target_tag_follows_the_output_activation(params, positive):
    from sklearn.utils import get_tags

    assert get_tags(MLPRegressor(**params)).target_tags.positive_only is positive


@pytest.mark.parametrize("out", ["relu", "softplus"])
@pytest.mark.parametrize("shift", [0.5, 3.0, 40.0, 1000.0])
def test_non_negative_outputs_start_at_the_mean_target(out, shift):
    # check_regressors_train shifts its targets to >= 1 for positive_only
    # regressors; a softplus/relu output starting near 0 did not get there.
    y = Y_REG - Y_REG.min() + shift
    w = np.linspace(0.5, 2.0, len(y))
    est = MLPRegressor(hidden_layer_sizes=(4,), output_activation=out, max_iter=1,
                       learning_rate_init=1e-12, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y, sample_weight=w)
    ref = MLPRegressor(hidden_layer_sizes=(4,), max_iter=1, learning_rate_init=1e-12,
                       random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref.fit(X, y, sample_weight=w)
    # Same weights as scikit-learn's initialisation but the output bias.
    for a, b in zip(est.coefs_, ref.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-9)
    mean = np.average(y, weights=w)
    pre = est.intercepts_[-1] - ref.intercepts_[-1]
    expected = mean if out == "relu" else mean + np.log(-np.expm1(-mean))
    np.testing.assert_allclose(pre, expected, rtol=1e-6)
