"""MLPAutoencoder: a scikit-learn transformer on the MLP engine.

The autoencoder is an MLP whose target is its input: the hidden layers, a code
layer of ``n_components`` units, the hidden layers mirrored, and ``n_features``
outputs.  ``BaseMLP`` trains it like any MLP (same kernels, epoch loop,
callbacks, history, early stopping, L-BFGS); this class says what the target
is, runs the encoder (``transform``) and decoder (``inverse_transform``) as runs
of the network's layers, and scores rows by their reconstruction error.
"""

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_array, check_is_fitted

from . import _contract as contract
from ._base import BaseMLP, _block
from ._compat import Interval, StrOptions, fit_context
from ._kernels.activations import HIDDEN_ACTIVATIONS
from ._layers import layer_options
from ._mlp import _BATCH_NORM_RATE_PARAMS, _COMMON_PARAMS, _check_solver
from ._transaction import fit_transaction

#: The engine's parameters the autoencoder does not take (class-level defaults).
_ENGINE_ONLY = ("wide_features", "deep_features", "auxiliary_loss_weight", "scoring")

#: Bounded reconstructions: the range X must lie in for these settings.
_UNIT_RANGE = (0.0, 1.0)


def _any_positive(dropout):
    """Whether a ``dropout`` parameter asks for any dropout at all (a malformed one
    is left to ``layer_options``' message)."""
    try:
        return bool(np.any(np.asarray(dropout, dtype=np.float64) > 0))
    except (TypeError, ValueError):
        return False


