"""Perceptron: scikit-learn's linear perceptron on sknn's kernels, plus multilabel TLU layers."""

import copy
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedShuffleSplit
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted

from ._compat import Interval, StrOptions, check_sample_weight, fit_context
from ._doc_link import DocLinkMixin
from ._kernels import perceptron as _k
from ._kernels.sparse import csr_dot_add
from ._persistence import VersionedStateMixin
from ._transaction import fit_transaction
from ._validation import (
    check_class_weight,
    check_classes,
    check_finite_output,
    check_finite_prediction,
    csr_prediction_input,
    validate_data,
    validate_prediction_input,
)
from ._warnings import user_stacklevel

__all__ = ["Perceptron"]

_PENALTIES = {
    None: _k.PENALTY_NONE,
    "l1": _k.PENALTY_L1,
    "l2": _k.PENALTY_L2,
    "elasticnet": _k.PENALTY_ELASTICNET,
}
_MAX_INT = np.iinfo(np.int32).max
# WeightVector's renormalisation thresholds in scikit-learn (float64, float32).
_WSCALE_MIN = {np.dtype(np.float64): 1e-9, np.dtype(np.float32): 1e-6}


def _csr_arrays(X):
    """CSR ``X``'s (data, indices, indptr) as the kernels take them, or None when its
    stored values or columns are too many for their 32-bit indices.

    Unsigned indices: numba then skips its negative-index wraparound code. The
    values were checked to lie in range (``check_sparse_structure``), so the int32
    cast (from int64 indices) is exact.
    """
    if max(X.nnz, X.shape[1]) > _MAX_INT:
        return None
    return (
        X.data,
        np.asarray(X.indices, dtype=np.int32).view(np.uint32),
        np.asarray(X.indptr, dtype=np.int32).view(np.uint32),
    )


