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
    "ProgressBar",
    "ReduceLROnPlateau",
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
            return bool(self.on_epoch_end_fn(estimator, epoch, logs))
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
        return False
