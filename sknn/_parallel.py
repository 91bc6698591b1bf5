"""Threads for one fit or predict: batches split by units or by rows, pieces handed out dynamically.

Design (issue 19).  Training on ``k > 1`` threads splits every batch in one of
two ways (one thread never splits: ``train_epoch``, one call per epoch):

- **By units** (``UnitSplitEpochs``; plain dense networks: no dropout, batch
  normalization, auxiliary output, wide part or CSR input).  Every thread runs
  ``unit_split_epoch`` (``sknn/_kernels/unit_split.py``) once for the whole
  epoch: each batch is a few phases (gather, each layer's forward pass, the
  output layer, each layer's backward pass by rows of ``W``) whose 16-unit
  pieces the threads claim from atomic counters, with no Python per batch.  A
  backward piece owns its rows of ``W``: their gradient and optimizer step at
  once, no gradient slot or reduction.  The pieces depend on the network and
  the batch only, so the weights do not depend on the thread count (bitwise).
- **By rows** (``ChunkedEpochs``; the other networks).  A *team* (the caller
  plus ``k - 1`` workers) runs each batch as one job of two phases whose tasks
  every member claims one at a time from a shared counter:

  1. the chunks (``chunk_rows``): a ``nogil`` kernel (``sknn/_kernels/parallel.py``)
     runs the forward and backward pass of the chunk's rows with the member's own
     workspace and writes the chunk's raw gradient into the chunk's own slot;
  2. the blocks of theta (``block_step``): the slots added in chunk order (the
     last one inside the optimizer's loop) and the optimizer step, block by block.

  The weights depend on the chunk layout only (bitwise for a given thread
  count) and equal the one-thread weights to float rounding.

In both, a thread that is late (its core is busy) is never waited for: the
others take its pieces or tasks.  BLAS runs on one thread inside each member
(``sknn/_threads.py``): OpenBLAS's own threads spin and stall under load.

Python threads rather than numba's ``parallel=True``: prange adds compile time
and schedules statically (a thread on a busy core holds the whole batch back),
and its OpenMP/workqueue threads spin against BLAS's.  The row split pays a
Python hand-off per batch (a condition wake-up per phase, a lock per claim,
one jitted call per task through the compiled entry point, skipping numba's
argument typing; ``benchmarks/bench_threads.py`` prints the no-op hand-off);
the unit split one per epoch.

``n_jobs=None`` uses as many threads as a batch is worth (``unit_split_tasks``,
``max_chunks``), up to this process's CPU budget (``cpu_budget``: the cores it
may run on, and the BLAS thread count that threadpoolctl / joblib
(``inner_max_num_threads`` in a search's workers) set) and the cores other
processes leave free (``free_cores``; checked again before every unit-split
epoch).  Small networks and batches run on one thread.
"""

import os
import threading
from contextlib import contextmanager

import numpy as np
from numba import config as numba_config
from numba import typeof

from ._kernels.epoch import PREDICT_ROWS
from ._kernels.parallel import (
    add_chunks,
    batch_finish,
    block_step,
    chunk_gradient,
    loss_grad_finish,
)
from ._kernels.sync import gemm_constants
from ._kernels.unit_split import (
    ABORT,
    MIN_UNIT_PIECE_FLOPS,
    PIECES_PER_PHASE,
    partial_slots,
    scratch_size,
    unit_split_epoch,
)
from ._numba import python_dispatcher

