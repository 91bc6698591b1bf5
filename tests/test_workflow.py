"""Training workflow: callbacks, sklearn's callback API, history, summary, plots
(lr_find: tests/test_lr_find.py)."""

import csv
import io
import pickle
import re
import sys
import warnings

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sknn import HistoryDisplay, MLPClassifier, MLPRegressor
from sknn.callbacks import CSVLogger, EarlyStopping, LambdaCallback, ModelCheckpoint

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def reg_data():
    rng = np.random.RandomState(0)
    X = rng.randn(300, 5)
    y = X[:, 0] * 2 - X[:, 1] + 0.5 * X[:, 2] ** 2 + 0.3 * rng.randn(300)
    return X[:200], y[:200], X[200:], y[200:]


@pytest.fixture(scope="module")
def clf_data():
    rng = np.random.RandomState(1)
    X = rng.randn(300, 4)
    y = np.where(X[:, 0] + X[:, 1] ** 2 > 1, "a", np.where(X[:, 2] > 0, "b", "c"))
    return X[:200], y[:200], X[200:], y[200:]


def _reg(**kw):
    params = dict(hidden_layer_sizes=(16,), learning_rate_init=0.05, max_iter=60, random_state=0)
    params.update(kw)
    return MLPRegressor(**params)


def _clf(**kw):
    params = dict(hidden_layer_sizes=(16,), learning_rate_init=0.05, max_iter=30, random_state=0)
    params.update(kw)
    return MLPClassifier(**params)


def _val_loss(est, X_val, y_val):
    val = est._validate_validation_data((X_val, y_val, None), est._theta.dtype, False)
    logs = est._validation_logs(val)
    return logs["val_loss"], logs["val_score"]


class Recorder:
    def on_train_begin(self, est, logs):
        self.events = getattr(self, "events", []) + ["begin"]

    def on_epoch_end(self, est, epoch, logs):
        self.events.append((epoch, sorted(logs)))

    def on_train_end(self, est, logs):
        self.events.append("end")


# ----------------------------------------------------------------- callbacks
def test_early_stopping_stops_and_restores_best_weights(reg_data):
    X, y, Xv, yv = reg_data
    est = _reg(max_iter=300, callbacks=[EarlyStopping(patience=3)])
    est.fit(X, y, X_val=Xv, y_val=yv)
    es = est.callbacks_[0]
    hist = est.history_["val_loss"]
    assert len(hist) < 300
    assert es.stopped_epoch == len(hist) - 1
    assert es.best_epoch == int(np.argmin(hist))
    assert len(hist) - 1 - es.best_epoch == 3
    # The restored weights are those of the best epoch.
    assert _val_loss(est, Xv, yv)[0] == pytest.approx(min(hist), rel=1e-12)
    assert _val_loss(est, Xv, yv)[0] < hist[-1]


def test_early_stopping_score_monitor_is_maximised(clf_data):
    X, y, Xv, yv = clf_data
    est = _clf(max_iter=200, callbacks=[EarlyStopping(monitor="val_score", patience=4)])
    est.fit(X, y, X_val=Xv, y_val=yv)
    es = est.callbacks_[0]
    scores = est.history_["val_score"]
    assert es.best == max(scores)
    assert es.best_epoch == int(np.argmax(scores))
    assert est.score(Xv, yv) == pytest.approx(max(scores))


def test_early_stopping_min_delta_and_no_restore(reg_data):
    X, y, Xv, yv = reg_data
    est = _reg(max_iter=100, callbacks=[
        EarlyStopping(monitor="loss", patience=2, min_delta=1e9, restore_best_weights=False)
    ])
    est.fit(X, y)
    # Nothing improves by 1e9: stop after epoch 0 + patience epochs, last weights kept.
    assert len(est.history_["loss"]) == 3
    assert est.callbacks_[0].best_epoch == 0


def test_callback_returning_true_stops_at_that_epoch(reg_data):
    X, y, _, _ = reg_data
    est = _reg(callbacks=[LambdaCallback(on_epoch_end=lambda e, epoch, logs: epoch == 3)])
    est.fit(X, y)
    assert est.n_iter_ == 4
    assert len(est.history_["loss"]) == 4


