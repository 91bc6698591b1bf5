"""Training callbacks for sknn's MLPs, with Keras' semantics.

Pass them as ``MLPClassifier(callbacks=[...])`` / ``MLPRegressor(callbacks=[...])``.
A callback is any object with some of these methods:

- ``on_train_begin(estimator, logs)``: at the start of ``fit`` / ``partial_fit``;
- ``on_epoch_end(estimator, epoch, logs)``: after every epoch (every L-BFGS
  iteration); ``epoch`` is 0-based and is the index of that epoch in
  ``estimator.history_``, ``logs`` holds that epoch's figures (the keys of
  ``history_``). Returning True stops training after this epoch;
- ``on_train_end(estimator, logs)``: after training, ``logs`` holding the last
  epoch's figures.

``fit`` runs deep copies of the ``callbacks`` parameter (kept as the fitted
attribute ``callbacks_``), so the parameter never changes and ``clone()`` gives
callbacks with fresh state. ``partial_fit`` keeps using ``callbacks_``, whose
state then carries on from one call to the next.

Examples
--------
>>> from sklearn.datasets import make_regression
>>> from sknn import MLPRegressor
>>> from sknn.callbacks import EarlyStopping
>>> X, y = make_regression(n_samples=200, n_features=5, noise=1.0, random_state=0)
>>> reg = MLPRegressor(hidden_layer_sizes=(16,), max_iter=50, random_state=0,
...                    callbacks=[EarlyStopping(patience=3)])
>>> reg = reg.fit(X[:150], y[:150], X_val=X[150:], y_val=y[150:])
>>> len(reg.history_["val_loss"]) <= 50
True
"""

import csv
import os
import sys

import numpy as np

__all__ = [
    "Callback",
    "CSVLogger",
    "EarlyStopping",
    "LambdaCallback",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "OptunaPruning",
    "ProgressBar",
    "ReduceLROnPlateau",
    "TensorBoard",
]


class Callback:
    """Base class of sknn's callbacks: every hook does nothing.

    Subclass it and override any of the hooks; any object with the same
    methods works as well (subclassing is optional).
    """

    def on_train_begin(self, estimator, logs):
        """Called at the start of ``fit`` / ``partial_fit``.

        Parameters
        ----------
        estimator : BaseMLP
            The estimator being trained.
        logs : dict
            Empty.
        """

    def on_epoch_end(self, estimator, epoch, logs):
        """Called after every epoch (every L-BFGS iteration).

        Parameters
        ----------
        estimator : BaseMLP
            The estimator being trained, holding this epoch's weights.
        epoch : int
            0-based index of the epoch in ``estimator.history_``.
        logs : dict
            The epoch's figures, keyed as ``history_``.

        Returns
        -------
        stop : bool or None
            True stops training after this epoch.
        """

    def on_train_end(self, estimator, logs):
        """Called after training.

        Parameters
        ----------
        estimator : BaseMLP
            The trained estimator.
        logs : dict
            The last epoch's figures.
        """

    # -- helpers of the built-ins
    def _continues(self, estimator):
        """True when ``estimator`` resumes right after the last epoch this
        callback saw (the next ``partial_fit`` call): keep the state then."""
        last = getattr(self, "_last_epoch", None)
        return last is not None and len(estimator.history_["loss"]) == last + 1

    def __repr__(self):
        params = ", ".join(f"{k}={v!r}" for k, v in self._params().items())
        return f"{type(self).__name__}({params})"

    def _params(self):
        return {}


def _mode(monitor, estimator=None):
    """'max' for a ``scoring`` metric of ``estimator`` (scikit-learn scorers:
    greater is better, even "neg_log_loss"), else 'min' for a monitor ending in
    'loss' and 'max' for one ending in 'score'."""
    if not isinstance(monitor, str):
        raise TypeError(f"monitor must be a str, got {type(monitor).__name__}.")
    metrics = estimator._metric_names() if hasattr(estimator, "_metric_names") else []
    if monitor.removeprefix("val_") in metrics:
        return "max"
    if monitor.endswith("loss"):
        return "min"
    if monitor.endswith("score"):
        return "max"
    raise ValueError(
        f"monitor={monitor!r}: the name must end in 'loss' (minimised) or 'score' "
        "(maximised), e.g. 'val_loss', 'loss' or 'val_score', or be a metric of the "
        f"estimator's scoring parameter (now {metrics}), e.g. scoring='accuracy' "
        "and monitor='val_accuracy'."
    )


