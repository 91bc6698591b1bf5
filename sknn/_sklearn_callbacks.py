"""scikit-learn's callback API (``sklearn.callback``, scikit-learn >= 1.9) on sknn's MLPs.

One mechanism drives both callback surfaces: the epoch loop calls sknn's own
hooks (``on_train_begin`` / ``on_epoch_end`` / ``on_train_end``), and when
scikit-learn callbacks are set (``est.set_callbacks(...)``) or a meta-estimator
(Pipeline, GridSearchCV) propagates its context, a :class:`_SklearnBridge`
joins the list of hooks for that fit and translates them into scikit-learn's
task tree: the fit is the root task and every epoch (L-BFGS iteration) is one
leaf subtask.  ``on_fit_task_end`` returning True stops training like an sknn
callback returning True.

Where ``sklearn.callback`` does not exist, :data:`CallbackSupportMixin` is an
empty class and nothing here runs.
"""

try:  # scikit-learn >= 1.9
    from sklearn.callback import CallbackSupportMixin

    SKLEARN_CALLBACKS = True
except ImportError:  # pragma: no cover - exercised with scikit-learn < 1.9

    class CallbackSupportMixin:
        """Placeholder: scikit-learn < 1.9 has no callback API."""

    SKLEARN_CALLBACKS = False

__all__ = ["CallbackSupportMixin", "SKLEARN_CALLBACKS", "start_fit", "TRANSIENT_ATTRS"]

# Attributes that live on the estimator only while a fit runs (scikit-learn's
# context, its teardown list, the bridge holding the training data).
TRANSIENT_ATTRS = (
    "_sklearn_bridge",
    "_callback_fit_ctx",
    "_skl_callbacks_to_teardown",
    "_parent_callback_ctx",
)


def start_fit(est, X, y, sample_weight, incremental):
    """Open scikit-learn's callback context for one ``fit`` / ``partial_fit`` call.

    Stores a :class:`_SklearnBridge` as ``est._sklearn_bridge`` when there is
    anything to drive (own sklearn callbacks or a parent context); returns it
    (or None).  Must run before the fit's state snapshot, so a failed fit keeps
    the context and scikit-learn's ``_fit_context`` can tear the callbacks down.
    """
    if not SKLEARN_CALLBACKS:
        return None
    if not getattr(est, "_skl_callbacks", None) and not hasattr(est, "_parent_callback_ctx"):
        return None
    # With early stopping the epoch count is unknown: no max_iter estimate
    # (the progress bar shows activity instead of a fake remaining time).
    n_epochs = 1 if incremental else (None if _may_stop_early(est) else int(est.max_iter))
    ctx = est._init_callback_context(task_name="fit", max_subtasks=n_epochs)
    metadata = None if sample_weight is None else {"sample_weight": sample_weight}
    bridge = _SklearnBridge(ctx, X, y, metadata, n_epochs)
    est._sklearn_bridge = bridge
    return bridge


def _may_stop_early(est):
    """Whether the fit has early stopping (parameter or callback)."""
    from .callbacks import EarlyStopping

    if getattr(est, "solver", None) == "lbfgs":
        return False
    return bool(est.early_stopping) or any(
        isinstance(cb, EarlyStopping) for cb in est.callbacks or [])


class _SklearnBridge:
    """An sknn callback that forwards the epoch hooks to scikit-learn's context."""

    def __init__(self, ctx, X, y, metadata, n_epochs):
        self.ctx = ctx
        self.X, self.y, self.metadata = X, y, metadata
        self.n_epochs = n_epochs
        self.epoch_ctx = None
        self.n_started = 0

    def _reconstruction(self, est):
        # Lazy: evaluated only when a callback asks for ``fitted_estimator``;
        # a copy because the loop keeps updating the buffer in place.
        return lambda: {"_theta": est._theta.copy()}

    def _begin_epoch(self, est):
        self.epoch_ctx = self.ctx.subcontext(task_name="epoch")
        self.n_started += 1
        self.epoch_ctx.call_on_fit_task_begin(
            estimator=est, X=self.X, y=self.y, metadata=self.metadata,
            reconstruction_attributes=self._reconstruction(est),
        )

    def on_train_begin(self, est, logs):
        self.ctx.call_on_fit_task_begin(estimator=est, X=self.X, y=self.y, metadata=self.metadata)
        self._begin_epoch(est)

    def on_epoch_end(self, est, epoch, logs):
        stop = self.epoch_ctx.call_on_fit_task_end(
            estimator=est, X=self.X, y=self.y, metadata=self.metadata,
            reconstruction_attributes=self._reconstruction(est),
        )
        self.epoch_ctx = None
        if self.n_epochs is None or self.n_started < self.n_epochs:
            self._begin_epoch(est)
        return stop

    def on_train_end(self, est, logs):
        if self.epoch_ctx is not None:
            # Training stopped before this epoch ran: close it as an empty task
            # so every begin has its end (as LogisticRegression's L-BFGS bridge).
            self.epoch_ctx.call_on_fit_task_end(estimator=est)
            self.epoch_ctx = None
        self.ctx.call_on_fit_task_end(
            estimator=est, X=self.X, y=self.y, metadata=self.metadata,
            reconstruction_attributes={},
        )
