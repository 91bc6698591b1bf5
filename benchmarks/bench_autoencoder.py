"""One epoch of a 784 -> 300 -> 32 -> 300 -> 784 autoencoder: sknn against PyTorch.

    .venv/bin/python benchmarks/bench_autoencoder.py                 # 55000 rows, 3 repeats
    .venv/bin/python benchmarks/bench_autoencoder.py --rows 5000 --repeats 2   # smoke run

FMNIST-shaped synthetic data (55000 x 784, pixels in [0, 1] generated from 32
latent factors, so there is something to learn), batch 200, float32 and float64,
at one BLAS thread.  Both contenders train the same network the same way in this
one process: ReLU hidden layers, an identity code layer and output, half the
squared error summed over features and averaged over the batch (sknn's
``loss='squared_error'``), Adam(1e-3, 0.9, 0.999, 1e-8), the L2 penalty
``alpha=1e-4`` on the weights as Adam's weight decay, a fresh permutation every
epoch.  Each fit runs exactly one epoch (model set-up included); repeats
alternate the order and the table reports medians and the ratio torch / sknn
(> 1: sknn faster).  An untimed small fit of each first compiles sknn's kernels
and warms PyTorch up.
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
    quiet,
)

os.environ.setdefault("NUMBA_CACHE_DIR", numba_cache_dir("autoencoder"))

import argparse  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(REPO))
from bench_mlp import torch, torch_adam  # noqa: E402  (torch is None when not installed)

import sknn  # noqa: E402

N_FEATURES = 784
HIDDEN = (300,)
CODE = 32
BATCH = 200
ALPHA = 1e-4
LATENT = 32


def make_data(n_rows, dtype, seed=0):
    """Pixels in [0, 1]: a logistic map of ``LATENT`` Gaussian factors, plus noise."""
    rng = np.random.RandomState(seed)
    Z = rng.normal(size=(n_rows, LATENT))
    W = rng.normal(scale=1.0 / np.sqrt(LATENT), size=(LATENT, N_FEATURES)) * 3
    X = 1.0 / (1.0 + np.exp(-(Z @ W)))
    X += rng.normal(scale=0.05, size=X.shape)
    return np.clip(X, 0, 1).astype(dtype)


def sknn_fit(X, epochs=1):
    return sknn.MLPAutoencoder(
        n_components=CODE, hidden_layer_sizes=HIDDEN, batch_size=BATCH, alpha=ALPHA,
        max_iter=epochs, tol=0.0, n_iter_no_change=epochs + 1, random_state=0,
    ).fit(X)


def torch_fit(Xt, epochs=1):
    """The same network, loss and optimizer as a plain PyTorch loop."""
    torch.manual_seed(0)
    sizes = [N_FEATURES, *HIDDEN, CODE, *HIDDEN[::-1], N_FEATURES]
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i not in (len(HIDDEN), len(sizes) - 2):  # identity code layer and output
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers).to(Xt.dtype)
    opt = torch_adam(model, ALPHA)
    n = Xt.shape[0]
    gen = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen)
        for start in range(0, n, BATCH):
            xb = Xt[perm[start:start + BATCH]]
            opt.zero_grad(set_to_none=True)
            loss = 0.5 * ((model(xb) - xb) ** 2).sum(dim=1).mean()
            loss.backward()
            opt.step()
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=55000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    print("\n".join(machine_info()))
    if torch is None:
        print("torch is not installed: only sknn is timed")
    else:
        torch.set_num_threads(1)
    rows = []
    with quiet(), blas_threads(1):
        for dtype in (np.float32, np.float64):  # compile sknn's kernels, warm torch up
            small = make_data(500, dtype)
            sknn_fit(small)
            if torch is not None:
                torch_fit(torch.from_numpy(small))
        for dtype in (np.float32, np.float64):
            X = make_data(args.rows, dtype)
            contenders = {"sknn": lambda X=X: sknn_fit(X)}
            if torch is not None:
                Xt = torch.from_numpy(X)
                contenders["torch"] = lambda Xt=Xt: torch_fit(Xt)
            times = interleaved(contenders, args.repeats)
            t_sknn = median(times["sknn"])
            t_torch = median(times["torch"]) if torch is not None else float("nan")
            rows.append([np.dtype(dtype).name, f"{args.rows}x{N_FEATURES}",
                         f"{t_sknn:.2f}", f"{t_torch:.2f}", f"{t_torch / t_sknn:.2f}x"])
    print(format_table(["dtype", "data", "epoch sknn (s)", "epoch torch (s)", "torch/sknn"],
                       rows))


if __name__ == "__main__":
    main()
