"""MLPClassifier and MLPRegressor: scikit-learn's API on sknn's kernels."""

from numbers import Real

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import column_or_1d
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import (
    check_classification_targets,
    type_of_target,
    unique_labels,
)

from ._base import BaseMLP
from ._compat import Interval, StrOptions, check_partial_fit_first_call, fit_context
from ._transaction import fit_transaction
from ._validation import check_class_weight, check_classes

_COMMON_PARAMS = """
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element is the number of neurons in the ith hidden layer.

    activation : {'identity', 'logistic', 'sigmoid', 'tanh', 'relu', \
'leaky_relu', 'softplus', 'elu', 'selu', 'gelu'}, default='relu'
        Activation of the hidden layers. The first four are scikit-learn's;
        'sigmoid' is an alias of 'logistic'; 'leaky_relu' has slope 0.01 below
        zero; 'gelu' is the exact (erf) form.

    solver : {'lbfgs', 'sgd', 'adam'}, default='adam'
        Weight optimiser: L-BFGS (scipy), SGD with momentum, or Adam.

    alpha : float, default=0.0001
        Strength of the L2 penalty, divided by the (weighted) sample count as
        in scikit-learn.

    batch_size : int or 'auto', default='auto'
        Mini-batch size of the stochastic solvers; 'auto' is
        ``min(200, n_samples)``.

    learning_rate : {'constant', 'invscaling', 'adaptive', 'cosine', 'one_cycle'}, \
default='constant'
        Learning-rate schedule. 'invscaling' and 'adaptive' are scikit-learn's
        and apply to ``solver='sgd'`` only. 'cosine' (both solvers) falls from
        ``learning_rate_init`` to zero over ``max_iter`` epochs along a cosine;
        'one_cycle' (both solvers) warms up linearly from
        ``learning_rate_init / 25`` to ``learning_rate_init`` over the first 30%
        of ``max_iter``, then follows the cosine to zero. The rate changes
        between epochs; ``history_["learning_rate"]`` shows each epoch's.

    learning_rate_init : float, default=0.001
        Initial learning rate (sgd and adam).

    power_t : float, default=0.5
        Exponent of the 'invscaling' schedule.

    max_iter : int, default=200
        Maximum number of epochs (stochastic solvers) or iterations (lbfgs).

    shuffle : bool, default=True
        Whether to shuffle the samples every epoch.

    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, the early-stopping split and the batch
        order, drawn in scikit-learn's order (same seed, same trajectory).

    tol : float, default=1e-4
        Improvement below which an epoch counts as no progress.

    verbose : bool or int, default=False
        True/1 prints scikit-learn's "Iteration N, loss = ..." lines; 2 prints a
        Keras-style line per epoch with validation figures and time.

    warm_start : bool, default=False
        Reuse the previous solution as initialisation on the next ``fit``.

    momentum : float, default=0.9
        Momentum of ``solver='sgd'``.

    nesterovs_momentum : bool, default=True
        Whether sgd uses Nesterov's momentum.

    early_stopping : bool, default=False
        Stop when the validation score stops improving, on a
        ``validation_fraction`` split or on ``validation_data`` given to ``fit``;
        the best weights are restored.

    validation_fraction : float, default=0.1
        Fraction of the training data set aside for early stopping.

    beta_1 : float, default=0.9
        Adam's first-moment decay.

    beta_2 : float, default=0.999
        Adam's second-moment decay.

    epsilon : float, default=1e-8
        Adam's numerical-stability term.

    n_iter_no_change : int or np.inf, default=10
        Epochs without ``tol`` improvement before stopping. ``np.inf`` turns
        the convergence test off: the stochastic solvers then train exactly
        ``max_iter`` epochs (Keras' ``epochs=max_iter``) and, unlike
        scikit-learn, emit no ConvergenceWarning for reaching that budget.

    max_fun : int, default=15000
        Maximum loss-function calls of ``solver='lbfgs'``.
"""

# Batch normalization's two constants, shared with MLPAutoencoder's docstring.
_BATCH_NORM_RATE_PARAMS = """
    batch_norm_momentum : float, default=0.99
        Momentum of the moving averages, ``moving = momentum * moving +
        (1 - momentum) * batch`` (Keras' default), in [0, 1].

    batch_norm_epsilon : float, default=1e-3
        Added to the variance before its square root (Keras' default), > 0.
"""

