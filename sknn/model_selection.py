"""Search spaces for scikit-learn's model selection tools.

:class:`LayerSizes` samples ``hidden_layer_sizes`` (depth and width) for
:class:`~sklearn.model_selection.RandomizedSearchCV` and
:class:`~sklearn.model_selection.HalvingRandomSearchCV`, which call the
``rvs(random_state=...)`` method of every distribution they are given.
"""

import numbers

import numpy as np
from sklearn.utils import check_random_state

__all__ = ["LayerSizes"]


def _draw_int(spec, name, rng):
    """One positive int from an int, a list of ints or a distribution with ``rvs``."""
    if hasattr(spec, "rvs"):
        value = spec.rvs(random_state=rng)
    elif isinstance(spec, numbers.Integral):
        value = spec
    else:
        value = spec[rng.randint(len(spec))]
    value = np.asarray(value).item()
    if not np.isfinite(value):
        raise ValueError(f"{name} drew {value!r}; it must draw finite numbers.")
    value = int(round(value))  # continuous distributions (loguniform) round to units
    if value < 1:
        raise ValueError(f"{name} drew {value}; it must draw numbers >= 1.")
    return value


def _check_spec(spec, name):
    if hasattr(spec, "rvs"):
        return spec
    if isinstance(spec, numbers.Integral) and not isinstance(spec, bool):
        if spec < 1:
            raise ValueError(f"{name} must be >= 1, got {spec!r}.")
        return spec
    if isinstance(spec, (list, tuple)) and spec and all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1 for v in spec
    ):
        return list(spec)
    raise TypeError(
        f"{name} must be a positive int, a non-empty list of positive ints or a "
        f"distribution with an rvs method (scipy.stats), got {spec!r}."
    )


class LayerSizes:
    """A distribution of ``hidden_layer_sizes``: a depth and the layers' widths.

    Every draw picks a number of hidden layers from ``n_hidden`` and a width
    from ``n_neurons`` (one for all layers, as Keras Tuner's usual
    ``n_hidden``/``n_neurons`` search space, or one per layer), and returns
    the tuple of widths. Give it to
    :class:`~sklearn.model_selection.RandomizedSearchCV` or
    :class:`~sklearn.model_selection.HalvingRandomSearchCV` as the
    distribution of ``hidden_layer_sizes``.

    Parameters
    ----------
    n_hidden : tuple (low, high), int, list of int or distribution, default=(1, 4)
        Number of hidden layers: a tuple ``(low, high)`` draws uniformly from
        ``low`` to ``high`` inclusive; an int is fixed; a list is chosen from
        uniformly; an object with an ``rvs`` method (a :mod:`scipy.stats`
        distribution) is sampled.
    n_neurons : int, list of int, distribution or None, default=None
        Width of a hidden layer: an int is fixed, a list is chosen from, a
        distribution is sampled and rounded to the nearest int (so
        :func:`scipy.stats.loguniform` gives log-uniform widths). None means
        ``scipy.stats.loguniform(16, 512)``.
    per_layer : bool, default=False
        Draw a width for every layer instead of one for all.

    Examples
    --------
    >>> from scipy.stats import loguniform
    >>> from sknn.model_selection import LayerSizes
    >>> sizes = LayerSizes(n_hidden=(1, 3), n_neurons=loguniform(16, 256))
    >>> sizes.rvs(random_state=0)
    (83,)
    >>> sizes.rvs(size=2, random_state=1)
    [(254, 254), (16,)]

    In a search:

    >>> from sklearn.model_selection import RandomizedSearchCV
    >>> from sknn import MLPClassifier
    >>> search = RandomizedSearchCV(MLPClassifier(), {"hidden_layer_sizes": sizes},
    ...                             n_iter=10, random_state=0)
    """

    def __init__(self, n_hidden=(1, 4), n_neurons=None, *, per_layer=False):
        self.n_hidden = n_hidden
        self.n_neurons = n_neurons
        self.per_layer = per_layer

    def _specs(self):
        n_hidden = self.n_hidden
        if isinstance(n_hidden, tuple):
            if (len(n_hidden) != 2
                    or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                               for v in n_hidden)
                    or not 1 <= n_hidden[0] <= n_hidden[1]):
                raise ValueError(
                    "n_hidden as a tuple must be (low, high) with ints 1 <= low <= high, "
                    f"got {n_hidden!r}."
                )
            n_hidden = list(range(n_hidden[0], n_hidden[1] + 1))
        n_hidden = _check_spec(n_hidden, "n_hidden")
        n_neurons = self.n_neurons
        if n_neurons is None:
            from scipy.stats import loguniform

            n_neurons = loguniform(16, 512)
        return n_hidden, _check_spec(n_neurons, "n_neurons")

    def rvs(self, size=None, random_state=None):
        """Draw ``hidden_layer_sizes``.

        Parameters
        ----------
        size : int or None, default=None
            None draws one tuple; an int draws a list of that many.
        random_state : int, RandomState instance or None, default=None
            Seed or generator; the same seed gives the same draws.

        Returns
        -------
        sizes : tuple of int or list of tuple of int
            One width per hidden layer.
        """
        n_hidden, n_neurons = self._specs()
        rng = check_random_state(random_state)
        if size is None:
            return self._draw(n_hidden, n_neurons, rng)
        if not isinstance(size, numbers.Integral) or isinstance(size, bool) or size < 0:
            raise ValueError(f"size must be None or a non-negative int, got {size!r}.")
        return [self._draw(n_hidden, n_neurons, rng) for _ in range(size)]

    def _draw(self, n_hidden, n_neurons, rng):
        depth = _draw_int(n_hidden, "n_hidden", rng)
        if self.per_layer:
            return tuple(_draw_int(n_neurons, "n_neurons", rng) for _ in range(depth))
        return (_draw_int(n_neurons, "n_neurons", rng),) * depth

    def __repr__(self):
        return (f"LayerSizes(n_hidden={self.n_hidden!r}, n_neurons={_describe(self.n_neurons)}"
                f"{', per_layer=True' if self.per_layer else ''})")


def _describe(spec):
    """``loguniform(16, 512)`` for a frozen scipy distribution, repr otherwise."""
    dist = getattr(spec, "dist", None)
    if dist is not None and hasattr(spec, "args"):
        args = ", ".join(repr(a) for a in spec.args)
        kwds = ", ".join(f"{k}={v!r}" for k, v in getattr(spec, "kwds", {}).items())
        return f"{dist.name}({', '.join(p for p in (args, kwds) if p)})"
    if spec is None:
        return "loguniform(16, 512)"
    return repr(spec)
