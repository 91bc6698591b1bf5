"""The kernel contract of a fit: builds the records ``sknn._kernels.records`` defines.

This is the only place where option names (activation, loss, solver) become the
int codes the kernels branch on (as ``Code``: the kernels are compiled for the
codes a fit uses, see ``sknn/_numba.py``); the estimators and the engine ask here.  The
records are built once per fit (the optimizer's step record once per epoch, as
its rate changes); predict takes the same ``Network`` record's fields as plain
arguments (see ``records.py`` on why per-call kernels avoid records).
"""

import numpy as np

from ._kernels.activations import ACTIVATION_CODES, needs_preactivation
from ._kernels.layers import no_layers, row_keys
from ._kernels.losses import LOSS_CODES
from ._kernels.network import dense_width, transpose_workspace_size
from ._kernels.optimizers import SOLVER_CODES
from ._kernels.records import (
    AUX_OUTPUT,
    BATCH_NORM,
    DROPOUT,
    Data,
    LayerBuffers,
    Layers,
    Network,
    Objective,
    Workspace,
)
from ._layout import n_params
from ._numba import Code
from ._optimizers import StochasticOptimizer

#: ``Network.n_wide`` without a wide part: as a ``Code``, compiled out.
NO_WIDE = Code(0)


def network(est, deep=None, update_moving=False):
    """The ``Network`` record of a fitted (or initialised) MLP.

    ``deep``: the training input block, whose row keys dropout needs (the
    epoch's seed, ``layers.seed``, is the caller's to set); ``update_moving``:
    training updates the moving statistics of batch normalization in place.
    """
    n_wide = NO_WIDE if est._wide_idx is None else int(est._wide_idx.size)
    codes = layer_codes(est._layer_activations())
    hidden = ACTIVATION_CODES[est.activation]
    # one activation for every hidden layer: kernels compiled for it (Code); per-layer
    # codes (the autoencoder's) are runtime values, served by the generic kernels
    return Network(est._layout, n_wide, Code(hidden) if codes.shape[0] == 0 else hidden,
                   Code(ACTIVATION_CODES[est.out_activation_]), codes,
                   layers(est, deep, update_moving))


def layer_codes(activations):
    """``Network.layer_codes`` for hidden activation names: empty when they are all
    the same (``hidden_code`` then serves every layer), else one code per layer."""
    if len(set(activations)) <= 1:
        return np.empty(0, dtype=np.int64)
    return np.array([ACTIVATION_CODES[a] for a in activations], dtype=np.int64)


def sub_network(net, start, stop, out_activation):
    """Layers ``start:stop`` of ``net`` as a plain network of their own (no layer
    stages: batch normalization folded into theta, dropout off), the last of them
    with ``out_activation`` (a name): the autoencoder's encoder and decoder."""
    codes = net.layer_codes
    if codes.shape[0] == 0:
        codes = np.full(net.layout.shape[0] - 1, net.hidden_code, dtype=np.int64)
    return Network(np.ascontiguousarray(net.layout[start:stop]), NO_WIDE, net.hidden_code,
                   Code(ACTIVATION_CODES[out_activation]),
                   np.ascontiguousarray(codes[start:stop - 1]),
                   no_layers(net.layers.moving.dtype))


def layers(est, deep=None, update_moving=False):
    """The ``Layers`` record: dropout, batch normalization and auxiliary output."""
    dtype = est._theta.dtype
    keys = np.zeros(0, dtype=np.int64)
    if est._dropout_rates.size and deep is not None:
        keys = np.empty(_n_rows(deep), dtype=np.int64)
        row_keys(deep, keys)
    # the kernels are compiled for the stages that are on (Code): a plain fit
    # compiles no dropout, batch normalization or auxiliary-output code
    stages = ((DROPOUT if est._dropout_rates.size else 0)
              | (BATCH_NORM if est._gamma_off >= 0 else 0)
              | (AUX_OUTPUT if est._aux_layout.shape[0] else 0))
    return Layers(est._dropout_rates.astype(np.float64), int(est._gamma_off),
                  float(est._bn_epsilon), float(est.batch_norm_momentum),
                  est._moving if update_moving else np.empty(0, dtype=dtype),
                  est._aux_layout, float(est.auxiliary_loss_weight), keys, 0, Code(stages))


