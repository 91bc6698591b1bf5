"""Successive halving with the number of epochs (max_iter) as the resource."""

import numpy as np
import pytest
from scipy.stats import loguniform
from sklearn.datasets import load_digits
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import HalvingRandomSearchCV

from sknn import MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_halving_random_search_over_max_iter(Est):
    X, y = load_digits(return_X_y=True)
    X = X[:600] / 16.0
    y = y[:600] if Est is MLPClassifier else y[:600] / 9.0
    kwargs = {"hidden_layer_sizes": (16,)} if Est is MLPRegressor else {}
    search = HalvingRandomSearchCV(
        Est(random_state=0, **kwargs),
        {"learning_rate_init": loguniform(1e-3, 3e-2), "alpha": loguniform(1e-5, 1e-1),
         "activation": ["relu", "tanh"]},
        resource="max_iter", min_resources=3, max_resources=27, factor=3,
        n_candidates=9, cv=3, random_state=0,
    ).fit(X, y)
    assert search.n_resources_ == [3, 9, 27]
    assert search.n_candidates_ == [9, 3, 1]
    res = search.cv_results_
    # each round refits the survivors with max_iter set to the round's resource
    for it, n_res in enumerate(search.n_resources_):
        rows = np.flatnonzero(res["iter"] == it)
        assert all(res["params"][r]["max_iter"] == n_res for r in rows)
    assert search.best_estimator_.max_iter == 27
    assert search.best_estimator_.n_iter_ <= 27
    assert search.best_score_ > (0.85 if Est is MLPClassifier else 0.3)
    # the best candidate got better with more epochs than it had in the first round
    best = search.best_params_
    same = [r for r, p in enumerate(res["params"])
            if all(p[k] == v for k, v in best.items() if k != "max_iter")]
    scores = res["mean_test_score"][same]
    assert scores[-1] >= scores[0]
