"""skl2onnx converters for sknn's estimators (the ``onnx`` extra).

Registered by :func:`sknn.onnx.register_converters` (run when :mod:`sknn.onnx`
is imported).  Graphs use standard ONNX operators only (MatMul, Add, Gather,
Concat, activations, ArgMax) plus ``ai.onnx.ml`` ZipMap for the optional
dictionary output, so any ONNX runtime runs them.  The computation type follows
the input: float32 input computes in float32, float64 input in float64.

Outputs
-------
MLPClassifier
    ``label`` (int64 or string; for multilabel targets an int64 indicator
    matrix) and ``probabilities`` (``predict_proba``; a ZipMap of dicts unless
    ``options={"zipmap": False}``; multilabel models never use ZipMap).
MLPRegressor
    ``variable`` of shape ``(N, n_outputs)``.
MLPAutoencoder
    ``variable`` of shape ``(N, n_components)``: ``transform``, the encoder.
Perceptron
    ``label`` and ``scores`` (``decision_function`` as ``(N, n_units)``).
"""

import numpy as np

from ._kernels.activations import LEAKY_SLOPE, SELU_ALPHA, SELU_SCALE

_DONE = False


def _proto_and_dtype(operator):
    from skl2onnx.common.data_types import guess_proto_type
    from skl2onnx.proto import onnx_proto

    proto = guess_proto_type(operator.inputs[0].type)
    if proto == onnx_proto.TensorProto.DOUBLE:
        return proto, np.float64
    return onnx_proto.TensorProto.FLOAT, np.float32


class _Graph:
    """Small helper around skl2onnx's scope/container: unique names, constants."""

    def __init__(self, scope, container, proto, dtype):
        self.scope, self.container, self.proto, self.dtype = scope, container, proto, dtype

    def name(self, hint):
        return self.scope.get_unique_variable_name(hint)

    def const(self, hint, value, dtype=None, proto=None):
        from skl2onnx.proto import onnx_proto

        value = np.asarray(value, dtype=dtype or self.dtype)
        if proto is None:
            proto = self.proto if dtype is None else {
                np.int64: onnx_proto.TensorProto.INT64,
            }[dtype]
        name = self.name(hint)
        self.container.add_initializer(name, proto, list(value.shape), value.ravel().tolist())
        return name

    def node(self, op_type, inputs, output=None, op_domain="", **attrs):
        output = output or self.name(op_type.lower())
        kwargs = {"op_domain": op_domain} if op_domain else {}
        if op_domain:
            kwargs["op_version"] = 1
        self.container.add_node(
            op_type, list(inputs), [output], name=self.scope.get_unique_operator_name(op_type),
            **kwargs, **attrs,
        )
        return output

    def cast_input(self, name):
        return self.node("Cast", [name], to=self.proto)

    def columns(self, x, idx):
        return self.node("Gather", [x, self.const("columns", idx, dtype=np.int64)], axis=1)

    def activation(self, x, kind):
        if kind == "identity":
            return x
        simple = {"relu": "Relu", "logistic": "Sigmoid", "sigmoid": "Sigmoid", "tanh": "Tanh",
                  "exp": "Exp", "softplus": "Softplus"}
        if kind in simple:
            return self.node(simple[kind], [x])
        if kind == "softmax":
            return self.node("Softmax", [x], axis=1)
        if kind == "leaky_relu":
            return self.node("LeakyRelu", [x], alpha=float(LEAKY_SLOPE))
        if kind == "elu":
            return self.node("Elu", [x], alpha=1.0)
        if kind == "selu":
            return self.node("Selu", [x], alpha=float(SELU_ALPHA), gamma=float(SELU_SCALE))
        if kind == "gelu":  # exact form: 0.5 x (1 + erf(x / sqrt 2))
            scaled = self.node("Mul", [x, self.const("inv_sqrt2", 0.7071067811865476)])
            erf1 = self.node("Add", [self.node("Erf", [scaled]), self.const("one", 1.0)])
            return self.node("Mul", [self.node("Mul", [x, erf1]), self.const("half", 0.5)])
        raise NotImplementedError(f"no ONNX conversion for activation {kind!r}")


