"""sknn.warmup: compiles the common kernels into numba's cache ahead of the first fit."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import sknn

# A fresh process's first fit: counts numba's compile events (not timing).
_FIRST_FIT = r"""
import json, warnings
import numpy as np
import scipy.sparse as sp
from numba.core import event
compiled = []

class Listener(event.Listener):
    def on_start(self, ev):
        compiled.append(ev.data["dispatcher"].py_func.__qualname__)
    def on_end(self, ev):
        pass

event.register("numba:compile", Listener())
from sknn import MLPClassifier
rng = np.random.RandomState(1)
X = rng.normal(size=(60, 7))
y = rng.randint(3, size=60)
warnings.simplefilter("ignore")
MLPClassifier(max_iter=3, random_state=0).fit(X, y).predict_proba(X)
MLPClassifier(max_iter=3, random_state=0).fit(sp.csr_matrix(X), y).predict_proba(X)
print("COMPILED " + json.dumps(compiled))
compiled.clear()
MLPClassifier((8, 5), batch_normalization=True, dropout=0.2, max_iter=3).fit(
    sp.csr_matrix(X), y).predict_proba(X)
print("STAGES " + json.dumps(compiled))
"""

#: Kernels of the per-layer stages, compiled only for a fit using them.
_STAGE_KERNELS = {"batch_norm_train", "batch_norm_backward", "batch_norm_moving_update",
                  "dropout_forward", "dropout_backward", "scale_delta"}


def _run(args, cache):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
    out = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True,
                         check=False)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_warmup_makes_a_fresh_process_first_fit_load_everything(tmp_path):
    cache = tmp_path / "numba"
    out = _run(["-m", "sknn.warmup", "--dtypes", "float64", "--solvers", "adam",
                "--tasks", "multiclass", "--n-jobs", "2"], cache)
    path = out.strip().splitlines()[-1]
    assert path.startswith(str(cache)) and os.listdir(path)
    lines = _run(["-c", _FIRST_FIT], cache).strip().splitlines()
    assert lines[-2].startswith("COMPILED ")
    assert json.loads(lines[-2][len("COMPILED "):]) == []
    # dropout and batch normalization are compiled in, at their first fit only
    assert {"batch_norm_train", "dropout_forward"} <= set(json.loads(lines[-1][len("STAGES "):]))


def test_a_plain_fit_compiles_no_stage_kernels(tmp_path):
    """Dropout, batch normalization and the auxiliary output are compile-time
    stages (``Layers.stages``): a plain fit compiles none of their code."""
    lines = _run(["-c", _FIRST_FIT], tmp_path / "numba").strip().splitlines()
    plain = set(json.loads(lines[-2][len("COMPILED "):]))
    stages = set(json.loads(lines[-1][len("STAGES "):]))
    assert {"train_epoch_py", "forward_pass"} <= plain
    assert not plain & _STAGE_KERNELS
    assert {"batch_norm_train", "batch_norm_backward", "dropout_forward",
            "dropout_backward"} <= stages


@pytest.mark.nojit
@pytest.mark.parametrize("kwargs, name", [
    ({"dtypes": ["float16"]}, "dtypes"),
    ({"dtypes": []}, "dtypes"),
    ({"solvers": ["newton"]}, "solvers"),
    ({"tasks": ["ranking"]}, "tasks"),
    ({"n_jobs": 0}, "n_jobs"),
])
def test_warmup_rejects_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        sknn.warmup(**kwargs)


@pytest.mark.nojit
def test_warmup_is_public_and_the_module_calls_it():
    import sknn.warmup as module

    assert "warmup" in sknn.__all__
    assert callable(module)
    assert sknn._warmup.variants(["float32"], ["adam"], ["binary", "perceptron"]) == [
        ("binary", "float32", "adam"), ("perceptron", "float32", None)]
    assert np.dtype("float64").name in sknn._warmup.DTYPES