# One chunk's forward and backward flops (3 x forward multiply-adds x 2) below
# which a batch is not split: the hand-off (two lock wake-ups, ~30-70 us on the
# shared 2-core machine) and the per-chunk call (~5 us) must stay a few percent
# of a chunk.
MIN_CHUNK_FLOPS = 2e7
# Fewest rows per chunk.  The weight gradient of a chunk (``A.T @ D``, a full
# fan_in x fan_out output for ``rows`` multiply-adds per element) runs far below
# BLAS's peak for few rows: batches of 32 split into two chunks of 16 made a
# one-thread FMNIST-shape epoch 1.8x slower (measured, loaded machine), more than
# a second thread can win back.
MIN_CHUNK_ROWS = 32
# Most chunks per batch (each costs a theta-sized gradient slot).
MAX_CHUNKS = 64
# Chunks per thread in a batch.  One: each chunk costs a theta-sized gradient
# slot and a GEMM call per layer (OpenBLAS packs the weight matrix on every
# call), so a FMNIST-shape batch of 200 on one thread took 1.34-1.43x as long in
# 4 chunks of 50 as in one call, 1.00-1.08x in 2 chunks of 100.  Load is followed
# by ``Team``: a thread that is late or slow takes no chunk or one, the caller
# the rest.
CHUNKS_PER_THREAD = 1
# Elements of theta per block of the parallel gradient reduction and optimizer
# step (``block_step``): a few per thread for the dynamic hand-out, each a
# cache-friendly run of the slots, theta and the optimizer state.
BLOCK_ELEMS = 32768
# Tasks (runs of whole blocks, one ``block_step`` call each) per thread in the
# step phase: enough for the dynamic hand-out (a thread on a busy core takes
# fewer), few enough that the per-call cost (~10 us from Python) stays small:
# nine calls a batch of 32768-element blocks cost ~0.04 ms more than one
# (FMNIST shape, 266k parameters).
BLOCK_TASKS_PER_THREAD = 2
# Rows of one predict piece handed to a thread: whole 256-row chunks of
# ``predict_forward`` (so every row is computed exactly as on one thread), at
# least this many flops of work each.  FMNIST shape (784, 300, 100, 10), 100000
# rows on 2 threads (interleaved, medians of 9, float32): 256-row pieces 1.68-1.72x
# the one-thread speed, 1024-row pieces (5e8 flops) 1.74-1.82x (fewer dispatcher
# calls and workspace allocations; the last piece is still ~1/50 of the call).
MIN_PIECE_FLOPS = 5e8


def forward_flops(layout):
    """Flops (2 x multiply-adds) of one row's forward GEMMs."""
    return 2.0 * float((layout[:, 0] * layout[:, 1]).sum())


# A batch's forward and backward flops (3 x forward multiply-adds x 2) from which
# the unit split (``unit_split_epoch``) runs it on several threads: its 2 L + 1
# phase ends cost a few microseconds each, a few percent of such a batch.  The
# FMNIST shape (784-300-100-10) at batch 32 is 5.1e7.
MIN_UNIT_SPLIT_FLOPS = 3e7


def unit_split_tasks(net, deep, batch_size):
    """Threads a training batch is worth on the unit split: ``PIECES_PER_PHASE``,
    or 0 where it does not apply (a CSR or wide input, a layer stage, Windows:
    no ``usleep``) and 1 where the batch is too small to split."""
    if (deep[3] is not None or net.n_wide > 0 or net.layers.stages != 0
            or os.name == "nt"):
        return 0
    work = 3.0 * forward_flops(net.layout) * batch_size
    return PIECES_PER_PHASE if work >= MIN_UNIT_SPLIT_FLOPS else 1


