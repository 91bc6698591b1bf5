"""sknn: scikit-learn compatible neural networks on Numba kernels.

Change ``from sklearn.neural_network import MLPClassifier`` to
``from sknn import MLPClassifier``; everything else stays the same.
"""

from . import callbacks, model_selection
from ._autoencoder import MLPAutoencoder
from ._display import HistoryDisplay
from ._exceptions import DivergenceError
from ._lr_find import lr_find
from ._mlp import MLPClassifier, MLPRegressor
from ._perceptron import Perceptron
from ._persistence import InconsistentVersionWarning

__version__ = "0.1.0"

__all__ = [
    "DivergenceError",
    "HistoryDisplay",
    "InconsistentVersionWarning",
    "MLPAutoencoder",
    "MLPClassifier",
    "MLPRegressor",
    "Perceptron",
    "callbacks",
    "lr_find",
    "model_selection",
    "onnx",
]


def __getattr__(name):
    # sknn.onnx imports skl2onnx (optional, slow): load it on first use only
    if name == "onnx":
        import importlib

        return importlib.import_module(".onnx", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