_EXTRA_PARAMS = """
    weight_init : {'glorot_uniform', 'glorot_normal', 'he_uniform', \
'he_normal', 'lecun_normal'}, default='glorot_uniform'
        Initialisation scheme. 'glorot_uniform' is scikit-learn's own (weights
        and biases uniform in +-sqrt(6/(fan_in+fan_out)), factor 2 for logistic
        units); the others are Keras' and start biases at zero.

    wide_features : None, 'all' or array-like of int or str, default=None
        Columns of X fed straight to the output layer beside the last hidden
        layer (a wide & deep network). ``coefs_[-1]`` then has
        ``n_wide + hidden_layer_sizes[-1]`` rows, the wide columns first.
        Column names (str) work when X is a DataFrame.

    deep_features : None or array-like of int or str, default=None
        Columns of X that enter the hidden layers; None means all of them.
        Column names (str) work when X is a DataFrame.

    dropout : float or array-like of float, default=0.0
        Inverted dropout on each hidden layer's output while training with
        'sgd' or 'adam': a unit is zeroed with this probability and kept units
        are scaled by ``1 / (1 - rate)``. A sequence gives one rate per hidden
        layer. The input layer is never dropped. Prediction, scoring and the
        validation loss use the whole network. Masks come from
        ``random_state``: the same seed trains the same model in any process.
        Not available with ``solver='lbfgs'``.

    batch_normalization : bool, default=False
        Make every hidden layer Dense without bias -> batch normalization
        (``gamma * (z - mean) / sqrt(var + eps) + beta``) -> activation, where
        Keras users put ``BatchNormalization``. Training normalises with the
        batch's sample-weighted statistics (a zero-weight row moves nothing)
        and updates moving averages; prediction uses the moving averages, so
        each row is predicted independently of the others. With
        ``solver='lbfgs'`` the batch is the whole training set and the moving
        statistics are those of the training set at the final weights.
""" + _BATCH_NORM_RATE_PARAMS + """
    auxiliary_loss_weight : float, default=0.0
        With ``wide_features`` set, a weight ``w`` in (0, 1) adds an auxiliary
        output layer on the deep path's last hidden layer that predicts the same
        target, and training minimises ``(1 - w) * main_loss + w * aux_loss``
        (Keras' ``loss_weights=(0.9, 0.1)`` is ``w=0.1``). Prediction uses the
        main output; ``history_`` gains "aux_loss" (and "val_aux_loss" with a
        validation set), Keras' ``aux_output_loss``.

    callbacks : list of callback objects, default=None
        Objects with any of ``on_train_begin(estimator, logs)``,
        ``on_epoch_end(estimator, epoch, logs)`` (return True to stop) and
        ``on_train_end(estimator, logs)``; see :mod:`sknn.callbacks`. ``fit``
        works on deep copies, kept in ``callbacks_``.

    scoring : str, list of str or dict, default=None
        Metrics recorded every epoch, as scikit-learn scorer names (e.g.
        "accuracy", "neg_root_mean_squared_error") or a dict ``{name:
        scorer}`` (a scorer is a name or ``callable(estimator, X, y)``). Each
        metric is computed at the end of the epoch on the training data
        (history key ``name``) and on the validation set (``"val_" + name``),
        shown by ``verbose=2`` and :class:`~sknn.HistoryDisplay`, and usable as
        a callback monitor (greater is better, scikit-learn's convention).
        Costs one prediction pass over each set per epoch.

    n_jobs : int, default=None
        Threads for training and prediction. Each large batch (and each
        prediction) is split by rows into chunks that idle threads take one at
        a time; the chunks depend on the batch size and the network only, so
        the weights are bitwise the same on any number of threads. ``None``:
        as many threads as a batch has chunks (one for small networks and
        batches), at most the cores this process may use and the BLAS thread
        limit set by threadpoolctl or by joblib inside a search's workers. An
        int sets the count; -1 means all cores. See :ref:`performance`.
"""

