"""Training on several threads by splitting every batch's layers by units.

Each thread of a multi-threaded fit runs ``unit_split_epoch`` (one ``nogil`` call
for the whole epoch, no Python per batch).  A batch is ``2 L + 1`` phases: the
gather of its input rows, the forward pass of each hidden layer, the output layer
(forward, loss, output delta, the output bias's step), then the backward pass of
each layer from the last.  Each phase is split into *pieces* claimed one at a
time from an atomic counter (``sync.py``), so a thread on a busy core takes
fewer; a phase ends when its done-counter reaches its piece count, and a thread
that has not arrived is never waited for.

- forward piece, units ``j0:j1`` of hidden layer ``l``:
  ``A_l[:, j0:j1] = f(A_{l-1} @ W_l[:, j0:j1] + b_l[j0:j1])``;
- backward piece, rows ``i0:i1`` of ``W_l`` (input units of layer ``l``): first
  the deltas of those units from the old rows, ``D_{l-1}[:, i0:i1] =
  f'(.) * (D_l @ W_l[i0:i1].T)``, and the step of their biases; then
  ``dW_l[i0:i1] = A_{l-1}[:, i0:i1].T @ D_l`` into the thread's scratch and the
  optimizer step of those rows at once.  A piece owns its rows of ``W_l``: no
  gradient slot, no reduction, and each thread packs only its share of ``W``.

The gather phase mostly does not run: the next batch's rows are gathered (into
the other half of the input buffer) by extra pieces of phase 1, claimed after its
own.  A thread that finishes its share of the first layer early copies rows
instead of waiting for the other (16-unit pieces share 300 units out 144 / 156 at
best); only the first batch and one after a skipped batch gather their own.

Pieces are 16-unit aligned, 1, 2 or 4 per phase by the phase's work
(``phase_pieces``) whatever the thread count, and every element is computed by
the same operations whichever thread runs its piece: the weights do not depend
on the thread count.  The L2 term of the reported loss is summed piece by piece
(``partial``) in a fixed order.

What is split here: dense input, no wide part, no per-layer stage (dropout,
batch normalization, auxiliary output); ``sknn/_parallel.py`` runs the other
networks on row chunks.
"""

from .._numba import jit
from .activations import activation_grad, bias_activate
from .epoch import gather_targets
from .losses import loss_and_output_delta
from .network import (
    coef_view,
    gather_rows,
    hidden_activation,
    intercept_view,
    unit_offsets,
    unit_view,
)
from .optimizers import optimizer_step
from .parallel import batch_weight
from .sync import atomic_add, atomic_load, strided_dot, wait_until, wake_waiters

#: Pieces per phase (at most: one per 16 units).  Four: a thread on a busy core
#: takes fewer of them; more pieces made the loaded case worse (a preempted thread
#: still holds the piece it claimed) and the GEMMs narrower (benchmarks/README.md).
PIECES_PER_PHASE = 4
#: Units per piece are a multiple of this (whole SIMD registers and cache lines).
PIECE_ALIGN = 16
#: Fewest flops in a piece: narrow pieces of a small layer cost more than they save
#: (OpenBLAS packs the shared operand again for each).  5e5 splits FMNIST's
#: 300 -> 100 layer at batch 32 too (2 vs 1 thread, b32 float32: 1.12-1.15x with
#: 2e6, 1.27-1.45x with 5e5; b200 unchanged: benchmarks/README.md).
MIN_UNIT_PIECE_FLOPS = 5e5
#: ``counters[ABORT]`` set means a thread failed: the others stop at the next phase.
ABORT = 0


