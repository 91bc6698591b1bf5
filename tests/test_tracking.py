"""Experiment tracking and tuning: TensorBoard, Optuna, LayerSizes."""

import copy
import os
import pickle
import subprocess
import sys
import warnings

import numpy as np
import optuna
import pytest
from optuna_integration import OptunaSearchCV
from scipy.stats import loguniform, randint
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    RandomizedSearchCV,
    train_test_split,
)
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2

from sknn import MLPClassifier, MLPRegressor, Perceptron
from sknn.callbacks import OptunaPruning, TensorBoard
from sknn.model_selection import LayerSizes

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    # optuna-integration's OptunaSearchCV imports it, not sknn
    pytest.mark.filterwarnings("ignore:`optuna.terminator` module has been deprecated"),
]
optuna.logging.set_verbosity(optuna.logging.WARNING)

HISTORY_SCALARS = ("loss", "val_loss", "val_score", "learning_rate")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    train, val = train_test_split(np.arange(len(y)), stratify=y, random_state=0)
    return X[train], y[train], X[val], y[val]


@pytest.fixture(scope="module")
def reg_data():
    rng = np.random.RandomState(0)
    X = rng.randn(240, 5)
    y = X[:, 0] * 2 - X[:, 1] + 0.5 * X[:, 2] ** 2 + 0.3 * rng.randn(240)
    return X[:180], y[:180], X[180:], y[180:]


def _read_run(run_dir):
    """TensorBoard's own reader over one run directory, nothing sampled away."""
    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "histograms": 0})
    acc.Reload()
    return acc


def _hparams(acc):
    """(hparams of the session start, metric tags, session-end status) of a run."""
    content = acc.PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(
        content["_hparams_/session_start_info"]).session_start_info
    experiment = plugin_data_pb2.HParamsPluginData.FromString(
        content["_hparams_/experiment"]).experiment
    values = {}
    for key, value in start.hparams.items():
        kind = value.WhichOneof("kind")
        values[key] = getattr(value, kind)
    metrics = {m.name.tag for m in experiment.metric_infos}
    status = None
    if "_hparams_/session_end_info" in content:
        status = plugin_data_pb2.HParamsPluginData.FromString(
            content["_hparams_/session_end_info"]).session_end_info.status
    return values, metrics, status


def _runs(log_dir):
    """Run directories (those holding event files) relative to log_dir."""
    return sorted(
        os.path.relpath(root, log_dir)
        for root, _, files in os.walk(log_dir)
        if any(f.startswith("events.out.tfevents") for f in files)
    )


# ------------------------------------------------------------------ TensorBoard
def test_tensorboard_scalars_histograms_hparams_equal_history(digits, tmp_path):
    X, y, Xv, yv = digits
    clf = MLPClassifier(hidden_layer_sizes=(32, 16), alpha=1e-3, max_iter=5, random_state=0,
                        callbacks=[TensorBoard(tmp_path, histogram_freq=2)])
    clf.fit(X, y, X_val=Xv, y_val=yv)
    run_dir = clf.callbacks_[0].run_dir
    assert _runs(tmp_path) == ["run"] and run_dir == str(tmp_path / "run")
    acc = _read_run(run_dir)

    n_epochs = len(clf.history_["loss"])
    for key in HISTORY_SCALARS:
        events = acc.Scalars(key)
        assert [e.step for e in events] == list(range(n_epochs))
        # TensorBoard's scalar summaries are float32
        np.testing.assert_array_equal(
            [e.value for e in events], np.float32(clf.history_[key]), err_msg=key
        )

    layers = [f"dense_{i}" for i in (1, 2, 3)]
    tags = {f"{name}/{part}" for name in layers for part in ("kernel", "bias")}
    assert set(acc.Tags()["histograms"]) == tags
    for i, name in enumerate(layers):
        for part, weights in (("kernel", clf.coefs_[i]), ("bias", clf.intercepts_[i])):
            events = acc.Histograms(f"{name}/{part}")
            assert [e.step for e in events] == [0, 2, 4]
            last = events[-1].histogram_value  # epoch 4 is the last: final weights
            assert last.num == weights.size
            assert last.min == pytest.approx(weights.min())
            assert last.max == pytest.approx(weights.max())

    values, metrics, status = _hparams(acc)
    assert values["alpha"] == 1e-3
    assert values["hidden_layer_sizes"] == "(32, 16)"
    assert values["activation"] == "relu" and values["early_stopping"] is False
    assert values["random_state"] == 0 and values["class_weight"] == "None"
    assert "callbacks" not in values
    assert metrics == {"loss", "val_loss", "val_score"}
    assert status == api_pb2.STATUS_SUCCESS


