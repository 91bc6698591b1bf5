"""sknn's MLPs against scikit-learn and a plain PyTorch loop: the issue-9 benchmark.

    .venv/bin/python benchmarks/bench_mlp.py            # everything below (~8-17 min)
    .venv/bin/python benchmarks/bench_mlp.py --quick    # smoke run, small data (~3 min)
    .venv/bin/python benchmarks/bench_mlp.py --cases cal-b32,cal-b200 --only main

One command, several parts (``--only`` picks some):

- ``main``: every case at 1 BLAS thread, quiet machine.  Epoch time, predict
  rows/s and peak RSS of a 1-epoch fit for sknn, sklearn and torch; then the
  achieved training GFLOP/s against the machine's GEMM rate measured in the same
  run (NumPy matmul of the same layer shapes at that batch size, and a large
  square matmul), per dtype.
- ``load``: a few cases quiet and with another process spinning on one core
  (``--load``), at 1 and at ``auto`` BLAS threads (``auto`` = no limit: sknn
  applies its own choice, sknn/_threads.py; sklearn and torch use every core).
- ``perceptron``: sknn.Perceptron vs sklearn on 200000 x 100, 10 classes
  (bench_perceptron.py has the sparse workloads too).
- ``startup``: first fit in a fresh process with an empty numba cache (cold
  compile) and a warm one, vs a second fit in that process (bench_startup.py).

Every contender fits the same data in this one process.  A fit runs exactly
``epochs`` epochs (``tol=0``, ``n_iter_no_change`` > ``max_iter``); its wall time
divided by ``epochs`` is the epoch time.  Repeats alternate the contenders' order
and the tables report medians and ratios ``other_time / sknn_time`` (> 1: sknn
faster).  sknn's kernels are compiled by an untimed small fit first.
"""

import os
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _common import (  # noqa: E402  (no numba/sknn import in there)
    REPO,
    background_load,
    blas_threads,
    format_table,
    interleaved,
    machine_info,
    median,
    numba_cache_dir,
    parse_list,
    peak_rss_delta,
    quiet,
)

# Before sknn (and numba) are imported.  Keyed by a hash of sknn's sources so an
# edited kernel helper never runs from a stale cache.
os.environ.setdefault("NUMBA_CACHE_DIR", numba_cache_dir())

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import sklearn.neural_network as sk  # noqa: E402

sys.path.insert(0, str(REPO))
import sknn  # noqa: E402

try:  # never installed by this script (pip install torch==2.13.0 for the column)
    import torch
    TORCH_DEFAULT_THREADS = torch.get_num_threads()
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
# The load part: the cases where BLAS threads matter, on a tenth of FMNIST's rows
# (sklearn's and torch's 2-thread FMNIST epochs take 10-20x longer under load).
LOAD_CASES = ["cal-b32", "fmnist-b32-f64", "fmnist-b200-f32"]
ROWS = {"fmnist": 55000, "cal": 11610}
LOAD_ROWS = {"fmnist": 5500, "cal": 11610}
QUICK_ROWS = {"fmnist": 5500, "cal": 2000}
PARTS = ("main", "load", "perceptron", "startup")


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


def layer_sizes(shape, hidden, n_features):
    return [n_features, *hidden, 10 if shape == "fmnist" else 1]


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


def torch_data(shape, X, y):
    """Tensors made once per case (zero-copy views of the NumPy arrays)."""
    Xt = torch.from_numpy(X)
    if shape == "fmnist":
        yt = torch.from_numpy(y.astype(np.int64))
    else:
        yt = torch.from_numpy(np.ascontiguousarray(y.reshape(-1, 1)))
    return Xt, yt


def torch_model(shape, hidden, n_features, tdtype):
    torch.manual_seed(0)
    sizes = layer_sizes(shape, hidden, n_features)
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    layers.pop()  # identity output; the loss applies softmax
    return torch.nn.Sequential(*layers).to(tdtype)