# fit's validation-set parameters, shared by both estimators' fit docstrings.
_FIT_VALIDATION_PARAMS = """\
        X_val : {array-like, sparse matrix} of shape (n_val, n_features), default=None
            A fixed validation set, scored every epoch ("val_loss", "val_score"
            and the ``scoring`` metrics in ``history_``); it replaces the
            ``validation_fraction`` split when ``early_stopping=True``. In a
            :class:`~sklearn.pipeline.Pipeline`, ``X_val`` is transformed like
            ``X`` with ``Pipeline(..., transform_input=["X_val"])`` and metadata
            routing (scikit-learn's HistGradientBoosting signature).
        y_val : array-like of shape (n_val,) or (n_val, n_outputs), default=None
            Targets of ``X_val``; required with it.
        sample_weight_val : array-like of shape (n_val,), default=None
            Weights of the validation samples.
        validation_data : tuple (X_val, y_val[, sample_weight_val]), default=None
            Deprecated since 0.2, removed in 0.3: use ``X_val``, ``y_val`` and
            ``sample_weight_val``.
"""

_ATTRIBUTES = """
    loss_ : float
        The loss at the end of training (loss + L2 term, weighted mean).

    best_loss_ : float or None
        Minimum training loss (stochastic solvers, without early stopping).

    loss_curve_ : list of float
        Training loss per epoch (stochastic solvers).

    validation_scores_ : list of float or None
        Validation score per epoch when ``early_stopping=True``.

    best_validation_score_ : float or None
        Best validation score when ``early_stopping=True``.

    t_ : int
        Number of training samples seen by the solver.

    coefs_ : list of ndarray
        Weight matrices, views of one flat parameter buffer.

    intercepts_ : list of ndarray
        Bias vectors, views of the same buffer.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of str
        Feature names seen during fit, when X had string column names.

    n_iter_ : int
        Epochs (or L-BFGS iterations) run by the last ``fit``/``partial_fit`` call.

    n_layers_ : int
        Number of layers, input and output included.

    n_outputs_ : int
        Number of network outputs.

    out_activation_ : str
        Name of the output activation.

    history_ : dict of list
        Per-epoch "loss", "learning_rate", "epoch_time" and, with a validation
        set, "val_loss" and "val_score"; the ``scoring`` metrics (and their
        ``"val_"`` forms); keys callbacks add to ``logs`` (None for epochs before
        a key first appeared). Continues across warm starts and
        ``partial_fit`` calls.

    callbacks_ : list
        The deep copies of ``callbacks`` used by the last fit.

    optimizer_ : object
        The optimizer of the last fit with ``solver='sgd'`` or ``'adam'``
        (SGD velocity or Adam moments, the current rate). Its
        ``set_learning_rate(rate)`` sets the next epoch's learning rate, the
        one public way for a callback to do so; ``learning_rate`` is the rate
        the next epoch will use.

    batch_norm_gamma_ : list of ndarray or None
        Per hidden layer, the scale ``gamma`` of batch normalization (a view of
        the flat parameter buffer); None when ``batch_normalization=False``.

    batch_norm_beta_ : list of ndarray or None
        Per hidden layer, the shift ``beta``: the hidden layers have no bias of
        their own, and ``intercepts_[i]`` of a hidden layer is this same array.

    batch_norm_moving_mean_ : list of ndarray or None
        Per hidden layer, the moving mean of the pre-normalization values.

    batch_norm_moving_variance_ : list of ndarray or None
        Per hidden layer, the moving variance.

    auxiliary_coef_ : ndarray or None
        Weights of the auxiliary output layer (``auxiliary_loss_weight > 0``).

    auxiliary_intercept_ : ndarray or None
        Bias of the auxiliary output layer.
"""


_NON_NEGATIVE_OUTPUTS = ("relu", "softplus", "exp")


def _numeric_targets(y, name):
    """A regressor's targets as numbers (validate_data converts object y, not strings)."""
    if y.dtype.kind in "biuf":
        return y
    try:
        return y.astype(np.float64)
    except ValueError as exc:
        raise ValueError(f"{name} must hold numbers for a regressor; {exc}") from exc


def _check_solver(est):
    if est.solver not in ("sgd", "adam"):
        raise AttributeError(
            f"partial_fit is only available for stochastic optimizers. {est.solver} is "
            "not stochastic."
        )
    return True


