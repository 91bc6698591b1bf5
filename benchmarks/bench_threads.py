"""Threads (issue 19): sknn on 1 and 2 threads and ``n_jobs=None``, against sklearn and torch.

    .venv/bin/python benchmarks/bench_threads.py             # quiet table (~4-6 min)
    .venv/bin/python benchmarks/bench_threads.py --loaded    # + the same with a spinner
    .venv/bin/python benchmarks/bench_threads.py --cases fmnist-b32-f32 --repeats 5

One process, contenders interleaved (``_common.interleaved``), medians.  For
every training case: epoch time of sknn at ``n_jobs=1``, ``2`` and ``None``,
sknn at one thread with batches chunked by rows as for two threads (what a row
layout fixed independently of the thread count would cost on one thread; the
FMNIST cases split by units on two threads, whose layout is already fixed),
sklearn with 1 and 2 BLAS threads and torch with 1 and 2 threads.  Predict: rows/s of 100000 FMNIST
rows.  ``--loaded`` then starts a process spinning on one core
(``_common.background_load``) and times sknn at ``n_jobs=None`` and sklearn and
torch at their defaults (every core), each against its own *quiet* one-thread
time.  The dispatch line is the cost of one hand-off to the team (a batch's
wake-up and wait) with no work, and of one chunk kernel call.

FMNIST-shape data is synthetic (bench_mlp.make_data), 784 features, (300, 100),
on ``--rows`` rows (the per-batch work is the real one; an epoch of 55000 rows
takes 55000 / rows times longer).  California shape: 11610 x 8, (50, 50, 50).
"""

import argparse
import os
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _common import (  # noqa: E402  (no numba/sknn import in there)
    background_load,
    blas_threads,
    format_table,
    interleaved,
    machine_info,
    median,
    numba_cache_dir,
    quiet,
)

os.environ.setdefault("NUMBA_CACHE_DIR", numba_cache_dir())

import bench_mlp as bm  # noqa: E402  (sklearn, sknn, torch and the data, as bench_mlp has them)
import numpy as np  # noqa: E402

import sknn._base as base  # noqa: E402
import sknn._parallel as par  # noqa: E402

# name: (shape, hidden, batch, dtype, epochs per fit)
CASES = {
    "fmnist-b200-f32": ("fmnist", (300, 100), 200, np.float32, 1),
    "fmnist-b200-f64": ("fmnist", (300, 100), 200, np.float64, 1),
    "fmnist-b32-f32": ("fmnist", (300, 100), 32, np.float32, 1),
    "fmnist-b32-f64": ("fmnist", (300, 100), 32, np.float64, 1),
    "cal-b32": ("cal", (50, 50, 50), 32, np.float64, 3),
    "cal-b200": ("cal", (50, 50, 50), 200, np.float64, 10),
}
PREDICT_ROWS = 100000
#: Seconds between timed calls: a peer's idle BLAS or OpenMP workers spin on after
#: its call, on the cores sknn's next fit counts as its own (``interleaved``).
SETTLE = 0.3


def sknn_contender(shape, hidden, batch, epochs, X, y, n_jobs, chunks_of=None):
    """sknn's fit; ``chunks_of=k``: batches split as for k threads whatever n_jobs
    (what a layout fixed independently of the thread count would cost)."""
    _, est = bm.sk_and_sknn(shape, hidden, batch, epochs)
    est.set_params(n_jobs=n_jobs)

    def fit():
        if chunks_of is None:
            est.fit(X, y)
            return
        base.chunk_rows = lambda *a: par.chunk_rows(*a[:3], chunks_of)
        try:
            est.fit(X, y)
        finally:
            base.chunk_rows = par.chunk_rows
    return fit


def sklearn_contender(shape, hidden, batch, epochs, X, y, threads):
    est, _ = bm.sk_and_sknn(shape, hidden, batch, epochs)

    def fit():
        with blas_threads(threads):
            est.fit(X, y)
    return fit


def torch_contender(shape, hidden, batch, epochs, Xt, yt, threads):
    def fit():
        bm.set_torch_threads(threads)
        bm.torch_fit(shape, hidden, batch, epochs, Xt, yt)
    return fit