class Perceptron(DocLinkMixin, VersionedStateMixin, ClassifierMixin, BaseEstimator):
    """Linear perceptron classifier: a layer of threshold logic units on Numba.

    A drop-in replacement for :class:`sklearn.linear_model.Perceptron` (the same
    parameters, defaults, attributes and results: with the same ``random_state``
    the samples are visited in scikit-learn's order, so dense float64 fits give
    scikit-learn's coefficients). Binary targets train one threshold logic unit
    (TLU), multiclass targets one unit per class, one-vs-rest. Beyond scikit-learn,
    ``y`` may be a multilabel indicator matrix: one TLU per label, each trained
    with the perceptron learning rule ``w_ij += eta0 * (y_j - yhat_j) * x_i`` (a
    sample exactly on a unit's boundary counts as a mistake, as in scikit-learn).
    One pass over the data updates every unit of the layer.

    A single layer of TLUs only separates classes by hyperplanes: XOR, for
    instance, cannot be learned; use :class:`sknn.MLPClassifier` for that.

    Parameters
    ----------
    penalty : {'l2', 'l1', 'elasticnet'}, default=None
        The penalty (aka regularization term) to be used.

    alpha : float, default=0.0001
        Constant that multiplies the regularization term if regularization is used.

    l1_ratio : float, default=0.15
        The Elastic Net mixing parameter, with ``0 <= l1_ratio <= 1``.
        ``l1_ratio=0`` corresponds to L2 penalty, ``l1_ratio=1`` to L1.
        Only used if ``penalty='elasticnet'``.

    fit_intercept : bool, default=True
        Whether the intercept should be estimated or not. If False, the data is
        assumed to be already centered.

    max_iter : int, default=1000
        The maximum number of passes over the training data (aka epochs). It only
        impacts the behavior in the ``fit`` method, and not the ``partial_fit``
        method.

    tol : float or None, default=1e-3
        The stopping criterion. If it is not None, the iterations of a unit stop
        when (loss > previous_loss - tol) for ``n_iter_no_change`` consecutive
        epochs. Without a penalty a unit also stops after an epoch with no mistake
        (its weights cannot change any more).

    shuffle : bool, default=True
        Whether or not the training data should be shuffled after each epoch.

    verbose : int, default=0
        The verbosity level.

    eta0 : float, default=1
        Constant by which the updates are multiplied.

    n_jobs : int, default=None
        Accepted for compatibility with scikit-learn; all units of the layer are
        trained in a single serial pass over the data, so it has no effect.

    random_state : int, RandomState instance or None, default=0
        Used to shuffle the training data, when ``shuffle`` is set to ``True``, and
        for the early-stopping split. The draws are scikit-learn's, so an int gives
        scikit-learn's sample order. Pass an int for reproducible output across
        multiple function calls.

    early_stopping : bool, default=False
        Whether to use early stopping to terminate training when validation score
        is not improving. If set to True, it will automatically set aside a
        stratified fraction of training data as validation and terminate training
        when validation score is not improving by at least ``tol`` for
        ``n_iter_no_change`` consecutive epochs.

    validation_fraction : float, default=0.1
        The proportion of training data to set aside as validation set for early
        stopping. Must be between 0 and 1. Only used if early_stopping is True.

    n_iter_no_change : int, default=5
        Number of iterations with no improvement to wait before early stopping.

    class_weight : dict, {class_label: weight} or "balanced", default=None
        Preset for the class_weight fit parameter. Weights associated with classes.
        If not given, all classes are supposed to have weight one. The "balanced"
        mode uses the values of y to automatically adjust weights inversely
        proportional to class frequencies in the input data as
        ``n_samples / (n_classes * np.bincount(y))``. Not supported for multilabel
        ``y`` (use ``sample_weight``).

    warm_start : bool, default=False
        When set to True, reuse the solution of the previous call to fit as
        initialization, otherwise, just erase the previous solution.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The unique classes labels; ``arange(n_labels)`` for multilabel ``y``.

    coef_ : ndarray of shape (1, n_features) if n_classes == 2 else \
            (n_classes, n_features)
        Weights assigned to the features (one row per threshold logic unit).

    intercept_ : ndarray of shape (1,) if n_classes == 2 else (n_classes,)
        Constants in decision function.

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`. Defined only when `X` has
        feature names that are all strings.

    n_iter_ : int
        The actual number of iterations to reach the stopping criterion. For
        multiclass and multilabel fits, it is the maximum over every unit.

    t_ : float
        Number of weight updates performed during training, counted as
        scikit-learn counts them: ``(n_iter_ * n_samples) + 1``.

    See Also
    --------
    sklearn.linear_model.Perceptron : The scikit-learn estimator this replaces.
    sknn.MLPClassifier : Multi-layer perceptron, for problems that are not linearly
        separable.

    Notes
    -----
    The updates are online, one sample at a time, so integer sample weights are
    not equivalent to repeated rows (the same holds for scikit-learn's
    Perceptron). Sparse (CSR) input is never densified and trains exactly the
    model dense input trains: unlike scikit-learn, sknn does not damp the
    intercept updates of sparse input.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_iris
    >>> from sknn import Perceptron
    >>> iris = load_iris()
    >>> X = iris.data[:, (2, 3)]
    >>> y = iris.target == 0
    >>> clf = Perceptron(random_state=42).fit(X, y)
    >>> clf.predict([[2, 0.5], [3, 1]])
    array([ True, False])
    """

    _parameter_constraints: dict = {
        "penalty": [StrOptions({"l2", "l1", "elasticnet"}), None],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "fit_intercept": ["boolean"],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "shuffle": ["boolean"],
        "verbose": ["verbose"],
        "eta0": [Interval(Real, 0, None, closed="neither")],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "warm_start": ["boolean"],
    }

    def __init__(
        self,
        *,
        penalty=None,
        alpha=0.0001,
        l1_ratio=0.15,
        fit_intercept=True,
        max_iter=1000,
        tol=1e-3,
        shuffle=True,
        verbose=0,
        eta0=1.0,
        n_jobs=None,
        random_state=0,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        class_weight=None,
        warm_start=False,
    ):
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.shuffle = shuffle
        self.verbose = verbose
        self.eta0 = eta0
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.class_weight = class_weight
        self.warm_start = warm_start

    # ------------------------------------------------------------------ fitting
    @fit_transaction
    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None):
        """Fit the perceptron with the online perceptron learning rule.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. Sparse input is used as CSR, never densified.

        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Target values: class labels, or a multilabel indicator matrix (one
            threshold logic unit per label).

        coef_init : ndarray of shape (n_units, n_features), default=None
            The initial coefficients to warm-start the optimization (one row per
            unit: 1 for binary targets, else one per class or label).

        intercept_init : ndarray of shape (n_units,), default=None
            The initial intercept to warm-start the optimization.

        sample_weight : array-like of shape (n_samples,), default=None
            Weights applied to individual samples. If not provided, uniform weights
            are assumed. These weights are multiplied with ``class_weight``.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        warm = self.warm_start and hasattr(self, "coef_")
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse="csr",
            dtype=[np.float64, np.float32],
            order="C",
            multi_output=True,
            reset=True,
        )
        y, kind, classes, Ysign = self._encode_targets(y, classes=None, later=False)
        if warm:
            if coef_init is None:
                coef_init = self.coef_
            if intercept_init is None:
                intercept_init = self.intercept_
        return self._fit_layer(
            X, y, kind, classes, Ysign, sample_weight, coef_init, intercept_init,
            max_iter=self.max_iter, incremental=False, warn_convergence=True,
        )  # fmt: skip

    @fit_transaction
    @fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Perform one epoch of the perceptron rule on the given samples.

        Internally this runs ``max_iter = 1`` with no convergence test; matters
        such as convergence and early stopping are left to the caller.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Subset of the training data.

        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Subset of the target values (labels or a multilabel indicator matrix).

        classes : ndarray of shape (n_classes,), default=None
            Classes across all calls to partial_fit, e.g. ``np.unique(y_all)``;
            for multilabel ``y``, one entry per label (e.g.
            ``np.arange(n_labels)``). Required on the first call, optional later
            (it must then equal ``classes_``). ``y`` need not contain every class.

        sample_weight : array-like of shape (n_samples,), default=None
            Weights applied to individual samples. If not provided, uniform weights
            are assumed.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        first = not hasattr(self, "classes_")
        if classes is not None:
            classes = check_classes(classes)
        if first:
            if self.early_stopping:
                raise ValueError("early_stopping should be False with partial_fit")
            if self.class_weight == "balanced":
                raise ValueError(
                    "class_weight 'balanced' is not supported for partial_fit. In order "
                    "to use 'balanced' weights, use compute_class_weight('balanced', "
                    "classes=classes, y=y) on a large enough sample of the full training "
                    "set and pass the result as the class_weight parameter."
                )
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
        elif classes is not None and not np.array_equal(classes, self.classes_) and not (
            self._kind == "multilabel" and len(classes) == len(self.classes_)
        ):
            raise ValueError(
                f"`classes={classes!r}` is not the same as on last call to partial_fit, "
                f"was: {self.classes_!r}"
            )
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse="csr",
            dtype=[np.float64, np.float32],
            order="C",
            multi_output=True,
            reset=first,
        )
        if not first:
            X = X.astype(self.coef_.dtype, copy=False)
        y, kind, classes_, Ysign = self._encode_targets(
            y, classes=classes if first else None, later=not first
        )
        return self._fit_layer(
            X, y, kind, classes_, Ysign, sample_weight, None, None,
            max_iter=1, incremental=not first, warn_convergence=False,
        )  # fmt: skip

    # --------------------------------------------------------------- internals
    def _encode_targets(self, y, classes, later):
        """Validate ``y``; return (y, kind, classes_, +-1 matrix of shape (n, n_units)).

        ``classes`` is given on partial_fit's first call; on later partial_fit calls
        (``later``) ``y`` is checked against the fitted ``classes_``.
        """
        incremental_later = later
        y = np.asarray(y) if not sp.issparse(y) else y
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        target = type_of_target(y)
        if target == "multilabel-indicator":
            y = y.toarray() if sp.issparse(y) else np.asarray(y)
            n_labels = y.shape[1]
            if incremental_later:
                if self._kind != "multilabel" or n_labels != len(self.classes_):
                    raise ValueError(
                        f"y has {n_labels} labels but the model was fitted on "
                        f"{self._describe_targets()}."
                    )
            elif classes is not None and len(classes) != n_labels:
                raise ValueError(
                    f"classes has {len(classes)} entries but the multilabel y has "
                    f"{n_labels} labels; pass one entry per label, e.g. np.arange({n_labels})."
                )
            Ysign = np.where(y > 0, 1, -1).astype(np.int8)
            return y, "multilabel", np.arange(n_labels), np.ascontiguousarray(Ysign)
        if y.ndim != 1:
            raise ValueError(
                f"y must be 1-D labels or a multilabel indicator matrix; got {target!r}."
            )
        if incremental_later:
            if self._kind == "multilabel":
                raise ValueError(
                    f"y holds class labels but the model was fitted on {self._describe_targets()}."
                )
            classes_ = self.classes_
        elif classes is not None:
            classes_ = classes
        else:
            classes_ = np.unique(y)
        unknown = np.setdiff1d(np.unique(y), classes_)
        if len(unknown):
            raise ValueError(
                f"`y` has classes not in `classes`: {unknown!r}; the classes are {classes_!r}."
            )
        if len(classes_) < 2:
            raise ValueError(
                "The number of classes has to be greater than one; got "
                f"{len(classes_)} class"
            )
        codes = np.searchsorted(classes_, y)
        if len(classes_) == 2:
            Ysign = np.where(codes == 1, 1, -1).astype(np.int8)[:, None]
            kind = "binary"
        else:
            Ysign = np.full((len(y), len(classes_)), -1, dtype=np.int8)
            Ysign[np.arange(len(y)), codes] = 1
            kind = "multiclass"
        return y, kind, classes_, Ysign

    def _describe_targets(self):
        if self._kind == "multilabel":
            return f"a multilabel indicator matrix with {len(self.classes_)} labels"
        return f"the classes {self.classes_!r}"

    def _unit_weights(self, kind, y, classes_, incremental):
        """Per-unit (positive, negative) class weights, as scikit-learn's OvR sets them."""
        n_units = 1 if kind == "binary" else len(classes_)
        pos = np.ones(n_units)
        neg = np.ones(n_units)
        if self.class_weight is None:
            return pos, neg
        if kind == "multilabel":
            raise ValueError(
                "class_weight is not supported for multilabel y; use sample_weight."
            )
        cw = check_class_weight(self.class_weight, classes_, y)
        if kind == "binary":
            pos[0], neg[0] = cw[1], cw[0]
        else:
            pos[:] = cw
        return pos, neg

    def _validation_mask(self, y, sample_mask, random_state):
        """scikit-learn's stratified early-stopping split (True = validation row)."""
        n_samples = y.shape[0]
        mask = np.zeros(n_samples, dtype=np.bool_)
        cv = StratifiedShuffleSplit(
            test_size=self.validation_fraction, random_state=random_state
        )
        idx_train, idx_val = next(cv.split(np.zeros((n_samples, 1)), y))
        if not np.any(sample_mask[idx_val]):
            raise ValueError(
                "The sample weights for validation set are all zero, consider using a"
                " different random state."
            )
        if idx_train.shape[0] == 0 or idx_val.shape[0] == 0:
            raise ValueError(
                f"Splitting {n_samples} samples into a train set and a validation set "
                f"with validation_fraction={self.validation_fraction!r} led to an empty "
                f"set ({idx_train.shape[0]} and {idx_val.shape[0]} samples). Please "
                "either change validation_fraction, increase number of samples, or "
                "disable early_stopping."
            )
        mask[idx_val] = True
        return mask

    def _binary_draws(self, random_state, y_split, sample_mask):
        """The RandomState draws of scikit-learn's ``fit_binary``, in its order."""
        rs = check_random_state(random_state)
        rs.randint(1, _MAX_INT)  # make_dataset's (unused) sampling seed
        mask = None
        if y_split is not None:
            mask = self._validation_mask(y_split, sample_mask, random_state)
        return int(rs.randint(_MAX_INT)), mask

    def _draw_orders(self, kind, y, Ysign, sample_mask, early_stopping):
        """Shuffle seeds and validation masks: (seeds (n_perm,), masks (n_masks, n))."""
        n = Ysign.shape[0]
        n_units = Ysign.shape[1]
        if kind == "binary":
            seed, mask = self._binary_draws(
                self.random_state, Ysign[:, 0] if early_stopping else None, sample_mask
            )
            seeds, masks = [seed], [mask]
        elif kind == "multiclass":
            masks = [None]
            if early_stopping:
                masks = [self._validation_mask(y, sample_mask, self.random_state)]
            rs = check_random_state(self.random_state)
            class_seeds = rs.randint(_MAX_INT, size=n_units)
            seeds = [self._binary_draws(int(s), None, None)[0] for s in class_seeds]
        else:  # multilabel: what OneVsRestClassifier does with clones of one Perceptron
            seeds, masks = [], []
            for j in range(n_units):
                rs = self.random_state
                if isinstance(rs, np.random.RandomState):
                    rs = copy.deepcopy(rs)
                seed, mask = self._binary_draws(
                    rs, Ysign[:, j] if early_stopping else None, sample_mask
                )
                seeds.append(seed)
                masks.append(mask)
        if all(s == seeds[0] for s in seeds):
            seeds = seeds[:1]
        seeds = np.asarray(seeds, dtype=np.int64)
        if masks[0] is None:
            val_mask = np.zeros((1, n), dtype=np.bool_)
        else:
            val_mask = np.ascontiguousarray(np.vstack(masks))
            if all(np.array_equal(m, val_mask[0]) for m in val_mask[1:]):
                val_mask = val_mask[:1]
        return seeds, val_mask

    def _init_params(self, n_units, n_features, dtype, coef_init, intercept_init, kind,
                     names=("coef_init", "intercept_init")):
        if coef_init is not None:
            W = np.array(coef_init, dtype=dtype, order="C", copy=True)
            if kind == "binary":
                W = W.reshape(1, -1) if W.size == n_features else W
            if W.shape != (n_units, n_features):
                raise ValueError(
                    f"{names[0]} has shape {np.shape(coef_init)}; expected "
                    f"{(n_features,) if kind == 'binary' else (n_units, n_features)} "
                    f"(n_units={n_units}, n_features={n_features})."
                )
            if not np.all(np.isfinite(W)):
                raise ValueError(f"{names[0]} contains NaN or infinity.")
        else:
            W = np.zeros((n_units, n_features), dtype=dtype)
        if intercept_init is not None:
            b = np.array(intercept_init, dtype=np.float64, copy=True).reshape(-1)
            if b.shape != (n_units,):
                raise ValueError(
                    f"{names[1]} has shape {np.shape(intercept_init)}; expected "
                    f"({n_units},)."
                )
            if not np.all(np.isfinite(b)):
                raise ValueError(f"{names[1]} contains NaN or infinity.")
        else:
            b = np.zeros(n_units, dtype=np.float64)
        return W, b

    def _fit_layer(
        self, X, y, kind, classes_, Ysign, sample_weight, coef_init, intercept_init,
        *, max_iter, incremental, warn_convergence,
    ):  # fmt: skip
        n_samples, n_features = X.shape
        n_units = Ysign.shape[1]
        dtype = X.dtype if not incremental else self.coef_.dtype
        if incremental:
            if kind != self._kind:
                raise ValueError(
                    f"y is {kind} but the model was fitted on {self._describe_targets()}."
                )
        sw = check_sample_weight(sample_weight, X, dtype=dtype)
        pos_w, neg_w = self._unit_weights(kind, y, classes_, incremental)
        if incremental:
            # The kernel indexes coef_ by unit and feature unchecked: a coef_ or
            # intercept_ assigned with another shape must fail here.
            W, b = self._init_params(n_units, n_features, dtype, self.coef_, self.intercept_,
                                     kind, names=("coef_", "intercept_"))
            t = float(self.t_)
        else:
            W, b = self._init_params(n_units, n_features, dtype, coef_init, intercept_init, kind)
            t = 1.0
        early_stopping = self.early_stopping
        seeds, val_mask = self._draw_orders(kind, y, Ysign, sw > 0, early_stopping)
        W, b, n_iter = self._train(
            X, Ysign, sw, pos_w, neg_w, W, b, seeds, val_mask, max_iter,
            early_stopping=early_stopping,
        )  # fmt: skip
        t += n_iter * n_samples
        if warn_convergence and self.tol is not None and n_iter == max_iter:
            warnings.warn(
                "Maximum number of iteration reached before convergence. Consider "
                "increasing max_iter to improve the fit.",
                ConvergenceWarning,
                stacklevel=user_stacklevel(),
            )
        # Everything validated and trained: publish the fitted state.
        self.classes_ = classes_
        self._kind = kind
        self._label_dtype = y.dtype
        self.coef_ = W
        self.intercept_ = b.astype(dtype)
        self.n_iter_ = int(n_iter)
        self.t_ = t
        return self

    def _train(
        self, X, Ysign, sw, pos_w, neg_w, W, b, seeds, val_mask, max_iter, *,
        early_stopping,
    ):  # fmt: skip
        n_samples = X.shape[0]
        n_units, n_features = W.shape
        dtype = W.dtype
        penalty = _PENALTIES[self.penalty]
        wscale = np.ones(n_units)
        Wd = W.astype(np.float64)
        sq_norm = np.einsum("ij,ij->i", Wd, Wd)
        l1_norm = np.abs(Wd).sum(axis=1)
        l1 = penalty in (_k.PENALTY_L1, _k.PENALTY_ELASTICNET)
        Q = np.zeros((n_units, n_features) if l1 else (0, 0), dtype=dtype)
        ucum = np.zeros(n_units)
        perm = np.tile(np.arange(n_samples, dtype=np.uintp), (seeds.shape[0], 1))
        active = np.ones(n_units, dtype=np.bool_)
        objective = np.zeros(n_units)
        sumloss = np.zeros(n_units)
        mistakes = np.zeros(n_units, dtype=np.int64)
        n_iter_units = np.zeros(n_units, dtype=np.int64)
        best_objective = np.full(n_units, np.inf)
        best_score = np.full(n_units, -np.inf)
        no_improvement = np.zeros(n_units, dtype=np.int64)
        train_count = n_samples - val_mask.sum(axis=1)
        if train_count.shape[0] == 1:
            train_count = np.broadcast_to(train_count, (n_units,))
        track_objective = bool(self.verbose) or not early_stopping
        tol = self.tol
        if sp.issparse(X):
            kernel = _k.epoch_csr
            Xargs = _csr_arrays(X)
            if Xargs is None:
                raise ValueError(
                    f"X has {X.nnz} stored values and {n_features} columns; the Perceptron's "
                    f"sparse kernel indexes at most {_MAX_INT} of either."
                )
        else:
            kernel = _k.epoch_dense
            Xargs = (X,)
        if early_stopping:
            val_sets = []
            for m in val_mask:
                val_sets.append((X[m], Ysign[m], sw[m]))
        args_tail = (
            penalty, float(self.alpha), float(self.l1_ratio), float(self.eta0),
            bool(self.fit_intercept), track_objective, _WSCALE_MIN[np.dtype(dtype)],
            objective, sumloss, mistakes,
        )  # fmt: skip
        for epoch in range(max_iter):
            if self.verbose > 0:
                print(f"-- Epoch {epoch + 1}")
            kernel(
                W, b, wscale, sq_norm, l1_norm, Q, ucum, *Xargs, Ysign, sw, pos_w, neg_w,
                perm, seeds, bool(self.shuffle), val_mask, active, *args_tail,
            )  # fmt: skip
            n_iter_units[active] = epoch + 1
            if not (np.all(np.isfinite(b)) and np.all(np.isfinite(W))):
                raise ValueError(
                    f"Floating-point under-/overflow occurred at epoch #{epoch + 1}. "
                    "Scaling input data with StandardScaler or MinMaxScaler might help."
                )
            if early_stopping:
                scores = self._validation_scores(val_sets, W, b, n_units)
            for u in np.flatnonzero(active):
                if self.verbose > 0:
                    print(
                        f"Unit {u}: Norm: {np.sqrt(sq_norm[u]):.2f}, NNZs: "
                        f"{np.count_nonzero(W[u])}, Bias: {b[u]:.6f}, Avg. loss: "
                        f"{sumloss[u] / train_count[u]:f}, Mistakes: {mistakes[u]}"
                    )
                if early_stopping:
                    score = scores[u]
                    if tol is not None and score < best_score[u] + tol:
                        no_improvement[u] += 1
                    else:
                        no_improvement[u] = 0
                    best_score[u] = max(best_score[u], score)
                else:
                    obj = objective[u] / train_count[u]
                    if tol is not None and obj > best_objective[u] - tol:
                        no_improvement[u] += 1
                    else:
                        no_improvement[u] = 0
                    best_objective[u] = min(best_objective[u], obj)
                if no_improvement[u] >= self.n_iter_no_change:
                    active[u] = False
                elif mistakes[u] == 0 and penalty == _k.PENALTY_NONE:
                    active[u] = False  # converged: no later epoch can change the unit
            if not active.any():
                break
        W *= wscale[:, None].astype(dtype)
        return W, b, int(n_iter_units.max())

    @staticmethod
    def _validation_scores(val_sets, W, b, n_units):
        """Weighted validation accuracy per unit, on the unscaled weights as in sklearn."""
        scores = np.empty(n_units)
        if len(val_sets) == 1:
            Xv, Yv, swv = val_sets[0]
            D = safe_sparse_dot(Xv, W.T, dense_output=True) + b
            pred = np.where(D > 0, 1, -1)
            for u in range(n_units):
                scores[u] = np.average(pred[:, u] == Yv[:, u], weights=swv)
        else:
            for u, (Xv, Yv, swv) in enumerate(val_sets):
                d = safe_sparse_dot(Xv, W[u], dense_output=True) + b[u]
                scores[u] = np.average(np.where(d > 0, 1, -1) == Yv[:, u], weights=swv)
        return scores

    # -------------------------------------------------------------- prediction
    def decision_function(self, X):
        """Predict confidence scores for samples.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The data matrix for which we want to get the confidence scores.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_units)
            Signed distances (times the weight norm) to each unit's hyperplane. For
            binary targets, the score of ``classes_[1]``: > 0 means it is predicted.
        """
        check_is_fitted(self)
        scores = self._csr_scores(X)
        if scores is None:
            X = validate_prediction_input(self, X, accept_sparse="csr")
            scores = safe_sparse_dot(X, self.coef_.T, dense_output=True) + self.intercept_
            check_finite_output(scores, "X", scores.dtype)
        return scores.ravel() if scores.shape[1] == 1 else scores

    def _csr_scores(self, X):
        """The decision function of CSR ``X`` by sknn's kernel, or None (any other input,
        or ``coef_`` / ``intercept_`` assigned another shape or dtype: scipy's product
        then handles, or refuses, them as scikit-learn's does).

        The same numbers as scipy's ``X @ coef_.T + intercept_``, in fewer passes over
        ``X``: its index structure is checked, its values are read once, by the product
        (a non-finite one shows in the output, checked afterwards).
        """
        W, b = self.coef_, self.intercept_
        # the kernel indexes W by X's columns and b by W's rows, unchecked
        if not (type(W) is np.ndarray and W.ndim == 2 and type(b) is np.ndarray
                and W.shape[1] == self.n_features_in_ and b.shape == (W.shape[0],)
                and b.dtype == W.dtype):
            return None
        X_csr = csr_prediction_input(self, X, W.dtype)
        arrays = None if X_csr is None else _csr_arrays(X_csr)
        if arrays is None:
            return None
        scores = np.empty((X.shape[0], W.shape[0]), dtype=W.dtype)
        # WT row-major: a stored value meets one contiguous row of the weights
        # (a view for one unit, else a copy, as scipy's own product makes).
        csr_dot_add(*arrays, np.ascontiguousarray(W.T), b, scores)
        check_finite_prediction(self, X, scores, accept_sparse="csr")
        return scores

    def predict(self, X):
        """Predict class labels (or label indicators) for samples in X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The data matrix for which we want to get the predictions.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_labels)
            Predicted class per sample; for a multilabel fit the indicator matrix
            (``decision_function > 0``) in the dtype of the training targets.
        """
        scores = self.decision_function(X)
        if self._kind == "multilabel":
            return (scores > 0).astype(self._label_dtype)
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(np.intp)]
        return self.classes_[np.argmax(scores, axis=1)]

    def score(self, X, y, sample_weight=None):
        """Return the mean accuracy on the given test data and labels.

        For multilabel fits this is the subset accuracy (every label right).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Test samples.

        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            True labels for ``X``.

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            Mean accuracy of ``self.predict(X)`` w.r.t. ``y``.
        """
        return super().score(X, y, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.classifier_tags.multi_label = True
        return tags
