"""Interrupts: Ctrl-C from a callback, inside L-BFGS's line search, in
partial_fit, and a real SIGINT in a subprocess.  An interrupted fit keeps the
last completed epoch, consistent in every attribute and history, and usable.
"""

import functools
import json
import pickle
import threading
import warnings

import numpy as np
import pytest
from _helpers import (
    Y_REG,
    X,
    fitted_tiny,
    make_tiny,
    run_script,
)
from sklearn.exceptions import ConvergenceWarning

import sknn._base
from sknn import MLPRegressor
from sknn.callbacks import LambdaCallback

# Short trainings on purpose: "maximum iterations reached" is expected here;
# tests about that warning use pytest.warns, which still sees it.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _interrupt_at(k, est, epoch, logs):
    if epoch == k:
        raise KeyboardInterrupt


def _interrupting(name, k, solver, **params):
    cb = LambdaCallback(on_epoch_end=functools.partial(_interrupt_at, k))
    est, y = make_tiny(name, solver=solver, max_iter=10, callbacks=[cb], **params)
    return est, y


def _assert_consistent(est, n_epochs, X_=X):
    assert all(np.isfinite(c).all() for c in est.coefs_ + est.intercepts_)
    lengths = {k: len(v) for k, v in est.history_.items()}
    assert set(lengths.values()) == {n_epochs}, lengths
    if est.solver != "lbfgs":
        assert len(est.loss_curve_) == n_epochs
        assert est.loss_ == est.loss_curve_[-1]
    assert est.loss_ == est.history_["loss"][-1]
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.predict(X_), est.predict(X_))


