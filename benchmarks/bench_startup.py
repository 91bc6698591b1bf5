"""Start-up cost: the first fit in a fresh process, cold and warm numba cache (issue 18).

    .venv/bin/python benchmarks/bench_startup.py [--repeats 3] [--no-warmup]

One command, a few minutes on a quiet machine.  Every measurement runs in a new
Python process (``bench_startup.py --child SCENARIO``) with OPENBLAS_NUM_THREADS=1;
``cold`` means a new, empty ``NUMBA_CACHE_DIR``.  Scenarios:

- ``cold-classifier``: import sknn, the default ``MLPClassifier`` float64 first
  fit + ``predict_proba`` (300 x 20, 3 classes), the same again (second fit);
  then, in the same process, the first and a second fit of each further kind:
  lbfgs, float32, Perceptron, dropout, batch normalization, wide & deep,
  sparse (CSR) input.  "adds" = first - second fit of that kind.
- ``cold-regressor``: import, the default ``MLPRegressor`` first fit + predict.
- ``cold-options``: import, a first fit using every option at once (dropout,
  batch normalization, wide & deep, CSR input) + ``predict_proba``.
- ``warm``: import, first and second default classifier fit, on the cache the
  cold classifier run filled: "warm adds" = first - second.
- ``warmup`` (once): ``python -m sknn.warmup`` on an empty cache, then the
  ``warm`` scenario on that cache (its first fit must load, not compile:
  the child counts numba's compile events).

"from import" = import + first fit + predict, the figure a new user waits.
Medians over ``--repeats`` fresh processes; wall and process CPU time
(``resource.getrusage``) side by side, so a loaded machine shows as wall >> CPU.
The targets of issue 18 (quiet machine): from import <= 8 s (classifier,
regressor, every option), lbfgs / float32 / Perceptron each add <= 3 s, warm
adds <= 0.3 s.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import REPO, format_table, machine_info, median  # noqa: E402

TARGETS = {"from_import": 8.0, "adds": 3.0, "warm_adds": 0.3}


def _cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _data():
    import numpy as np

    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 20))
    return X, rng.randint(3, size=300), X[:, 0] + 0.1 * rng.normal(size=300)


def kinds():
    """name -> a fit (+ predict) of that kind; "default" is a new user's first call."""
    import scipy.sparse as sp

    from sknn import MLPClassifier, MLPRegressor, Perceptron

    X, y, yr = _data()
    X32 = X.astype("float32")
    Xs = sp.csr_matrix(X)
    kw = dict(max_iter=5, random_state=0)
    return {
        "default": lambda: MLPClassifier(**kw).fit(X, y).predict_proba(X),
        "regressor": lambda: MLPRegressor(**kw).fit(X, yr).predict(X),
        "lbfgs": lambda: MLPClassifier(solver="lbfgs", **kw).fit(X, y).predict_proba(X),
        "float32": lambda: MLPClassifier(**kw).fit(X32, y).predict_proba(X32),
        "perceptron": lambda: Perceptron(**kw).fit(X, y).predict(X),
        "dropout": lambda: MLPClassifier(dropout=0.2, **kw).fit(X, y).predict_proba(X),
        "batch_norm": lambda: MLPClassifier(batch_normalization=True, **kw).fit(
            X, y).predict_proba(X),
        "wide_deep": lambda: MLPRegressor(wide_features=[0, 1], **kw).fit(X, yr).predict(X),
        "sparse": lambda: MLPClassifier(**kw).fit(Xs, y).predict_proba(Xs),
        "all_options": lambda: MLPClassifier(
            dropout=0.2, batch_normalization=True, wide_features=[0, 1], **kw).fit(
            Xs, y).predict_proba(Xs),
    }


SCENARIOS = {
    "cold-classifier": ["default", "lbfgs", "float32", "perceptron", "dropout", "batch_norm",
                        "wide_deep", "sparse"],
    "cold-regressor": ["regressor"],
    "cold-options": ["all_options"],
    "warm": ["default"],
}


def child(scenario):
    import warnings

    from numba.core import event

    sys.path.insert(0, str(REPO))  # this checkout's sknn, not another install
    w0, c0 = time.perf_counter(), _cpu()
    import sknn

    assert os.path.dirname(sknn.__file__) == str(REPO / "sknn"), sknn.__file__
    res = {"import": [time.perf_counter() - w0, _cpu() - c0]}
    compiled = []

    class Count(event.Listener):
        def on_start(self, ev):
            compiled.append(ev.data["dispatcher"].py_func.__qualname__)

        def on_end(self, ev):
            pass

    event.register("numba:compile", Count())
    fits = kinds()
    warnings.simplefilter("ignore")
    for name in SCENARIOS[scenario]:
        for which in ("first", "second"):
            w, c = time.perf_counter(), _cpu()
            fits[name]()
            res[f"{name} {which}"] = [time.perf_counter() - w, _cpu() - c]
        if name == SCENARIOS[scenario][0]:
            res["compiles in first fit"] = len(compiled)
            res["from import"] = [time.perf_counter() - w0 - res[f"{name} second"][0],
                                  _cpu() - c0 - res[f"{name} second"][1]]
    print("RESULT " + json.dumps(res))


