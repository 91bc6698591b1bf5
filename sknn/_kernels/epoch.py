"""Whole-epoch training, full-batch loss/gradient (L-BFGS) and prediction.

Python calls ``train_epoch`` once per epoch; inside it each mini-batch is
gathered into preallocated buffers, pushed forward and back, and the optimizer
updates ``theta`` in place.  Nothing here allocates per batch.
"""

import numpy as np

from .._numba import jit
from .activations import needs_preactivation
from .layers import no_layer_buffers, no_layers
from .losses import loss_and_output_delta
from .network import (
    aux_view,
    backward_pass,
    dense_width,
    forward_pass,
    gather_rows,
    intercept_view,
    unit_offsets,
    unit_view,
)
from .optimizers import optimizer_step, sum_squares
from .records import AUX_OUTPUT, make_network


@jit(nogil=True)
def batch_block(block, rows, buf, nb):
    """The input block of one batch: gathered rows for dense input, else the CSR."""
    p = dense_width(block)
    view = buf[: nb * p].reshape((nb, p))
    if p > 0:
        gather_rows(block[0], rows, view)
    return (view, block[1], block[2], block[3])


@jit(nogil=True)
def batch_block_marked(block, rows, buf, nb, bad):
    """``batch_block``, also setting ``bad[i]`` for a gathered dense row holding a
    NaN or an infinity (left as it was for the others).

    Predict's check that X is finite, fused into the copy the rows take anyway
    (``v - v`` is NaN exactly for those values; an OR across a row vectorises):
    ~3% of the copy's time, where a separate pass over a large X costs ~6% of
    the prediction (it reads X from memory once more) and runs on one thread.
    """
    p = dense_width(block)
    view = buf[: nb * p].reshape((nb, p))
    if p > 0:
        X = block[0]
        for i in range(nb):
            r = rows[i]
            odd = False
            for j in range(p):
                v = X[r, j]
                view[i, j] = v
                d = v - v
                odd |= d != d
            if odd:
                bad[i] = True
    return (view, block[1], block[2], block[3])


@jit(nogil=True)
def gather_targets(Y, sw, rows, ybuf, swbuf):
    nb = rows.shape[0]
    m = Y.shape[1]
    yb = ybuf[: nb * m].reshape((nb, m))
    swb = swbuf[:nb]
    gather_rows(Y, rows, yb)
    s = 0.0
    for i in range(nb):
        swb[i] = sw[rows[i]]
        s += swb[i]
    return yb, swb, s


@jit(nogil=True)
def scale_delta(D, gb, c):
    """D *= c and gb *= c: a head's share of a weighted sum of losses."""
    dt = D.dtype.type
    k = dt(c)
    n, m = D.shape
    for i in range(n):
        for j in range(m):
            D[i, j] *= k
    for j in range(m):
        gb[j] *= k


# output_deltas, batch_gradient and network.backward_pass are kernels of their own, not
# inline="always": their callers link their IR anyway (link-only libraries, _numba.py),
# while inlining them at numba's IR level cost each train_epoch / loss_grad
# specialization about 0.5-1 s more typing and lowering; the three calls per batch
# add 0.2% instructions to a batch-32 California epoch (benchmarks/README.md).
@jit(nogil=True, static=("loss_code",))
def output_deltas(net, loss_code, huber_delta, yb, yhat, swb, zpre, deltas, offs, grad, lws):
    """Loss and output deltas of the batch: main head, and the auxiliary one if any.

    Returns ``(objective, aux)``: the weighted loss ``(1 - w) * main + w * aux``
    (just ``main`` without an auxiliary output) and the auxiliary head's own
    weighted loss (0 without one).
    """
    layout = net.layout
    nb = yhat.shape[0]
    L = layout.shape[0]
    wloss = loss_and_output_delta(yb, yhat, unit_view(zpre, offs, layout, L - 1, nb),
                                  swb, loss_code, net.out_code, huber_delta,
                                  unit_view(deltas, offs, layout, L - 1, nb),
                                  intercept_view(grad, layout, L - 1))
    stages = net.layers.stages
    if not stages & AUX_OUTPUT:
        return wloss, 0.0
    aux, w = net.layers.aux, net.layers.aux_weight
    n_out = aux[0, 1]
    ya = aux_view(lws.aux_acts, nb, n_out)
    Da = aux_view(lws.aux_deltas, nb, n_out)
    gba = intercept_view(grad, aux, 0)
    aloss = loss_and_output_delta(yb, ya, ya, swb, loss_code, net.out_code, huber_delta, Da,
                                  gba)
    scale_delta(unit_view(deltas, offs, layout, L - 1, nb), intercept_view(grad, layout, L - 1),
                1.0 - w)
    scale_delta(Da, gba, w)
    return (1.0 - w) * wloss + w * aloss, aloss