class MLPClassifier(ClassifierMixin, BaseMLP):
    __doc__ = f"""Multi-layer perceptron classifier, a drop-in for scikit-learn's.

    Minimises the log-loss (softmax output for multiclass, logistic outputs for
    binary and multilabel targets) with Adam, SGD or L-BFGS; forward pass,
    backward pass and optimiser steps run in Numba kernels.

    Parameters
    ----------
{_COMMON_PARAMS}
    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes, multiplied into ``sample_weight`` in the loss
        and its gradient. 'balanced' uses ``n_samples / (n_classes * bincount(y))``.
{_EXTRA_PARAMS}
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
{_ATTRIBUTES}
    See Also
    --------
    MLPRegressor : Multi-layer perceptron regressor.
    Perceptron : Linear threshold units.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sknn import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier(hidden_layer_sizes=(20,), solver="lbfgs",
    ...                     random_state=0).fit(X, y)
    >>> clf.predict(X[:3])
    array([0, 0, 0])
    """

    _parameter_constraints: dict = {
        **BaseMLP._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        class_weight=None,
        weight_init="glorot_uniform",
        wide_features=None,
        deep_features=None,
        dropout=0.0,
        batch_normalization=False,
        batch_norm_momentum=0.99,
        batch_norm_epsilon=1e-3,
        auxiliary_loss_weight=0.0,
        callbacks=None,
        scoring=None,
        n_jobs=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.class_weight = class_weight
        self.weight_init = weight_init
        self.wide_features = wide_features
        self.deep_features = deep_features
        self.dropout = dropout
        self.batch_normalization = batch_normalization
        self.batch_norm_momentum = batch_norm_momentum
        self.batch_norm_epsilon = batch_norm_epsilon
        self.auxiliary_loss_weight = auxiliary_loss_weight
        self.callbacks = callbacks
        self.scoring = scoring
        self.n_jobs = n_jobs

    @fit_transaction
    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None, sample_weight_val=None,
            validation_data=None):
        """Fit the model to data X and labels y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a label indicator matrix for multilabel.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights in the loss and its gradient.
{_FIT_VALIDATION_PARAMS}
        Returns
        -------
        self : MLPClassifier
            The fitted estimator.
        """
        validation = self._validation_set(X_val, y_val, sample_weight_val, validation_data)
        return self._fit(X, y, sample_weight, incremental=False, validation_data=validation)

    @available_if(_check_solver)
    @fit_transaction
    @fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Run one epoch of the stochastic solver on (X, y).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights.
        classes : array-like of shape (n_classes,), default=None
            All classes; required on the first call (except multilabel y).

        Returns
        -------
        self : MLPClassifier
            The updated estimator.
        """
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    # --- targets
    def _begin_fit(self, y, incremental, classes):
        if classes is not None:
            classes = check_classes(classes)
        if incremental and check_partial_fit_first_call(self, classes):
            # Fitted in _validate_targets: y is looked at only once validated.
            self._label_binarizer = LabelBinarizer()

    def _check_targets(self, y):
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        return y

    def _validate_targets(self, y, incremental):
        y = self._check_targets(y)
        if incremental and not hasattr(self._label_binarizer, "classes_"):
            multilabel = type_of_target(y).startswith("multilabel")
            self._label_binarizer.fit(y if multilabel else self.classes_)
        if "classes_" not in self.__dict__ or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            # One class fits and predicts that class, as scikit-learn's MLP does.
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start and not incremental:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as in "
                        f"the previous call to fit. Previously got {self.classes_}, `y` "
                        f"has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    f"`y` has classes not in `self.classes_`. `self.classes_` has "
                    f"{self.classes_}. 'y' has {classes}."
                )
        return y, self._label_binarizer.transform(y)

    def _encode_validation_targets(self, y):
        check_classification_targets(y)
        unknown = np.setdiff1d(unique_labels(y), self.classes_)
        if len(unknown):
            raise ValueError(
                f"y_val has classes not seen in training: {unknown}; "
                f"known classes are {self.classes_}."
            )
        return self._label_binarizer.transform(y)

    def _fit_sample_weight(self, y, sw, incremental):
        if self.class_weight is None:
            return sw
        if self._label_binarizer.y_type_.startswith("multilabel"):
            raise ValueError("class_weight is not supported for multilabel y; use sample_weight.")
        if isinstance(self.class_weight, str) and incremental:
            raise ValueError(
                "class_weight='balanced' is not supported for partial_fit: the class "
                "frequencies of one batch are not those of the data. Pass a dict "
                "computed on the whole data (sklearn.utils.class_weight.compute_class_weight)."
            )
        weights = check_class_weight(self.class_weight, self.classes_, y)
        return sw * weights[np.searchsorted(self.classes_, y)].astype(sw.dtype)

    def _output_activation(self):
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _loss_name(self):
        return "log_loss" if self.out_activation_ == "softmax" else "binary_log_loss"

    def _score_predictions(self, y, raw, sample_weight):
        return accuracy_score(y, self._decode(raw), sample_weight=sample_weight)

    def _decode(self, raw):
        if self.n_outputs_ == 1:
            raw = raw.ravel()
        return self._label_binarizer.inverse_transform(raw)

    # --- prediction
    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
            Predicted labels.
        """
        return self._decode(self._forward(X))

    def predict_proba(self, X):
        """Probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Class probabilities, in the order of ``classes_``.
        """
        raw = self._forward(X)
        if self.out_activation_ == "logistic":
            # A saturated sigmoid rounds to exactly 0 or 1; probabilities stay
            # strictly inside (0, 1) (finite predict_log_proba, scikit-learn's
            # multilabel contract). predict thresholds the raw output, unchanged.
            edge = 1 - np.nextafter(raw.dtype.type(1), raw.dtype.type(0))
            np.clip(raw, edge, 1 - edge, out=raw)
        if self.n_outputs_ == 1:
            p = raw.ravel()
            return np.vstack([1 - p, p]).T
        return raw

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log class probabilities.
        """
        proba = self.predict_proba(X)
        return np.log(proba, out=proba)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, BaseMLP):
    __doc__ = f"""Multi-layer perceptron regressor, a drop-in for scikit-learn's.

    Minimises squared error (or Poisson deviance, absolute error or Huber loss)
    with Adam, SGD or L-BFGS; forward pass, backward pass and optimiser steps
    run in Numba kernels.

    Parameters
    ----------
    loss : {{'squared_error', 'poisson', 'absolute_error', 'huber'}}, \