def _monitored(monitor, logs):
    if monitor not in logs:
        hint = ""
        if monitor.startswith("val_"):
            hint = (
                " Validation figures exist only with fit(X, y, X_val=X_val, y_val=y_val)."
            )
        raise ValueError(
            f"monitor={monitor!r} is not in the epoch logs; the available keys are "
            f"{sorted(logs)}.{hint}"
        )
    value = logs[monitor]
    return np.nan if value is None else float(value)


def _improved(mode, current, best, min_delta):
    if np.isnan(current):
        return False
    if mode == "min":
        return current < best - min_delta
    return current > best + min_delta


class EarlyStopping(Callback):
    """Stop training when a monitored figure stops improving.

    Parameters
    ----------
    monitor : str, default="val_loss"
        Key of the epoch logs to watch (a key of ``history_``). A name ending
        in "loss" is minimised, one ending in "score" maximised. "val_loss" and
        "val_score" need ``fit(..., X_val=X_val, y_val=y_val)``.
    patience : int, default=10
        Number of consecutive epochs without improvement after which training
        stops.
    min_delta : float, default=0.0
        Minimum change that counts as an improvement.
    restore_best_weights : bool, default=True
        At the end of training, set the weights back to those of the best epoch.

    Attributes
    ----------
    best : float
        Best monitored value seen.
    best_epoch : int or None
        Epoch (index in ``history_``) of ``best``.
    stopped_epoch : int or None
        Epoch after which this callback stopped training, None if it did not.
    wait : int
        Epochs since the last improvement.

    Notes
    -----
    A monitor absent from the logs raises ValueError at the end of the first
    epoch, naming the keys that exist. Unlike ``early_stopping=True`` (which
    scikit-learn's MLP defines on a ``validation_fraction`` split and a
    ``tol``), this callback follows Keras' ``EarlyStopping``.
    """

    def __init__(self, monitor="val_loss", patience=10, min_delta=0.0, restore_best_weights=True):
        self.monitor = monitor
        self.patience = patience
        self.min_delta = min_delta
        self.restore_best_weights = restore_best_weights

    def _params(self):
        return {
            "monitor": self.monitor,
            "patience": self.patience,
            "min_delta": self.min_delta,
            "restore_best_weights": self.restore_best_weights,
        }

    def on_train_begin(self, estimator, logs):
        self._mode = _mode(self.monitor, estimator)
        if not isinstance(self.patience, (int, np.integer)) or self.patience < 0:
            raise ValueError(f"patience must be a non-negative int, got {self.patience!r}.")
        if not self.min_delta >= 0:
            raise ValueError(f"min_delta must be >= 0, got {self.min_delta!r}.")
        if self._continues(estimator):
            return
        self.wait = 0
        self.best = np.inf if self._mode == "min" else -np.inf
        self.best_epoch = None
        self.stopped_epoch = None
        self._best_weights = None

    def on_epoch_end(self, estimator, epoch, logs):
        current = _monitored(self.monitor, logs)
        self._last_epoch = epoch
        if _improved(self._mode, current, self.best, self.min_delta) or self.best_epoch is None:
            self.best = current
            self.best_epoch = epoch
            self.wait = 0
            if self.restore_best_weights:
                self._best_weights = estimator._get_weights()
            return False
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            return True
        return False

    def on_train_end(self, estimator, logs):
        if self.restore_best_weights and self._best_weights is not None:
            if self.best_epoch != self._last_epoch:
                estimator._set_weights(self._best_weights)


