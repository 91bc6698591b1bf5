"""The MLP engine shared by MLPClassifier and MLPRegressor.

Estimators validate and set up; this module owns the epoch loop (stopping rules,
validation, history, callbacks, warnings, interrupts) and calls one jitted
kernel per epoch.  The math lives in ``sknn._kernels``.
"""

import copy
import time
import warnings
from abc import ABC, abstractmethod
from numbers import Integral, Real

import numpy as np
import scipy.optimize
import scipy.sparse as sp
from sklearn.base import BaseEstimator, is_classifier
from sklearn.exceptions import ConvergenceWarning
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
from ._exceptions import DivergenceError
from ._kernels.activations import HIDDEN_ACTIVATIONS
from ._kernels.epoch import PREDICT_ROWS, loss_grad, predict_forward, train_epoch
from ._kernels.losses import loss_value
from ._layout import (
    WEIGHT_INITS,
    check_layout,
    coef_views,
    init_theta,
    intercept_views,
    make_layout,
    replace_params,
)
from ._persistence import VersionedStateMixin
from ._sklearn_callbacks import CallbackSupportMixin, start_fit
from ._threads import blas_threads_for, predict_blas_threads_for
from ._transaction import raise_pending_interrupt, training_interrupts
from ._validation import check_finite_output, check_loss_weights, validate_data
from ._warnings import user_stacklevel

_STOCHASTIC_SOLVERS = ("sgd", "adam")
_CALLBACK_HOOKS = ("on_train_begin", "on_epoch_end", "on_train_end")
# Rows per chunk of the full-batch L-BFGS pass: bounds workspace memory.
_CHUNK_ROWS = 4096


