"""Pickle support: record the sknn version in the pickled state, warn on mismatch.

scikit-learn's ``BaseEstimator`` stores ``_sklearn_version`` in ``__getstate__``
only for classes defined in ``sklearn.*`` modules; sknn follows the same
pattern for its own version so a model pickled by one sknn release and loaded by
another warns instead of failing silently (or predicting wrongly).
"""

import warnings

from sklearn.exceptions import InconsistentVersionWarning as _SklearnInconsistentVersionWarning

__all__ = ["InconsistentVersionWarning", "VersionedStateMixin"]


class InconsistentVersionWarning(_SklearnInconsistentVersionWarning):
    """Warning raised when an sknn estimator is unpickled with another sknn version.

    A subclass of :class:`sklearn.exceptions.InconsistentVersionWarning`, so a
    filter on scikit-learn's warning covers sknn's too.

    Parameters
    ----------
    estimator_name : str
        Name of the unpickled estimator's class.
    current_sknn_version : str
        The sknn version loading the model.
    original_sknn_version : str
        The sknn version that pickled it (``"unknown"`` for pickles that predate
        the version record).
    """

    def __init__(self, *, estimator_name, current_sknn_version, original_sknn_version):
        self.estimator_name = estimator_name
        self.current_sknn_version = current_sknn_version
        self.original_sknn_version = original_sknn_version
        # scikit-learn's attribute names, for code that inspects them
        self.current_sklearn_version = current_sknn_version
        self.original_sklearn_version = original_sknn_version

    def __str__(self):
        return (
            f"Trying to unpickle estimator {self.estimator_name} from sknn version "
            f"{self.original_sknn_version} when using version {self.current_sknn_version}. "
            "This might lead to breaking code or invalid results. Use at your own risk. "
            "Refit the model, or load it with the sknn version that saved it."
        )


def _current_version():
    from . import __version__  # late: sknn/__init__ defines it after the imports

    return __version__


class VersionedStateMixin:
    """Adds ``_sknn_version`` to the pickled state and checks it on load.

    Put it before ``BaseEstimator`` in the bases; it defers to the next
    ``__getstate__`` / ``__setstate__`` in the MRO (scikit-learn's).
    """

    def __getstate__(self):
        state = super().__getstate__()
        if type(self).__module__.startswith("sknn."):
            state = dict(state)
            state["_sknn_version"] = _current_version()
        return state

    def __setstate__(self, state):
        if type(self).__module__.startswith("sknn."):
            state = dict(state)
            original = state.pop("_sknn_version", "unknown")
            current = _current_version()
            if original != current:
                warnings.warn(
                    InconsistentVersionWarning(
                        estimator_name=type(self).__name__,
                        current_sknn_version=current,
                        original_sknn_version=original,
                    ),
                    stacklevel=2,
                )
        super().__setstate__(state)
