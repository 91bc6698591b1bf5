"""ONNX export of sknn estimators (needs the ``onnx`` extra: skl2onnx, onnx).

Importing this module registers sknn's converters with skl2onnx, after which
``skl2onnx.to_onnx`` (and ``convert_sklearn``) handle sknn estimators, alone or
inside pipelines::

    import sknn.onnx
    onx = sknn.onnx.to_onnx(model, X[:1].astype(np.float32))   # or skl2onnx.to_onnx

The graphs compute in the input's floating type (float32 or float64).
MLPClassifier exports ``label`` and ``probabilities`` (binary, multiclass and
multilabel; pass ``options={"zipmap": False}`` for a plain probability matrix),
MLPRegressor exports ``variable`` (every output activation, wide & deep and
``deep_features`` included) and Perceptron exports ``label`` and ``scores``
(its decision function).
"""

__all__ = ["register_converters", "to_onnx"]


def register_converters():
    """Register sknn's skl2onnx converters (idempotent; importing sknn.onnx does it).

    Raises
    ------
    ImportError
        If skl2onnx is not installed (``pip install sknn[onnx]``).
    """
    try:
        import skl2onnx  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "ONNX export needs skl2onnx and onnx: pip install 'sknn[onnx]'"
        ) from exc
    from ._onnx import register_converters as _register

    _register()


def to_onnx(estimator, X=None, **kwargs):
    """Convert a fitted sknn estimator (or a pipeline holding one) to ONNX.

    Parameters
    ----------
    estimator : estimator or Pipeline
        The fitted model.
    X : ndarray, default=None
        A sample of the input (e.g. ``X[:1].astype(np.float32)``); its dtype
        sets the graph's input and computation type.
    **kwargs
        Passed on to :func:`skl2onnx.to_onnx` (``options``, ``target_opset``,
        ``initial_types``...).

    Returns
    -------
    onx : onnx.ModelProto
        The ONNX model.
    """
    register_converters()
    from skl2onnx import to_onnx as _to_onnx

    return _to_onnx(estimator, X, **kwargs)


try:  # registration on import when skl2onnx is there; to_onnx() reports if not
    register_converters()
except ImportError:
    pass
