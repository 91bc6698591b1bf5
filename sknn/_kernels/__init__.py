"""Numba kernels: plain arrays and int codes in, no estimator objects.

One module per concept: ``activations``, ``losses``, ``network`` (forward/backward
over the flat parameter buffer), ``sparse`` (CSR products), ``optimizers``,
``epoch`` (one jitted call per training epoch), ``perceptron``, and ``records``
(the named records the epoch kernels take; ``sknn/_contract.py`` builds them).

Numba's disk cache is keyed on the file defining each function, so an edit to a
helper here does not invalidate cached callers in a sibling module.  Installed
packages are replaced whole (all files change), and the test suite and benchmarks
point ``NUMBA_CACHE_DIR`` at a directory keyed by a hash of this package's sources.
"""