class ModelCheckpoint(Callback):
    """Save the whole estimator with joblib during training.

    Parameters
    ----------
    filepath : str or path-like
        File to write. May contain format fields filled from the epoch
        (0-based, as in ``history_``) and its logs, e.g.
        ``"model-{epoch:03d}-{val_loss:.4f}.joblib"``.
    monitor : str, default="val_loss"
        Key of the epoch logs deciding what is "best" (name ending in "loss":
        lower is better; in "score": higher is better).
    save_best_only : bool, default=True
        Save only when the monitored value improves on the best so far;
        False saves after every epoch.

    Attributes
    ----------
    best : float
        Best monitored value seen.
    best_epoch : int or None
        Epoch of the last save made because of an improvement.
    last_saved : str or None
        Path of the last file written.

    Notes
    -----
    The file holds the estimator as it was at the end of that epoch, ready to
    predict: ``joblib.load(path).predict(X)``.
    """

    def __init__(self, filepath, monitor="val_loss", save_best_only=True):
        self.filepath = filepath
        self.monitor = monitor
        self.save_best_only = save_best_only

    def _params(self):
        return {"filepath": self.filepath, "monitor": self.monitor,
                "save_best_only": self.save_best_only}

    def on_train_begin(self, estimator, logs):
        self._mode = _mode(self.monitor, estimator) if self.save_best_only else None
        if self._continues(estimator):
            return
        self.best = np.inf if self._mode != "max" else -np.inf
        self.best_epoch = None
        self.last_saved = None

    def on_epoch_end(self, estimator, epoch, logs):
        self._last_epoch = epoch
        if self.save_best_only:
            current = _monitored(self.monitor, logs)
            if not _improved(self._mode, current, self.best, 0.0):
                return False
            self.best, self.best_epoch = current, epoch
        path = os.fspath(self.filepath)
        if "{" in path:
            path = path.format(epoch=epoch, **logs)
        _dump_estimator(estimator, path)
        self.last_saved = path
        return False


def _dump_estimator(estimator, path):
    """joblib-dump a snapshot of ``estimator`` taken mid-fit, without the
    objects that exist only while fitting (training data, sklearn contexts)."""
    import copy

    import joblib

    from ._sklearn_callbacks import TRANSIENT_ATTRS

    snap = copy.copy(estimator)
    for name in TRANSIENT_ATTRS:
        snap.__dict__.pop(name, None)
    snap._theta = estimator._theta.copy()
    joblib.dump(snap, path)


class LambdaCallback(Callback):
    """A callback made of plain functions.

    Parameters
    ----------
    on_train_begin : callable or None, default=None
        ``f(estimator, logs)``.
    on_epoch_end : callable or None, default=None
        ``f(estimator, epoch, logs) -> bool | None``; True stops training.
    on_train_end : callable or None, default=None
        ``f(estimator, logs)``.

    Notes
    -----
    Pickling the estimator (joblib, GridSearchCV with n_jobs > 1) pickles the
    functions too: module-level functions always work; lambdas and closures
    work with cloudpickle (joblib's process workers) but not with plain pickle.

    Examples
    --------
    >>> from sknn.callbacks import LambdaCallback
    >>> stop_at_5 = LambdaCallback(on_epoch_end=lambda est, epoch, logs: epoch >= 4)
    """

    def __init__(self, on_train_begin=None, on_epoch_end=None, on_train_end=None):
        self.on_train_begin_fn = on_train_begin
        self.on_epoch_end_fn = on_epoch_end
        self.on_train_end_fn = on_train_end

    def _params(self):
        return {"on_train_begin": self.on_train_begin_fn, "on_epoch_end": self.on_epoch_end_fn,
                "on_train_end": self.on_train_end_fn}

    def on_train_begin(self, estimator, logs):
        if self.on_train_begin_fn is not None:
            self.on_train_begin_fn(estimator, logs)

    def on_epoch_end(self, estimator, epoch, logs):
        if self.on_epoch_end_fn is not None:
            return self.on_epoch_end_fn(estimator, epoch, logs)  # checked by the engine
        return False

    def on_train_end(self, estimator, logs):
        if self.on_train_end_fn is not None:
            self.on_train_end_fn(estimator, logs)


class CSVLogger(Callback):
    """Write one CSV row per epoch: ``epoch`` and the epoch's logs.

    Parameters
    ----------
    path : str or path-like
        File to write. A new ``fit`` overwrites it; the next ``partial_fit``
        call of the same estimator appends to it.
    separator : str, default=","
        Field delimiter.

    Notes
    -----
    The file is opened and closed at every epoch (no handle is kept, so the
    callback pickles), and the header is the first epoch's keys. Values that
    do not exist (``learning_rate`` with L-BFGS) are empty.
    """

    def __init__(self, path, separator=","):
        self.path = path
        self.separator = separator

    def _params(self):
        return {"path": self.path, "separator": self.separator}

    def on_train_begin(self, estimator, logs):
        if self._continues(estimator):
            return
        self._keys = None

    def on_epoch_end(self, estimator, epoch, logs):
        self._last_epoch = epoch
        fresh = self._keys is None
        if fresh:
            self._keys = ["epoch"] + list(logs)
        row = {"epoch": epoch, **{k: ("" if v is None else v) for k, v in logs.items()}}
        with open(self.path, "w" if fresh else "a", newline="") as fh:
            writer = csv.DictWriter(
                fh, fieldnames=self._keys, delimiter=self.separator, extrasaction="ignore",
                restval="",
            )
            if fresh:
                writer.writeheader()
            writer.writerow(row)
        return False


