"""scikit-learn's estimator checks, all of them, on several MLP configurations.

No expected failures: the MLPs pass every generated check, sample-weight
equivalence included (full-batch 'auto' batches follow the same trajectory for
weighted rows and repeated rows).  Perceptron's checks live in test_perceptron.py.
"""

import pytest
from sklearn.utils.estimator_checks import (
    check_dataframe_column_names_consistency,
    check_param_validation,
    parametrize_with_checks,
)

from sknn import MLPClassifier, MLPRegressor

# Short trainings on purpose: "maximum iterations reached" is expected here;
# tests about that warning use pytest.warns, which still sees it.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

ESTIMATORS = [
    MLPClassifier(),
    MLPRegressor(),
    MLPClassifier(solver="sgd", hidden_layer_sizes=(10,), learning_rate_init=0.01),
    MLPRegressor(solver="sgd", hidden_layer_sizes=(10,), learning_rate_init=0.01),
    MLPClassifier(solver="lbfgs", hidden_layer_sizes=(10,)),
    MLPRegressor(solver="lbfgs", hidden_layer_sizes=(10,)),
    MLPClassifier(hidden_layer_sizes=(8, 4), activation="tanh", max_iter=100),
    MLPRegressor(loss="huber", activation="gelu", wide_features="all", hidden_layer_sizes=(10,)),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.parametrize("est", [MLPClassifier(), MLPRegressor()], ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("chk", [check_param_validation, check_dataframe_column_names_consistency])
def test_checks_not_generated_for_third_party(est, chk):
    chk(type(est).__name__, est)
