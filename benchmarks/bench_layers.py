"""What dropout and batch normalization cost per epoch, against PyTorch with the same layers.

    .venv/bin/python benchmarks/bench_layers.py [--rows 11000] [--repeats 3] [--cases ...]
                                                [--clock cpu|wall] [--stat median|min]

FMNIST shape (784 features, 10 classes, synthetic), hidden (300, 100), adam, one
BLAS thread, one epoch per fit. Four networks: plain, ``dropout=0.2``,
``batch_normalization=True`` and both; the PyTorch loop of ``bench_mlp.py`` with
the same layers (``Linear(bias=False) -> BatchNorm1d(momentum=0.01, eps=1e-3) ->
ReLU -> Dropout(0.2)``). Everything runs in this process with interleaved
repeats; the tables give median (``--stat min``: fastest) epoch times, the cost
of each layer as a ratio to the same library's plain network, and torch / sknn.
Targets (issue 16): dropout <= +15% and batch normalization <= +25% on sknn's
epoch, and sknn faster than PyTorch with the same layers. Times are the
process's CPU time by default (``--clock cpu``; one BLAS and one torch thread,
so it is the fit's own work): on a shared machine the wall clock mostly measures
the other jobs. ``--clock wall`` on a quiet machine gives the same ratios.
"""

import os
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    REPO,
    blas_threads,
    format_table,
    interleaved,
    make_data,
    median,
    numba_cache_dir,
    quiet,
    torch_train,
)

os.environ.setdefault("NUMBA_CACHE_DIR", numba_cache_dir("bench"))

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(REPO))
from bench_mlp import set_torch_threads, torch  # noqa: E402

import sknn  # noqa: E402

CASES = {  # name: (batch, dtype)
    "fmnist-b32-f64": (32, np.float64),
    "fmnist-b32-f32": (32, np.float32),
    "fmnist-b200-f64": (200, np.float64),
    "fmnist-b200-f32": (200, np.float32),
}
LAYERS = {  # name: sknn parameters
    "plain": {},
    "dropout": {"dropout": 0.2},
    "batchnorm": {"batch_normalization": True},
    "both": {"dropout": 0.2, "batch_normalization": True},
}
HIDDEN = (300, 100)


def sknn_fit(params, batch, X, y):
    est = sknn.MLPClassifier(hidden_layer_sizes=HIDDEN, batch_size=batch, max_iter=1, tol=0.0,
                             n_iter_no_change=10, random_state=0, **params)
    return lambda: est.fit(X, y)


def torch_model(params, n_features, tdtype):
    torch.manual_seed(0)
    sizes = [n_features, *HIDDEN]
    layers = []
    bn = params.get("batch_normalization", False)
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers.append(torch.nn.Linear(a, b, bias=not bn))
        if bn:  # Keras' momentum 0.99 is PyTorch's 0.01
            layers.append(torch.nn.BatchNorm1d(b, eps=1e-3, momentum=0.01))
        layers.append(torch.nn.ReLU())
        if params.get("dropout"):
            layers.append(torch.nn.Dropout(params["dropout"]))
    layers.append(torch.nn.Linear(sizes[-1], 10))
    return torch.nn.Sequential(*layers).to(tdtype)


def torch_fit(params, batch, Xt, yt, alpha=1e-4):
    """One epoch of ``_common.torch_train`` (bench_mlp.py's loop) with the layers."""
    return torch_train(torch_model(params, Xt.shape[1], Xt.dtype), torch.nn.CrossEntropyLoss(),
                       batch, 1, Xt, yt, alpha)


def run_case(name, args, X64, y):
    batch, dtype = CASES[name]
    X = X64.astype(dtype)
    contenders = {f"sknn {k}": sknn_fit(p, batch, X, y) for k, p in LAYERS.items()}
    if torch is not None:
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
        contenders.update({f"torch {k}": (lambda p=p: torch_fit(p, batch, Xt, yt))
                           for k, p in LAYERS.items()})
    for p in LAYERS.values():  # compile every variant, untimed
        sknn_fit(p, batch, X[:300], y[:300])()
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    times = interleaved(contenders, args.repeats, clock=clock)
    stat = min if args.stat == "min" else median
    return {k: stat(v) for k, v in times.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=11000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--clock", choices=("cpu", "wall"), default="cpu")
    # the fastest repeat is the one least disturbed by other jobs: the better
    # estimate of a layer's own cost on a shared machine (timeit's advice)
    ap.add_argument("--stat", choices=("median", "min"), default="median")
    args = ap.parse_args(argv)
    X64, y = make_data("fmnist", args.rows)
    set_torch_threads(1)
    results = {}
    with quiet(), blas_threads(1):
        for name in args.cases.split(","):
            results[name] = run_case(name, args, X64, y)
    has_torch = torch is not None
    rows = []
    for name, t in results.items():
        row = [name]
        for k in LAYERS:
            row.append(f"{1e3 * t['sknn ' + k]:.0f}")
            if has_torch:
                row.append(f"{1e3 * t['torch ' + k]:.0f}")
        rows.append(row)
    heads = ["case"] + [f"{lib} {k} ms" for k in LAYERS for lib in
                        (("sknn", "torch") if has_torch else ("sknn",))]
    print(f"FMNIST shape, {args.rows} rows x 784, hidden {HIDDEN}, adam, 1 epoch, "
          f"{args.stat} of {args.repeats} ({args.clock} time), 1 BLAS thread (1 torch thread)")
    print(format_table(heads, rows))
    rows = []
    for name, t in results.items():
        row = [name]
        for k in ("dropout", "batchnorm", "both"):
            row.append(f"{t['sknn ' + k] / t['sknn plain']:.2f}")
            if has_torch:
                row.append(f"{t['torch ' + k] / t['torch plain']:.2f}")
        if has_torch:
            row += [f"{t['torch ' + k] / t['sknn ' + k]:.2f}x" for k in LAYERS]
        rows.append(row)
    heads = ["case"] + [f"{lib} {k} / plain" for k in ("dropout", "batchnorm", "both")
                        for lib in (("sknn", "torch") if has_torch else ("sknn",))]
    if has_torch:
        heads += [f"torch / sknn, {k}" for k in LAYERS]
    print()
    print(format_table(heads, rows))


if __name__ == "__main__":
    main()
