"""Threads inside one fit or predict (issue 19, sknn/_parallel.py): n_jobs, row
chunks, the same model on any thread count, no thread left behind."""

import threading
import warnings

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV
from threadpoolctl import ThreadpoolController, threadpool_limits

import sknn._parallel as par
from sknn import MLPClassifier, MLPRegressor
from sknn.callbacks import Callback

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# A network whose batches of 200 are worth splitting (par.max_chunks > 1),
# small enough to compile and run quickly (9000 rows make 2 predict pieces).
HIDDEN = (200, 100)


def _data(n=1200, p=100, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, p))
    y = (X[:, :3].sum(axis=1) > 0).astype(int) + (X[:, 3] > 1)
    return X, y


def _clf(**kw):
    params = dict(hidden_layer_sizes=HIDDEN, batch_size=200, max_iter=3, random_state=0)
    params.update(kw)
    return MLPClassifier(**params)


def _threads_alive():
    return {t for t in threading.enumerate() if t.name.startswith("sknn-worker")}


def test_layout_rules():
    from sknn._layout import make_layout

    big = make_layout([100, *HIDDEN, 3], 0)
    assert par.max_chunks(big, 200, -1) > 1
    assert par.chunk_rows(big, 200, -1, 1) == 200  # one thread: never split
    assert 200 > par.chunk_rows(big, 200, -1, 2) >= par.MIN_CHUNK_ROWS
    assert par.chunk_rows(big, 200, 5, 2) == 200  # batch normalization: whole batches
    cal = make_layout([8, 50, 50, 50, 1], 0)  # California shape: threads do not pay
    assert par.max_chunks(cal, 200, -1) == 1 and par.max_chunks(cal, 32, -1) == 1
    assert par.piece_rows(big) % 256 == 0


