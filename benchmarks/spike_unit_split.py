"""Feasibility spike (issue 19): one persistent epoch kernel per thread, GEMMs split by units.

Kept as the record of the spike's measurements: the design is now sknn's unit split
(``sknn/_kernels/unit_split.py``, ``bench_threads.py`` times it).  Measures whether
this design reaches the thread targets
on the FMNIST shape (784-300-100-10, relu, softmax log-loss, Adam, L2 1e-4):

- every thread (the caller + one worker Python thread, started per epoch and
  joined after it) calls ONE ``@njit(nogil=True)`` kernel that runs the whole
  epoch; no Python per batch;
- a batch is 6 phases (forward 784->300, forward 300->100, output layer, then
  backward of W2, W1, W0), each split into pieces of units (16-aligned, the same
  for any thread count) claimed from a shared atomic counter; a phase ends when
  its *done* counter reaches its piece count (a late thread just takes fewer,
  the caller alone can run the epoch);
- forward pieces: ``A[:, j0:j1] = relu(A_in @ W[:, j0:j1] + b)``; backward
  pieces: rows ``i0:i1`` of ``W_l``: ``D_l[:, i0:i1]`` from the old rows, the
  bias step of those units, ``dW_l[i0:i1]`` into a per-thread scratch and the
  Adam step of those rows right away: no gradient slots, no reduction;
- the output phase's other pieces gather the next batch's rows (double buffer);
- GEMMs on column blocks in place through numba's ``numba_xxgemm`` (strides as
  leading dimensions, no copies); BLAS single-threaded;
- a waiter spins ~5 us, then usleep(20) (its CPU goes idle, so a peer preempted
  by another job can be pulled over; spinning or sched_yield kept it busy).

    OPENBLAS_NUM_THREADS=1 python benchmarks/spike_unit_split.py check
    python benchmarks/spike_unit_split.py time --rows 55000 --repeats 7
    python benchmarks/spike_unit_split.py time --loaded   # spinner on cpu 1

``check``: 1-thread kernel vs a NumPy reference epoch (float64, small data), and
1 vs 2 threads (max abs weight difference, bitwise or not).  ``time``: epoch
medians of this kernel at 1 and 2 threads and of sknn's ``MLPClassifier``
(``n_jobs=1`` and ``2``, ``history_["epoch_time"]``), contenders interleaved in
one process; ``--loaded`` times the kernel on 2 threads with a process spinning
on cpu 1 against its quiet 1-thread time.  Per-phase busy / barrier-wait time
per thread comes from the kernel's cycle counters.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from llvmlite import ir  # noqa: E402
from numba import njit, types  # noqa: E402
from numba.core import cgutils  # noqa: E402
from numba.extending import intrinsic, overload  # noqa: E402
from numba.np.linalg import _BLAS, get_blas_kind  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

HIDDEN = (300, 100)
N_CLASSES = 10
ALPHA, LR, BETA1, BETA2, EPS = 1e-4, 1e-3, 0.9, 0.999, 1e-8
PHASES = 6  # F0, F1, OUT(+gather next), B2, B1, B0
PHASE_NAMES = ("fwd0", "fwd1", "out+gather", "bwd2", "bwd1", "bwd0")
JIT = dict(nogil=True, cache=True, error_model="numpy")  # sknn's: divisions vectorise
# A phase's waiter spins SPIN pauses, then sleeps WAIT_SLEEP_US (0: sched_yield).  Under
# a spinner on cpu 1, b200 float32: SPIN 2000 + sched_yield or usleep(20) 1.24-1.33x the
# quiet 1-thread epoch; SPIN 100 + usleep(20) 1.06x (a sleeping waiter frees its CPU).
WAIT_SLEEP_US = 20
SPIN = 100  # pause instructions (~5 us on SkylakeX) before sleeping


# ------------------------------------------------------------------ intrinsics
@intrinsic
def atomic_add(typingctx, arr, i, v):
    """arr[i] += v atomically (seq_cst); returns the old value."""
    def codegen(context, builder, sig, args):
        aty = sig.args[0]
        ary = context.make_array(aty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aty, ary, [args[1]])
        return builder.atomic_rmw("add", ptr, args[2], "seq_cst")
    return types.int64(arr, types.intp, types.int64), codegen


@intrinsic
def atomic_load(typingctx, arr, i):
    def codegen(context, builder, sig, args):
        aty = sig.args[0]
        ary = context.make_array(aty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aty, ary, [args[1]])
        return builder.load_atomic(ptr, "acquire", 8)
    return types.int64(arr, types.intp), codegen


def _call0(name, ret):
    def codegen(context, builder, sig, args):
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ret, []), name)
        return builder.call(fn, [])
    return codegen


@intrinsic
def cpu_pause(typingctx):
    def codegen(context, builder, sig, args):
        _call0("llvm.x86.sse2.pause", ir.VoidType())(context, builder, sig, args)
        return context.get_dummy_value()
    return types.none(), codegen


@intrinsic
def sched_yield(typingctx):
    return types.int32(), _call0("sched_yield", ir.IntType(32))


@intrinsic
def usleep(typingctx, us):
    def codegen(context, builder, sig, args):
        fnty = ir.FunctionType(ir.IntType(32), [ir.IntType(32)])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "usleep")
        return builder.call(fn, [builder.trunc(args[0], ir.IntType(32))])
    return types.int32(types.int64), codegen


@intrinsic
def cycles(typingctx):
    return types.int64(), _call0("llvm.readcyclecounter", ir.IntType(64))


# ------------------------------------------------------------------ strided GEMM
def gemm(ta, tb, m, n, k, A, lda, B, ldb, C, ldc, consts):
    raise NotImplementedError


@overload(gemm, jit_options={"nogil": True})
def _gemm(ta, tb, m, n, k, A, lda, B, ldb, C, ldc, consts):
    """Column-major C (m x n, ldc) = op(A) @ op(B), beta 0, pointers at the views'
    first elements: a row-major block ``X[:, j0:j1]`` is a column-major (w x rows)
    matrix with leading dimension ``X.shape[1]``."""
    fn = _BLAS().numba_xxgemm(A.dtype)
    kind = ord(get_blas_kind(A.dtype))

    def impl(ta, tb, m, n, k, A, lda, B, ldb, C, ldc, consts):
        fn(kind, ta, tb, m, n, k, consts[1:].ctypes, A.ctypes, lda, B.ctypes, ldb,
           consts[:1].ctypes, C.ctypes, ldc)
    return impl


N, T = ord("n"), ord("t")


# ------------------------------------------------------------------ pieces
@njit(**JIT)
def n_pieces(units, per_phase):
    return min((units + 15) // 16, abs(per_phase))


@njit(**JIT)
def piece(units, npc, k, per_phase):
    """Units of piece k of npc, 16-aligned: equal pieces, or (per_phase < 0, "guided")
    shrinking ones: piece k ends at fraction 1 - (1 - (k+1)/npc)**2, so big pieces
    go first and the last small ones even out the threads' finishing times."""
    nblk = (units + 15) // 16
    if per_phase > 0:
        a, b = k * nblk // npc, (k + 1) * nblk // npc
    else:
        q = npc * npc
        a = nblk * (q - (npc - k) ** 2) // q
        b = nblk * (q - (npc - k - 1) ** 2) // q
    return a * 16, min(b * 16, units)


