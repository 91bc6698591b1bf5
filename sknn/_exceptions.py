"""sknn's own exception types."""


class DivergenceError(ValueError):
    """Training diverged: the loss or the weights became non-finite.

    Raised by ``fit`` and ``partial_fit`` (the estimator is left as it was before
    the call) and caught by :func:`sknn.lr_find`, which ends its range test there.
    A subclass of :class:`ValueError`, which scikit-learn raises in that case.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn import DivergenceError, MLPRegressor
    >>> X = np.array([[0.0], [1.0], [2.0]]) * 1e200
    >>> try:
    ...     MLPRegressor(max_iter=5, random_state=0).fit(X, [0.0, 1.0, 2.0])
    ... except DivergenceError as exc:
    ...     print("diverged")
    diverged
    """