def torch_adam(model, alpha):
    """Adam(lr=1e-3, betas=(0.9, 0.999), eps=1e-8) with sklearn's L2 penalty
    ``alpha`` on the weights (not the biases) as weight decay."""
    weights = [p for n, p in model.named_parameters() if n.endswith("weight")]
    biases = [p for n, p in model.named_parameters() if n.endswith("bias")]
    return torch.optim.Adam([{"params": weights, "weight_decay": alpha},
                             {"params": biases, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.999), eps=1e-8)


def torch_fit(shape, hidden, batch, epochs, Xt, yt, alpha=1e-4):
    """A plain PyTorch training loop, as close to sklearn's MLP as a loop gets.

    Same layers and ReLU, Adam(lr=1e-3, betas=(0.9, 0.999), eps=1e-8), the same
    batch size and dtype, a fresh permutation every epoch, and sklearn's L2
    penalty ``alpha`` on the weights (not the biases) as Adam's weight decay.
    """
    model = torch_model(shape, hidden, Xt.shape[1], Xt.dtype)
    loss_fn = torch.nn.CrossEntropyLoss() if shape == "fmnist" else torch.nn.MSELoss()
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


def torch_predict(shape, model, Xt):
    with torch.no_grad():
        out = model(Xt)
        return out.argmax(dim=1) if shape == "fmnist" else out[:, 0]


def set_torch_threads(threads):
    if torch is not None:
        torch.set_num_threads(TORCH_DEFAULT_THREADS if threads in (None, "auto")
                              else int(threads))


# ---------------------------------------------------------------- GEMM rate
def _best_rate(fn, flops, min_time=0.25, rounds=3):
    """Best GFLOP/s of ``fn`` (``flops`` per call) over a few timed rounds."""
    fn()
    calls = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        t = time.perf_counter() - t0
        if t >= min_time / rounds or calls > 1e6:
            break
        calls *= 4
    best = t / calls
    for _ in range(rounds - 1):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - t0) / calls)
    return flops / best / 1e9, best


def gemm_rates(sizes, batch, dtype):
    """NumPy matmul GFLOP/s for one batch's GEMMs of an MLP with layer ``sizes``.

    ``all``: forward, weight-gradient and input-gradient GEMM of every layer
    (6 x weights flops per row, the ``6 n_params`` convention).  ``needed``: the
    same without the first layer's input gradient, which no library computes.
    Returns {"all": (GFLOP/s, s per batch), "needed": (...)}.
    """
    rng = np.random.RandomState(0)
    pairs = list(zip(sizes[:-1], sizes[1:]))
    A = [rng.rand(batch, fi).astype(dtype) for fi, _ in pairs]
    W = [rng.rand(fi, fo).astype(dtype) for fi, fo in pairs]
    D = [rng.rand(batch, fo).astype(dtype) for _, fo in pairs]
    Z = [np.empty((batch, fo), dtype) for _, fo in pairs]
    G = [np.empty((fi, fo), dtype) for fi, fo in pairs]
    dA = [np.empty((batch, fi), dtype) for fi, _ in pairs]

    def step(first_input_grad):
        for l in range(len(pairs)):
            np.matmul(A[l], W[l], out=Z[l])
            np.matmul(A[l].T, D[l], out=G[l])
            if l > 0 or first_input_grad:
                np.matmul(D[l], W[l].T, out=dA[l])

    per_layer = [2.0 * batch * fi * fo for fi, fo in pairs]
    return {"all": _best_rate(lambda: step(True), 3 * sum(per_layer)),
            "needed": _best_rate(lambda: step(False), 3 * sum(per_layer) - per_layer[0])}


def square_gemm_rate(dtype, n=1536):
    rng = np.random.RandomState(0)
    A, B = rng.rand(n, n).astype(dtype), rng.rand(n, n).astype(dtype)
    C = np.empty((n, n), dtype)
    return _best_rate(lambda: np.matmul(A, B, out=C), 2.0 * n ** 3, min_time=1.0)[0]


