"""Start-up cost: the first fit in a fresh process, cold and warm numba cache.

    .venv/bin/python benchmarks/bench_startup.py [--repeats 1] [--specializations]

Each measurement runs in a new Python process (``python bench_startup.py --child``):

- ``cold``: ``NUMBA_CACHE_DIR`` is a new, empty directory, so the first fit
  compiles every kernel it needs;
- ``warm``: the same directory after the cold run filled it, so kernels load
  from disk.

Inside the child: ``import`` time of sknn, the first ``fit`` + ``predict`` (the
small FMNIST-like MLPClassifier of ``task()``: 500 x 784, (300, 100), adam,
float64), then the same again in the same process (everything in memory).  A
later float32 fit compiles its own specialization (about as long again, cold).
"warm first fit adds X s" = warm first fit - second fit; "cold compile Y s" =
cold first fit - second fit.

``--specializations`` also fits the variants a user can hit (float32/float64,
read-only X, CSR X, validation data, lbfgs, regressor) in one process and prints
how many signatures each dispatcher compiled -- the figure to keep small.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import REPO, format_table, machine_info, median  # noqa: E402


def _data(dtype):
    import numpy as np

    rng = np.random.RandomState(0)
    X = rng.uniform(size=(500, 784)).astype(dtype)
    y = rng.randint(10, size=500)
    return X, y


def task(dtypes=("float64",)):
    """One small adam fit + predict per dtype (what a user's first call does)."""
    import warnings

    from sknn import MLPClassifier

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for dt in dtypes:
            X, y = _data(dt)
            MLPClassifier((300, 100), max_iter=2, batch_size=200, random_state=0).fit(
                X, y).predict(X)


def variants():
    """Fits covering the input variants users hit; each compiles or reuses kernels."""
    import warnings

    import numpy as np
    import scipy.sparse as sp

    from sknn import MLPClassifier, MLPRegressor

    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for dt in ("float64", "float32"):
            X, y = _data(dt)
            X, y = X[:100, :20], y[:100]
            ro = X.copy()
            ro.flags.writeable = False
            Xf = np.asfortranarray(X)
            kw = dict(hidden_layer_sizes=(8,), max_iter=2, random_state=0)
            for name, fit in {
                "dense": lambda: MLPClassifier(**kw).fit(X, y).predict(X),
                "read-only X": lambda: MLPClassifier(**kw).fit(ro, y).predict(ro),
                "fortran X": lambda: MLPClassifier(**kw).fit(Xf, y).predict(Xf),
                "csr X": lambda: MLPClassifier(**kw).fit(sp.csr_matrix(X), y).predict(
                    sp.csr_matrix(X)),
                "validation": lambda: MLPClassifier(early_stopping=True, **kw).fit(X, y),
                "lbfgs": lambda: MLPClassifier(solver="lbfgs", **kw).fit(X, y),
                "regressor": lambda: MLPRegressor(**kw).fit(X, X[:, 0]).predict(X),
                "wide": lambda: MLPRegressor(wide_features="all", **kw).fit(X, X[:, 0]),
            }.items():
                t0 = time.perf_counter()
                fit()
                out[f"{dt} {name}"] = time.perf_counter() - t0
    return out


def signature_counts():
    import sknn._kernels.epoch as epoch
    import sknn._kernels.network as network

    counts = {}
    for mod in (epoch, network):
        for name in dir(mod):
            f = getattr(mod, name)
            if hasattr(f, "signatures") and getattr(f, "__module__", "") == mod.__name__:
                if f.signatures:
                    counts[f"{mod.__name__.rsplit('.', 1)[1]}.{name}"] = len(f.signatures)
    return counts


def child(mode):
    sys.path.insert(0, str(REPO))  # this checkout's sknn, not another install
    t0 = time.perf_counter()
    import sknn

    assert os.path.dirname(sknn.__file__) == str(REPO / "sknn"), sknn.__file__

    res = {"import": time.perf_counter() - t0}
    if mode == "variants":
        res["variants"] = variants()
        res["signatures"] = signature_counts()
    else:
        for key in ("first", "second"):
            t0 = time.perf_counter()
            task()
            res[key] = time.perf_counter() - t0
        res["signatures"] = signature_counts()
    print("RESULT " + json.dumps(res))


def run_child(cache_dir, mode="task"):
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir, OPENBLAS_NUM_THREADS="1")
    t0 = time.perf_counter()
    c0 = os.times()
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", mode],
                         env=env, capture_output=True, text=True, cwd=str(REPO))
    wall = time.perf_counter() - t0
    c1 = os.times()
    if out.returncode:
        raise RuntimeError(out.stderr)
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    res = json.loads(line[len("RESULT "):])
    res["process"] = wall
    res["process_cpu"] = (c1.children_user + c1.children_system
                          - c0.children_user - c0.children_system)
    return res


def measure(repeats=1):
    """Cold and warm start-up, ``repeats`` times each; returns the summary dict."""
    rows, cold, warm = [], [], []
    with tempfile.TemporaryDirectory(prefix="sknn-bench-startup-") as root:
        for rep in range(repeats):
            d = os.path.join(root, f"cache-{rep}")
            for state in ("cold", "warm"):
                r = run_child(d)
                (cold if state == "cold" else warm).append(r)
                rows.append([state, f"{r['import']:.2f}", f"{r['first']:.2f}",
                             f"{r['second']:.3f}", f"{r['first'] - r['second']:.2f}",
                             f"{r['process']:.2f}", f"{r['process_cpu']:.2f}"])
    summary = {
        "cold_compile": median([r["first"] - r["second"] for r in cold]),
        "warm_adds": median([r["first"] - r["second"] for r in warm]),
        "second": median([r["second"] for r in warm]),
        "signatures": cold[-1]["signatures"],
        "rows": rows,
    }
    return summary


HEADERS = ["cache", "import s", "first fit s", "second fit s", "first - second s",
           "process wall s", "process CPU s"]


def print_summary(s):
    print(format_table(HEADERS, s["rows"]))
    print(f"warm first fit adds {s['warm_adds']:.2f} s over a second fit "
          f"({s['second']:.2f} s)  [target < 1 s]")
    print(f"cold compile {s['cold_compile']:.1f} s  [target < 20 s]")
    print("compiled specializations: " + ", ".join(
        f"{k} {v}" for k, v in sorted(s["signatures"].items()) if v > 1 or "epoch" in k))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--specializations", action="store_true",
                    help="also compile every input variant cold and count signatures")
    args = ap.parse_args()
    if args.child:
        return child(args.child)
    print("\n".join(machine_info()))
    s = measure(args.repeats)
    print_summary(s)
    if args.specializations:
        with tempfile.TemporaryDirectory(prefix="sknn-bench-startup-") as d:
            r = run_child(d, "variants")
        print(format_table(["variant (cold cache, in order)", "s"],
                           [[k, f"{v:.2f}"] for k, v in r["variants"].items()]))
        print(format_table(["dispatcher", "signatures"],
                           [[k, v] for k, v in sorted(r["signatures"].items())]))


if __name__ == "__main__":
    main()
