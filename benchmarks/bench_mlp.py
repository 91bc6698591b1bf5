"""Epoch time of sknn's MLPs against scikit-learn's (and PyTorch's, if installed).

    .venv/bin/python benchmarks/bench_mlp.py            # all cases, 1 BLAS thread
    .venv/bin/python benchmarks/bench_mlp.py --quick    # smoke run, small data
    .venv/bin/python benchmarks/bench_mlp.py --cases cal-b32,cal-b200 --threads 1,auto

Every contender fits the same data in this one process.  A fit runs exactly
``epochs`` epochs (``tol=0``, ``n_iter_no_change`` > ``max_iter``); its wall time
divided by ``epochs`` is the epoch time.  Repeats alternate the contenders' order
and the table reports medians and the ratio ``other_time / sknn_time`` (> 1: sknn
faster).  sknn's kernels are compiled by an untimed small fit first.

``--threads 1`` (default) runs every contender under ``threadpool_limits(1)``
(and ``torch.set_num_threads(1)``); ``auto`` leaves BLAS alone, so sknn applies
its own per-fit choice (``sknn/_threads.py``) and the others use every core.
"""

import os
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _common import (  # noqa: E402  (no numba/sknn import in there)
    REPO,
    blas_threads,
    format_table,
    interleaved,
    machine_info,
    median,
    numba_cache_dir,
    parse_list,
    peak_traced_memory,
    quiet,
)

# Before sknn (and numba) are imported.  Keyed by a hash of sknn's sources so an
# edited kernel helper never runs from a stale cache.
os.environ.setdefault("NUMBA_CACHE_DIR", numba_cache_dir("mlp"))

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import sklearn.neural_network as sk  # noqa: E402

sys.path.insert(0, str(REPO))
import sknn  # noqa: E402

try:  # never installed by this script
    import torch
except ImportError:
    torch = None

# name: (shape, hidden, batch, dtype, epochs per fit, repeats)
CASES = {
    "fmnist-b32-f64": ("fmnist", (300, 100), 32, np.float64, 1, 3),
    "fmnist-b32-f32": ("fmnist", (300, 100), 32, np.float32, 1, 3),
    "fmnist-b200-f64": ("fmnist", (300, 100), 200, np.float64, 2, 3),
    "fmnist-b200-f32": ("fmnist", (300, 100), 200, np.float32, 2, 3),
    "cal-b32": ("cal", (50, 50, 50), 32, np.float64, 10, 5),
    "cal-b200": ("cal", (50, 50, 50), 200, np.float64, 20, 5),
    "cal-b32-f32": ("cal", (50, 50, 50), 32, np.float32, 10, 5),
    "cal-b200-f32": ("cal", (50, 50, 50), 200, np.float32, 20, 5),
}
DEFAULT_CASES = ["cal-b32", "cal-b200", "fmnist-b32-f64", "fmnist-b32-f32",
                 "fmnist-b200-f64", "fmnist-b200-f32"]
ROWS = {"fmnist": 55000, "cal": 11610}
QUICK_ROWS = {"fmnist": 5500, "cal": 2000}


# ---------------------------------------------------------------- data
def make_data(shape, n, seed=0):
    """Random but learnable data of the given shape (float64; cast per case)."""
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


# ---------------------------------------------------------- contenders
def estimator_kwargs(hidden, batch, epochs):
    return dict(hidden_layer_sizes=hidden, solver="adam", batch_size=batch,
                max_iter=epochs, tol=0.0, n_iter_no_change=epochs + 10,
                random_state=0, shuffle=True)


def sk_and_sknn(shape, hidden, batch, epochs):
    if shape == "fmnist":
        return (sk.MLPClassifier(**estimator_kwargs(hidden, batch, epochs)),
                sknn.MLPClassifier(**estimator_kwargs(hidden, batch, epochs)))
    return (sk.MLPRegressor(**estimator_kwargs(hidden, batch, epochs)),
            sknn.MLPRegressor(**estimator_kwargs(hidden, batch, epochs)))


