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
        Per-epoch figures, as ``history_``: "loss" and optionally "val_loss"
        and "val_score".
    estimator_name : str or None, default=None
        Name used in the title.
    train_shift : float, default=0.5
        How far left of the epoch's end the training loss is drawn.

    Attributes
    ----------
    lines_ : dict of matplotlib Line2D
        The drawn curves keyed by history key ("loss", "val_loss", "val_score").
    ax_ : matplotlib Axes
        Axes with the loss curves.
    ax_score_ : matplotlib Axes or None
        Twin axes (right) with the validation score, when there is one.
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

    def plot(self, ax=None, *, show_score=True):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        show_score : bool, default=True
            Also draw "val_score" on a twin axis on the right when present.

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
        if ax is None:
            _, ax = plt.subplots()
        self.ax_, self.figure_ = ax, ax.figure
        self.lines_ = {}
        loss = np.asarray(self.history["loss"], dtype=float)
        epochs = np.arange(1, loss.size + 1)
        (self.lines_["loss"],) = ax.plot(epochs - self.train_shift, loss, label="loss")
        if self.history.get("val_loss"):
            val = np.asarray(self.history["val_loss"], dtype=float)
            (self.lines_["val_loss"],) = ax.plot(
                np.arange(1, val.size + 1), val, label="val_loss"
            )
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        handles = list(self.lines_.values())
        self.ax_score_ = None
        if show_score and self.history.get("val_score"):
            score = np.asarray(self.history["val_score"], dtype=float)
            self.ax_score_ = ax.twinx()
            (self.lines_["val_score"],) = self.ax_score_.plot(
                np.arange(1, score.size + 1), score, label="val_score", color="C2",
                linestyle="--",
            )
            self.ax_score_.set_ylabel("val_score")
            handles.append(self.lines_["val_score"])
        ax.legend(handles, [h.get_label() for h in handles], loc="best")
        if self.estimator_name:
            ax.set_title(self.estimator_name)
        return self

    @classmethod
    def from_estimator(cls, estimator, ax=None, *, show_score=True):
        """Plot the learning curves of a fitted sknn MLP.

        Parameters
        ----------
        estimator : MLPClassifier or MLPRegressor
            A fitted estimator (it has ``history_``).
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        show_score : bool, default=True
            Also draw "val_score" on a twin axis when present.

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
        return disp.plot(ax=ax, show_score=show_score)
