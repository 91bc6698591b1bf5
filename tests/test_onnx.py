"""ONNX export: sknn's skl2onnx converters, run in onnxruntime."""

import warnings

import numpy as np
import onnxruntime as ort
import pytest
import skl2onnx
from sklearn.datasets import load_iris
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import sknn
import sknn.onnx
from sknn import MLPAutoencoder, MLPClassifier, MLPRegressor, Perceptron

# Short trainings on purpose: "maximum iterations reached" is expected here;
# tests about that warning use pytest.warns, which still sees it.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

RTOL, ATOL = 1e-5, 1e-6


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X).astype(np.float32)
    return X, y


def _run(onx, X):
    sess = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: X})


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: short fits on purpose
        return est.fit(X, y)


def test_public_api():
    assert "onnx" in sknn.__all__
    assert sknn.onnx.__all__ == ["register_converters", "to_onnx"]
    sknn.onnx.register_converters()  # idempotent


@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu", "leaky_relu",
                                        "softplus", "elu", "selu", "gelu"])
def test_classifier_multiclass_every_hidden_activation(iris, activation):
    X, y = iris
    clf = _fit(MLPClassifier((8, 5), activation=activation, max_iter=40, random_state=0), X, y)
    label, proba = _run(skl2onnx.to_onnx(clf, X[:1], options={"zipmap": False}), X)
    np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=RTOL, atol=ATOL)
    np.testing.assert_array_equal(label, clf.predict(X))


def test_classifier_binary_string_labels_and_zipmap(iris):
    X, y = iris
    yb = np.where(y == 2, "virginica", "other")
    clf = _fit(MLPClassifier((6,), max_iter=60, random_state=0), X, yb)
    label, proba = _run(skl2onnx.to_onnx(clf, X[:1], options={"zipmap": False}), X)
    np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=RTOL, atol=ATOL)
    np.testing.assert_array_equal(label, clf.predict(X))
    # default: ZipMap, one {class: probability} dict per row, as for sklearn's models
    label, dicts = _run(skl2onnx.to_onnx(clf, X[:1]), X)
    np.testing.assert_array_equal(label, clf.predict(X))
    expected = clf.predict_proba(X)
    assert set(dicts[0]) == {"other", "virginica"}
    got = np.array([[d[c] for c in clf.classes_] for d in dicts])
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)


def test_classifier_multilabel_wide_and_deep(iris):
    X, y = iris
    Y = np.column_stack([y == 0, y == 2, X[:, 0] > 0]).astype(int)
    clf = _fit(MLPClassifier((7,), max_iter=60, random_state=0, wide_features=[0, 3],
                             deep_features=[1, 2, 3]), X, Y)
    label, proba = _run(sknn.onnx.to_onnx(clf, X[:1]), X)
    np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=RTOL, atol=ATOL)
    np.testing.assert_array_equal(label, clf.predict(X))


@pytest.mark.parametrize("output_activation", ["identity", "relu", "softplus", "sigmoid",
                                               "tanh", "exp"])