@pytest.mark.parametrize("k", [0, 2, 5])
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.parametrize("name", ["clf", "reg"])
def test_keyboard_interrupt_from_callback(name, solver, k):
    est, y = _interrupting(name, k, solver)
    with pytest.warns(UserWarning, match="interrupted"):
        est.fit(X, y)
    assert est.n_iter_ == k + 1
    _assert_consistent(est, k + 1)
    if solver == "lbfgs":
        return
    theta = est._get_weights()
    est.set_params(callbacks=None)
    est.partial_fit(X, y)  # continues from the interrupted weights
    assert est.n_iter_ == 1 and not np.array_equal(est._get_weights(), theta)
    _assert_consistent(est, k + 2)


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_keyboard_interrupt_after_warm_start_counts_this_call(solver):
    # Found a bug: an interrupted L-BFGS warm start set n_iter_ to every
    # iteration in history_, not those of the interrupted call.
    est, y = make_tiny("reg", solver=solver, max_iter=3, warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    n_first = len(est.history_["loss"])
    est.set_params(max_iter=10, callbacks=[
        LambdaCallback(on_epoch_end=functools.partial(_interrupt_at, n_first + 1))])
    with pytest.warns(UserWarning, match="interrupted"):
        est.fit(X, y)
    assert est.n_iter_ == 2
    _assert_consistent(est, n_first + 2)


def test_keyboard_interrupt_in_partial_fit():
    est, y = fitted_tiny("clf")
    n = len(est.history_["loss"])
    est.set_params(callbacks=[LambdaCallback(on_epoch_end=functools.partial(_interrupt_at, n))])
    est.__dict__.pop("callbacks_", None)
    with pytest.warns(UserWarning, match="interrupted"):
        est.partial_fit(X, y)
    assert est.n_iter_ == 1
    _assert_consistent(est, n + 1)


def test_keyboard_interrupt_inside_lbfgs_line_search(monkeypatch):
    # Found a bug: Ctrl-C while L-BFGS evaluated a trial point kept that trial
    # point as the model's weights instead of the last accepted iterate.
    seen = []
    real = sknn._base.loss_grad
    calls = {"n": 0}

    def flaky(theta, *args):
        calls["n"] += 1
        if calls["n"] == 6:
            theta[...] = np.nan  # a trial point no iteration accepted
            raise KeyboardInterrupt
        return real(theta, *args)

    def remember(est, epoch, logs):
        seen.append(est._get_weights())

    monkeypatch.setattr(sknn._base, "loss_grad", flaky)
    est = MLPRegressor(hidden_layer_sizes=(3,), solver="lbfgs", max_iter=50, random_state=0,
                       callbacks=[LambdaCallback(on_epoch_end=remember)])
    with pytest.warns(UserWarning, match="interrupted"):
        est.fit(X, Y_REG)
    assert est.n_iter_ == len(seen) == len(est.history_["loss"]) >= 1
    np.testing.assert_array_equal(est._get_weights(), seen[-1])


class InterruptAt:
    """Raises KeyboardInterrupt at the end of one epoch (module level: picklable)."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, est, epoch, logs):
        if epoch == self.epoch:
            raise KeyboardInterrupt


def test_keyboard_interrupt_from_callback_leaves_usable_model():
    est, y = make_tiny("reg", hidden_layer_sizes=(16,), max_iter=60, callbacks=[InterruptAt(2)])
    with pytest.warns(UserWarning, match="interrupted"):
        est.fit(X, y)
    assert est.n_iter_ == 3 and len(est.history_["loss"]) == 3
    assert np.isfinite(est.predict(X)).all()
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.predict(X), est.predict(X))
    restored.partial_fit(X, y)
    assert len(restored.history_["loss"]) == 4
    assert restored.loss_ == restored.history_["loss"][-1]


def test_keyboard_interrupt_lbfgs():
    est, y = make_tiny("reg", hidden_layer_sizes=(16,), solver="lbfgs", max_iter=60,
                   callbacks=[InterruptAt(1)])
    with pytest.warns(UserWarning, match="interrupted"):
        est.fit(X, y)
    assert len(est.history_["loss"]) == 2
    assert np.isfinite(est.predict(X)).all()


# ----------------------- a real SIGINT (a subprocess: a regression fails the test, not the run)
# a real SIGINT (a subprocess: a regression fails the test instead of the run)
_SIGINT_SCRIPT = """
    import json, os, signal, sys, threading, time, warnings
    import numpy as np
    from sknn import MLPClassifier, MLPRegressor
    warnings.simplefilter("ignore")
    # Python keeps SIGINT ignored when it starts with it ignored (a background job
    # of a non-interactive shell, some CI runners): the user's Ctrl-C this test
    # stands for reaches Python's default handler
    signal.signal(signal.SIGINT, signal.default_int_handler)
    name, solver = sys.argv[1], sys.argv[2]
    rng = np.random.RandomState(0)
    X = rng.randn(6000, 20)
    y = X @ rng.randn(20) if name == "reg" else (X[:, 0] + X[:, 1] > 0).astype(int)
    Est = MLPRegressor if name == "reg" else MLPClassifier

    def make(**kw):
        return Est(hidden_layer_sizes=(64,), solver=solver, random_state=0, tol=0.0,
                   n_iter_no_change=np.inf, **kw)

    def state(est):
        arrays = [est._theta]
        if solver != "lbfgs":
            arrays += [est._optimizer.m, est._optimizer.v]
        return [a.tobytes().hex() for a in arrays]

    def consistent(est, replay, n):
        ok = state(est) == state(replay)
        ok &= all(len(v) == n for v in est.history_.values())
        if solver != "lbfgs":
            ok &= len(est.loss_curve_) == n and est.t_ == n * len(X)
            ok &= est._optimizer.t == replay._optimizer.t
        return bool(ok)

    def sigint_after(delay):
        timer = threading.Timer(delay, os.kill, (os.getpid(), signal.SIGINT))
        timer.start()
        return timer

    make(max_iter=2).fit(X, y)  # compile outside the timed runs
    start = time.perf_counter()
    make(max_iter=3).fit(X, y)
    epoch = (time.perf_counter() - start) / 3
    results = []
    # Delays put the signal at several points inside an epoch's kernel.
    for k, frac in [(1, 0.5), (2, 0.3), (3, 0.8), (4, 0.1)]:
        est = make(max_iter=100000)
        timer = sigint_after(epoch * (k + frac))
        try:
            est.fit(X, y)
        except KeyboardInterrupt:  # landed before the loop: the fit is undone
            pass
        timer.join()
        if not hasattr(est, "n_iter_"):
            results.append(["fit", k, 0, True])
            continue
        n = est.n_iter_
        if n == 0:  # landed before the first L-BFGS iteration: nothing to replay
            results.append(["fit", k, 0, all(len(v) == 0 for v in est.history_.values())])
            continue
        replay = make(max_iter=n).fit(X, y)
        results.append(["fit", k, n, consistent(est, replay, n)])
    if solver != "lbfgs":
        classes = {"classes": np.unique(y)} if name == "clf" else {}
        for k, frac in [(1, 0.5), (2, 0.7), (3, 0.2)]:
            est = make()
            timer = sigint_after(epoch * (k + frac))
            try:
                with warnings.catch_warnings(record=True) as seen:
                    warnings.simplefilter("always")
                    for _ in range(k + 50):
                        est.partial_fit(X, y, **classes)
                        if any("interrupted" in str(w.message) for w in seen):
                            break
            except KeyboardInterrupt:  # between calls or before the loop: nothing half-done
                pass
            timer.join()
            n = len(est.history_["loss"]) if hasattr(est, "history_") else 0
            replay = make()
            for _ in range(n):
                replay.partial_fit(X, y, **classes)
            results.append(["partial_fit", k, n, n == 0 or consistent(est, replay, n)])
    print(json.dumps(results))
"""


@pytest.mark.parametrize("name, solver", [("reg", "sgd"), ("reg", "adam"), ("reg", "lbfgs"),
                                          ("clf", "adam")])
def test_real_sigint_leaves_the_model_equal_to_a_replay_of_its_epochs(name, solver):
    # Found a bug: a SIGINT during the jitted epoch left the weights and Adam
    # moments one epoch ahead of n_iter_, t_, loss_curve_ and history_.
    results = json.loads(run_script(_SIGINT_SCRIPT, name, solver).splitlines()[-1])
    assert results and all(ok for *_, ok in results), results
    assert any(n > 0 for _, _, n, _ in results)  # the signal did land inside training


def test_interrupt_deferral_restores_the_handler_and_leaves_other_threads_alone():
    import signal

    # Python's own handler, as in an interactive session: a test runner started as a
    # background job of a non-interactive shell inherits SIG_IGN, which sknn leaves alone
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        before = signal.getsignal(signal.SIGINT)
        est = MLPRegressor(hidden_layer_sizes=(3,), max_iter=2, random_state=0)
        seen = {}
        est.set_params(callbacks=[LambdaCallback(
            on_epoch_end=lambda e, i, logs: seen.update(h=signal.getsignal(signal.SIGINT)))])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X, Y_REG)
            assert signal.getsignal(signal.SIGINT) is before
            assert seen["h"] is not before  # held during the loop
            t = threading.Thread(target=est.fit, args=(X, Y_REG))  # no handler off the main thread
            t.start()
            t.join()
        assert signal.getsignal(signal.SIGINT) is before
    finally:
        signal.signal(signal.SIGINT, inherited)
