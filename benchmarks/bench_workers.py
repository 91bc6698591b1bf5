"""Numba compile cost on parallel workers: the first task on a fresh worker.

    python benchmarks/bench_workers.py [--backends loky,dask] [--repeats 1]

For each backend (joblib's loky, a dask.distributed LocalCluster) and each cache
state, start ONE fresh worker process, send it a task that imports sknn, fits a
small MLPClassifier (adam, float64) and predicts, and time it:

- ``cold``: ``NUMBA_CACHE_DIR`` is a new empty directory, so the worker compiles
  every kernel the task needs;
- ``warm``: ``NUMBA_CACHE_DIR`` was filled beforehand (by a separate process
  running the same task), so the worker loads machine code from disk.

Columns: ``first task`` is the wall time from submit to result on the fresh
worker (worker start-up excluded: the worker is started and pinged first);
``in task`` the time measured inside the task (import + fit + predict);
``second task`` the same task again on the same, now warm, worker (compiled
code in memory).  The difference cold - warm is what the on-disk cache saves
per worker process.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import format_table, machine_info  # noqa: E402


def task():
    """Import sknn, fit and predict; return (seconds inside the task, pid, cache dir)."""
    import warnings

    start = time.perf_counter()
    import numpy as np

    from sknn import MLPClassifier

    rng = np.random.RandomState(0)
    X = rng.randn(300, 10)
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        MLPClassifier((16,), max_iter=5, random_state=0).fit(X, y).predict(X)
    return time.perf_counter() - start, os.getpid(), os.environ.get("NUMBA_CACHE_DIR")


def _fill_cache(cache_dir):
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    code = "import bench_workers as b; b.task()"
    subprocess.run([sys.executable, "-c", code], check=True, env=env,
                   cwd=os.path.dirname(os.path.abspath(__file__)))


def _time_loky(cache_dir):
    from joblib.externals.loky import get_reusable_executor

    os.environ["NUMBA_CACHE_DIR"] = cache_dir
    ex = get_reusable_executor(max_workers=1, kill_workers=True, reuse=False,
                               env={"NUMBA_CACHE_DIR": cache_dir})
    ex.submit(os.getpid).result()  # worker started
    t0 = time.perf_counter()
    inside, pid, seen = ex.submit(task).result()
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    ex.submit(task).result()
    second = time.perf_counter() - t0
    ex.shutdown(wait=True, kill_workers=True)
    assert seen == cache_dir, (seen, cache_dir)
    return first, inside, second


def _time_dask(cache_dir):
    from distributed import Client, LocalCluster

    os.environ["NUMBA_CACHE_DIR"] = cache_dir  # inherited by the spawned worker
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        client.wait_for_workers(1, timeout=60)
        t0 = time.perf_counter()
        inside, pid, seen = client.submit(task, pure=False).result()
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        client.submit(task, pure=False).result()
        second = time.perf_counter() - t0
    assert seen == cache_dir, (seen, cache_dir)
    return first, inside, second


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="loky,dask")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    timers = {"loky": _time_loky, "dask": _time_dask}
    rows = []
    with tempfile.TemporaryDirectory(prefix="sknn-bench-workers-") as root:
        warm_dir = os.path.join(root, "warm")
        _fill_cache(warm_dir)
        for backend in args.backends.split(","):
            for rep in range(args.repeats):
                cold_dir = os.path.join(root, f"cold-{backend}-{rep}")
                for state, d in (("cold", cold_dir), ("warm", warm_dir)):
                    first, inside, second = timers[backend](d)
                    rows.append([backend, state, f"{first:.2f} s", f"{inside:.2f} s",
                                 f"{second:.3f} s"])
                    print(" | ".join(rows[-1]), flush=True)
    print()
    print("\n".join(machine_info()))
    print(format_table(["backend", "cache", "first task", "in task", "second task"], rows))


if __name__ == "__main__":
    main()
