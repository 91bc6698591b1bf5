"""Row-chunk kernels for data-parallel training, L-BFGS and prediction.

``sknn/_parallel.py`` hands the chunks of a batch (or of the training set, or of
the rows to predict) to threads; each call here works on one chunk with the
calling thread's own workspace, releases the GIL and writes only to buffers
that belong to that chunk, so any thread may run any chunk.

Determinism: a batch's chunk layout depends on the batch size and the network
only (``sknn._parallel.chunk_rows``), never on the thread count; each chunk's
raw gradient lands in its own slot and ``reduce_step`` adds the slots in chunk
order, so 1 and 8 threads give bitwise the same weights.  With one chunk per
batch the result is ``train_epoch``'s, bit for bit.
"""

from .._numba import jit
from .epoch import batch_gradient, gather_targets
from .network import unit_offsets
from .optimizers import optimizer_step, sum_squares


@jit(nogil=True)
def chunk_gradient(theta, net, obj, data, ws, rows, cap, grad, losses, c):
    """Raw gradient of the rows ``rows`` (one chunk of a batch) into ``grad``.

    ``ws`` is the calling thread's ``Workspace`` (records.py) with room for
    ``cap`` rows; ``losses[c]`` receives the chunk's weighted loss and its
    auxiliary head's (``epoch.output_deltas``).  Batch normalization is never
    chunked (its statistics are the whole batch's): the caller keeps one chunk.
    """
    yb, swb, _ = gather_targets(data.Y, data.sw, rows, ws.ybuf, ws.swbuf)
    offs = unit_offsets(net.layout, cap)
    wloss, aloss = batch_gradient(theta, net, obj.loss_code, obj.huber_delta, data.deep,
                                  data.wide, rows, offs, yb, swb, ws.acts, ws.zpre, ws.deltas,
                                  ws.xbuf, ws.wbuf, ws.wide_tmp, ws.wtbuf, grad,
                                  ws.layer_buffers)
    losses[c, 0] = wloss
    losses[c, 1] = aloss


@jit(nogil=True)
def add_chunks(grad, grads, n_chunks):
    """grad += grads[0] + ... + grads[n_chunks - 2], added left to right.

    ``grad`` holds chunk 0's gradient and ``grads[k]`` chunk ``k + 1``'s: the sum
    is ``((g0 + g1) + g2) + ...`` whichever thread computed which chunk.
    """
    for k in range(n_chunks - 1):
        g = grads[k]
        for i in range(grad.shape[0]):
            grad[i] += g[i]


@jit(nogil=True)
def reduce_step(theta, n_coef, obj, step, grad, grads, losses, n_chunks, sw, rows, aux_loss, t):
    """Combine a batch's chunk gradients in chunk order and take one optimizer step.

    ``rows`` are the batch's rows; their weights are summed in row order as
    ``train_epoch`` does, so a one-chunk batch reproduces it exactly.  Returns
    ``(loss, t)``: the batch's share of the epoch loss (``train_epoch``'s
    ``total`` increment; 0 for a batch whose weights sum to zero, which is
    skipped) and the update count after it.
    """
    nb = rows.shape[0]
    sw_sum = 0.0
    for i in range(nb):
        sw_sum += sw[rows[i]]
    if sw_sum <= 0:
        return 0.0, t
    wloss = 0.0
    aloss = 0.0
    for k in range(n_chunks):
        wloss += losses[k, 0]
        aloss += losses[k, 1]
    add_chunks(grad, grads, n_chunks)
    aux_loss[0] += aloss / sw_sum * nb
    t += 1
    sumsq = optimizer_step(theta, grad, step.m, step.v, n_coef,
                           obj.alpha, sw_sum, step.solver, step.learning_rate, step.momentum,
                           step.nesterov, step.beta_1, step.beta_2, step.epsilon, t)
    return (wloss + 0.5 * obj.alpha * sumsq) / sw_sum * nb, t


@jit(nogil=True)
def loss_grad_finish(theta, grad, losses, n_chunks, n_coef, alpha, sw_sum, aux_loss):
    """Finish ``epoch.loss_grad`` from its chunks: sum the chunk losses in order,
    scale the gradient, add the L2 term; return the objective."""
    total = 0.0
    aux = 0.0
    for k in range(n_chunks):
        total += losses[k, 0]
        aux += losses[k, 1]
    dt = theta.dtype.type
    a = dt(alpha)
    s = dt(sw_sum)
    for i in range(grad.shape[0]):
        if i < n_coef:
            grad[i] = (grad[i] + a * theta[i]) / s
        else:
            grad[i] = grad[i] / s
    aux_loss[0] = aux / sw_sum
    return (total + 0.5 * alpha * sum_squares(theta, n_coef)) / sw_sum
