"""Hyperparameter search on a real dask.distributed cluster, worker faults.

One LocalCluster (2 worker processes, 1 thread each, 127.0.0.1) serves the
module; it is always closed.  The data are tiny and the fits short, so the
module stays well under a minute once the numba cache is warm.
"""

import os
import warnings

import joblib
import numpy as np
import pytest
from distributed import Client, LocalCluster, get_task_stream
from sklearn.datasets import load_diabetes, load_iris
from sklearn.model_selection import GridSearchCV

from sknn import MLPClassifier, MLPRegressor, Perceptron
from sknn.callbacks import EarlyStopping

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def client():
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=None)
    try:
        with Client(cluster, timeout="60s") as c:
            c.wait_for_workers(2, timeout=60)
            yield c
    finally:
        cluster.close(timeout=30)


def _iris():
    X, y = load_iris(return_X_y=True)
    return ((X - X.mean(0)) / X.std(0)).astype(np.float64), y


def _diabetes():
    X, y = load_diabetes(return_X_y=True)
    return X[:200], (y[:200] - y.mean()) / y.std()


_STOP = EarlyStopping(monitor="loss", patience=2)

SEARCHES = {
    "MLPClassifier": (
        _iris,
        MLPClassifier((6,), max_iter=25, random_state=0),
        {"callbacks": [None, [_STOP]], "wide_features": [None, [0, 1]],
         "deep_features": [None, [2, 3]]},
    ),
    "MLPRegressor": (
        _diabetes,
        MLPRegressor(hidden_layer_sizes=(6,), max_iter=25, random_state=0,
                     learning_rate_init=0.01),
        {"callbacks": [None, [_STOP]], "wide_features": [None, "all"],
         "activation": ["relu", "tanh"]},
    ),
    "Perceptron": (
        _iris,
        Perceptron(random_state=0),
        {"penalty": [None, "l2"], "alpha": [1e-4, 1e-2], "shuffle": [True, False]},
    ),
}


def _search(est, grid, X, y, n_jobs):
    return GridSearchCV(est, grid, cv=3, n_jobs=n_jobs).fit(X, y)


def _assert_same_search(got, ref):
    np.testing.assert_allclose(got.cv_results_["mean_test_score"],
                               ref.cv_results_["mean_test_score"], rtol=1e-12, atol=0)
    np.testing.assert_allclose(got.cv_results_["split0_test_score"],
                               ref.cv_results_["split0_test_score"], rtol=1e-12, atol=0)
    assert got.cv_results_["params"] == ref.cv_results_["params"]
    assert got.best_params_ == ref.best_params_
    np.testing.assert_array_equal(got.cv_results_["rank_test_score"],
                                  ref.cv_results_["rank_test_score"])


@pytest.mark.parametrize("name", list(SEARCHES))
def test_grid_search_on_dask_equals_default_backend(client, name):
    load, est, grid = SEARCHES[name]
    X, y = load()
    ref = _search(est, grid, X, y, n_jobs=None)
    with joblib.parallel_backend("dask"), get_task_stream(client) as stream:
        got = _search(est, grid, X, y, n_jobs=-1)
    _assert_same_search(got, ref)
    # the fits really ran on the cluster, on both workers
    assert len(stream.data) > 0
    assert len({task["worker"] for task in stream.data}) == 2
    # the refitted best estimator predicts like the reference one
    np.testing.assert_array_equal(got.predict(X), ref.predict(X))


class KillWorkerOnce:
    """A callback that terminates the worker process running the first fit.

    The first ``on_epoch_end`` anywhere creates ``marker`` and calls
    ``os._exit`` (no cleanup, like a crash); later calls (the rescheduled task,
    every other fit) see the marker and do nothing, so the search's results do
    not depend on the crash.
    """

    def __init__(self, marker):
        self.marker = marker

    def on_epoch_end(self, estimator, epoch, logs):
        try:
            fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return False
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        os._exit(1)


def test_killed_worker_does_not_lose_the_search(client, tmp_path):
    X, y = _iris()
    marker = tmp_path / "killed"
    grid = {"callbacks": [[KillWorkerOnce(str(marker))]], "alpha": [1e-4, 1e-2],
            "wide_features": [None, [0]]}
    est = MLPClassifier((5,), max_iter=15, random_state=0)
    pids = set(client.run(os.getpid).values())
    assert not marker.exists()
    with joblib.parallel_backend("dask"):
        got = _search(est, grid, X, y, n_jobs=-1)
    # a worker process did die mid-search ...
    killed_pid = int(marker.read_text())
    assert killed_pid in pids
    client.wait_for_workers(2, timeout=60)  # the nanny restarts it
    new_pids = set(client.run(os.getpid).values())
    assert killed_pid not in new_pids
    # ... and the search is complete and right: the crashed task was rescheduled
    assert len(got.cv_results_["params"]) == 4
    assert np.all(np.isfinite(got.cv_results_["mean_test_score"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = _search(est, grid, X, y, n_jobs=None)  # marker exists: no exit here
    _assert_same_search(got, ref)
