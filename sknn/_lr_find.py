"""The learning-rate range test (Smith 2017; fast.ai's ``lr_find``)."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import type_of_target, unique_labels

from ._compat import safe_indexing
from ._display import _require_matplotlib
from ._exceptions import DivergenceError

__all__ = ["LRFinderResult", "lr_find"]


class LRFinderResult:
    """Outcome of :func:`lr_find`.

    Attributes
    ----------
    lrs : ndarray
        Learning rate of every mini-batch step run.
    losses : ndarray
        Training loss of each step: the mean loss of its mini-batches, each at
        the weights before its update.
    smoothed_losses : ndarray
        Exponentially smoothed (bias-corrected) ``losses``.
    suggestion : float
        A learning rate below that of the lowest smoothed loss (the minimum
        taken after the first 10% of the sweep, the warm-up, and before any
        divergence; the Keras chapter's rule: a bit below where the loss
        starts to climb): a tenth of it for Adam, a third for SGD with
        batches of 200 or more, ``3 * sqrt(200 / batch_size)`` times below
        for smaller batches.
    diverged : bool
        Whether the test stopped because the loss exploded.
    """

    def __init__(self, lrs, losses, smoothed_losses, suggestion, diverged):
        self.lrs = lrs
        self.losses = losses
        self.smoothed_losses = smoothed_losses
        self.suggestion = suggestion
        self.diverged = diverged

    def __repr__(self):
        return (
            f"LRFinderResult(suggestion={self.suggestion:.3g}, n_steps={len(self.lrs)}, "
            f"diverged={self.diverged})"
        )

    def plot(self, ax=None):
        """Plot the (smoothed) loss against the learning rate, log-scaled.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.

        Returns
        -------
        result : LRFinderResult
            Self, with ``ax_``, ``figure_`` and ``lines_`` ("loss",
            "smoothed_loss", "suggestion") set.
        """
        plt = _require_matplotlib("LRFinderResult.plot")
        if ax is None:
            _, ax = plt.subplots()
        self.ax_, self.figure_ = ax, ax.figure
        self.lines_ = {}
        (self.lines_["loss"],) = ax.plot(self.lrs, self.losses, alpha=0.3, label="loss")
        (self.lines_["smoothed_loss"],) = ax.plot(
            self.lrs, self.smoothed_losses, label="smoothed loss"
        )
        self.lines_["suggestion"] = ax.axvline(
            self.suggestion, color="C3", linestyle="--", label=f"suggestion {self.suggestion:.2g}"
        )
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("loss")
        finite = self.smoothed_losses[np.isfinite(self.smoothed_losses)]
        if finite.size:  # keep the explosion from flattening the interesting part
            lo, hi = finite.min(), finite[0]
            pad = 0.1 * (hi - lo if hi > lo else abs(hi) + 1.0)
            ax.set_ylim(lo - pad, max(hi, lo) + 4 * pad)
        ax.legend(loc="best")
        return self


# Fraction of the sweep treated as warm-up: the smoothed loss of the first
# steps is an average of a handful of noisy mini-batches (its "steepest fall"
# is noise, the failure of the plain steepest-slope rule).
_WARMUP_FRACTION = 0.1
# How far below the rate of the lowest smoothed loss to suggest, the Keras
# chapter's "a bit below where the loss starts to climb" (Geron, "Hands-On
# Machine Learning", ch. 10: about ten times below), per solver. Adam's steps
# are bounded, so past its best rate its loss rises slowly and the minimum lies
# far above that rate: a tenth. SGD diverges sharply at the curvature limit,
# where its minimum sits; with batches of 200 a fixed rate trains best near a
# third of it, and smaller batches add gradient noise that makes long runs
# fail below the limit (a sweep's few updates per rate cannot see it): the
# square-root batch-size rule (Krizhevsky 2014; Hoffer et al. 2017) scales
# the third by sqrt(batch / 200). Measured: tests/test_lr_find.py, the table
# in the user guide (a tenth for both solvers: 1.16 and 1.24 times the best
# loss for SGD with batches of 200).
_BELOW_MINIMUM = {"adam": 10.0, "sgd": 3.0}
# Samples each step of the sweep trains on at the least, scikit-learn's
# default batch: smaller batches take several updates per rate and record
# their mean loss, so a step's loss is about as noisy whatever the batch size
# (the minimum moves less between seeds); also the batch the SGD rule refers to.
_SAMPLES_PER_STEP = 200


def _below_minimum(solver, batch_size):
    """How many times below the smoothed minimum's rate the suggestion is."""
    if solver == "adam":
        return _BELOW_MINIMUM["adam"]
    return _BELOW_MINIMUM["sgd"] * np.sqrt(max(1.0, _SAMPLES_PER_STEP / batch_size))


