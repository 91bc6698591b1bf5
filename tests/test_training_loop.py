"""The training loop: validation data through Pipelines and searches, the epoch
budget, per-epoch metrics, what callbacks see of it (Keras-signature errors,
progress display) and learning-rate schedules (the learning-rate finder:
tests/test_lr_find.py)."""

import warnings

import numpy as np
import pytest
from _helpers import badly_scaled_regression
from sklearn import config_context
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sknn import MLPClassifier, MLPRegressor

# Short trainings on purpose: "maximum iterations reached" is expected here;
# tests about that warning use pytest.warns, which still sees it.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _reg(**kw):
    params = dict(hidden_layer_sizes=(8,), max_iter=5, random_state=0, n_iter_no_change=np.inf)
    params.update(kw)
    return MLPRegressor(**params)


# --------------------------------------- validation data (X_val) through Pipelines and searches
def _scaled_pipeline(**kw):
    mlp = _reg(**kw).set_fit_request(X_val=True, y_val=True, sample_weight_val=True)
    return Pipeline([("scale", StandardScaler()), ("mlp", mlp)], transform_input=["X_val"])


def test_x_val_is_transformed_in_a_pipeline():
    X, y = badly_scaled_regression()
    Xt, Xv, yt, yv = X[:180], X[180:], y[:180], y[180:]
    with config_context(enable_metadata_routing=True):
        pipe = _scaled_pipeline().fit(Xt, yt, X_val=Xv, y_val=yv)
    scaler = StandardScaler().fit(Xt)
    direct = _reg().fit(scaler.transform(Xt), yt, X_val=scaler.transform(Xv), y_val=yv)
    np.testing.assert_allclose(pipe[-1].history_["val_loss"], direct.history_["val_loss"])
    assert pipe[-1].history_["val_loss"][0] < 100  # unscaled X_val: ~1e5


def test_x_val_in_grid_search_and_with_set_output():
    import pandas as pd
    X, y = badly_scaled_regression()
    X = pd.DataFrame(X, columns=list("abcd"))
    Xt, Xv, yt, yv = X.iloc[:180], X.iloc[180:], y[:180], y[180:]
    with config_context(enable_metadata_routing=True):
        pipe = _scaled_pipeline().set_output(transform="pandas")
        search = GridSearchCV(pipe, {"mlp__alpha": [1e-4, 1e-2]}, cv=2)
        with warnings.catch_warnings():
            # a DataFrame X_val after a DataFrame X: no feature-name warning
            warnings.simplefilter("error", UserWarning)
            search.fit(Xt, yt, X_val=Xv, y_val=yv, sample_weight_val=np.ones(len(yv)))
    best = search.best_estimator_[-1]
    assert list(best.feature_names_in_) == list("abcd")
    assert len(best.history_["val_loss"]) == 5
    assert best.history_["val_loss"][0] < 100


def test_validation_data_is_a_deprecated_alias():
    X, y = badly_scaled_regression()
    new = _reg().fit(X[:180], y[:180], X_val=X[180:], y_val=y[180:])
    with pytest.warns(FutureWarning, match="transform_input"):
        old = _reg().fit(X[:180], y[:180], validation_data=(X[180:], y[180:]))
    np.testing.assert_allclose(old.history_["val_loss"], new.history_["val_loss"])


# ---------------------------------------------------------------------- exactly max_iter epochs
def test_exact_epoch_budget_without_convergence_warning():
    X, y = badly_scaled_regression()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = _reg(max_iter=7, n_iter_no_change=np.inf).fit(X, y)
    assert est.n_iter_ == 7 and len(est.history_["loss"]) == 7
    # scikit-learn's default is unchanged: the budget reached warns
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        _reg(max_iter=7, n_iter_no_change=10).fit(X, y)


# ---------------------------------------------------------------------------- per-epoch metrics
def _digits(n=400):
    X, y = load_digits(return_X_y=True)
    return X[:n] / 16.0, y[:n]


def _clf(**kw):
    params = dict(hidden_layer_sizes=(16,), max_iter=6, random_state=0, n_iter_no_change=np.inf,
                  learning_rate_init=0.01)
    params.update(kw)
    return MLPClassifier(**params)