def test_callback_protocol_order_and_logs(reg_data):
    X, y, Xv, yv = reg_data
    est = _reg(max_iter=3, callbacks=[Recorder()]).fit(X, y, X_val=Xv, y_val=yv)
    keys = sorted(["loss", "val_loss", "val_score", "learning_rate", "epoch_time"])
    assert est.callbacks_[0].events == ["begin", (0, keys), (1, keys), (2, keys), "end"]


@pytest.mark.parametrize("cb", [EarlyStopping(), ModelCheckpoint("unused.joblib")])
def test_missing_monitor_key_raises_naming_keys(reg_data, cb):
    X, y, _, _ = reg_data
    est = _reg(callbacks=[cb])
    with pytest.raises(ValueError, match=r"val_loss.*'epoch_time', 'learning_rate', 'loss'"):
        est.fit(X, y)
    assert not hasattr(est, "history_")  # the failed fit left nothing behind


def test_monitor_name_must_say_loss_or_score(reg_data):
    X, y, Xv, yv = reg_data
    with pytest.raises(ValueError, match="must end in 'loss'"):
        _reg(callbacks=[EarlyStopping(monitor="accuracy")]).fit(X, y, X_val=Xv, y_val=yv)


def test_model_checkpoint_loads_and_predicts_identically(reg_data, tmp_path):
    X, y, Xv, yv = reg_data
    path = tmp_path / "best.joblib"
    est = _reg(max_iter=300, callbacks=[EarlyStopping(patience=3), ModelCheckpoint(path)])
    est.fit(X, y, X_val=Xv, y_val=yv)
    ckpt = est.callbacks_[1]
    assert ckpt.best_epoch == est.callbacks_[0].best_epoch
    loaded = joblib.load(path)
    np.testing.assert_array_equal(loaded.predict(Xv), est.predict(Xv))
    assert not any(k in loaded.__dict__ for k in ("_sklearn_bridge", "_callback_fit_ctx"))


def test_model_checkpoint_every_epoch_with_formatted_path(reg_data, tmp_path):
    X, y, _, _ = reg_data
    pattern = str(tmp_path / "m-{epoch:02d}-{loss:.3f}.joblib")
    est = _reg(max_iter=3, callbacks=[ModelCheckpoint(pattern, save_best_only=False)]).fit(X, y)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert [f[:4] for f in files] == ["m-00", "m-01", "m-02"]
    last = joblib.load(est.callbacks_[0].last_saved)
    np.testing.assert_array_equal(last.predict(X), est.predict(X))


def test_clone_gives_fresh_state_and_param_never_mutated(reg_data):
    X, y, Xv, yv = reg_data
    es = EarlyStopping(patience=2)
    before = dict(es.__dict__)
    est = _reg(callbacks=[es])
    params = est.get_params()
    est.fit(X, y, X_val=Xv, y_val=yv)
    assert est.callbacks[0] is es and es.__dict__ == before
    assert est.get_params()["callbacks"] is params["callbacks"]
    assert est.callbacks_[0] is not es and hasattr(est.callbacks_[0], "best")
    cloned = clone(est)
    assert not hasattr(cloned.callbacks[0], "best")
    assert not hasattr(cloned, "callbacks_")
    cloned.fit(X, y, X_val=Xv, y_val=yv)
    assert cloned.callbacks_[0].best_epoch == est.callbacks_[0].best_epoch


def test_estimator_with_callbacks_pickles(reg_data, tmp_path):
    X, y, Xv, yv = reg_data
    est = _reg(max_iter=5, callbacks=[EarlyStopping(), CSVLogger(tmp_path / "log.csv")])
    est.fit(X, y, X_val=Xv, y_val=yv)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict(Xv), est.predict(Xv))
    assert again.callbacks_[0].best == est.callbacks_[0].best


def test_gridsearch_n_jobs_2_with_callbacks(reg_data):
    X, y, _, _ = reg_data
    est = _reg(max_iter=40, callbacks=[EarlyStopping(monitor="loss", patience=2)])
    search = GridSearchCV(est, {"alpha": [1e-4, 1e-1]}, cv=2, n_jobs=2).fit(X, y)
    assert np.isfinite(search.best_score_)
    assert search.best_estimator_.callbacks_[0].best_epoch is not None
    assert not hasattr(est.callbacks[0], "best")


