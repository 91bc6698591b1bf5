"""Persistence: pickle / joblib round trips in a fresh process, version checks,
damaged files, skops."""

import json
import os
import pathlib
import pickle
import subprocess
import sys
import textwrap
import warnings

import joblib
import numpy as np
import pytest
import skops.io as sio
from sklearn.datasets import load_iris

import sknn
from sknn import InconsistentVersionWarning, MLPClassifier, MLPRegressor, Perceptron
from sknn.callbacks import EarlyStopping

# Short trainings on purpose: "maximum iterations reached" is expected here;
# tests about that warning use pytest.warns, which still sees it.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

_LOADER = textwrap.dedent(
    """
    import json, pickle, sys, joblib, numpy as np
    for job in json.loads(sys.argv[1]):
        fmt, path, x_path, out = job
        if fmt == "pickle":
            with open(path, "rb") as f:
                est = pickle.load(f)
        else:
            est = joblib.load(path, mmap_mode="r")
        X = np.load(x_path)
        outs = [est.predict(X)]
        for name in ("predict_proba", "decision_function"):
            if hasattr(est, name):
                outs.append(getattr(est, name)(X))
        np.savez(out, *outs)
    """
)


def _estimators():
    return [
        MLPClassifier((7,), max_iter=30, random_state=0, wide_features=[0],
                      callbacks=[EarlyStopping(monitor="loss", patience=3)]),
        MLPRegressor(hidden_layer_sizes=(6,), activation="gelu", max_iter=30, random_state=0),
        Perceptron(random_state=0),
    ]


def _outputs(est, X):
    outs = [est.predict(X)]
    for name in ("predict_proba", "decision_function"):
        if hasattr(est, name):
            outs.append(getattr(est, name)(X))
    return outs


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return (X - X.mean(0)) / X.std(0), y


def _fit(est, X, y):
    if isinstance(est, MLPRegressor):
        y = X[:, 0] * 0.5 + y
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X, y)


_FORMATS = ("pickle", "joblib")
_DTYPES = (np.float32, np.float64)


# Only a guard against a hung child: the fresh process imports numba and loads (or,
# when another worker is still writing the cache, compiles) the predict kernels of
# every estimator in two dtypes, which took over 120 s on a loaded 2-core CI machine.
_FRESH_PROCESS_TIMEOUT = 600


@pytest.fixture(scope="module")
def reloaded(tmp_path_factory, iris):
    """Every (format, dtype, estimator) saved here and predicted by ONE fresh process."""
    X, y = iris
    tmp = tmp_path_factory.mktemp("persist")
    script = tmp / "load.py"
    script.write_text(_LOADER)
    jobs, expected = [], {}
    for dtype in _DTYPES:
        Xd = X.astype(dtype)
        x_path = tmp / f"X_{np.dtype(dtype).name}.npy"
        np.save(x_path, Xd)
        for i, est in enumerate(_estimators()):
            _fit(est, Xd, y)
            for fmt in _FORMATS:
                key = (fmt, np.dtype(dtype).name, i)
                path = tmp / ("model_{}_{}_{}".format(*key))
                if fmt == "pickle":
                    path.write_bytes(pickle.dumps(est))
                else:
                    joblib.dump(est, path)
                out = tmp / ("out_{}_{}_{}.npz".format(*key))
                jobs.append((fmt, str(path), str(x_path), str(out)))
                expected[key] = (_outputs(est, Xd), out)
    subprocess.run([sys.executable, str(script), json.dumps(jobs)], check=True,
                   env=dict(os.environ), timeout=_FRESH_PROCESS_TIMEOUT)
    return expected