def run_child(cache_dir, scenario):
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir, OPENBLAS_NUM_THREADS="1")
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", scenario],
                         env=env, capture_output=True, text=True, cwd=str(REPO))
    if out.returncode:
        raise RuntimeError(out.stderr)
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def run_warmup(cache_dir):
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir, OPENBLAS_NUM_THREADS="1")
    w, c = time.perf_counter(), os.times()
    subprocess.run([sys.executable, "-m", "sknn.warmup", "--quiet"], env=env, check=True,
                   capture_output=True, cwd=str(REPO))
    c1 = os.times()
    return [time.perf_counter() - w,
            c1.children_user + c1.children_system - c.children_user - c.children_system]


def measure(repeats=3, warmup=True):
    """Every figure, medians over ``repeats`` fresh processes; returns the summary dict."""
    runs = {s: [] for s in SCENARIOS}
    with tempfile.TemporaryDirectory(prefix="sknn-bench-startup-") as root:
        for rep in range(repeats):
            for scenario in SCENARIOS:
                # the warm run reuses the cache this repeat's cold classifier filled
                cache = "cold-classifier" if scenario == "warm" else scenario
                d = os.path.join(root, f"{rep}-{cache}")
                runs[scenario].append(run_child(d, scenario))
        extra = {}
        if warmup:
            d = os.path.join(root, "warmup")
            extra["warmup"] = run_warmup(d)
            extra["after warmup"] = run_child(d, "warm")
    rows = []

    def row(label, key_of, scenario, target=None):
        vals = [key_of(r) for r in runs[scenario]]
        wall, cpu = median([v[0] for v in vals]), median([v[1] for v in vals])
        rows.append([label, f"{wall:.2f}", f"{cpu:.2f}",
                     " ".join(f"{v[0]:.2f}" for v in vals),
                     "" if target is None else f"<= {target:g}",
                     "" if target is None else ("met" if wall <= target else "NOT met")])
        return wall

    def adds(name):
        return lambda r: [r[f"{name} first"][i] - r[f"{name} second"][i] for i in (0, 1)]

    s = {"runs": runs, "extra": extra}
    row("import", lambda r: r["import"], "cold-classifier")
    s["from_import"] = row("default MLPClassifier float64 fit + predict_proba, from import",
                           lambda r: r["from import"], "cold-classifier", TARGETS["from_import"])
    row("  of which the first fit + predict_proba", lambda r: r["default first"],
        "cold-classifier")
    row("MLPRegressor fit + predict, from import", lambda r: r["from import"], "cold-regressor",
        TARGETS["from_import"])
    row("dropout + batch norm + wide & deep + CSR fit, from import",
        lambda r: r["from import"], "cold-options", TARGETS["from_import"])
    for name in SCENARIOS["cold-classifier"][1:]:
        target = TARGETS["adds"] if name in ("lbfgs", "float32", "perceptron") else None
        row(f"first {name} fit adds (after the default fit)", adds(name), "cold-classifier",
            target)
    row("second default fit + predict_proba", lambda r: r["default second"], "warm")
    s["warm_adds"] = row("warm cache: first fit adds over a second fit", adds("default"), "warm",
                         TARGETS["warm_adds"])
    s["rows"] = rows
    s["compiles"] = [r["compiles in first fit"] for r in runs["warm"]]
    return s


HEADERS = ["figure (fresh processes, empty cache unless warm)", "median wall s",
           "median CPU s", "wall of each run", "target (quiet)", "status (median wall)"]


def print_summary(s):
    print(format_table(HEADERS, s["rows"]))
    print(f"numba compiles during a warm first fit: {s['compiles']} (must be 0)")
    if s["extra"]:
        w = s["extra"]["warmup"]
        after = s["extra"]["after warmup"]
        print(f"python -m sknn.warmup on an empty cache: {w[0]:.1f} s wall, {w[1]:.1f} s CPU "
              "(every core); then a fresh process's first default fit + predict_proba: "
              f"{after['default first'][0]:.2f} s (second {after['default second'][0]:.2f} s), "
              f"{after['compiles in first fit']} numba compiles")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-warmup", action="store_true", help="skip timing sknn.warmup")
    args = ap.parse_args()
    if args.child:
        return child(args.child)
    print("\n".join(machine_info()))
    print(f"load average at start: {os.getloadavg()}")
    t0 = time.perf_counter()
    s = measure(args.repeats, warmup=not args.no_warmup)
    print_summary(s)
    print(f"load average at end: {os.getloadavg()}; {time.perf_counter() - t0:.0f} s in all")


if __name__ == "__main__":
    main()