def test_tensorboard_options_off_and_new_run_per_fit(reg_data, tmp_path):
    X, y, _, _ = reg_data
    cb = TensorBoard(tmp_path, write_hparams=False)
    reg = MLPRegressor(hidden_layer_sizes=(8,), max_iter=3, random_state=0, callbacks=[cb])
    reg.fit(X, y)
    reg.fit(X, y)
    assert _runs(tmp_path) == ["run", "run-1"]
    for run in ("run", "run-1"):
        acc = _read_run(tmp_path / run)
        assert acc.Tags()["histograms"] == []
        with pytest.raises(KeyError, match="hparams"):
            acc.PluginTagToContent("hparams")
        assert [e.step for e in acc.Scalars("loss")] == [0, 1, 2]
    # the parameter never runs: no writer, no run directory on it
    assert not hasattr(cb, "run_dir")


def test_tensorboard_lbfgs_iterations_without_learning_rate(reg_data, tmp_path):
    X, y, _, _ = reg_data
    reg = MLPRegressor(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=6, random_state=0,
                       callbacks=[TensorBoard(tmp_path)]).fit(X, y)
    acc = _read_run(tmp_path / "run")
    assert set(acc.Tags()["scalars"]) == {"loss", "epoch_time"}  # L-BFGS has no rate
    np.testing.assert_array_equal([e.value for e in acc.Scalars("loss")],
                                  np.float32(reg.history_["loss"]))


def test_tensorboard_partial_fit_continues_the_run(reg_data, tmp_path):
    X, y, _, _ = reg_data
    reg = MLPRegressor(hidden_layer_sizes=(8,), random_state=0,
                       callbacks=[TensorBoard(tmp_path, run_name="online")])
    for _ in range(3):
        reg.partial_fit(X, y)
    assert _runs(tmp_path) == ["online"]
    acc = _read_run(tmp_path / "online")
    np.testing.assert_array_equal([e.value for e in acc.Scalars("loss")],
                                  np.float32(reg.history_["loss"]))
    assert [e.step for e in acc.Scalars("loss")] == [0, 1, 2]
    # a fitted estimator with the callback pickles and its copy fits again
    again = pickle.loads(pickle.dumps(reg))
    np.testing.assert_array_equal(again.predict(X), reg.predict(X))
    clone(reg).fit(X, y)
    assert _runs(tmp_path) == ["online", "online-1"]


def test_tensorboard_gridsearch_run_per_candidate_and_fold(reg_data, tmp_path):
    X, y, _, _ = reg_data
    est = MLPRegressor(hidden_layer_sizes=(8,), max_iter=4, random_state=0,
                       callbacks=[TensorBoard(tmp_path)])
    cv = KFold(2)
    search = GridSearchCV(est, {"alpha": [1e-4, 1e-1, 1.0]}, cv=cv, n_jobs=2).fit(X, y)
    expected = [f"candidate-{c}/fold-{f}" for c in range(3) for f in range(2)] + ["refit"]
    assert _runs(tmp_path) == sorted(expected)
    for c, params in enumerate(search.cv_results_["params"]):
        for f in range(2):
            values, _, _ = _hparams(_read_run(tmp_path / f"candidate-{c}/fold-{f}"))
            assert values["alpha"] == params["alpha"]
    assert _hparams(_read_run(tmp_path / "refit"))[0]["alpha"] == search.best_params_["alpha"]
    # the directory of candidate 1, fold 1 holds that very fit's curve
    train, _ = list(cv.split(X))[1]
    fold_fit = clone(est).set_params(callbacks=None, **search.cv_results_["params"][1])
    fold_fit.fit(X[train], y[train])
    loss = [e.value for e in _read_run(tmp_path / "candidate-1/fold-1").Scalars("loss")]
    np.testing.assert_array_equal(loss, np.float32(fold_fit.history_["loss"]))