def test_csv_logger_writes_rows(reg_data, tmp_path):
    X, y, Xv, yv = reg_data
    path = tmp_path / "log.csv"
    est = _reg(max_iter=4, callbacks=[CSVLogger(path)]).fit(X, y, X_val=Xv, y_val=yv)
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2, 3]
    assert set(rows[0]) == {"epoch", "loss", "learning_rate", "val_loss", "val_score",
                            "epoch_time"}
    np.testing.assert_allclose([float(r["val_loss"]) for r in rows], est.history_["val_loss"])
    # partial_fit continues the same file; a new fit starts it again.
    est.partial_fit(X, y)
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2, 3, 4]
    assert rows[-1]["val_loss"] == ""
    est.fit(X, y)
    with open(path, newline="") as fh:
        assert len(list(csv.DictReader(fh))) == 4


def test_csv_logger_lbfgs_learning_rate_empty(reg_data, tmp_path):
    X, y, _, _ = reg_data
    path = tmp_path / "log.csv"
    est = _reg(solver="lbfgs", max_iter=5, callbacks=[CSVLogger(path)]).fit(X, y)
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(est.history_["loss"]) and rows[0]["learning_rate"] == ""


# ------------------------------------------------------------------- history
def test_validation_data_history_keys(clf_data):
    X, y, Xv, yv = clf_data
    est = _clf(max_iter=5).fit(X, y, X_val=Xv, y_val=yv)
    h = est.history_
    assert set(h) == {"loss", "val_loss", "val_score", "learning_rate", "epoch_time"}
    assert all(len(v) == 5 for v in h.values())
    assert h["loss"] == est.loss_curve_
    assert h["learning_rate"] == [0.05] * 5
    assert h["val_loss"][-1] == pytest.approx(_val_loss(est, Xv, yv)[0])
    assert h["val_score"][-1] == pytest.approx(est.score(Xv, yv))
    assert est.validation_scores_ is None  # sklearn's attribute, untouched
    assert set(_clf(max_iter=2).fit(X, y).history_) == {"loss", "learning_rate", "epoch_time"}


def test_history_continues_across_partial_fit_and_warm_start(reg_data):
    X, y, _, _ = reg_data
    est = _reg()
    for _ in range(3):
        est.partial_fit(X, y)
    assert len(est.history_["loss"]) == 3
    warm = _reg(max_iter=2, warm_start=True).fit(X, y)
    warm.fit(X, y)
    assert len(warm.history_["loss"]) == 4
    assert _reg(max_iter=2).fit(X, y).fit(X, y).history_["loss"].__len__() == 2


def test_lbfgs_on_epoch_end_per_iteration_and_stop(reg_data):
    X, y, _, _ = reg_data
    epochs = []
    est = _reg(solver="lbfgs", max_iter=15,
               callbacks=[LambdaCallback(on_epoch_end=lambda e, i, logs: epochs.append(i))])
    est.fit(X, y)
    # LambdaCallback is deep-copied but the function (and its list) is shared.
    assert epochs == list(range(est.n_iter_)) == list(range(len(est.history_["loss"])))
    stop = _reg(solver="lbfgs", max_iter=50,
                callbacks=[LambdaCallback(on_epoch_end=lambda e, i, logs: i == 2)]).fit(X, y)
    assert stop.n_iter_ == 3 and len(stop.history_["loss"]) == 3
    assert stop.loss_ == pytest.approx(stop.history_["loss"][-1])


def test_verbose_2_keras_line(capsys, reg_data):
    X, y, Xv, yv = reg_data
    _reg(max_iter=3, verbose=2).fit(X, y, X_val=Xv, y_val=yv)
    lines = capsys.readouterr().out.strip().splitlines()
    num = r"-?\d+\.\d{6}"
    pattern = rf"Epoch (\d)/3 - \d+\.\d{{3}}s - loss: {num} - val_loss: {num} - val_score: {num}"
    assert [re.fullmatch(pattern, line).group(1) for line in lines] == ["1", "2", "3"]
    _reg(max_iter=2, verbose=True).fit(X, y)
    out = capsys.readouterr().out
    assert re.search(r"Iteration 1, loss = \d+\.\d{8}", out)


