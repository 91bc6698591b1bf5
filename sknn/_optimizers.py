"""The stochastic optimizer of an MLP fit: state, learning-rate schedule, plateau rule.

As in scikit-learn's ``neural_network._stochastic_optimizers``, one small object
holds what persists between epochs (SGD velocity or Adam moments, the update
count, the current learning rate) and the rules that change the rate between
epochs.  The arithmetic of an update runs in the epoch kernel
(``sknn._kernels.optimizers.optimizer_step``); ``step_record`` hands it the
state and this epoch's hyperparameters.

Anything that sets the rate for the next epoch (a learning-rate callback, a
schedule, :func:`sknn.lr_find`) calls ``set_learning_rate``.
"""

import math
from numbers import Real

import numpy as np

from ._kernels.records import OptimizerStep
from ._numba import Code

#: scikit-learn's "adaptive" schedule divides the rate by this on a plateau ...
_ADAPTIVE_FACTOR = 5.0
#: ... and stops once the rate is at or below this.
_ADAPTIVE_MIN_RATE = 1e-6
#: "one_cycle": the fraction of max_iter spent warming up (fast.ai's pct_start) ...
_ONE_CYCLE_WARMUP = 0.3
#: ... starting from this fraction of learning_rate_init (fast.ai's 1 / div_factor).
_ONE_CYCLE_START = 1.0 / 25.0
#: Schedules of both solvers, set per epoch from the epoch count and max_iter.
EPOCH_SCHEDULES = ("cosine", "one_cycle")


def scheduled_rate(schedule, peak, epoch, n_epochs):
    """The learning rate of epoch ``epoch`` (0-based) of ``n_epochs``.

    "cosine" falls from ``peak`` to zero over ``n_epochs`` (Loshchilov & Hutter
    2017, without restarts); "one_cycle" rises linearly from
    ``peak * _ONE_CYCLE_START`` to ``peak`` over the first ``_ONE_CYCLE_WARMUP``
    of the epochs, then follows the cosine down to zero (Smith 2018; fast.ai's
    ``fit_one_cycle``). Epochs beyond ``n_epochs`` (``partial_fit``) get zero.
    """
    epoch = min(epoch, n_epochs)
    warmup = 0
    if schedule == "one_cycle":
        warmup = min(int(round(_ONE_CYCLE_WARMUP * n_epochs)), n_epochs - 1)
        if epoch < warmup:
            return peak * (_ONE_CYCLE_START + (1 - _ONE_CYCLE_START) * epoch / warmup)
    return peak * 0.5 * (1.0 + math.cos(math.pi * (epoch - warmup) / (n_epochs - warmup)))


class StochasticOptimizer:
    """SGD (momentum, Nesterov) or Adam for one estimator's fits.

    Parameters
    ----------
    solver_code : int
        ``SGD`` or ``ADAM`` (``sknn._kernels.optimizers``), from ``sknn._contract``.
    params : dict
        The estimator's parameters the optimizer reads (see ``configure``).
    size : int
        Number of parameters (the length of ``theta``).
    dtype : numpy dtype
        The model's floating dtype.

    Attributes
    ----------
    m, v : ndarray
        SGD velocity / Adam first moment; Adam second moment (empty for SGD).
    t : int
        Updates (mini-batches) done so far.
    """

    #: The estimator parameters ``configure`` takes.
    PARAMS = ("solver", "learning_rate", "learning_rate_init", "power_t", "momentum",
              "nesterovs_momentum", "beta_1", "beta_2", "epsilon", "max_iter")

    def __init__(self, solver_code, params, size, dtype):
        self.configure(solver_code, params)
        self.m = np.zeros(size, dtype=dtype)
        self.v = np.zeros(size if params["solver"] == "adam" else 0, dtype=dtype)
        self.t = 0
        self.epochs = 0
        self._learning_rate = float(params["learning_rate_init"])
        if params["learning_rate"] in EPOCH_SCHEDULES:
            self._learning_rate = scheduled_rate(
                params["learning_rate"], float(params["learning_rate_init"]), 0,
                int(params["max_iter"]))

    def configure(self, solver_code, params):
        """Take this fit's hyperparameters (the estimator's current parameters).

        ``params`` maps the names in ``PARAMS`` to values; the state and the
        current rate are kept (``partial_fit`` continues them).
        """
        self.solver_code = solver_code
        self.params = {name: params[name] for name in self.PARAMS}

    @property
    def learning_rate(self):
        """float: the learning rate the next epoch will use."""
        return self._learning_rate

    def set_learning_rate(self, learning_rate):
        """Set the learning rate for the next epoch (and after, until changed).

        The one way to change the rate from outside the optimizer: learning-rate
        callbacks and :func:`sknn.lr_find` use it.  The estimator's schedule
        (``learning_rate="invscaling"`` / ``"adaptive"``) still applies its own
        rule at the end of the epoch.

        Parameters
        ----------
        learning_rate : float
            A positive, finite rate.
        """
        if (not isinstance(learning_rate, Real) or isinstance(learning_rate, bool)
                or not math.isfinite(learning_rate) or learning_rate <= 0):
            raise ValueError(
                f"learning_rate must be a positive finite number, got {learning_rate!r}."
            )
        self._learning_rate = float(learning_rate)

    def step_record(self):
        """The ``OptimizerStep`` record of the next epoch (state arrays shared)."""
        p = self.params
        return OptimizerStep(Code(self.solver_code), self._learning_rate, float(p["momentum"]),
                             bool(p["nesterovs_momentum"]), float(p["beta_1"]),
                             float(p["beta_2"]), float(p["epsilon"]), self.m, self.v, self.t)

    def end_epoch(self, t_samples):
        """The per-epoch schedule: ``invscaling`` SGD decays the rate; "cosine"
        and "one_cycle" (both solvers) set the next epoch's rate from the
        number of epochs done and ``max_iter``.

        ``t_samples`` is the number of samples seen so far (the estimator's ``t_``).
        """
        p = self.params
        self.epochs += 1
        if p["learning_rate"] in EPOCH_SCHEDULES:
            self._learning_rate = scheduled_rate(
                p["learning_rate"], float(p["learning_rate_init"]), self.epochs,
                int(p["max_iter"]))
        elif p["solver"] == "sgd" and p["learning_rate"] == "invscaling":
            self._learning_rate = p["learning_rate_init"] / (t_samples + 1) ** p["power_t"]

    def on_plateau(self):
        """The loss / score stopped improving: lower the rate or stop.

        Returns
        -------
        stop : bool
            Whether training should stop.
        note : str
            What was done, for verbose output.
        """
        p = self.params
        if p["solver"] != "sgd" or p["learning_rate"] != "adaptive":
            return True, "Stopping."
        if self._learning_rate <= _ADAPTIVE_MIN_RATE:
            return True, "Learning rate too small. Stopping."
        self._learning_rate /= _ADAPTIVE_FACTOR
        return False, f"Setting learning rate to {self._learning_rate:f}"

    def copy(self):
        """An independent copy (a fit works on one so a failed fit leaves the old)."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.m, new.v, new.params = self.m.copy(), self.v.copy(), dict(self.params)
        return new
