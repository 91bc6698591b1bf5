# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The oldest supported dependencies (the floors in pyproject.toml), for `make test-min`
# (run by .ci/run after test-nojit).
MIN_VENV ?= .venv-min
MIN_VERSIONS := .ci/min-versions.txt
# Kernel-source-keyed numba cache, the same directory as tests/conftest.py and the
# benchmarks use (tools/numba_cache_dir.py says why).
NUMBA_CACHE_DIR ?= $(shell $(PYTHON) tools/numba_cache_dir.py)
export NUMBA_CACHE_DIR
# SciPy reads SCIPY_ARRAY_API once, at import, to switch on its array-API support,
# which scikit-learn's array_api_dispatch needs; set for every command here, as in
# tests/conftest.py (which says more).
export SCIPY_ARRAY_API := 1
# scikit-learn's private helpers we use are re-checked before raising this cap.
CONSTRAINTS := .ci/constraints.txt

.PHONY: demo test test-nojit test-min lint bench docs clean

$(VENV)/.installed-%: pyproject.toml $(CONSTRAINTS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c $(CONSTRAINTS) -e ".[$*]"
	touch $@

demo: $(VENV)/.installed-plot
	$(PY) examples/demo.py

test: $(VENV)/.installed-test
	$(PY) -m pytest -n 2 --dist loadgroup -q

# The kernels run as plain Python: a subset that exercises every kernel path.
test-nojit: $(VENV)/.installed-test
	NUMBA_DISABLE_JIT=1 $(PY) -m pytest -q -m nojit

# The suite once more on exactly the minimum versions, in a venv of its own (its older
# numba gets its own cache directory, or each run would overwrite the other's). The
# floors are there for API and compile compatibility, which every fast test exercises;
# the `slow` tests (real-data quality numbers, long trainings) prove nothing more on an
# older release and run in `make test` only.
$(MIN_VENV)/.installed: pyproject.toml $(MIN_VERSIONS)
	test -x $(MIN_VENV)/bin/python || $(PYTHON) -m venv $(MIN_VENV)
	$(MIN_VENV)/bin/python -m pip install -q --upgrade pip
	$(MIN_VENV)/bin/python -m pip install -q -c $(MIN_VERSIONS) -e ".[test]"
	touch $@

test-min: $(MIN_VENV)/.installed
	NUMBA_CACHE_DIR=$$($(PYTHON) tools/numba_cache_dir.py min) \
		$(MIN_VENV)/bin/python -m pytest -n 2 --dist loadgroup -q -m "not slow"

# Lint and import order (rules in pyproject.toml); `ruff check --fix` sorts imports.
lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .

bench: $(VENV)/.installed-test
	$(PY) benchmarks/bench_mlp.py
	$(PY) benchmarks/bench_threads.py --loaded

docs: $(VENV)/.installed-docs
	$(MAKE) -C docs html SPHINXBUILD=$(CURDIR)/$(VENV)/bin/sphinx-build \
		SPHINXOPTS="-W --keep-going"

clean:
	rm -rf $(VENV) $(MIN_VENV) .numba_cache .pytest_cache build *.egg-info docs/_build docs/auto_examples \
		docs/generated docs/sg_execution_times.rst