class ProgressBar(Callback):
    """A Keras-style progress line: epoch, bar, current loss and monitored figure.

    The line goes to ``sys.stdout``, rewritten in place every epoch (a
    carriage return), and ends with a newline after training.

    Parameters
    ----------
    monitor : str or None, default=None
        Key of the epoch logs shown beside the loss. None shows the monitor of
        the estimator's first :class:`EarlyStopping` callback, else
        "val_loss" when there is a validation set.
    width : int, default=30
        Characters of the bar.

    Notes
    -----
    With early stopping (``early_stopping=True`` or an :class:`EarlyStopping`
    callback) the number of epochs is not known in advance: the line then
    shows the epoch count and "at most max_iter" instead of a bar that would
    pretend ``max_iter`` epochs will run. scikit-learn's own
    ``sklearn.callback.ProgressBar`` (``est.set_callbacks(...)``) works too,
    without the loss.
    """

    def __init__(self, monitor=None, width=30):
        self.monitor = monitor
        self.width = width

    def _params(self):
        return {"monitor": self.monitor, "width": self.width}

    def on_train_begin(self, estimator, logs):
        callbacks = getattr(estimator, "callbacks_", None) or []
        stoppers = [cb for cb in callbacks if isinstance(cb, EarlyStopping)]
        self._monitor = self.monitor
        if self._monitor is None and stoppers:
            self._monitor = stoppers[0].monitor
        early = bool(getattr(estimator, "early_stopping", False)) or bool(stoppers)
        if getattr(estimator, "solver", None) == "lbfgs":
            early = False
        self._max_epochs = int(estimator.max_iter)
        self._total = None if early else self._max_epochs
        self._first = len(estimator.history_["loss"])
        self._written = False

    def _line(self, done, logs):
        if self._total is None:
            head = f"Epoch {done} (at most {self._max_epochs}, early stopping)"
        else:
            filled = int(self.width * done / self._total)
            bar = "=" * max(filled - 1, 0) + (">" if done < self._total else "=")
            head = f"Epoch {done}/{self._total} [{bar.ljust(self.width, '.')}]"
        parts = [head, f"loss: {logs['loss']:.4f}"]
        monitor = self._monitor
        if monitor is None and "val_loss" in logs:
            monitor = "val_loss"
        if monitor is not None and monitor != "loss" and logs.get(monitor) is not None:
            parts.append(f"{monitor}: {logs[monitor]:.4f}")
        return " - ".join(parts)

    def on_epoch_end(self, estimator, epoch, logs):
        # sys.stdout at call time (callbacks are deep-copied: no stored stream)
        sys.stdout.write("\r" + self._line(epoch + 1 - self._first, logs))
        sys.stdout.flush()
        self._written = True
        return False

    def on_train_end(self, estimator, logs):
        if self._written:
            sys.stdout.write("\n")
            sys.stdout.flush()


def _rate_setter(callback, estimator):
    """The estimator's optimizer, after checking that ``callback`` may set its rate."""
    name = type(callback).__name__
    if getattr(estimator, "solver", None) not in ("sgd", "adam"):
        raise ValueError(
            f"{name} sets the learning rate of solver='sgd' or 'adam'; "
            f"got solver={getattr(estimator, 'solver', None)!r}."
        )
    schedule = estimator.learning_rate
    if schedule in ("cosine", "one_cycle") or (
            estimator.solver == "sgd" and schedule != "constant"):
        raise ValueError(
            f"{name} sets the learning rate itself; it cannot be combined with "
            f"learning_rate={schedule!r}. Use learning_rate='constant'."
        )
    return estimator.optimizer_


