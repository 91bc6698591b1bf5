"""Helpers shared by sknn's test modules (imported as ``_helpers``: pytest puts
``tests/`` on ``sys.path``)."""

import os
import subprocess
import sys
import textwrap

import numpy as np

__all__ = ["central_differences", "rel_err", "run_script"]


def central_differences(f, x, h=1e-6):
    """The gradient of the scalar ``f`` at the array ``x`` by central differences
    (one pair of evaluations per element; ``x`` itself is not changed)."""
    fd = np.empty_like(x)
    for idx in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += h
        xm[idx] -= h
        fd[idx] = (f(xp) - f(xm)) / (2 * h)
    return fd


def rel_err(a, b):
    """Largest absolute difference of ``a`` and ``b`` relative to ``b``'s largest entry."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300)


def run_script(script, *args, timeout=600):
    """Run ``script`` in a fresh interpreter; a crash (signal, abort) fails the test."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        capture_output=True, text=True, timeout=timeout, env=dict(os.environ),
    )
    assert proc.returncode == 0, (
        f"subprocess died with return code {proc.returncode} (negative: killed by that "
        f"signal)\nlast output:\n{proc.stdout[-2000:]}\nstderr:\n{proc.stderr[-3000:]}"
    )
    return proc.stdout