@jit(nogil=True, static=("loss_code",))
def batch_gradient(theta, net, loss_code, huber_delta, deep, wide, rows, offs, yb, swb,
                   acts, zpre, deltas, xbuf, wbuf, wide_tmp, wtbuf, grad, lws):
    """Forward, loss and backward for the batch ``rows``: raw gradient into ``grad``.

    ``yb`` / ``swb`` are the batch's gathered targets and weights
    (``gather_targets``); the rest are the fields of the records ``train_epoch``
    takes, unpacked once per epoch (a record field read inside the batch loop
    costs a reference-count update per array).  Returns the batch's weighted
    loss and its auxiliary head's (``output_deltas``).
    """
    nb = rows.shape[0]
    layout = net.layout
    L = layout.shape[0]
    n_out = layout[L - 1, 1]
    deep_b = batch_block(deep, rows, xbuf, nb)
    wide_b = batch_block(wide, rows, wbuf, nb)
    wt = wide_tmp[: nb * n_out].reshape((nb, n_out))
    yhat = forward_pass(theta, net, deep_b, wide_b, rows, acts, zpre, offs, wt, swb, lws)
    losses = output_deltas(net, loss_code, huber_delta, yb, yhat, swb, zpre, deltas, offs, grad,
                           lws)
    backward_pass(theta, net, deep_b, wide_b, rows, acts, zpre, deltas, offs, grad, wtbuf, swb,
                  lws)
    return losses


@jit(nogil=True)
def train_epoch(theta, net, obj, step, data, ws, perm, batch_size):
    """Run one epoch of mini-batch updates over the rows in ``perm``.

    ``net``, ``obj``, ``step``, ``data`` and ``ws`` are the ``Network``,
    ``Objective``, ``OptimizerStep``, ``Data`` and ``Workspace`` records
    (records.py); the optimizer state ``step.m`` / ``step.v`` is updated in place.
    Returns ``(accumulated_loss, t)`` where the loss is scikit-learn's sum over
    batches of ``batch_loss * batch_rows`` (the caller divides by the number of
    rows) and ``t`` the update count after the epoch.  A batch whose weights sum
    to zero carries no information and is skipped, as if its rows had been dropped.
    ``ws.aux_loss[0]`` accumulates the auxiliary head's loss as the main one is.
    """
    n = perm.shape[0]
    n_coef = net.layout[0, 3]
    offs = unit_offsets(net.layout, batch_size)
    loss_code, huber_delta, alpha = obj.loss_code, obj.huber_delta, obj.alpha
    deep, wide, Y, sw = data.deep, data.wide, data.Y, data.sw
    grad, acts, zpre, deltas = ws.grad, ws.acts, ws.zpre, ws.deltas
    xbuf, wbuf, ybuf, swbuf, wide_tmp, wtbuf = (ws.xbuf, ws.wbuf, ws.ybuf, ws.swbuf,
                                                ws.wide_tmp, ws.wtbuf)
    lws, aux_loss = ws.layer_buffers, ws.aux_loss
    solver, lr, momentum, nesterov = step.solver, step.learning_rate, step.momentum, step.nesterov
    beta_1, beta_2, epsilon, m, v = step.beta_1, step.beta_2, step.epsilon, step.m, step.v
    t = step.t
    total = 0.0
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        nb = stop - start
        rows = perm[start:stop]
        yb, swb, sw_sum = gather_targets(Y, sw, rows, ybuf, swbuf)
        if sw_sum <= 0:
            continue
        wloss, aloss = batch_gradient(theta, net, loss_code, huber_delta, deep, wide, rows, offs,
                                      yb, swb, acts, zpre, deltas, xbuf, wbuf, wide_tmp, wtbuf,
                                      grad, lws)
        aux_loss[0] += aloss / sw_sum * nb
        t += 1
        sumsq = optimizer_step(theta, grad, None, m, v, n_coef, alpha, sw_sum, solver, lr,
                               momentum, nesterov, beta_1, beta_2, epsilon, t)
        total += (wloss + 0.5 * alpha * sumsq) / sw_sum * nb
    return total, t