def max_chunks(layout, batch_size, gamma_off):
    """Most chunks a training batch of ``batch_size`` rows is worth splitting into.

    1 for batch normalization (its statistics are the whole batch's), for small
    networks and for small batches.
    """
    if gamma_off >= 0:
        return 1
    work = 3.0 * forward_flops(layout) * batch_size
    return max(1, int(min(batch_size // MIN_CHUNK_ROWS, work // MIN_CHUNK_FLOPS, MAX_CHUNKS)))


def chunk_rows(layout, batch_size, gamma_off, threads):
    """Rows per chunk of a training batch on ``threads`` threads (``batch_size``: no split).

    One thread never splits (the one-call epoch kernel, bit for bit).  On more,
    ``CHUNKS_PER_THREAD`` chunks per thread.  Each chunk costs a theta-sized
    gradient slot written and added once and a GEMM call per layer, which is why
    the layout is not fixed independently of the thread count (see
    ``benchmarks/README.md``: 12 chunks of 17 rows made a one-thread FMNIST epoch
    2.6x slower).
    """
    if threads <= 1:
        return batch_size
    n = min(max_chunks(layout, batch_size, gamma_off), CHUNKS_PER_THREAD * threads)
    return batch_size if n <= 1 else -(-batch_size // n)


def piece_rows(layout):
    """Rows of one predict piece: whole ``PREDICT_ROWS`` chunks, >= MIN_PIECE_FLOPS."""
    per_chunk = forward_flops(layout) * PREDICT_ROWS
    return PREDICT_ROWS * max(1, int(np.ceil(MIN_PIECE_FLOPS / per_chunk)))


def cpu_budget():
    """Threads this process may use: its CPU affinity and the BLAS thread limit.

    threadpoolctl's ``threadpool_limits`` and joblib's workers (which start with
    ``cpu_count // n_jobs`` BLAS threads) both show up as the BLAS thread count;
    while another sknn call in this process holds BLAS at one thread
    (``sknn._threads.one_blas_thread``) it reads 1, so concurrent fits in threads
    stay on one thread each.
    """
    from ._threads import _get_controller

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    blas = [c.num_threads for c in _get_controller().lib_controllers if c.user_api == "blas"]
    return max(1, min([cores or 1] + blas))


def _busy_elsewhere():
    """Runnable tasks of other processes right now (Linux: the machine's runnable
    count in ``/proc/loadavg`` less this process's running threads), or None where
    that is not known.  This process's own threads (BLAS's spinning workers, the
    caller) are not other work."""
    try:
        with open("/proc/loadavg") as f:
            running = int(f.read().split()[3].split("/")[0])
        own = 0
        for tid in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{tid}/stat") as f:
                    stat = f.read()
            except OSError:  # the thread has ended
                continue
            own += stat[stat.rindex(")") + 2] == "R"
    except (OSError, ValueError, IndexError):
        return None
    return max(0, running - own)


def free_cores():
    """Cores of this machine not running other processes' work right now; all of
    them where that is not known.

    ``n_jobs=None`` takes no more threads than this: a thread on a core another
    process keeps busy runs at a fraction of its speed, and the others wait for the
    pieces it holds (with a process spinning on the other of two cores, a two-thread
    batch-200 epoch took 1.55x its quiet one-thread time).  Inside a container the
    count is the host's, so a saturated host gives one thread.
    """
    cores = os.cpu_count() or 1
    busy = _busy_elsewhere()
    return cores if busy is None else max(1, cores - busy)


def n_threads(n_jobs, n_tasks):
    """Threads for ``n_tasks`` independent pieces of work under ``n_jobs``.

    ``None``: the CPU budget, and no more than the cores free right now
    (``free_cores``); a positive int: that many; negative: as scikit-learn (-1 all
    cores, -2 all but one).  Never more than ``n_tasks``.
    """
    if n_tasks <= 1:  # before cpu_budget: small predicts stay fast
        return 1
    if n_jobs is None:
        wanted = min(cpu_budget(), free_cores())
    elif n_jobs < 0:
        wanted = max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    else:
        wanted = n_jobs
    return max(1, min(int(wanted), int(n_tasks)))


def fast(kernel, *args):
    """``kernel`` called without numba's per-call argument typing (~4 us instead
    of ~20 us for a call with records): the compiled entry point for the types
    of ``args``.  The plain function under NUMBA_DISABLE_JIT."""
    if numba_config.DISABLE_JIT:
        return kernel
    # The twin compiled with numba's CPython wrapper: the kernel itself is built
    # without one for its jitted callers, and its entry point is not callable.
    kernel = python_dispatcher(kernel)
    sig = tuple(typeof(a) for a in args)
    if sig not in kernel.overloads:
        kernel.compile(sig)
    return kernel.overloads[sig].entry_point


class _Job:
    """One ``Team.run``: phases of tasks, claimed one at a time under the team's lock."""

    __slots__ = ("phases", "phase", "next", "pending", "closed", "failed", "errors")

    def __init__(self, phases):
        self.phases = phases
        self.phase = 0
        self.next = 0  # next unclaimed task of the current phase
        self.pending = 0  # claimed tasks not finished yet
        self.closed = False  # every task done: nothing may be claimed any more
        self.failed = False
        self.errors = []


class Team:
    """The caller plus ``n - 1`` worker threads sharing the tasks of one job.

    ``run(phases)`` runs, for each ``(n_tasks, fn)`` of ``phases`` in turn,
    ``fn(member, task)`` for every task (member 0 is the caller, ``member`` picks
    the thread's own workspace); a phase's tasks start once the previous phase's
    are all done.  Tasks are claimed one at a time from a shared counter, so a
    thread on a busy core takes fewer, and the caller never waits for a worker
    that has not claimed a task: if the workers are late it does every task
    itself, closes the job and returns, and a late worker then finds nothing to
    claim (it never sees a closed job's buffers, and takes tasks from the next
    job only once that job is published).  The first error of a task is
    re-raised by ``run`` after every claimed task has finished.  Workers sleep
    on a condition between jobs; ``close`` (or leaving the ``with`` block) stops
    and joins them, also after an error or a KeyboardInterrupt.
    """

    def __init__(self, n):
        self.n = n
        self._cond = threading.Condition(threading.Lock())
        self._job = None
        self._gen = 0  # jobs published so far
        self._stop = False
        self._workers = []
        try:
            for i in range(1, n):
                thread = threading.Thread(target=self._loop, args=(i,),
                                          name=f"sknn-worker-{i}", daemon=True)
                self._workers.append(thread)
                thread.start()
        except BaseException:
            self.close()
            raise

    def _loop(self, member):
        cond = self._cond
        seen = 0
        while True:
            with cond:
                while not self._stop and self._gen == seen:
                    cond.wait()
                if self._stop:
                    return
                seen = self._gen
                job = self._job
            if job is not None:
                self._work(job, member)

    def _claim(self, job):
        """The next ``(fn, task)`` of ``job`` for a member, or None: nothing left
        to claim (the job is closed, failed, or its last tasks are all claimed)."""
        cond = self._cond
        with cond:
            while True:
                if job.closed or job.failed:
                    return None
                n_tasks, fn = job.phases[job.phase]
                if job.next < n_tasks:
                    task = job.next
                    job.next += 1
                    job.pending += 1
                    return fn, task
                last = job.phase == len(job.phases) - 1
                if job.pending:
                    if last:
                        return None
                    cond.wait()  # the phase's last tasks are running elsewhere
                    continue
                if last:
                    job.closed = True
                    cond.notify_all()
                    return None
                job.phase += 1
                job.next = 0

    def _work(self, job, member):
        cond = self._cond
        while True:
            claimed = self._claim(job)
            if claimed is None:
                return
            fn, task = claimed
            try:
                fn(member, task)
            except BaseException as exc:  # re-raised by run()
                with cond:
                    job.failed = True
                    job.errors.append(exc)
                    job.pending -= 1
                    cond.notify_all()
                if member == 0:
                    return
                continue
            with cond:
                job.pending -= 1
                if not job.pending:
                    cond.notify_all()

    def run(self, phases):
        """Run ``phases`` (a list of ``(n_tasks, fn)``) on the team; see the class."""
        job = _Job([(int(n), fn) for n, fn in phases])
        cond = self._cond
        if self._workers:
            with cond:
                self._job = job
                self._gen += 1
                cond.notify_all()
        try:
            self._work(job, 0)
        except BaseException:  # the caller's own wait was interrupted
            with cond:
                job.failed = True
                cond.notify_all()
            raise
        finally:
            _wait_job(cond, job)
            with cond:
                if self._job is job:
                    self._job = None
        if job.errors:
            raise job.errors[0]

    def run_each(self, fn):
        """``fn(i)`` once for every ``i`` in ``range(n)``, on whichever members."""
        self.run([(self.n, lambda member, i: fn(i))])

    def close(self):
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        workers, self._workers = self._workers, []
        interrupted = None
        for thread in workers:
            while thread.ident is not None and thread.is_alive():
                try:
                    thread.join()
                except KeyboardInterrupt as exc:  # a worker must not outlive its call
                    interrupted = exc
        if interrupted is not None:
            raise interrupted

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def _wait_job(cond, job):
    """Wait until no claimed task of ``job`` is running, then close it; finishing
    even if a KeyboardInterrupt arrives meanwhile (no task may still use the
    buffers after ``run`` returns); the interrupt is raised afterwards."""
    interrupted = None
    with cond:
        while job.pending:
            try:
                cond.wait()
            except KeyboardInterrupt as exc:
                interrupted = exc
                job.failed = True  # nothing new is claimed
        job.closed = True
        cond.notify_all()
    if interrupted is not None:
        raise interrupted


@contextmanager
def team(n):
    """A ``Team`` of ``n`` members (no worker thread at all for ``n == 1``)."""
    with Team(n) as t:
        yield t


def block_bounds(size):
    """Fixed bounds of the theta blocks ``block_step`` updates (``BLOCK_ELEMS`` each,
    multiples of 16 elements); they depend on the network only, so the L2 sum of
    the reported loss (added block by block) does not depend on the thread count."""
    n = max(1, -(-size // BLOCK_ELEMS))
    per_block = -(-size // n)
    step = -(-per_block // 16) * 16
    return np.array([min(i * step, size) for i in range(n)] + [size], dtype=np.int64)


def block_groups(n_blocks, threads):
    """Bounds of the runs of blocks one ``block_step`` call takes: all of them on
    one thread (one call per batch), else ``BLOCK_TASKS_PER_THREAD`` runs per
    thread.  Only the hand-out depends on the thread count, not the arithmetic."""
    n = max(1, min(n_blocks, BLOCK_TASKS_PER_THREAD * threads if threads > 1 else 1))
    return np.array([(i * n_blocks) // n for i in range(n + 1)], dtype=np.int64)


class ChunkedEpochs:
    """Mini-batch epochs with every batch split into ``cap``-row chunks.

    Built once per fit: the per-thread workspaces, the chunk gradient slots and
    the team; ``epoch`` runs one epoch (``train_epoch``'s contract).  Each batch
    is one ``Team.run`` of two phases: the chunks (forward and backward, each into
    its own gradient slot), then runs of blocks of theta (``block_groups``;
    ``block_step``: the slots added in chunk order and the optimizer step, block
    by block).
    """

    def __init__(self, team, records, batch_size, cap, make_workspace):
        net, _, _, ws = records
        self.team = team
        self.cap = cap
        self.max_chunks = -(-batch_size // cap)
        self.workspaces = [ws] + [make_workspace() for _ in range(1, team.n)]
        self.grads = np.empty((self.max_chunks - 1, ws.grad.shape[0]), dtype=ws.grad.dtype)
        self.losses = np.zeros((self.max_chunks, 2))
        self.n_coef = int(net.layout[0, 3])
        self.bounds = block_bounds(ws.grad.shape[0])
        self.partial = np.zeros(self.bounds.shape[0] - 1)
        self.groups = block_groups(self.bounds.shape[0] - 1, team.n)
        self.calls = self.calls_key = None

    def _calls(self, theta, records, step, perm):
        """The compiled entry points of the three kernels, looked up again only for
        new records (``fast``'s argument typing costs ~0.3 ms a lookup): once per
        fit, per epoch where an epoch brings its own records (the autoencoder's
        noisy data, dropout's seed).  The optimizer record is new every epoch but
        of one type for the whole fit."""
        key = tuple(id(r) for r in records) + (id(theta),)
        if self.calls is None or self.calls_key != key:
            net, obj, data, ws = records
            self.calls_key = key
            self.calls = (
                fast(chunk_gradient, theta, net, obj, data, ws, perm[:1], self.cap, ws.grad,
                     self.losses, 0),
                fast(block_step, theta, self.n_coef, obj, step, ws.grad, self.grads, 1,
                     data.sw, perm[:1], step.t, self.bounds, 0, 1, self.partial),
                fast(batch_finish, obj.alpha, self.losses, 1, self.partial,
                     self.bounds.shape[0] - 1, data.sw, perm[:1], ws.aux_loss, step.t))
        return self.calls

    def epoch(self, theta, records, step, perm, batch_size):
        net, obj, data, ws = records
        cap, grads, losses, workspaces = self.cap, self.grads, self.losses, self.workspaces
        bounds, partial, n_coef, groups = self.bounds, self.partial, self.n_coef, self.groups
        n_blocks = bounds.shape[0] - 1
        chunk_call, block_call, finish_call = self._calls(theta, records, step, perm)
        grad, sw, alpha, aux_loss = ws.grad, data.sw, obj.alpha, ws.aux_loss
        t = step.t
        total = 0.0
        n = perm.shape[0]
        batch = [0, 0, 1, perm[:1], t]  # start, stop, n_chunks, rows, update number

        def chunk(member, c):
            start, stop = batch[0], batch[1]
            a = start + c * cap
            chunk_call(theta, net, obj, data, workspaces[member], perm[a: min(a + cap, stop)],
                       cap, grad if c == 0 else grads[c - 1], losses, c)

        def block(member, g):
            block_call(theta, n_coef, obj, step, grad, grads, batch[2], sw, batch[3], batch[4],
                       bounds, groups[g], groups[g + 1], partial)

        run = self.team.run
        phases = [[1, chunk], (groups.shape[0] - 1, block)]
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            n_chunks = -(-(stop - start) // cap)
            rows = perm[start:stop]
            batch[:] = start, stop, n_chunks, rows, t + 1
            phases[0][0] = n_chunks
            run(phases)
            loss, t = finish_call(alpha, losses, n_chunks, partial, n_blocks, sw, rows, aux_loss,
                                  t)
            total += loss
        return total, t


class UnitSplitEpochs:
    """Mini-batch epochs with every batch's layers split by units across ``team``.

    Each member runs ``unit_split_epoch`` for the whole epoch (one team task per
    member; a member that is late finds every piece done and returns).  Built
    once per fit; ``epoch`` has ``train_epoch``'s contract.  The fit's workspace
    holds the batch's shared buffers; each member has its own scratch.
    """

    def __init__(self, team, records, adaptive=False):
        net, _, _, ws = records
        dtype = ws.grad.dtype
        self.team = team
        # n_jobs=None: each epoch runs on no more members than there are free cores
        # (the pieces, hence the weights, do not depend on how many run)
        self.adaptive = adaptive
        # Cache-line aligned copies of the batch buffers, and a scratch row per member
        # starting on its own line (no two threads write one line of scratch).  Not a
        # measured speed-up: the 1.1-1.6x spread of float32 epochs between processes
        # first suspected to come from alignment stayed after aligning (the machine's
        # cores, benchmarks/README.md).
        bufs = {f: aligned_empty(getattr(ws, f).shape[0], dtype)
                for f in ("acts", "zpre", "deltas", "ybuf", "swbuf")}
        # two halves: a batch's rows are gathered while the last batch's are in use
        bufs["xbuf"] = aligned_empty(2 * (-(-ws.xbuf.shape[0] // 16) * 16), dtype)
        self.ws = ws._replace(**bufs)
        size = -(-scratch_size(net.layout) // 16) * 16
        self.scratch = aligned_empty(team.n * size, dtype).reshape(team.n, size)
        self.partial = np.zeros(partial_slots(net.layout))
        self.acc = np.zeros(5)
        self.consts = gemm_constants(dtype)

    def epoch(self, theta, records, step, perm, batch_size):
        net, obj, data, _ = records
        ws = self.ws
        n_phases = 2 * net.layout.shape[0] + 1
        counters = np.zeros(1 + 2 * n_phases * -(-perm.shape[0] // batch_size), np.int64)
        acc, partial, scratch, consts = self.acc, self.partial, self.scratch, self.consts
        acc[:] = 0.0
        min_flops = float(MIN_UNIT_PIECE_FLOPS)
        call = fast(unit_split_epoch, 0, theta, net, obj, step, data, ws, perm, batch_size,
                    counters, acc, partial, scratch, consts, min_flops)
        members = min(self.team.n, free_cores()) if self.adaptive else self.team.n
        ts = [step.t] * members

        def member_epoch(member, i):
            try:
                ts[i] = call(i, theta, net, obj, step, data, ws, perm, batch_size, counters, acc,
                             partial, scratch, consts, min_flops)
            except BaseException:
                counters[ABORT] = 1  # the others stop at their next phase end
                raise

        if members == 1:  # the caller alone: the team's workers stay asleep
            member_epoch(0, 0)
        else:
            self.team.run([(members, member_epoch)])
        if acc[3] > 0:  # the last batch's share (add_pending_loss)
            sumsq = float(sum(partial[: int(acc[4])]))
            acc[0] += (acc[1] + 0.5 * obj.alpha * sumsq) / acc[2] * acc[3]
        return float(acc[0]), int(ts[0])


def aligned_empty(n, dtype, align=64):
    """An uninitialised 1-D array of ``n`` elements starting on an ``align``-byte boundary."""
    itemsize = np.dtype(dtype).itemsize
    raw = np.empty(n + align // itemsize, dtype=dtype)
    skip = (-raw.ctypes.data % align) // itemsize
    return raw[skip: skip + n]


def loss_grad_threads(team, workspaces, theta, net, obj, data, ws, sw_sum, chunk):
    """``epoch.loss_grad`` with its row chunks spread over ``team``.

    Chunk gradients are added into ``ws.grad`` in chunk order (a thread that
    finishes chunk ``c`` waits for chunks ``< c`` to be added), the same sums in
    the same order as the one-thread kernel: bitwise its result.
    """
    n = data.Y.shape[0]
    n_chunks = -(-n // chunk)
    losses = np.zeros((n_chunks, 2))
    rows_all = np.arange(n)
    cond = threading.Condition()
    state = {"turn": 0, "failed": False}
    chunk_call = fast(chunk_gradient, theta, net, obj, data, ws, rows_all[:1], chunk, ws.grad,
                      losses, 0)
    add_call = fast(add_chunks, ws.grad, ws.gchunk.reshape(1, -1), 2)

    def work(member, c):
        w = workspaces[member]
        try:
            a = c * chunk
            target = ws.grad if c == 0 else w.gchunk
            chunk_call(theta, net, obj, data, w, rows_all[a: min(a + chunk, n)], chunk,
                       target, losses, c)
            with cond:  # chunks < c are claimed, hence running or done
                while state["turn"] != c and not state["failed"]:
                    cond.wait()
            if state["failed"]:
                return
            if c > 0:  # only this thread holds the turn
                add_call(ws.grad, w.gchunk.reshape(1, -1), 2)
            with cond:
                state["turn"] = c + 1
                cond.notify_all()
        except BaseException:
            with cond:
                state["failed"] = True
                cond.notify_all()
            raise

    team.run([(n_chunks, work)])
    return loss_grad_finish(theta, ws.grad, losses, n_chunks, int(net.layout[0, 3]), obj.alpha,
                            sw_sum, ws.aux_loss)


def predict_threads(threads, kernel, head, deep, wide, out, chunk):
    """``kernel(*head, deep, wide, out, chunk)`` (``predict_forward``) over row pieces
    of ``piece_rows(layout)`` rows on a team of ``threads``; ``head[1]`` is the layout.

    Pieces are whole ``PREDICT_ROWS``-row chunks from row 0, so every row goes
    through the same chunk as on one thread: the same output, bitwise.
    """
    n = out.shape[0]
    rows = piece_rows(head[1])
    n_pieces = -(-n // rows)

    def work(member, c):
        a, b = c * rows, min((c + 1) * rows, n)
        kernel(*head, slice_block(deep, a, b), slice_block(wide, a, b), out[a:b], chunk)

    with team(threads) as t:
        t.run([(n_pieces, work)])


def slice_block(block, a, b):
    """Rows ``a:b`` of an input block (dense rows, or CSR ``indptr[a:b + 1]``)."""
    dense, data, indices, indptr = block
    if indptr is not None:
        return (dense, data, indices, indptr[a: b + 1])
    if dense.shape[0] > 0:
        return (dense[a:b], data, indices, indptr)
    return block