class LearningRateScheduler(Callback):
    """Set the learning rate of every epoch from a function, as Keras' callback.

    Parameters
    ----------
    schedule : callable
        ``schedule(epoch, learning_rate) -> float``: the rate of epoch
        ``epoch`` (0-based, the index in ``history_``) given the rate of the
        epoch before (``learning_rate_init`` for the first one).

    Notes
    -----
    Works with ``solver="sgd"`` and ``"adam"`` and ``learning_rate="constant"``
    (another schedule would fight it). The rate goes through the optimizer's
    one public setter, ``estimator.optimizer_.set_learning_rate``; the rate
    an epoch used is ``history_["learning_rate"]``. Keras calls the schedule
    at the start of each epoch; sknn calls it at the start of training for the
    first epoch and at the end of each epoch for the next, same values.

    Examples
    --------
    >>> from sknn.callbacks import LearningRateScheduler
    >>> halve_every_10 = LearningRateScheduler(
    ...     lambda epoch, lr: lr / 2 if epoch and epoch % 10 == 0 else lr)
    """

    def __init__(self, schedule):
        self.schedule = schedule

    def _params(self):
        return {"schedule": self.schedule}

    def _apply(self, estimator, epoch):
        optimizer = estimator.optimizer_
        rate = self.schedule(epoch, optimizer.learning_rate)
        try:
            optimizer.set_learning_rate(rate)
        except ValueError as exc:
            raise ValueError(
                f"LearningRateScheduler: schedule({epoch}, ...) returned {rate!r}; {exc}"
            ) from None

    def on_train_begin(self, estimator, logs):
        if not callable(self.schedule):
            raise TypeError(
                "schedule must be a callable schedule(epoch, learning_rate) -> float, "
                f"got {type(self.schedule).__name__}."
            )
        _rate_setter(self, estimator)
        self._apply(estimator, len(estimator.history_["loss"]))

    def on_epoch_end(self, estimator, epoch, logs):
        self._apply(estimator, epoch + 1)
        return False


class ReduceLROnPlateau(Callback):
    """Divide the learning rate when a monitored figure stops improving (Keras').

    Parameters
    ----------
    monitor : str, default="val_loss"
        Key of the epoch logs to watch (as :class:`EarlyStopping`'s).
    factor : float, default=0.1
        Multiplier of the rate on a plateau, in (0, 1).
    patience : int, default=10
        Epochs without improvement before the rate is reduced.
    min_lr : float, default=0.0
        The rate never goes below this.
    min_delta : float, default=1e-4
        Minimum change that counts as an improvement.
    cooldown : int, default=0
        Epochs after a reduction during which plateaus are not counted.

    Attributes
    ----------
    best : float
        Best monitored value seen.
    wait : int
        Epochs since the last improvement.
    reductions : list of tuple
        ``(epoch, new_rate)`` for every reduction, ``epoch`` being the last
        epoch before the new rate applies.

    Notes
    -----
    The defaults are Keras'. Works with ``solver="sgd"`` and ``"adam"`` and
    ``learning_rate="constant"``, through ``estimator.optimizer_.set_learning_rate``;
    ``history_["learning_rate"]`` shows the rate each epoch used.
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, min_lr=0.0,
                 min_delta=1e-4, cooldown=0):
        self.monitor = monitor
        self.factor = factor
        self.patience = patience
        self.min_lr = min_lr
        self.min_delta = min_delta
        self.cooldown = cooldown

    def _params(self):
        return {"monitor": self.monitor, "factor": self.factor, "patience": self.patience,
                "min_lr": self.min_lr, "min_delta": self.min_delta, "cooldown": self.cooldown}

    def on_train_begin(self, estimator, logs):
        if not 0 < self.factor < 1:
            raise ValueError(f"factor must be in (0, 1), got {self.factor!r}.")
        for name in ("patience", "cooldown"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 0:
                raise ValueError(f"{name} must be a non-negative int, got {value!r}.")
        if not self.min_lr >= 0:
            raise ValueError(f"min_lr must be >= 0, got {self.min_lr!r}.")
        if not self.min_delta >= 0:
            raise ValueError(f"min_delta must be >= 0, got {self.min_delta!r}.")
        self._mode = _mode(self.monitor, estimator)
        _rate_setter(self, estimator)
        if self._continues(estimator):
            return
        self.best = np.inf if self._mode == "min" else -np.inf
        self.wait = 0
        self._cooldown_left = 0
        self.reductions = []

    def on_epoch_end(self, estimator, epoch, logs):
        current = _monitored(self.monitor, logs)
        self._last_epoch = epoch
        if self._cooldown_left > 0:
            self._cooldown_left -= 1
            self.wait = 0
        if _improved(self._mode, current, self.best, self.min_delta):
            self.best = current
            self.wait = 0
        elif self._cooldown_left == 0:
            self.wait += 1
            if self.wait >= self.patience:
                optimizer = estimator.optimizer_
                rate = optimizer.learning_rate
                if rate > self.min_lr:
                    new_rate = max(rate * self.factor, self.min_lr)
                    if new_rate > 0:
                        optimizer.set_learning_rate(new_rate)
                        self.reductions.append((epoch, new_rate))
                    self._cooldown_left = self.cooldown
                    self.wait = 0


# ------------------------------------------------------------------ TensorBoard
def _import_optional(module, extra, caller):
    """Import an optional dependency or raise an ImportError saying how to get it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"{caller} requires {module.split('.')[0]}, an optional dependency of sknn. "
            f'Install it with `pip install "sknn[{extra}]"`.'
        ) from exc


