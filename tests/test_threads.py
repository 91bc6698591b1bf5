"""BLAS thread limits (sknn/_threads.py) and input normalisation for fewer kernel
specializations (sknn/_base.py: _block, _raw_output)."""

import threading
import warnings

import numba
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import ThreadpoolController

import sknn._base as base
from sknn import MLPClassifier, MLPRegressor
from sknn._layout import make_layout
from sknn._threads import blas_threads_for, one_blas_thread

# Short trainings on purpose: "maximum iterations reached" is expected here;
# tests about that warning use pytest.warns, which still sees it.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _blas_threads():
    return sorted(c.num_threads for c in ThreadpoolController().lib_controllers
                  if c.user_api == "blas")


@pytest.fixture
def two_blas_threads():
    """Run the test with every BLAS at 2 threads (whatever the session set)."""
    ctl = ThreadpoolController()
    with ctl.limit(limits=2, user_api="blas"):
        yield


def test_one_blas_thread_nested_restores(two_blas_threads):
    before = _blas_threads()
    with one_blas_thread():
        assert set(_blas_threads()) == {1}
        with one_blas_thread():
            assert set(_blas_threads()) == {1}
        assert set(_blas_threads()) == {1}  # the outer holder still runs
    assert _blas_threads() == before


def test_one_blas_thread_interleaved_threads_restore(two_blas_threads):
    """A enters, B enters, A leaves, B leaves: plain threadpool_limits would leave
    the process on one thread (B restores what it saw, A's limit)."""
    before = _blas_threads()
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def a():
        with one_blas_thread():
            a_in.set()
            b_in.wait(10)
        a_out.set()

    def b():
        a_in.wait(10)
        with one_blas_thread():
            b_in.set()
            a_out.wait(10)
            seen["b after a left"] = _blas_threads()

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert set(seen["b after a left"]) == {1}
    assert _blas_threads() == before


def test_blas_threads_for_threshold():
    small = make_layout([8, 50, 50, 1])
    big = make_layout([4000, 4000, 10])
    with blas_threads_for(small, 4096) as ctx:
        assert ctx is None and set(_blas_threads()) == {1}
    before = _blas_threads()
    with blas_threads_for(big, 4096):
        assert _blas_threads() == before


def test_predict_runs_on_one_blas_thread_and_restores(two_blas_threads, monkeypatch):
    rng = np.random.RandomState(0)
    X = rng.randn(300, 10)
    y = (X[:, 0] > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = MLPClassifier(hidden_layer_sizes=(16,), max_iter=3, random_state=0).fit(X, y)
    expected = est.predict_proba(X)
    seen = []
    real = base.predict_forward

    def spy(*args):
        seen.append(_blas_threads())
        return real(*args)

    monkeypatch.setattr(base, "predict_forward", spy)
    before = _blas_threads()
    np.testing.assert_array_equal(est.predict_proba(X), expected)
    assert seen and set(seen[0]) == {1}
    assert _blas_threads() == before


def test_input_blocks_have_one_numba_type_per_dtype():
    """Writable, read-only and Fortran input all reach the kernels as the same
    numba types, so one compiled specialization serves them all; CSR and CSC
    input share another (sparse input is a compile-time fact: a dense fit
    compiles no CSR code)."""
    rng = np.random.RandomState(0)
    X = rng.randn(60, 5)
    y = X[:, 0]
    ro = X.copy()
    ro.flags.writeable = False
    for dtype in (np.float64, np.float32):
        est = MLPRegressor(hidden_layer_sizes=(4,), max_iter=1, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X.astype(dtype), y.astype(dtype))
        for kinds in ((X, ro, np.asfortranarray(X)), (sp.csr_matrix(X), sp.csc_matrix(X))):
            types = set()
            for Xv in kinds:
                Xm = base._as_model_input(Xv, dtype)
                types.add(str(numba.typeof(est._input_blocks(Xm))))
            assert len(types) == 1, types
        # ... and a read-only input gives bitwise-identical results.
        Xd = X.astype(dtype)
        rod = Xd.copy()
        rod.flags.writeable = False
        np.testing.assert_array_equal(est.predict(Xd), est.predict(rod))
        # The blocks are views: no copy of the caller's C-contiguous data.
        deep, _ = est._input_blocks(Xd)
        assert np.shares_memory(deep[0], Xd) and not deep[0].flags.writeable
        assert Xd.flags.writeable


def test_read_only_inputs_match_writable_fit():
    rng = np.random.RandomState(0)
    X = rng.randn(200, 6)
    y = X[:, 0] - X[:, 1]
    ro_X, ro_y = X.copy(), y.copy()
    ro_X.flags.writeable = False
    ro_y.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = MLPRegressor(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(X, y)
        b = MLPRegressor(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(ro_X, ro_y)
    np.testing.assert_array_equal(a._theta, b._theta)
    frozen = b._theta.copy()
    b._theta.flags.writeable = False  # as after a memory-mapped unpickle
    np.testing.assert_array_equal(b.predict(X), a.predict(X))
    np.testing.assert_array_equal(b._theta, frozen)


def test_limit_holds_in_worker_thread_while_caller_controls_openblas(two_blas_threads):
    """threadpoolctl >= 3.6 ignores limits set by a thread other than the one
    "controlling" OpenBLAS (here the main thread, via the fixture's block)."""
    seen = {}

    def work():
        with one_blas_thread():
            seen["inside"] = _blas_threads()
        seen["after"] = _blas_threads()

    t = threading.Thread(target=work)
    t.start()
    t.join(20)
    assert set(seen["inside"]) == {1}
    assert set(seen["after"]) == {2}
    assert set(_blas_threads()) == {2}


def test_short_predict_skips_the_limiter_only_where_openblas_is_one_thread(two_blas_threads):
    from sknn._threads import _OPENBLAS_ONE_THREAD_MNK, _only_openblas, predict_blas_threads_for

    small = make_layout([8, 100, 1])
    big = make_layout([784, 400, 10])
    assert 784 * 400 > _OPENBLAS_ONE_THREAD_MNK
    before = _blas_threads()
    with predict_blas_threads_for(small, 1):
        assert _blas_threads() == (before if _only_openblas() else [1] * len(before))
    with predict_blas_threads_for(big, 1):
        assert set(_blas_threads()) == {1}
    with predict_blas_threads_for(small, 256):  # longer calls keep the explicit limit
        assert set(_blas_threads()) == {1}
    assert _blas_threads() == before