@njit(**JIT)
def wait_done(ctr, ph, npc):
    spins = 0
    while atomic_load(ctr, 2 * ph + 1) < npc:
        if spins < SPIN:
            cpu_pause()
            spins += 1
        elif WAIT_SLEEP_US > 0:
            # sleeping leaves this CPU idle, so the kernel pulls a preempted peer
            # over (sched_yield keeps it busy: the peer waits behind the spinner)
            usleep(WAIT_SLEEP_US)
        else:
            sched_yield()


# ------------------------------------------------------------------ piece work
@njit(**JIT)
def forward_piece(Ain, W, b, Aout, nb, j0, j1, consts):
    fi, fo = W.shape
    gemm(N, N, j1 - j0, nb, fi, W[:, j0:], fo, Ain, fi, Aout[:, j0:], fo, consts)
    bj = b[j0:j1]
    for r in range(nb):
        row = Aout[r, j0:j1]  # views: indices from range skip numba's wraparound check
        for j in range(j1 - j0):
            z = row[j] + bj[j]
            row[j] = z if z > 0 else 0


@njit(**JIT)
def adam(theta, g, m, v, lo, hi, alpha, inv_batch, step):
    """Adam on theta[lo:hi] (1-D) from the raw gradient g[0:hi-lo]; sknn's formulas.
    """
    dt = theta.dtype.type
    a, inv_s, lr = dt(alpha), dt(inv_batch), dt(step)
    b1, b2, c1, c2, eps = dt(BETA1), dt(BETA2), dt(1 - BETA1), dt(1 - BETA2), dt(EPS)
    th, mm, vv = theta[lo:hi], m[lo:hi], v[lo:hi]
    for i in range(hi - lo):
        gi = (g[i] + a * th[i]) * inv_s
        mi = b1 * mm[i] + c1 * gi
        vi = b2 * vv[i] + c2 * (gi * gi)
        mm[i] = mi
        vv[i] = vi
        th[i] = th[i] + (-lr * mi) / (math.sqrt(vi) + eps)


