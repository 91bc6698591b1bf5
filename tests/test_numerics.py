"""Numerical faults: huge inputs, weights and learning rates, saturated outputs,
overflowing predictions and divergence.  Every fit ends with finite weights or
an error saying what to change; no prediction is NaN.
"""

import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from _helpers import (
    X30,
    Y30_CLF,
    Y30_REG,
    Y_CLF,
    Y_REG,
    X,
    fingerprint,
    make_tiny,
    weights_bytes,
)
from sklearn.exceptions import ConvergenceWarning

from sknn import MLPClassifier, MLPRegressor, Perceptron
from sknn.callbacks import LambdaCallback

# Short trainings on purpose: "maximum iterations reached" is expected here;
# tests about that warning use pytest.warns, which still sees it.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# --------------------------------------------------------------- huge inputs and learning rates
@pytest.fixture
def strict_numerics():
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        with np.errstate(all="raise"):
            yield


_DIVERGED = r"(?s)diverged|non-finite"


def _check_fit_or_divergence(est, X_, y_):
    """Fit either works with finite weights/predictions or says what to change."""
    try:
        est.fit(X_, y_)
    except ValueError as exc:
        assert re.search(_DIVERGED, str(exc)), str(exc)
        assert "learning_rate_init" in str(exc) and "scale X" in str(exc)
        assert "_theta" not in est.__dict__ and "coef_" not in est.__dict__
        return None
    assert all(np.isfinite(c).all() for c in est.coefs_ + est.intercepts_)
    return est


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.parametrize("name", ["clf", "reg"])
def test_huge_inputs(strict_numerics, name, solver):
    est, y = make_tiny(name, solver=solver, max_iter=5)
    fitted = _check_fit_or_divergence(est, X * 1e30, y)
    if fitted is not None:
        for coef in fitted.coefs_ + fitted.intercepts_:
            assert np.isfinite(coef).all()
        assert np.isfinite(np.asarray(fitted.predict(X * 1e30), dtype=float)).all()
        if name == "clf":
            proba = fitted.predict_proba(X * 1e30)
            assert np.isfinite(proba).all() and np.allclose(proba.sum(axis=1), 1)


def test_huge_inputs_perceptron(strict_numerics):
    est = Perceptron(max_iter=5, random_state=0).fit(X * 1e30, Y_CLF)
    assert np.isfinite(est.coef_).all() and np.isfinite(est.intercept_).all()
    assert np.isfinite(est.decision_function(X * 1e30)).all()


@pytest.mark.parametrize("solver", ["adam", "sgd"])
@pytest.mark.parametrize("name", ["clf", "reg"])
def test_huge_learning_rate(strict_numerics, name, solver):
    est, y = make_tiny(name, solver=solver, learning_rate_init=1e8, max_iter=20,
                   hidden_layer_sizes=(8,))
    fitted = _check_fit_or_divergence(est, X, y * (10 if name == "reg" else 1))
    if fitted is not None:
        assert np.isfinite(fitted.predict(X).astype(float)).all()


@pytest.mark.parametrize("name", ["clf", "reg", "perc"])
@pytest.mark.parametrize("sparse", [False, True])
def test_all_constant_features(strict_numerics, name, sparse):
    Xc = np.ones_like(X) * 3.0
    Xc[:, 1] = 0.0
    Xc = sp.csr_matrix(Xc) if sparse else Xc
    est, y = make_tiny(name)
    est.fit(Xc, y)
    assert np.isfinite(np.asarray(est.predict(Xc), dtype=float)).all()
    assert np.isfinite(est.score(Xc, y))


@pytest.mark.parametrize("binary", [False, True])
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_extreme_logits(strict_numerics, solver, binary):
    y = Y_CLF % 2 if binary else Y_CLF
    est = MLPClassifier(hidden_layer_sizes=(4,), activation="identity", solver=solver,
                        max_iter=5, random_state=0)
    est.fit(X * 1e3, y, X_val=X * 1e3, y_val=y)
    assert np.isfinite(est.history_["loss"]).all()
    assert np.isfinite(est.history_["val_loss"]).all()
    Xbig = X * 1e8
    proba = est.predict_proba(Xbig)
    assert np.isfinite(proba).all() and proba.min() >= 0 and proba.max() <= 1
    assert np.allclose(proba.sum(axis=1), 1)
    with np.errstate(divide="ignore"):  # log(0) of a saturated probability is -inf
        assert not np.isnan(est.predict_log_proba(Xbig)).any()


@pytest.mark.parametrize("out", ["relu", "softplus", "sigmoid", "tanh"])
@pytest.mark.parametrize("loss", ["squared_error", "poisson", "absolute_error", "huber"])
def test_output_activations_stable_on_large_inputs(strict_numerics, out, loss):
    y = np.clip(np.abs(Y_REG) / 4, 0, 1)
    est = MLPRegressor(loss=loss, output_activation=out, hidden_layer_sizes=(4,),
                       max_iter=3, random_state=0)
    if loss == "poisson" and out == "tanh":  # a negative mean: refused up front
        with pytest.raises(ValueError, match=r"loss='poisson'.*output_activation='tanh'"):
            est.fit(X, y)
        return
    est.fit(X * 1e10, y)
    assert np.isfinite(est.loss_)
    pred = est.predict(X * 1e10)
    assert np.isfinite(pred).all()
    if out in ("sigmoid", "tanh"):
        assert np.abs(pred).max() <= 1


