"""Test session set-up.

NUMBA_CACHE_DIR is keyed by a hash of the kernel sources, set before numba is
imported: numba's cache only notices edits to the file defining a function, so
an edited helper in a sibling kernel module would otherwise be served stale.
"""

import hashlib
import os
import pathlib
import subprocess
import sys

_ROOT = pathlib.Path(__file__).resolve().parents[1]


def _kernel_hash():
    h = hashlib.sha1()
    for path in sorted((_ROOT / "sknn").rglob("*.py")):
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


if "NUMBA_CACHE_DIR" not in os.environ:
    os.environ["NUMBA_CACHE_DIR"] = str(_ROOT / ".numba_cache" / _kernel_hash())
# Read the real California housing data through sklearn's own loader, offline.
_SHARED_DATA = _ROOT.parent / "shared" / "data"
if "SCIKIT_LEARN_DATA" not in os.environ and (_SHARED_DATA / "prime_sklearn_cache.py").exists():
    _home = _ROOT / ".sklearn_data"
    if not (_home / "cal_housing_py3.pkz").exists():
        subprocess.run(
            [sys.executable, str(_SHARED_DATA / "prime_sklearn_cache.py"), str(_home)],
            check=True,
            capture_output=True,
        )
    os.environ["SCIKIT_LEARN_DATA"] = str(_home)
os.environ.setdefault("SCIPY_ARRAY_API", "1")
