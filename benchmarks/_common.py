"""Timing helpers shared by sknn's benchmarks.

Importing this module does not import numba or sknn, so a benchmark can set
``NUMBA_CACHE_DIR`` (``os.environ.setdefault("NUMBA_CACHE_DIR", numba_cache_dir())``,
the directory the test suite uses) after importing it and before importing sknn.

The machine the benchmarks run on is shared and noisy: run the contenders in the
same process, interleave their repeats (:func:`interleaved`), report medians and
quote ratios rather than absolute times.
"""

import contextlib
import gc
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
import warnings

REPO = pathlib.Path(__file__).resolve().parents[1]

# The test suite's numba cache directory (same key, so nothing compiles twice).
sys.path.insert(0, str(REPO / "tools"))
from numba_cache_dir import numba_cache_dir  # noqa: E402

__all__ = [
    "REPO",
    "numba_cache_dir",
    "blas_threads",
    "quiet",
    "timed",
    "interleaved",
    "median",
    "peak_traced_memory",
    "peak_rss_delta",
    "background_load",
    "format_table",
    "machine_info",
    "parse_list",
    "make_data",
    "torch_adam",
    "torch_train",
]


def blas_threads(threads):
    """Context limiting BLAS to ``threads`` threads; ``None``/``"auto"`` = no limit."""
    if threads in (None, "auto"):
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=int(threads), user_api="blas")