def training_contenders(name, rows, peers, loaded_set=False):
    shape, hidden, batch, dtype, epochs = CASES[name]
    X, y = bm.make_data(shape, rows[shape])
    X = X.astype(dtype)
    y = y.astype(dtype) if shape == "cal" else y
    c = {}
    if loaded_set:
        c["sknn None"] = sknn_contender(shape, hidden, batch, epochs, X, y, None)
    else:
        for n_jobs in (1, 2, None):
            c[f"sknn {n_jobs}"] = sknn_contender(shape, hidden, batch, epochs, X, y, n_jobs)
        c["sknn 1 chunked"] = sknn_contender(shape, hidden, batch, epochs, X, y, 1, 2)
    if "sklearn" in peers:
        for t in (("auto",) if loaded_set else (1, 2)):
            c[f"sklearn {t}"] = sklearn_contender(shape, hidden, batch, epochs, X, y, t)
    if "torch" in peers and bm.torch is not None:
        Xt, yt = bm.torch_data(shape, X, y)
        for t in (("auto",) if loaded_set else (1, 2)):
            c[f"torch {t}"] = torch_contender(shape, hidden, batch, epochs, Xt, yt, t)
    return c, epochs


def predict_contenders(dtype, peers):
    X, y = bm.make_data("fmnist", PREDICT_ROWS)
    X = X.astype(dtype)
    small = slice(0, 2000)
    _, est = bm.sk_and_sknn("fmnist", (300, 100), 200, 1)
    with quiet():
        est.fit(X[small], y[small])
    c = {}
    for n_jobs in (1, 2, None):
        c[f"sknn {n_jobs}"] = (lambda n_jobs=n_jobs: est.set_params(n_jobs=n_jobs).predict(X))
    if "torch" in peers and bm.torch is not None:
        Xt, yt = bm.torch_data("fmnist", X, y)
        model = bm.torch_fit("fmnist", (300, 100), 200, 1, Xt[small], yt[small])
        for t in (1, 2):
            c[f"torch {t}"] = (lambda t=t: (bm.set_torch_threads(t),
                                            bm.torch_predict("fmnist", model, Xt)))
    return c


def dispatch_overhead(n=2000):
    """Seconds per ``Team.run`` of a no-op on 2 members, and per 1-member run."""
    out = {}
    for members in (1, 2):
        with par.team(members) as t:
            t.run_each(lambda i: None)
            start = time.perf_counter()
            for _ in range(n):
                t.run_each(lambda i: None)
            out[members] = (time.perf_counter() - start) / n
    return out


def fmt_ms(s):
    return f"{1e3 * s:.0f}" if s >= 0.1 else f"{1e3 * s:.1f}"


