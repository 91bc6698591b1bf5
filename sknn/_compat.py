"""Every private scikit-learn import sknn relies on, in one place.

These names are not public API; CI pins scikit-learn below the next minor
release and the suite is re-run before raising that cap.
"""

import functools

from sklearn import get_config
from sklearn.base import _fit_context
from sklearn.utils import _safe_indexing as safe_indexing
from sklearn.utils._param_validation import Interval, Options, StrOptions

# scikit-learn >= 1.7.1 (absent from 1.7.0): the floor in pyproject.toml.
from sklearn.utils.fixes import _get_additional_lbfgs_options_dict as lbfgs_options
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call as check_partial_fit_first_call,
)
from sklearn.utils.optimize import _check_optimize_result as check_optimize_result
from sklearn.utils.validation import _check_sample_weight, _is_fitted

__all__ = [
    "Interval",
    "Options",
    "StrOptions",
    "fit_context",
    "check_optimize_result",
    "check_partial_fit_first_call",
    "check_sample_weight",
    "lbfgs_options",
    "safe_indexing",
]


def fit_context(*, prefer_skip_nested_validation):
    """scikit-learn's ``_fit_context``, except that ``partial_fit`` on a fitted
    estimator re-validates the parameters too.

    scikit-learn skips that check for fitted ``partial_fit`` calls, so e.g.
    ``set_params(batch_size=0)`` or ``set_params(eta0=-1)`` between calls would
    train silently (or fail obscurely inside the engine).
    """

    def decorator(fit_method):
        inner = _fit_context(prefer_skip_nested_validation=prefer_skip_nested_validation)(
            fit_method
        )
        if fit_method.__name__ != "partial_fit":
            return inner

        @functools.wraps(fit_method)
        def wrapper(estimator, *args, **kwargs):
            if not get_config()["skip_parameter_validation"] and _is_fitted(estimator):
                estimator._validate_params()
            return inner(estimator, *args, **kwargs)

        return wrapper

    return decorator


def check_sample_weight(sample_weight, X, dtype, name="sample_weight"):
    """Validated non-negative weights in ``dtype`` (ones when None), not all zero;
    never a view the kernels could write through to the caller's array."""
    try:
        sw = _check_sample_weight(sample_weight, X, dtype=dtype, ensure_non_negative=True)
        # scikit-learn < 1.9 accepts all-zero weights (the weighted loss would divide
        # by zero); raise what 1.9 raises, whichever release is installed.
        if not sw.any():
            raise ValueError("Sample weights must contain at least one non-zero number.")
        return sw
    except ValueError as exc:
        if name != "sample_weight":
            raise ValueError(f"{name}: {exc}") from exc
        raise
