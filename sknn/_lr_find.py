"""The learning-rate range test (Smith 2017; fast.ai's ``lr_find``)."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import check_consistent_length

from ._compat import safe_indexing
from ._display import _require_matplotlib
from ._exceptions import DivergenceError
from ._validation import check_sparse_structure

__all__ = ["LRFinderResult", "lr_find"]


class LRFinderResult:
    """Outcome of :func:`lr_find`.

    Attributes
    ----------
    lrs : ndarray
        Learning rate of every mini-batch step run.
    losses : ndarray
        Training loss of each step's mini-batch (at the weights before the step).
    smoothed_losses : ndarray
        Exponentially smoothed (bias-corrected) ``losses``.
    suggestion : float
        A tenth of the learning rate of the lowest smoothed loss, the minimum
        taken after the first 10% of the sweep (warm-up) and before any
        divergence (the Keras chapter's rule: a bit below where the loss
        starts to climb).
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
# The Keras chapter's rule: about ten times below the rate where the loss
# turns up (Geron, "Hands-On Machine Learning", ch. 10/11; Smith 2017).
_BELOW_TURNING_POINT = 10.0


def _suggest(lrs, smoothed):
    """A tenth of the rate of the lowest smoothed loss on the valid part of
    the sweep: after the warm-up, before the divergence (non-finite values
    and the steps after them are ignored)."""
    finite = np.isfinite(smoothed)
    n_valid = int(np.argmin(finite)) if not finite.all() else len(smoothed)
    start = min(int(_WARMUP_FRACTION * len(lrs)), max(n_valid - 1, 0))
    if n_valid == 0:
        return float(lrs[0])
    i_min = start + int(np.argmin(smoothed[start:n_valid]))
    return float(max(lrs[i_min] / _BELOW_TURNING_POINT, lrs[0]))


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
    random_state=None,
):
    """Learning-rate range test: train with an exponentially growing rate.

    A clone of ``estimator`` takes ``n_steps`` mini-batch steps (its solver,
    batch size and loss), the learning rate growing geometrically from
    ``min_lr`` to ``max_lr``; the loss of every mini-batch is recorded. The
    test stops early once the smoothed loss exceeds ``divergence_threshold``
    times its minimum (or becomes non-finite). A good ``learning_rate_init``
    is where the loss falls fastest, below the rate of the lowest loss.

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
        Number of mini-batch steps (>= 2); the data is reshuffled and reused
        when it has fewer batches.
    smoothing : float, default=0.9
        Factor of the exponential moving average of the loss, in [0, 1).
    divergence_threshold : float, default=4.0
        Stop once the smoothed loss exceeds this multiple of the best one.
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
    if getattr(estimator, "solver", None) not in ("sgd", "adam"):
        raise ValueError(
            "lr_find needs an sknn MLP with solver='sgd' or 'adam' (a learning rate to "
            f"tune); got solver={getattr(estimator, 'solver', None)!r}."
        )

    # Mini-batches are sliced out of X and y here, before any fit validates them.
    check_sparse_structure(X, "X")
    check_sparse_structure(y, "y")
    check_consistent_length(X, y)  # else the batch indexing fails with an IndexError

    lrs = np.geomspace(min_lr, max_lr, int(n_steps))
    est = clone(estimator)
    if hasattr(est, "set_callbacks"):
        est.set_callbacks()  # no progress bars for a probe run
    est.set_params(
        learning_rate="constant", learning_rate_init=float(lrs[0]), max_iter=1,
        warm_start=False, early_stopping=False, callbacks=None, verbose=False, shuffle=False,
    )
    n_samples = X.shape[0] if hasattr(X, "shape") else len(X)
    batch_size = min(200, n_samples) if est.batch_size == "auto" else min(est.batch_size, n_samples)
    rng = check_random_state(estimator.random_state if random_state is None else random_state)
    fit_kw = {}
    if is_classifier(est) and not type_of_target(y, input_name="y").startswith("multilabel"):
        fit_kw["classes"] = unique_labels(y)

    losses, smoothed = [], []
    avg, best, diverged = 0.0, np.inf, False
    order, pos = rng.permutation(n_samples), 0
    for i, lr in enumerate(lrs):
        if pos + batch_size > n_samples:
            order, pos = rng.permutation(n_samples), 0
        idx = order[pos: pos + batch_size]
        pos += batch_size
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
    suggestion = _suggest(lrs, smoothed)
    return LRFinderResult(lrs, losses, smoothed, suggestion, diverged)