@contextlib.contextmanager
def quiet():
    """Silence warnings (ConvergenceWarning from fixed-epoch fits, etc.)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def timed(fn, clock=time.perf_counter):
    """Seconds of one call of ``fn()`` (after a garbage collection) on ``clock``.

    ``time.process_time`` (CPU seconds of the process, all its threads) instead
    of the wall clock hides the time a loaded machine spends running others.
    """
    gc.collect()
    start = clock()
    fn()
    return clock() - start


def interleaved(contenders, repeats, warmup=(), clock=time.perf_counter, settle=0.0):
    """Time each callable in ``contenders`` (name -> fn) ``repeats`` times.

    Rounds alternate the order (forward, then reversed) so that slow phases of a
    shared machine hit every contender alike.  Names in ``warmup`` are called once
    untimed first (e.g. to compile numba kernels).  ``settle``: seconds to sleep,
    untimed, before each call, so that the previous contender's idle worker
    threads have stopped spinning (OpenBLAS's spin about 0.1 s after a call, on
    cores the next contender wants).  Returns name -> list of seconds (``clock``
    as in :func:`timed`).
    """
    names = list(contenders)
    for name in warmup:
        contenders[name]()
    times = {name: [] for name in names}
    for r in range(repeats):
        order = names if r % 2 == 0 else names[::-1]
        for name in order:
            time.sleep(settle)
            times[name].append(timed(contenders[name], clock))
    return times


def median(values):
    return statistics.median(values) if values else float("nan")


def peak_traced_memory(fn):
    """Peak bytes allocated through Python's allocators (numpy included) by ``fn()``.

    Memory numba's runtime allocates inside jitted code is not seen; allocations
    made in Python (sknn's workspaces) are.
    """
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


def _status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def peak_rss_delta(fn, timeout=600):
    """Peak resident memory ``fn()`` adds, in bytes, measured in a forked child.

    Unlike :func:`peak_traced_memory` this sees every allocation (numba's runtime,
    PyTorch's allocator, BLAS buffers).  The child resets its high-water mark
    (``/proc/self/clear_refs``), runs ``fn`` and reports ``VmHWM - VmRSS`` at
    start.  Returns NaN where fork or /proc are unavailable.
    """
    if not hasattr(os, "fork") or not os.path.exists("/proc/self/clear_refs"):
        return float("nan")
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        code = 0
        try:
            os.close(r)
            gc.collect()
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            base = _status_kib("VmRSS")
            fn()
            peak = _status_kib("VmHWM")
            os.write(w, str((peak - base) * 1024).encode())
        except BaseException:  # noqa: BLE001 - report failure as NaN
            code = 1
        finally:
            os._exit(code)
    os.close(w)
    import select
    import signal

    with os.fdopen(r) as f:
        ready, _, _ = select.select([f], [], [], timeout)
        out = f.read() if ready else ""
    if not ready:  # e.g. an OpenMP runtime that does not survive fork
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return float(out) if out else float("nan")


def _spin(stop):
    x = 0
    while not stop.is_set():
        for _ in range(100000):
            x += 1


@contextlib.contextmanager
def background_load(enabled=True):
    """Run a process spinning on one core (pinned to the last CPU) meanwhile.

    This is "another job holds a core": BLAS threads that wait for each other
    stall when one of them is descheduled.
    """
    if not enabled:
        yield None
        return
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    stop = ctx.Event()
    proc = ctx.Process(target=_spin, args=(stop,), daemon=True)
    proc.start()
    try:
        if hasattr(os, "sched_setaffinity"):
            cpus = sorted(os.sched_getaffinity(0))
            os.sched_setaffinity(proc.pid, {cpus[-1]})
        time.sleep(0.2)
        yield proc.pid
    finally:
        stop.set()
        proc.join(5)
        if proc.is_alive():
            proc.terminate()
            proc.join(5)


def format_table(headers, rows):
    """A GitHub-markdown table (also readable in a terminal)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for k, row in enumerate(cells):
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |")
        if k == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def machine_info():
    """A few lines describing the machine and library versions."""
    lines = [f"python {platform.python_version()} on {platform.platform()}"]
    try:
        lines.append(f"nproc: {os.cpu_count()}")
        model = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in model.splitlines():
            if line.startswith(("Model name", "CPU(s):")):
                lines.append(" ".join(line.split()))
    except OSError:
        pass
    versions = []
    for mod in ("numpy", "scipy", "numba", "sklearn", "threadpoolctl", "torch"):
        if mod in sys.modules or mod != "torch":
            try:
                versions.append(f"{mod} {__import__(mod).__version__}")
            except ImportError:
                pass
    lines.append(", ".join(versions))
    try:
        from threadpoolctl import threadpool_info

        blas = sorted({f"{i['internal_api']} {i.get('version')} ({i.get('architecture')}, "
                       f"{i['num_threads']} threads)"
                       for i in threadpool_info() if i["user_api"] == "blas"})
        lines.append("BLAS: " + "; ".join(blas))
    except ImportError:
        pass
    return lines


def parse_list(text):
    return [t.strip() for t in text.split(",") if t.strip()]


def make_data(shape, n, seed=0):
    """Random but learnable data of the given shape (float64; cast per case)."""
    import numpy as np

    rng = np.random.RandomState(seed)
    if shape == "fmnist":
        # 10 gaussian classes in 784 dims, pixel-like values in [0, 1].
        p, k = 784, 10
        y = rng.randint(k, size=n)
        centers = rng.uniform(0.0, 1.0, size=(k, p))
        X = centers[y] + rng.normal(scale=0.35, size=(n, p))
        np.clip(X, 0.0, 1.0, out=X)
        return X, y
    # California housing: 8 standardized features, a smooth nonlinear target.
    X = rng.normal(size=(n, 8))
    w = rng.normal(size=8)
    y = np.tanh(X @ w / 3.0) * 2.0 + 0.5 * np.sin(X[:, 0] * X[:, 1]) + 2.0
    y += rng.normal(scale=0.1, size=n)
    return X, y


def torch_adam(model, alpha):
    """Adam(lr=1e-3, betas=(0.9, 0.999), eps=1e-8) with sklearn's L2 penalty ``alpha``
    as weight decay on the weight matrices (not biases, not batch normalization's scale)."""
    import torch

    def decayed(name, p):
        return name.endswith("weight") and p.dim() == 2

    decay = [p for n, p in model.named_parameters() if decayed(n, p)]
    rest = [p for n, p in model.named_parameters() if not decayed(n, p)]
    return torch.optim.Adam([{"params": decay, "weight_decay": alpha},
                             {"params": rest, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.999), eps=1e-8)


def torch_train(model, loss_fn, batch, epochs, Xt, yt, alpha=1e-4):
    """The PyTorch loop sknn is compared with, as close to sklearn's MLP as a loop gets.

    :func:`torch_adam`, the given batch size, a fresh permutation every epoch,
    ``loss_fn(model(Xt[idx]), yt[idx])`` per batch.  Trains ``model`` in place
    and returns it.
    """
    import torch

    model.train()
    opt = torch_adam(model, alpha)
    n = Xt.shape[0]
    gen = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen)
        for start in range(0, n, batch):
            idx = perm[start:start + batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()
    return model