@pytest.mark.parametrize("fmt", _FORMATS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("i", range(3), ids=["MLPClassifier", "MLPRegressor", "Perceptron"])
def test_round_trip_in_fresh_process(reloaded, fmt, dtype, i):
    expected, out = reloaded[(fmt, dtype, i)]
    loaded = np.load(out)
    assert len(loaded.files) == len(expected)
    for k, exp in enumerate(expected):
        got = loaded[f"arr_{k}"]
        assert got.dtype == exp.dtype
        if np.issubdtype(exp.dtype, np.floating):
            assert exp.dtype == np.dtype(dtype) or exp.dtype == np.float64
        np.testing.assert_array_equal(got, exp)


def test_memory_mapped_model_can_keep_training(tmp_path, iris):
    X, y = iris
    est = _fit(MLPClassifier((5,), max_iter=5, random_state=0), X, y)
    joblib.dump(est, tmp_path / "m.joblib")
    loaded = joblib.load(tmp_path / "m.joblib", mmap_mode="r")
    before = loaded.predict_proba(X)
    loaded.partial_fit(X, y)  # the read-only buffer is copied, not written through
    assert not np.array_equal(loaded.predict_proba(X), before)


@pytest.mark.parametrize("est", [MLPClassifier((4,), max_iter=5, random_state=0),
                                 MLPRegressor(hidden_layer_sizes=(4,), max_iter=5,
                                              random_state=0),
                                 Perceptron(max_iter=5, random_state=0)])
def test_version_is_recorded_and_checked(monkeypatch, iris, est):
    X, y = iris
    _fit(est, X, y)
    assert est.__getstate__()["_sknn_version"] == sknn.__version__
    data = pickle.dumps(est)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # same version: silent
        same = pickle.loads(data)
    assert "_sknn_version" not in same.__dict__
    monkeypatch.setattr(sknn, "__version__", "99.0")
    with pytest.warns(InconsistentVersionWarning, match=r"from sknn version .* when using "
                                                         r"version 99\.0") as record:
        other = pickle.loads(data)
    w = record[0].message
    assert w.original_sknn_version != w.current_sknn_version == "99.0"
    # a filter on scikit-learn's own warning covers sknn's as well
    from sklearn.exceptions import InconsistentVersionWarning as SkWarning

    assert isinstance(w, SkWarning)
    np.testing.assert_array_equal(other.predict(X), est.predict(X))


def test_pickle_without_version_record_warns(iris):
    X, y = iris
    est = _fit(MLPClassifier((4,), max_iter=5, random_state=0), X, y)
    state = est.__getstate__()
    del state["_sknn_version"]
    fresh = MLPClassifier.__new__(MLPClassifier)
    with pytest.warns(InconsistentVersionWarning, match="version unknown"):
        fresh.__setstate__(state)


def test_truncated_and_foreign_files_fail_clearly(tmp_path, iris):
    X, y = iris
    est = _fit(MLPClassifier((4,), max_iter=5, random_state=0), X, y)
    data = pickle.dumps(est)
    with pytest.raises(pickle.UnpicklingError, match="truncated"):
        pickle.loads(data[: len(data) // 2])
    with pytest.raises(EOFError, match="Ran out of input"):
        pickle.loads(b"")
    with pytest.raises(pickle.UnpicklingError):
        pickle.loads(b"this is not a pickle at all")
    # joblib: a truncated file
    joblib.dump(est, tmp_path / "m.joblib")
    raw = (tmp_path / "m.joblib").read_bytes()
    (tmp_path / "cut.joblib").write_bytes(raw[: len(raw) // 2])
    # Python's unpickler reports a cut inside an opcode's argument as IndexError
    with pytest.raises((pickle.UnpicklingError, EOFError, ValueError, IndexError)):
        joblib.load(tmp_path / "cut.joblib")
    # a valid pickle of something else is returned as is: check the type on load
    foreign = pickle.loads(pickle.dumps({"not": "a model"}))
    assert not isinstance(foreign, MLPClassifier)


@pytest.mark.parametrize("est", _estimators(), ids=lambda e: type(e).__name__)
def test_skops_round_trip(tmp_path, iris, est):
    X, y = iris
    _fit(est, X, y)
    path = tmp_path / "model.skops"
    sio.dump(est, path)
    untrusted = sio.get_untrusted_types(file=path)
    assert f"sknn.{type(est).__module__.split('.')[-1]}.{type(est).__name__}" in untrusted
    assert all(t.startswith(("sknn.", "numpy.", "builtins.")) for t in untrusted), untrusted
    with pytest.raises(Exception, match="[Uu]ntrusted"):
        sio.load(path)  # nothing runs unless the types are trusted
    loaded = sio.load(path, trusted=untrusted)
    for got, exp in zip(_outputs(loaded, X), _outputs(est, X)):
        np.testing.assert_array_equal(got, exp)
    assert pathlib.Path(path).stat().st_size > 0