@jit(nogil=True)
def n_pieces(units, unit_flops, min_flops):
    """Pieces a phase over ``units`` units (or rows) of ``unit_flops`` flops each is
    split into: a power of two (pieces share out evenly over 2 or 4 threads), at
    most one per 16 units, ``PIECES_PER_PHASE``, and one per ``min_flops``
    (``MIN_UNIT_PIECE_FLOPS``)."""
    bound = min((units + PIECE_ALIGN - 1) // PIECE_ALIGN, PIECES_PER_PHASE,
                int(units * unit_flops // min_flops))
    n = 1
    while 2 * n <= bound:
        n *= 2
    return n


@jit(nogil=True)
def piece_bounds(units, npc, k):
    """Units ``[a, b)`` of piece ``k`` of ``npc``: whole 16-unit blocks, as equal as can be."""
    nblk = (units + PIECE_ALIGN - 1) // PIECE_ALIGN
    a = k * nblk // npc * PIECE_ALIGN
    b = (k + 1) * nblk // npc * PIECE_ALIGN
    return a, min(b, units)


@jit(nogil=True)
def gather_pieces(nb, min_flops):
    """Pieces of the gather of a batch of ``nb`` rows: a copy, one piece per 16 rows."""
    return n_pieces(nb, 2 * min_flops, min_flops)


@jit(nogil=True)
def phase_pieces(layout, kind, nb, min_flops):
    """Pieces of phase ``kind`` of a batch of ``nb`` rows (see the module docstring):
    0 gather (rows), 1..L-1 forward of hidden layer ``kind - 1``, L the output layer
    (one piece), L+1..2L backward of layer ``2 L - kind`` (rows of its ``W``: their
    weight gradient, and below the last layer the deltas they feed).  Phase 1 also
    has the next batch's ``gather_pieces`` (``unit_split_epoch``)."""
    L = layout.shape[0]
    if kind == 0:
        return gather_pieces(nb, min_flops)
    if kind < L:
        return n_pieces(layout[kind - 1, 1], 2.0 * nb * layout[kind - 1, 0], min_flops)
    if kind == L:
        return 1
    l = 2 * L - kind
    return n_pieces(layout[l, 0], (4.0 if l > 0 else 2.0) * nb * layout[l, 1], min_flops)


def partial_slots(layout):
    """Length of ``partial``: the most backward pieces a batch can have."""
    return int(sum(min(-(-int(fan_in) // PIECE_ALIGN), PIECES_PER_PHASE)
                   for fan_in in layout[:, 0]))


def scratch_size(layout):
    """Elements of a thread's scratch: a whole ``dW`` (a piece may be all its rows)."""
    return int(max(int(fi) * int(fo) for fi, fo in layout[:, :2]))


@jit(nogil=True)
def forward_piece(theta, net, inp, acts, zpre, offs, nb, l, j0, j1, consts):
    """Units ``j0:j1`` of hidden layer ``l``: product, bias and activation."""
    layout = net.layout
    Z = unit_view(acts, offs, layout, l, nb)
    W = coef_view(theta, layout, l, 0, layout[l, 0])[:, j0:j1]
    strided_dot(inp, W, Z[:, j0:j1], consts)
    bias_activate(Z, intercept_view(theta, layout, l)[j0:j1], hidden_activation(net, l),
                  unit_view(zpre, offs, layout, l, nb), j0, j1)


@jit(nogil=True)
def optimizer_piece(theta, grad, step, lo, hi, n_coef, alpha, sw_sum, t):
    """The optimizer step of ``theta[lo:hi]`` from its raw gradient ``grad[:hi - lo]``
    (its first ``n_coef`` elements are coefficients); returns their sum of squares."""
    return optimizer_step(theta[lo:hi], grad[: hi - lo], None, step.m[lo:hi], step.v[lo:hi],
                          n_coef, alpha, sw_sum, step.solver, step.learning_rate, step.momentum,
                          step.nesterov, step.beta_1, step.beta_2, step.epsilon, t)


@jit(nogil=True)
def output_piece(theta, net, obj, step, data, ws, inp, rows, offs, nb, sw_sum, t, sc, consts):
    """The output layer: forward, loss and output delta, the step of its biases.
    Returns the batch's weighted loss."""
    layout = net.layout
    L = layout.shape[0]
    fi, fo = layout[L - 1, 0], layout[L - 1, 1]
    Z = unit_view(ws.acts, offs, layout, L - 1, nb)
    strided_dot(inp, coef_view(theta, layout, L - 1, 0, fi), Z, consts)
    Zp = unit_view(ws.zpre, offs, layout, L - 1, nb)
    bias_activate(Z, intercept_view(theta, layout, L - 1), net.out_code, Zp, 0, fo)
    yb, swb, _ = gather_targets(data.Y, data.sw, rows, ws.ybuf, ws.swbuf)
    gb = sc[:fo]
    wloss = loss_and_output_delta(yb, Z, Zp, swb, obj.loss_code, net.out_code, obj.huber_delta,
                                  unit_view(ws.deltas, offs, layout, L - 1, nb), gb)
    b0 = layout[L - 1, 3]
    optimizer_piece(theta, gb, step, b0, b0 + fo, 0, obj.alpha, sw_sum, t)
    return wloss


@jit(nogil=True)
def backward_piece(theta, net, obj, step, ws, inp, offs, nb, l, i0, i1, sw_sum, t, sc, consts):
    """Rows ``i0:i1`` of ``W_l``: the deltas of those input units and their biases'
    step (``l > 0``), then their gradient and step.  Returns their sum of squares
    before the step (the batch loss's L2 term)."""
    layout = net.layout
    fi, fo = layout[l, 0], layout[l, 1]
    w = i1 - i0
    D = unit_view(ws.deltas, offs, layout, l, nb)
    W = coef_view(theta, layout, l, 0, fi)
    if l > 0:
        Dp = unit_view(ws.deltas, offs, layout, l - 1, nb)
        strided_dot(D, W[i0:i1].T, Dp[:, i0:i1], consts)  # the old rows: this piece owns them
        gb = sc[:w]
        activation_grad(inp, unit_view(ws.zpre, offs, layout, l - 1, nb), Dp,
                        hidden_activation(net, l - 1), gb, i0, i1)
        b0 = layout[l - 1, 3] + i0
        optimizer_piece(theta, gb, step, b0, b0 + w, 0, obj.alpha, sw_sum, t)
    gW = sc[: w * fo].reshape((w, fo))
    strided_dot(inp[:, i0:i1].T, D, gW, consts)
    lo = layout[l, 2] + i0 * fo
    return optimizer_piece(theta, sc, step, lo, lo + w * fo, w * fo, obj.alpha, sw_sum, t)


@jit(nogil=True)
def add_pending_loss(acc, partial, alpha):
    """Add the previous batch's share of the epoch loss to ``acc[0]`` once its L2
    pieces are all in ``partial`` (summed in slot order): ``acc[1:5]`` hold its
    weighted loss, weight sum, rows (0: none pending) and backward piece count."""
    if acc[3] > 0:
        sumsq = 0.0
        for s in range(int(acc[4])):
            sumsq += partial[s]
        acc[0] += (acc[1] + 0.5 * alpha * sumsq) / acc[2] * acc[3]
        acc[3] = 0.0


@jit(nogil=True)
def unit_split_epoch(member, theta, net, obj, step, data, ws, perm, batch_size, counters, acc,
                     partial, scratch, consts, min_flops):
    """Thread ``member``'s part of one epoch over the rows ``perm`` (``train_epoch``'s
    batches and updates; every thread of the epoch calls it with the same arguments).

    ``net``, ``obj``, ``step``, ``data`` and ``ws`` are ``train_epoch``'s records
    (``ws``: the batch buffers, shared; ``ws.xbuf`` holds two batches' input
    rows).  ``counters`` (int64, zeroed): the abort flag, then per phase of every
    batch the pieces claimed and done.  ``acc``
    (float64, 5 zeros): the epoch's loss sum and the pending batch (``add_pending_loss``;
    the caller adds the last batch's after the threads are joined).  ``partial``:
    the L2 share of each backward piece; ``scratch[member]``: the thread's own.
    ``min_flops``: the fewest flops of a piece (``MIN_UNIT_PIECE_FLOPS``; the pieces, hence
    the arithmetic, depend on it and on the batch, never on the thread count).
    Returns the update count after the epoch.
    """
    layout = net.layout
    L = layout.shape[0]
    n = perm.shape[0]
    X = data.deep[0]
    p = X.shape[1]
    offs = unit_offsets(layout, batch_size)
    sc = scratch[member]
    n_phases = 2 * L + 1
    half = ws.xbuf.shape[0] // 2
    alpha = obj.alpha
    t = step.t
    bi = 0
    buf = 1  # the half of ``ws.xbuf`` the last trained batch's rows are in
    fetched = False  # this batch's rows were gathered during the last trained batch
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        nb = stop - start
        rows = perm[start:stop]
        sw_sum = batch_weight(data.sw, rows)
        base = 1 + 2 * n_phases * bi
        bi += 1
        if sw_sum <= 0:  # no information: skipped, as train_epoch does
            fetched = False
            continue
        t += 1
        buf = 1 - buf  # the other half: the last batch's rows were read until its end
        xb = ws.xbuf[buf * half: buf * half + nb * p].reshape((nb, p))
        nn = min(stop + batch_size, n) - stop  # the next batch's rows, gathered in phase 1
        nxb = ws.xbuf[(1 - buf) * half: (1 - buf) * half + nn * p].reshape((nn, p))
        for kind in range(n_phases):
            if atomic_load(counters, ABORT) != 0:
                return t
            if kind == 0 and fetched:
                continue
            claimed, done = base + 2 * kind, base + 2 * kind + 1
            own = phase_pieces(layout, kind, nb, min_flops)
            npc = own + gather_pieces(nn, min_flops) if kind == 1 and nn > 0 else own
            while True:
                k = atomic_add(counters, claimed, 1)
                if k >= npc:
                    break
                if kind == 0:
                    a, b = k * nb // npc, (k + 1) * nb // npc
                    gather_rows(X, rows[a:b], xb[a:b])
                elif k >= own:  # phase 1's extra pieces: the next batch's rows
                    g = npc - own
                    a, b = (k - own) * nn // g, (k - own + 1) * nn // g
                    gather_rows(X, perm[stop + a: stop + b], nxb[a:b])
                elif kind < L:
                    l = kind - 1
                    j0, j1 = piece_bounds(layout[l, 1], own, k)
                    inp = xb if l == 0 else unit_view(ws.acts, offs, layout, l - 1, nb)
                    forward_piece(theta, net, inp, ws.acts, ws.zpre, offs, nb, l, j0, j1, consts)
                elif kind == L:
                    inp = xb if L == 1 else unit_view(ws.acts, offs, layout, L - 2, nb)
                    add_pending_loss(acc, partial, alpha)
                    wloss = output_piece(theta, net, obj, step, data, ws, inp, rows, offs, nb,
                                         sw_sum, t, sc, consts)
                    acc[1] = wloss
                    acc[2] = sw_sum
                    acc[3] = nb
                    acc[4] = 0
                    for q in range(L + 1, n_phases):
                        acc[4] += phase_pieces(layout, q, nb, min_flops)
                else:
                    l = 2 * L - kind
                    i0, i1 = piece_bounds(layout[l, 0], own, k)
                    inp = xb if l == 0 else unit_view(ws.acts, offs, layout, l - 1, nb)
                    slot = k
                    for q in range(L + 1, kind):
                        slot += phase_pieces(layout, q, nb, min_flops)
                    partial[slot] = backward_piece(theta, net, obj, step, ws, inp, offs, nb, l,
                                                   i0, i1, sw_sum, t, sc, consts)
                if atomic_add(counters, done, 1) == npc - 1:
                    wake_waiters(counters, done)
            wait_until(counters, done, npc, ABORT)
        fetched = nn > 0
    return t
