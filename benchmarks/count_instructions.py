"""Instructions of one warm-cache training epoch, counted by callgrind (repeatable under load).

    .venv/bin/python benchmarks/count_instructions.py [--src DIR ...] [--cases ...] [--params ...]

Wall-clock benchmarks on a shared machine cannot resolve a 2% change; the number
of instructions an epoch executes can.  For every source tree given with
``--src`` (a checkout of sknn, default this one; e.g. ``git archive <commit> |
tar -x -C /tmp/old`` for a before/after comparison) and every case of
``bench_mlp.py`` this script fills that tree's numba cache natively, then runs
one process of fits (one per case) under ``valgrind --tool=callgrind`` with
collection off except around the fits, and reports instructions (Ir) of the
``_train_epoch`` call (the jitted epoch kernel and its Python wrapper) and of
the whole 1-epoch ``fit``.
``--params`` adds estimator parameters (a Python dict literal, e.g.
``"{'dropout': 0.2}"``) to every fit.  Needs valgrind, its ``callgrind.h`` and
a C compiler (for a 10-line helper that toggles collection from Python).
Counts include OpenBLAS as valgrind's emulated CPU selects it.
"""

import argparse
import ast
import ctypes
import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import REPO, format_table, make_data  # noqa: E402

#: Fewer rows than bench_mlp.py: callgrind runs ~50x slower than native.
ROWS = {"fmnist": 1100, "cal": 2000}
DEFAULT_CASES = ["cal-b32", "cal-b200", "fmnist-b32-f64", "fmnist-b200-f32"]

_HELPER = r"""
#include <valgrind/callgrind.h>
void cg_on(void) { CALLGRIND_ZERO_STATS; CALLGRIND_TOGGLE_COLLECT; }
void cg_dump(const char *name) { CALLGRIND_DUMP_STATS_AT(name); }
void cg_off(void) { CALLGRIND_TOGGLE_COLLECT; }
"""


def build_helper(directory):
    src = pathlib.Path(directory) / "cg.c"
    lib = pathlib.Path(directory) / "libcg.so"
    src.write_text(_HELPER)
    subprocess.run(["cc", "-O1", "-shared", "-fPIC", "-o", str(lib), str(src)], check=True)
    return lib


def inner(args):
    """Run in the child: warm fits natively (or, with --helper, counted under callgrind)."""
    import warnings

    import numpy as np

    import sknn
    from sknn import _base

    warnings.simplefilter("ignore")
    cases = ast.literal_eval(args.case)
    fits = []
    for name, (shape, hidden, batch, dtype) in cases.items():
        X, y = make_data(shape, ROWS[shape])
        X = X.astype(np.dtype(dtype))
        Est = sknn.MLPClassifier if shape == "fmnist" else sknn.MLPRegressor
        params = dict(hidden_layer_sizes=hidden, batch_size=batch, max_iter=1, tol=0.0,
                      n_iter_no_change=10, random_state=0, **ast.literal_eval(args.params))
        Est(**params).fit(X, y)  # loads (or compiles) the kernels
        fits.append((name, Est, params, X, y))
    if not args.helper:
        return
    cg = ctypes.CDLL(args.helper)
    original = _base.BaseMLP._train_epoch
    current = [""]

    def counted(self, *a, **k):
        cg.cg_dump(f"before-epoch {current[0]}".encode())
        out = original(self, *a, **k)
        cg.cg_dump(f"epoch {current[0]}".encode())
        return out

    _base.BaseMLP._train_epoch = counted
    cg.cg_on()
    for name, Est, params, X, y in fits:
        current[0] = name
        cg.cg_dump(b"between")
        Est(**params).fit(X, y)
        cg.cg_dump(f"after-epoch {name}".encode())
    cg.cg_off()


def totals(path):
    """Ir of every dump of one callgrind run, by its dump reason."""
    out = {}
    for f in sorted(pathlib.Path(path.parent).glob(path.name + "*")):
        reason, total = None, None
        for line in f.read_text(errors="replace").splitlines():
            if line.startswith("desc: Trigger: Client Request: "):
                reason = line.split(": ", 2)[2].strip()
            elif line.startswith("totals:") or line.startswith("summary:"):
                total = int(line.split()[1])
        if reason is not None and total is not None:
            out[reason] = total
    return out


def run(src, cases, params, tmp, helper):
    """{case: (epoch Ir, fit Ir)} of one source tree (one callgrind process)."""
    from bench_mlp import CASES  # not in the child: it imports torch

    env = dict(os.environ, PYTHONPATH=str(src), PYTHONHASHSEED="0", OPENBLAS_NUM_THREADS="1",
               OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    cache = subprocess.run([sys.executable, str(pathlib.Path(src) / "tools" /
                                               "numba_cache_dir.py"), "bench"],
                           capture_output=True, text=True, check=True).stdout.strip()
    env["NUMBA_CACHE_DIR"] = cache
    spec = {c: (CASES[c][0], CASES[c][1], CASES[c][2], np.dtype(CASES[c][3]).name)
            for c in cases}
    cmd = [sys.executable, __file__, "--inner", "--case", repr(spec), "--params", params]
    subprocess.run(cmd, env=env, check=True)  # fill the cache natively
    out = pathlib.Path(tmp) / f"cg.{abs(hash(str(src)))}"
    subprocess.run(["valgrind", "--tool=callgrind", "--collect-atstart=no",
                    f"--callgrind-out-file={out}", *cmd, "--helper", str(helper)],
                   env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t = totals(out)
    return {c: (t[f"epoch {c}"], t[f"before-epoch {c}"] + t[f"epoch {c}"] + t[f"after-epoch {c}"])
            for c in cases}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", action="append", default=None,
                    help="sknn source tree (repeatable; default: this checkout)")
    ap.add_argument("--cases", default=",".join(DEFAULT_CASES))
    ap.add_argument("--params", default="{}")
    ap.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--case", help=argparse.SUPPRESS)
    ap.add_argument("--helper", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.inner:
        return inner(args)
    srcs = [pathlib.Path(s).resolve() for s in (args.src or [REPO])]
    cases = args.cases.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        helper = build_helper(tmp)
        counts = [run(src, cases, args.params, tmp, helper) for src in srcs]
    rows = []
    for case in cases:
        row = [case]
        for c in counts:
            row += [f"{c[case][0] / 1e6:.2f}", f"{c[case][1] / 1e6:.2f}"]
        if len(counts) > 1:
            row += [f"{counts[-1][case][k] / counts[0][case][k]:.4f}" for k in (0, 1)]
        rows.append(row)
    print(f"Ir in millions, one warm-cache epoch, {ROWS} rows, params {args.params}")
    print(format_table(heads(srcs), rows))


def heads(srcs):
    h = ["case"]
    for k in range(len(srcs)):
        h += [f"[{k}] epoch MIr", f"[{k}] fit MIr"]
    if len(srcs) > 1:
        h += [f"epoch [{len(srcs) - 1}]/[0]", f"fit [{len(srcs) - 1}]/[0]"]
    print("sources: " + "; ".join(f"[{k}] {s}" for k, s in enumerate(srcs)))
    return h


if __name__ == "__main__":
    main()
