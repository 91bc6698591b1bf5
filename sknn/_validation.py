"""scikit-learn's ``validate_data``, with errors that name the bad argument.

Several of scikit-learn's input errors come straight from NumPy ("could not
convert string to float: 'a'", "inhomogeneous shape") or say "array" without
saying which one.  sknn re-raises those naming the argument and what it expects;
messages that already name it pass through unchanged, and the exception type is
kept, so code (and scikit-learn's estimator checks) matching on the original
text still match.
"""

import re

import numpy as np
import scipy.sparse as sp
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.validation import check_array
from sklearn.utils.validation import validate_data as _validate_data

__all__ = [
    "check_class_weight",
    "check_classes",
    "check_finite_output",
    "check_loss_weights",
    "check_finite_prediction",
    "check_sparse_structure",
    "csr_prediction_input",
    "validate_data",
    "validate_prediction_input",
]

# Formats whose index arrays scipy's C++ routines (and sknn's kernels) trust
# blindly; the others are converted by scipy through checked Python code.
_INDEXED_FORMATS = ("csr", "csc", "bsr", "coo")

_FLOAT_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))

_EXPECTED_X = "a numeric array-like or sparse matrix of shape (n_samples, n_features)"
_EXPECTED_Y = "an array-like of shape (n_samples,) or (n_samples, n_outputs)"


def validate_data(estimator, X="no_validation", y="no_validation", *, names=("X", "y"),
                  **kwargs):
    """``sklearn.utils.validation.validate_data`` naming ``names[0]``/``names[1]`` on errors.

    Sparse inputs get their index structure checked first (see
    :func:`check_sparse_structure`): scipy's conversions and sknn's kernels
    index raw buffers with it.
    """
    for value, name in ((X, names[0]), (y, names[1])):
        check_sparse_structure(value, name)
    try:
        out = _validate_data(estimator, X, y, **kwargs)
    except (ValueError, TypeError) as exc:
        message = str(exc)
        if type(exc) not in (ValueError, TypeError) or _names_input(message, names):
            raise
        if "inconsistent numbers of samples" in message:
            raise type(exc)(f"{names[0]} and {names[1]} must have the same number of rows; "
                            f"{message}") from exc
        if _is_bad_X(estimator, X, y, kwargs):
            raise type(exc)(f"{names[0]} must be {_EXPECTED_X}; {message}") from exc
        if _is_bad_y(y, kwargs):
            raise type(exc)(f"{names[1]} must be {_EXPECTED_Y}; {message}") from exc
        # X and y are each fine (e.g. feature names differing from fit's):
        # scikit-learn's message says what is wrong, a prefix would mislead.
        raise
    # lil/dok/dia input arrives converted: check what the kernels will index.
    for value, converted, name in zip((X, y), out if isinstance(out, tuple) else (out,), names):
        if sp.issparse(value) and value.format not in _INDEXED_FORMATS:
            check_sparse_structure(converted, name)
    return out


def validate_prediction_input(estimator, X, check_finite=True, **kwargs):
    """``validate_data(estimator, X, reset=False, **kwargs)`` for predict, shortcut where
    the answer is known: a plain float32/float64 NumPy matrix with the fitted
    feature count, finite, for a model fitted without feature names.

    That X is returned unchanged by scikit-learn's validation too, whose general
    machinery (dataframe detection, array-API namespace, tags) costs more than a
    whole single-row prediction.  Anything else, and any X the shortcut cannot
    clear in one cheap pass, takes the full path, which also words every error.
    ``kwargs`` (``accept_sparse``, ``dtype``) are the full path's; the ones sknn
    passes all keep a float32/float64 matrix as it is.

    ``check_finite=False``: the shortcut does not read X's values (a caller whose
    kernel finds non-finite inputs itself, then calls :func:`check_finite_prediction`
    on its output); the full path still checks them.
    """
    if (type(X) is np.ndarray and X.ndim == 2 and X.dtype in _FLOAT_DTYPES
            and X.shape[0] > 0 and X.shape[1] == getattr(estimator, "n_features_in_", None)
            and "feature_names_in_" not in estimator.__dict__
            # one pass: a sum is finite only if every term is (overflow goes the long way)
            and (not check_finite or np.isfinite(np.add.reduce(X, axis=None)))):
        return X
    return validate_data(estimator, X, reset=False, **kwargs)


