"""sknn: scikit-learn compatible neural networks on Numba kernels.

Change ``from sklearn.neural_network import MLPClassifier`` to
``from sknn import MLPClassifier``; everything else stays the same.
"""

from ._mlp import MLPClassifier, MLPRegressor

__version__ = "0.1.0"

__all__ = ["MLPClassifier", "MLPRegressor"]