# ------------------------------------------------------------------- summary
def test_summary_totals_and_wide_deep(reg_data):
    X, y, _, _ = reg_data
    est = _reg(hidden_layer_sizes=(8, 4), max_iter=2, wide_features=[0, 3],
               deep_features=[1, 2, 3, 4]).fit(X, y)
    text = est.summary()
    total = sum(c.size for c in est.coefs_) + sum(b.size for b in est.intercepts_)
    assert f"Total params: {total:,}" in text
    for row in ["deep_input (Select)", "(None, 4)", "wide_input (Select)",
                "concatenate (Concatenate)", "(None, 6)", "output (Dense)", "identity"]:
        assert row in text
    counts = [int(m.replace(",", "")) for m in re.findall(r"\)\s+([\d,]+)\s", text)]
    assert sum(counts) == total
    clf = _clf(max_iter=2, wide_features="all").fit(*reg_data[:1], reg_data[1] > 0)
    assert "concatenate" in clf.summary() and "wide_input" not in clf.summary()
    assert "logistic" in clf.summary()
    with pytest.raises(NotFittedError):
        MLPClassifier().summary()


# ------------------------------------------------------------------- display
def test_history_display_renders_png(reg_data):
    import matplotlib as mpl
    mpl.use("Agg")
    import matplotlib.pyplot as plt

    X, y, Xv, yv = reg_data
    est = _reg(max_iter=4).fit(X, y, X_val=Xv, y_val=yv)
    disp = HistoryDisplay.from_estimator(est)
    assert set(disp.lines_) == {"loss", "val_loss", "val_score"}
    np.testing.assert_allclose(disp.lines_["loss"].get_xdata(), [0.5, 1.5, 2.5, 3.5])
    np.testing.assert_allclose(disp.lines_["val_loss"].get_xdata(), [1, 2, 3, 4])
    assert disp.figure_ is disp.ax_.figure
    buf = io.BytesIO()
    disp.figure_.savefig(buf, format="png")
    assert buf.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"
    fig, ax = plt.subplots()
    disp2 = HistoryDisplay({"loss": [3.0, 2.0]}).plot(ax=ax, show_score=False)
    assert disp2.ax_ is ax and set(disp2.lines_) == {"loss"} and disp2.ax_score_ is None
    plt.close("all")


def test_history_display_without_matplotlib(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install sknn\[plot\]"):
        HistoryDisplay({"loss": [1.0]}).plot()


# ------------------------------------------------- scikit-learn's callback API
# sklearn.callback exists from scikit-learn 1.9; the minimum-versions run (make
# test-min) has an older release and skips the tests marked sklearn_min("1.9").
try:
    import sklearn.callback as skl_callback
except ImportError:
    skl_callback = None


def _progress_bar():
    return skl_callback.ProgressBar()


class StopAtEpoch:
    """A scikit-learn FitCallback asking to stop at the end of epoch ``n``."""

    def __init__(self, n):
        self.n = n

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context):
        return context.task_name == "epoch" and context.task_id == self.n


@pytest.mark.sklearn_min("1.9")
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_sklearn_progress_bar_lone_estimator(solver, clf_data):
    X, y, _, _ = clf_data
    est = _clf(max_iter=3, solver=solver).set_callbacks(_progress_bar())
    est.fit(X, y)
    assert est.n_iter_ >= 1
    transient = {"_sklearn_bridge", "_callback_fit_ctx", "_skl_callbacks_to_teardown"}
    assert not transient & set(est.__dict__)
    pickle.loads(pickle.dumps(est)).predict(X)


@pytest.mark.sklearn_min("1.9")
def test_sklearn_scoring_monitor_per_epoch(clf_data):
    X, y, _, _ = clf_data
    monitor = skl_callback.ScoringMonitor(scoring="accuracy")
    est = _clf(max_iter=4).set_callbacks(monitor).fit(X, y)
    data = monitor.get_logs().data
    epochs = [row for row in data if row["task_name"] == "epoch"]
    assert [row["task_id"] for row in epochs] == [0, 1, 2, 3]
    root = [row for row in data if row["task_name"] == "fit"]
    assert root[0]["accuracy"] == pytest.approx(est.score(X, y))
    assert epochs[-1]["accuracy"] == pytest.approx(est.score(X, y))


