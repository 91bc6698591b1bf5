"""The records the once-per-epoch kernels take: what each argument is, in one place.

``train_epoch`` and ``loss_grad`` (``epoch.py``) take these named records instead
of dozens of positional arguments; ``sknn/_contract.py`` builds them once per fit
and is the only place option names become the int codes stored here.  They are
plain ``collections.namedtuple`` classes: numba types them as named tuples (no
jitclass: a cached function taking a jitclass missed the cache in every new
process), and under ``NUMBA_DISABLE_JIT`` they are ordinary tuples.

Typing a named-tuple argument costs about 20 us per call from Python (a plain
tuple ~2 us), nothing next to an epoch; per-call kernels (``predict_forward``)
therefore keep positional arguments and build the ``Network`` record inside
the jitted code, where passing records between functions is free.

Growing the contract: a per-layer option (dropout rate, normalization
parameters) becomes a field of ``Network`` holding one entry per hidden layer
(a float array of length ``layout.shape[0] - 1``, empty arrays meaning "off" so
one compiled specialization serves every network), its buffers become fields of
``Workspace``, and ``forward_pass`` / ``backward_pass`` read them from the
record.  Add the field here, fill it in ``sknn/_contract.py``, and every kernel
signature stays as it is.
"""

from collections import namedtuple

from .._numba import code_record

#: The per-layer stages of a network (layers.py); empty arrays / -1 mean "off".
Layers = namedtuple("Layers", [
    "dropout",      # float64 (n_hidden,) dropout rate per hidden layer, or empty: none
    "gamma_off",    # int: where batch normalization's gamma starts in theta (-1: none)
    "bn_epsilon",   # float: added to the batch variance
    "bn_momentum",  # float: moving = momentum * moving + (1 - momentum) * batch
    "moving",       # model dtype: moving means then variances of every hidden unit,
                    # updated in place by training; empty: not updated (L-BFGS, predict)
    "aux",          # int64 (k, 4): the auxiliary output layer's layout row (k = 0: none)
    "aux_weight",   # float: w of the objective (1 - w) * main + w * auxiliary
    "keys",         # int64 (n,): every training row's key for its dropout masks
    "seed",         # int: the epoch's dropout seed (set per epoch)
    "stages",       # int: the stages that are on (DROPOUT | BATCH_NORM | AUX_OUTPUT bits)
])

#: ``Layers.stages`` bits.  As a ``Code`` (sknn/_contract.py) the kernels are
#: compiled for the stages that are on: those that are off are compiled out.
DROPOUT = 1
BATCH_NORM = 2
AUX_OUTPUT = 4

#: The network a kernel evaluates.
Network = namedtuple("Network", [
    "layout",       # int64 (n_layers, 4): fan_in, fan_out, W offset, b offset per layer
    "n_wide",       # int: wide input columns feeding the output layer directly (0: none)
    "hidden_code",  # int: activation code of every hidden layer (activations.py)
    "out_code",     # int: activation code of the output layer
    "layer_codes",  # int64 array: activation code per hidden layer, or empty: all hidden_code
    "layers",       # Layers: dropout, batch normalization, auxiliary output
])

#: The training objective: loss and L2 penalty.
Objective = namedtuple("Objective", [
    "loss_code",    # int: loss code (losses.py)
    "huber_delta",  # float: Huber loss threshold (unused by other losses)
    "alpha",        # float: L2 penalty strength on the coefficients (not intercepts)
])

#: One epoch's optimizer step: hyperparameters, rate and state (updated in place).
OptimizerStep = namedtuple("OptimizerStep", [
    "solver",         # int: SGD or ADAM (optimizers.py)
    "learning_rate",  # float: this epoch's learning rate
    "momentum",       # float: SGD momentum
    "nesterov",       # bool: SGD Nesterov momentum
    "beta_1",         # float: Adam first-moment decay
    "beta_2",         # float: Adam second-moment decay
    "epsilon",        # float: Adam denominator guard
    "m",              # theta-sized array: SGD velocity / Adam first moment
    "v",              # theta-sized array: Adam second moment (empty for SGD)
    "t",              # int: updates done so far (Adam's bias correction)
])

#: The training data: input blocks, targets and sample weights.
Data = namedtuple("Data", [
    "deep",  # input block (dense, data, indices, indptr) feeding the first layer
    "wide",  # input block feeding the output layer (empty when n_wide == 0)
    "Y",     # (n, n_outputs) targets in the model dtype
    "sw",    # (n,) sample weights in the model dtype
])

#: Per-fit scratch buffers, sized for ``rows`` rows per batch (or chunk).
Workspace = namedtuple("Workspace", [
    "grad",      # theta-sized raw gradient
    "acts",      # rows x sum(fan_out): every layer's activations
    "zpre",      # rows x sum(fan_out) pre-activations, or empty (only GELU needs them)
    "deltas",    # rows x sum(fan_out): every layer's delta
    "xbuf",      # rows x deep columns: gathered dense batch (empty for CSR input)
    "wbuf",      # rows x wide columns: gathered dense wide batch (empty for CSR / none)
    "ybuf",      # rows x n_outputs: gathered targets
    "swbuf",     # rows: gathered sample weights
    "wide_tmp",  # rows x n_outputs: the wide product before it joins the output layer
    "wtbuf",     # W.T scratch for small layers (network.transpose_workspace_size)
    "gchunk",    # theta-sized per-chunk gradient of loss_grad (grad itself when unneeded)
    "layer_buffers",  # LayerBuffers of the per-layer stages
    "aux_loss",  # float64 (1,): the auxiliary head's accumulated loss
])

#: Buffers of the per-layer stages (empty when the stage is off).
LayerBuffers = namedtuple("LayerBuffers", [
    "xhat",        # rows per hidden layer (like acts): batch-normalized values
    "stats",       # float64: every hidden unit's batch mean, then variance, then 1/std
    "dropped",     # rows per hidden layer: activations after dropout
    "aux_acts",    # rows x n_outputs: the auxiliary output
    "aux_deltas",  # rows x n_outputs: its delta
    "aux_tmp",     # rows x last hidden width: its delta times W_aux.T
])

# Their ``Code`` fields (activation, loss, solver, stages, an absent wide part)
# select what the kernels are compiled for (sknn/_numba.py); ``make_network`` and
# ``make_layers`` build records in jitted code.
make_network = code_record(Network, ("n_wide", "hidden_code", "out_code"))
make_layers = code_record(Layers, ("stages",))
code_record(Objective, ("loss_code",))
code_record(OptimizerStep, ("solver",))
