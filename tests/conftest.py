"""Test session set-up.

NUMBA_CACHE_DIR is keyed by a hash of the kernel sources, set before numba is
imported: numba's cache only notices edits to the file defining a function, so
an edited helper in a sibling kernel module would otherwise be served stale.
tools/numba_cache_dir.py computes the key, for the Makefile and the benchmarks too.
"""

import importlib.util
import os
import pathlib
import subprocess
import sys

import pytest

_ROOT = pathlib.Path(__file__).resolve().parents[1]


def _numba_cache_dir():
    spec = importlib.util.spec_from_file_location(
        "_sknn_numba_cache_dir", _ROOT / "tools" / "numba_cache_dir.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.numba_cache_dir()


if "NUMBA_CACHE_DIR" not in os.environ:
    os.environ["NUMBA_CACHE_DIR"] = _numba_cache_dir()
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
# SciPy reads SCIPY_ARRAY_API once, when first imported, to switch on its array-API
# support; scikit-learn needs it for array_api_dispatch and its estimator checks.
# sknn's estimators are NumPy-only (no array_api_support tag, so those checks are
# not generated), but the suite runs under the same set-up as scikit-learn's own CI.
os.environ.setdefault("SCIPY_ARRAY_API", "1")


@pytest.fixture(scope="session")
def housing():
    """California housing split as in the seed's recipe: train_test_split(random_state=42)
    twice, ``(X_train, X_valid, X_test, y_train, y_valid, y_test)``."""
    from sklearn.datasets import fetch_california_housing
    from sklearn.model_selection import train_test_split

    data = fetch_california_housing()
    X_full, X_test, y_full, y_test = train_test_split(data.data, data.target, random_state=42)
    X_train, X_valid, y_train, y_valid = train_test_split(X_full, y_full, random_state=42)
    return X_train, X_valid, X_test, y_train, y_valid, y_test


def pytest_collection_modifyitems(config, items):
    """Skip tests marked ``sklearn_min("X.Y")`` on an older scikit-learn, naming
    the version: the minimum-versions run (``make test-min``) has such a release."""
    import sklearn

    installed = tuple(int(p) for p in sklearn.__version__.split(".")[:2])
    for item in items:
        for mark in item.iter_markers("sklearn_min"):
            needed = mark.args[0]
            if installed < tuple(int(p) for p in needed.split(".")):
                item.add_marker(pytest.mark.skip(
                    reason=f"needs scikit-learn >= {needed} (installed {sklearn.__version__})"
                ))
