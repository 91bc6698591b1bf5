# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Kernel-source-keyed numba cache (see tests/conftest.py for why).
NUMBA_CACHE_DIR ?= $(CURDIR)/.numba_cache/$(shell cat sknn/*.py sknn/*/*.py | sha1sum | cut -c1-16)
export NUMBA_CACHE_DIR
export SCIPY_ARRAY_API := 1
# scikit-learn's private helpers we use are re-checked before raising this cap.
CONSTRAINTS := .ci/constraints.txt

.PHONY: demo test test-nojit bench docs clean

$(VENV)/.installed-%: setup.cfg pyproject.toml $(CONSTRAINTS)
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

bench: $(VENV)/.installed-test
	$(PY) benchmarks/bench_mlp.py

docs: $(VENV)/.installed-docs
	$(MAKE) -C docs html SPHINXBUILD=$(CURDIR)/$(VENV)/bin/sphinx-build \
		SPHINXOPTS="-W --keep-going"

clean:
	rm -rf $(VENV) .numba_cache .pytest_cache build *.egg-info docs/_build docs/auto_examples \
		docs/generated docs/sg_execution_times.rst
