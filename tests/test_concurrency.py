"""Concurrency: one fit per estimator at a time (a re-entrant or concurrent fit of
the same estimator raises, the first completes unharmed), and threads sharing a
fitted model or fitting different ones get exactly the serial results.
"""

import concurrent.futures
import functools
import pickle
import threading
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from _helpers import (
    X30,
    Y30_CLF,
    Y30_REG,
    make_tiny,
    weights_bytes,
)
from sklearn.exceptions import ConvergenceWarning

from sknn import MLPClassifier, MLPRegressor, Perceptron
from sknn.callbacks import LambdaCallback

# Short trainings on purpose: "maximum iterations reached" is expected here;
# tests about that warning use pytest.warns, which still sees it.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# ---------------------------------------------- re-entrant and concurrent fits of one estimator
def _refit_inside(y, how):
    """An on_epoch_end that fits its own estimator again (a closure: fit deep-copies
    callbacks, and a closure's cells are shared by the copy)."""
    errors = []

    def on_epoch_end(est, epoch, logs):
        if epoch == 1:
            try:
                getattr(est, how)(X30, y)
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
    Xf = sp.csr_matrix(X30) if sparse else X30
    y = Y30_CLF if name == "clf" else Y30_REG
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
        est.fit(X30, Y30_REG)
    before = pickle.dumps(est)
    est.set_params(callbacks=[LambdaCallback(on_epoch_end=lambda e, i, logs: e.fit(X30, Y30_REG))])
    with pytest.raises(RuntimeError, match="already being fitted"):
        est.fit(X30, Y30_REG)
    est.set_params(callbacks=None)
    assert pickle.dumps(est) == before


def _reentrant_perceptron_fit(est):
    # Perceptron has no callbacks: re-enter through a sample_weight that fits
    # the same estimator when validation converts it to an array.
    class Reenter:
        def __array__(self, dtype=None, copy=None):
            est.fit(X30, Y30_CLF)
            return np.ones(len(X30))

        def __len__(self):
            return len(X30)

    return est.fit(X30, Y30_CLF, sample_weight=Reenter())


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


# ----------------------------------------------------------------------- threads sharing models
@pytest.fixture(scope="module")
def big():
    rng = np.random.RandomState(1)
    Xb = rng.randn(20000, 20)
    y = (Xb[:, 0] + Xb[:, 1] > 0).astype(int) + (Xb[:, 2] > 1)
    return Xb, y


@pytest.mark.parametrize("name", ["clf", "reg", "perc"])
def test_concurrent_predict_matches_serial(big, name):
    Xb, y = big
    if name == "perc":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est = Perceptron(max_iter=3, random_state=0).fit(Xb[:500], y[:500])
        methods = ["predict", "decision_function"]
    else:
        est, _ = make_tiny(name, hidden_layer_sizes=(32, 16), activation="gelu", max_iter=2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(Xb[:500], y[:500] if name == "clf" else Xb[:500, 0])
        methods = ["predict", "predict_proba"] if name == "clf" else ["predict"]
    inputs = [Xb, sp.csr_matrix(np.where(np.abs(Xb) > 1, Xb, 0.0))]
    serial = {(m, i): getattr(est, m)(inputs[i]) for m in methods for i in range(2)}
    jobs = [(m, i) for m in methods for i in range(2)] * 4
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda job: getattr(est, job[0])(inputs[job[1]]), jobs))
    for job, result in zip(jobs, results):
        np.testing.assert_array_equal(result, serial[job])


def _fit_pair():
    clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=15, random_state=0)
    reg = MLPRegressor(hidden_layer_sizes=(8, 8), solver="lbfgs", max_iter=30, random_state=1)
    per = Perceptron(max_iter=20, random_state=0)
    return clf, reg, per


def test_concurrent_fits_match_serial(big):
    Xb, y = big
    Xs, ys = Xb[:1500], y[:1500]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        serial = _fit_pair()
        serial[0].fit(Xs, ys)
        serial[1].fit(Xs, Xs[:, 0])
        serial[2].fit(Xs, ys)
        threaded = _fit_pair()
        with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
            futures = [pool.submit(threaded[0].fit, Xs, ys),
                       pool.submit(threaded[1].fit, Xs, Xs[:, 0]),
                       pool.submit(threaded[2].fit, Xs, ys)]
            for f in futures:
                f.result()
    for a, b in zip(serial, threaded):
        assert weights_bytes(a) == weights_bytes(b)