def csr_prediction_input(estimator, X, dtype):
    """The sparse twin of :func:`validate_prediction_input`'s shortcut: ``X`` if it is
    a CSR matrix (or array) a prediction kernel can take as it is, else None.

    That is: CSR of ``dtype`` (float32 or float64) with the fitted feature count
    and at least one row, for a model fitted without feature names, every stored
    value inside the matrix (``indptr[-1] == len(data)``) and its index structure
    valid (a corrupted one raises here, :func:`check_sparse_structure`, before any
    kernel sees it). Its values are not read: a NaN or infinity among them makes
    its row's outputs non-finite, so the caller checks the output with
    :func:`check_finite_prediction` instead of scikit-learn's extra pass over
    ``data``. None: the caller takes :func:`validate_prediction_input`.
    """
    if not (type(X) in (sp.csr_matrix, sp.csr_array) and len(X.shape) == 2
            and X.dtype == dtype and X.dtype in _FLOAT_DTYPES and X.shape[0] > 0
            and X.shape[1] == getattr(estimator, "n_features_in_", None)
            and "feature_names_in_" not in estimator.__dict__):
        return None
    check_sparse_structure(X, "X")
    return X if X.indptr[-1] == X.data.shape[0] else None


def check_finite_prediction(estimator, X, out, **kwargs):
    """:func:`check_finite_output` for ``out`` computed from :func:`csr_prediction_input`'s
    ``X``: a non-finite output first takes ``X`` through the full validation
    (``kwargs`` as for :func:`validate_prediction_input`), which names a NaN or
    infinity in ``X`` as scikit-learn does; what it lets pass overflowed.
    """
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf: the answer, not news
        if np.isfinite(np.add.reduce(out, axis=None)):  # one pass: every term is finite
            return
    validate_prediction_input(estimator, X, **kwargs)
    check_finite_output(out, "X", out.dtype)


def _names_input(message, names):
    return any(re.search(rf"\b{re.escape(n)}\b", message) for n in names)


def _is_bad_X(estimator, X, y, kwargs):
    """Whether X alone fails (so the error is X's); else it came from y.

    X is checked with the same rules the full call applied to it (sparse and
    index formats, dtype, finiteness) and, when not resetting, against the
    fitted feature count.
    """
    try:
        X = check_array(X, accept_sparse=kwargs.get("accept_sparse", False),
                        accept_large_sparse=kwargs.get("accept_large_sparse", True),
                        dtype=kwargs.get("dtype", "numeric"),
                        ensure_all_finite=kwargs.get("ensure_all_finite", True))
    except (ValueError, TypeError):
        return True
    n_fitted = getattr(estimator, "n_features_in_", None)
    return not kwargs.get("reset", True) and n_fitted is not None and X.shape[1] != n_fitted


def check_sparse_structure(A, name):
    """Raise ValueError unless sparse ``A``'s index arrays describe a valid matrix.

    scipy trusts ``indices`` / ``indptr`` / ``coords`` once a matrix exists, and
    so do sknn's CSR kernels: an index edited after construction (``X.indices[0]
    = 10**6``) would be read or written out of bounds. Checks, in O(nnz) without
    copying ``data``: integer 1-D index arrays, ``indptr`` of length
    ``n_major + 1`` rising from 0 to at most the length of ``indices`` (which
    equals that of ``data``), and every index inside the shape. Non-sparse
    ``A`` passes unchecked.
    """
    if not sp.issparse(A):
        return
    problem = _sparse_structure_problem(A)
    if problem is not None:
        raise ValueError(
            f"{name} is a corrupted {A.format.upper()} sparse matrix of shape {A.shape}: "
            f"{problem}. Rebuild it from valid arrays (scipy's check_format(full_check=True) "
            "reports the same)."
        )


def _sparse_structure_problem(A):
    """What is wrong with ``A``'s index arrays, or None."""
    fmt = A.format
    if fmt not in _INDEXED_FORMATS:
        return None
    data = np.asarray(A.data)
    if fmt == "coo":
        coords = A.coords if hasattr(A, "coords") else (A.row, A.col)
        for axis, (idx, size) in enumerate(zip(coords, A.shape)):
            idx = np.asarray(idx)
            if idx.ndim != 1 or idx.dtype.kind not in "iu":
                return f"coordinate array {axis} must be 1-D integers, got {idx.dtype} {idx.shape}"
            if idx.shape[0] != data.shape[0]:
                return (f"coordinate array {axis} has {idx.shape[0]} entries but data has "
                        f"{data.shape[0]}")
            if idx.size and (idx.min() < 0 or idx.max() >= size):
                return (f"coordinate array {axis} has values in [{idx.min()}, {idx.max()}], "
                        f"outside [0, {size})")
        return None
    n_major, n_minor = A.shape if fmt != "csc" else A.shape[::-1]
    if fmt == "bsr":
        rows, cols = A.blocksize
        n_major, n_minor = n_major // rows, n_minor // cols
    indptr, indices = np.asarray(A.indptr), np.asarray(A.indices)
    for what, arr in (("indptr", indptr), ("indices", indices)):
        if arr.ndim != 1 or arr.dtype.kind not in "iu":
            return f"{what} must be a 1-D integer array, got {arr.dtype} of shape {arr.shape}"
    if indptr.shape[0] != n_major + 1:
        return f"indptr has {indptr.shape[0]} entries, expected {n_major + 1}"
    if indices.shape[0] != data.shape[0]:
        return f"indices has {indices.shape[0]} entries but data has {data.shape[0]}"
    if indptr[0] != 0:
        return f"indptr must start at 0, got {indptr[0]}"
    if n_major and np.any(indptr[1:] < indptr[:-1]):
        return "indptr must be non-decreasing"
    nnz = int(indptr[-1])
    if nnz > indices.shape[0]:
        return f"indptr ends at {nnz} but indices has only {indices.shape[0]} entries"
    # One pass over the (largest) index array: viewed as unsigned, a negative
    # index is above every valid one, so the maximum alone bounds both ends.
    if nnz and indices[:nnz].view(indices.dtype.str.replace("i", "u")).max() >= n_minor:
        lo, hi = indices[:nnz].min(), indices[:nnz].max()
        return f"indices has values in [{lo}, {hi}], outside [0, {n_minor})"
    return None