def test_tensorboard_bad_arguments_before_any_change(reg_data, tmp_path):
    X, y, _, _ = reg_data
    reg = MLPRegressor(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(X, y)
    coefs = [c.copy() for c in reg.coefs_]
    for bad, match in ((dict(histogram_freq=-1), "histogram_freq"),
                       (dict(histogram_freq=1.5), "histogram_freq"),
                       (dict(run_name=3), "run_name")):
        reg.set_params(callbacks=[TensorBoard(tmp_path, **bad)])
        with pytest.raises((ValueError, TypeError), match=match):
            reg.fit(X, y)
        for a, b in zip(reg.coefs_, coefs):
            np.testing.assert_array_equal(a, b)
    assert _runs(tmp_path) == []


def test_tensorboard_missing_extra_says_how_to_install(reg_data, tmp_path, monkeypatch):
    X, y, _, _ = reg_data
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    reg = MLPRegressor(max_iter=2, callbacks=[TensorBoard(tmp_path)])
    with pytest.raises(ImportError, match=r"sknn\[tensorboard\]"):
        reg.fit(X, y)


# ---------------------------------------------------------------------- Optuna
class _PruneAfter(optuna.pruners.BasePruner):
    """Prunes a trial once it has reported ``n_reports`` values (deterministic)."""

    def __init__(self, n_reports):
        self.n_reports = n_reports

    def prune(self, study, trial):
        return len(trial.intermediate_values) >= self.n_reports


def test_optuna_pruning_reports_every_epoch(digits):
    X, y, Xv, yv = digits
    study = optuna.create_study(direction="minimize", pruner=optuna.pruners.NopPruner())
    trial = study.ask()
    clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=4, random_state=0,
                        callbacks=[OptunaPruning(trial)])
    clf.fit(X, y, X_val=Xv, y_val=yv)
    reported = study.trials[0].intermediate_values
    assert sorted(reported) == [0, 1, 2, 3]
    np.testing.assert_allclose([reported[k] for k in range(4)], clf.history_["val_loss"])


def _assert_same(a, b, where):
    """Equal values, looking into arrays, containers and objects' attributes."""
    assert type(a) is type(b), where
    if isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, dict):
        assert sorted(a) == sorted(b), where
        for key in a:
            _assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{where}[{i}]")
    elif hasattr(a, "__dict__") and not isinstance(a, type):
        _assert_same(vars(a), vars(b), where)
    else:
        assert a == b or (a != a and b != b), where  # NaN equals NaN here


def test_optuna_pruned_fit_leaves_estimator_as_before(digits):
    X, y, Xv, yv = digits
    study = optuna.create_study(direction="maximize", pruner=_PruneAfter(2))
    # an estimator fitted before: a pruned warm-start fit changes nothing
    clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=3, random_state=0, warm_start=True)
    clf.fit(X, y, X_val=Xv, y_val=yv)
    before = copy.deepcopy(clf.__dict__)
    trial = study.ask()
    clf.set_params(max_iter=10, callbacks=[OptunaPruning(trial, monitor="val_score")])
    # steps are epochs of history_: the warm-started fit goes on from epoch 3
    with pytest.raises(optuna.TrialPruned, match="epoch 4"):
        clf.fit(X, y, X_val=Xv, y_val=yv)
    assert sorted(study.trials[0].intermediate_values) == [3, 4]
    clf.set_params(max_iter=3, callbacks=None)
    after = clf.__dict__
    assert sorted(after) == sorted(before)
    for key, value in before.items():
        if key != "callbacks_":
            _assert_same(after[key], value, key)
    # an unfitted estimator stays unfitted
    fresh = MLPClassifier(max_iter=5, callbacks=[OptunaPruning(study.ask(), "val_score")])
    with pytest.raises(optuna.TrialPruned):
        fresh.fit(X, y, X_val=Xv, y_val=yv)
    assert not hasattr(fresh, "coefs_") and not hasattr(fresh, "history_")


