"""Losses and output activations beyond scikit-learn's MLP: robust losses, Poisson,
positive and bounded outputs, every loss with every solver.

The real-data tests read California housing through scikit-learn's own loader
(tests/conftest.py primes its cache offline from ../shared/data).
"""

import warnings

import numpy as np
import pytest
from _helpers import X30, Y30_REG, scaled_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import root_mean_squared_error
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from sknn import MLPRegressor

# Short trainings on purpose: "maximum iterations reached" is expected here;
# tests about that warning use pytest.warns, which still sees it.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.mark.slow
def test_robust_losses_beat_squared_error_with_outliers(housing):
    X_train, _, X_test, y_train, _, y_test = housing
    rng = np.random.RandomState(0)
    y_dirty = y_train.copy()
    hit = rng.rand(len(y_dirty)) < 0.05
    y_dirty[hit] *= 10
    rmse = {}
    for loss in ["squared_error", "huber", "absolute_error"]:
        model = make_pipeline(
            StandardScaler(),
            MLPRegressor(loss=loss, hidden_layer_sizes=(50, 50), random_state=0, max_iter=60),
        ).fit(X_train, y_dirty)
        rmse[loss] = root_mean_squared_error(y_test, model.predict(X_test))
    assert rmse["huber"] < 0.9 * rmse["squared_error"]
    assert rmse["absolute_error"] < 0.9 * rmse["squared_error"]


def test_positive_and_bounded_output_activations(housing):
    X_train, _, X_test, y_train, _, _ = housing
    X_train, X_test = X_train[:3000], X_test[:1000]
    scaler = StandardScaler().fit(X_train)
    Xtr, Xte = scaler.transform(X_train), scaler.transform(X_test)
    y = y_train[:3000]
    for act in ["softplus", "relu"]:
        reg = MLPRegressor(output_activation=act, hidden_layer_sizes=(20,), random_state=0,
                           max_iter=30).fit(Xtr, y - y.min())
        assert reg.predict(Xte * 3).min() >= 0
    y01 = MinMaxScaler().fit_transform(y.reshape(-1, 1)).ravel()
    reg = MLPRegressor(output_activation="sigmoid", hidden_layer_sizes=(20,), random_state=0,
                       max_iter=30).fit(Xtr, y01)
    pred = reg.predict(Xte * 10)
    assert pred.min() >= 0 and pred.max() <= 1
    assert reg.score(Xtr, y01) > 0.5


def test_bounded_output_rejects_out_of_range_targets_before_any_change():
    X, y = scaled_diabetes()
    reg = MLPRegressor(output_activation="tanh", hidden_layer_sizes=(5,), max_iter=5,
                       random_state=0, warm_start=True).fit(X, np.tanh(y))
    before = [c.copy() for c in reg.coefs_]
    with pytest.raises(ValueError, match="MinMaxScaler"):
        reg.fit(X, y * 3)
    assert all(np.array_equal(a, b) for a, b in zip(reg.coefs_, before))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        MLPRegressor(output_activation="sigmoid").fit(X, y)
    with pytest.raises(ValueError, match="poisson.*tanh"):
        MLPRegressor(loss="poisson", output_activation="tanh").fit(X, np.abs(y) / 4)
    with pytest.raises(ValueError, match="huber_delta"):
        MLPRegressor(loss="huber", huber_delta=0).fit(X, y)


@pytest.mark.parametrize("loss", ["squared_error", "absolute_error", "huber", "poisson"])
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_every_loss_with_every_solver_multioutput(loss, solver):
    X, y = scaled_diabetes()
    Y = np.c_[y, 0.5 * y]
    if loss == "poisson":
        Y = np.exp(Y / 2)
    reg = MLPRegressor(loss=loss, solver=solver, hidden_layer_sizes=(10,), random_state=0,
                       max_iter=60, learning_rate_init=0.01)
    reg.fit(X, Y)
    assert reg.predict(X).shape == Y.shape
    assert reg.score(X, Y) > 0.2
    if solver != "lbfgs":
        es = MLPRegressor(loss=loss, solver=solver, hidden_layer_sizes=(10,), random_state=0,
                          early_stopping=True, max_iter=30, learning_rate_init=0.01).fit(X, Y)
        # the validation score stays R^2, whatever the loss
        assert es.best_validation_score_ == max(es.validation_scores_)
        assert -1 < es.best_validation_score_ <= 1


def test_huber_interpolates_between_squared_and_absolute():
    X, y = scaled_diabetes()
    kw = dict(hidden_layer_sizes=(6,), solver="lbfgs", random_state=0, max_iter=20)
    big = MLPRegressor(loss="huber", huber_delta=1e6, **kw).fit(X, y)
    sq = MLPRegressor(loss="squared_error", **kw).fit(X, y)
    np.testing.assert_allclose(big.predict(X), sq.predict(X), rtol=1e-8)
    assert big.loss_ == pytest.approx(sq.loss_)


@pytest.mark.parametrize("params, positive", [
    ({}, False), ({"output_activation": "relu"}, True), ({"output_activation": "softplus"}, True),
    ({"loss": "poisson"}, True), ({"output_activation": "sigmoid"}, False),
    ({"output_activation": "tanh"}, False),
])
def test_positive_only_target_tag_follows_the_output_activation(params, positive):
    from sklearn.utils import get_tags

    assert get_tags(MLPRegressor(**params)).target_tags.positive_only is positive


@pytest.mark.parametrize("out", ["relu", "softplus"])
@pytest.mark.parametrize("shift", [0.5, 3.0, 40.0, 1000.0])
def test_non_negative_outputs_start_at_the_mean_target(out, shift):
    # check_regressors_train shifts its targets to >= 1 for positive_only
    # regressors; a softplus/relu output starting near 0 did not get there.
    y = Y30_REG - Y30_REG.min() + shift
    w = np.linspace(0.5, 2.0, len(y))
    est = MLPRegressor(hidden_layer_sizes=(4,), output_activation=out, max_iter=1,
                       learning_rate_init=1e-12, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X30, y, sample_weight=w)
    ref = MLPRegressor(hidden_layer_sizes=(4,), max_iter=1, learning_rate_init=1e-12,
                       random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref.fit(X30, y, sample_weight=w)
    # Same weights as scikit-learn's initialisation but the output bias.
    for a, b in zip(est.coefs_, ref.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-9)
    mean = np.average(y, weights=w)
    pre = est.intercepts_[-1] - ref.intercepts_[-1]
    expected = mean if out == "relu" else mean + np.log(-np.expm1(-mean))
    np.testing.assert_allclose(pre, expected, rtol=1e-6)