def _search_run_name():
    """Run name from the scikit-learn search fitting this estimator, or None.

    A search (GridSearchCV, RandomizedSearchCV, successive halving) fits every
    candidate and fold through ``sklearn.model_selection._validation._fit_and_score``,
    whose arguments ``candidate_progress`` and ``split_progress`` hold
    ``(index, count)``; the frame is on this call's stack, in a joblib worker too.
    The final refit runs from the search's ``fit`` without it.
    """
    import sys

    frame = sys._getframe(1)
    in_search = False
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        name = frame.f_code.co_name
        if module == "sklearn.model_selection._validation" and name == "_fit_and_score":
            candidate = frame.f_locals.get("candidate_progress")
            split = frame.f_locals.get("split_progress")
            if candidate is None or split is None:
                return None  # cross_validate: no candidate
            return (f"candidate-{candidate[0]:0{len(str(candidate[1] - 1))}d}/"
                    f"fold-{split[0]:0{len(str(split[1] - 1))}d}")
        if module == "sklearn.model_selection._search" and name == "fit":
            in_search = True
        frame = frame.f_back
    return "refit" if in_search else None


def _new_run_dir(log_dir, name):
    """Create and return ``log_dir/name``, or ``name-1``, ``name-2``, ... when taken.

    ``os.makedirs`` without ``exist_ok`` is atomic, so concurrent fits (joblib
    workers) never share a directory.
    """
    import itertools

    base = os.path.join(os.fspath(log_dir), name)
    for k in itertools.count():
        path = base if k == 0 else f"{base}-{k}"
        try:
            os.makedirs(path)
            return path
        except FileExistsError:
            continue


def _plain(value):
    """A NumPy scalar as the Python number it holds (its repr has no ``np.``)."""
    return value.item() if isinstance(value, np.generic) else value


def _hparam_value(value):
    """A parameter as TensorBoard's HParams dashboard takes it (number, str,
    bool), or None for parameters that are not hyperparameters (callbacks)."""
    value = _plain(value)
    if isinstance(value, (bool, int, float, str)):
        return value
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (tuple, list)) and all(
        isinstance(_plain(v), (int, float, str)) for v in value
    ):
        return str(tuple(_plain(v) for v in value))
    if isinstance(value, dict):
        return str({_plain(k): _plain(v) for k, v in value.items()})
    return None


# Seconds between tensorboardX's flushes while a fit runs (its default, 120,
# would leave a live TensorBoard two minutes behind).
_FLUSH_SECS = 1


