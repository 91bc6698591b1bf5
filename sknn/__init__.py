"""sknn: scikit-learn compatible neural networks on Numba kernels.

Change ``from sklearn.neural_network import MLPClassifier`` to
``from sknn import MLPClassifier``; everything else stays the same.
"""

from . import callbacks
from ._display import HistoryDisplay
from ._lr_find import lr_find
from ._mlp import MLPClassifier, MLPRegressor
from ._perceptron import Perceptron

__version__ = "0.1.0"

__all__ = ["HistoryDisplay", "MLPClassifier", "MLPRegressor", "Perceptron", "callbacks", "lr_find"]