def test_optuna_pruning_checks_direction_and_shares_the_trial(digits):
    X, y, Xv, yv = digits
    study = optuna.create_study(direction="maximize")
    trial = study.ask()
    cb = OptunaPruning(trial, monitor="val_loss")
    assert copy.deepcopy(cb).trial is trial
    assert clone(MLPClassifier(callbacks=[cb])).callbacks[0].trial is trial
    clf = MLPClassifier(max_iter=2, callbacks=[cb])
    with pytest.raises(ValueError, match="direction is maximize"):
        clf.fit(X, y, X_val=Xv, y_val=yv)
    multi = optuna.create_study(directions=["maximize", "minimize"])
    clf.set_params(callbacks=[OptunaPruning(multi.ask(), monitor="val_score")])
    with pytest.raises(ValueError, match="single-objective"):
        clf.fit(X, y, X_val=Xv, y_val=yv)
    clf.set_params(callbacks=[OptunaPruning(trial, monitor="val_score")])
    with pytest.raises(ValueError, match="available keys"):
        clf.fit(X, y)  # no validation set: no val_score


N_TRIALS, N_EPOCHS = 16, 16


def _digits_study(digits, pruner):
    """A TPE study (seed 0) over depth, width and learning rate of an sknn MLP."""
    X, y, Xv, yv = digits

    def objective(trial):
        n_hidden = trial.suggest_int("n_hidden", 1, 3)
        n_neurons = trial.suggest_int("n_neurons", 16, 256, log=True)
        lr = trial.suggest_float("learning_rate_init", 1e-4, 1e-1, log=True)
        clf = MLPClassifier(hidden_layer_sizes=(n_neurons,) * n_hidden, learning_rate_init=lr,
                            max_iter=N_EPOCHS, random_state=0,
                            callbacks=[OptunaPruning(trial, monitor="val_score")])
        clf.fit(X, y, X_val=Xv, y_val=yv)
        return clf.score(Xv, yv)

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=0),
                                pruner=pruner)
    study.optimize(objective, n_trials=N_TRIALS)
    return study


@pytest.mark.slow
def test_optuna_study_prunes_and_matches_random_search(digits):
    X, y, Xv, yv = digits
    pruned = _digits_study(digits, optuna.pruners.MedianPruner(n_startup_trials=5,
                                                               n_warmup_steps=3))
    full = _digits_study(digits, optuna.pruners.NopPruner())

    def epochs(study):
        return sum(len(t.intermediate_values) for t in study.trials)

    states = [t.state for t in pruned.trials]
    assert states.count(optuna.trial.TrialState.PRUNED) >= N_TRIALS // 4
    assert epochs(full) == N_TRIALS * N_EPOCHS
    assert epochs(pruned) < 0.8 * epochs(full)

    # the same space, trial count and seeds for RandomizedSearchCV, scored on
    # the same validation set
    X_all, y_all = np.vstack([X, Xv]), np.concatenate([y, yv])
    split = [(np.arange(len(y)), np.arange(len(y), len(y_all)))]
    space = {"hidden_layer_sizes": LayerSizes(n_hidden=(1, 3), n_neurons=loguniform(16, 256)),
             "learning_rate_init": loguniform(1e-4, 1e-1)}
    random = RandomizedSearchCV(MLPClassifier(max_iter=N_EPOCHS, random_state=0), space,
                                n_iter=N_TRIALS, cv=split, random_state=0).fit(X_all, y_all)
    assert pruned.best_value >= random.best_score_
    assert pruned.best_value >= full.best_value - 0.01


@pytest.mark.parametrize("make, space, data", [
    (lambda: Perceptron(max_iter=20),
     {"alpha": optuna.distributions.FloatDistribution(1e-6, 1e-2, log=True),
      "penalty": optuna.distributions.CategoricalDistribution([None, "l2", "l1"])}, "clf"),
    (lambda: MLPClassifier(max_iter=10, random_state=0),
     {"hidden_layer_sizes": optuna.distributions.IntDistribution(8, 64, log=True),
      "learning_rate_init": optuna.distributions.FloatDistribution(1e-3, 1e-1, log=True)},
     "clf"),
    (lambda: MLPRegressor(max_iter=10, random_state=0),
     {"alpha": optuna.distributions.FloatDistribution(1e-5, 1e-1, log=True),
      "activation": optuna.distributions.CategoricalDistribution(["relu", "tanh"])}, "reg"),
], ids=["Perceptron", "MLPClassifier", "MLPRegressor"])
@pytest.mark.parametrize("enable_pruning", [False, True])
def test_optuna_search_cv_with_every_estimator(make, space, data, enable_pruning, digits,
                                               reg_data):
    X, y, Xv, yv = digits if data == "clf" else reg_data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        search = OptunaSearchCV(make(), space, n_trials=4, cv=2, random_state=0,
                                enable_pruning=enable_pruning, max_iter=3)
        search.fit(X, y)
    assert len(search.trials_) == 4
    assert set(search.best_params_) == set(space)
    assert type(search.best_estimator_) is type(make())
    assert np.isfinite(search.score(Xv, yv))
    assert search.predict(Xv).shape == yv.shape