@njit(**JIT)
def backward_piece(l, Ain, Dout, Din, W, mW, vW, bprev, mbprev, vbprev, nb, i0, i1,
                   scratch, consts, inv_s, lr):
    """Rows i0:i1 of W (input units): Din[:, i0:i1] and the bias step of those units
    (l > 0), then dW[i0:i1] = Ain[:, i0:i1].T @ Dout and its Adam step.  Returns
    sum(W[i0:i1]**2) before the step (the loss's L2 term)."""
    fi, fo = W.shape
    w = i1 - i0
    if l > 0:
        gemm(T, N, w, nb, fo, W[i0:], fo, Dout, fo, Din[:, i0:], fi, consts)
        gb = scratch[:w]
        gb[:] = 0
        for r in range(nb):
            d, a = Din[r, i0:i1], Ain[r, i0:i1]
            for i in range(w):
                d[i] = d[i] if a[i] > 0 else 0
                gb[i] += d[i]
        adam(bprev, gb, mbprev, vbprev, i0, i1, 0.0, inv_s, lr)
    gemm(N, T, fo, w, nb, Dout, fo, Ain[:, i0:], fi, scratch, fo, consts)
    lo, hi = i0 * fo, i1 * fo
    Wf = W.reshape(-1)
    ss = np.dot(Wf[lo:hi], Wf[lo:hi])
    adam(Wf, scratch, mW.reshape(-1), vW.reshape(-1), lo, hi, ALPHA, inv_s, lr)
    return ss


@njit(**JIT)
def output_task(A2, W2, b2, mb2, vb2, D3, y, rows, nb, scratch, consts, inv_s, lr):
    """Logits, softmax, log-loss sum and delta P - Y of the batch; b2's step."""
    fi, fo = W2.shape
    gemm(N, N, fo, nb, fi, W2, fo, A2, fi, D3, fo, consts)
    gb = scratch[:fo]
    gb[:] = 0
    loss = 0.0
    for r in range(nb):
        mx = -np.inf
        for c in range(fo):
            D3[r, c] += b2[c]
            mx = max(mx, D3[r, c])
        s = 0.0
        for c in range(fo):
            s += math.exp(D3[r, c] - mx)
        yr = y[rows[r]]
        loss += math.log(s) - (D3[r, yr] - mx)
        for c in range(fo):
            D3[r, c] = math.exp(D3[r, c] - mx) / s - (1.0 if c == yr else 0.0)
            gb[c] += D3[r, c]
    adam(b2, gb, mb2, vb2, 0, fo, 0.0, inv_s, lr)
    return loss