class BaseMLP(VersionedStateMixin, CallbackSupportMixin, BaseEstimator, ABC):
    """Shared machinery of sknn's multi-layer perceptrons; use the subclasses."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(HIDDEN_ACTIVATIONS))],
        "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
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
    }

    @abstractmethod
    def __init__(self):
        pass

    # ------------------------------------------------------------------ state
    @property
    def coefs_(self):
        """list of ndarray: weight matrices, views of the flat parameter buffer."""
        if "_theta" not in self.__dict__:
            raise AttributeError("coefs_")
        return coef_views(self._theta, self._layout)

    @coefs_.setter
    def coefs_(self, coefs):
        self._theta = replace_params(self._fitted_theta("coefs_"), self._layout, coefs=coefs)

    @property
    def intercepts_(self):
        """list of ndarray: bias vectors, views of the flat parameter buffer."""
        if "_theta" not in self.__dict__:
            raise AttributeError("intercepts_")
        return intercept_views(self._theta, self._layout)

    @intercepts_.setter
    def intercepts_(self, intercepts):
        self._theta = replace_params(self._fitted_theta("intercepts_"), self._layout,
                                     intercepts=intercepts)

    def _fitted_theta(self, name):
        if "_theta" not in self.__dict__:
            raise AttributeError(
                f"{name} can only be set on a fitted {type(self).__name__} (it must match "
                "the network's layer shapes); call fit first."
            )
        return self._theta

    def _check_layout(self):
        """The kernels' precondition: theta, layout and inputs describe one network."""
        n_deep = self.n_features_in_ if self._deep_idx is None else self._deep_idx.size
        check_layout(self._theta, self._layout, int(n_deep), contract.network(self).n_wide,
                     self.n_outputs_)

    def _get_weights(self):
        """A copy of the flat parameter vector (for callbacks and tools)."""
        return self._theta.copy()

    def _set_weights(self, theta):
        """Overwrite the parameters in place (views handed out stay valid)."""
        self._theta[...] = theta

    # ------------------------------------------------------------- hooks
    @abstractmethod
    def _validate_targets(self, y, incremental):
        """Return ``(y, Y)``: the targets as given (1-D when single-output) and as
        the 2-D float matrix the loss compares with the network output."""

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
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=(np.float64, np.float32),
            y_numeric=not is_classifier(self),
            reset=first_pass,
        )
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
            self._layout = make_layout(layer_units, n_wide)
            self.n_outputs_ = Y.shape[1]
            self.n_layers_ = len(layer_units)
            self.out_activation_ = self._output_activation()
            self._theta = init_theta(self._layout, rng, self.activation, self.weight_init, dtype)
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
            self.history_ = {k: list(v) for k, v in self.history_.items()}

        try:
            if self.solver in _STOCHASTIC_SOLVERS:
                self._fit_stochastic(X, Y, y, sw, val, rng, incremental)
            else:
                self._fit_lbfgs(X, Y, sw, val)
        except DivergenceError as exc:
            if np.ptp(sw) == 0:  # uniform weights cannot be the cause
                raise
            raise DivergenceError(
                f"{exc} The training weights (sample_weight times class_weight) range up "
                f"to {float(sw.max()):.3g}; if that is large, rescale them (only their "
                "ratios matter, with alpha in the same units)."
            ) from exc
        if not np.isfinite(self._theta).all():
            raise DivergenceError(
                "Solver produced non-finite parameter weights. The input data may contain "
                "large values and need to be preprocessed (scale X), or lower "
                "learning_rate_init."
            )
        return self

    def _check_targets_for_output(self, Y):
        """Hook for the regressor's output-range checks (before any training)."""

    def _validate_validation_data(self, validation_data, dtype, first_pass, n_outputs=None):
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError(
                "validation_data must be a tuple (X_val, y_val) or (X_val, y_val, "
                f"sample_weight_val), got {type(validation_data).__name__}."
            )
        X_val, y_val = validation_data[0], validation_data[1]
        sw_val = validation_data[2] if len(validation_data) == 3 else None
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
        sw_val = check_sample_weight(sw_val, X_val, dtype, "validation_data sample_weight")
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

    def _raw_output(self, X, name="X"):
        """Network output for validated X (model dtype), as an (n, n_outputs) array;
        ValueError naming ``name`` where it is not finite (never a NaN answer)."""
        self._check_layout()
        deep, wide = self._input_blocks(X)
        return self._run_network(contract.network(self), deep, wide, X.shape[0], name)

    def _run_network(self, net, deep, wide, n_rows, name="X"):
        """Output of ``net`` (the model's ``Network`` record, or a run of its layers:
        ``contract.sub_network``) for ``n_rows`` rows of the input blocks; ValueError
        naming ``name`` where it is not finite."""
        out = np.empty((n_rows, int(net.layout[-1, 1])), dtype=self._theta.dtype)
        # A read-only theta (memory-mapped pickle) would compile its own kernel
        # specialization; a copy of the parameters is cheap next to that.
        theta = _writable(self._theta)
        chunk = max(1, min(n_rows, PREDICT_ROWS))  # the kernel's own chunk cap
        # Same rule as training, per chunk: small GEMMs on one BLAS thread (an
        # unlimited OpenBLAS collapsed predict when another job held a core); tiny
        # calls skip the limiter, OpenBLAS runs their GEMMs on one thread anyway.
        with predict_blas_threads_for(net.layout, chunk):
            predict_forward(theta, net.layout, net.n_wide, net.hidden_code, net.out_code,
                            net.layer_codes, deep, wide, out, chunk)
        check_finite_output(out, name, self._theta.dtype)
        return out

    def _forward(self, X):
        """Validate X for prediction and return the raw network output."""
        return self._raw_output(self._prediction_input(X))

    def _prediction_input(self, X):
        """X validated for prediction (or transform), in the kernels' form."""
        check_is_fitted(self)
        X = validate_data(
            self, X, accept_sparse=["csr", "csc"], dtype=(np.float64, np.float32), reset=False
        )
        return _as_model_input(X, self._theta.dtype, "X")

    # --------------------------------------------------------- objectives
    def _objective(self, raw, Y, sw):
        """(sum_i sw_i loss_i + alpha/2 ||W||^2) / sum(sw): the quantity loss_ tracks."""
        sw_sum = float(sw.sum())
        obj = contract.objective(self)
        value = loss_value(Y, raw, sw, obj.loss_code, obj.huber_delta)
        W = self._theta[: self._layout[0, 3]]
        return (value + 0.5 * self.alpha * float(np.dot(W, W))) / sw_sum

    def _validation_metrics(self, val):
        raw = self._raw_output(val.X, val.name)
        loss = self._objective(raw, val.Y, val.sw)
        score = self._score_predictions(val.y, raw, val.sw)
        if not np.isfinite(loss) or (self.early_stopping and not np.isfinite(score)):
            # Early stopping would compare NaN scores forever and return the
            # initial weights as the result.
            raise ValueError(
                f"The validation loss ({loss}) or score ({score}) on {val.name} is not "
                f"finite at epoch {self.n_iter_}; check the validation targets and "
                "sample weights, and give at least 2 validation rows."
            )
        return loss, score

    # ---------------------------------------------------------- stochastic
    def _fit_stochastic(self, X, Y, y, sw, val, rng, incremental):
        self._optimizer = self._fit_optimizer(incremental)
        X, Y, sw, val = self._split_validation(X, Y, sw, y, val, rng)
        self._init_stopping_state(val)
        best_theta = self._theta.copy() if self.early_stopping else None
        n_samples = X.shape[0]
        sample_idx = np.arange(n_samples, dtype=np.int64)
        batch_size = self._effective_batch_size(n_samples)
        deep, wide = self._input_blocks(X)
        records = (contract.network(self), contract.objective(self),
                   contract.data(deep, wide, Y, sw),
                   contract.workspace(self._layout, batch_size, deep, wide,
                                      self._layer_activations(), self._theta.dtype))
        callbacks = self._callbacks_begin(incremental)
        self.n_iter_ = 0
        with blas_threads_for(self._layout, batch_size):
            with training_interrupts():
                for _ in range(self.max_iter):
                    raise_pending_interrupt()  # the previous epoch is fully recorded
                    if self.shuffle:
                        # In place: the same permutation as scikit-learn's
                        # ``shuffle(sample_idx, random_state=rng)`` (Fisher-Yates swaps do
                        # not depend on the contents) without its two n-row temporaries.
                        rng.shuffle(sample_idx)
                    start = time.perf_counter()
                    logs = self._train_epoch(records, sample_idx, batch_size)
                    if val is not None:
                        logs["val_loss"], logs["val_score"] = self._validation_metrics(val)
                    logs["epoch_time"] = time.perf_counter() - start
                    stop, improved = self._end_epoch(logs, callbacks, incremental)
                    if improved:
                        best_theta = self._theta.copy()
                    if stop:
                        break
        if self.early_stopping:
            self._theta = best_theta
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
        """Hold out scikit-learn's early-stopping validation split when none is given."""
        if not self.early_stopping or val is not None:
            return X, Y, sw, val
        stratify = Y if is_classifier(self) and self.n_outputs_ == 1 else None
        X_train, X_val, Y_train, Y_val, sw_train, sw_val, _, y_val = train_test_split(
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
        return X_train, Y_train, sw_train, _Validation(
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

    def _train_epoch(self, records, sample_idx, batch_size):
        """One kernel call over the rows ``sample_idx``; returns the epoch's logs."""
        net, obj, data, ws = records
        opt = self._optimizer
        lr = opt.learning_rate
        accumulated, opt.t = train_epoch(self._theta, net, obj, opt.step_record(), data, ws,
                                         sample_idx, batch_size)
        n_samples = sample_idx.shape[0]
        self.n_iter_ += 1
        self.loss_ = accumulated / n_samples
        self.t_ += n_samples
        self.loss_curve_.append(self.loss_)
        self._check_divergence()
        return {"loss": self.loss_, "learning_rate": lr}

    def _check_divergence(self):
        # The last batch's update can overflow the weights while the epoch's
        # loss (taken before each update) is still finite.
        if not np.isfinite(self.loss_) or not np.isfinite(self._theta).all():
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
        improved = self._update_no_improvement_count(self.early_stopping, logs)
        self._optimizer.end_epoch(self.t_)
        if self._no_improvement_count > self.n_iter_no_change:
            if self._on_plateau():
                return True, improved
            self._no_improvement_count = 0
        if stop_requested or incremental:
            return True, improved
        if self.n_iter_ == self.max_iter:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) "
                "reached and the optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=user_stacklevel(),
            )
        return False, improved

    def _record_epoch(self, logs, verbose=True):
        for key, value in logs.items():
            self.history_.setdefault(key, []).append(value)
        if self.verbose and verbose:
            if self.verbose == 2:
                parts = [f"loss: {logs['loss']:.6f}"]
                if "val_loss" in logs:
                    parts += [
                        f"val_loss: {logs['val_loss']:.6f}",
                        f"val_score: {logs['val_score']:.6f}",
                    ]
                print(
                    f"Epoch {len(self.history_['loss'])}/{self.max_iter} - "
                    f"{logs['epoch_time']:.3f}s - " + " - ".join(parts)
                )
            else:
                print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")

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
    def _fit_lbfgs(self, X, Y, sw, val):
        deep, wide = self._input_blocks(X)
        chunk = max(1, min(X.shape[0], _CHUNK_ROWS))
        ws = contract.workspace(self._layout, chunk, deep, wide, self._layer_activations(),
                                self._theta.dtype, chunked=X.shape[0] > chunk)
        records = (contract.network(self), contract.objective(self),
                   contract.data(deep, wide, Y, sw), ws, float(sw.sum()), chunk)
        theta = self._theta

        def fun(x):
            raise_pending_interrupt()  # the last accepted iterate is fully recorded
            theta[...] = x
            value = loss_grad(theta, *records)
            return value, ws.grad.astype(np.float64)

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
            if val is not None:
                logs["val_loss"], logs["val_score"] = self._validation_metrics(val)
            now = time.perf_counter()
            logs["epoch_time"], state["start"] = now - state["start"], now
            self._record_epoch(logs, verbose=False)  # scipy prints its own lines
            if self._callbacks_epoch_end(callbacks, logs):
                state["stopped"] = True
                raise StopIteration

        iprint = 1 if self.verbose is True or self.verbose >= 1 else -1
        result = None
        with blas_threads_for(self._layout, chunk), training_interrupts():
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
        if result is not None:  # L-BFGS-B stops on a non-finite loss without raising
            self._check_divergence()
        self._callbacks_end(callbacks)

    # ----------------------------------------------------------- callbacks
    def _callbacks_begin(self, incremental):
        """Deep copies of ``callbacks`` (the parameter itself never changes)."""
        if incremental and "callbacks_" in self.__dict__:
            callbacks = self.callbacks_
        else:
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
        epoch = len(self.history_["loss"]) - 1
        stop = False
        for cb in callbacks:
            if not hasattr(cb, "on_epoch_end"):
                continue
            answer = cb.on_epoch_end(self, epoch, dict(logs))
            if answer is not None and not isinstance(answer, (bool, np.bool_)):
                # "no" or NaN would stop training by truthiness.
                raise TypeError(
                    f"{type(cb).__name__}.on_epoch_end returned {answer!r}; it must return "
                    "True (stop training), False or None."
                )
            stop = stop or bool(answer)
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