# ------------------------------------------------------------------ LayerSizes
@pytest.mark.nojit
def test_layer_sizes_ranges_and_reproducible():
    sizes = LayerSizes(n_hidden=(1, 4), n_neurons=loguniform(16, 512))
    draws = sizes.rvs(size=4000, random_state=0)
    assert draws == sizes.rvs(size=4000, random_state=0)
    assert draws != sizes.rvs(size=4000, random_state=1)
    rng = np.random.RandomState(0)  # one draw at a time, as the searches call it
    assert draws[:3] == [sizes.rvs(random_state=rng) for _ in range(3)]
    depths = np.array([len(d) for d in draws])
    assert set(depths) == {1, 2, 3, 4}
    np.testing.assert_allclose(np.bincount(depths)[1:] / len(draws), 0.25, atol=0.03)
    widths = np.array([d[0] for d in draws])
    assert all(len(set(d)) == 1 for d in draws)  # one width for all layers by default
    assert 16 <= widths.min() and widths.max() <= 512
    # log-uniform: the median width is the geometric mean of the bounds
    assert np.median(widths) == pytest.approx(np.sqrt(16 * 512), rel=0.08)


@pytest.mark.nojit
def test_layer_sizes_other_specs_and_errors():
    draws = LayerSizes(n_hidden=randint(2, 4), n_neurons=[8, 64], per_layer=True).rvs(
        size=200, random_state=0)
    assert {len(d) for d in draws} == {2, 3}
    assert {w for d in draws for w in d} == {8, 64}
    assert any(len(set(d)) > 1 for d in draws)
    assert LayerSizes(n_hidden=2, n_neurons=10).rvs(random_state=0) == (10, 10)
    assert repr(LayerSizes()) == "LayerSizes(n_hidden=(1, 4), n_neurons=loguniform(16, 512))"
    for kwargs, match in ((dict(n_hidden=(0, 3)), "n_hidden"), (dict(n_hidden=(3, 1)), "n_hidden"),
                          (dict(n_hidden=2.5), "n_hidden"), (dict(n_neurons=0), "n_neurons"),
                          (dict(n_neurons="wide"), "n_neurons"),
                          (dict(n_neurons=loguniform(1e-3, 0.1)), "n_neurons")):
        with pytest.raises((TypeError, ValueError), match=match):
            LayerSizes(**kwargs).rvs(random_state=0)


def test_layer_sizes_in_randomized_and_halving_search(reg_data):
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingRandomSearchCV

    X, y, _, _ = reg_data
    space = {"hidden_layer_sizes": LayerSizes(n_hidden=(1, 3), n_neurons=loguniform(4, 32))}
    est = MLPRegressor(max_iter=5, random_state=0)

    def sampled(search):
        return [p["hidden_layer_sizes"] for p in search.fit(X, y).cv_results_["params"]]

    first = sampled(RandomizedSearchCV(est, space, n_iter=6, cv=2, random_state=0))
    assert first == sampled(RandomizedSearchCV(est, space, n_iter=6, cv=2, random_state=0))
    # the search draws from one seeded generator, as rvs(size=6) does
    assert first == space["hidden_layer_sizes"].rvs(size=6, random_state=0)
    halving = sampled(HalvingRandomSearchCV(est, space, n_candidates=6, cv=2, random_state=0,
                                            min_resources=40))
    assert all(isinstance(s, tuple) and 1 <= len(s) <= 3 for s in halving)


# --------------------------------------------------------------- optional extras
@pytest.mark.nojit
def test_import_sknn_imports_no_optional_extra():
    code = ("import sys, sknn, sknn.callbacks, sknn.model_selection; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('tensorboardX', 'tensorboard', 'optuna', 'optuna_integration', 'torch', "
            "'tensorflow')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "NUMBA_DISABLE_JIT": "1"})
    assert out.stdout.strip() == "[]"