class MLPAutoencoder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseMLP):
    __doc__ = f"""Autoencoder: a multi-layer perceptron trained to reproduce its input.

    The network maps X through ``hidden_layer_sizes`` to a code layer of
    ``n_components`` units (the encoder) and back through the hidden sizes
    reversed to ``n_features`` outputs (the decoder), minimising the
    reconstruction loss. ``transform`` returns the codes (a non-linear PCA),
    ``inverse_transform`` decodes them, and ``score_samples`` is minus each
    row's reconstruction error (an outlier score, higher is more normal).

    Parameters
    ----------
    n_components : int, default=2
        Units of the code layer: the number of output features of ``transform``.

    hidden_layer_sizes : array-like of int, default=(100,)
        Hidden layers of the encoder; the decoder mirrors them. ``()`` gives a
        linear code between input and output.

    activation : {{'identity', 'logistic', 'sigmoid', 'tanh', 'relu', \
'leaky_relu', 'softplus', 'elu', 'selu', 'gelu'}}, default='relu'
        Activation of the encoder's and decoder's hidden layers.

    code_activation : same options as ``activation``, default='identity'
        Activation of the code layer. 'identity' leaves the codes unbounded,
        like PCA's scores.

    output_activation : {{'identity', 'sigmoid'}}, default='identity'
        Activation of the reconstruction. 'sigmoid' bounds it to [0, 1] (pixel
        intensities) and then X must lie in [0, 1].

    loss : {{'squared_error', 'binary_crossentropy'}}, default='squared_error'
        Reconstruction loss summed over features: half squared error, or binary
        cross-entropy against X in [0, 1] (needs ``output_activation='sigmoid'``;
        the Keras course's autoencoder).

    noise : float, default=0.0
        Standard deviation of Gaussian noise added to the inputs (not to the
        targets) while training, fresh every epoch: a denoising autoencoder.
        Sparse X is densified for that. Needs a stochastic solver.
{_COMMON_PARAMS}
    weight_init : {{'glorot_uniform', 'glorot_normal', 'he_uniform', \
'he_normal', 'lecun_normal'}}, default='glorot_uniform'
        Initialisation scheme (as in :class:`MLPRegressor`).

    dropout : float or array-like of float, default=0.0
        Inverted dropout on the encoder's and decoder's hidden layers while
        training with 'sgd' or 'adam' (as in :class:`MLPRegressor`). A sequence
        gives one rate per entry of ``hidden_layer_sizes``, mirrored in the
        decoder. The input and the code layer are never dropped.

    batch_normalization : bool, default=False
        Batch normalization on every hidden layer, the code layer included (as
        in :class:`MLPRegressor`): Dense without bias -> normalization ->
        activation. At prediction it is folded into the weights, so
        ``transform`` stays one network of plain layers.
{_BATCH_NORM_RATE_PARAMS}
    callbacks : list of callback objects, default=None
        As in :class:`MLPRegressor`; see :mod:`sknn.callbacks`.

    n_jobs : int, default=None
        Threads for training and transform, as in :class:`MLPRegressor`
        (``None``: sknn decides; see :ref:`performance`).

    Attributes
    ----------
    loss_ : float
        The loss at the end of training (loss + L2 term, weighted mean).

    best_loss_ : float or None
        Minimum training loss (stochastic solvers, without early stopping).

    loss_curve_ : list of float
        Training loss per epoch (stochastic solvers).

    validation_scores_ : list of float or None
        Validation score (``score``: minus the mean reconstruction error) per
        epoch when ``early_stopping=True``.

    best_validation_score_ : float or None
        Best validation score when ``early_stopping=True``.

    t_ : int
        Number of training samples seen by the solver.

    coefs_ : list of ndarray
        Weight matrices, encoder then decoder; ``coefs_[len(hidden_layer_sizes)]``
        maps the last encoder layer to the code.

    intercepts_ : list of ndarray
        Bias vectors.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of str
        Feature names seen during fit, when X had string column names.

    n_iter_ : int
        Epochs (or L-BFGS iterations) run by the last ``fit``/``partial_fit`` call.

    n_layers_ : int
        Number of layers, input and output included.

    n_outputs_ : int
        Number of network outputs (``n_features_in_``).

    out_activation_ : str
        Name of the output activation.

    history_ : dict of list
        Per-epoch "loss", "learning_rate", "epoch_time" and, with a validation
        set, "val_loss" and "val_score".

    callbacks_ : list
        The deep copies of ``callbacks`` used by the last fit.

    batch_norm_gamma_, batch_norm_beta_ : list of ndarray or None
        Per hidden layer (the code layer included), batch normalization's scale
        and shift, as in :class:`MLPRegressor`; None when
        ``batch_normalization=False``.

    batch_norm_moving_mean_, batch_norm_moving_variance_ : list of ndarray or None
        Per hidden layer, the moving statistics prediction normalises with.

    See Also
    --------
    sklearn.decomposition.PCA : The linear counterpart.
    MLPRegressor : The engine's regressor.

    Notes
    -----
    The reconstruction error of a row is the mean over features of the squared
    error ``(x - x_hat) ** 2`` (``loss='squared_error'``; PCA's reconstruction
    error) or of the binary cross-entropy (``loss='binary_crossentropy'``).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sknn import MLPAutoencoder
    >>> X = load_digits().data / 16
    >>> ae = MLPAutoencoder(n_components=2, max_iter=20, random_state=0).fit(X)
    >>> ae.transform(X[:3]).shape
    (3, 2)
    >>> ae.get_feature_names_out()
    array(['mlpautoencoder0', 'mlpautoencoder1'], dtype=object)
    """

    _parameter_constraints: dict = {
        **{k: v for k, v in BaseMLP._parameter_constraints.items()
           if k not in _ENGINE_ONLY},
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "code_activation": [StrOptions(set(HIDDEN_ACTIVATIONS))],
        "output_activation": [StrOptions({"identity", "sigmoid", "logistic"})],
        "loss": [StrOptions({"squared_error", "binary_crossentropy"})],
        "noise": [Interval(Real, 0, None, closed="left")],
    }

    # Every column enters the encoder; no wide path, so no auxiliary output on
    # it; no per-epoch scorers (the engine reads these).
    wide_features = None
    deep_features = None
    auxiliary_loss_weight = 0.0
    scoring = None

    def __init__(
        self,
        n_components=2,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        code_activation="identity",
        output_activation="identity",
        loss="squared_error",
        noise=0.0,
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
        weight_init="glorot_uniform",
        dropout=0.0,
        batch_normalization=False,
        batch_norm_momentum=0.99,
        batch_norm_epsilon=1e-3,
        callbacks=None,
        n_jobs=None,
    ):
        self.n_components = n_components
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.code_activation = code_activation
        self.output_activation = output_activation
        self.loss = loss
        self.noise = noise
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
        self.weight_init = weight_init
        self.dropout = dropout
        self.batch_normalization = batch_normalization
        self.batch_norm_momentum = batch_norm_momentum
        self.batch_norm_epsilon = batch_norm_epsilon
        self.callbacks = callbacks
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------ fit
    @fit_transaction
    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None, *, X_val=None, sample_weight_val=None):
        """Train the autoencoder to reconstruct X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; also the target.
        y : None
            Ignored (scikit-learn's transformer signature).
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights in the loss and its gradient.
        X_val : {array-like, sparse matrix} of shape (n_val, n_features), default=None
            A fixed validation set scored every epoch (``history_["val_loss"]``,
            ``"val_score"``); it replaces the ``validation_fraction`` split when
            ``early_stopping=True``.
        sample_weight_val : array-like of shape (n_val,), default=None
            Weights of the validation rows.

        Returns
        -------
        self : MLPAutoencoder
            The fitted estimator.
        """
        if X_val is None and sample_weight_val is not None:
            raise ValueError("sample_weight_val is provided, but X_val was not.")
        # The validation target is X_val itself, dense (the engine's targets are).
        y_val = None if X_val is None else X_val.toarray() if sp.issparse(X_val) else X_val
        validation = self._validation_set(X_val, y_val, sample_weight_val, None)
        X = self._densify_for_noise(X)
        # The target is X itself, validated by the engine like any y.
        return self._fit(X, X, sample_weight, incremental=False, validation_data=validation)

    @available_if(_check_solver)
    @fit_transaction
    @fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, sample_weight=None):
        """Run one epoch of the stochastic solver on X (a batch of a stream).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights.

        Returns
        -------
        self : MLPAutoencoder
            The updated estimator.
        """
        X = self._densify_for_noise(X)
        return self._fit(X, X, sample_weight, incremental=True)

    def _densify_for_noise(self, X):
        """Noise makes every input non-zero: sparse X is trained on as dense."""
        return X.toarray() if self.noise > 0 and sp.issparse(X) else X

    # ------------------------------------------------------- engine hooks
    def _begin_fit(self, y, incremental, classes):
        if self.loss == "binary_crossentropy" and self.output_activation == "identity":
            raise ValueError(
                "loss='binary_crossentropy' compares reconstructions in (0, 1) with X in "
                "[0, 1]; it needs output_activation='sigmoid', got 'identity'."
            )
        if self.noise > 0 and self.solver == "lbfgs":
            raise ValueError(
                f"noise={self.noise!r} draws new noise every epoch, a stochastic objective "
                "L-BFGS's line search cannot follow; use solver='adam' or 'sgd', or noise=0."
            )
        if self.noise > 0:
            # One seed per fit call, from random_state; each epoch's noise is drawn
            # from (seed, epoch number), so same random_state => same model.
            self._noise_seed = int(check_random_state(self.random_state).randint(2**31 - 1))

    def _hidden_sizes(self):
        hidden = super()._hidden_sizes()
        return hidden + [int(self.n_components)] + hidden[::-1]

    def _layer_options(self, n_hidden):
        # Dropout is given per encoder hidden layer and mirrored in the decoder;
        # the code layer is never dropped (it is the representation itself).
        n_enc = (n_hidden - 1) // 2
        if n_enc == 0 and _any_positive(self.dropout):
            raise ValueError(
                f"dropout={self.dropout!r} acts on the encoder's and decoder's hidden "
                "layers, and hidden_layer_sizes=() has none (the code layer is never "
                "dropped); set hidden_layer_sizes or dropout=0.0."
            )
        layers = layer_options(self, n_enc)
        if layers.has_dropout:
            layers.dropout = np.concatenate([layers.dropout, [0.0], layers.dropout[::-1]])
        return layers

    def _n_encoder_layers(self):
        """Layers from the input to the code (the weight matrices of the encoder)."""
        return (len(self._layout) + 1) // 2

    def _layer_activations(self):
        n_hidden = len(self._layout) - 1
        acts = [self.activation] * n_hidden
        acts[self._n_encoder_layers() - 1] = self.code_activation
        return acts

    def _layer_names(self):
        """Names of the hidden layers in ``summary()``."""
        n_enc = self._n_encoder_layers()
        return ([f"encoder_{i + 1}" for i in range(n_enc - 1)] + ["code"]
                + [f"decoder_{i + 1}" for i in range(n_enc - 1)])

    def _validate_targets(self, y, incremental):
        Y = y.toarray() if sp.issparse(y) else np.asarray(y)
        return Y, Y

    def _encode_validation_targets(self, y):
        return y.reshape(len(y), -1)

    def _check_targets_for_output(self, Y):
        bounded = self.output_activation in ("sigmoid", "logistic")
        if not bounded and self.loss != "binary_crossentropy":
            return
        lo, hi = _UNIT_RANGE
        if Y.size and (Y.min() < lo or Y.max() > hi):
            why = ("loss='binary_crossentropy'" if self.loss == "binary_crossentropy"
                   else f"output_activation={self.output_activation!r}")
            raise ValueError(
                f"{why} reconstructs values in [{lo:g}, {hi:g}], but X ranges over "
                f"[{Y.min():g}, {Y.max():g}]. Scale X into [{lo:g}, {hi:g}] first, e.g. "
                "make_pipeline(MinMaxScaler(), MLPAutoencoder(...)) (with clip=True for "
                "new data), or use output_activation='identity' and loss='squared_error'."
            )

    def _output_activation(self):
        return "logistic" if self.output_activation in ("sigmoid", "logistic") else "identity"

    def _loss_name(self):
        return self.loss

    def _score_predictions(self, y, raw, sample_weight):
        errors = self._reconstruction_error(y.reshape(len(y), -1), raw)
        return -float(np.average(errors, weights=sample_weight))

    def _train_epoch(self, records, sample_idx, batch_size):
        if not self.noise > 0:
            return super()._train_epoch(records, sample_idx, batch_size)
        # A denoising epoch: the network sees X + noise, the target stays X.
        net, obj, data, ws, chunked = records
        X = data.deep[0]  # dense: _densify_for_noise
        epoch = len(self.history_["loss"])
        rng = np.random.default_rng([self._noise_seed, epoch])
        noisy = X + X.dtype.type(self.noise) * rng.standard_normal(X.shape, dtype=X.dtype)
        noisy_data = contract.data(_block(noisy, X.dtype), data.wide, data.Y, data.sw)
        return super()._train_epoch((net, obj, noisy_data, ws, chunked), sample_idx, batch_size)

    # ---------------------------------------------------------- inference
    def transform(self, X):
        """Encode X: the code layer's output.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        codes : ndarray of shape (n_samples, n_components)
            The codes, in the model's dtype (float32 for a float32 fit).
        """
        X = self._prediction_input(X)
        self._check_layout()
        theta, net = self._plain_network()
        net = contract.sub_network(net, 0, self._n_encoder_layers(), self.code_activation)
        deep, wide = self._input_blocks(X)
        return self._run_network(theta, net, deep, wide, X.shape[0])

    def inverse_transform(self, X):
        """Decode codes back to the input space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Codes, e.g. from :meth:`transform`.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            The reconstructions, in the input space seen by ``fit``.
        """
        check_is_fitted(self)
        dtype = self._theta.dtype
        Z = check_array(X, dtype=dtype, input_name="X")
        if Z.shape[1] != self.n_components:
            raise ValueError(
                f"X has {Z.shape[1]} columns, but inverse_transform takes codes of "
                f"n_components={self.n_components} columns."
            )
        self._check_layout()
        theta, net = self._plain_network()
        net = contract.sub_network(net, self._n_encoder_layers(), len(self._layout),
                                   self.out_activation_)
        return self._run_network(theta, net, _block(Z, dtype), _block(None, dtype), Z.shape[0])

    def score_samples(self, X):
        """Minus each row's reconstruction error (higher = more normal).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            ``-mean_j loss(x_j, x_hat_j)``: the squared error, or the binary
            cross-entropy with ``loss='binary_crossentropy'``.
        """
        X = self._prediction_input(X)
        raw = self._raw_output(X)
        target = X.toarray() if sp.issparse(X) else X
        return -self._reconstruction_error(target, raw)

    def score(self, X, y=None, sample_weight=None):
        """Mean of :meth:`score_samples`: minus the mean reconstruction error.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows in the mean.

        Returns
        -------
        score : float
            Higher is better (so GridSearchCV maximises it).
        """
        return float(np.average(self.score_samples(X), weights=sample_weight))

    def _reconstruction_error(self, X, R):
        """Per-row mean over features of the squared error or binary cross-entropy."""
        X = np.asarray(X, dtype=np.float64)
        R = np.asarray(R, dtype=np.float64)
        if self.loss == "squared_error":
            return np.mean((X - R) ** 2, axis=1)
        eps = np.finfo(self._theta.dtype).eps
        P = np.clip(R, eps, 1 - eps)
        # x log p + (1 - x) log(1 - p), with 0 log 0 = 0 at the ends
        ll = np.where(X > 0, X * np.log(P), 0.0) + np.where(X < 1, (1 - X) * np.log1p(-P), 0.0)
        return -np.mean(ll, axis=1)

    def set_output(self, *, transform=None):
        """Set the container ``transform`` and ``fit_transform`` return.

        Parameters
        ----------
        transform : {"default", "pandas", "polars"}, default=None
            "pandas" or "polars" return a DataFrame with the columns of
            :meth:`get_feature_names_out`; "default" a NumPy array; None leaves
            the configuration unchanged.

        Returns
        -------
        self : MLPAutoencoder
            The estimator.
        """
        return super().set_output(transform=transform)

    @property
    def _n_features_out(self):
        """Number of output features of ``transform`` (for get_feature_names_out)."""
        return self.n_components

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