def torch_fit(shape, hidden, batch, epochs, X, y, dtype):
    """A plain PyTorch training loop: same layers, relu, Adam(1e-3), batch, dtype."""
    tdtype = torch.float32 if dtype == np.float32 else torch.float64
    Xt = torch.from_numpy(X)
    if shape == "fmnist":
        yt = torch.from_numpy(y.astype(np.int64))
        n_out, loss_fn = 10, torch.nn.CrossEntropyLoss()
    else:
        yt = torch.from_numpy(y.reshape(-1, 1))
        n_out, loss_fn = 1, torch.nn.MSELoss()
    torch.manual_seed(0)
    sizes = [X.shape[1], *hidden]
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    layers.append(torch.nn.Linear(sizes[-1], n_out))
    model = torch.nn.Sequential(*layers).to(tdtype)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    n = X.shape[0]
    for _ in range(epochs):
        perm = torch.randperm(n)
        for start in range(0, n, batch):
            idx = perm[start:start + batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()
    return model


# ---------------------------------------------------------------- run
def run_case(name, args, threads, data_cache):
    shape, hidden, batch, dtype, epochs, repeats = CASES[name]
    n = QUICK_ROWS[shape] if args.quick else ROWS[shape]
    if args.quick:
        epochs, repeats = max(1, epochs // 5), 2
    repeats = args.repeats or repeats
    key = (shape, n)
    if key not in data_cache:
        data_cache[key] = make_data(shape, n)
    X64, y = data_cache[key]
    X = np.ascontiguousarray(X64, dtype=dtype)
    if shape == "cal":
        y = y.astype(dtype)

    sk_est, sknn_est = sk_and_sknn(shape, hidden, batch, epochs)
    contenders = {"sknn": lambda: sknn_est.fit(X, y), "sklearn": lambda: sk_est.fit(X, y)}
    if torch is not None and not args.no_torch:
        contenders["torch"] = lambda: torch_fit(shape, hidden, batch, epochs, X, y, dtype)

    with quiet(), blas_threads(threads):
        if torch is not None and threads not in (None, "auto"):
            torch.set_num_threads(int(threads))
        # Untimed warm-up: compile (or load) sknn's kernels for this dtype, and let
        # the others touch their code paths too.
        small = slice(0, min(n, 2 * batch + 7))
        w_sk, w_sknn = sk_and_sknn(shape, hidden, batch, 1)
        w_sknn.fit(X[small], y[small])
        w_sk.fit(X[small], y[small])
        times = interleaved(contenders, repeats)
        kernel_epoch = median(sknn_est.history_["epoch_time"]) if hasattr(
            sknn_est, "history_") else float("nan")

        # predict rows/s on the training rows (both models are fitted now)
        pred = interleaved({"sknn": lambda: sknn_est.predict(X),
                            "sklearn": lambda: sk_est.predict(X)}, max(3, repeats))
        mem = {}
        if not args.no_memory:
            m_sk, m_sknn = sk_and_sknn(shape, hidden, batch, 1)
            mem["sknn"] = peak_traced_memory(lambda: m_sknn.fit(X, y))
            mem["sklearn"] = peak_traced_memory(lambda: m_sk.fit(X, y))

    epoch = {k: median(v) / epochs for k, v in times.items()}
    spread = {k: (max(v) - min(v)) / median(v) for k, v in times.items()}
    res = {
        "case": name, "threads": threads, "rows": n, "epochs": epochs, "repeats": repeats,
        "epoch": epoch, "spread": spread, "kernel_epoch": kernel_epoch,
        "predict_rows_s": {k: n / median(v) for k, v in pred.items()},
        "mem": mem,
    }
    return res


def ratio_row(r):
    e = r["epoch"]
    row = [r["case"], r["threads"], r["rows"], f"{r['epochs']}x{r['repeats']}",
           f"{e['sklearn'] / e['sknn']:.2f}x"]
    row.append(f"{e['torch'] / e['sknn']:.2f}x" if "torch" in e else "n/a")
    p = r["predict_rows_s"]
    row.append(f"{p['sknn'] / p['sklearn']:.2f}x")
    m = r["mem"]
    row.append(f"{m['sknn'] / m['sklearn']:.2f}" if m else "-")
    row.append(f"{r['kernel_epoch'] / e['sknn']:.0%}")
    row.append("/".join(f"{r['spread'][k]:.0%}" for k in r["spread"]))
    return row


RATIO_HEADERS = ["case", "BLAS thr", "rows", "epochs x reps", "epoch sklearn/sknn",
                 "epoch torch/sknn", "predict rows/s sknn/sklearn", "peak mem sknn/sklearn",
                 "kernel share of sknn epoch", "spread " + "/".join(["sknn", "sklearn"])]


def abs_row(r):
    e = r["epoch"]
    row = [r["case"], r["threads"]] + [f"{e[k] * 1e3:.1f}" for k in ("sknn", "sklearn")]
    row.append(f"{e['torch'] * 1e3:.1f}" if "torch" in e else "n/a")
    row += [f"{r['kernel_epoch'] * 1e3:.1f}"]
    row += [f"{r['predict_rows_s'][k]:.3g}" for k in ("sknn", "sklearn")]
    row += [f"{r['mem'][k] / 2**20:.1f}" if r["mem"] else "-" for k in ("sknn", "sklearn")]
    return row


ABS_HEADERS = ["case", "BLAS thr", "sknn ms/epoch", "sklearn ms/epoch", "torch ms/epoch",
               "sknn kernel ms/epoch", "sknn predict rows/s", "sklearn predict rows/s",
               "sknn peak MiB", "sklearn peak MiB"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small data, few repeats (smoke run)")
    ap.add_argument("--cases", default=",".join(DEFAULT_CASES),
                    help=f"comma-separated, from: {', '.join(CASES)}")
    ap.add_argument("--threads", default="1",
                    help="comma-separated BLAS thread settings, e.g. '1,auto'")
    ap.add_argument("--repeats", type=int, default=0, help="override repeats per case")
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-memory fits")
    ap.add_argument("--no-torch", action="store_true", help="skip PyTorch even if installed")
    args = ap.parse_args(argv)
    cases = parse_list(args.cases)
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        ap.error(f"unknown cases {unknown}; choose from {list(CASES)}")

    print("\n".join(machine_info()))
    print(f"NUMBA_CACHE_DIR={os.environ['NUMBA_CACHE_DIR']}")
    print("torch: " + ("installed" if torch is not None else "not installed (column n/a)"))
    t0 = time.perf_counter()
    results, data_cache = [], {}
    for threads in parse_list(args.threads):
        for name in cases:
            r = run_case(name, args, threads, data_cache)
            results.append(r)
            print(f"  done {name} threads={threads}: sklearn/sknn "
                  f"{r['epoch']['sklearn'] / r['epoch']['sknn']:.2f}x "
                  f"({time.perf_counter() - t0:.0f}s elapsed)", flush=True)
    print()
    print(format_table(RATIO_HEADERS, [ratio_row(r) for r in results]))
    print()
    print(format_table(ABS_HEADERS, [abs_row(r) for r in results]))
    return results


if __name__ == "__main__":
    main()
