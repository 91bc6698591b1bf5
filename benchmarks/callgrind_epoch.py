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
    python benchmarks/callgrind_epoch.py --refs HEAD,WORKTREE --params "{'dropout': 0.2}"

``WORKTREE`` is the working tree as it is.  Needs valgrind and its headers
(``apt-get install valgrind``) and a C compiler (for the two-line client-request
helper).  numba's CPU name and features are pinned in both runs (to the host's by
default), so the code valgrind runs is the code the native run cached; valgrind
3.19 cannot execute AVX-512 instructions (SIGILL), so on an AVX-512 host pin an
older CPU for every ref alike, e.g. ``--cpu haswell``.  ``--params`` adds
estimator parameters (a Python dict literal) to every fit.  FMNIST-shaped
cases use 5500 rows (a tenth) to keep the run short: the count per row is what
is compared.  Exports, caches and output stay in ``--workdir`` (a rerun reuses
the caches).
"""

import argparse
import ast
import os
import pathlib
import re
import shutil
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


def _estimator(case, params):
    import sknn

    _, _, classes, hidden, batch, _, epochs = CASES[case]
    kind = sknn.MLPClassifier if classes else sknn.MLPRegressor
    return kind(hidden_layer_sizes=hidden, batch_size=batch, max_iter=epochs, tol=0.0,
                n_iter_no_change=epochs + 1, random_state=0, **params)


def child(cases, helper, params):
    import ctypes
    import warnings

    lib = ctypes.CDLL(helper) if helper else None
    for case in cases:
        X, y = _data(case)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _estimator(case, params).fit(X, y)  # warm: kernels from the cache, imports done
            est = _estimator(case, params)
            if lib:
                lib.cg_start()
            est.fit(X, y)
            if lib:
                lib.cg_stop(case.encode())
        print(f"{case}: n_iter_={est.n_iter_}", flush=True)


# ----------------------------------------------------------------- parent
def _export(ref, root):
    """(sknn's sources at ``ref``, a name for its numba cache): an export in
    ``root/<commit>`` (the working tree for WORKTREE).

    Keyed by the commit, not the ref's name (HEAD moves); the working tree's cache is
    emptied first: numba's cache does not notice an edit to a helper in another file.
    """
    if ref == "WORKTREE":
        shutil.rmtree(root / "cache-WORKTREE", ignore_errors=True)
        return REPO, "WORKTREE"
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", ref], check=True,
                            capture_output=True, text=True).stdout.strip()
    dest = root / commit
    if not dest.exists():
        archive = subprocess.run(["git", "-C", str(REPO), "archive", commit, "sknn"],
                                 check=True, capture_output=True).stdout
        dest.mkdir()
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest, commit


def _env(src, cache, cpu):
    from llvmlite import binding
    from numba.core.codegen import get_host_cpu_features

    env = dict(os.environ, PYTHONPATH=str(src), NUMBA_CACHE_DIR=str(cache),
               PYTHONHASHSEED="0", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
               MKL_NUM_THREADS="1")
    if cpu:  # the named CPU's default features (NUMBA_CPU_FEATURES unset)
        env["NUMBA_CPU_NAME"] = cpu
        env.pop("NUMBA_CPU_FEATURES", None)
    else:
        env.update(NUMBA_CPU_NAME=binding.get_host_cpu_name(),
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
    ap.add_argument("--params", default="{}",
                    help="estimator parameters added to every fit (a dict literal)")
    ap.add_argument("--cpu", default="",
                    help="LLVM CPU name numba compiles for in every run (default: the host's)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--helper", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    cases = args.cases.split(",")
    if args.child:
        child(cases, args.helper, ast.literal_eval(args.params))
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
        src, key = _export(ref, root)
        env = _env(src, root / f"cache-{key}" / (args.cpu or "host"), args.cpu)
        cmd = [sys.executable, __file__, "--child", "--cases", args.cases,
               "--params", args.params]
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
    print(f"\nparams {args.params}, CPU {args.cpu or 'host'}")
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