@pytest.mark.filterwarnings("ignore:lbfgs failed to converge:sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_scoring_metrics_in_history(solver):
    from sklearn.metrics import accuracy_score, log_loss

    X, y = _digits()
    scores = {}

    def record(est, epoch, logs):  # the metric equals a score of that epoch's model
        scores[epoch] = (accuracy_score(y[300:], est.predict(X[300:])),
                         -log_loss(y[:300], est.predict_proba(X[:300]), labels=est.classes_))

    from sknn.callbacks import LambdaCallback

    est = _clf(solver=solver, scoring=["accuracy", "neg_log_loss"],
               callbacks=[LambdaCallback(on_epoch_end=record)])
    est.fit(X[:300], y[:300], X_val=X[300:], y_val=y[300:])
    h = est.history_
    for key in ("accuracy", "val_accuracy", "neg_log_loss", "val_neg_log_loss"):
        assert len(h[key]) == len(h["loss"])
    for epoch, (val_acc, train_nll) in scores.items():
        assert h["val_accuracy"][epoch] == pytest.approx(val_acc)
        assert h["neg_log_loss"][epoch] == pytest.approx(train_nll)


def test_scoring_metric_as_monitor_and_in_verbose(capsys):
    from sknn.callbacks import EarlyStopping, ModelCheckpoint

    X, y = _digits()
    stopper = EarlyStopping(monitor="val_accuracy", patience=2, restore_best_weights=True)
    est = _clf(max_iter=40, scoring="accuracy", verbose=2, learning_rate_init=0.05,
               callbacks=[stopper])
    est.fit(X[:300], y[:300], X_val=X[300:], y_val=y[300:])
    out = capsys.readouterr().out
    assert " - accuracy: " in out and " - val_accuracy: " in out
    fitted = est.callbacks_[0]
    assert fitted.best == max(est.history_["val_accuracy"])  # maximised
    # neg_log_loss ends in "loss" but is a scorer: greater is better
    ckpt = ModelCheckpoint("unused-{epoch}.joblib", monitor="val_neg_log_loss")
    ckpt.on_train_begin(_clf(scoring="neg_log_loss"), {})
    assert ckpt._mode == "max"


def test_scoring_validation():
    X, y = _digits(100)
    with pytest.raises(ValueError, match="scoring"):
        _clf(scoring="not_a_scorer").fit(X, y)
    with pytest.raises(ValueError, match="val_"):
        _clf(scoring={"val_acc": "accuracy"}).fit(X, y)
    with pytest.raises(ValueError, match="scoring.*now \\[\\]"):
        from sknn.callbacks import EarlyStopping

        _clf(callbacks=[EarlyStopping(monitor="val_accuracy")]).fit(X, y, X_val=X, y_val=y)


def test_history_display_keys_and_legend_outside():
    import matplotlib

    matplotlib.use("Agg")
    from sknn import HistoryDisplay

    X, y = _digits()
    est = _clf(scoring="accuracy").fit(X[:300], y[:300], X_val=X[300:], y_val=y[300:])
    disp = HistoryDisplay.from_estimator(est)
    assert set(disp.lines_) == {"loss", "val_loss", "val_score", "accuracy", "val_accuracy"}
    # training metrics are measured at the epoch's end: not shifted
    np.testing.assert_array_equal(disp.lines_["accuracy"].get_xdata(), np.arange(1, 7))
    renderer = disp.figure_.canvas.get_renderer()
    legend = disp.ax_.get_legend().get_window_extent(renderer)
    assert not legend.overlaps(disp.ax_.get_window_extent(renderer))
    asked = HistoryDisplay(est.history_).plot(keys=["loss", "learning_rate"])
    assert set(asked.lines_) == {"loss", "learning_rate"}
    with pytest.raises(ValueError, match="not in the history"):
        HistoryDisplay(est.history_).plot(keys=["lr"])


# --------------------------------------------------------------- callbacks and progress display
def test_keys_added_by_callbacks_reach_history():
    from sknn.callbacks import LambdaCallback

    def add(est, epoch, logs):
        if epoch >= 2:
            logs["half_loss"] = logs["loss"] / 2

    seen = []
    est = _reg(callbacks=[LambdaCallback(on_epoch_end=add),
                          LambdaCallback(on_epoch_end=lambda e, ep, logs: seen.append(
                              "half_loss" in logs))]).fit(*badly_scaled_regression())
    h = est.history_
    assert h["half_loss"][:2] == [None, None]
    assert h["half_loss"][2:] == pytest.approx([v / 2 for v in h["loss"][2:]])
    assert seen == [False, False, True, True, True]  # later callbacks see the key


class KerasStyle:
    def on_epoch_end(self, epoch, logs=None):
        pass


def test_keras_signature_callback_gets_a_helpful_error():
    from sknn.callbacks import LambdaCallback

    X, y = badly_scaled_regression()
    est = _reg(callbacks=[KerasStyle()])
    with pytest.raises(TypeError, match=r"KerasStyle.on_epoch_end\(epoch, logs=None\) "
                                        r"\(Keras' signature\).*on_epoch_end\(self, estimator, "
                                        r"epoch, logs\)"):
        est.fit(X, y)
    assert not hasattr(est, "n_iter_")
    with pytest.raises(TypeError, match=r"on_epoch_end\(self, estimator, epoch, logs\)"):
        _reg(callbacks=[LambdaCallback(on_epoch_end=lambda epoch, logs: None)]).fit(X, y)


def test_progress_bar_shows_loss_and_monitor(capsys):
    from sknn.callbacks import EarlyStopping, ProgressBar

    X, y = badly_scaled_regression()
    _reg(max_iter=4, callbacks=[ProgressBar()]).fit(X[:180], y[:180], X_val=X[180:],
                                                   y_val=y[180:])
    out = capsys.readouterr().out
    last = out.rstrip("\n").split("\r")[-1]
    assert last.startswith("Epoch 4/4 [") and "loss: " in last and "val_loss: " in last
    _reg(max_iter=50, callbacks=[EarlyStopping(monitor="val_score", patience=1),
                                 ProgressBar()]).fit(X[:180], y[:180], X_val=X[180:],
                                                     y_val=y[180:])
    out = capsys.readouterr().out
    assert "/50" not in out and "(at most 50, early stopping)" in out and "val_score: " in out


def test_sklearn_progress_bar_has_no_max_iter_estimate_with_early_stopping():
    from sknn._sklearn_callbacks import _may_stop_early
    from sknn.callbacks import EarlyStopping

    assert _may_stop_early(_reg(early_stopping=True))
    assert _may_stop_early(_reg(callbacks=[EarlyStopping()]))
    assert not _may_stop_early(_reg())
    assert not _may_stop_early(_reg(solver="lbfgs", early_stopping=True))


# ---------------------------------------------------------------------- learning-rate schedules
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_learning_rate_scheduler_sets_the_rate_each_epoch_uses(solver):
    from sknn.callbacks import LearningRateScheduler

    X, y = badly_scaled_regression()
    seen = []

    def schedule(epoch, lr):
        seen.append((epoch, lr))
        return 0.01 * 0.5 ** epoch

    est = _reg(solver=solver, max_iter=5, callbacks=[LearningRateScheduler(schedule)]).fit(X, y)
    assert est.history_["learning_rate"] == pytest.approx([0.01 * 0.5 ** e for e in range(5)])
    assert seen[0] == (0, 0.001) and seen[1] == (1, pytest.approx(0.01))
    # the rate really drives the update: same as training at that constant rate
    const = _reg(solver=solver, max_iter=1, learning_rate_init=0.01).fit(X, y)
    one = _reg(solver=solver, max_iter=1,
               callbacks=[LearningRateScheduler(lambda e, lr: 0.01)]).fit(X, y)
    np.testing.assert_array_equal(one._theta, const._theta)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_reduce_lr_on_plateau(solver):
    from sknn.callbacks import ReduceLROnPlateau

    X, y = badly_scaled_regression()
    # "loss" rising is a plateau every epoch with an absurd min_delta
    cb = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=2, min_lr=0.0003,
                           min_delta=1e9)
    est = _reg(solver=solver, max_iter=8, learning_rate_init=0.002, callbacks=[cb]).fit(X, y)
    rates = est.history_["learning_rate"]
    assert rates == pytest.approx([0.002, 0.002, 0.002, 0.001, 0.001, 0.0005, 0.0005, 0.0003])
    assert [e for e, _ in est.callbacks_[0].reductions] == [2, 4, 6]


