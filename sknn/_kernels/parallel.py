"""Row-chunk kernels for data-parallel training, L-BFGS and prediction.

``sknn/_parallel.py`` hands the chunks of a batch (or of the training set, or of
the rows to predict) to threads; each call here works on one chunk with the
calling thread's own workspace, releases the GIL and writes only to buffers
that belong to that chunk, so any thread may run any chunk.

Determinism: each chunk's raw gradient lands in its own slot; ``block_step``
(a run of fixed blocks of theta per call, any thread) adds the slots in chunk
order for every element (the last inside the optimizer's loop) and applies the
elementwise optimizer step, so a given chunk layout gives bitwise the same
weights on any number of threads.  (One thread
does not split batches: ``train_epoch``, one call per epoch.)
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
def batch_weight(sw, rows):
    """The sample weights of ``rows`` summed in row order (as ``train_epoch``)."""
    sw_sum = 0.0
    for i in range(rows.shape[0]):
        sw_sum += sw[rows[i]]
    return sw_sum


@jit(nogil=True)
def block_step(theta, n_coef, obj, step, grad, grads, n_chunks, sw, rows, t, bounds, b0, b1,
               partial):
    """Combine a batch's chunk gradients and take the optimizer step, for the
    blocks ``b0:b1`` of theta (block ``b`` is ``bounds[b]:bounds[b + 1]``; blocks
    are independent, so any thread may take any run of them).

    Per element the chunk gradients are added in chunk order (``grad`` holds
    chunk 0's, ``grads[k]`` chunk ``k + 1``'s: ``((g0 + g1) + g2) + ...``), the
    last one inside the update loop (``optimizer_step``'s ``last``), and the
    optimizer's update number ``t`` is applied: per element the same operations
    as one ``optimizer_step`` over all of theta on the summed gradient, bitwise.
    ``partial[b]`` receives block ``b``'s share of the L2 sum of squares
    (coefficients before the update); ``batch_finish`` adds the shares in block
    order.  Nothing for a batch whose weights sum to zero.
    """
    sw_sum = batch_weight(sw, rows)
    for b in range(b0, b1):
        partial[b] = 0.0
    if sw_sum <= 0:
        return
    for b in range(b0, b1):
        lo, hi = bounds[b], bounds[b + 1]
        for k in range(n_chunks - 2):  # all but the last slot: into grad, in order
            g = grads[k]
            for i in range(lo, hi):
                grad[i] += g[i]
        nc = min(max(n_coef - lo, 0), hi - lo)
        if n_chunks > 1:
            partial[b] = optimizer_step(
                theta[lo:hi], grad[lo:hi], grads[n_chunks - 2][lo:hi], step.m[lo:hi],
                step.v[lo:hi], nc, obj.alpha, sw_sum, step.solver, step.learning_rate,
                step.momentum, step.nesterov, step.beta_1, step.beta_2, step.epsilon, t)
        else:  # a separate call: ``None`` must reach optimizer_step as its own type
            partial[b] = optimizer_step(
                theta[lo:hi], grad[lo:hi], None, step.m[lo:hi], step.v[lo:hi], nc, obj.alpha,
                sw_sum, step.solver, step.learning_rate, step.momentum, step.nesterov,
                step.beta_1, step.beta_2, step.epsilon, t)


@jit(nogil=True)
def batch_finish(alpha, losses, n_chunks, partial, n_blocks, sw, rows, aux_loss, t):
    """The batch's share of the epoch loss and the update count after its
    ``block_step`` calls: ``train_epoch``'s ``total`` increment (0, and ``t``
    unchanged, for a batch whose weights sum to zero, which is skipped), with the
    L2 term's sum of squares added block by block."""
    nb = rows.shape[0]
    sw_sum = batch_weight(sw, rows)
    if sw_sum <= 0:
        return 0.0, t
    wloss = 0.0
    aloss = 0.0
    for k in range(n_chunks):
        wloss += losses[k, 0]
        aloss += losses[k, 1]
    sumsq = 0.0
    for k in range(n_blocks):
        sumsq += partial[k]
    aux_loss[0] += aloss / sw_sum * nb
    return (wloss + 0.5 * alpha * sumsq) / sw_sum * nb, t + 1


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
