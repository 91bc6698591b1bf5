"""Every private scikit-learn import sknn relies on, in one place.

These names are not public API; CI pins scikit-learn below the next minor
release and the suite is re-run before raising that cap.
"""

from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.fixes import _get_additional_lbfgs_options_dict as lbfgs_options
from sklearn.utils.optimize import _check_optimize_result as check_optimize_result
from sklearn.utils.validation import _check_sample_weight

__all__ = [
    "Interval",
    "Options",
    "StrOptions",
    "_fit_context",
    "check_optimize_result",
    "check_sample_weight",
    "lbfgs_options",
]


def check_sample_weight(sample_weight, X, dtype, name="sample_weight"):
    """Validated non-negative weights in ``dtype`` (ones when None); never a view
    the kernels could write through to the caller's array."""
    try:
        return _check_sample_weight(sample_weight, X, dtype=dtype, ensure_non_negative=True)
    except ValueError as exc:
        if name != "sample_weight":
            raise ValueError(f"{name}: {exc}") from exc
        raise
