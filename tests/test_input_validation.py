"""Input validation: every bad X, y, weight, class list, parameter or callback raises
ValueError/TypeError naming the argument and what was expected, before anything
changes (a fitted model stays byte-identical: the fit is a transaction);
parameters assigned by the user are checked against the network's layout.

Data is tiny and ``max_iter`` small: thousands of cases, a few seconds.
(Corrupted sparse matrices: tests/test_corrupted_sparse.py.)
"""

import re
import warnings

import numpy as np
import pytest
from _helpers import (
    CLASSES,
    X30,
    Y30_CLF,
    Y30_REG,
    Y_CLF,
    Y_REG,
    X,
    assert_unchanged,
    badly_scaled_regression,
    fingerprint,
    fitted_tiny,
    make_tiny,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from sknn import MLPClassifier, MLPRegressor, Perceptron, lr_find
from sknn.callbacks import LambdaCallback

# Short trainings on purpose: "maximum iterations reached" is expected here;
# tests about that warning use pytest.warns, which still sees it.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# ---------------------------------------------- bad X, y and sample_weight at every entry point
def _x_with(value):
    Xb = X.copy()
    Xb[1, 2] = value
    return Xb


# case -> (bad X builder, expected message); a builder returns X as the caller passes it.
# Errors NumPy raises without naming the array get the argument and what it expects.
_NAMED_X = (
    r"^X(_val)? must be a numeric array-like or sparse matrix of shape "
    r"\(n_samples, n_features\); .*"
)


X_CASES = {
    "nan": (lambda: _x_with(np.nan), r"X contains NaN"),
    "inf": (lambda: _x_with(np.inf), r"X contains infinity"),
    # lr_find looks at the (equally empty) y first
    "empty": (lambda: X[:0], r"(" + _NAMED_X + r"0 sample|^y has 0 samples)"),
    "object": (lambda: np.array([["a", "b", "c"]] * 20, dtype=object),
               _NAMED_X + r"could not convert string to float"),
    "string": (lambda: np.array([["a", "b", "c"]] * 20),
               _NAMED_X + r"(could not convert string to float|not compatible with arrays of "
                          r"bytes/strings)"),
    "ragged": (lambda: [[1.0, 2.0, 3.0], [1.0, 2.0]] + X[2:].tolist(),
               _NAMED_X + r"inhomogeneous"),
    "3d": (lambda: X.reshape(20, 3, 1), _NAMED_X + r"dim 3, while dim <= 2"),
    "n_features": (lambda: X[:, :2], r"X has 2 features, but \w+ is expecting 3 features"),
}


ENTRIES = {
    "clf": ("fit", "partial_fit", "predict", "predict_proba", "score", "lr_find",
            "validation_data"),
    "reg": ("fit", "partial_fit", "predict", "score", "lr_find", "validation_data"),
    "perc": ("fit", "partial_fit", "predict", "decision_function", "score"),
}


# fit and lr_find start a new model, for which any number of features is fine.
_RESETS = ("fit", "lr_find")


def _x_params():
    for name, entries in ENTRIES.items():
        for entry in entries:
            for case in X_CASES:
                if case == "n_features" and entry in _RESETS:
                    continue
                if case == "empty" and entry == "validation_data":
                    continue  # covered below: an empty validation set
                yield pytest.param(name, entry, case, id=f"{name}-{entry}-{case}")


def _call(est, entry, Xb, yb, name, **kw):
    if entry == "fit":
        return est.fit(Xb, yb, **kw)
    if entry == "partial_fit":
        return est.partial_fit(Xb, yb, **kw)
    if entry == "score":
        return est.score(Xb, yb, **kw)
    if entry == "lr_find":
        return lr_find(est, Xb, yb, n_steps=3)
    if entry == "validation_data":
        return est.fit(X, _y(name), X_val=Xb, y_val=yb,
                       **{f"{k}_val": v for k, v in kw.items()})
    return getattr(est, entry)(Xb)


def _y(name):
    return Y_REG if name == "reg" else Y_CLF


def _y_for(name, Xb):
    n = len(Xb)
    y = _y(name)
    return y[:n] if n <= len(y) else np.resize(y, n)


@pytest.mark.parametrize("name, entry, case", list(_x_params()))
def test_bad_X(name, entry, case):
    build, msg = X_CASES[case]
    est, _ = fitted_tiny(name)
    before = fingerprint(est)
    Xb = build()
    with pytest.raises((ValueError, TypeError), match=msg):
        _call(est, entry, Xb, _y_for(name, Xb), name)
    assert_unchanged(est, before)
    if entry == "fit":  # a fresh estimator gains no fitted attribute either
        fresh, y = make_tiny(name)
        keys = sorted(fresh.__dict__)
        with pytest.raises((ValueError, TypeError), match=msg):
            fresh.fit(Xb, _y_for(name, Xb))
        assert sorted(fresh.__dict__) == keys


# What serving passes (a finite float matrix, no feature names) skips scikit-learn's
# validation machinery; every other input must be validated as before.
PREDICT_INPUTS = {
    "float64": lambda: X.copy(),
    "float32": lambda: X.astype(np.float32),
    "fortran": lambda: np.asfortranarray(X),
    "strided": lambda: np.repeat(X, 2, axis=0)[::2],
    "read-only": lambda: _readonly(X.copy()),
    "sum-overflows": lambda: X * 1e307,
}


PREDICT_METHODS = {"clf": ("predict", "predict_proba"), "reg": ("predict",),
                   "perc": ("predict", "decision_function")}


def _readonly(a):
    a.flags.writeable = False
    return a


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.parametrize("case", PREDICT_INPUTS)
@pytest.mark.parametrize("name", PREDICT_METHODS)
def test_prediction_input_shortcut_agrees_with_full_validation(name, case):
    est, _ = fitted_tiny(name)
    Xp = PREDICT_INPUTS[case]()
    for method in PREDICT_METHODS[name]:
        try:
            expected = getattr(est, method)(Xp.tolist())  # a list: the full path
        except ValueError as exc:  # overflowing predictions: the same error both ways
            with pytest.raises(ValueError, match=re.escape(str(exc))):
                getattr(est, method)(Xp)
            continue
        np.testing.assert_array_equal(getattr(est, method)(Xp), expected)


def test_prediction_input_shortcut_keeps_the_feature_names_warning():
    import pandas as pd

    est, y = make_tiny("reg")
    est.fit(pd.DataFrame(X, columns=["a", "b", "c"]), y)
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        est.predict(X)


def _y_nan(name):
    return np.where(np.arange(20) == 3, np.nan, _y(name).astype(float))


def _y_inf(name):
    return np.where(np.arange(20) == 3, np.inf, _y(name).astype(float))


Y_CASES = {
    "nan": (_y_nan, r"y contains NaN"),
    "inf": (_y_inf, r"y contains infinity"),
    "short": (lambda name: _y(name)[:-1], r"inconsistent numbers of samples: \[(20, 19|19, 20)\]"),
    "2d-wrong": (lambda name: np.c_[_y(name), _y(name)][:-1], r"inconsistent numbers of samples"),
}


def test_unreadable_regression_targets_name_y():
    est, _ = fitted_tiny("reg")
    before = fingerprint(est)
    with pytest.raises(ValueError, match=r"^y must hold numbers for a regressor; could not "
                                         r"convert string to float"):
        est.fit(X, np.array(["a"] * 20))
    with pytest.raises(ValueError, match=r"^y must be an array-like of shape .*inhomogeneous"):
        est.fit(X, [[1.0, 2.0], [3.0]] + [[1.0, 2.0]] * 18)
    assert_unchanged(est, before)


def _y_params():
    for name, entries in ENTRIES.items():
        for entry in entries:
            if entry in ("predict", "predict_proba", "decision_function"):
                continue
            for case in Y_CASES:
                if entry == "score" and case in ("nan", "inf"):
                    continue  # score compares labels; sklearn's metrics decide there
                yield pytest.param(name, entry, case, id=f"{name}-{entry}-y-{case}")


# sklearn's type_of_target casts a NaN y (lr_find) before it raises
@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
@pytest.mark.parametrize("name, entry, case", list(_y_params()))
def test_bad_y(name, entry, case):
    build, msg = Y_CASES[case]
    est, _ = fitted_tiny(name)
    before = fingerprint(est)
    with pytest.raises((ValueError, TypeError), match=msg):
        _call(est, entry, X, build(name), name)
    assert_unchanged(est, before)


# y as a first partial_fit gets it; classifiers used to hand it to sklearn's
# type_of_target first, whose errors say neither "y" nor what was expected.
FIRST_CALL_Y = {
    "none": None,
    "scalar": 5,
    "string": "ab",
    "nan": np.where(np.arange(20) == 3, np.nan, Y_CLF),
    "ragged": [[0, 1], [1]] * 10,
    "3d": Y_CLF.reshape(20, 1, 1),
}


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
@pytest.mark.parametrize("case", FIRST_CALL_Y)
@pytest.mark.parametrize("name", ["clf", "reg", "perc"])
def test_bad_y_on_the_first_partial_fit_gets_fits_error(name, case):
    y = FIRST_CALL_Y[case]
    est, _ = make_tiny(name)
    with pytest.raises((ValueError, TypeError)) as from_fit:
        est.fit(X, y)
    keys = sorted(est.__dict__)
    kw = {} if name == "reg" else {"classes": CLASSES}
    with pytest.raises(from_fit.type, match=f"^{re.escape(str(from_fit.value))}$"):
        est.partial_fit(X, y, **kw)
    assert sorted(est.__dict__) == keys


SW_CASES = {
    "negative": (-np.ones(20), r"Negative values in data passed to `sample_weight`"),
    "nan": (np.where(np.arange(20) == 0, np.nan, 1.0), r"sample_weight contains NaN"),
    "all-zero": (np.zeros(20), r"(?i)sample.?weights? must contain at least one non-zero"),
    "length": (np.ones(19), r"sample_weight.shape == \(19,\), expected \(20,\)"),
    "2d": (np.ones((20, 2)), r"(?i)sample.?weight.*1D|sample_weight"),
}


def _sw_params():
    for name, entries in ENTRIES.items():
        for entry in ("fit", "partial_fit", "validation_data"):
            if entry not in entries:
                continue
            for case in SW_CASES:
                yield pytest.param(name, entry, case, id=f"{name}-{entry}-sw-{case}")


@pytest.mark.parametrize("name, entry, case", list(_sw_params()))
def test_bad_sample_weight(name, entry, case):
    sw, msg = SW_CASES[case]
    est, y = fitted_tiny(name)
    before = fingerprint(est)
    if entry == "validation_data":
        msg = "sample_weight_val.*" + msg.replace("(?i)", "")
        with pytest.raises(ValueError, match="(?i)" + msg):
            est.fit(X, y, X_val=X, y_val=y, sample_weight_val=sw)
    else:
        with pytest.raises(ValueError, match=msg):
            _call(est, entry, X, y, name, sample_weight=sw)
    assert_unchanged(est, before)


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
def test_feature_name_errors_are_not_blamed_on_numeric_x():
    import pandas as pd
    X, y = badly_scaled_regression()
    df = pd.DataFrame(X, columns=list("abcd"))
    est = MLPRegressor(hidden_layer_sizes=(8,), max_iter=1, random_state=0).fit(df, y)
    with pytest.raises(ValueError) as info:
        est.predict(df.rename(columns={"a": "z"}))
    assert str(info.value).startswith("The feature names should match")
    with pytest.raises(ValueError, match=r"^X must be a numeric array-like.*could not convert"):
        est.predict(np.full((3, 4), "a"))


# --------------------------------------------------------------------- classes and class_weight
@pytest.mark.parametrize("name", ["clf", "perc"])
def test_class_weight_naming_unknown_class(name):
    est, y = fitted_tiny(name)
    before = fingerprint(est)
    est.set_params(class_weight={0: 1.0, 7: 2.0})
    with pytest.raises(ValueError, match=r"class_weight.*\[7\]"):
        est.fit(X, y)
    est.set_params(class_weight=None)
    assert_unchanged(est, before)


@pytest.mark.parametrize("name", ["clf", "perc"])
def test_partial_fit_unseen_class(name):
    est, y = fitted_tiny(name)
    before = fingerprint(est)
    with pytest.raises(ValueError, match=r"classes"):
        est.partial_fit(X, np.where(y == 0, 5, y))
    assert_unchanged(est, before)
    fresh, _ = make_tiny(name)
    with pytest.raises(ValueError, match=r"classes"):
        fresh.partial_fit(X, y)  # classes= missing on the first call
    with pytest.raises(ValueError, match=r"classes"):
        fresh.partial_fit(X, np.where(y == 0, 5, y), classes=CLASSES)
    assert "classes_" not in fresh.__dict__


@pytest.mark.parametrize("Est", [Perceptron, MLPClassifier])
@pytest.mark.parametrize("classes", [
    [0.0, 1.0, np.nan], [[0, 1, 2]], np.array([[0], [1], [2]]), [0, np.inf, 2],
    np.array([0, 1, float("nan")], dtype=object),
])
def test_partial_fit_refuses_nan_or_2d_classes(Est, classes):
    est = Est(max_iter=2) if Est is Perceptron else Est(hidden_layer_sizes=(3,))
    with pytest.raises(ValueError, match="classes must"):
        est.partial_fit(X30, Y30_CLF, classes=classes)
    assert "classes_" not in est.__dict__


@pytest.mark.parametrize("Est", [Perceptron, MLPClassifier])
@given(perm=st.permutations([0, 1, 2]), repeat=st.lists(st.sampled_from([0, 1, 2]), max_size=4))
@settings(max_examples=15, deadline=None, derandomize=True, database=None)
def test_partial_fit_accepts_the_same_classes_in_any_order_or_repeated(Est, perm, repeat):
    est = Est(max_iter=2) if Est is Perceptron else Est(hidden_layer_sizes=(3,))
    est.partial_fit(X30, Y30_CLF, classes=list(perm) + repeat)
    np.testing.assert_array_equal(est.classes_, [0, 1, 2])
    est.partial_fit(X30, Y30_CLF, classes=list(perm[::-1]) + repeat[::-1])
    with pytest.raises(ValueError, match="not the same|classes"):
        est.partial_fit(X30, Y30_CLF, classes=[0, 1, 2, 3])


def _mlp(name, **params):
    Est = MLPClassifier if name == "clf" else MLPRegressor
    return Est(hidden_layer_sizes=(3,), max_iter=2, random_state=0, **params)


@pytest.mark.parametrize("name", ["clf", "perc"])
@pytest.mark.parametrize("weight", [-1.0, np.nan, np.inf, -np.inf, -1e-300])
def test_class_weight_must_be_finite_and_non_negative_like_sample_weight(name, weight):
    est = (Perceptron(max_iter=2) if name == "perc" else _mlp("clf"))
    est.set_params(class_weight={0: 1.0, 1: weight, 2: 1.0})
    with pytest.raises(ValueError, match="class_weight values must be finite and non-negative"):
        est.fit(X30, Y30_CLF)
    with pytest.raises(ValueError, match="sample_weight"):
        est.set_params(class_weight=None).fit(X30, Y30_CLF, sample_weight=np.full(len(X30), weight))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("how", ["sample_weight", "class_weight"])
@pytest.mark.parametrize("scale", [1e308, 1e300, 3e38, 1e37])
def test_weights_the_loss_cannot_sum_are_named_not_blamed_on_the_learning_rate(dtype, how, scale):
    total = scale * len(X30)
    if total <= np.finfo(dtype).max and scale <= np.finfo(dtype).max:
        return  # representable: trains (covered elsewhere)
    est = _mlp("clf")
    kw = {}
    if how == "class_weight":
        est.set_params(class_weight={0: scale, 1: scale, 2: scale})
    else:
        kw["sample_weight"] = np.full(len(X30), scale)
    with pytest.raises(ValueError, match="sample_weight") as info:
        est.fit(X30.astype(dtype), Y30_CLF, **kw)
    assert "learning_rate" not in str(info.value)


# ------------------------------------------------------ targets, parameters and validation data
@pytest.mark.parametrize("entry", ["fit", "partial_fit", "validation_data"])
@pytest.mark.parametrize("out, lo, hi", [("sigmoid", 0, 1), ("logistic", 0, 1), ("tanh", -1, 1)])
def test_targets_outside_bounded_output(out, lo, hi, entry):
    y_ok = np.clip(Y_REG, lo, hi)
    est = MLPRegressor(hidden_layer_sizes=(3,), max_iter=2, random_state=0,
                       output_activation=out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y_ok)
    before = fingerprint(est)
    expected = rf"output_activation='{out}' predicts values in \[{lo}, {hi}\].*Scale the targets"
    with pytest.raises(ValueError, match=expected):
        _call(est, entry, X, Y_REG * 3, "reg")
    assert_unchanged(est, before)


ABSURD = [
    ("clf", dict(hidden_layer_sizes=[0]), r"hidden_layer_sizes"),
    ("reg", dict(hidden_layer_sizes=[0]), r"hidden_layer_sizes"),
    ("clf", dict(hidden_layer_sizes=[3, -1]), r"hidden_layer_sizes"),
    ("reg", dict(hidden_layer_sizes=[2.5]), r"hidden_layer_sizes"),
    ("clf", dict(batch_size=0), r"'batch_size' parameter"),
    ("reg", dict(batch_size=0), r"'batch_size' parameter"),
    ("clf", dict(learning_rate_init=-1), r"'learning_rate_init' parameter.*range \(0"),
    ("reg", dict(learning_rate_init=0), r"'learning_rate_init' parameter.*range \(0"),
    ("reg", dict(huber_delta=0, loss="huber"), r"'huber_delta' parameter.*range \(0"),
    ("reg", dict(max_iter=0), r"'max_iter' parameter"),
    ("clf", dict(alpha=-1.0), r"'alpha' parameter"),
    ("clf", dict(solver="newton"), r"'solver' parameter"),
    ("reg", dict(activation="swish"), r"'activation' parameter"),
    ("reg", dict(loss="hinge"), r"'loss' parameter"),
    ("clf", dict(wide_features=[5]), r"wide_features.*outside"),
    ("reg", dict(deep_features=[]), r"deep_features"),
    ("clf", dict(validation_fraction=1.5), r"'validation_fraction' parameter"),
    ("perc", dict(eta0=-1), r"'eta0' parameter"),
    ("perc", dict(max_iter=0), r"'max_iter' parameter"),
    ("perc", dict(l1_ratio=2.0), r"'l1_ratio' parameter"),
    ("perc", dict(validation_fraction=0.0), r"'validation_fraction' parameter"),
]


@pytest.mark.parametrize("name, params, msg", ABSURD, ids=[f"{n}-{p}" for n, p, _ in ABSURD])
def test_absurd_parameters(name, params, msg):
    est, y = fitted_tiny(name)
    before = fingerprint(est)
    old = {k: est.get_params()[k] for k in params}
    est.set_params(**params)
    with pytest.raises((ValueError, TypeError), match=msg):
        est.fit(X, y)
    est.set_params(**old)
    assert_unchanged(est, before)
    # partial_fit re-checks the parameters; the network's structure
    # (wide/deep features) is fixed at initialisation, as in scikit-learn.
    structural = {"solver", "wide_features", "deep_features"}
    if not structural & set(params):
        est.set_params(**params)
        with pytest.raises((ValueError, TypeError), match=msg):
            est.partial_fit(X, y)
        est.set_params(**old)
        assert_unchanged(est, before)


@pytest.mark.parametrize("name", ["clf", "reg"])
def test_validation_data_shape_errors(name):
    est, y = fitted_tiny(name)
    before = fingerprint(est)
    with pytest.raises(ValueError, match=r"validation_data must be a tuple"):
        est.fit(X, y, validation_data=X)
    with pytest.raises(ValueError, match=r"validation_data must be a tuple"):
        est.fit(X, y, validation_data=(X,))
    with pytest.raises(ValueError, match=r"X_val is provided, but y_val was not"):
        est.fit(X, y, X_val=X)
    with pytest.raises(ValueError, match=r"y_val is provided, but X_val was not"):
        est.fit(X, y, y_val=y)
    with pytest.raises(ValueError, match=r"sample_weight_val is provided, but X_val"):
        est.fit(X, y, sample_weight_val=np.ones(len(y)))
    with pytest.raises(ValueError, match=r"either as X_val.*not both"):
        est.fit(X, y, X_val=X, y_val=y, validation_data=(X, y))
    with pytest.raises(ValueError, match=r"0 sample"):
        est.fit(X, y, X_val=X[:0], y_val=y[:0])
    if name == "clf":
        with pytest.raises(ValueError, match=r"y_val has classes not seen"):
            est.fit(X, y, X_val=X, y_val=y + 10)
    assert_unchanged(est, before)


@pytest.mark.parametrize("name", ["clf", "reg"])
@pytest.mark.parametrize("make_X_val, what", [
    (lambda: X30[:, :3], "X_val"),
    (lambda: X30[:, :6] if X30.shape[1] > 5 else np.c_[X30, X30], "X_val"),
    (lambda: np.where(np.arange(X30.size).reshape(X30.shape) == 7, np.nan, X30), "X_val"),
    (lambda: np.where(np.arange(X30.size).reshape(X30.shape) == 3, np.inf, X30), "X_val"),
    (lambda: X30.astype(str).astype(object) + "a", "X_val"),
])
def test_validation_X_errors_name_X_val(name, make_X_val, what):
    y = Y30_CLF if name == "clf" else Y30_REG
    with pytest.raises(ValueError) as info:
        _mlp(name).fit(X30, y, X_val=make_X_val(), y_val=y)
    assert str(info.value).startswith(what) or f"{what} " in str(info.value)
    assert "y_val must" not in str(info.value)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # short fits
@pytest.mark.parametrize("y_val, match", [
    (np.c_[Y30_REG, Y30_REG], "y_val has 2 output"), (Y30_REG.astype(str).astype(object), None),
    (np.array(["a"] * len(Y30_REG)), "y_val must hold numbers"),
])
def test_regressor_y_val_errors_come_before_training_and_name_y_val(y_val, match):
    if match is None:  # numeric strings convert, as for y
        _mlp("reg").fit(X30, Y30_REG, X_val=X30, y_val=y_val)
        return
    seen = []
    est = _mlp("reg", callbacks=[LambdaCallback(on_train_begin=lambda e, logs: seen.append(1))])
    with pytest.raises(ValueError, match=match):
        est.fit(X30, Y30_REG, X_val=X30, y_val=y_val)
    assert not seen  # refused before the first epoch


@pytest.mark.parametrize("name", ["clf", "reg", "perc"])
def test_one_feature_and_one_sample_are_valid(name):
    est, y = make_tiny(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X[:, :1], y)
        assert np.isfinite(est.predict(X[:, :1]).astype(float)).all()
        est.partial_fit(X[:1, :1], y[:1])  # one sample in a later partial_fit
        fresh, _ = make_tiny(name)
        kw = {} if name == "reg" else {"classes": CLASSES}
        fresh.partial_fit(X[:1], y[:1], **kw)  # one sample, first call
        assert fresh.predict(X).shape == (20,)
        one, _ = make_tiny(name)
        if name == "reg":
            one.fit(X[:1], y[:1])
            assert np.isfinite(one.predict(X)).all()
        elif name == "clf":  # one sample is one class: predicted, as scikit-learn's MLP does
            one.fit(X[:1], y[:1])
            assert set(one.predict(X)) == {y[0]}
        else:  # the Perceptron needs two classes: the message says so
            with pytest.raises(ValueError, match=r"(?i)class"):
                one.fit(X[:1], y[:1])


# ------------------------------------------------------------------ callbacks and their answers
@pytest.mark.parametrize("bad", [1, "x", None, 2.5, object()])
def test_callbacks_without_any_hook_are_refused(bad):
    with pytest.raises(TypeError, match=r"callbacks\[1\]"):
        _mlp("reg", callbacks=[LambdaCallback(), bad]).fit(X30, Y30_REG)


@pytest.mark.parametrize("answer", ["no", "", np.nan, 0, 1, [], [True], 0.0])
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_callback_answers_other_than_bool_or_none_are_refused(answer, solver):
    est = _mlp("reg", solver=solver,
               callbacks=[LambdaCallback(on_epoch_end=lambda e, i, logs: answer)])
    with pytest.raises(TypeError, match="must return True .*False or None"):
        est.fit(X30, Y30_REG)


@pytest.mark.parametrize("answer, n_iter", [(True, 1), (np.True_, 1), (False, 2), (None, 2),
                                            (np.False_, 2)])
def test_callback_bool_and_none_answers(answer, n_iter):
    est = _mlp("reg", callbacks=[LambdaCallback(on_epoch_end=lambda e, i, logs: answer)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        assert est.fit(X30, Y30_REG).n_iter_ == n_iter


# -------------------------------------------------------------- parameters assigned by the user
def _fitted_mlp(name, **params):
    base = dict(hidden_layer_sizes=(4, 3), max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if name == "clf":
            return MLPClassifier(**{**base, **params}).fit(X30, Y30_CLF), Y30_CLF
        return MLPRegressor(**{**base, **params}).fit(X30, Y30_REG), Y30_REG


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
    expected = est.predict(X30)
    for wrong in _wrong_shapes(shapes, np.random.RandomState(len(shapes))):
        with pytest.raises(ValueError, match=rf"{attr} must be a list of .* shapes"):
            setattr(est, attr, [np.ones(s) for s in wrong])
        np.testing.assert_array_equal(est._get_weights(), before)
    np.testing.assert_array_equal(est.predict(X30), expected)
    # Same shapes: accepted, used by predict and by partial_fit.
    setattr(est, attr, [np.full(s, 0.01) for s in shapes])
    assert all((a == 0.01).all() for a in getattr(est, attr))
    est.partial_fit(X30, y)


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
    for call in (lambda: est.predict(X30), lambda: est.partial_fit(X30, y)):
        with pytest.raises(ValueError, match="parameters are inconsistent"):
            call()


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # short fits
@pytest.mark.parametrize("attr, shape", [("coef_", (3, 4)), ("coef_", (5, 3)),
                                         ("intercept_", (4,))])
def test_perceptron_partial_fit_refuses_reassigned_coef_of_another_shape(attr, shape):
    est = Perceptron(max_iter=2).fit(X30, Y30_CLF)
    setattr(est, attr, np.zeros(shape))
    with pytest.raises(ValueError, match=rf"{attr} has shape"):
        est.partial_fit(X30, Y30_CLF)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_predict_names_a_non_finite_input_that_relu_would_hide(dtype, value):
    """Predict leaves X's finiteness check to the kernel (the row copy marks the
    row): a -inf under all-positive first-layer weights gives ReLU(-inf) = 0, a
    finite answer, yet scikit-learn's error must come, also on two threads."""
    rng = np.random.RandomState(0)
    Xf = rng.normal(size=(600, 5)).astype(dtype)
    yf = (Xf[:, 0] > 0).astype(int)
    est = MLPClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(Xf, yf)
    est.coefs_[0][2, :] = np.abs(est.coefs_[0][2, :]) + 0.1  # views on the parameters
    expected = est.predict(Xf)
    Xb = Xf.copy()
    Xb[500, 2] = value
    for n_jobs in (1, 2):
        est.set_params(n_jobs=n_jobs)
        with pytest.raises(ValueError, match="X contains (NaN|infinity)"):
            est.predict(Xb)
        np.testing.assert_array_equal(est.predict(Xf), expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["clf", "reg", "perc"])
def test_non_canonical_csr_is_read_not_rewritten(name, dtype):
    # Duplicate entries and unsorted column indices make a valid CSR matrix: the
    # model sums the duplicates on its own copy (scipy's sum_duplicates works in
    # place, on arrays a same-dtype csr_matrix(X) shares with X), and fits and
    # predicts as on the canonical matrix.
    import scipy.sparse as sp

    cols, vals = [], []
    for x in X.astype(dtype):  # four entries per row (indptr below)
        for j in (2, 0, 1, 0):  # unsorted, column 0 twice (its value split in halves)
            cols.append(j)
            vals.append(x[j] / 2 if j == 0 else x[j])
    indptr = np.arange(0, 4 * len(X) + 1, 4, dtype=np.int32)
    U = sp.csr_matrix((np.array(vals, dtype=dtype), np.array(cols, dtype=np.int32), indptr),
                      shape=X.shape)
    assert not U.has_canonical_format
    saved = [a.copy() for a in (U.data, U.indices, U.indptr)]
    est, y = make_tiny(name)
    ref = clone(est).fit(sp.csr_matrix(X.astype(dtype)), y)
    est.fit(U, y)
    pred = est.predict(U)
    for before, after in zip(saved, (U.data, U.indices, U.indptr)):
        np.testing.assert_array_equal(after, before)
    np.testing.assert_allclose(pred, ref.predict(sp.csr_matrix(X.astype(dtype))),
                               rtol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", ["clf", "reg"])
def test_csr_prediction_skips_sklearn_validation(monkeypatch, name, dtype):
    # A canonical CSR X of the model's dtype goes straight to the kernel (scikit-learn's
    # validation costs most of a small sparse prediction), with the full path's answer.
    import scipy.sparse as sp

    import sknn._base as base

    Xd = X.astype(dtype)
    est, y = make_tiny(name)
    est.fit(sp.csr_matrix(Xd), y)
    with monkeypatch.context() as m:  # the full path's answer
        m.setattr(base, "csr_prediction_input", lambda *a: None)
        expected = est.predict(sp.csr_matrix(Xd))
    np.testing.assert_allclose(expected, est.predict(Xd), rtol=1e-5 if dtype == np.float32
                               else 1e-12)
    calls = []
    full = base.validate_prediction_input
    monkeypatch.setattr(base, "validate_prediction_input",
                        lambda *a, **k: calls.append(1) or full(*a, **k))
    for make in (sp.csr_matrix, sp.csr_array):
        np.testing.assert_array_equal(est.predict(make(Xd)), expected)
    assert calls == []
    est.predict(sp.csr_matrix(X.astype(np.float32 if dtype == np.float64 else np.float64)))
    assert calls == [1]  # another dtype: the full path converts it


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_csr_prediction_names_a_non_finite_value_that_relu_would_hide(dtype, value):
    # As for dense X (test above): -inf under positive weights is ReLU(-inf) = 0, a
    # finite answer, yet the CSR shortcut must raise scikit-learn's error.
    import scipy.sparse as sp

    rng = np.random.RandomState(0)
    Xf = rng.normal(size=(600, 5)).astype(dtype)
    yf = (Xf[:, 0] > 0).astype(int)
    est = MLPClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(Xf, yf)
    est.coefs_[0][2, :] = np.abs(est.coefs_[0][2, :]) + 0.1  # views on the parameters
    Xb = Xf.copy()
    Xb[500, 2] = value
    with pytest.raises(ValueError, match="X contains (NaN|infinity)"):
        est.predict(sp.csr_matrix(Xb))
    np.testing.assert_array_equal(est.predict(sp.csr_matrix(Xf)), est.predict(Xf))