def _suggest(lrs, smoothed, below_minimum):
    """The rate of the lowest smoothed loss on the valid part of the sweep
    (after the warm-up, before the divergence: non-finite values and the
    steps after them are ignored) divided by ``below_minimum``."""
    finite = np.isfinite(smoothed)
    n_valid = int(np.argmin(finite)) if not finite.all() else len(smoothed)
    start = min(int(_WARMUP_FRACTION * len(lrs)), max(n_valid - 1, 0))
    if n_valid == 0:
        return float(lrs[0])
    i_min = start + int(np.argmin(smoothed[start:n_valid]))
    return float(max(lrs[i_min] / below_minimum, lrs[0]))


def lr_find(
    estimator,
    X,
    y=None,
    min_lr=1e-6,
    max_lr=10.0,
    n_steps=200,
    *,
    smoothing=0.9,
    divergence_threshold=4.0,
    batches_per_step="auto",
    random_state=None,
):
    """Learning-rate range test: train with an exponentially growing rate.

    A clone of ``estimator`` takes ``n_steps`` steps (its solver, batch size
    and loss), the learning rate growing geometrically from ``min_lr`` to
    ``max_lr``; each step trains ``batches_per_step`` mini-batches at its
    rate and records their mean loss. The test stops early once the smoothed
    loss exceeds ``divergence_threshold`` times its minimum (or becomes
    non-finite). The suggestion lies below the rate of the lowest smoothed
    loss (ignoring the first 10% of the steps): a tenth of it for Adam, a
    third for SGD with batches of 200, less for smaller batches (the
    result's ``suggestion`` says how much).

    Parameters
    ----------
    estimator : MLPClassifier, MLPRegressor or MLPAutoencoder
        Estimator with ``solver='sgd'`` or ``'adam'``; it is cloned and left
        untouched.
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Training data.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
        Targets; None for :class:`MLPAutoencoder` (its target is X).
    min_lr : float, default=1e-6
        First learning rate (> 0).
    max_lr : float, default=10.0
        Last learning rate (> min_lr).
    n_steps : int, default=200
        Number of learning rates tried (>= 2); the data is reshuffled and
        reused when it has fewer batches.
    smoothing : float, default=0.9
        Factor of the exponential moving average of the loss, in [0, 1).
    divergence_threshold : float, default=4.0
        Stop once the smoothed loss exceeds this multiple of the best one.
    batches_per_step : int or "auto", default="auto"
        Mini-batches trained at each rate. "auto": as many as make 200
        samples (one batch for batches of 200 or more, 7 for 32), so that a
        step's loss is about as noisy whatever the batch size.
    random_state : int, RandomState instance or None, default=None
        Seeds the mini-batch order; None uses the estimator's random_state.

    Returns
    -------
    result : LRFinderResult
        ``lrs``, ``losses``, ``smoothed_losses``, ``suggestion`` and ``plot()``.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sknn import MLPRegressor, lr_find
    >>> X, y = make_regression(n_samples=300, n_features=5, random_state=0)
    >>> res = lr_find(MLPRegressor(hidden_layer_sizes=(16,), random_state=0), X, y / 100,
    ...               n_steps=50)
    >>> 1e-6 <= res.suggestion <= 10.0
    True
    """
    for name, value in (("min_lr", min_lr), ("max_lr", max_lr)):
        if not isinstance(value, Real) or isinstance(value, bool) or not value > 0:
            raise ValueError(f"{name} must be a positive float, got {value!r}.")
    if not max_lr > min_lr:
        raise ValueError(f"max_lr must be greater than min_lr, got {max_lr!r} <= {min_lr!r}.")
    if not isinstance(n_steps, Integral) or isinstance(n_steps, bool) or n_steps < 2:
        raise ValueError(f"n_steps must be an int >= 2, got {n_steps!r}.")
    if not (isinstance(smoothing, Real) and 0 <= smoothing < 1):
        raise ValueError(f"smoothing must be in [0, 1), got {smoothing!r}.")
    if not (isinstance(divergence_threshold, Real) and divergence_threshold > 1):
        raise ValueError(f"divergence_threshold must be > 1, got {divergence_threshold!r}.")
    if batches_per_step != "auto" and (not isinstance(batches_per_step, Integral)
                                       or isinstance(batches_per_step, bool)
                                       or batches_per_step < 1):
        raise ValueError(f"batches_per_step must be 'auto' or an int >= 1, "
                         f"got {batches_per_step!r}.")
    if getattr(estimator, "solver", None) not in ("sgd", "adam"):
        raise ValueError(
            "lr_find needs an sknn MLP with solver='sgd' or 'adam' (a learning rate to "
            f"tune); got solver={getattr(estimator, 'solver', None)!r}."
        )

    lrs = np.geomspace(min_lr, max_lr, int(n_steps))
    est = clone(estimator)
    # fit's own checks of X and y (the clone's: the errors are fit's, naming the
    # argument) before anything is sliced out of them or decided from y. Batches
    # come from the caller's X, whose column names deep_features / wide_features
    # may refer to.
    if y is None:  # the autoencoder's target is X (the others refuse a None y here)
        n_samples = est._validate_fit_data(X, None, reset=True).shape[0]
    else:
        X_checked, y = est._validate_fit_data(X, y, reset=True)
        y = est._check_targets(y)
        n_samples = X_checked.shape[0]
    if hasattr(est, "set_callbacks"):
        est.set_callbacks()  # no progress bars for a probe run
    est.set_params(
        learning_rate="constant", learning_rate_init=float(lrs[0]), max_iter=1,
        warm_start=False, early_stopping=False, callbacks=None, verbose=False, shuffle=False,
    )
    batch_size = min(200, n_samples) if est.batch_size == "auto" else min(est.batch_size, n_samples)
    per_batch = max(batch_size, 1)  # a batch_size < 1 reaches partial_fit, which names it
    if batches_per_step == "auto":
        batches_per_step = -(-_SAMPLES_PER_STEP // per_batch)  # ceil
    # each step's rows (a whole number of batches: partial_fit trains them
    # in order, shuffle=False, one update per batch)
    step_rows = batch_size * max(1, min(batches_per_step, n_samples // per_batch))
    rng = check_random_state(estimator.random_state if random_state is None else random_state)
    fit_kw = {}
    if is_classifier(est) and not type_of_target(y, input_name="y").startswith("multilabel"):
        fit_kw["classes"] = unique_labels(y)

    losses, smoothed = [], []
    avg, best, diverged = 0.0, np.inf, False
    order, pos = rng.permutation(n_samples), 0
    for i, lr in enumerate(lrs):
        if pos + step_rows > n_samples:
            order, pos = rng.permutation(n_samples), 0
        idx = order[pos: pos + step_rows]
        pos += step_rows
        if i > 0:
            est._optimizer.set_learning_rate(float(lr))
        try:
            y_batch = None if y is None else safe_indexing(y, idx)
            est.partial_fit(safe_indexing(X, idx), y_batch, **fit_kw)
        except DivergenceError:  # the engine refuses non-finite losses / weights
            losses.append(np.inf)
            smoothed.append(np.inf)
            diverged = True
            break
        fit_kw = {}
        loss = float(est.loss_)
        avg = smoothing * avg + (1 - smoothing) * loss
        s = avg / (1 - smoothing ** (i + 1))
        losses.append(loss)
        smoothed.append(s)
        best = min(best, s)
        if not np.isfinite(s) or s > divergence_threshold * best:
            diverged = True
            break
    n = len(losses)
    lrs = lrs[:n]
    losses = np.asarray(losses, dtype=float)
    smoothed = np.asarray(smoothed, dtype=float)
    suggestion = _suggest(lrs, smoothed, _below_minimum(est.solver, batch_size))
    return LRFinderResult(lrs, losses, smoothed, suggestion, diverged)
