"""Fits as transactions: one fit per estimator at a time, all or nothing, and
Ctrl-C acted on only where the model agrees with its bookkeeping.

Shared by the MLPs and the Perceptron.

* :func:`fit_transaction` wraps ``fit`` / ``partial_fit``: a second fit of the
  same estimator object while one runs (a callback fitting the estimator it is
  called from, or two threads) raises RuntimeError in the second caller before
  it touches anything; a fit that raises restores the estimator's ``__dict__``
  as it was.
* :func:`training_interrupts` wraps an epoch loop: SIGINT is held while a
  jitted epoch and its bookkeeping run (numba cannot be interrupted, and the
  KeyboardInterrupt would otherwise land between the kernel's in-place update
  and ``n_iter_ += 1``), raised at the next :func:`raise_pending_interrupt`
  checkpoint or when the loop ends, and turned into scikit-learn's
  "Training interrupted by user." warning.
"""

import functools
import signal
import threading
import warnings

from ._warnings import user_stacklevel

__all__ = ["fit_transaction", "raise_pending_interrupt", "training_interrupts"]

# id() of every estimator inside a fit; the object is alive (referenced by the
# running call) for as long as its id is in the set, so ids cannot be reused.
_FITTING = set()
_FITTING_LOCK = threading.Lock()


def fit_transaction(method):
    """Decorate ``fit`` / ``partial_fit``: exclusive per estimator, restored on error.

    Training works on copies of every array it writes to (the engines' rule),
    so a shallow snapshot of ``__dict__`` is enough to undo a failed fit.
    """

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        key = id(self)
        with _FITTING_LOCK:
            if key in _FITTING:
                raise RuntimeError(
                    f"This {type(self).__name__} is already being fitted: {method.__name__} "
                    "was called on it while another fit of the same object runs (from a "
                    "callback of that fit, or from another thread). Fit a clone instead "
                    "(sklearn.base.clone), or wait for the running fit to return."
                )
            _FITTING.add(key)
        try:
            snapshot = dict(self.__dict__)
            try:
                return method(self, *args, **kwargs)
            except BaseException:
                self.__dict__.clear()
                self.__dict__.update(snapshot)
                raise
        finally:
            with _FITTING_LOCK:
                _FITTING.discard(key)

    return wrapper


class _Sigint:
    """Main-thread SIGINT state while a deferral is active (only the main
    thread runs Python signal handlers, so only it reads or writes this)."""

    depth = 0
    pending = False
    previous = None


def _hold(signum, frame):
    _Sigint.pending = True


class _Deferral:
    def __enter__(self):
        self.active = threading.current_thread() is threading.main_thread() and (
            _Sigint.depth > 0 or signal.getsignal(signal.SIGINT) is signal.default_int_handler
        )  # a handler the program installed itself (or SIG_IGN) is its own policy
        if self.active:
            if _Sigint.depth == 0:
                _Sigint.previous = signal.signal(signal.SIGINT, _hold)
            _Sigint.depth += 1
        return self

    def __exit__(self, exc_type, exc, tb):
        if not self.active:
            return False
        _Sigint.depth -= 1
        if _Sigint.depth == 0:
            signal.signal(signal.SIGINT, _Sigint.previous)
        if exc_type is None:
            raise_pending_interrupt()
        return False


def raise_pending_interrupt():
    """Checkpoint: raise the KeyboardInterrupt held since the last one, if any."""
    if _Sigint.pending:
        _Sigint.pending = False
        raise KeyboardInterrupt


class training_interrupts:
    """Context manager around an epoch loop: SIGINT deferred to checkpoints, and
    a KeyboardInterrupt (held or raised by a callback) ends the loop with a warning.

    Put :func:`raise_pending_interrupt` where the model and its bookkeeping agree
    (before an epoch starts); a signal still held when the loop ends is raised
    then, also at a consistent point.
    """

    def __enter__(self):
        self._deferral = _Deferral().__enter__()
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            self._deferral.__exit__(exc_type, exc, tb)
        except KeyboardInterrupt:
            exc_type = KeyboardInterrupt
        if exc_type is not None and issubclass(exc_type, KeyboardInterrupt):
            warnings.warn("Training interrupted by user.", stacklevel=user_stacklevel())
            return True
        return False
