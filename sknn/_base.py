"""The MLP engine shared by MLPClassifier and MLPRegressor.

Estimators validate and set up; this module owns the epoch loop (stopping rules,
validation, history, callbacks, warnings, interrupts) and calls one jitted
kernel per epoch.  The math lives in ``sknn._kernels``.
"""

import copy
import inspect
import time
import warnings
from abc import ABC, abstractmethod
from numbers import Integral, Real

import numpy as np
import scipy.optimize
import scipy.sparse as sp
from sklearn.base import BaseEstimator, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import get_scorer, get_scorer_names
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from . import _contract as contract
from ._compat import (
    Interval,
    Options,
    StrOptions,
    check_optimize_result,
    check_sample_weight,
    lbfgs_options,
)
from ._doc_link import DocLinkMixin
from ._exceptions import DivergenceError
from ._kernels.activations import HIDDEN_ACTIVATIONS
from ._kernels.epoch import PREDICT_ROWS, loss_grad, predict_forward, train_epoch
from ._kernels.losses import loss_value
from ._layers import LAYER_PARAMETER_CONSTRAINTS, layer_options
from ._layout import (
    WEIGHT_INITS,
    check_layout,
    coef_views,
    fold_batch_norm,
    gamma_views,
    init_moving,
    init_theta,
    intercept_views,
    make_layout,
    make_layouts,
    moving_views,
    pack,
    replace_params,
)
from ._parallel import (
    MIN_CHUNK_FLOPS,
    ChunkedEpochs,
    UnitSplitEpochs,
    chunk_rows,
    forward_flops,
    loss_grad_threads,
    max_chunks,
    n_threads,
    piece_rows,
    predict_threads,
    team,
    unit_split_tasks,
)
from ._persistence import VersionedStateMixin
from ._sklearn_callbacks import CallbackSupportMixin, start_fit
from ._threads import blas_threads_for, one_blas_thread, predict_blas_threads_for
from ._transaction import raise_pending_interrupt, training_interrupts
from ._validation import (
    check_finite_output,
    check_finite_prediction,
    check_loss_weights,
    csr_prediction_input,
    validate_data,
    validate_prediction_input,
)
from ._warnings import user_stacklevel

_STOCHASTIC_SOLVERS = ("sgd", "adam")
_CALLBACK_HOOKS = ("on_train_begin", "on_epoch_end", "on_train_end")
# Validation options of the input to predict and transform.
_PREDICT_VALIDATION = dict(accept_sparse=["csr", "csc"], dtype=(np.float64, np.float32))
# Rows per chunk of the full-batch L-BFGS pass: bounds workspace memory.
_CHUNK_ROWS = 4096