@njit(**JIT)
def gather(X, rows, out, r0, r1):
    for r in range(r0, r1):
        out[r] = X[rows[r]]


# ------------------------------------------------------------------ the epoch
@njit(**JIT)
def epoch_kernel(tid, X, y, perm, batch, W0, W1, W2, b0, b1, b2, mW0, mW1, mW2, vW0, vW1,
                 vW2, mb0, mb1, mb2, vb0, vb1, vb2, Xb, A1, A2, D1, D2, D3, scratch, ctr,
                 acc, prof, per_phase, t0, consts):
    """One thread's part of an epoch.  ``ctr[2 ph]`` / ``ctr[2 ph + 1]``: pieces
    claimed / done in phase ``ph`` (zeroed by the caller).  ``acc[tid]``: log-loss
    and L2 sums.  ``prof[tid, kind]``: busy cycles, wait cycles, pieces."""
    n = perm.shape[0]
    nbat = (n + batch - 1) // batch
    sc = scratch[tid]
    h0, h1 = W0.shape[1], W1.shape[1]
    ngat = 4
    # phase 0: the first batch's rows
    nb0 = min(batch, n)
    while True:
        k = atomic_add(ctr, 0, 1)
        if k >= ngat:
            break
        gather(X, perm[:nb0], Xb[0], k * nb0 // ngat, (k + 1) * nb0 // ngat)
        atomic_add(ctr, 1, 1)
    wait_done(ctr, 0, ngat)
    for bi in range(nbat):
        start = bi * batch
        nb = min(batch, n - start)
        rows = perm[start:start + nb]
        Xc = Xb[bi % 2]
        inv_s = 1.0 / nb
        t = t0 + bi + 1
        lr = LR * math.sqrt(1.0 - BETA2 ** t) / (1.0 - BETA1 ** t)
        nxt = min(batch, n - start - nb)
        for kind in range(PHASES):
            ph = 1 + PHASES * bi + kind
            if kind == 0:
                npc = n_pieces(h0, per_phase)
            elif kind == 1:
                npc = n_pieces(h1, per_phase)
            elif kind == 2:
                npc = 1 + (ngat if nxt > 0 else 0)
            elif kind == 3:
                npc = n_pieces(h1, per_phase)
            elif kind == 4:
                npc = n_pieces(h0, per_phase)
            else:
                npc = n_pieces(X.shape[1], per_phase)
            c0 = cycles()
            done = 0
            while True:
                k = atomic_add(ctr, 2 * ph, 1)
                if k >= npc:
                    break
                if kind == 0:
                    j0, j1 = piece(h0, npc, k, per_phase)
                    forward_piece(Xc, W0, b0, A1, nb, j0, j1, consts)
                elif kind == 1:
                    j0, j1 = piece(h1, npc, k, per_phase)
                    forward_piece(A1, W1, b1, A2, nb, j0, j1, consts)
                elif kind == 2:
                    if k == 0:
                        acc[tid, 0] += output_task(A2, W2, b2, mb2, vb2, D3, y, rows, nb, sc,
                                                   consts, inv_s, lr)
                    else:
                        gather(X, perm[start + nb:start + nb + nxt], Xb[(bi + 1) % 2],
                               (k - 1) * nxt // ngat, k * nxt // ngat)
                elif kind == 3:
                    i0, i1 = piece(h1, npc, k, per_phase)
                    acc[tid, 1] += backward_piece(2, A2, D3, D2, W2, mW2, vW2, b1, mb1, vb1,
                                                  nb, i0, i1, sc, consts, inv_s, lr)
                elif kind == 4:
                    i0, i1 = piece(h0, npc, k, per_phase)
                    acc[tid, 1] += backward_piece(1, A1, D2, D1, W1, mW1, vW1, b0, mb0, vb0,
                                                  nb, i0, i1, sc, consts, inv_s, lr)
                else:
                    i0, i1 = piece(X.shape[1], npc, k, per_phase)
                    acc[tid, 1] += backward_piece(0, Xc, D1, D1, W0, mW0, vW0, b0, mb0, vb0,
                                                  nb, i0, i1, sc, consts, inv_s, lr)
                atomic_add(ctr, 2 * ph + 1, 1)
                done += 1
            c1 = cycles()
            wait_done(ctr, ph, npc)
            prof[tid, kind, 0] += c1 - c0
            prof[tid, kind, 1] += cycles() - c1
            prof[tid, kind, 2] += done


# ------------------------------------------------------------------ driver
class Model:
    """Parameters, Adam moments and buffers of 784-300-100-10 for one batch size."""

    def __init__(self, n_features, dtype, batch, seed=0):
        rng = np.random.RandomState(seed)
        sizes = [n_features, *HIDDEN, N_CLASSES]
        self.W, self.b = [], []
        for fi, fo in zip(sizes[:-1], sizes[1:]):
            bound = math.sqrt(6.0 / (fi + fo))
            self.W.append(rng.uniform(-bound, bound, (fi, fo)).astype(dtype))
            self.b.append(rng.uniform(-bound, bound, fo).astype(dtype))
        self.mW = [np.zeros_like(w) for w in self.W]
        self.vW = [np.zeros_like(w) for w in self.W]
        self.mb = [np.zeros_like(b) for b in self.b]
        self.vb = [np.zeros_like(b) for b in self.b]
        self.t = 0
        self.batch = batch
        self.Xb = np.empty((2, batch, n_features), dtype)
        self.A = [np.empty((batch, h), dtype) for h in HIDDEN]
        self.D = [np.empty((batch, h), dtype) for h in (*HIDDEN, N_CLASSES)]
        self.scratch = np.empty((2, max(fi * fo for fi, fo in zip(sizes[:-1], sizes[1:]))),
                                dtype)
        self.consts = np.array([0.0, 1.0], dtype)

    def copy_params(self):
        return [a.copy() for a in self.W + self.b]


def run_epoch(model, X, y, perm, threads, per_phase=4, worker_delay=0.0):
    """One epoch on ``threads`` (1 or 2) threads; returns (mean loss, prof).
    ``worker_delay``: seconds the worker sleeps before joining (a descheduled thread)."""
    n = perm.shape[0]
    nbat = -(-n // model.batch)
    ctr = np.zeros(2 * (1 + PHASES * nbat), np.int64)
    acc = np.zeros((2, 2))
    prof = np.zeros((2, PHASES, 3), np.int64)
    m = model
    args = (X, y, perm, m.batch, *m.W, *m.b, *m.mW, *m.vW, *m.mb, *m.vb, m.Xb, *m.A,
            *m.D, m.scratch, ctr, acc, prof, per_phase, m.t, m.consts)
    def worker():
        time.sleep(worker_delay)
        epoch_kernel(1, *args)
    workers = [threading.Thread(target=worker)] if threads == 2 else []
    for w in workers:
        w.start()
    epoch_kernel(0, *args)
    for w in workers:
        w.join()
    m.t += nbat
    return (acc[:, 0].sum() + 0.5 * ALPHA * acc[:, 1].sum()) / n, prof


def numpy_epoch(model, X, y, perm):
    """Reference: the same epoch in plain NumPy (whole-layer products)."""
    n = perm.shape[0]
    total = 0.0
    W, b, mW, vW, mb, vb = model.W, model.b, model.mW, model.vW, model.mb, model.vb
    for start in range(0, n, model.batch):
        rows = perm[start:start + model.batch]
        nb = rows.shape[0]
        model.t += 1
        t = model.t
        lr = LR * math.sqrt(1.0 - BETA2 ** t) / (1.0 - BETA1 ** t)
        acts = [X[rows]]
        for l in range(2):
            acts.append(np.maximum(acts[-1] @ W[l] + b[l], 0))
        z = acts[-1] @ W[2] + b[2]
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        Y = np.eye(N_CLASSES)[y[rows]]
        total += -np.log(p[np.arange(nb), y[rows]]).sum()
        total += 0.5 * ALPHA * sum((w.astype(np.float64) ** 2).sum() for w in W)
        D = p - Y
        grads = []
        for l in range(2, -1, -1):
            gW = acts[l].T @ D + ALPHA * W[l]
            gb = D.sum(axis=0)
            if l > 0:
                D = (D @ W[l].T) * (acts[l] > 0)
            grads.append((l, gW / nb, gb / nb))
        for l, gW, gb in grads:
            for p_, g, m_, v_ in ((W[l], gW, mW[l], vW[l]), (b[l], gb, mb[l], vb[l])):
                m_[...] = BETA1 * m_ + (1 - BETA1) * g
                v_[...] = BETA2 * v_ + (1 - BETA2) * g * g
                p_ -= lr * m_ / (np.sqrt(v_) + EPS)
    return total / n


def make_data(n, seed=0):
    """FMNIST-shaped synthetic data as benchmarks/_common.make_data makes it."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from _common import make_data as md
    return md("fmnist", n, seed)


def check(args):
    X, y = make_data(1000)
    for batch in (200, 32):
        Xs, ys = X[:600].copy(), y[:600].copy()
        perm = np.random.RandomState(1).permutation(600)
        a, r = Model(784, np.float64, batch), Model(784, np.float64, batch)
        la, _ = run_epoch(a, Xs, ys, perm, 1, args.per_phase)
        lr_ = numpy_epoch(r, Xs, ys, perm)
        d = max(np.abs(p - q).max() for p, q in zip(a.copy_params(), r.copy_params()))
        print(f"b{batch} f64 kernel(1 thr) vs numpy: loss {la:.12f} / {lr_:.12f}, "
              f"max |dparam| {d:.2e}")
        for dtype in (np.float32, np.float64):
            Xd = X.astype(dtype)
            perm = np.random.RandomState(2).permutation(1000)
            models = [Model(784, dtype, batch) for _ in range(3)]
            for _ in range(2):  # 1 thread, 2 threads, 2 with a worker joining 20 ms late
                losses = [run_epoch(m, Xd, y, perm, th, args.per_phase, delay)[0]
                          for m, th, delay in zip(models, (1, 2, 2), (0, 0, 0.02))]
            ps1 = models[0].copy_params()
            for what, m, loss in zip(("2 threads", "late worker"), models[1:], losses[1:]):
                ps = m.copy_params()
                d = max(np.abs(p - q).max() for p, q in zip(ps1, ps))
                bit = all(np.array_equal(p, q) for p, q in zip(ps1, ps))
                print(f"b{batch} {np.dtype(dtype).name}: 1 thread vs {what}, 2 epochs: max "
                      f"|dW| {d:.2e}, bitwise {bit}, loss {losses[0]:.10f} / {loss:.10f}")


CASES = [(200, np.float32), (200, np.float64), (32, np.float32), (32, np.float64)]


def sknn_epoch(X, y, batch, n_jobs):
    import warnings

    import sknn
    est = sknn.MLPClassifier(hidden_layer_sizes=HIDDEN, batch_size=batch, solver="adam",
                             max_iter=1, n_jobs=n_jobs, shuffle=True, random_state=0, tol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    return est.history_["epoch_time"][-1]


def parse_spec(spec):
    """'2:g4' -> (2 threads, -4: four guided pieces per phase); '1:4' -> (1, 4)."""
    th, sched = spec.split(":")
    return int(th), -int(sched[1:]) if sched.startswith("g") else int(sched)


def timing(args):
    X64, y = make_data(args.rows)
    print(f"rows {args.rows}, repeats {args.repeats}, load {os.getloadavg()}")
    for batch, dtype in CASES:
        name = f"b{batch}-{np.dtype(dtype).name}"
        if not args.cases or name in args.cases.split(","):
            time_case(args, name, X64.astype(dtype), y, batch)


def time_case(args, name, X, y, batch):
    rng = np.random.RandomState(0)
    profs = {}

    def mine(spec):
        th, per_phase = parse_spec(spec)
        model = Model(X.shape[1], X.dtype, batch)  # fresh, as a fit's first epoch
        start = time.perf_counter()
        _, prof = run_epoch(model, X, y, rng.permutation(args.rows), th, per_phase)
        elapsed = time.perf_counter() - start
        profs.setdefault(spec, []).append(prof)
        return elapsed
    quiet = {f"mine {sp}": (lambda sp=sp: mine(sp)) for sp in args.mine.split(",")}
    quiet.update({f"sknn {j}": (lambda j=int(j): sknn_epoch(X, y, batch, j))
                  for j in args.sknn.split(",") if j})
    if args.loaded:  # interleaved with the quiet runs: this machine's speed drifts
        quiet.update({f"mine {sp} loaded": with_spinner(lambda sp=sp: mine(sp))
                      for sp in args.mine.split(",") if sp.startswith("2:")})
        if args.sknn:
            quiet["sknn None loaded"] = with_spinner(lambda: sknn_epoch(X, y, batch, None))
    times = interleave(quiet, args.repeats)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"{name}: " + ", ".join(f"{k} {1e3 * v:.0f}" for k, v in med.items()) + " ms")
    one = [v for k, v in med.items() if k.startswith("mine 1:")]
    for k, v in med.items():
        notes = [f"sknn 1 / this {med['sknn 1'] / v:.2f}x"] if "sknn 1" in med else []
        if one:
            notes.append(f"best mine 1 / this {min(one) / v:.2f}x")
        print(f"    {k}: " + ", ".join(notes))
    nbat = -(-args.rows // batch)
    us = 1e6 / tsc_hz() / nbat
    for spec, ps in profs.items():
        th, _ = parse_spec(spec)
        p = np.median(np.stack(ps), axis=0)  # (thread, phase, busy/wait/pieces)
        cells = [f"{nm} " + "/".join(f"{us * p[t, k, 0]:.0f}+{us * p[t, k, 1]:.0f}"
                                     f"({p[t, k, 2] / nbat:.1f})" for t in range(th))
                 for k, nm in enumerate(PHASE_NAMES)]
        print(f"    {spec} (incl. loaded epochs) us/batch busy+wait(pieces) per thread: "
              + "; ".join(cells))


def with_spinner(f):
    """f run while another process spins on cpu 1 ("one core busy")."""
    def run():
        spinner = subprocess.Popen(["taskset", "-c", "1", sys.executable, "-c",
                                    "while True: pass"])
        try:
            time.sleep(0.3)
            return f()
        finally:
            spinner.kill()
            spinner.wait()
    return run


def interleave(contenders, repeats):
    """name -> seconds of each call; one untimed warm-up each, order alternating."""
    for f in contenders.values():
        f()
    times = {k: [] for k in contenders}
    for r in range(repeats):
        for k in (list(contenders) if r % 2 == 0 else list(contenders)[::-1]):
            times[k].append(contenders[k]())
    return times


@njit(nogil=True)
def _cycles_jit():
    return cycles()


def tsc_hz():
    c, t = _cycles_jit(), time.perf_counter()
    time.sleep(0.2)
    return (_cycles_jit() - c) / (time.perf_counter() - t)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=("check", "time"))
    ap.add_argument("--rows", type=int, default=11000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--per-phase", type=int, default=4, help="pieces per phase (check)")
    ap.add_argument("--mine", default="1:4,2:4",
                    help="kernel runs threads:pieces per phase, g<n> = guided pieces")
    ap.add_argument("--sknn", default="1,2", help="sknn n_jobs values to time ('' none)")
    ap.add_argument("--cases", default="", help="e.g. b200-float32,b32-float64")
    ap.add_argument("--loaded", action="store_true")
    args = ap.parse_args()
    with threadpool_limits(1):
        if args.what == "check":
            check(args)
        else:
            timing(args)


if __name__ == "__main__":
    main()
