"""Helpers shared by sknn's test modules (imported as ``_helpers``: pytest puts
``tests/`` on ``sys.path``): numerical checks, a subprocess runner, and the small
problems several test modules train on."""

import copy
import os
import pickle
import subprocess
import sys
import textwrap
import warnings

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from sknn import MLPClassifier, MLPRegressor, Perceptron

__all__ = [
    "CLASSES", "X", "X30", "Y30_CLF", "Y30_REG", "Y_CLF", "Y_REG", "assert_unchanged",
    "badly_scaled_regression", "central_differences", "fingerprint", "fitted_tiny",
    "make_tiny", "rel_err", "run_script", "scaled_diabetes", "weights_bytes",
]


def central_differences(f, x, h=1e-6):
    """The gradient of the scalar ``f`` at the array ``x`` by central differences
    (one pair of evaluations per element; ``x`` itself is not changed)."""
    fd = np.empty_like(x)
    for idx in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += h
        xm[idx] -= h
        fd[idx] = (f(xp) - f(xm)) / (2 * h)
    return fd


def rel_err(a, b):
    """Largest absolute difference of ``a`` and ``b`` relative to ``b``'s largest entry."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300)


def run_script(script, *args, timeout=600):
    """Run ``script`` in a fresh interpreter; a crash (signal, abort) fails the test."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        capture_output=True, text=True, timeout=timeout, env=dict(os.environ),
    )
    assert proc.returncode == 0, (
        f"subprocess died with return code {proc.returncode} (negative: killed by that "
        f"signal)\nlast output:\n{proc.stdout[-2000:]}\nstderr:\n{proc.stderr[-3000:]}"
    )
    return proc.stdout


# ------------------------------------------------------------------ small problems
# The robustness tests (input validation, numerics, interrupts, concurrency) train
# thousands of tiny cases: X is 20 x 3 with three classes; X30 (30 x 5) is the
# problem where every parameter shape differs in both directions.
_rng = np.random.RandomState(0)
X = _rng.randn(20, 3)
Y_CLF = np.arange(20) % 3
Y_REG = X.sum(axis=1)
CLASSES = np.array([0, 1, 2])
_rng30 = np.random.RandomState(0)
X30 = _rng30.randn(30, 5)
Y30_CLF = np.arange(30) % 3
Y30_REG = X30 @ _rng30.randn(5)


def make_tiny(name, **params):
    """``(estimator, y)`` for X: ``name`` is "clf", "reg" or "perc"; ``params``
    override the small defaults."""
    if name == "clf":
        base = dict(hidden_layer_sizes=(3,), max_iter=3, random_state=0)
        return MLPClassifier(**{**base, **params}), Y_CLF
    if name == "reg":
        base = dict(hidden_layer_sizes=(3,), max_iter=3, random_state=0)
        return MLPRegressor(**{**base, **params}), Y_REG
    return Perceptron(**{**dict(max_iter=3, random_state=0), **params}), Y_CLF


_FITTED = {}


def fitted_tiny(name):
    """A fitted (fit + one partial_fit) copy of ``make_tiny(name)``, fitted once per process."""
    if name not in _FITTED:
        est, y = make_tiny(name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X, y)
            est.partial_fit(X, y)
        _FITTED[name] = est
    return copy.deepcopy(_FITTED[name]), (Y_CLF if name != "reg" else Y_REG)


def weights_bytes(est):
    """Every weight and intercept of ``est`` (MLP or Perceptron), as bytes."""
    if isinstance(est, Perceptron):
        arrays = [est.coef_, est.intercept_]
    else:
        arrays = list(est.coefs_) + list(est.intercepts_)
    return b"".join(np.ascontiguousarray(a).tobytes() for a in arrays)


def fingerprint(est):
    """``est``'s attribute names, weights and pickle, for ``assert_unchanged``."""
    return sorted(est.__dict__), weights_bytes(est), pickle.dumps(est)


def assert_unchanged(est, before):
    """``est`` is byte-identical to its ``fingerprint`` ``before`` a failed call."""
    keys, weights, pickled = fingerprint(est)
    assert keys == before[0], "a failed call added or removed fitted attributes"
    assert weights == before[1], "a failed call changed the weights"
    assert pickled == before[2], "a failed call changed the fitted state"


def badly_scaled_regression(n=240, seed=0):
    """``(X, y)``: four columns on scales from 0.01 to 1000, ``y`` linear in them."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 4)) * [1.0, 100.0, 1000.0, 0.01] + [0.0, 50.0, -3000.0, 1.0]
    y = X[:, 0] + X[:, 1] / 100.0 - X[:, 2] / 1000.0
    return X, y


def scaled_diabetes():
    """The diabetes data, X standardised and y standardised."""
    X, y = load_diabetes(return_X_y=True)
    return StandardScaler().fit_transform(X), (y - y.mean()) / y.std()