def test_rate_callbacks_refuse_other_schedules_and_lbfgs():
    from sknn.callbacks import LearningRateScheduler, ReduceLROnPlateau

    X, y = badly_scaled_regression()
    with pytest.raises(ValueError, match="learning_rate='constant'"):
        _reg(learning_rate="cosine", callbacks=[ReduceLROnPlateau()]).fit(X, y)
    with pytest.raises(ValueError, match="learning_rate='constant'"):
        _reg(solver="sgd", learning_rate="invscaling",
             callbacks=[LearningRateScheduler(lambda e, lr: lr)]).fit(X, y)
    with pytest.raises(ValueError, match="solver='sgd' or 'adam'"):
        _reg(solver="lbfgs", callbacks=[LearningRateScheduler(lambda e, lr: lr)]).fit(X, y)
    with pytest.raises(ValueError, match=r"schedule\(0, ...\) returned -1"):
        _reg(callbacks=[LearningRateScheduler(lambda e, lr: -1)]).fit(X, y)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_cosine_and_one_cycle_schedules(solver):
    from sknn._optimizers import scheduled_rate

    X, y = badly_scaled_regression()
    n, lr0 = 10, 0.01
    cos = _reg(solver=solver, max_iter=n, learning_rate="cosine", learning_rate_init=lr0)
    rates = cos.fit(X, y).history_["learning_rate"]
    expected = [lr0 * 0.5 * (1 + np.cos(np.pi * e / n)) for e in range(n)]
    np.testing.assert_allclose(rates, expected)
    one = _reg(solver=solver, max_iter=n, learning_rate="one_cycle", learning_rate_init=lr0)
    rates = np.array(one.fit(X, y).history_["learning_rate"])
    assert rates[0] == pytest.approx(lr0 / 25) and rates.max() == pytest.approx(lr0)
    peak = int(np.argmax(rates))
    assert peak == 3 and np.all(np.diff(rates[:peak + 1]) > 0)
    assert np.all(np.diff(rates[peak:]) < 0)
    assert scheduled_rate("one_cycle", lr0, n, n) == 0.0 == scheduled_rate("cosine", lr0, n, n)
    assert scheduled_rate("one_cycle", lr0, 0, 1) == lr0  # one epoch: no warm-up


