"""``python -m sknn.warmup``: compile sknn's kernels into numba's cache (see ``sknn.warmup``).

``sknn.warmup`` is the function; importing this module explicitly
(``import sknn.warmup``) rebinds that name to the module, which therefore calls
the function too.
"""

import sys
import types

from ._warmup import main, warmup


class _CallableModule(types.ModuleType):
    def __call__(self, *args, **kwargs):
        return warmup(*args, **kwargs)


if __name__ == "__main__":
    main()
else:
    sys.modules[__name__].__class__ = _CallableModule