def check_finite_output(out, name, dtype):
    """Raise ValueError if a model's output for ``name`` holds inf or NaN.

    Finite inputs can still overflow through the weights (float32 overflows
    above 3.4e38); a NaN or inf is never returned as a prediction.
    """
    if np.isfinite(np.add.reduce(out, axis=None)):  # one pass: every term is finite
        return
    finite = np.isfinite(out)
    if finite.all():  # the sum overflowed
        return
    bad = np.flatnonzero(~finite.reshape(finite.shape[0], -1).all(axis=1))
    raise ValueError(
        f"The model's output is not finite for {bad.size} of {finite.shape[0]} rows of "
        f"{name} (first: row {bad[0]}): those inputs overflow {np.dtype(dtype).name} "
        f"arithmetic through the fitted weights. Scale {name} as the training data was "
        "scaled (e.g. StandardScaler)"
        + (", or fit on float64 X for a wider range." if np.dtype(dtype) == np.float32 else ".")
    )


def check_classes(classes):
    """partial_fit's ``classes`` as scikit-learn reads it: its sorted distinct labels.

    Order and repetitions do not matter (``[1, 0, 0]`` is ``[0, 1]``), so the same
    classes given again in another order are accepted; it must be 1-D and free of
    NaN / infinity (a NaN class would be predicted as a label).
    """
    arr = np.asarray(classes)
    if arr.ndim != 1:
        raise ValueError(
            f"classes must be a 1-D array-like of class labels; got shape {arr.shape}."
        )
    if arr.dtype.kind in "fc":
        bad = not np.isfinite(arr).all()
    else:
        bad = arr.dtype.kind == "O" and any(
            isinstance(v, (float, np.floating)) and not np.isfinite(v) for v in arr.tolist()
        )
    if bad:
        raise ValueError(f"classes must not contain NaN or infinity; got {classes!r}.")
    try:
        return np.unique(arr)
    except TypeError as exc:
        raise TypeError(f"classes must be labels of one comparable type; {exc}") from exc


def check_class_weight(class_weight, classes, y):
    """Per-class weights (in the order of ``classes``) for ``class_weight``.

    A dict must name known classes with finite, non-negative weights, the rule
    ``sample_weight`` follows; 'balanced' and None are scikit-learn's.
    """
    if isinstance(class_weight, dict):
        known = set(np.asarray(classes).tolist())
        unknown = [c for c in class_weight if c not in known]
        if unknown:
            raise ValueError(
                f"class_weight names classes not in y: {unknown}; the classes are "
                f"{list(classes)}."
            )
        bad = {c: w for c, w in class_weight.items()
               if not (np.isreal(w) and np.isfinite(w) and w >= 0)}
        if bad:
            raise ValueError(
                f"class_weight values must be finite and non-negative (as sample_weight); "
                f"got {bad}."
            )
    return compute_class_weight(class_weight, classes=classes, y=y)


def check_loss_weights(sw, dtype):
    """Refuse training weights (sample_weight times class_weight) the loss cannot sum.

    The kernels divide each batch's weighted loss by its weight sum; a sum that
    overflows ``dtype`` makes the loss NaN, which would read as divergence.
    """
    total = float(np.sum(sw, dtype=np.float64))
    if not total <= np.finfo(dtype).max:
        raise ValueError(
            f"sample_weight (times class_weight) sums to {total:.3g}, beyond the "
            f"{np.dtype(dtype).name} range of the loss; rescale the weights (only their "
            "ratios matter, with alpha in the same units)."
        )
    if not total > 0:
        raise ValueError(
            "sample_weight times class_weight must have at least one non-zero weight."
        )


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
