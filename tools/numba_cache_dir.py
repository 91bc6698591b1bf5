"""The numba cache directory for this checkout: ``.numba_cache/<hash of sknn's sources>``.

numba's disk cache only notices edits to the file *defining* a function, so an
edited helper in a sibling kernel module would otherwise be served stale; keying
the directory on every source file of the package avoids that.  This one
function is used by the Makefile (``python3 tools/numba_cache_dir.py``),
tests/conftest.py and the benchmarks, so they all share one compiled cache.
Standard library only: the Makefile runs it before any virtualenv exists.

    python3 tools/numba_cache_dir.py [SUFFIX]

prints the directory; a SUFFIX (e.g. ``min`` for the minimum-versions run, whose
older numba would otherwise overwrite the main run's entries) is appended as
``<hash>-<SUFFIX>``.
"""

import hashlib
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def numba_cache_dir(suffix=""):
    """``ROOT/.numba_cache/<sha1 of sknn/**/*.py, first 16 hex digits>[-suffix]``."""
    h = hashlib.sha1()
    for path in sorted((ROOT / "sknn").rglob("*.py")):
        h.update(path.relative_to(ROOT).as_posix().encode())
        h.update(path.read_bytes())
    key = h.hexdigest()[:16]
    return str(ROOT / ".numba_cache" / (f"{key}-{suffix}" if suffix else key))


if __name__ == "__main__":
    print(numba_cache_dir(*sys.argv[1:2]))