class TensorBoard(Callback):
    """Write the learning curves to TensorBoard event files.

    Every epoch writes the epoch's figures (the keys of ``history_``: ``loss``,
    ``learning_rate``, ``val_loss`` and ``val_score`` with a validation set,
    ``epoch_time``, and what other callbacks add) as scalars at step ``epoch``
    (0-based, as in ``history_``). View them with ``tensorboard --logdir
    log_dir``. The files are written with `tensorboardX
    <https://tensorboardx.readthedocs.io>`__, which needs neither TensorFlow
    nor PyTorch (``pip install "sknn[tensorboard]"``).

    Parameters
    ----------
    log_dir : str or path-like
        Root directory of the runs; every ``fit`` writes a new run directory
        below it (see Notes).
    histogram_freq : int, default=0
        Write histograms of every layer's weights (``dense_1/kernel``) and
        biases (``dense_1/bias``), named as in ``summary()``, at every epoch
        that is a multiple of ``histogram_freq``; 0 writes none.
    write_hparams : bool, default=True
        Write the estimator's parameters (``get_params(deep=False)`` without
        the callbacks) for TensorBoard's HParams dashboard, so the runs of a
        search compare side by side, with the epoch figures (except
        ``learning_rate`` and ``epoch_time``) as its metrics.
    run_name : str or None, default=None
        Name of the run directory; None names it as described in Notes.

    Attributes
    ----------
    run_dir : str or None
        Directory of the current (last) run.

    Notes
    -----
    A fit inside a scikit-learn search (GridSearchCV, RandomizedSearchCV,
    HalvingGridSearchCV, HalvingRandomSearchCV, with any ``n_jobs``) writes to
    ``log_dir/candidate-<i>/fold-<k>``, ``i`` and ``k`` being the indices of
    the candidate in ``cv_results_`` and of the CV split; the search's final
    refit writes to ``log_dir/refit``. Any other fit writes to
    ``log_dir/run``. A name that exists already gets the first free suffix
    ``-1``, ``-2``, ... (a second fit, or a later round of successive
    halving), so a fit never writes into another fit's run. The next
    ``partial_fit`` call continues the same run.

    tensorboardX writes from a thread of its own; events reach the file
    within a second (TensorBoard shows a fit while it runs) and all of them
    by the end of ``fit``. A fit stopped by an exception (such as
    :class:`OptunaPruning`'s) keeps its epochs: the writer is closed when
    that fit's copy of the callback is released, or at interpreter exit.

    Examples
    --------
    >>> from sknn import MLPClassifier
    >>> from sknn.callbacks import TensorBoard
    >>> clf = MLPClassifier(callbacks=[TensorBoard("logs", histogram_freq=5)])
    """

    def __init__(self, log_dir, histogram_freq=0, write_hparams=True, run_name=None):
        self.log_dir = log_dir
        self.histogram_freq = histogram_freq
        self.write_hparams = write_hparams
        self.run_name = run_name

    def _params(self):
        return {"log_dir": self.log_dir, "histogram_freq": self.histogram_freq,
                "write_hparams": self.write_hparams, "run_name": self.run_name}

    def __getstate__(self):
        # An open writer (a thread and a file) neither pickles nor deep-copies.
        state = self.__dict__.copy()
        state.pop("_writer", None)
        state.pop("_closer", None)
        state.pop("_session_end", None)
        return state

    def on_train_begin(self, estimator, logs):
        if (not isinstance(self.histogram_freq, (int, np.integer))
                or isinstance(self.histogram_freq, bool) or self.histogram_freq < 0):
            raise ValueError(
                f"histogram_freq must be a non-negative int, got {self.histogram_freq!r}."
            )
        if self.run_name is not None and not isinstance(self.run_name, str):
            raise TypeError(f"run_name must be a str or None, got {self.run_name!r}.")
        tbx = _import_optional("tensorboardX", "tensorboard", "sknn.callbacks.TensorBoard")
        if not (self._continues(estimator) and getattr(self, "run_dir", None)):
            name = self.run_name or _search_run_name() or "run"
            self.run_dir = _new_run_dir(self.log_dir, name)
            self._n_files = 0
            self._hparams_pending = bool(self.write_hparams)
        # A partial_fit call continuing the run adds a file; the suffix keeps
        # files opened within the same second apart.
        self._n_files += 1
        import weakref

        self._writer = tbx.SummaryWriter(
            self.run_dir, flush_secs=_FLUSH_SECS,
            filename_suffix=f".{os.getpid()}.{self._n_files}",
        )
        # A fit stopped by an exception never reaches on_train_end: close the
        # writer when this callback copy is dropped.
        self._closer = weakref.finalize(self, self._writer.close)

    def on_epoch_end(self, estimator, epoch, logs):
        self._last_epoch = epoch
        writer = self._writer
        figures = {k: float(v) for k, v in logs.items()
                   if isinstance(v, (int, float, np.integer, np.floating))
                   and not isinstance(v, (bool, np.bool_))}
        if self._hparams_pending:
            self._write_hparams(estimator, figures)
        for key, value in figures.items():
            writer.add_scalar(key, value, global_step=epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            for i, (w, b) in enumerate(zip(estimator.coefs_, estimator.intercepts_)):
                writer.add_histogram(f"dense_{i + 1}/kernel", w, global_step=epoch)
                writer.add_histogram(f"dense_{i + 1}/bias", b, global_step=epoch)
        return False

    def on_train_end(self, estimator, logs):
        writer = self.__dict__.pop("_writer", None)
        if writer is not None:
            if getattr(self, "_session_end", None) is not None:
                writer.file_writer.add_summary(self._session_end)  # status: finished
            self._closer.detach()
            writer.close()

    def _write_hparams(self, estimator, figures):
        from tensorboardX.summary import hparams

        params = {}
        for key, value in estimator.get_params(deep=False).items():
            if key != "callbacks" and (value := _hparam_value(value)) is not None:
                params[key] = value
        # The dashboard's metrics: the figures that rate a run (not the
        # learning rate, also a parameter's name, nor the epoch time).
        metrics = dict.fromkeys(k for k in figures if k not in ("learning_rate", "epoch_time"))
        experiment, start, self._session_end = hparams(params, metrics)
        file_writer = self._writer.file_writer
        file_writer.add_summary(experiment)
        file_writer.add_summary(start)
        self._hparams_pending = False


# --------------------------------------------------------------------- Optuna
class OptunaPruning(Callback):
    """Report every epoch to an Optuna trial and stop the fit when it is pruned.

    After every epoch the monitored figure goes to ``trial.report(value,
    step=epoch)`` (``epoch`` as in ``history_``: a warm-started fit goes on
    counting); when the study's pruner then says so
    (``trial.should_prune()``), the fit raises :class:`optuna.TrialPruned`,
    which Optuna records as a pruned trial. As for any failed fit, the
    estimator is left as it was before that fit. Needs ``pip install
    "sknn[optuna]"``.

    Parameters
    ----------
    trial : optuna.trial.Trial
        The trial of the objective function running this fit.
    monitor : str, default="val_loss"
        Key of the epoch logs to report. A name ending in "loss" needs a study
        that minimises, one ending in "score" a study that maximises.
        "val_loss" and "val_score" need a validation set
        (``fit(..., validation_data=(X_val, y_val))``).

    Notes
    -----
    Callbacks run in list order and the exception ends the epoch: put
    OptunaPruning last so that the others (:class:`TensorBoard`,
    :class:`CSVLogger`) record the epoch it prunes at. Copies of the callback
    (``fit`` runs a deep copy, ``clone`` copies the parameters) report to the
    same trial. Report from one fit per trial: the
    fits of a cross-validation would report the same steps several times,
    and Optuna keeps only the first value of a step.

    Examples
    --------
    >>> import optuna
    >>> from sklearn.datasets import load_digits
    >>> from sknn import MLPClassifier
    >>> from sknn.callbacks import OptunaPruning
    >>> X, y = load_digits(return_X_y=True)
    >>> def objective(trial):
    ...     clf = MLPClassifier(
    ...         hidden_layer_sizes=(trial.suggest_int("n_neurons", 16, 128, log=True),),
    ...         max_iter=10, random_state=0,
    ...         callbacks=[OptunaPruning(trial, monitor="val_score")])
    ...     clf.fit(X[:1200] / 16, y[:1200], validation_data=(X[1200:] / 16, y[1200:]))
    ...     return clf.history_["val_score"][-1]
    >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
    >>> study = optuna.create_study(direction="maximize")
    >>> study.optimize(objective, n_trials=3)
    """

    def __init__(self, trial, monitor="val_loss"):
        self.trial = trial
        self.monitor = monitor

    def _params(self):
        return {"trial": self.trial, "monitor": self.monitor}

    def __deepcopy__(self, memo):
        # The trial is shared, not copied: a copy would report to a copy of
        # the study (and its storage may not copy at all).
        import copy

        new = type(self).__new__(type(self))
        memo[id(self)] = new
        for key, value in self.__dict__.items():
            setattr(new, key, value if key == "trial" else copy.deepcopy(value, memo))
        return new

    def on_train_begin(self, estimator, logs):
        optuna = _import_optional("optuna", "optuna", "sknn.callbacks.OptunaPruning")
        mode = _mode(self.monitor)
        directions = self.trial.study.directions
        if len(directions) != 1:
            raise ValueError(
                "OptunaPruning needs a single-objective study: Optuna does not prune "
                f"multi-objective trials (this study has {len(directions)} objectives)."
            )
        wanted = (optuna.study.StudyDirection.MINIMIZE if mode == "min"
                  else optuna.study.StudyDirection.MAXIMIZE)
        if directions[0] != wanted:
            raise ValueError(
                f"monitor={self.monitor!r} is {'minimised' if mode == 'min' else 'maximised'} "
                f"but the study's direction is {directions[0].name.lower()}: monitor a "
                "figure that goes the study's way (a name ending in 'loss' to minimise, "
                "in 'score' to maximise)."
            )
        self._pruned = optuna.TrialPruned

    def on_epoch_end(self, estimator, epoch, logs):
        self.trial.report(_monitored(self.monitor, logs), step=epoch)
        if self.trial.should_prune():
            raise self._pruned(f"Trial was pruned at epoch {epoch} ({self.monitor}).")
        return False