def ratio(a, b):
    return f"{a / b:.2f}x"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default=",".join(list(CASES) + ["predict-f32", "predict-f64"]))
    ap.add_argument("--rows", type=int, default=5500, help="FMNIST-shape training rows")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--loaded", action="store_true", help="also run with a spinning process")
    ap.add_argument("--peers", default="sklearn,torch", help="comma list, '' for sknn only")
    args = ap.parse_args()
    peers = {p for p in args.peers.split(",") if p}
    rows = {"fmnist": args.rows, "cal": 11610}
    cases = [c for c in args.cases.split(",") if c]
    print(machine_info())
    print(f"FMNIST rows {args.rows}, repeats {args.repeats}, medians; ratios > 1: faster")
    d = dispatch_overhead()
    print(f"dispatch: Team.run no-op {1e6 * d[2]:.0f} us on 2 threads "
          f"({1e6 * d[1]:.1f} us on 1)")
    quiet_1 = {}
    train_rows, pred_rows = [], []
    with quiet():
        for name in cases:
            if name.startswith("predict"):
                dtype = np.float32 if name.endswith("f32") else np.float64
                c = predict_contenders(dtype, peers)
                times = {k: median(v) for k, v in
                         interleaved(c, args.repeats, warmup=list(c), settle=SETTLE).items()}
                quiet_1[name] = times
                r = [name, fmt_ms(times["sknn 1"]), fmt_ms(times["sknn 2"]),
                     fmt_ms(times["sknn None"]), ratio(times["sknn 1"], times["sknn 2"])]
                if "torch 1" in times:
                    r += [fmt_ms(times["torch 1"]), fmt_ms(times["torch 2"]),
                          ratio(times["torch 1"], times["sknn 1"]),
                          ratio(times["torch 2"], times["sknn 2"])]
                pred_rows.append(r)
                print(format_table(PRED_HEADERS[: len(r)], [r]), flush=True)
                continue
            c, epochs = training_contenders(name, rows, peers)
            warm = [k for k in c if k.startswith("sknn")]
            times = {k: median(v) / epochs for k, v in
                     interleaved(c, args.repeats, warmup=warm, settle=SETTLE).items()}
            quiet_1[name] = times
            r = [name, fmt_ms(times["sknn 1"]), fmt_ms(times["sknn 2"]),
                 fmt_ms(times["sknn None"]), ratio(times["sknn 1"], times["sknn 2"]),
                 ratio(times["sknn 1"], times["sknn None"]),
                 ratio(times["sknn 1 chunked"], times["sknn 1"])]
            for peer in ("sklearn", "torch"):
                if f"{peer} 1" in times:
                    r += [ratio(times[f"{peer} 1"], times["sknn 1"]),
                          ratio(times[f"{peer} 2"], times["sknn 2"]),
                          ratio(times[f"{peer} 1"], times[f"{peer} 2"])]
                else:
                    r += ["-", "-", "-"]
            train_rows.append(r)
            print(format_table(TRAIN_HEADERS, [r]), flush=True)
        print("\nQuiet (or as quiet as the machine was): training, ms per epoch")
        print(format_table(TRAIN_HEADERS, train_rows))
        if pred_rows:
            print("\nPredict of 100000 FMNIST-shape rows, ms")
            print(format_table(PRED_HEADERS[: max(len(r) for r in pred_rows)], pred_rows))
        if not args.loaded:
            return
        load_rows = []
        with background_load():
            for name in cases:
                if name.startswith("predict"):
                    dtype = np.float32 if name.endswith("f32") else np.float64
                    c = {k: v for k, v in predict_contenders(dtype, set()).items()
                         if k == "sknn None"}
                    t = median(interleaved(c, args.repeats, warmup=list(c),
                                           settle=SETTLE)["sknn None"])
                    load_rows.append([name, ratio(t, quiet_1[name]["sknn 1"]), "-", "-"])
                    print(format_table(LOAD_HEADERS, load_rows[-1:]), flush=True)
                    continue
                c, epochs = training_contenders(name, rows, peers, loaded_set=True)
                times = {k: median(v) / epochs for k, v in
                         interleaved(c, args.repeats, warmup=["sknn None"], settle=SETTLE).items()}
                q = quiet_1[name]
                r = [name, ratio(times["sknn None"], q["sknn 1"])]
                for peer in ("sklearn", "torch"):
                    r.append(ratio(times[f"{peer} auto"], q[f"{peer} 1"])
                             if f"{peer} auto" in times and f"{peer} 1" in q else "-")
                load_rows.append(r)
                print(format_table(LOAD_HEADERS, load_rows[-1:]), flush=True)
        print("\nLoaded (one core spinning): time / the same library's quiet 1-thread time"
              " (<= 1.1x: no collapse)")
        print(format_table(LOAD_HEADERS, load_rows))


TRAIN_HEADERS = ["case", "sknn 1", "sknn 2", "sknn None", "sknn 2 vs 1", "None vs 1",
                 "1 thr: 2-thread chunks/none", "sklearn/sknn 1 thr", "sklearn/sknn 2 thr",
                 "sklearn 2 vs 1", "torch/sknn 1 thr", "torch/sknn 2 thr", "torch 2 vs 1"]
PRED_HEADERS = ["case", "sknn 1", "sknn 2", "sknn None", "sknn 2 vs 1", "torch 1", "torch 2",
                "torch/sknn 1 thr", "torch/sknn 2 thr"]
LOAD_HEADERS = ["case", "sknn None", "sklearn (all cores)", "torch (all cores)"]

if __name__ == "__main__":
    main()
