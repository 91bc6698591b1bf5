"""Where a cold first fit's time goes: numba compile events per kernel (scratch tool).

    NUMBA_CACHE_DIR=$(mktemp -d) python benchmarks/_compile_profile.py [STEPS...]

Runs the fit steps in order in this process and prints, per step, wall and CPU
time; then per dispatcher: number of compiled signatures, self time by category
(type inference, lowering, LLVM, other) excluding nested compiles.
"""

import json
import resource
import sys
import time
from collections import defaultdict

T0 = time.perf_counter()


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


C0 = cpu()


class Profiler:
    def __init__(self):
        from numba.core import event

        self.event = event
        self.stack = []  # [kind, name, start, child_time]
        self.self_time = defaultdict(float)  # (dispatcher, category) -> s
        self.compiles = defaultdict(int)
        outer = self

        class L(event.Listener):
            def __init__(self, kind):
                self.kind = kind

            def on_start(self, ev):
                outer.start(self.kind, ev)

            def on_end(self, ev):
                outer.end(self.kind, ev)

        for kind in ("numba:compile", "numba:run_pass", "numba:llvm_lock"):
            event.register(kind, L(kind))

    def owner(self):
        for fr in reversed(self.stack):
            if fr[0] == "numba:compile":
                return fr[1]
        return "<none>"

    def start(self, kind, ev):
        if kind == "numba:compile":
            d = ev.data["dispatcher"]
            name = f"{d.py_func.__module__.rsplit('.', 1)[-1]}.{d.py_func.__name__}"
            self.compiles[name] += 1
        elif kind == "numba:run_pass":
            name = ev.data["name"]
        else:
            name = "llvm"
        self.stack.append([kind, name, time.process_time(), 0.0])

    def end(self, kind, ev):
        fr = self.stack.pop()
        dur = time.process_time() - fr[2]
        self_t = dur - fr[3]
        if self.stack:
            self.stack[-1][3] += dur
        if fr[0] == "numba:compile":
            owner, cat = fr[1], "other"
        else:
            owner = self.owner()
            cat = fr[1]
        self.self_time[(owner, cat)] += self_t


CAT = {
    "NopythonTypeInference": "typing",
    "NativeLowering": "lowering",
    "llvm": "llvm",
    "NoPythonBackend": "backend",
}


def steps():
    import warnings

    import numpy as np
    import scipy.sparse as sp

    warnings.simplefilter("ignore")
    from sknn import MLPClassifier, MLPRegressor, Perceptron

    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 20))
    y = rng.randint(3, size=300)
    yr = X[:, 0] + rng.normal(size=300)
    kw = dict(max_iter=5, random_state=0)
    return {
        "clf fit": lambda: MLPClassifier(**kw).fit(X, y),
        "clf predict_proba": lambda: MLPClassifier(**kw).fit(X, y).predict_proba(X),
        "reg fit+predict": lambda: MLPRegressor(**kw).fit(X, yr).predict(X),
        "lbfgs": lambda: MLPClassifier(solver="lbfgs", **kw).fit(X, y).predict_proba(X),
        "float32": lambda: MLPClassifier(**kw).fit(X.astype(np.float32), y).predict_proba(
            X.astype(np.float32)),
        "perceptron": lambda: Perceptron(max_iter=5, random_state=0).fit(X, y).predict(X),
        "dropout": lambda: MLPClassifier(dropout=0.2, **kw).fit(X, y).predict_proba(X),
        "batchnorm": lambda: MLPClassifier(batch_normalization=True, **kw).fit(X, y)
        .predict_proba(X),
        "wide": lambda: MLPRegressor(wide_features="all", **kw).fit(X, yr).predict(X),
        "sparse": lambda: MLPClassifier(**kw).fit(sp.csr_matrix(X), y).predict_proba(
            sp.csr_matrix(X)),
        "all": lambda: MLPClassifier(dropout=0.2, batch_normalization=True,
                                     wide_features=[0, 1], **kw).fit(
            sp.csr_matrix(X), y).predict_proba(sp.csr_matrix(X)),
        "sgd": lambda: MLPClassifier(solver="sgd", **kw).fit(X, y).predict_proba(X),
        "tanh": lambda: MLPClassifier(activation="tanh", **kw).fit(X, y).predict_proba(X),
    }


def main(names):
    t = time.perf_counter()
    c = cpu()
    import sknn  # noqa: F401

    rows = [("import", time.perf_counter() - t, cpu() - c)]
    prof = Profiler()
    todo = steps()
    names = names or list(todo)
    for name in names:
        before = dict(prof.self_time)
        t, c = time.perf_counter(), cpu()
        todo[name]()
        rows.append((name, time.perf_counter() - t, cpu() - c,
                     sum(v for k, v in prof.self_time.items()) - sum(before.values())))
    print(f"{'step':22s} {'wall':>7s} {'cpu':>7s} {'in numba':>8s}")
    for r in rows:
        print(f"{r[0]:22s} {r[1]:7.2f} {r[2]:7.2f} " + (f"{r[3]:8.2f}" if len(r) > 3 else ""))
    print(f"total wall {time.perf_counter() - T0:.2f}  cpu {cpu() - C0:.2f}")
    per = defaultdict(lambda: defaultdict(float))
    for (owner, cat), v in prof.self_time.items():
        per[owner][CAT.get(cat, "other")] += v
    cats = ["typing", "lowering", "llvm", "backend", "other"]
    print(f"{'dispatcher':34s} {'n':>3s} " + " ".join(f"{c:>8s}" for c in cats) + "    total")
    tot = defaultdict(float)
    for owner, d in sorted(per.items(), key=lambda kv: -sum(kv[1].values())):
        print(f"{owner:34s} {prof.compiles.get(owner, 0):3d} "
              + " ".join(f"{d[c]:8.2f}" for c in cats) + f" {sum(d.values()):8.2f}")
        for c in cats:
            tot[c] += d[c]
    print(f"{'TOTAL':34s} {sum(prof.compiles.values()):3d} "
          + " ".join(f"{tot[c]:8.2f}" for c in cats) + f" {sum(tot.values()):8.2f}")
    bycat = defaultdict(float)
    for (_owner, cat), v in prof.self_time.items():
        bycat[cat] += v
    print("by pass: " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(bycat.items(),
                                                                   key=lambda kv: -kv[1])[:12]))
    bypass = defaultdict(float)
    for (_owner, cat), v in prof.self_time.items():
        bypass[cat.split(" [")[0]] += v
    print("by pass name: " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(
        bypass.items(), key=lambda kv: -kv[1])[:25]))
    print("JSON " + json.dumps({"rows": rows, "compiles": prof.compiles}))


if __name__ == "__main__":
    main(sys.argv[1:])