def _mlp_forward(g, est, x, n_layers=None, out_activation=None):
    """The network output (after the output activation) as a graph variable.

    ``n_layers`` / ``out_activation`` export only the first layers, the last of
    them with that activation (the autoencoder's encoder); default: all of them.
    """
    x = g.cast_input(x)
    deep = x if est._deep_idx is None else g.columns(x, est._deep_idx)
    h = deep
    # batch normalization folded into each hidden layer's W and b (moving
    # statistics); dropout only acts in training and has no node
    coefs, intercepts = est._prediction_params()
    n_layers = len(coefs) if n_layers is None else n_layers
    activations = est._layer_activations()[: n_layers - 1] + [
        est.out_activation_ if out_activation is None else out_activation]
    for i, (W, b) in enumerate(zip(coefs[:n_layers], intercepts[:n_layers])):
        if i == len(coefs) - 1 and est._wide_idx is not None:
            # the output layer's first n_wide rows weight the wide columns
            h = g.node("Concat", [g.columns(x, est._wide_idx), h], axis=1)
        z = g.node("Add", [g.node("MatMul", [h, g.const("coef", W)]),
                           g.const("intercept", np.asarray(b).reshape(1, -1))])
        h = g.activation(z, activations[i])
    return h


def _label_classes(classes):
    """(values, proto type) for the label output; ints (and integral floats) -> int64."""
    from skl2onnx.proto import onnx_proto

    classes = np.asarray(classes)
    if classes.dtype.kind in "iub":
        return classes.astype(np.int64), onnx_proto.TensorProto.INT64
    if classes.dtype.kind == "f":
        if not np.all(np.mod(classes, 1) == 0):
            raise NotImplementedError(
                "ONNX labels must be integers or strings; the classes are non-integral "
                f"floats {classes!r}."
            )
        return classes.astype(np.int64), onnx_proto.TensorProto.INT64
    return classes.astype(str), onnx_proto.TensorProto.STRING


def _emit_labels(g, classes, index, output):
    """output = classes[index] for an int64 index vector."""
    values, proto = _label_classes(classes)
    if values.dtype.kind == "U":
        table = g.name("classes")
        g.container.add_initializer(
            table, proto, [len(values)], [s.encode("utf-8") for s in values]
        )
    else:
        table = g.const("classes", values, dtype=np.int64)
    g.node("Gather", [table, index], output, axis=0)


def _convert_mlp_classifier(scope, operator, container):
    est = operator.raw_operator
    proto, dtype = _proto_and_dtype(operator)
    g = _Graph(scope, container, proto, dtype)
    from skl2onnx.proto import onnx_proto

    out = _mlp_forward(g, est, operator.inputs[0].full_name)
    label, proba = operator.outputs[0].full_name, operator.outputs[1].full_name
    if _is_multilabel(est):
        g.node("Identity", [out], proba)
        hit = g.node("Greater", [out, g.const("half", 0.5)])
        g.node("Cast", [hit], label, to=onnx_proto.TensorProto.INT64)
    elif est.n_outputs_ == 1:  # binary: one logistic unit, label = p > 0.5
        g.node("Concat", [g.node("Sub", [g.const("one", 1.0), out]), out], proba, axis=1)
        hit = g.node("Greater", [out, g.const("half", 0.5)])
        flat = g.node("Reshape", [hit, g.const("shape", [-1], dtype=np.int64)])
        flat = g.node("Cast", [flat], to=onnx_proto.TensorProto.INT64)
        _emit_labels(g, est.classes_, flat, label)
    else:
        g.node("Identity", [out], proba)
        _emit_labels(g, est.classes_, g.node("ArgMax", [out], axis=1, keepdims=0), label)


def _convert_mlp_regressor(scope, operator, container):
    est = operator.raw_operator
    proto, dtype = _proto_and_dtype(operator)
    g = _Graph(scope, container, proto, dtype)
    out = _mlp_forward(g, est, operator.inputs[0].full_name)
    g.node("Identity", [out], operator.outputs[0].full_name)


def _convert_mlp_autoencoder(scope, operator, container):
    est = operator.raw_operator
    proto, dtype = _proto_and_dtype(operator)
    g = _Graph(scope, container, proto, dtype)
    out = _mlp_forward(g, est, operator.inputs[0].full_name, est._n_encoder_layers(),
                       est.code_activation)
    g.node("Identity", [out], operator.outputs[0].full_name)


def _convert_perceptron(scope, operator, container):
    est = operator.raw_operator
    proto, dtype = _proto_and_dtype(operator)
    g = _Graph(scope, container, proto, dtype)
    from skl2onnx.proto import onnx_proto

    x = g.cast_input(operator.inputs[0].full_name)
    scores = g.node("Add", [g.node("MatMul", [x, g.const("coef", np.asarray(est.coef_).T)]),
                            g.const("intercept", np.asarray(est.intercept_).reshape(1, -1))])
    label, out_scores = operator.outputs[0].full_name, operator.outputs[1].full_name
    g.node("Identity", [scores], out_scores)
    hit = g.node("Greater", [scores, g.const("zero", 0.0)])
    if est._kind == "multilabel":
        g.node("Cast", [hit], label, to=onnx_proto.TensorProto.INT64)
    elif est._kind == "binary":
        flat = g.node("Reshape", [hit, g.const("shape", [-1], dtype=np.int64)])
        flat = g.node("Cast", [flat], to=onnx_proto.TensorProto.INT64)
        _emit_labels(g, est.classes_, flat, label)
    else:
        _emit_labels(g, est.classes_, g.node("ArgMax", [scores], axis=1, keepdims=0), label)


