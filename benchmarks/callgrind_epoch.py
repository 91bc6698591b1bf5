"""Instructions per training epoch, counted by valgrind's callgrind, across commits.

Wall-clock epoch times on a shared machine move by more than the few percent a
refactoring may cost; instruction counts do not.  For each git ref this exports
sknn at that commit (``git archive``, no checkout), fills a numba cache for it
natively, then runs the benchmark cases under ``valgrind --tool=callgrind`` with
collection switched on only around a warm fit (an identical fit runs first, so
kernels are loaded from the cache and lazy imports done).  Reported: instructions
per epoch (the fit's count / its epochs, per-fit overhead included, as
``bench_mlp.py`` defines epoch time) and each ref's ratio to the first ref.

    python benchmarks/callgrind_epoch.py --refs 898b880,HEAD
    python benchmarks/callgrind_epoch.py --refs 898b880,WORKTREE --cases cal-b32

``WORKTREE`` is the working tree as it is.  Needs valgrind and its headers
(``apt-get install valgrind``) and a C compiler (for the two-line client-request
helper).  numba's CPU name and features are pinned to the host's in both runs,
so the code valgrind runs is the code the native run cached.  FMNIST-shaped
cases use 5500 rows (a tenth) to keep the run short: the count per row is what
is compared.  Exports, caches and output stay in ``--workdir`` (a rerun reuses
the caches).
"""

import argparse
import os
import pathlib
import re
import subprocess
import sys
import tempfile

REPO = pathlib.Path(__file__).resolve().parents[1]

#: case -> (rows, features, classes (0: regression), hidden, batch, dtype, epochs)
CASES = {
    "cal-b32": (11610, 8, 0, (50, 50, 50), 32, "float64", 3),
    "cal-b200": (11610, 8, 0, (50, 50, 50), 200, "float64", 6),
    "fmnist-b32-f64": (5500, 784, 10, (300, 100), 32, "float64", 1),
    "fmnist-b200-f32": (5500, 784, 10, (300, 100), 200, "float32", 2),
}

# Instrumentation too is off outside the counted fits (``--instr-atstart=no``):
# imports and cache loads then run at a few times native speed instead of ~50x.
_HELPER_C = """
#include <valgrind/callgrind.h>
void cg_start(void) { CALLGRIND_START_INSTRUMENTATION; CALLGRIND_TOGGLE_COLLECT; }
void cg_stop(const char *name) {
    CALLGRIND_TOGGLE_COLLECT; CALLGRIND_DUMP_STATS_AT(name); CALLGRIND_STOP_INSTRUMENTATION;
}
"""


# ------------------------------------------------------------------ child
def _data(case):
    import numpy as np

    rows, features, classes, _, _, dtype, _ = CASES[case]
    rng = np.random.RandomState(0)
    X = rng.randn(rows, features).astype(dtype)
    if classes:
        y = (X @ rng.randn(features, classes)).argmax(axis=1)
    else:
        y = X @ rng.randn(features) + 0.1 * rng.randn(rows)
    return X, y


def _estimator(case):
    import sknn

    _, _, classes, hidden, batch, _, epochs = CASES[case]
    kind = sknn.MLPClassifier if classes else sknn.MLPRegressor
    return kind(hidden_layer_sizes=hidden, batch_size=batch, max_iter=epochs, tol=0.0,
                n_iter_no_change=epochs + 1, random_state=0)


def child(cases, helper):
    import ctypes
    import warnings

    lib = ctypes.CDLL(helper) if helper else None
    for case in cases:
        X, y = _data(case)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _estimator(case).fit(X, y)  # warm: kernels from the cache, imports done
            est = _estimator(case)
            if lib:
                lib.cg_start()
            est.fit(X, y)
            if lib:
                lib.cg_stop(case.encode())
        print(f"{case}: n_iter_={est.n_iter_}", flush=True)


# ----------------------------------------------------------------- parent
def _export(ref, root):
    """sknn's sources at ``ref`` in ``root/<ref>`` (the working tree for WORKTREE)."""
    if ref == "WORKTREE":
        return REPO
    dest = root / ref
    dest.mkdir(exist_ok=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref, "sknn"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def _env(src, cache):
    from llvmlite import binding
    from numba.core.codegen import get_host_cpu_features

    env = dict(os.environ, PYTHONPATH=str(src), NUMBA_CACHE_DIR=str(cache),
               PYTHONHASHSEED="0", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
               MKL_NUM_THREADS="1", NUMBA_CPU_NAME=binding.get_host_cpu_name(),
               NUMBA_CPU_FEATURES=get_host_cpu_features())
    return env


def _counts(out_prefix):
    """case -> instructions, from callgrind's per-dump files."""
    counts = {}
    for path in sorted(out_prefix.parent.glob(out_prefix.name + "*")):
        text = path.read_text(errors="replace")
        trigger = re.search(r"^desc: Trigger: Client Request: (\S+)", text, re.M)
        totals = [int(v) for v in re.findall(r"^(?:totals|summary): (\d+)", text, re.M)]
        # callgrind's summary line wraps around (a "negative" count near 2**64) in
        # some dumps toggled from a client request; the totals line stays right
        totals = [v for v in totals if v < 2**63]
        if trigger and totals:
            counts[trigger.group(1)] = totals[0]
    return counts


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--refs", default="898b880,HEAD",
                    help="comma-separated git refs (or WORKTREE); the first is the baseline")
    ap.add_argument("--cases", default=",".join(CASES), help="comma-separated: " + ", ".join(CASES))
    ap.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "sknn-callgrind"),
                    help="exports, numba caches (kept: a rerun loads them) and callgrind output")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--helper", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    cases = args.cases.split(",")
    if args.child:
        child(cases, args.helper)
        return
    refs = args.refs.split(",")
    root = pathlib.Path(args.workdir)
    root.mkdir(parents=True, exist_ok=True)
    helper = root / "libcgtoggle.so"
    (root / "cg.c").write_text(_HELPER_C)
    subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", str(helper), str(root / "cg.c")],
                   check=True)
    results = {}
    for ref in refs:
        src = _export(ref, root)
        env = _env(src, root / f"cache-{ref}")
        cmd = [sys.executable, __file__, "--child", "--cases", args.cases]
        print(f"{ref}: filling the numba cache natively ...", flush=True)
        subprocess.run(cmd, env=env, check=True, cwd=root)
        out = root / f"callgrind-{ref}.out"
        print(f"{ref}: under callgrind ...", flush=True)
        for old in root.glob(out.name + "*"):
            old.unlink()
        subprocess.run(["valgrind", "--tool=callgrind", "--collect-atstart=no",
                        "--instr-atstart=no", f"--callgrind-out-file={out}", *cmd,
                        "--helper", str(helper)],
                       env=env, check=True, cwd=root, stderr=subprocess.DEVNULL)
        results[ref] = _counts(out)
    print()
    print("| case | epochs | " + " | ".join(f"{r} instr/epoch" for r in refs)
          + " | " + " | ".join(f"{r} / {refs[0]}" for r in refs[1:]) + " |")
    print("|---" * (2 + 2 * len(refs) - 1) + "|")
    for case in cases:
        epochs = CASES[case][-1]
        per = [results[r].get(case, float("nan")) / epochs for r in refs]
        print(f"| {case} | {epochs} | " + " | ".join(f"{p / 1e6:.1f}M" for p in per)
              + " | " + " | ".join(f"{p / per[0]:.4f}" for p in per[1:]) + " |")


if __name__ == "__main__":
    main()
