"""Weight initialisation: the ``weight_init`` schemes' spreads, and the default
equal to scikit-learn's initial weights."""


import numpy as np
import pytest
from _helpers import scaled_diabetes
from sklearn import neural_network as sk

from sknn import MLPClassifier, MLPRegressor

# Short trainings on purpose: "maximum iterations reached" is expected here;
# tests about that warning use pytest.warns, which still sees it.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.mark.parametrize("scheme, std", [
    ("glorot_normal", lambda fi, fo: np.sqrt(2 / (fi + fo))),
    ("he_normal", lambda fi, fo: np.sqrt(2 / fi)),
    ("lecun_normal", lambda fi, fo: np.sqrt(1 / fi)),
    ("he_uniform", lambda fi, fo: np.sqrt(2 / fi)),
])
def test_weight_init_schemes(scheme, std):
    X = np.random.RandomState(0).randn(50, 400)
    y = np.r_[np.zeros(25), np.ones(25)]
    clf = MLPClassifier(hidden_layer_sizes=(300,), weight_init=scheme, max_iter=1, random_state=0,
                        learning_rate_init=1e-12)
    clf.fit(X, y)
    W = clf.coefs_[0]
    assert W.std() == pytest.approx(std(*W.shape), rel=0.03)
    assert np.all(clf.intercepts_[0] == 0) or np.abs(clf.intercepts_[0]).max() < 1e-9
    if scheme.endswith("normal"):
        assert np.abs(W).max() <= 2 * std(*W.shape) / 0.87962566103423978 + 1e-12


def test_default_init_is_sklearns():
    X, y = scaled_diabetes()
    kw = dict(hidden_layer_sizes=(7,), max_iter=1, random_state=5, learning_rate_init=1e-12,
              activation="logistic")
    ours, theirs = MLPRegressor(**kw).fit(X, y), sk.MLPRegressor(**kw).fit(X, y)
    for a, b in zip(ours.coefs_, theirs.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-9)