class _Validation:
    """A validation set in model form: X (model dtype), labels y, encoded Y,
    weights, and the name errors give it."""

    def __init__(self, X, y, Y, sw, name="X_val"):
        self.X, self.y, self.Y, self.sw, self.name = X, y, Y, sw, name


#: Per-fit buffers (kept under this name for the kernel tests).
_Workspace = contract.workspace


def _as_model_input(X, dtype, name="X"):
    """X as the kernels take it: C-contiguous dense or canonical CSR, in ``dtype``.

    Casting finite float64 input to a float32 model can overflow to inf (|x| >
    3.4e38), after validation checked finiteness: ValueError naming ``name``.
    """
    narrowing = np.dtype(X.dtype).itemsize > np.dtype(dtype).itemsize
    if sp.issparse(X):
        X = sp.csr_matrix(X, dtype=dtype)
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

    Every array of a block is a read-only view (no copy), whatever the caller's
    flags: numba compiles a separate specialization of the whole epoch kernel per
    writable/read-only combination (about 6 s each, cold), and memory-mapped
    inputs on joblib workers are read-only.  One type per dtype instead.
    """
    if X is None:
        block = (np.empty((0, 0), dtype=dtype), np.empty(0, dtype=dtype),
                 np.empty(0, dtype=np.int32), np.empty(0, dtype=np.int32))
    elif sp.issparse(X):
        X = sp.csr_matrix(X)
        index_dtype = np.int32 if X.nnz < np.iinfo(np.int32).max else np.int64
        block = (np.empty((0, 0), dtype=dtype), np.ascontiguousarray(X.data, dtype=dtype),
                 np.ascontiguousarray(X.indices, dtype=index_dtype),
                 np.ascontiguousarray(X.indptr, dtype=index_dtype))
    else:
        block = (np.ascontiguousarray(X, dtype=dtype), np.empty(0, dtype=dtype),
                 np.empty(0, dtype=np.int32), np.empty(0, dtype=np.int32))
    return tuple(_readonly(a) for a in block)


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
