"""Fuzzing (hypothesis): random small problems and parameters, every input kind
(dense/sparse, C/F/read-only, int/float32/float64): a fit either works and
predicts finite values, or raises one of the documented errors.
"""

import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

from sknn import MLPClassifier, MLPRegressor, Perceptron

# Short trainings on purpose: "maximum iterations reached" is expected here;
# tests about that warning use pytest.warns, which still sees it.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


settings.register_profile(
    "sknn-reliability",
    derandomize=True,
    deadline=None,
    max_examples=40,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


FUZZ = settings.get_profile("sknn-reliability")


_ALLOWED = re.compile(
    r"diverged|non-finite|validation set is too small|least populated class|"
    r"train set will be empty|resulting train set|test_size|at least 2 classes|"
    r"number of classes has to be greater than one"
)


def _as_input(data, layout, kind, sparse):
    Xf = np.asarray(data, dtype=np.float64)
    if kind == "int":
        Xf = np.round(Xf * 3).astype(np.int64)
    elif kind == "float32":
        Xf = Xf.astype(np.float32)
    if sparse:
        Xf = np.where(np.abs(Xf) > 0.5, Xf, 0)
        return sp.csr_matrix(Xf) if layout == "C" else sp.csc_matrix(Xf)
    Xf = np.asfortranarray(Xf) if layout == "F" else np.ascontiguousarray(Xf)
    if layout == "readonly":
        Xf.setflags(write=False)
    return Xf


@st.composite
def _problems(draw, classifier):
    n = draw(st.integers(2, 30))
    p = draw(st.integers(1, 5))
    data = draw(st.lists(st.floats(-5, 5, allow_nan=False, width=32),
                         min_size=n * p, max_size=n * p))
    Xd = np.asarray(data).reshape(n, p)
    if classifier:
        k = draw(st.integers(2, 4))
        y = np.arange(n) % k  # every class present, n >= 2
        y = np.asarray(draw(st.permutations(list(y))))
        if draw(st.booleans()):
            y = np.array(["a", "b", "c", "d"])[y]
    else:
        y = np.asarray(draw(st.lists(st.floats(-3, 3, allow_nan=False), min_size=n,
                                     max_size=n)))
    layout = draw(st.sampled_from(["C", "F", "readonly"]))
    kind = draw(st.sampled_from(["float64", "float32", "int"]))
    sparse = draw(st.booleans())
    return _as_input(Xd, layout, kind, sparse), y, sparse


def _mlp_params(draw, regressor):
    params = dict(
        hidden_layer_sizes=draw(st.lists(st.integers(1, 4), min_size=0, max_size=2)),
        activation=draw(st.sampled_from(
            ["identity", "logistic", "tanh", "relu", "leaky_relu", "softplus", "elu",
             "selu", "gelu"])),
        solver=draw(st.sampled_from(["adam", "sgd", "lbfgs"])),
        alpha=draw(st.sampled_from([0.0, 1e-4, 1.0])),
        batch_size=draw(st.sampled_from(["auto", 1, 3, 64])),
        learning_rate=draw(st.sampled_from(["constant", "invscaling", "adaptive"])),
        learning_rate_init=draw(st.sampled_from([1e-3, 1e-1])),
        max_iter=draw(st.integers(1, 4)),
        early_stopping=draw(st.booleans()),
        weight_init=draw(st.sampled_from(
            ["glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_normal"])),
        wide_features=draw(st.sampled_from([None, "all"])),
        random_state=draw(st.integers(0, 3)),
    )
    if regressor:
        params["loss"] = draw(st.sampled_from(["squared_error", "absolute_error", "huber"]))
        params["output_activation"] = draw(st.sampled_from(["identity", "relu", "softplus"]))
    return params


def _run_quietly(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("ignore", message="Got `batch_size` less than 1")
        try:
            return fn()
        except (ValueError, TypeError) as exc:
            assert _ALLOWED.search(str(exc)), f"undocumented error: {exc!r}"
            return None


@FUZZ
@given(problem=_problems(classifier=True), data=st.data())
def test_fuzz_mlp_classifier(problem, data):
    Xf, y, _ = problem
    params = _mlp_params(data.draw, regressor=False)
    est = MLPClassifier(**params)
    if _run_quietly(lambda: est.fit(Xf, y)) is None:
        return
    proba = est.predict_proba(Xf)
    assert np.isfinite(proba).all() and np.allclose(proba.sum(axis=1), 1)
    assert set(est.predict(Xf)) <= set(y)


@FUZZ
@given(problem=_problems(classifier=False), data=st.data())
def test_fuzz_mlp_regressor(problem, data):
    Xf, y, _ = problem
    params = _mlp_params(data.draw, regressor=True)
    if data.draw(st.booleans()):
        params["loss"] = "poisson"
        y = np.abs(y)
    est = MLPRegressor(**params)
    if _run_quietly(lambda: est.fit(Xf, y)) is None:
        return
    assert np.isfinite(est.predict(Xf)).all()


@FUZZ
@given(problem=_problems(classifier=True), data=st.data())
def test_fuzz_perceptron(problem, data):
    Xf, y, _ = problem
    est = Perceptron(
        penalty=data.draw(st.sampled_from([None, "l1", "l2", "elasticnet"])),
        alpha=data.draw(st.sampled_from([1e-4, 0.1])),
        fit_intercept=data.draw(st.booleans()),
        max_iter=data.draw(st.integers(1, 5)),
        eta0=data.draw(st.sampled_from([0.1, 1.0])),
        early_stopping=data.draw(st.booleans()),
        class_weight=data.draw(st.sampled_from([None, "balanced"])),
        random_state=data.draw(st.integers(0, 3)),
    )
    if _run_quietly(lambda: est.fit(Xf, y)) is None:
        return
    assert np.isfinite(est.decision_function(Xf)).all()
    assert set(est.predict(Xf)) <= set(y)