# ---------------------------------------------------------------- run
def run_case(name, args, threads, data_cache, load=False, rows=None, memory=True,
             gemm=True, repeats=None, max_epochs=None):
    shape, hidden, batch, dtype, epochs, default_repeats = CASES[name]
    epochs = min(epochs, max_epochs or epochs)
    n = (QUICK_ROWS if args.quick else rows or ROWS)[shape]
    if args.quick:
        epochs, default_repeats = max(1, epochs // 5), 2
    repeats = repeats or args.repeats or default_repeats
    key = (shape, n)
    if key not in data_cache:
        data_cache[key] = make_data(shape, n)
    X64, y = data_cache[key]
    X = np.ascontiguousarray(X64, dtype=dtype)
    if shape == "cal":
        y = y.astype(dtype)

    sk_est, sknn_est = sk_and_sknn(shape, hidden, batch, epochs)
    contenders = {"sknn": lambda: sknn_est.fit(X, y), "sklearn": lambda: sk_est.fit(X, y)}
    predictors = {"sknn": lambda: sknn_est.predict(X), "sklearn": lambda: sk_est.predict(X)}
    use_torch = torch is not None and not args.no_torch
    if use_torch:
        Xt, yt = torch_data(shape, X, y)
        models = {}

        def fit_torch():
            models["torch"] = torch_fit(shape, hidden, batch, epochs, Xt, yt)

        contenders["torch"] = fit_torch
        predictors["torch"] = lambda: torch_predict(shape, models["torch"], Xt)

    set_torch_threads(threads)
    with quiet(), blas_threads(threads):
        # Untimed warm-up: compile (or load) sknn's kernels for this dtype, and let
        # the others touch their code paths too.
        small = slice(0, min(n, 2 * batch + 7))
        w_sk, w_sknn = sk_and_sknn(shape, hidden, batch, 1)
        w_sknn.fit(X[small], y[small]).predict(X[small])
        w_sk.fit(X[small], y[small])
        if use_torch:
            torch_fit(shape, hidden, batch, 1, Xt[small], yt[small])
        with background_load(load):
            times = interleaved(contenders, repeats)
            kernel_epoch = median(sknn_est.history_["epoch_time"])
            # predict rows/s on the training rows (every model is fitted now)
            pred = interleaved(predictors, max(3, repeats))
        mem = {}
        if memory and not args.no_memory:
            m_sk, m_sknn = sk_and_sknn(shape, hidden, batch, 1)
            mem["sknn"] = peak_rss_delta(lambda: m_sknn.fit(X, y))
            mem["sklearn"] = peak_rss_delta(lambda: m_sk.fit(X, y))
            if use_torch:
                mem["torch"] = peak_rss_delta(
                    lambda: torch_fit(shape, hidden, batch, 1, Xt, yt))
        rates = None
        if gemm and not args.no_gemm:
            rates = gemm_rates(layer_sizes(shape, hidden, X.shape[1]), batch, dtype)

    epoch = {k: median(v) / epochs for k, v in times.items()}
    spread = {k: (max(v) - min(v)) / median(v) for k, v in times.items()}
    return {
        "case": name, "threads": threads, "load": "loaded" if load else "quiet",
        "rows": n, "epochs": epochs, "repeats": repeats, "batch": batch,
        "dtype": np.dtype(dtype).name, "epoch": epoch, "spread": spread,
        "kernel_epoch": kernel_epoch,
        "predict_rows_s": {k: n / median(v) for k, v in pred.items()},
        "mem": mem, "gemm": rates,
        "n_params": sum(fi * fo + fo for fi, fo in zip(
            layer_sizes(shape, hidden, X.shape[1])[:-1],
            layer_sizes(shape, hidden, X.shape[1])[1:])),
    }


def _ratio(d, k, base="sknn", fmt="{:.2f}x", invert=False):
    if k not in d or base not in d:
        return "n/a"
    return fmt.format(d[base] / d[k] if invert else d[k] / d[base])


def ratio_row(r):
    e, p, m = r["epoch"], r["predict_rows_s"], r["mem"]
    return [r["case"], r["rows"], f"{r['epochs']}x{r['repeats']}",
            _ratio(e, "sklearn"), _ratio(e, "torch"),
            _ratio(p, "sklearn", invert=True), _ratio(p, "torch", invert=True),
            _ratio(m, "sklearn", fmt="{:.2f}", invert=True) if m else "-",
            _ratio(m, "torch", fmt="{:.2f}", invert=True) if m else "-",
            f"{r['kernel_epoch'] / e['sknn']:.0%}",
            "/".join(f"{r['spread'][k]:.0%}" for k in r["spread"])]


RATIO_HEADERS = ["case", "rows", "epochs x reps", "epoch sklearn/sknn", "epoch torch/sknn",
                 "predict rows/s sknn/sklearn", "predict sknn/torch",
                 "peak RSS sknn/sklearn", "peak RSS sknn/torch", "kernel share",
                 "spread sknn/sklearn/torch"]


def abs_row(r):
    e, p, m = r["epoch"], r["predict_rows_s"], r["mem"]
    names = ("sknn", "sklearn", "torch")
    return ([r["case"]] + [f"{e[k] * 1e3:.1f}" if k in e else "n/a" for k in names]
            + [f"{p[k]:.3g}" if k in p else "n/a" for k in names]
            + [f"{m[k] / 2**20:.0f}" if k in m else "-" for k in names])


ABS_HEADERS = ["case", "sknn ms/epoch", "sklearn ms/epoch", "torch ms/epoch",
               "sknn predict rows/s", "sklearn predict rows/s", "torch predict rows/s",
               "sknn peak MiB", "sklearn peak MiB", "torch peak MiB"]


def gflops_row(r, square):
    g = r["gemm"]
    e = r["epoch"]
    n_batches = r["rows"] / r["batch"]
    achieved = 6.0 * r["n_params"] * r["rows"] / e["sknn"] / 1e9
    gemm_all, _ = g["all"]
    _, t_needed = g["needed"]
    share = {k: n_batches * t_needed / e[k] for k in e}
    return [r["case"], f"{achieved:.1f}", f"{gemm_all:.1f}", f"{achieved / gemm_all:.0%}",
            f"{share['sknn']:.0%}", f"{share['sklearn']:.0%}",
            f"{share['torch']:.0%}" if "torch" in share else "n/a",
            f"{square[r['dtype']]:.1f}"]


GFLOPS_HEADERS = ["case", "sknn GFLOP/s (6 n_params rows/epoch)",
                  "same-shape GEMM GFLOP/s", "6 n_params rate / GEMM rate",
                  "% of GEMM limit: sknn", "sklearn", "torch", "square GEMM GFLOP/s"]
GFLOPS_NOTE = """same-shape GEMM: NumPy matmul of every layer's forward, weight-gradient and
input-gradient GEMM at the case's batch size and dtype (6 n_params flops per row).
No library computes the first layer's input gradient (29% of those flops for
FMNIST), so the 6 n_params rate can exceed 100% of it.  '% of GEMM limit' is the
strict figure: time of the GEMMs an epoch needs, at NumPy's best measured rate,
divided by the epoch time (100% = nothing but GEMMs at full speed)."""


def load_row(r, quiet_ref):
    e = r["epoch"]
    base = quiet_ref.get((r["case"], "1"))
    row = [r["case"], r["rows"], r["threads"], r["load"]]
    for k in ("sknn", "sklearn", "torch"):
        row.append(f"{e[k] * 1e3:.0f}" if k in e else "n/a")
    row += [_ratio(e, "sklearn"), _ratio(e, "torch")]
    # slowdown vs the same library quiet at 1 thread
    for k in ("sknn", "sklearn", "torch"):
        row.append(f"{e[k] / base['epoch'][k]:.2f}x" if base and k in e else "-")
    p = r["predict_rows_s"]
    row.append(_ratio(p, "sklearn", invert=True))
    row.append(f"{base['predict_rows_s']['sknn'] / p['sknn']:.2f}x" if base else "-")
    return row


LOAD_HEADERS = ["case", "rows", "BLAS thr", "spinner", "sknn ms/epoch", "sklearn ms/epoch",
                "torch ms/epoch", "sklearn/sknn", "torch/sknn",
                "sknn vs quiet 1-thr", "sklearn vs quiet 1-thr", "torch vs quiet 1-thr",
                "predict sknn/sklearn", "sknn predict time vs quiet 1-thr"]


def run_perceptron(args):
    import bench_perceptron as bp

    from sknn import Perceptron

    n = 20000 if args.quick else 200000
    X, y = bp.dense_problem(n, 100, 10)
    params = dict(max_iter=20, tol=None, random_state=0)
    from sklearn.linear_model import Perceptron as SkPerceptron
    with quiet(), blas_threads(1):
        Xw, yw = bp.dense_problem(200, 10, 3)
        Perceptron(**params).fit(Xw, yw)
        times = interleaved({"sknn": lambda: Perceptron(**params).fit(X, y),
                             "sklearn": lambda: SkPerceptron(**params).fit(X, y)},
                            2 if args.quick else 3)
    return n, {k: median(v) for k, v in times.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small data, few repeats (smoke run)")
    ap.add_argument("--only", default=",".join(PARTS), help=f"parts to run, from {PARTS}")
    ap.add_argument("--cases", default=",".join(DEFAULT_CASES),
                    help=f"main part, comma-separated, from: {', '.join(CASES)}")
    ap.add_argument("--threads", default="1",
                    help="main part: comma-separated BLAS thread settings, e.g. '1,auto'")
    ap.add_argument("--load", action="store_true",
                    help="main part: run with another process spinning on one core")
    ap.add_argument("--load-cases", default=",".join(LOAD_CASES),
                    help="load part: cases run quiet/loaded x 1/auto threads")
    ap.add_argument("--repeats", type=int, default=0, help="override repeats per case")
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-memory fits")
    ap.add_argument("--no-gemm", action="store_true", help="skip the GEMM-rate measurement")
    ap.add_argument("--no-torch", action="store_true", help="skip PyTorch even if installed")
    args = ap.parse_args(argv)
    parts = parse_list(args.only)
    cases = parse_list(args.cases)
    unknown = [c for c in cases + parse_list(args.load_cases) if c not in CASES]
    if unknown or any(p not in PARTS for p in parts):
        ap.error(f"unknown cases {unknown} / parts {parts}")

    print("\n".join(machine_info()))
    print(f"NUMBA_CACHE_DIR={os.environ['NUMBA_CACHE_DIR']}")
    print("torch: " + (f"{torch.__version__}, {TORCH_DEFAULT_THREADS} threads by default"
                       if torch is not None else "not installed (column n/a)"))
    print(f"load average at start: {os.getloadavg()}")
    t0 = time.perf_counter()
    data_cache = {}

    def done(r):
        print(f"  done {r['case']} threads={r['threads']} {r['load']}: sklearn/sknn "
              f"{r['epoch']['sklearn'] / r['epoch']['sknn']:.2f}x "
              f"({time.perf_counter() - t0:.0f}s elapsed)", flush=True)
        return r

    out = {}
    if "main" in parts:
        results = [done(run_case(name, args, threads, data_cache, load=args.load))
                   for threads in parse_list(args.threads) for name in cases]
        out["main"] = results
    if "load" in parts:
        ld = []
        for name in parse_list(args.load_cases):
            for threads in ("1", "auto"):
                for load in (False, True):
                    ld.append(done(run_case(name, args, threads, data_cache, load=load,
                                            rows=LOAD_ROWS, memory=False, gemm=False,
                                            repeats=args.repeats or 2, max_epochs=2)))
        out["load"] = ld
    if "perceptron" in parts:
        out["perceptron"] = run_perceptron(args)
        print(f"  done perceptron ({time.perf_counter() - t0:.0f}s elapsed)", flush=True)
    if "startup" in parts:
        import bench_startup

        out["startup"] = bench_startup.measure(1)
        print(f"  done startup ({time.perf_counter() - t0:.0f}s elapsed)", flush=True)

    print(f"\nload average at end: {os.getloadavg()}; total {time.perf_counter() - t0:.0f}s")
    if "main" in out:
        res = out["main"]
        print(f"\n## Epoch, predict, memory (BLAS threads {args.threads}, "
              f"{'loaded' if args.load else 'quiet'}); ratios > 1: sknn better")
        print(format_table(RATIO_HEADERS, [ratio_row(r) for r in res]))
        print()
        print(format_table(ABS_HEADERS, [abs_row(r) for r in res]))
        if not args.no_gemm:
            with blas_threads(1):
                square = {d: square_gemm_rate(np.dtype(d)) for d in
                          sorted({r["dtype"] for r in res})}
            print("\n## Training GFLOP/s vs the GEMM rate measured now (1 BLAS thread)")
            print(format_table(GFLOPS_HEADERS, [gflops_row(r, square) for r in res
                                                if r["gemm"]]))
            print(GFLOPS_NOTE)
    if "load" in out:
        ld = out["load"]
        quiet_ref = {(r["case"], r["threads"]): r for r in ld if r["load"] == "quiet"}
        print("\n## Under load: 'loaded' = another process spinning on one core; "
              "'vs quiet 1-thr' = epoch (predict) time / same library's without the "
              "spinner at 1 BLAS thread (> 1: slower)")
        print(format_table(LOAD_HEADERS, [load_row(r, quiet_ref) for r in ld]))
    if "perceptron" in out:
        n, t = out["perceptron"]
        print(f"\n## Perceptron {n}x100, 10 classes, 20 epochs, 1 BLAS thread: "
              f"sknn {t['sknn']:.2f} s, sklearn {t['sklearn']:.2f} s, "
              f"sklearn/sknn {t['sklearn'] / t['sknn']:.2f}x")
    if "startup" in out:
        import bench_startup

        print("\n## Start-up (fresh processes; bench_startup.py)")
        bench_startup.print_summary(out["startup"])
    return out


if __name__ == "__main__":
    main()