@jit(nogil=True)
def loss_grad(theta, net, obj, data, ws, sw_sum, chunk):
    """Full-batch objective and its gradient (into ``ws.grad``), for L-BFGS.

    Takes the records of ``train_epoch``.  Rows are processed in chunks of
    ``chunk`` to bound memory (``ws.gchunk`` holds a chunk's gradient); the result
    is scikit-learn's ``(sum sw*loss + alpha/2 ||W||^2) / sw_sum`` and its gradient.
    Batch normalization needs the whole set in one chunk (its statistics are the
    batch's).  ``ws.aux_loss[0]`` receives the auxiliary head's weighted mean loss.
    """
    grad, gchunk = ws.grad, ws.gchunk
    ws.aux_loss[0] = 0.0
    n = data.Y.shape[0]
    n_coef = net.layout[0, 3]
    offs = unit_offsets(net.layout, chunk)
    total = 0.0
    rows_all = np.arange(n)
    first = True
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        rows = rows_all[start:stop]
        yb, swb, _ = gather_targets(data.Y, data.sw, rows, ws.ybuf, ws.swbuf)
        target = grad if first else gchunk
        wloss, aloss = batch_gradient(theta, net, obj.loss_code, obj.huber_delta, data.deep,
                                      data.wide, rows, offs, yb, swb, ws.acts, ws.zpre,
                                      ws.deltas, ws.xbuf, ws.wbuf, ws.wide_tmp, ws.wtbuf, target,
                                      ws.layer_buffers)
        total += wloss
        ws.aux_loss[0] += aloss
        if not first:
            for i in range(grad.shape[0]):
                grad[i] += gchunk[i]
        first = False
    dt = theta.dtype.type
    a = dt(obj.alpha)
    s = dt(sw_sum)
    for i in range(grad.shape[0]):
        if i < n_coef:
            grad[i] = (grad[i] + a * theta[i]) / s
        else:
            grad[i] = grad[i] / s
    ws.aux_loss[0] /= sw_sum
    return (total + 0.5 * obj.alpha * sum_squares(theta, n_coef)) / sw_sum


#: Rows per predict chunk.  Small enough that a chunk's activations stay in L2
#: between the GEMM that writes them and the bias/activation pass and the next
#: GEMM that read them (256 x 410 units x 8 B = 0.8 MB for a (300, 100) net);
#: large enough for full-speed GEMMs.  Measured against 4096-row chunks: 1.15x
#: (784-300-100-10, float64) to 1.3x ((50, 50, 50) regression) more rows/s.
PREDICT_ROWS = 256


@jit(nogil=True, static=("hidden_code", "out_code"))
def predict_forward(theta, layout, n_wide, hidden_code, out_code, layer_codes, deep, wide, out,
                    chunk):
    """out = network output for every row of the input blocks, in row chunks.

    The network is the ``Network`` record's fields; ``layout`` may be a run of
    the model's layers (the autoencoder's encoder or decoder: offsets index the
    whole ``theta``).  Chunks hold at most ``min(chunk, PREDICT_ROWS)`` rows.
    Allocates its own workspace, so concurrent calls on one model are safe.
    A row whose dense input holds a NaN or an infinity gets NaN outputs
    (``batch_block_marked``): predict checks X's finiteness through its output.
    """
    chunk = max(1, min(chunk, PREDICT_ROWS))
    n = out.shape[0]
    n_out = out.shape[1]
    total_units = 0
    for l in range(layout.shape[0]):
        total_units += layout[l, 1]
    dt = theta.dtype
    # the plain network: batch normalization is folded into theta, dropout off
    net = make_network(layout, n_wide, hidden_code, out_code, layer_codes, no_layers(dt))
    lws = no_layer_buffers(dt)
    none = lws.aux_acts
    preact = needs_preactivation(hidden_code)
    for code in layer_codes:
        preact = preact or needs_preactivation(code)
    acts = np.empty(chunk * total_units, dtype=dt)
    zpre = np.empty(chunk * total_units if preact else 0, dtype=dt)
    xbuf = np.empty(chunk * dense_width(deep), dtype=dt)
    wbuf = np.empty(chunk * dense_width(wide), dtype=dt)
    wide_tmp = np.empty(chunk * n_out, dtype=dt)
    bad = np.zeros(chunk, dtype=np.bool_)  # rows of the chunk with a non-finite dense input
    rows_all = np.arange(n)
    offs = unit_offsets(layout, chunk)
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        nb = stop - start
        rows = rows_all[start:stop]
        deep_b = batch_block_marked(deep, rows, xbuf, nb, bad)
        wide_b = batch_block_marked(wide, rows, wbuf, nb, bad)
        yhat = forward_pass(theta, net, deep_b, wide_b, rows, acts, zpre, offs,
                            wide_tmp[: nb * n_out].reshape((nb, n_out)), none, lws)
        # an element loop: a slice assignment compiles numba's shape-mismatch
        # error formatting (about a third of predict's compile time)
        for i in range(nb):
            for j in range(n_out):
                out[start + i, j] = yhat[i, j]
            if bad[i]:  # a non-finite input never gives a finite answer (ReLU may hide it)
                bad[i] = False
                for j in range(n_out):
                    out[start + i, j] = np.nan
