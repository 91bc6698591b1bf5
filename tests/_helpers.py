"""Helpers shared by sknn's test modules (imported as ``_helpers``: pytest puts
``tests/`` on ``sys.path``)."""

import os
import subprocess
import sys
import textwrap

__all__ = ["run_script"]


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