@pytest.mark.sklearn_min("1.9")
def test_sklearn_callback_stop_uses_the_same_mechanism(reg_data):
    X, y, _, _ = reg_data
    est = _reg(max_iter=20).set_callbacks(StopAtEpoch(2)).fit(X, y)
    assert est.n_iter_ == 3
    est = _reg(max_iter=20, solver="lbfgs").set_callbacks(StopAtEpoch(2)).fit(X, y)
    assert est.n_iter_ == 3


@pytest.mark.sklearn_min("1.9")
def test_sklearn_callbacks_in_pipeline_and_gridsearch(clf_data):
    X, y, _, _ = clf_data
    pipe = make_pipeline(StandardScaler(), _clf(max_iter=3))
    pipe.set_callbacks(_progress_bar())
    pipe.fit(X, y)
    assert pipe[-1].n_iter_ == 3
    assert not hasattr(pipe[-1], "_skl_callbacks")  # propagated ones are removed

    search = GridSearchCV(_clf(max_iter=3), {"alpha": [1e-4, 1e-2]}, cv=2, n_jobs=2)
    search.set_callbacks(_progress_bar())
    search.fit(X, y)
    assert search.best_estimator_.n_iter_ == 3

    monitor = skl_callback.ScoringMonitor(scoring="accuracy")
    search = GridSearchCV(_clf(max_iter=3).set_callbacks(monitor), {"alpha": [1e-4, 1e-2]},
                          cv=2, n_jobs=2).fit(X, y)
    data = monitor.get_logs().data
    # 4 candidate fits + the refit, each a root task plus 3 epochs.
    assert sum(row["task_name"] == "epoch" for row in data) == 5 * 3


@pytest.mark.sklearn_min("1.9")
def test_sklearn_and_sknn_callbacks_together(reg_data, tmp_path):
    X, y, Xv, yv = reg_data
    monitor = skl_callback.ScoringMonitor(scoring="r2")
    est = _reg(max_iter=200, callbacks=[EarlyStopping(patience=2),
                                        ModelCheckpoint(tmp_path / "m.joblib")])
    est.set_callbacks(monitor).fit(X, y, X_val=Xv, y_val=yv)
    n_epochs = len(est.history_["loss"])
    data = monitor.get_logs().data
    assert sum(row["task_name"] == "epoch" for row in data) == n_epochs
    loaded = joblib.load(tmp_path / "m.joblib")
    assert "_sklearn_bridge" not in loaded.__dict__
    np.testing.assert_array_equal(loaded.predict(Xv), est.predict(Xv))


@pytest.mark.sklearn_min("1.9")
def test_sklearn_callbacks_partial_fit_and_failed_fit(reg_data):
    X, y, _, _ = reg_data
    monitor = skl_callback.ScoringMonitor(scoring="r2")
    est = _reg().set_callbacks(monitor)
    est.partial_fit(X, y)
    est.partial_fit(X, y)
    runs = monitor.get_logs(select="all")
    assert len(runs) == 2 and all(len(r.data) == 2 for r in runs)
    with pytest.raises(ValueError):
        est.fit(X[:, :3], y[:3])
    assert "_callback_fit_ctx" not in est.__dict__
    assert len(est.history_["loss"]) == 2


def test_no_warning_noise_in_plain_fit(reg_data):
    X, y, _, _ = reg_data
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ConvergenceWarning)
        _reg(max_iter=2, callbacks=[EarlyStopping(monitor="loss")]).fit(X, y)


def test_optimizer_set_learning_rate_drives_the_next_epoch(reg_data):
    """The optimizer object's one public way to change the rate (lr_find, callbacks)."""
    X, y = reg_data[:2]
    est = MLPRegressor(hidden_layer_sizes=(5,), solver="sgd", random_state=0)
    est.partial_fit(X, y)
    assert est._optimizer.learning_rate == est.history_["learning_rate"][-1] == 0.001
    est._optimizer.set_learning_rate(0.02)
    est.partial_fit(X, y)
    assert est.history_["learning_rate"][-1] == est._optimizer.learning_rate == 0.02
    for bad in (0.0, -1.0, np.inf, np.nan, "0.1", True):
        with pytest.raises(ValueError, match="learning_rate"):
            est._optimizer.set_learning_rate(bad)
    assert est._optimizer.learning_rate == 0.02
