"""scikit-learn's ``validate_data``, with errors that name the bad argument.

Several of scikit-learn's input errors come straight from NumPy ("could not
convert string to float: 'a'", "inhomogeneous shape") or say "array" without
saying which one.  sknn re-raises those naming the argument and what it expects;
messages that already name it pass through unchanged, and the exception type is
kept, so code (and scikit-learn's estimator checks) matching on the original
text still match.
"""

import re

from sklearn.utils.validation import check_array
from sklearn.utils.validation import validate_data as _validate_data

__all__ = ["validate_data"]

_EXPECTED_X = "a numeric array-like or sparse matrix of shape (n_samples, n_features)"
_EXPECTED_Y = "an array-like of shape (n_samples,) or (n_samples, n_outputs)"


def validate_data(estimator, X="no_validation", y="no_validation", *, names=("X", "y"),
                  **kwargs):
    """``sklearn.utils.validation.validate_data`` naming ``names[0]``/``names[1]`` on errors."""
    try:
        return _validate_data(estimator, X, y, **kwargs)
    except (ValueError, TypeError) as exc:
        message = str(exc)
        if type(exc) not in (ValueError, TypeError) or _names_input(message, names):
            raise
        if "inconsistent numbers of samples" in message:
            raise type(exc)(f"{names[0]} and {names[1]} must have the same number of rows; "
                            f"{message}") from exc
        if _is_bad_X(X, y, kwargs):
            raise type(exc)(f"{names[0]} must be {_EXPECTED_X}; {message}") from exc
        if _is_bad_y(y, kwargs):
            raise type(exc)(f"{names[1]} must be {_EXPECTED_Y}; {message}") from exc
        # X and y are each fine (e.g. feature names differing from fit's):
        # scikit-learn's message says what is wrong, a prefix would mislead.
        raise


def _names_input(message, names):
    return any(re.search(rf"\b{re.escape(n)}\b", message) for n in names)


def _is_bad_X(X, y, kwargs):
    """Whether X alone fails (so the error is X's)."""
    try:
        check_array(X, accept_sparse=kwargs.get("accept_sparse", False),
                    dtype=kwargs.get("dtype", "numeric"), ensure_all_finite=False)
    except (ValueError, TypeError):
        return True
    return False


def _is_bad_y(y, kwargs):
    """Whether y alone fails the conversion validate_data applies to it."""
    if isinstance(y, str) and y == "no_validation":
        return False
    try:
        check_array(y, ensure_2d=False, dtype="numeric" if kwargs.get("y_numeric") else None,
                    ensure_all_finite=False)
    except (ValueError, TypeError):
        return True
    return False
