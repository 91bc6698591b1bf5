"""scikit-learn's estimator checks, all of them, on several MLP configurations.

No expected failures: the MLPs pass every generated check, sample-weight
equivalence included (full-batch 'auto' batches follow the same trajectory for
weighted rows and repeated rows).  Perceptron's checks live in test_perceptron.py.
"""

import ast
import pathlib
import warnings

import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import (
    check_dataframe_column_names_consistency,
    check_param_validation,
    parametrize_with_checks,
)

import sknn
from sknn import MLPClassifier, MLPRegressor, Perceptron

# Short trainings on purpose: "maximum iterations reached" is expected here;
# tests about that warning use pytest.warns, which still sees it.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

ESTIMATORS = [
    MLPClassifier(),
    MLPRegressor(),
    # Defaults but one parameter (issue 13: lbfgs saturated predict_proba to 1.0,
    # softplus outputs could not fit the checks' negative targets). L-BFGS runs only
    # with the default (100,) hidden units, which found that bug, not with (10,) too.
    MLPClassifier(solver="lbfgs"),
    MLPRegressor(solver="lbfgs"),
    MLPRegressor(loss="huber"),
    MLPRegressor(loss="absolute_error"),
    MLPRegressor(output_activation="softplus"),
    MLPClassifier(solver="sgd", hidden_layer_sizes=(10,), learning_rate_init=0.01),
    MLPRegressor(solver="sgd", hidden_layer_sizes=(10,), learning_rate_init=0.01),
    MLPClassifier(hidden_layer_sizes=(8, 4), activation="tanh", max_iter=100),
    MLPRegressor(loss="huber", activation="gelu", wide_features="all", hidden_layer_sizes=(10,)),
    # dropout, batch normalization and both (issue 16): no expected failures either
    MLPClassifier(dropout=0.2),
    MLPRegressor(dropout=0.2),
    MLPClassifier(batch_normalization=True),
    MLPRegressor(batch_normalization=True),
    MLPClassifier(dropout=0.2, batch_normalization=True),
    MLPRegressor(dropout=0.2, batch_normalization=True),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.parametrize("est", [MLPClassifier(), MLPRegressor()], ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("chk", [check_param_validation, check_dataframe_column_names_consistency])
def test_checks_not_generated_for_third_party(est, chk):
    chk(type(est).__name__, est)


def _private_sklearn_imports(source):
    """``(line, name)`` of every import of a private scikit-learn module or name."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
            names = []
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
            names = [alias.name for alias in node.names]
        else:
            continue
        for module in modules:
            parts = module.split(".")
            if parts[0] != "sklearn":
                continue
            private = [p for p in parts[1:] if p.startswith("_")]
            private += [n for n in names if n.startswith("_")]
            found += [(node.lineno, f"{module}: {p}") for p in private]
    return found


@pytest.mark.parametrize(
    "source, n_private",
    [
        ("from sklearn.utils import _safe_indexing, check_array", 1),
        ("from sklearn.utils._param_validation import Interval", 1),
        ("import sklearn.utils._testing as t", 1),
        ("from sklearn.utils import check_array\nimport sklearn.base", 0),
        ("from skl2onnx._parse import _apply_zipmap\nfrom ._compat import _x", 0),
        ("def f():\n    from sklearn.base import _fit_context", 1),
    ],
)
def test_private_import_detector(source, n_private):
    assert len(_private_sklearn_imports(source)) == n_private


def test_private_sklearn_imports_only_in_compat():
    """scikit-learn's private names may change in any release: sknn/_compat.py is
    the one module importing them, so a new release is checked in one place."""
    package = pathlib.Path(sknn.__file__).parent
    offenders = [
        f"{path.relative_to(package.parent)}:{line}: {what}"
        for path in sorted(package.rglob("*.py"))
        if path.name != "_compat.py" or path.parent != package
        for line, what in _private_sklearn_imports(path.read_text())
    ]
    assert not offenders, "import these through sknn/_compat.py:\n" + "\n".join(offenders)


def _warned_here(record):
    """The warnings in ``record`` are attributed to this test file (the user's code)."""
    assert [pathlib.Path(w.filename).resolve() for w in record] == [
        pathlib.Path(__file__).resolve()
    ] * len(record)


@pytest.mark.parametrize("through_pipeline", [False, True])
def test_convergence_warning_points_at_caller(through_pipeline):
    X, y = make_classification(n_samples=40, n_features=4, random_state=0)
    est = MLPClassifier(hidden_layer_sizes=(3,), max_iter=1, random_state=0)
    if through_pipeline:
        est = make_pipeline(StandardScaler(), est)
    with pytest.warns(ConvergenceWarning, match="Maximum iterations") as record:
        est.fit(X, y)
    _warned_here(record)


def test_batch_size_warning_points_at_caller():
    X, y = make_regression(n_samples=20, n_features=3, random_state=0)
    est = MLPRegressor(hidden_layer_sizes=(3,), batch_size=50, max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.warns(UserWarning, match="batch_size") as record:
            est.partial_fit(X, y)
    _warned_here(record)


def test_perceptron_convergence_warning_points_at_caller():
    X, y = make_classification(n_samples=40, n_features=4, random_state=0)
    with pytest.warns(ConvergenceWarning, match="Maximum number of iteration") as record:
        Perceptron(max_iter=1, tol=1e-3, random_state=0).fit(X, y)
    _warned_here(record)


def test_html_repr_links_to_sknn_api_page():
    for est in (MLPClassifier(), MLPRegressor(), Perceptron()):
        url = f"https://sknn.readthedocs.io/en/stable/generated/sknn.{type(est).__name__}.html"
        assert est._get_doc_link() == url
        assert f'href="{url}"' in est._repr_html_()