class BaseMLP(DocLinkMixin, VersionedStateMixin, CallbackSupportMixin, BaseEstimator, ABC):
    """Shared machinery of sknn's multi-layer perceptrons; use the subclasses."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(HIDDEN_ACTIVATIONS))],
        "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [
            StrOptions({"constant", "invscaling", "adaptive", "cosine", "one_cycle"})
        ],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "weight_init": [StrOptions(set(WEIGHT_INITS))],
        "wide_features": [None, StrOptions({"all"}), "array-like"],
        "deep_features": [None, "array-like"],
        "callbacks": [None, list, tuple],
        "scoring": [None, StrOptions(set(get_scorer_names())), list, tuple, dict],
        "n_jobs": [Integral, None],
        **LAYER_PARAMETER_CONSTRAINTS,
    }

    # Optional parts of a fitted network (sknn/_layout.py); these class-level
    # "absent" values also serve models pickled before the parts existed.
    _aux_layout = np.empty((0, 4), dtype=np.int64)  # auxiliary output layer row
    _gamma_off = -1  # start of batch normalization's gamma in theta; -1: none
    _moving = np.empty(0)  # moving means, then moving variances (not trained)
    _dropout_rates = np.empty(0)  # per hidden layer; empty: no dropout
    _bn_epsilon = 0.0  # batch_norm_epsilon of the fit that built the network

    @abstractmethod
    def __init__(self):
        pass

    # ------------------------------------------------------------------ state
    def _check_fitted_attr(self, name):
        if "_theta" not in self.__dict__:
            raise AttributeError(name)

    def _has_extras(self):
        """Whether theta holds more than scikit-learn's ``[W..., b...]``."""
        return self._gamma_off >= 0 or self._aux_layout.shape[0] > 0

    @property
    def coefs_(self):
        """list of ndarray: weight matrices, views of the flat parameter buffer."""
        self._check_fitted_attr("coefs_")
        return coef_views(self._theta, self._layout)

    @coefs_.setter
    def coefs_(self, coefs):
        self._theta = replace_params(self._fitted_theta("coefs_"), self._layout, coefs=coefs)

    @property
    def intercepts_(self):
        """list of ndarray: bias vectors, views of the flat parameter buffer."""
        self._check_fitted_attr("intercepts_")
        return intercept_views(self._theta, self._layout)

    @intercepts_.setter
    def intercepts_(self, intercepts):
        self._theta = replace_params(self._fitted_theta("intercepts_"), self._layout,
                                     intercepts=intercepts)

    @property
    def batch_norm_gamma_(self):
        """list of ndarray or None: per hidden layer, batch normalization's scale."""
        self._check_fitted_attr("batch_norm_gamma_")
        if self._gamma_off < 0:
            return None
        return gamma_views(self._theta, self._layout, self._gamma_off)

    @property
    def batch_norm_beta_(self):
        """list of ndarray or None: per hidden layer, batch normalization's shift."""
        self._check_fitted_attr("batch_norm_beta_")
        if self._gamma_off < 0:
            return None
        return intercept_views(self._theta, self._layout)[:-1]

    @property
    def batch_norm_moving_mean_(self):
        """list of ndarray or None: per hidden layer, the moving mean."""
        self._check_fitted_attr("batch_norm_moving_mean_")
        return moving_views(self._moving, self._layout)[0] if self._gamma_off >= 0 else None

    @property
    def batch_norm_moving_variance_(self):
        """list of ndarray or None: per hidden layer, the moving variance."""
        self._check_fitted_attr("batch_norm_moving_variance_")
        return moving_views(self._moving, self._layout)[1] if self._gamma_off >= 0 else None

    @property
    def auxiliary_coef_(self):
        """ndarray or None: weights of the auxiliary output layer."""
        self._check_fitted_attr("auxiliary_coef_")
        if not self._aux_layout.shape[0]:
            return None
        return coef_views(self._theta, self._aux_layout)[0]

    @property
    def auxiliary_intercept_(self):
        """ndarray or None: bias of the auxiliary output layer."""
        self._check_fitted_attr("auxiliary_intercept_")
        if not self._aux_layout.shape[0]:
            return None
        return intercept_views(self._theta, self._aux_layout)[0]

    def _prediction_params(self):
        """``(coefs, intercepts)`` of the plain network predict evaluates.

        Batch normalization folded in with the moving statistics (prediction
        normalises each row by them alone); the auxiliary output left out.
        """
        coefs, intercepts = self.coefs_, self.intercepts_
        if self._gamma_off < 0:
            return coefs, intercepts
        means, variances = moving_views(self._moving, self._layout)
        return fold_batch_norm(coefs, intercepts, self.batch_norm_gamma_, means, variances,
                               self._bn_epsilon)


    def _fitted_theta(self, name):
        if "_theta" not in self.__dict__:
            raise AttributeError(
                f"{name} can only be set on a fitted {type(self).__name__} (it must match "
                "the network's layer shapes); call fit first."
            )
        return self._theta

    def _check_layout(self, net=None):
        """The kernels' precondition: theta, layout and inputs describe one network
        (``net``: this model's ``contract.network`` record, if the caller has it)."""
        n_deep = self.n_features_in_ if self._deep_idx is None else self._deep_idx.size
        net = contract.network(self) if net is None else net
        check_layout(self._theta, self._layout, int(n_deep), net.n_wide,
                     self.n_outputs_, self._aux_layout, self._gamma_off)

    @property
    def optimizer_(self):
        """The stochastic optimizer of the last fit (``solver='sgd'`` / ``'adam'``).

        Its public method ``set_learning_rate(rate)`` sets the learning rate of
        the next epoch; this is how callbacks such as
        :class:`~sknn.callbacks.LearningRateScheduler` change it.
        ``optimizer_.learning_rate`` is the rate the next epoch will use.
        """
        if "_optimizer" not in self.__dict__:
            raise AttributeError(
                "optimizer_: only fits with solver='sgd' or 'adam' have an optimizer "
                "(it exists from the start of fit, for callbacks)."
            )
        return self._optimizer

    def _get_weights(self):
        """A copy of the model state training changes (for callbacks and tools):
        the flat parameter vector, then any moving statistics."""
        return np.concatenate([self._theta, self._moving.astype(self._theta.dtype)])

    def _set_weights(self, weights):
        """Overwrite what ``_get_weights`` returned, in place (views stay valid)."""
        n = self._theta.size
        self._theta[...] = weights[:n]
        if self._moving.size:
            self._moving[...] = weights[n:]

    # ------------------------------------------------------------- hooks
    @abstractmethod
    def _validate_targets(self, y, incremental):
        """Return ``(y, Y)``: the targets as given (1-D when single-output) and as
        the 2-D float matrix the loss compares with the network output."""

    def _check_targets(self, y):
        """The targets' own rules, on y as ``_validate_fit_data`` returns it, without
        state change: y (1-D when single-output) or an error naming y."""
        return y

    @abstractmethod
    def _output_activation(self):
        """Name of the output activation for the targets seen at initialisation."""

    @abstractmethod
    def _loss_name(self):
        """Loss code name used by the kernels."""

    @abstractmethod
    def _score_predictions(self, y, raw, sample_weight):
        """Validation score (accuracy / R^2) from raw network outputs."""

    def _fit_sample_weight(self, y, sw, incremental):
        """Per-sample training weights; the classifier folds in class weights."""
        return sw

    def _huber_delta(self):
        return 1.0

    def _layer_activations(self):
        """Activation name of each hidden layer (the autoencoder's code layer has its own)."""
        return [self.activation] * (len(self._layout) - 1)

    def _output_bias_offset(self, Y, sw):
        """Added to the initial output bias (0: scikit-learn's initialisation)."""
        return 0.0

    # ---------------------------------------------------------- fit entry
    def _begin_fit(self, y, incremental, classes):
        """Hook run first inside the fit transaction (partial_fit's ``classes``)."""

    def _fit(self, X, y, sample_weight=None, incremental=False, validation_data=None,
             classes=None):
        # Runs inside fit_transaction (the public fit / partial_fit): a failed
        # fit restores the estimator after scikit-learn's callback context
        # (sklearn >= 1.9, opened here) has been torn down by _fit_context.
        start_fit(self, X, y, sample_weight, incremental)
        try:
            self._begin_fit(y, incremental, classes)
            return self._fit_transaction(X, y, sample_weight, incremental, validation_data)
        finally:
            self.__dict__.pop("_sklearn_bridge", None)  # holds the training data

    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        if not hasattr(sizes, "__iter__"):
            sizes = [sizes]
        sizes = list(sizes)
        if any(
            not isinstance(s, Integral) or isinstance(s, bool) or s <= 0 for s in sizes
        ):
            raise ValueError(
                "hidden_layer_sizes must contain positive integers, "
                f"got {self.hidden_layer_sizes!r}."
            )
        return [int(s) for s in sizes]

    def _column_subsets(self, n_features):
        """Resolve ``deep_features`` / ``wide_features`` to index arrays (or None)."""

        def resolve(name, value):
            idx = np.asarray(value)
            if idx.dtype.kind in "OUS" and idx.size:
                idx = _column_names_to_indices(name, idx, getattr(self, "feature_names_in_", None))
            if idx.dtype == bool:
                if idx.shape != (n_features,):
                    raise ValueError(
                        f"{name} as a boolean mask must have length n_features={n_features}, "
                        f"got shape {idx.shape}."
                    )
                idx = np.flatnonzero(idx)
            if idx.ndim != 1 or idx.size == 0 or not np.issubdtype(idx.dtype, np.integer):
                raise ValueError(
                    f"{name} must be a non-empty 1-D array of column indices, got {value!r}."
                )
            if idx.min() < -n_features or idx.max() >= n_features:
                raise ValueError(
                    f"{name} has column indices outside [0, {n_features}): {value!r}."
                )
            idx = np.unique(idx % n_features)
            return idx.astype(np.int64)

        deep = None if self.deep_features is None else resolve("deep_features", self.deep_features)
        if self.wide_features is None:
            wide = None
        elif isinstance(self.wide_features, str):
            wide = np.arange(n_features, dtype=np.int64)
        else:
            wide = resolve("wide_features", self.wide_features)
        return deep, wide

    def _fit_transaction(self, X, y, sample_weight, incremental, validation_data):
        hidden = self._hidden_sizes()
        first_pass = "_theta" not in self.__dict__ or (not self.warm_start and not incremental)
        layers = self._layer_options(len(hidden))
        if not first_pass:
            self._check_same_layers(layers)
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        X, y = self._validate_fit_data(X, y, reset=first_pass)
        dtype = X.dtype if first_pass else self._theta.dtype
        X = _as_model_input(X, dtype, "X")
        y, Y = self._validate_targets(y, incremental)
        Y = np.ascontiguousarray(Y, dtype=dtype)
        self._check_targets_for_output(Y)
        sw = check_sample_weight(sample_weight, X, dtype, "sample_weight")
        sw = self._fit_sample_weight(y, sw, incremental)
        # Writable targets/weights (a small copy if the caller's were read-only,
        # e.g. memory-mapped on a joblib worker): one kernel specialization.
        Y, sw = _writable(Y), _writable(sw)
        check_loss_weights(sw, dtype)
        val = None
        if validation_data is not None:
            val = self._validate_validation_data(validation_data, dtype, first_pass,
                                                 n_outputs=Y.shape[1])

        n_samples, n_features = X.shape
        if first_pass:
            deep, wide = self._column_subsets(n_features)
            self._deep_idx, self._wide_idx = deep, wide
            n_deep = n_features if deep is None else deep.size
            n_wide = 0 if wide is None else wide.size
            layer_units = [n_deep] + hidden + [Y.shape[1]]
            rng = check_random_state(self.random_state)
            self._layout, self._aux_layout, self._gamma_off = make_layouts(
                layer_units, n_wide, Y.shape[1] if layers.aux_weight > 0 else 0,
                layers.batch_norm)
            self._bn_epsilon = layers.epsilon
            self._moving = (init_moving(self._layout, dtype) if layers.batch_norm
                            else np.empty(0, dtype=dtype))
            self.n_outputs_ = Y.shape[1]
            self.n_layers_ = len(layer_units)
            self.out_activation_ = self._output_activation()
            self._theta = init_theta(self._layout, rng, self.activation, self.weight_init, dtype,
                                     self._aux_layout, self._gamma_off)
            intercept_views(self._theta, self._layout)[-1][...] += self._output_bias_offset(Y, sw)
            self.n_iter_ = 0
            self.t_ = 0
            self.history_ = {"loss": [], "learning_rate": [], "epoch_time": []}
            for name in ("loss_curve_", "best_loss_", "validation_scores_",
                         "best_validation_score_", "_optimizer", "callbacks_"):
                self.__dict__.pop(name, None)
        else:
            if Y.shape[1] != self.n_outputs_:
                raise ValueError(
                    f"y has {Y.shape[1]} outputs but the fitted model has {self.n_outputs_}."
                )
            rng = check_random_state(self.random_state)
            self._check_layout()
            # Train on a copy: the old buffer may be read-only (memory-mapped
            # pickle) and must survive a failed fit untouched.
            self._theta = self._theta.copy()
            self._moving = self._moving.copy()  # moving averages continue from here
            self.history_ = {k: list(v) for k, v in self.history_.items()}

        self._dropout_rates = layers.dropout  # the rates may change between warm starts
        try:
            if self.solver in _STOCHASTIC_SOLVERS:
                self._fit_stochastic(X, Y, y, sw, val, rng, incremental)
            else:
                self._fit_lbfgs(X, Y, sw, val, y)
        except DivergenceError as exc:
            if np.ptp(sw) == 0:  # uniform weights cannot be the cause
                raise
            raise DivergenceError(
                f"{exc} The training weights (sample_weight times class_weight) range up "
                f"to {float(sw.max()):.3g}; if that is large, rescale them (only their "
                "ratios matter, with alpha in the same units)."
            ) from exc
        if not (np.isfinite(self._theta).all() and np.isfinite(self._moving).all()):
            raise DivergenceError(
                "Solver produced non-finite parameter weights. The input data may contain "
                "large values and need to be preprocessed (scale X), or lower "
                "learning_rate_init."
            )
        return self

    def _validate_fit_data(self, X, y, reset):
        """fit's checks of X and y (errors name them): ``validate_data``'s ``(X, y)``;
        for y None, X alone (an estimator that needs a y refuses it)."""
        kwargs = dict(accept_sparse=["csr", "csc"], dtype=(np.float64, np.float32), reset=reset)
        if y is None:
            return validate_data(self, X, None, **kwargs)
        return validate_data(self, X, y, multi_output=True, y_numeric=not is_classifier(self),
                             **kwargs)

    def _layer_options(self, n_hidden):
        """The checked layer options (``_layers.layer_options``) of a network with
        ``n_hidden`` hidden layers."""
        return layer_options(self, n_hidden)

    def _check_same_layers(self, layers):
        """warm_start / partial_fit continue the fitted network: same layer structure."""
        fitted_bn = self._gamma_off >= 0
        fitted_aux = self._aux_layout.shape[0] > 0
        if layers.batch_norm != fitted_bn or (layers.aux_weight > 0) != fitted_aux:
            name = ("batch_normalization" if layers.batch_norm != fitted_bn
                    else "auxiliary_loss_weight")
            raise ValueError(
                f"{name} changes the network's layers, which warm_start and partial_fit "
                "continue: the model was fitted with batch_normalization="
                f"{fitted_bn} and {'an' if fitted_aux else 'no'} auxiliary output. Refit "
                "with warm_start=False, or restore the parameter."
            )

    def _check_targets_for_output(self, Y):
        """Hook for the regressor's output-range checks (before any training)."""

    def _validation_set(self, X_val, y_val, sample_weight_val, validation_data):
        """``(X_val, y_val, sample_weight_val)`` from fit's arguments, or None.

        ``validation_data`` is the deprecated first form of the same thing.
        """
        if validation_data is not None:
            if X_val is not None or y_val is not None or sample_weight_val is not None:
                raise ValueError(
                    "Pass the validation set either as X_val, y_val (and "
                    "sample_weight_val) or as the deprecated validation_data, not both."
                )
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
                raise ValueError(
                    "validation_data must be a tuple (X_val, y_val) or (X_val, y_val, "
                    f"sample_weight_val), got {type(validation_data).__name__}."
                )
            warnings.warn(
                "fit(..., validation_data=(X_val, y_val)) is deprecated since sknn 0.2 and "
                "will be removed in 0.3; use fit(X, y, X_val=X_val, y_val=y_val, "
                "sample_weight_val=...). In a Pipeline, validation_data reaches the "
                "estimator untransformed; Pipeline(..., transform_input=['X_val']) with "
                "metadata routing transforms X_val through the earlier steps.",
                FutureWarning,
                stacklevel=user_stacklevel(),
            )
            X_val, y_val = validation_data[0], validation_data[1]
            sample_weight_val = validation_data[2] if len(validation_data) == 3 else None
        if X_val is None and y_val is None:
            if sample_weight_val is not None:
                raise ValueError("sample_weight_val is provided, but X_val and y_val were not.")
            return None
        if y_val is None:
            raise ValueError("X_val is provided, but y_val was not provided.")
        if X_val is None:
            raise ValueError("y_val is provided, but X_val was not provided.")
        return X_val, y_val, sample_weight_val

    def _validate_validation_data(self, validation_data, dtype, first_pass, n_outputs=None):
        X_val, y_val, sw_val = validation_data
        X_val, y_val = validate_data(
            self,
            X_val,
            y_val,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=(np.float64, np.float32),
            y_numeric=not is_classifier(self),
            reset=False,
            names=("X_val", "y_val"),
        )
        y_val = _column_or_1d_quiet(y_val)
        Y_val = np.ascontiguousarray(self._encode_validation_targets(y_val), dtype=dtype)
        n_outputs = self.n_outputs_ if n_outputs is None else n_outputs
        if Y_val.shape[1] != n_outputs:
            raise ValueError(
                f"y_val has {Y_val.shape[1]} output column(s) but y has {n_outputs}."
            )
        self._check_targets_for_output(Y_val)
        sw_val = check_sample_weight(sw_val, X_val, dtype, "sample_weight_val")
        return _Validation(_as_model_input(X_val, dtype, "X_val"), y_val, Y_val, sw_val)

    def _encode_validation_targets(self, y):
        return y.reshape(len(y), -1)

    # ------------------------------------------------------- input blocks
    def _input_blocks(self, X):
        """Kernel input blocks (deep, wide) for X already in the model's dtype."""
        dtype = self._theta.dtype
        deep_X = X if self._deep_idx is None else X[:, self._deep_idx]
        wide_X = None if self._wide_idx is None else X[:, self._wide_idx]
        return _block(deep_X, dtype), _block(wide_X, dtype)

    def _raw_output(self, X, name="X", unchecked=None):
        """Network output for validated X (model dtype), as an (n, n_outputs) array;
        ValueError naming ``name`` where it is not finite (never a NaN answer).
        ``unchecked``: the caller's X, whose finiteness validation left to the
        kernel (``_forward``): a non-finite output first validates it in full."""
        net = contract.network(self)
        self._check_layout(net)
        deep, wide = self._input_blocks(X)
        theta, net = self._plain_network(net)
        return self._run_network(theta, net, deep, wide, X.shape[0], name, unchecked)

    def _plain_network(self, net=None):
        """``(theta, net)`` of the plain network predict evaluates: batch
        normalization folded in, the auxiliary output left out (a new buffer then;
        else a writable ``theta``: a read-only, memory-mapped one would compile its
        own kernel specialization).  ``net``: this model's ``contract.network``
        record, if the caller has it."""
        net = contract.network(self) if net is None else net
        if not self._has_extras():
            return _writable(self._theta), net
        coefs, intercepts = self._prediction_params()
        return (pack(coefs, intercepts, self._theta.dtype),
                net._replace(layout=make_layout(self._layer_units(), net.n_wide)))

    def _run_network(self, theta, net, deep, wide, n_rows, name="X", unchecked=None):
        """Output of the plain ``net`` with parameters ``theta`` (``_plain_network``,
        or a run of its layers: ``contract.sub_network``) for ``n_rows`` rows of the
        input blocks; ValueError naming ``name`` where it is not finite."""
        out = np.empty((n_rows, int(net.layout[-1, 1])), dtype=self._theta.dtype)
        chunk = max(1, min(n_rows, PREDICT_ROWS))  # the kernel's own chunk cap
        head = (theta, net.layout, net.n_wide, net.hidden_code, net.out_code, net.layer_codes)
        # Row pieces on n_jobs threads (sknn._parallel; the same output, bitwise).
        threads = n_threads(getattr(self, "n_jobs", None), -(-n_rows // piece_rows(net.layout)))
        if threads > 1:
            with one_blas_thread():
                predict_threads(threads, predict_forward, head, deep, wide, out, chunk)
        else:
            # Same rule as training, per chunk: small GEMMs on one BLAS thread (an
            # unlimited OpenBLAS collapsed predict when another job held a core); tiny
            # calls skip the limiter, OpenBLAS runs their GEMMs on one thread anyway.
            with predict_blas_threads_for(net.layout, chunk):
                predict_forward(*head, deep, wide, out, chunk)
        if not np.isfinite(np.add.reduce(out, axis=None)):  # one pass: every term is finite
            if unchecked is not None:  # scikit-learn's error for a NaN or inf in X
                check_finite_prediction(self, unchecked, out, **_PREDICT_VALIDATION)
            check_finite_output(out, name, self._theta.dtype)
        return out

    def _forward(self, X):
        """Validate X for prediction and return the raw network output."""
        check_is_fitted(self)
        if self._deep_idx is None and self._wide_idx is None:
            # CSR X the kernels take as it is: its structure checked, its values read
            # once here (a ReLU could turn a NaN into a finite answer), skipping
            # scikit-learn's validation (~0.5 ms, most of a small sparse prediction).
            X_csr = csr_prediction_input(self, X, self._theta.dtype)
            if (X_csr is not None and X_csr.has_canonical_format
                    and np.isfinite(np.add.reduce(X_csr.data))):
                return self._raw_output(X_csr)
        # Dense X of the model's dtype whose every column enters the deep block:
        # the kernel finds a NaN or infinity in X while copying its rows (their
        # outputs are NaN), so validation need not read X once more (~6% of a
        # large prediction, on one thread); a non-finite output then takes X
        # through the full validation, which names the bad input.
        kernel_checks = (type(X) is np.ndarray and X.dtype == self._theta.dtype
                         and self._deep_idx is None and self._wide_idx is None)
        Xv = validate_prediction_input(self, X, check_finite=not kernel_checks,
                                       **_PREDICT_VALIDATION)
        return self._raw_output(_as_model_input(Xv, self._theta.dtype, "X"),
                                unchecked=X if kernel_checks and Xv is X else None)

    def _prediction_input(self, X):
        """X validated for prediction (or transform), in the kernels' form."""
        check_is_fitted(self)
        X = validate_prediction_input(self, X, **_PREDICT_VALIDATION)
        return _as_model_input(X, self._theta.dtype, "X")

    def _layer_units(self):
        """``[n_deep_inputs, *hidden, n_outputs]`` of the fitted network."""
        return [int(self._layout[0, 0])] + [int(u) for u in self._layout[:, 1]]

    # --------------------------------------------------------- objectives
    def _objective(self, raw, Y, sw, aux_loss=None):
        """(sum_i sw_i loss_i + alpha/2 ||W||^2) / sum(sw): the quantity loss_ tracks.

        With an auxiliary output (``aux_loss``: its ``_head_loss``) the loss is
        ``(1 - w) * main + w * aux``, as in training.
        """
        sw_sum = float(sw.sum())
        value = self._head_loss(raw, Y, sw) * sw_sum
        if aux_loss is not None:
            w = float(self.auxiliary_loss_weight)
            value = (1.0 - w) * value + w * aux_loss * sw_sum
        W = self._theta[: self._layout[0, 3]]
        return (value + 0.5 * self.alpha * float(np.dot(W, W))) / sw_sum

    def _head_loss(self, raw, Y, sw):
        """One output's weighted mean loss, without the penalty (history's "aux_loss")."""
        obj = contract.objective(self)
        return loss_value(Y, raw, sw, obj.loss_code, obj.huber_delta) / float(sw.sum())

    def _validation_logs(self, val):
        """The epoch's "val_loss" and "val_score", and "val_aux_loss" (the auxiliary
        head's loss, as "aux_loss" is on the training set) with an auxiliary output."""
        raw = self._raw_output(val.X, val.name)
        logs = {}
        if self._aux_layout.shape[0]:
            logs["val_aux_loss"] = self._head_loss(self._aux_output(val.X), val.Y, val.sw)
        loss = self._objective(raw, val.Y, val.sw, logs.get("val_aux_loss"))
        score = self._score_predictions(val.y, raw, val.sw)
        if not np.isfinite(loss) or (self.early_stopping and not np.isfinite(score)):
            # Early stopping would compare NaN scores forever and return the
            # initial weights as the result.
            raise ValueError(
                f"The validation loss ({loss}) or score ({score}) on {val.name} is not "
                f"finite at epoch {self.n_iter_}; check the validation targets and "
                "sample weights, and give at least 2 validation rows."
            )
        return {"val_loss": loss, "val_score": score, **logs}

    def _aux_output(self, X):
        """The auxiliary head's output for validated X: the deep stack and that head,
        run by the predict kernel as a plain network."""
        coefs, intercepts = self._prediction_params()
        theta = pack(coefs[:-1] + [self.auxiliary_coef_],
                     intercepts[:-1] + [self.auxiliary_intercept_], self._theta.dtype)
        net = contract.network(self)._replace(layout=make_layout(self._layer_units(), 0),
                                              n_wide=contract.NO_WIDE)
        deep, _ = self._input_blocks(X)
        return self._run_network(theta, net, deep, _block(None, theta.dtype), X.shape[0])

    # ---------------------------------------------------------- stochastic
    def _fit_stochastic(self, X, Y, y, sw, val, rng, incremental):
        self._optimizer = self._fit_optimizer(incremental)
        # Dropout masks: one draw from random_state per fit, before anything whose
        # consumption depends on the row count (split, shuffles), so a weighted
        # and a repeated-rows fit get the same seeds; drawn only with dropout, so
        # the default keeps scikit-learn's random stream.
        dropout = self._dropout_rates.size > 0
        dropout_seed = int(rng.randint(np.iinfo(np.int32).max)) if dropout else 0
        X, Y, sw, y, val = self._split_validation(X, Y, sw, y, val, rng)
        self._init_stopping_state(val)
        # the moving statistics of batch normalization are restored with the weights
        best_weights = self._get_weights() if self.early_stopping else None
        n_samples = X.shape[0]
        sample_idx = np.arange(n_samples, dtype=np.int64)
        batch_size = self._effective_batch_size(n_samples)
        deep, wide = self._input_blocks(X)
        net = contract.network(self, deep, update_moving=True)
        records = [net, contract.objective(self), contract.data(deep, wide, Y, sw),
                   contract.fit_workspace(self, batch_size, deep, wide)]
        scorers = self._scorers()
        callbacks = self._callbacks_begin(incremental)
        self.n_iter_ = 0
        # Threads (up to the pieces or chunks a batch is worth), then how batches split:
        # by units (the plain dense network), else by row chunks (sknn._parallel).
        unit_tasks = unit_split_tasks(net, deep, batch_size)
        self._n_threads = n_threads(
            getattr(self, "n_jobs", None),
            unit_tasks or max_chunks(self._layout, batch_size, self._gamma_off))
        cap = chunk_rows(self._layout, batch_size, self._gamma_off, self._n_threads)
        with self._blas_limit(batch_size), team(self._n_threads) as members:
            if self._n_threads > 1 and unit_tasks:
                chunked = UnitSplitEpochs(members, records,
                                          adaptive=getattr(self, "n_jobs", None) is None)
            else:
                chunked = None if cap >= batch_size else ChunkedEpochs(
                    members, records, batch_size, cap,
                    lambda: contract.fit_workspace(self, cap, deep, wide))
            records.append(chunked)
            with training_interrupts():
                for _ in range(self.max_iter):
                    raise_pending_interrupt()  # the previous epoch is fully recorded
                    if self.shuffle:
                        # In place: the same permutation as scikit-learn's
                        # ``shuffle(sample_idx, random_state=rng)`` (Fisher-Yates swaps do
                        # not depend on the contents) without its two n-row temporaries.
                        rng.shuffle(sample_idx)
                    if dropout:  # this epoch's masks: the fit's seed and the epoch's
                        # number, counted across warm starts and partial_fit calls
                        seed = (dropout_seed + len(self.history_["loss"])) & 0xFFFFFFFF
                        records[0] = net._replace(layers=net.layers._replace(seed=seed))
                    start = time.perf_counter()
                    logs = self._train_epoch(records, sample_idx, batch_size)
                    if val is not None:
                        logs.update(self._validation_logs(val))
                    self._add_metrics(logs, scorers, (X, y, sw), val)
                    logs["epoch_time"] = time.perf_counter() - start
                    stop, improved = self._end_epoch(logs, callbacks, incremental)
                    if improved:
                        best_weights = self._get_weights()
                    if stop:
                        break
        if self.early_stopping:
            self._set_weights(best_weights)
        self._callbacks_end(callbacks)

    def _fit_optimizer(self, incremental):
        """A new optimizer on every fit (scikit-learn's rule), continued by partial_fit
        (as a copy: a failed fit must leave the old state untouched)."""
        if not incremental or "_optimizer" not in self.__dict__:
            return contract.optimizer(self)
        opt = self._optimizer.copy()
        contract.configure_optimizer(opt, self)
        return opt

    def _split_validation(self, X, Y, sw, y, val, rng):
        """Hold out scikit-learn's early-stopping validation split when none is given.

        Returns the training part ``(X, Y, sw, y)`` and the validation set."""
        if not self.early_stopping or val is not None:
            return X, Y, sw, y, val
        stratify = Y if is_classifier(self) and self.n_outputs_ == 1 else None
        X_train, X_val, Y_train, Y_val, sw_train, sw_val, y_train, y_val = train_test_split(
            X, Y, sw, y,
            random_state=rng,
            test_size=self.validation_fraction,
            stratify=stratify,
        )
        if X_val.shape[0] < 2:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' "
                "or the size of your dataset."
            )
        return X_train, Y_train, sw_train, y_train, _Validation(
            X_val, y_val, Y_val, sw_val, "the early-stopping split of X (validation_fraction)")

    def _init_stopping_state(self, val):
        """Loss curve and stopping-rule state: fresh, or copies continued (partial_fit)."""
        early_stopping = self.early_stopping
        if "loss_curve_" not in self.__dict__:
            self.loss_curve_ = []
            self.best_loss_ = None if early_stopping else np.inf
            self.validation_scores_ = [] if early_stopping else None
            self.best_validation_score_ = -np.inf if early_stopping else None
            self._no_improvement_count = 0
        else:
            self.loss_curve_ = list(self.loss_curve_)
            if self.validation_scores_ is not None:
                self.validation_scores_ = list(self.validation_scores_)
        if val is not None:
            self.history_.setdefault("val_loss", [])
            self.history_.setdefault("val_score", [])

    def _effective_batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            warnings.warn(
                "Got `batch_size` less than 1 or larger than sample size. It is "
                "going to be clipped",
                stacklevel=user_stacklevel(),
            )
        return int(np.clip(self.batch_size, 1, n_samples))

    def _blas_limit(self, rows):
        """BLAS threads: one inside every thread of a multi-threaded fit, else the
        per-batch rule of ``sknn._threads``."""
        return one_blas_thread() if self._n_threads > 1 else blas_threads_for(self._layout, rows)

    def _train_epoch(self, records, sample_idx, batch_size):
        """One epoch over the rows ``sample_idx`` (one kernel call, or chunked
        batches on threads: ``sknn._parallel``); returns the epoch's logs."""
        net, obj, data, ws, chunked = records
        opt = self._optimizer
        lr = opt.learning_rate
        ws.aux_loss[0] = 0.0
        if chunked is None:
            accumulated, opt.t = train_epoch(self._theta, net, obj, opt.step_record(), data, ws,
                                             sample_idx, batch_size)
        else:
            accumulated, opt.t = chunked.epoch(self._theta, (net, obj, data, ws),
                                               opt.step_record(), sample_idx, batch_size)
        n_samples = sample_idx.shape[0]
        self.n_iter_ += 1
        self.loss_ = accumulated / n_samples
        self.t_ += n_samples
        self.loss_curve_.append(self.loss_)
        self._check_divergence()
        logs = {"loss": self.loss_, "learning_rate": lr}
        if self._aux_layout.shape[0]:
            logs["aux_loss"] = float(ws.aux_loss[0]) / n_samples
        return logs

    def _check_divergence(self):
        # The last batch's update can overflow the weights while the epoch's
        # loss (taken before each update) is still finite.
        if not (np.isfinite(self.loss_) and np.isfinite(self._theta).all()
                and np.isfinite(self._moving).all()):
            what = (f"training loss became {self.loss_}" if not np.isfinite(self.loss_)
                    else "weights became non-finite")
            raise DivergenceError(
                f"The {what} at epoch {self.n_iter_}: "
                "training diverged. Lower learning_rate_init or scale X "
                "(e.g. StandardScaler)."
            )

    def _end_epoch(self, logs, callbacks, incremental):
        """History, callbacks, schedule and stopping rules after an epoch.

        Returns ``(stop, improved)``: whether training ends here, and whether
        the validation score reached a new best (early stopping keeps those weights).
        """
        self._record_epoch(logs)
        stop_requested = self._callbacks_epoch_end(callbacks, logs)
        self._print_epoch(logs)
        improved = self._update_no_improvement_count(self.early_stopping, logs)
        self._optimizer.end_epoch(self.t_)
        if self._no_improvement_count > self.n_iter_no_change:
            if self._on_plateau():
                return True, improved
            self._no_improvement_count = 0
        if stop_requested or incremental:
            return True, improved
        # n_iter_no_change=np.inf switches the convergence test off: the epoch
        # budget is then the plan (Keras' epochs=N), not a failure.
        if self.n_iter_ == self.max_iter and np.isfinite(self.n_iter_no_change):
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) "
                "reached and the optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=user_stacklevel(),
            )
        return False, improved

    def _record_epoch(self, logs):
        n_before = len(self.history_["loss"])
        for key, value in logs.items():
            # a key first seen after some epochs (added by a callback) is padded
            self.history_.setdefault(key, [None] * n_before).append(value)

    def _print_epoch(self, logs):
        """verbose=2: a Keras-style line with every figure of the epoch (the
        scoring metrics and what callbacks added included); verbose=1:
        scikit-learn's line."""
        if not self.verbose:
            return
        if self.verbose == 2:
            parts = [
                f"{key}: {value:.6f}" for key, value in logs.items()
                if key not in ("learning_rate", "epoch_time") and isinstance(value, Real)
            ]
            print(
                f"Epoch {len(self.history_['loss'])}/{self.max_iter} - "
                f"{logs['epoch_time']:.3f}s - " + " - ".join(parts)
            )
        else:
            print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")

    # ------------------------------------------------------------- metrics
    def _scorers(self):
        """``scoring`` as a dict {name: scorer}; names become history_ keys."""
        scoring = getattr(self, "scoring", None)
        if scoring is None:
            return {}
        if isinstance(scoring, str):
            scoring = [scoring]
        if isinstance(scoring, (list, tuple)):
            if not all(isinstance(name, str) for name in scoring):
                raise ValueError(
                    "scoring as a list must hold scikit-learn scorer names (str); pass a "
                    "dict {name: callable} for custom scorers."
                )
            scoring = {name: name for name in scoring}
        reserved = {"loss", "score", "learning_rate", "epoch_time"}
        scorers = {}
        for name, scorer in scoring.items():
            if not isinstance(name, str) or name in reserved or name.startswith("val_"):
                raise ValueError(
                    f"scoring name {name!r} is not allowed: names become history_ keys and "
                    f"must be str, not start with 'val_' nor be one of {sorted(reserved)}."
                )
            scorers[name] = get_scorer(scorer) if isinstance(scorer, str) else scorer
            if not callable(scorers[name]):
                raise ValueError(
                    f"scoring[{name!r}] must be a scorer name or a callable "
                    f"scorer(estimator, X, y), got {type(scorer).__name__}."
                )
        return scorers

    def _metric_names(self):
        """History keys of the ``scoring`` metrics (without the 'val_' ones)."""
        scoring = getattr(self, "scoring", None)
        if scoring is None:
            return []
        return [scoring] if isinstance(scoring, str) else list(scoring)

    def _add_metrics(self, logs, scorers, train, val):
        """The scoring metrics of this epoch on the training data (at the epoch's
        end) and on the validation set ('val_' prefix), into ``logs``."""
        if not scorers:
            return
        # The data is already validated and in model form: score through a
        # shallow copy without feature names, so predict does not warn that
        # the arrays have none.
        view = copy.copy(self)
        view.__dict__.pop("feature_names_in_", None)
        sets = [("", train)]
        if val is not None:
            sets.append(("val_", (val.X, val.y, val.sw)))
        for prefix, (X, y, sw) in sets:
            weights = {} if np.all(sw == sw[0]) else {"sample_weight": sw}
            for name, scorer in scorers.items():
                logs[prefix + name] = float(scorer(view, X, y, **weights))

    def _update_no_improvement_count(self, early_stopping, logs):
        """scikit-learn's stopping rule; returns True on a new best validation score."""
        if early_stopping:
            score = logs["val_score"]
            self.validation_scores_.append(score)
            if self.verbose and self.verbose != 2:
                print(f"Validation score: {score:f}")
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                return True
        else:
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if self.loss_curve_[-1] < self.best_loss_:
                self.best_loss_ = self.loss_curve_[-1]
        return False

    def _on_plateau(self):
        """No improvement for ``n_iter_no_change`` epochs: the optimizer lowers its
        rate (``learning_rate="adaptive"``) or training stops (returns True)."""
        what = "Validation score" if self.early_stopping else "Training loss"
        stop, note = self._optimizer.on_plateau()
        if self.verbose:
            print(
                f"{what} did not improve more than tol={self.tol:f} for "
                f"{self.n_iter_no_change} consecutive epochs. " + note
            )
        return stop

    # --------------------------------------------------------------- lbfgs
    def _fit_lbfgs(self, X, Y, sw, val, y=None):
        deep, wide = self._input_blocks(X)
        # batch normalization's batch is the whole training set: one chunk
        chunk = X.shape[0] if self._gamma_off >= 0 else max(1, min(X.shape[0], _CHUNK_ROWS))
        ws = contract.fit_workspace(self, chunk, deep, wide, chunked=X.shape[0] > chunk)
        records = (contract.network(self), contract.objective(self),
                   contract.data(deep, wide, Y, sw), ws, float(sw.sum()), chunk)
        theta = self._theta
        # Threads take whole chunks (added in chunk order: the same gradient bitwise).
        n_chunks = -(-X.shape[0] // chunk)
        worth = forward_flops(self._layout) * chunk * 3 >= MIN_CHUNK_FLOPS
        self._n_threads = n_threads(getattr(self, "n_jobs", None), n_chunks if worth else 1)
        members = team(self._n_threads)
        workspaces = [ws] + [contract.fit_workspace(self, chunk, deep, wide, chunked=True)
                             for _ in range(1, self._n_threads)]

        def objective(theta):
            if self._n_threads == 1:
                return loss_grad(theta, *records)
            return loss_grad_threads(members_, workspaces, theta, *records)

        def fun(x):
            raise_pending_interrupt()  # the last accepted iterate is fully recorded
            theta[...] = x
            value = objective(theta)
            return value, ws.grad.astype(np.float64)

        scorers = self._scorers()

        def at_accepted():
            """Evaluate at ``theta``: auxiliary loss, and batch normalization's
            statistics of the whole training set become the moving ones."""
            objective(theta)
            if self._gamma_off >= 0:
                stats, half = ws.layer_buffers.stats, self._moving.size // 2
                self._moving[:half] = stats[:half]
                self._moving[half:] = stats[half: 2 * half]

        callbacks = self._callbacks_begin(False)
        if val is not None:
            self.history_.setdefault("val_loss", [])
            self.history_.setdefault("val_score", [])
        state = {"start": time.perf_counter()}

        n_before = len(self.history_["loss"])
        # The last accepted iterate: a KeyboardInterrupt inside ``fun`` (a line
        # search) leaves ``theta`` at a trial point, which must not be kept.
        accepted = theta.copy()

        def on_iteration(intermediate_result):
            theta[...] = intermediate_result.x
            accepted[...] = theta
            logs = {"loss": float(intermediate_result.fun), "learning_rate": None}
            if self._has_extras():
                # the last evaluation may have been a line-search trial point
                at_accepted()
                if self._aux_layout.shape[0]:
                    logs["aux_loss"] = float(ws.aux_loss[0])
            if val is not None:
                logs.update(self._validation_logs(val))
            self._add_metrics(logs, scorers, (X, y, sw), val)
            now = time.perf_counter()
            logs["epoch_time"], state["start"] = now - state["start"], now
            self._record_epoch(logs)  # no _print_epoch: scipy prints its own lines
            if self._callbacks_epoch_end(callbacks, logs):
                state["stopped"] = True
                raise StopIteration

        iprint = 1 if self.verbose is True or self.verbose >= 1 else -1
        result = None
        with self._blas_limit(chunk), members as members_, training_interrupts():
            result = scipy.optimize.minimize(
                fun,
                theta.astype(np.float64),
                method="L-BFGS-B",
                jac=True,
                callback=on_iteration,
                options={"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol,
                         **lbfgs_options("iprint", iprint)},
            )
        if result is not None and state.get("stopped"):
            self.n_iter_ = int(result.nit)
            self.loss_ = float(result.fun)
            theta[...] = result.x
        elif result is not None:
            self.n_iter_ = check_optimize_result("lbfgs", result, self.max_iter)
            self.loss_ = float(result.fun)
            theta[...] = result.x
        else:
            theta[...] = accepted
            self.n_iter_ = len(self.history_["loss"]) - n_before
            self.loss_ = self.history_["loss"][-1] if self.history_["loss"] else np.nan
        if self._gamma_off >= 0:  # one chunk (the whole set): no thread team needed
            at_accepted()
        if result is not None:  # L-BFGS-B stops on a non-finite loss without raising
            self._check_divergence()
        self._callbacks_end(callbacks)

    # ----------------------------------------------------------- callbacks
    def _callbacks_begin(self, incremental):
        """Deep copies of ``callbacks`` (the parameter itself never changes)."""
        if incremental and "callbacks_" in self.__dict__:
            callbacks = self.callbacks_
        else:
            for cb in self.callbacks or []:
                _check_callback_signature(cb)
            callbacks = copy.deepcopy(list(self.callbacks or []))
            for i, cb in enumerate(callbacks):
                if not any(hasattr(cb, hook) for hook in _CALLBACK_HOOKS):
                    raise TypeError(
                        f"callbacks[{i}] is {cb!r}, which has none of the callback methods "
                        f"{', '.join(_CALLBACK_HOOKS)}; see sknn.callbacks."
                    )
            self.callbacks_ = callbacks
        if "_sklearn_bridge" in self.__dict__:  # scikit-learn's callbacks, same hooks
            callbacks = callbacks + [self._sklearn_bridge]
        for cb in callbacks:
            if hasattr(cb, "on_train_begin"):
                cb.on_train_begin(self, {})
        return callbacks

    def _callbacks_epoch_end(self, callbacks, logs):
        """Run on_epoch_end on every callback with one shared logs dict (as
        Keras does); keys they add are recorded in history_ and ``logs``."""
        epoch = len(self.history_["loss"]) - 1
        stop = False
        shared = dict(logs)
        for cb in callbacks:
            if not hasattr(cb, "on_epoch_end"):
                continue
            answer = cb.on_epoch_end(self, epoch, shared)
            if answer is not None and not isinstance(answer, (bool, np.bool_)):
                # "no" or NaN would stop training by truthiness.
                raise TypeError(
                    f"{type(cb).__name__}.on_epoch_end returned {answer!r}; it must return "
                    "True (stop training), False or None."
                )
            stop = stop or bool(answer)
        added = {k: v for k, v in shared.items() if k not in logs}
        if added:
            n = len(self.history_["loss"])
            for key, value in added.items():
                self.history_.setdefault(key, [None] * (n - 1)).append(value)
            logs.update(added)
        return stop

    def _callbacks_end(self, callbacks):
        logs = {k: v[-1] for k, v in self.history_.items() if v}
        for cb in callbacks:
            if hasattr(cb, "on_train_end"):
                cb.on_train_end(self, logs)

    def summary(self):
        """A Keras-like table of the network: one row per layer.

        Returns
        -------
        summary : str
            Layer name and type, output shape, parameter count, activation and
            input layer, the wide & deep input and concatenation included; the
            total equals the sizes of ``coefs_`` and ``intercepts_``.
        """
        from ._summary import format_summary

        check_is_fitted(self)
        return format_summary(self)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


_HOOK_SIGNATURES = {
    "on_train_begin": "(self, estimator, logs)",
    "on_epoch_end": "(self, estimator, epoch, logs)",
    "on_train_end": "(self, estimator, logs)",
}


def _check_callback_signature(cb):
    """A TypeError showing sknn's hook signatures when ``cb`` has Keras' ones
    (``on_epoch_end(self, epoch, logs)``: no estimator argument)."""
    name = type(cb).__name__
    # LambdaCallback(on_epoch_end=lambda epoch, logs: ...) is the same habit
    suffix = "_fn" if hasattr(cb, "on_epoch_end_fn") else ""
    for hook, expected in _HOOK_SIGNATURES.items():
        method = getattr(cb, hook + suffix, None)
        if method is None:
            continue
        try:
            signature = inspect.signature(method)
        except (TypeError, ValueError):  # builtins: nothing to check
            continue
        try:
            signature.bind(*([None] * expected.count(",")))
        except TypeError:
            keras = " (Keras' signature)" if hook == "on_epoch_end" and len(
                signature.parameters) == 2 else ""
            raise TypeError(
                f"Callback {name}.{hook}{signature}{keras} does not match sknn's callback "
                f"signature: sknn calls {hook}{expected}. Add the estimator as the first "
                f"argument, e.g. def on_epoch_end(self, estimator, epoch, logs); the "
                "estimator replaces Keras' self.model, and returning True replaces "
                "self.model.stop_training = True. See sknn.callbacks."
            ) from None


class _Validation:
    """A validation set in model form: X (model dtype), labels y, encoded Y,
    weights, and the name errors give it."""

    def __init__(self, X, y, Y, sw, name="X_val"):
        self.X, self.y, self.Y, self.sw, self.name = X, y, Y, sw, name


#: Per-fit buffers (kept under this name for the kernel tests).
_Workspace = contract.workspace


def _column_names_to_indices(name, names, feature_names):
    """Column indices of ``names`` in the fitted DataFrame's columns."""
    if feature_names is None:
        raise ValueError(
            f"{name} holds column names {list(names)}, which need X to be a pandas "
            "DataFrame with string column names; give column indices otherwise."
        )
    position = {str(f): i for i, f in enumerate(feature_names)}
    unknown = [n for n in names.tolist() if str(n) not in position]
    if unknown:
        raise ValueError(
            f"{name} names columns not in X: {unknown}; X's columns are "
            f"{list(feature_names)}."
        )
    return np.array([position[str(n)] for n in names.tolist()], dtype=np.int64)


def _as_model_input(X, dtype, name="X"):
    """X as the kernels take it: C-contiguous dense or canonical CSR, in ``dtype``.

    Casting finite float64 input to a float32 model can overflow to inf (|x| >
    3.4e38), after validation checked finiteness: ValueError naming ``name``.
    """
    narrowing = np.dtype(X.dtype).itemsize > np.dtype(dtype).itemsize
    if sp.issparse(X):
        X = sp.csr_matrix(X, dtype=dtype)
        if not X.has_canonical_format:
            # sum_duplicates works in place, on arrays csr_matrix may share with the caller's
            X = X.copy()
            X.sum_duplicates()
        values = X.data
    else:
        X = values = np.ascontiguousarray(X, dtype=dtype)
    if narrowing and not np.isfinite(values).all():
        raise ValueError(
            f"{name} has values too large for this model's {np.dtype(dtype).name} parameters "
            f"(|x| > {np.finfo(dtype).max:.3g}; the model computes in the dtype of the X it "
            f"was fitted on). Scale {name} (e.g. StandardScaler) or fit on float64 X."
        )
    return X


def _block(X, dtype):
    """A kernel input block ``(dense, data, indices, indptr)`` for X or None.

    Dense X (and None, a block of no columns): ``(X, None, None, None)``; CSR X:
    an empty 2-D ``dense`` and the CSR arrays.  The ``None`` parts make the kind
    of input part of the kernels' numba types, so a dense fit compiles none of the
    CSR code (``_kernels.network.is_sparse``).  Every array of a block is a
    read-only view (no copy), whatever the caller's flags: numba compiles a
    separate specialization of the whole epoch kernel per writable/read-only
    combination (about 6 s each, cold), and memory-mapped inputs on joblib
    workers are read-only.  One type per dtype and kind instead.
    """
    empty = _empty_block(dtype)
    if X is None:
        return empty
    if sp.issparse(X):
        X = sp.csr_matrix(X)
        index_dtype = np.int32 if X.nnz < np.iinfo(np.int32).max else np.int64
        return (empty[0], _readonly(np.ascontiguousarray(X.data, dtype=dtype)),
                _readonly(np.ascontiguousarray(X.indices, dtype=index_dtype)),
                _readonly(np.ascontiguousarray(X.indptr, dtype=index_dtype)))
    return _readonly(np.ascontiguousarray(X, dtype=dtype)), None, None, None


_EMPTY_BLOCKS = {}


def _empty_block(dtype):
    """The block of absent input (a read-only dense block of size 0: shared by
    every call, which saves a small predict most of ``_block``'s cost)."""
    dtype = np.dtype(dtype)
    if dtype not in _EMPTY_BLOCKS:
        _EMPTY_BLOCKS[dtype] = (_readonly(np.empty((0, 0), dtype=dtype)), None, None, None)
    return _EMPTY_BLOCKS[dtype]


def _writable(a):
    return a if a.flags.writeable else a.copy()


def _readonly(a):
    view = a.view()
    view.flags.writeable = False
    return view


def _column_or_1d_quiet(y):
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        return y.ravel()
    return y