def _n_rows(block):
    return block[3].shape[0] - 1 if block[3] is not None else block[0].shape[0]


def objective(est):
    """The ``Objective`` record: loss code, Huber threshold, L2 strength."""
    return Objective(Code(LOSS_CODES[est._loss_name()]), est._huber_delta(), float(est.alpha))


def data(deep, wide, Y, sw):
    """The ``Data`` record of input blocks, targets and sample weights."""
    return Data(deep, wide, Y, sw)


def optimizer(est):
    """A fresh ``StochasticOptimizer`` for ``est``'s solver and parameters."""
    return StochasticOptimizer(SOLVER_CODES[est.solver], optimizer_params(est),
                               est._theta.size, est._theta.dtype)


def configure_optimizer(opt, est):
    """Give a continued optimizer ``est``'s current parameters (``partial_fit``)."""
    opt.configure(SOLVER_CODES[est.solver], optimizer_params(est))


def optimizer_params(est):
    return {name: getattr(est, name) for name in StochasticOptimizer.PARAMS}


def workspace(layout, rows, deep, wide, activation, dtype, chunked=False, aux=None,
              gamma_off=-1, dropout=False):
    """A ``Workspace`` for ``rows`` rows per batch (or chunk).

    ``activation`` is the hidden activation's name, or a list of them, one per
    hidden layer (GELU keeps pre-activations);
    ``chunked`` gives ``loss_grad`` its own per-chunk gradient buffer (else
    ``gchunk`` is ``grad``, for a single chunk, or empty in training).  ``aux``,
    ``gamma_off`` and ``dropout`` describe the layer stages (``Layers``); a stage
    that is off gets empty buffers.
    """
    units = int(layout[:, 1].sum())
    n_out = int(layout[-1, 1])
    aux = np.empty((0, 4), dtype=np.int64) if aux is None else aux
    grad = np.empty(n_params(layout, aux, gamma_off), dtype=dtype)
    names = [activation] if isinstance(activation, str) else activation
    preact = any(needs_preactivation(ACTIVATION_CODES[a]) for a in names)
    return Workspace(
        grad=grad,
        acts=np.empty(rows * units, dtype=dtype),
        zpre=np.empty(rows * units if preact else 0, dtype=dtype),
        deltas=np.empty(rows * units, dtype=dtype),
        xbuf=np.empty(rows * dense_width(deep), dtype=dtype),
        wbuf=np.empty(rows * dense_width(wide), dtype=dtype),
        ybuf=np.empty(rows * n_out, dtype=dtype),
        swbuf=np.empty(rows, dtype=dtype),
        wide_tmp=np.empty(rows * n_out, dtype=dtype),
        wtbuf=np.empty(transpose_workspace_size(layout, np.dtype(dtype).itemsize), dtype=dtype),
        gchunk=np.empty_like(grad) if chunked else grad,
        layer_buffers=layer_buffers(layout, rows, dtype, aux, gamma_off, dropout),
        aux_loss=np.zeros(1),
    )


def layer_buffers(layout, rows, dtype, aux, gamma_off, dropout):
    """The ``LayerBuffers`` of the stages that are on (empty arrays for the others)."""
    hidden = int(layout[:-1, 1].sum())
    bn = gamma_off >= 0
    n_aux = int(aux[0, 1]) if aux.shape[0] else 0
    last_hidden = int(layout[-2, 1]) if n_aux else 0
    return LayerBuffers(
        xhat=np.empty(rows * hidden if bn else 0, dtype=dtype),
        stats=np.empty(3 * hidden if bn else 0),
        dropped=np.empty(rows * hidden if dropout else 0, dtype=dtype),
        aux_acts=np.empty(rows * n_aux, dtype=dtype),
        aux_deltas=np.empty(rows * n_aux, dtype=dtype),
        aux_tmp=np.empty(rows * last_hidden, dtype=dtype),
    )


def fit_workspace(est, rows, deep, wide, chunked=False):
    """``workspace`` for a fit of ``est``, with its layer stages."""
    return workspace(est._layout, rows, deep, wide, est._layer_activations(), est._theta.dtype,
                     chunked, est._aux_layout, est._gamma_off, est._dropout_rates.size > 0)
