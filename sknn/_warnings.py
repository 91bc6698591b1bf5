"""The ``stacklevel`` that makes a warning point at the user's line."""

import os
import sys

import sklearn

__all__ = ["user_stacklevel"]

# Frames in these packages are skipped: sknn's own and scikit-learn's wrappers
# (``_fit_context``, meta-estimators) sit between the user and the warning.
_INTERNAL = tuple(
    os.path.dirname(os.path.abspath(module.__file__)) + os.sep
    for module in (sys.modules[__package__], sklearn)
)


def user_stacklevel():
    """``stacklevel`` for a ``warnings.warn`` call made by this function's caller,
    such that the warning is attributed to the first frame outside sknn and
    scikit-learn.

    A fixed level would depend on the call path (``fit`` or ``partial_fit``,
    through a meta-estimator or not); Python >= 3.12's ``skip_file_prefixes``
    does the same walk.
    """
    frame = sys._getframe(1)
    level = 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_INTERNAL):
        frame = frame.f_back
        level += 1
    return level