@pytest.mark.slow
def test_one_cycle_reaches_the_constant_rates_best_sooner_on_california():
    # Adam, batches of 512, a rate too high to hold constant (0.03): warmed up
    # and annealed, it reaches the constant schedule's best validation loss
    # in fewer epochs (measured: epoch 22 against 29, seeds 42 and 0).
    from sklearn.datasets import fetch_california_housing
    from sklearn.model_selection import train_test_split

    X, y = fetch_california_housing(return_X_y=True)
    Xt, Xv, yt, yv = train_test_split(X, y, random_state=42)
    scaler = StandardScaler().fit(Xt)
    Xt, Xv = scaler.transform(Xt), scaler.transform(Xv)
    curves = {}
    for schedule in ("constant", "one_cycle"):
        est = MLPRegressor(hidden_layer_sizes=(50, 50, 50), batch_size=512, max_iter=30,
                           n_iter_no_change=np.inf, learning_rate=schedule,
                           learning_rate_init=0.03, random_state=42)
        curves[schedule] = np.array(est.fit(Xt, yt, X_val=Xv, y_val=yv).history_["val_loss"])
    best_constant = curves["constant"].min()
    epochs_constant = int(np.argmin(curves["constant"])) + 1
    epochs_one_cycle = int(np.flatnonzero(curves["one_cycle"] <= best_constant)[0]) + 1
    assert epochs_one_cycle <= epochs_constant - 5, (epochs_one_cycle, epochs_constant)
    assert curves["one_cycle"].min() < best_constant