# --------------------------------------------------------- non-finite outputs and float32 casts
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
    Xt = X30.astype(np.float32) if case.startswith("float32") else X30
    X_val = X30[:10].copy()
    X_val[3, 1] = {"row_1e200": 1e200, "float32_1e39": 1e39, "float32_3e38": 3e38}[case]
    y = Y30_CLF if name == "clf" else Y30_REG
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
    y = Y30_CLF if name != "reg" else Y30_REG
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if name == "perc":
            est = Perceptron(max_iter=3).fit(X30.astype(dtype), y)
            methods = ["predict", "decision_function", "score"]
        else:
            Est = MLPClassifier if name == "clf" else MLPRegressor
            est = Est(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(X30.astype(dtype), y)
            methods = ["predict", "score"] + (["predict_proba", "predict_log_proba"]
                                              if name == "clf" else [])
    Xq = X30.copy()
    Xq[rng.randint(len(X30)), rng.randint(X30.shape[1])] = value
    if name == "perc":
        Xq[rng.randint(len(X30))] = value * np.sign(est.coef_[0])  # +inf + -inf = NaN
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
        est.fit(X30.astype(np.float32), Y30_REG)
    before = est._get_weights()
    Xb = X30.copy()
    Xb[0, 0] = 1e39
    with pytest.raises(ValueError, match="X has values too large for this model's float32"):
        est.partial_fit(Xb, Y30_REG)
    np.testing.assert_array_equal(est._get_weights(), before)


@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
@pytest.mark.parametrize("multilabel", [True, False])
def test_saturated_probabilities_stay_inside_zero_one_without_changing_predict(
    solver, multilabel
):
    y = np.c_[Y30_CLF == 0, Y30_CLF == 1].astype(int) if multilabel else (Y30_CLF == 0).astype(int)
    Xs = X30 * 1e3  # saturates every logistic output
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


# ----------------------------------------------------------------------------------- divergence
def _recorder(seen):
    """A callback appending (epoch, weights finite) to ``seen``; fit deep-copies
    callbacks, and a closure is the one thing the copy shares with the test."""

    def record(est, epoch, logs):
        seen.append((epoch, all(np.isfinite(c).all() for c in est.coefs_ + est.intercepts_)))

    return LambdaCallback(on_epoch_end=record)


def _diverging(callbacks=None, **params):
    """One full batch whose update overflows the weights while its loss is finite."""
    base = dict(hidden_layer_sizes=(2,), activation="identity", solver="sgd", batch_size=20,
                learning_rate_init=1e10, momentum=0.0, max_iter=5, random_state=0,
                callbacks=callbacks)
    return MLPRegressor(**{**base, **params})


def test_divergence_detected_in_the_epoch_it_happens():
    # Found a bug: weights overflowing in the last update of an epoch went
    # unnoticed until the next epoch (callbacks saw NaN weights).
    seen = []
    est = _diverging([_recorder(seen)])
    with pytest.raises(ValueError, match=r"at epoch 1: training diverged.*learning_rate_init"):
        est.fit(X * 1e150, np.zeros(20))
    assert seen == []  # no callback ever saw the diverged weights
    assert "_theta" not in est.__dict__


def test_divergence_names_the_epoch():
    seen = []
    est = MLPRegressor(hidden_layer_sizes=(5,), solver="sgd", batch_size=20,
                       learning_rate_init=1.0, momentum=0.0, max_iter=30, random_state=0,
                       callbacks=[_recorder(seen)])
    with pytest.raises(ValueError, match=r"at epoch (\d+): training diverged") as info:
        est.fit(X, Y_REG * 10)
    epoch = int(re.search(r"at epoch (\d+)", str(info.value)).group(1))
    assert len(seen) == epoch - 1 and all(ok for _, ok in seen)


@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
def test_divergence_keeps_previous_weights(how):
    est = _diverging(learning_rate_init=1e-3, warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, Y_REG)
    before = fingerprint(est)
    est.set_params(learning_rate_init=1e10)
    est._optimizer.set_learning_rate(1e10)  # partial_fit keeps its optimizer
    before = (before[0], before[1], None)
    with pytest.raises(ValueError, match=r"diverged.*learning_rate_init"):
        if how == "warm_start":
            est.fit(X * 1e150, np.zeros(20))
        else:
            est.partial_fit(X * 1e150, np.zeros(20))
    assert sorted(est.__dict__) == before[0] and weights_bytes(est) == before[1]
    assert all(np.isfinite(c).all() for c in est.coefs_)


@pytest.mark.parametrize("what", ["loss", "weights"])
def test_divergence_raises_divergence_error(what):
    import sknn

    assert "DivergenceError" in sknn.__all__ and issubclass(sknn.DivergenceError, ValueError)
    if what == "loss":
        est, y = make_tiny("reg", solver="sgd", max_iter=5, learning_rate_init=1e6)
        X_fit = X * 1e30
    else:  # the loss stays finite, the update overflows the weights
        est, X_fit, y = _diverging(), X * 1e150, np.zeros(20)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        with pytest.raises(sknn.DivergenceError, match=_DIVERGED):
            est.fit(X_fit, y)
    assert "_theta" not in est.__dict__


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # lbfgs aborts
@pytest.mark.parametrize("big", [1e306, 1e307, 5e307])
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_divergence_from_huge_weight_ratios_names_the_weights(big, solver):
    # The weight sum is representable, but weight x loss overflows the loss sum.
    sw = np.ones(len(X30))
    sw[:3] = big
    est, _ = make_tiny("reg", solver=solver, max_iter=2)
    with pytest.raises(ValueError, match=r"diverged.*training weights.*rescale them"):
        est.fit(X30, Y30_REG * 1e3, sample_weight=sw)