default='squared_error'
        Loss per output, summed over outputs. 'squared_error' and 'poisson' are
        scikit-learn's half squared error and half Poisson deviance (the latter
        with an exp output unless ``output_activation`` says otherwise);
        'absolute_error' is robust to outliers; 'huber' is quadratic for
        residuals up to ``huber_delta`` and linear beyond.
{_COMMON_PARAMS}
    huber_delta : float, default=1.0
        Threshold of the Huber loss (> 0), in units of y.

    output_activation : {{'identity', 'relu', 'softplus', 'sigmoid', 'tanh'}}, \
default='identity'
        Activation of the output layer. 'relu'/'softplus' keep predictions
        non-negative (their output bias starts at the inverse activation of the
        weighted mean target, so training starts at the right scale); 'sigmoid'
        ([0, 1]) and 'tanh' ([-1, 1]) are bounded and reject targets outside
        their range.
{_EXTRA_PARAMS}
    Attributes
    ----------
{_ATTRIBUTES}
    Notes
    -----
    For several outputs the loss is summed over outputs (scikit-learn reports
    the squared error averaged over outputs while following the gradient of the
    sum); single-output losses equal scikit-learn's.

    See Also
    --------
    MLPClassifier : Multi-layer perceptron classifier.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sknn import MLPRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = MLPRegressor(hidden_layer_sizes=(20,), solver="lbfgs", max_iter=500,
    ...                    random_state=0).fit(X, y)
    >>> reg.predict(X[:2]).shape
    (2,)
    """

    _parameter_constraints: dict = {
        **BaseMLP._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson", "absolute_error", "huber"})],
        "huber_delta": [Interval(Real, 0, None, closed="neither")],
        "output_activation": [
            StrOptions({"identity", "relu", "softplus", "sigmoid", "logistic", "tanh"})
        ],
    }

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        huber_delta=1.0,
        output_activation="identity",
        weight_init="glorot_uniform",
        wide_features=None,
        deep_features=None,
        dropout=0.0,
        batch_normalization=False,
        batch_norm_momentum=0.99,
        batch_norm_epsilon=1e-3,
        auxiliary_loss_weight=0.0,
        callbacks=None,
        scoring=None,
        n_jobs=None,
    ):
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.huber_delta = huber_delta
        self.output_activation = output_activation
        self.weight_init = weight_init
        self.wide_features = wide_features
        self.deep_features = deep_features
        self.dropout = dropout
        self.batch_normalization = batch_normalization
        self.batch_norm_momentum = batch_norm_momentum
        self.batch_norm_epsilon = batch_norm_epsilon
        self.auxiliary_loss_weight = auxiliary_loss_weight
        self.callbacks = callbacks
        self.scoring = scoring
        self.n_jobs = n_jobs

    @fit_transaction
    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None, sample_weight_val=None,
            validation_data=None):
        """Fit the model to data X and targets y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights in the loss and its gradient.
{_FIT_VALIDATION_PARAMS}
        Returns
        -------
        self : MLPRegressor
            The fitted estimator.
        """
        validation = self._validation_set(X_val, y_val, sample_weight_val, validation_data)
        return self._fit(X, y, sample_weight, incremental=False, validation_data=validation)

    @available_if(_check_solver)
    @fit_transaction
    @fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Run one epoch of the stochastic solver on (X, y).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights.

        Returns
        -------
        self : MLPRegressor
            The updated estimator.
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def _check_targets(self, y):
        y = _numeric_targets(y, "y")
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and self.output_activation == "tanh":
            raise ValueError(
                "loss='poisson' models a positive mean, but output_activation='tanh' "
                "predicts negative values; use output_activation='identity' (an exp "
                "output), 'softplus', 'relu' or 'sigmoid'."
            )
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError(
                "loss='poisson' needs non-negative targets y; got a minimum of "
                f"{np.min(y)}."
            )
        return y

    def _validate_targets(self, y, incremental):
        y = self._check_targets(y)
        return y, y.reshape(len(y), -1)

    def _encode_validation_targets(self, y):
        y = _numeric_targets(y, "y_val")
        return y.reshape(len(y), -1)

    def _check_targets_for_output(self, Y):
        bounds = {"sigmoid": (0.0, 1.0), "logistic": (0.0, 1.0), "tanh": (-1.0, 1.0)}
        if self.output_activation in bounds:
            lo, hi = bounds[self.output_activation]
            if Y.min() < lo or Y.max() > hi:
                raise ValueError(
                    f"output_activation={self.output_activation!r} predicts values in "
                    f"[{lo:g}, {hi:g}], but y ranges over [{Y.min():g}, {Y.max():g}]. "
                    f"Scale the targets into [{lo:g}, {hi:g}], e.g. "
                    "TransformedTargetRegressor(regressor=MLPRegressor(...), "
                    f"transformer=MinMaxScaler(feature_range=({lo:g}, {hi:g})))."
                )

    def _output_bias_offset(self, Y, sw):
        # A relu / softplus output starts near zero while its targets may sit far
        # above it; start its bias at the inverse activation of the weighted target
        # mean (softplus^-1(m) = m + log(1 - exp(-m))), as Keras users set a final
        # bias. Other outputs keep scikit-learn's initialisation.
        if self.output_activation not in ("relu", "softplus"):
            return 0.0
        mean = np.average(Y, axis=0, weights=sw)
        mean = np.where(mean > 0, mean, 0.0)
        if self.output_activation == "relu":
            return mean
        with np.errstate(divide="ignore"):
            return np.where(mean > 0, mean + np.log(-np.expm1(-mean)), 0.0)

    def _output_activation(self):
        if self.loss == "poisson" and self.output_activation == "identity":
            return "exp"
        return self.output_activation

    def _loss_name(self):
        return self.loss

    def _huber_delta(self):
        return float(self.huber_delta)

    def _score_predictions(self, y, raw, sample_weight):
        return r2_score(y, raw.ravel() if raw.shape[1] == 1 else raw, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Outputs that cannot go below zero (relu, softplus, Poisson's
        # exp) fit only non-negative targets; the estimator checks then draw
        # positive y.
        tags.target_tags.positive_only = self._output_activation() in _NON_NEGATIVE_OUTPUTS
        return tags

    def predict(self, X):
        """Predict using the multi-layer perceptron.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predicted values.
        """
        raw = self._forward(X)
        return raw.ravel() if raw.shape[1] == 1 else raw


for _cls in (MLPClassifier, MLPRegressor):
    _cls.fit.__doc__ = _cls.fit.__doc__.replace("{_FIT_VALIDATION_PARAMS}",
                                                _FIT_VALIDATION_PARAMS)