def test_n_threads_rule(monkeypatch):
    monkeypatch.setattr(par, "_busy_elsewhere", lambda: 0)  # a quiet machine
    with ThreadpoolController().limit(limits=2, user_api="blas"):
        assert par.n_threads(None, 1) == 1  # nothing to split
        assert par.n_threads(1, 8) == 1
        assert par.n_threads(3, 8) == 3 and par.n_threads(3, 2) == 2
        assert par.n_threads(None, 8) == min(2, par.cpu_budget())
    with threadpool_limits(limits=1, user_api="blas"):  # a caller's limit is respected
        assert par.n_threads(None, 8) == 1
    # another process keeps all but one core busy: n_jobs=None takes one thread,
    # an explicit n_jobs what it asks for
    monkeypatch.setattr(par.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(par, "_busy_elsewhere", lambda: 1)
    assert par.free_cores() == 1
    with ThreadpoolController().limit(limits=2, user_api="blas"):
        assert par.n_threads(None, 8) == 1 and par.n_threads(2, 8) == 2
    monkeypatch.setattr(par, "_busy_elsewhere", lambda: None)  # unknown: every core
    assert par.free_cores() == 2


def test_two_threads_train_the_one_thread_model():
    """Batches split over 2 threads: the one-thread model to float rounding; the
    same bits on every run whatever order the threads took the chunks in."""
    X, y = _data()
    before = _threads_alive()
    one = _clf(n_jobs=1).fit(X, y)
    two = _clf(n_jobs=2).fit(X, y)
    again = _clf(n_jobs=2).fit(X, y)
    assert one._n_threads == 1 and two._n_threads == 2
    np.testing.assert_array_equal(two._theta, again._theta)
    np.testing.assert_allclose(two._theta, one._theta, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(two.loss_curve_, one.loss_curve_, rtol=1e-10)
    assert _threads_alive() == before


def test_two_threads_float32_and_dropout_sgd():
    """Dropout takes the row chunks (not the unit split)."""
    X, y = _data()
    X = X.astype(np.float32)
    kw = dict(dropout=0.2, solver="sgd", momentum=0.9)
    one = _clf(n_jobs=1, **kw).fit(X, y)
    two = _clf(n_jobs=2, **kw).fit(X, y)
    np.testing.assert_allclose(two._theta, one._theta, rtol=2e-4, atol=1e-5)


def test_predict_and_lbfgs_bitwise_on_threads():
    X, y = _data(n=9000)
    Xf = X
    yr = X[:, 0] - X[:, 1] ** 2
    kw = dict(hidden_layer_sizes=HIDDEN, solver="lbfgs", max_iter=3, random_state=0)
    one = MLPRegressor(n_jobs=1, **kw).fit(Xf, yr)
    two = MLPRegressor(n_jobs=2, **kw).fit(Xf, yr)
    assert two._n_threads == 2  # 9000 rows: 3 chunks of 4096
    np.testing.assert_array_equal(two._theta, one._theta)
    p1 = one.predict(Xf)
    one.set_params(n_jobs=2)
    np.testing.assert_array_equal(one.predict(Xf), p1)


class _Raise(Callback):
    def __init__(self, exc):
        self.exc = exc

    def on_epoch_end(self, estimator, epoch, logs):
        raise self.exc


def test_no_thread_left_after_error_or_interrupt():
    X, y = _data()
    before = _threads_alive()
    with pytest.raises(ZeroDivisionError):
        _clf(n_jobs=2, callbacks=[_Raise(ZeroDivisionError())]).fit(X, y)
    assert _threads_alive() == before
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        clf = _clf(n_jobs=2, callbacks=[_Raise(KeyboardInterrupt())]).fit(X, y)
    assert any("interrupted" in str(m.message) for m in w)
    assert clf.n_iter_ == 1 and _threads_alive() == before


@pytest.mark.nojit
def test_team_runs_every_member_and_reraises():
    seen = []
    with par.team(3) as t:
        t.run_each(seen.append)
        assert sorted(seen) == [0, 1, 2]

        def fail(i):
            if i == 2:
                raise ValueError("boom")

        with pytest.raises(ValueError, match="boom"):
            t.run_each(fail)
        t.run_each(seen.append)  # still usable after an error
    assert len(seen) == 6 and not _threads_alive()


@pytest.mark.nojit
def test_team_never_waits_for_a_late_worker():
    """A worker that has not started by the time the caller is done is not waited
    for: the caller runs every task, and the late worker finds nothing to do."""
    release = threading.Event()

    class LateTeam(par.Team):
        def _loop(self, member):
            release.wait()
            super()._loop(member)

    done = []
    with LateTeam(2) as t:
        t.run([(3, lambda m, i: done.append(("a", m, i))),
               (2, lambda m, i: done.append(("b", m, i)))])
        assert done == [("a", 0, 0), ("a", 0, 1), ("a", 0, 2), ("b", 0, 0), ("b", 0, 1)]
        release.set()
        seen = []
        t.run_each(seen.append)
        assert sorted(seen) == [0, 1]
    assert len(done) == 5 and not _threads_alive()


def _fixed_chunks(monkeypatch, rows):
    """Batches in row chunks of ``rows`` (never the unit split) on any thread count."""
    import sknn._base as base

    monkeypatch.setattr(base, "chunk_rows", lambda layout, batch, gamma_off, threads: rows)
    monkeypatch.setattr(base, "unit_split_tasks", lambda net, deep, batch: 0)


def test_same_chunk_layout_same_bits_on_any_thread_count(monkeypatch):
    """With the chunk layout fixed, 1, 2 and 3 threads give the same weights and
    loss curve bitwise (the block reduction adds the slots in chunk order)."""
    X, y = _data()
    _fixed_chunks(monkeypatch, 50)
    fits = [_clf(n_jobs=n, alpha=1e-3).fit(X, y) for n in (1, 2, 3)]
    for other in fits[1:]:
        np.testing.assert_array_equal(other._theta, fits[0]._theta)
        assert other.loss_curve_ == fits[0].loss_curve_


@pytest.mark.nojit
def test_chunked_epochs_small_network(monkeypatch):
    """The chunk and block kernels (also under NUMBA_DISABLE_JIT): a chunked
    one-thread fit and a two-thread fit of a tiny network, Adam and SGD."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 5))
    y = (X[:, 0] > 0).astype(int)
    _fixed_chunks(monkeypatch, 8)
    for solver in ("adam", "sgd"):
        kw = dict(hidden_layer_sizes=(7,), batch_size=30, max_iter=2, random_state=0,
                  solver=solver, alpha=1e-2)
        whole = MLPClassifier(n_jobs=1, **kw)
        monkeypatch.undo()
        whole.fit(X, y)
        _fixed_chunks(monkeypatch, 8)
        one = MLPClassifier(n_jobs=1, **kw).fit(X, y)
        two = MLPClassifier(n_jobs=2, **kw).fit(X, y)
        np.testing.assert_array_equal(two._theta, one._theta)
        np.testing.assert_allclose(one._theta, whole._theta, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(one.loss_curve_, whole.loss_curve_, rtol=1e-12)


@pytest.mark.nojit
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver", ["adam", "sgd"])
@pytest.mark.parametrize("n_chunks", [1, 2, 4])
def test_block_step_matches_one_step_on_summed_chunks(dtype, solver, n_chunks):
    """``block_step`` over runs of blocks (any split of the runs) is bitwise one
    ``optimizer_step`` over all of theta on ``((g0 + g1) + g2) + ...``, and its
    per-block L2 shares are the blocks' sums of squares."""
    from collections import namedtuple

    from sknn._kernels.optimizers import ADAM, SGD, optimizer_step
    from sknn._kernels.parallel import block_step

    rng = np.random.RandomState(3)
    size, n_coef = 1000, 830
    bounds = np.array([0, 96, 320, 512, 800, 1000], dtype=np.int64)
    theta = rng.normal(size=size).astype(dtype)
    g0 = rng.normal(size=size).astype(dtype)
    slots = rng.normal(size=(3, size)).astype(dtype)
    m = rng.normal(size=size).astype(dtype)
    v = rng.uniform(0, 2, size=size).astype(dtype)
    code = {"adam": ADAM, "sgd": SGD}[solver]
    Step = namedtuple("Step", "m v solver learning_rate momentum nesterov beta_1 beta_2 epsilon")
    Obj = namedtuple("Obj", "alpha")
    sw = rng.uniform(0.5, 2, size=20)
    rows = np.arange(20)[::-1].copy()
    raw = g0.copy()
    for k in range(n_chunks - 1):
        raw = raw + slots[k]
    ref = [theta.copy(), raw, None, m.copy(), v.copy()]
    sw_sum = 0.0
    for r in rows:
        sw_sum += sw[r]
    optimizer_step(*ref, n_coef, 1e-2, sw_sum, code, 0.01, 0.9, True, 0.9, 0.999, 1e-8, 4)
    for runs in ([0, 5], [0, 2, 3, 5]):
        th, grad, mm, vv = theta.copy(), g0.copy(), m.copy(), v.copy()
        partial = np.full(5, np.nan)
        step = Step(mm, vv, code, 0.01, 0.9, True, 0.9, 0.999, 1e-8)
        for b0, b1 in zip(runs[:-1], runs[1:]):
            block_step(th, n_coef, Obj(1e-2), step, grad, slots, n_chunks, sw, rows, 4,
                       bounds, b0, b1, partial)
        np.testing.assert_array_equal(th, ref[0])
        np.testing.assert_array_equal(mm, ref[3])
        np.testing.assert_array_equal(vv, ref[4])
        for b in range(5):
            lo, hi = bounds[b], min(bounds[b + 1], n_coef)
            part = theta[lo:max(lo, hi)]
            assert partial[b] == pytest.approx(float(np.dot(part, part)), rel=1e-5)


def test_block_groups():
    for n_blocks in (1, 2, 9, 40):
        for threads in (1, 2, 3, 8):
            g = par.block_groups(n_blocks, threads)
            assert g[0] == 0 and g[-1] == n_blocks and np.all(np.diff(g) >= 1)
            assert len(g) - 1 == (1 if threads == 1 else
                                  min(n_blocks, par.BLOCK_TASKS_PER_THREAD * threads))


def _threads_used(est, X, y):
    return est._n_threads


def test_grid_search_workers_use_one_thread_each():
    """Inside GridSearchCV(n_jobs=2) joblib gives each worker cpu_count // 2 BLAS
    threads; n_jobs=None follows it (one thread per worker on 2 cores)."""
    X, y = _data()
    search = GridSearchCV(_clf(max_iter=1), {"alpha": [1e-4, 1e-3]}, cv=2, n_jobs=2,
                          scoring=_threads_used, refit=False).fit(X, y)
    import os

    per_worker = max(1, (os.cpu_count() or 1) // 2)
    assert set(search.cv_results_["mean_test_score"]) == {min(per_worker, 2)}


def test_autoencoder_threads_with_noise():
    """MLPAutoencoder's denoising epochs (their own data record each epoch) on threads."""
    from sknn import MLPAutoencoder

    X, _ = _data()
    kw = dict(n_components=50, hidden_layer_sizes=(200,), noise=0.1, batch_size=200,
              max_iter=2, random_state=0)
    one = MLPAutoencoder(n_jobs=1, **kw).fit(X)
    two = MLPAutoencoder(n_jobs=2, **kw).fit(X)
    assert two._n_threads == 2
    np.testing.assert_allclose(two._theta, one._theta, rtol=1e-7, atol=1e-10)
    codes = two.transform(X)
    two.set_params(n_jobs=1)
    np.testing.assert_array_equal(two.transform(X), codes)


# ------------------------------------------------------------------ the unit split
def _spy_unit_split(monkeypatch):
    """Count the fits that split batches by units (sknn._base's UnitSplitEpochs)."""
    import sknn._base as base

    used = []

    class Spy(par.UnitSplitEpochs):
        def __init__(self, *a, **kw):
            used.append(True)
            super().__init__(*a, **kw)

    monkeypatch.setattr(base, "UnitSplitEpochs", Spy)
    return used


def test_unit_split_takes_plain_dense_networks(monkeypatch):
    """The unit split runs plain dense networks on threads; dropout, batch
    normalization, an auxiliary output, a wide part and CSR input keep the row
    chunks; one thread and small batches never split."""
    import scipy.sparse as sp

    from sknn._layout import make_layout

    X, y = _data()
    used = _spy_unit_split(monkeypatch)
    _clf(n_jobs=2).fit(X, y)
    assert used == [True]
    for kw in (dict(dropout=0.1), dict(batch_normalization=True), dict(wide_features=[0, 1]),
               dict(wide_features=[0, 1], auxiliary_loss_weight=0.3)):
        used.clear()
        _clf(n_jobs=2, **kw).fit(X, y)
        assert used == [], kw
    _clf(n_jobs=2).fit(sp.csr_matrix(X), y)
    _clf(n_jobs=1).fit(X, y)
    assert used == []
    fmnist = make_layout([784, 300, 100, 10], 0)
    cal = make_layout([8, 50, 50, 50, 1], 0)
    assert 3.0 * par.forward_flops(fmnist) * 32 >= par.MIN_UNIT_SPLIT_FLOPS  # batch 32 splits
    assert 3.0 * par.forward_flops(cal) * 200 < par.MIN_UNIT_SPLIT_FLOPS  # California does not


_SPLIT_CASES = [
    ("clf", dict(solver="adam", activation="relu")),
    ("clf", dict(solver="sgd", momentum=0.9, nesterovs_momentum=True, activation="tanh")),
    ("reg", dict(solver="adam", activation="gelu", loss="huber")),
    ("reg", dict(solver="sgd", activation="logistic", output_activation="softplus",
                 loss="poisson")),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind,kw", _SPLIT_CASES)
def test_unit_split_models_match_one_thread(monkeypatch, kind, kw, dtype):
    """Losses, activations, solvers, sample weights (a weightless batch) and both
    dtypes through the unit split: 2 and 3 threads the same bits, one thread's
    model to float rounding."""
    monkeypatch.setattr(par, "MIN_UNIT_SPLIT_FLOPS", 0.0)  # small, quick networks split too
    monkeypatch.setattr(par, "MIN_UNIT_PIECE_FLOPS", 1.0)  # into 16-unit pieces
    used = _spy_unit_split(monkeypatch)
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 30)).astype(dtype)
    sw = rng.uniform(0.5, 2.0, size=300)
    sw[64:128] = 0.0  # without shuffling, the second batch of 64 carries no weight
    if kind == "clf":
        y = (X[:, :3].sum(axis=1) > 0).astype(int) + (X[:, 3] > 1)
        est = MLPClassifier
    else:
        y = np.abs(X[:, 0] + X[:, 1] ** 2)
        est = MLPRegressor
    params = dict(hidden_layer_sizes=(40, 24), batch_size=64, max_iter=3, random_state=0,
                  shuffle=False, alpha=1e-3, **kw)
    fits = [est(n_jobs=n, **params).fit(X, y, sample_weight=sw) for n in (1, 2, 3)]
    assert used == [True, True] and [f._n_threads for f in fits] == [1, 2, 3]
    np.testing.assert_array_equal(fits[1]._theta, fits[2]._theta)
    assert fits[1].loss_curve_ == fits[2].loss_curve_
    tol = dict(rtol=1e-4, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(fits[1]._theta, fits[0]._theta, **tol)
    np.testing.assert_allclose(fits[1].loss_curve_, fits[0].loss_curve_, rtol=tol["rtol"])


def test_unit_split_failure_stops_every_thread():
    """A piece that fails (here under NUMBA_DISABLE_JIT, in a subprocess: a hang would
    otherwise stop the suite) makes the other thread stop waiting for it: the fit
    raises the error, leaves no thread and the estimator unfitted."""
    from _helpers import run_script

    out = run_script("""
        import os, threading
        os.environ["NUMBA_DISABLE_JIT"] = "1"
        import numpy as np
        import sknn._kernels.unit_split as us
        import sknn._parallel as par
        from sknn import MLPClassifier
        par.MIN_UNIT_SPLIT_FLOPS = 0.0
        par.MIN_UNIT_PIECE_FLOPS = 1.0
        real = us.backward_piece
        calls = []
        def failing(*args):
            calls.append(threading.current_thread().name)
            if len(calls) == 3:
                raise RuntimeError("piece failed")
            return real(*args)
        us.backward_piece = failing
        rng = np.random.RandomState(0)
        X = rng.normal(size=(64, 40))
        y = (X[:, 0] > 0).astype(int)
        clf = MLPClassifier(hidden_layer_sizes=(40,), batch_size=32, max_iter=2, n_jobs=2)
        try:
            clf.fit(X, y)
        except RuntimeError as exc:
            print("raised", exc)
        print("fitted", hasattr(clf, "coefs_"))
        print("workers", sum(t.name.startswith("sknn-worker") for t in threading.enumerate()))
    """, timeout=300)
    assert "raised piece failed" in out
    assert "fitted False" in out and "workers 0" in out


def test_unit_split_epochs_follow_the_free_cores(monkeypatch):
    """n_jobs=None: an epoch runs on no more threads than there are free cores, and
    the model is the same however many ran (the pieces do not depend on it)."""
    X, y = _data()
    seen = []

    def busy():  # quiet for the fit's thread count, then busy every other epoch
        seen.append(None)
        return 0 if len(seen) % 2 else 64

    monkeypatch.setattr(par, "_busy_elsewhere", busy)
    members = []
    real_run = par.Team.run

    def run(self, phases):
        members.append(phases[0][0])
        return real_run(self, phases)

    monkeypatch.setattr(par.Team, "run", run)
    with ThreadpoolController().limit(limits=2, user_api="blas"):
        adaptive = _clf(max_iter=4).fit(X, y)
    fixed = _clf(max_iter=4, n_jobs=2).fit(X, y)
    assert adaptive._n_threads == 2 and len(seen) == 5  # the fit's decision, then 4 epochs
    # the adaptive fit's two quiet epochs on the team, its busy ones by the caller alone,
    # then the fixed fit's four
    assert members == [2] * (2 + 4)
    np.testing.assert_array_equal(adaptive._theta, fixed._theta)


def test_busy_elsewhere_counts_other_processes_only():
    """A process spinning elsewhere counts; this process's own busy threads do not.

    ``/proc/loadavg`` is machine-wide: under pytest-xdist the other workers' tests
    come and go between two readings (CI once read 4 other tasks in both), so the
    pair of readings is taken up to five times; one clean pair must show the spinner.
    """
    import subprocess
    import sys
    import time

    if par._busy_elsewhere() is None:
        pytest.skip("no /proc/loadavg here")

    def reading():
        return min(par._busy_elsewhere() for _ in range(20))

    def spin(stop):
        while not stop.is_set():
            pass

    pairs = []
    for _ in range(5):
        stop = threading.Event()
        own = threading.Thread(target=spin, args=(stop,))
        own.start()
        try:
            quiet = reading()
        finally:
            stop.set()
            own.join()
        spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            time.sleep(0.5)
            loaded = reading()
        finally:
            spinner.kill()
            spinner.wait()
        pairs.append((quiet, loaded))
        if loaded >= quiet + 1 and loaded >= 1:
            break
    else:
        pytest.fail(f"the spinning process was never counted: (own threads only, with it) {pairs}")