def _is_multilabel(est):
    if hasattr(est, "_label_binarizer"):
        return est._label_binarizer.y_type_.startswith("multilabel")
    return getattr(est, "_kind", None) == "multilabel"


def _n_classifier_columns(est):
    if hasattr(est, "_label_binarizer"):
        return len(est.classes_)
    return np.asarray(est.coef_).shape[0]


def _classifier_shapes(operator):
    from skl2onnx.common.data_types import Int64TensorType, StringTensorType

    est = operator.raw_operator
    n = operator.inputs[0].get_first_dimension()
    if _is_multilabel(est):
        operator.outputs[0].type = Int64TensorType([n, len(est.classes_)])
    else:
        _, proto = _label_classes(est.classes_)
        from skl2onnx.proto import onnx_proto

        ltype = StringTensorType if proto == onnx_proto.TensorProto.STRING else Int64TensorType
        operator.outputs[0].type = ltype([n])
    width = _n_classifier_columns(est)
    if hasattr(est, "_label_binarizer") and est.n_outputs_ == 1 and not _is_multilabel(est):
        width = 2
    operator.outputs[1].type = operator.inputs[0].type.__class__([n, width])


def _regressor_shapes(operator):
    est = operator.raw_operator
    n = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = operator.inputs[0].type.__class__([n, est.n_outputs_])


def _autoencoder_shapes(operator):
    est = operator.raw_operator
    n = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = operator.inputs[0].type.__class__([n, est.n_components])


def _float_type(input_type):
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    return DoubleTensorType() if isinstance(input_type, DoubleTensorType) else FloatTensorType()


def _make_classifier_parser(alias, second_output, allow_zipmap):
    def parser(scope, model, inputs, custom_parsers=None):
        from skl2onnx.common.data_types import Int64TensorType

        op = scope.declare_local_operator(alias, model)
        op.inputs = inputs
        op.outputs.append(scope.declare_local_variable("label", Int64TensorType()))
        op.outputs.append(scope.declare_local_variable(second_output, _float_type(inputs[0].type)))
        if not allow_zipmap or _is_multilabel(model):
            return op.outputs
        options = scope.get_options(model, dict(zipmap=True))
        if options["zipmap"] is False:
            return op.outputs
        from skl2onnx._parse import _apply_zipmap

        return _apply_zipmap(options["zipmap"], scope, model, inputs[0].type, op.outputs)

    return parser


def _make_variable_parser(alias):
    """Parser of a model with one float output named ``variable``."""

    def parser(scope, model, inputs, custom_parsers=None):
        op = scope.declare_local_operator(alias, model)
        op.inputs = inputs
        op.outputs.append(scope.declare_local_variable("variable", _float_type(inputs[0].type)))
        return op.outputs

    return parser


def register_converters():
    """Register sknn's converters with skl2onnx (idempotent)."""
    global _DONE
    if _DONE:
        return
    from skl2onnx import update_registered_converter

    from ._autoencoder import MLPAutoencoder
    from ._mlp import MLPClassifier, MLPRegressor
    from ._perceptron import Perceptron

    update_registered_converter(
        MLPClassifier, "SknnMLPClassifier", _classifier_shapes, _convert_mlp_classifier,
        parser=_make_classifier_parser("SknnMLPClassifier", "probabilities", True),
        options={"zipmap": [True, False, "columns"], "nocl": [False]},
    )
    update_registered_converter(
        MLPRegressor, "SknnMLPRegressor", _regressor_shapes, _convert_mlp_regressor,
        parser=_make_variable_parser("SknnMLPRegressor"),
    )
    update_registered_converter(
        MLPAutoencoder, "SknnMLPAutoencoder", _autoencoder_shapes, _convert_mlp_autoencoder,
        parser=_make_variable_parser("SknnMLPAutoencoder"),
    )
    update_registered_converter(
        Perceptron, "SknnPerceptron", _classifier_shapes, _convert_perceptron,
        parser=_make_classifier_parser("SknnPerceptron", "scores", False),
    )
    _DONE = True