def test_regressor_every_output_activation(iris, output_activation):
    X, y = iris
    target = (X[:, 0] - X[:, 0].min()) / np.ptp(X[:, 0])  # in [0, 1]: fits every range
    if output_activation == "exp":
        reg = MLPRegressor("poisson", (6,), max_iter=40, random_state=0)
    else:
        reg = MLPRegressor(hidden_layer_sizes=(6,), output_activation=output_activation,
                           max_iter=40, random_state=0)
    _fit(reg, X[:, 1:], target)
    assert reg.out_activation_ == output_activation
    (pred,) = _run(skl2onnx.to_onnx(reg, X[:1, 1:]), X[:, 1:])
    assert pred.shape == (len(X), 1)
    np.testing.assert_allclose(pred.ravel(), reg.predict(X[:, 1:]), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("wide, deep", [("all", None), ([0, 1], [2, 3]), (None, [1, 3])])
def test_regressor_wide_deep_multioutput(iris, wide, deep):
    X, _ = iris
    Y = np.column_stack([X[:, 0] * X[:, 1], X[:, 2] - X[:, 3]])
    reg = _fit(MLPRegressor(hidden_layer_sizes=(9, 4), activation="elu", max_iter=40,
                            random_state=0, wide_features=wide, deep_features=deep), X, Y)
    (pred,) = _run(sknn.onnx.to_onnx(reg, X[:1]), X)
    np.testing.assert_allclose(pred, reg.predict(X), rtol=RTOL, atol=ATOL)


def test_float64_input_computes_in_double(iris):
    X, y = iris
    X64 = X.astype(np.float64)
    reg = _fit(MLPRegressor(hidden_layer_sizes=(5,), max_iter=30, random_state=0), X64, y)
    onx = skl2onnx.to_onnx(reg, X64[:1])
    (pred,) = _run(onx, X64)
    assert pred.dtype == np.float64
    np.testing.assert_allclose(pred.ravel(), reg.predict(X64), rtol=1e-12)


def test_inside_a_pipeline(iris):
    X, y = iris
    pipe = _fit(make_pipeline(StandardScaler(), MLPClassifier((5,), max_iter=50, random_state=0)),
                X, y)
    label, proba = _run(skl2onnx.to_onnx(pipe, X[:1], options={"zipmap": False}), X)
    np.testing.assert_allclose(proba, pipe.predict_proba(X), rtol=RTOL, atol=1e-5)
    np.testing.assert_array_equal(label, pipe.predict(X))


@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel"])
def test_perceptron(iris, kind):
    X, y = iris
    if kind == "binary":
        target = y == 1  # bool labels
    elif kind == "multiclass":
        target = y
    else:
        target = np.column_stack([y == 0, y == 2]).astype(int)
    pc = _fit(Perceptron(random_state=0, max_iter=20), X, target)
    label, scores = _run(skl2onnx.to_onnx(pc, X[:1]), X)
    decision = pc.decision_function(X)
    np.testing.assert_allclose(scores, decision.reshape(len(X), -1), rtol=RTOL, atol=1e-5)
    np.testing.assert_array_equal(label, pc.predict(X))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation,code_activation,params", [
    ("relu", "identity", {}),
    ("tanh", "logistic", {}),
    ("relu", "identity", dict(batch_normalization=True, dropout=0.2)),
], ids=["relu", "tanh-logistic", "bn-dropout"])
def test_autoencoder_exports_the_encoder(iris, activation, code_activation, params, dtype):
    # the graph computes transform (the codes), also inside a pipeline; batch
    # normalization folded into the encoder's layers, dropout absent
    X = iris[0].astype(dtype)
    ae = _fit(MLPAutoencoder(n_components=2, hidden_layer_sizes=(8, 5), activation=activation,
                             code_activation=code_activation, max_iter=30, random_state=0,
                             **params),
              X, None)
    (codes,) = _run(sknn.onnx.to_onnx(ae, X[:1]), X)
    assert codes.dtype == dtype and codes.shape == (len(X), 2)
    np.testing.assert_allclose(codes, ae.transform(X), rtol=RTOL, atol=ATOL)
    pipe = _fit(make_pipeline(StandardScaler(), ae), X, None)
    (codes,) = _run(sknn.onnx.to_onnx(pipe, X[:1]), X)
    np.testing.assert_allclose(codes, pipe.transform(X), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("params", [
    dict(batch_normalization=True),
    dict(batch_normalization=True, dropout=[0.3, 0.1], wide_features=[0, 2],
         auxiliary_loss_weight=0.2),
    dict(dropout=0.3, deep_features=[1, 2, 3]),
], ids=["bn", "bn-dropout-wide-aux", "dropout"])
def test_layers_batch_norm_folded_dropout_absent(iris, params):
    # batch normalization is folded into the preceding Dense layer (moving
    # statistics), dropout has no node, the auxiliary output is not exported
    X, y = iris
    reg = _fit(MLPRegressor(hidden_layer_sizes=(8, 6), max_iter=30, random_state=0, **params),
               X, y.astype(np.float32))
    onx = skl2onnx.to_onnx(reg, X[:1])
    ops = {node.op_type for node in onx.graph.node}
    assert not ops & {"Dropout", "BatchNormalization", "RandomUniform", "RandomUniformLike"}
    (out,) = _run(onx, X)
    np.testing.assert_allclose(out.ravel(), reg.predict(X), rtol=RTOL, atol=ATOL)
    clf = _fit(MLPClassifier((8, 6), max_iter=30, random_state=0,
                             **{k: v for k, v in params.items() if k != "auxiliary_loss_weight"}),
               X, y)
    label, proba = _run(skl2onnx.to_onnx(clf, X[:1], options={"zipmap": False}), X)
    np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=RTOL, atol=ATOL)
    np.testing.assert_array_equal(label, clf.predict(X))
