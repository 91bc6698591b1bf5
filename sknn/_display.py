"""Learning curves from ``history_``, following scikit-learn's Display conventions."""

import numpy as np
from sklearn.utils.validation import check_is_fitted

__all__ = ["HistoryDisplay"]


def _require_matplotlib(caller):
    """Import matplotlib.pyplot or raise an ImportError saying how to get it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            f"{caller} requires matplotlib, an optional dependency of sknn. Install it "
            "with `pip install sknn[plot]` (or `pip install matplotlib`)."
        ) from exc
    return plt


# Per-epoch figures that are not learning curves; drawn only when asked for.
_NOT_CURVES = ("learning_rate", "epoch_time")


def _plotted_by_default(key, values):
    numeric = any(isinstance(v, (int, float, np.number)) and not isinstance(v, bool)
                  for v in values)
    return key not in _NOT_CURVES and numeric


class HistoryDisplay:
    """Learning curves of an MLP: training and validation loss per epoch.

    Create it with :meth:`from_estimator`, or from a ``history_`` dict and then
    call :meth:`plot`. The training loss of an epoch is the running mean over
    its mini-batches while the validation figures are measured at its end, so
    the training curve is drawn half an epoch to the left (at ``epoch - 0.5``,
    epochs counted from 1); ``train_shift=0`` turns that off (L-BFGS, whose
    loss is measured at the end of each iteration, uses 0).

    Parameters
    ----------
    history : dict of list
        Per-epoch figures, as ``history_``: "loss" and optionally "val_loss",
        "val_score", ``scoring`` metrics and keys added by callbacks.
    estimator_name : str or None, default=None
        Name used in the title.
    train_shift : float, default=0.5
        How far left of the epoch's end the training loss is drawn.

    Attributes
    ----------
    lines_ : dict of matplotlib Line2D
        The drawn curves keyed by history key ("loss", "val_loss", "val_score",
        metrics...).
    ax_ : matplotlib Axes
        Axes with the loss curves.
    ax_score_ : matplotlib Axes or None
        Twin axes (right) with the scores and metrics, when there are any.
    figure_ : matplotlib Figure
        Figure holding the axes.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import make_regression
    >>> from sknn import MLPRegressor, HistoryDisplay
    >>> X, y = make_regression(n_samples=100, n_features=4, random_state=0)
    >>> reg = MLPRegressor(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    >>> reg = reg.fit(X[:80], y[:80], X_val=X[80:], y_val=y[80:])
    >>> disp = HistoryDisplay.from_estimator(reg)
    >>> sorted(disp.lines_)
    ['loss', 'val_loss', 'val_score']
    """

    def __init__(self, history, *, estimator_name=None, train_shift=0.5):
        self.history = history
        self.estimator_name = estimator_name
        self.train_shift = train_shift

    def plot(self, ax=None, *, show_score=True, keys=None):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        show_score : bool, default=True
            Also draw the score-like keys ("val_score", the ``scoring`` metrics
            and their ``"val_"`` forms) on a twin axis on the right.
        keys : list of str, default=None
            History keys to draw. None draws the loss-like keys (names ending
            in "loss") and, with ``show_score``, every other per-epoch figure
            except "learning_rate" and "epoch_time" (ask for those by name).
            Keys ending in "loss" go on the left axis, the others on the right.

        Returns
        -------
        display : HistoryDisplay
            Self, with ``ax_``, ``figure_`` and ``lines_`` set.
        """
        plt = _require_matplotlib("HistoryDisplay.plot")
        if not isinstance(self.history, dict) or "loss" not in self.history:
            raise ValueError(
                "history must be a dict with at least the key 'loss' (an estimator's "
                f"history_), got {type(self.history).__name__}"
                + (f" with keys {sorted(self.history)}" if isinstance(self.history, dict) else "")
                + "."
            )
        if keys is None:
            keys = [k for k in self.history if _plotted_by_default(k, self.history[k])]
            if not show_score:
                keys = [k for k in keys if k.endswith("loss")]
        else:
            unknown = [k for k in keys if k not in self.history]
            if unknown:
                raise ValueError(
                    f"keys {unknown} are not in the history; its keys are {sorted(self.history)}."
                )
        if ax is None:
            _, ax = plt.subplots(layout="constrained")
        self.ax_, self.figure_ = ax, ax.figure
        self.lines_ = {}
        self.ax_score_ = None
        for key in keys:
            values = np.array([np.nan if v is None else v for v in self.history[key]],
                              dtype=float)
            epochs = np.arange(1, values.size + 1, dtype=float)
            if key.endswith("loss"):
                # running means over the epoch's mini-batches: half an epoch left
                shift = 0.0 if key.startswith("val_") else self.train_shift
                (self.lines_[key],) = ax.plot(epochs - shift, values, label=key)
            else:
                if self.ax_score_ is None:
                    self.ax_score_ = ax.twinx()
                    self.ax_score_.set_ylabel("score / metric")
                (self.lines_[key],) = self.ax_score_.plot(
                    epochs, values, label=key, linestyle="--",
                    color=f"C{len(self.lines_) % 10}",
                )
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        handles = list(self.lines_.values())
        # Below the axes, never on the curves.
        # as many columns as fit under the axes (about 1.4 inches per entry)
        width = ax.get_position().width * self.figure_.get_figwidth()
        ncol = max(1, min(len(handles), int(width / 1.4)))
        ax.legend(handles, [h.get_label() for h in handles], loc="upper center",
                  bbox_to_anchor=(0.5, -0.14), ncol=ncol, frameon=False)
        if self.estimator_name:
            ax.set_title(self.estimator_name)
        return self

    @classmethod
    def from_estimator(cls, estimator, ax=None, *, show_score=True, keys=None):
        """Plot the learning curves of a fitted sknn MLP.

        Parameters
        ----------
        estimator : MLPClassifier or MLPRegressor
            A fitted estimator (it has ``history_``).
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        show_score : bool, default=True
            Also draw the score-like keys on a twin axis when present.
        keys : list of str, default=None
            History keys to draw; see :meth:`plot`.

        Returns
        -------
        display : HistoryDisplay
            The drawn display.
        """
        _require_matplotlib("HistoryDisplay.from_estimator")
        check_is_fitted(estimator)
        if not hasattr(estimator, "history_"):
            raise TypeError(
                f"{type(estimator).__name__} has no history_: HistoryDisplay needs an sknn "
                "MLPClassifier or MLPRegressor."
            )
        shift = 0.0 if getattr(estimator, "solver", None) == "lbfgs" else 0.5
        disp = cls(estimator.history_, estimator_name=type(estimator).__name__,
                   train_shift=shift)
        return disp.plot(ax=ax, show_score=show_score, keys=keys)
