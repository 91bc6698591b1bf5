"""Activation functions and their derivatives, selected by an int code.

Forward functions work in place on a 2-D array and add the bias in the same
pass.  Derivatives are computed from the activation *output* (``A = f(Z)``)
wherever that is possible, so training does not need to keep pre-activations;
only GELU needs ``Z`` (it is not monotonic), and for it the forward pass stores
the pre-activation.
"""

import math

from numba import uintp
from numba.extending import overload

from .._numba import jit, jitable

IDENTITY = 0
LOGISTIC = 1
TANH = 2
RELU = 3
LEAKY_RELU = 4
SOFTPLUS = 5
ELU = 6
SELU = 7
GELU = 8
EXP = 9  # output only (poisson)
SOFTMAX = 10  # output only (multiclass)

#: name -> code; "sigmoid" is Keras' name for sklearn's "logistic".
ACTIVATION_CODES = {
    "identity": IDENTITY,
    "logistic": LOGISTIC,
    "sigmoid": LOGISTIC,
    "tanh": TANH,
    "relu": RELU,
    "leaky_relu": LEAKY_RELU,
    "softplus": SOFTPLUS,
    "elu": ELU,
    "selu": SELU,
    "gelu": GELU,
    "exp": EXP,
    "softmax": SOFTMAX,
}
HIDDEN_ACTIVATIONS = (
    "identity", "logistic", "sigmoid", "tanh", "relu",
    "leaky_relu", "softplus", "elu", "selu", "gelu",
)

LEAKY_SLOPE = 0.01  # PyTorch's default negative slope
SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805
_INV_SQRT2 = 0.7071067811865476
_INV_SQRT2PI = 0.3989422804014327


@jitable
def needs_preactivation(code):
    """Whether the derivative of ``code`` needs Z rather than f(Z)."""
    return code == GELU


@jit(nogil=True)
def logistic(x):
    """Numerically stable logistic sigmoid of a scalar."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def unsigned_range(j0, j1):
    """Loop bounds ``j0, j1`` (both >= 0): unsigned in jitted code, where a signed
    index carries numba's negative-index wrap-around and the loop over it does not
    vectorise (ReLU on four 200 x 75 float32 pieces: 33 us instead of 6); plain
    ints in Python (NumPy 1's ``int - uint64`` is a float, not an index)."""
    return j0, j1


@overload(unsigned_range, jit_options={"nogil": True})
def _unsigned_range_jit(j0, j1):
    def impl(j0, j1):
        return uintp(j0), uintp(j1)
    return impl


@jit(nogil=True, static=("code",))
def bias_activate(Z, b, code, Zpre, j0, j1):
    """Add the bias row ``b`` to columns ``j0:j1`` of ``Z`` and apply activation
    ``code`` to them, in place (``b[k]`` is column ``j0 + k``'s bias).

    The columns are a range of the whole array, not a view ``Z[:, j0:j1]``: that
    view's inner stride is unknown to the compiler and the loops over it did not
    vectorise (2.5-4.5x slower for a unit-split piece, ``unit_split.py``).  One pass
    instead of two: each element is read and written once (at batch 32 the
    separate bias pass cost about as much as the activation).  For GELU the
    biased pre-activation is also stored into ``Zpre`` (same shape) for the
    backward pass; ``Zpre`` is ignored for every other code.  The code is tested
    outside the element loops so that each loop stays vectorisable.
    """
    n = Z.shape[0]
    ja, jb = unsigned_range(j0, j1)
    zero = Z.dtype.type(0)
    one = Z.dtype.type(1)
    half = Z.dtype.type(0.5)
    if code == IDENTITY:
        for i in range(n):
            for j in range(ja, jb):
                Z[i, j] += b[j - ja]
    elif code == RELU:
        for i in range(n):
            for j in range(ja, jb):
                Z[i, j] = max(Z[i, j] + b[j - ja], zero)
    elif code == LOGISTIC:
        for i in range(n):
            for j in range(ja, jb):
                Z[i, j] = logistic(Z[i, j] + b[j - ja])
    elif code == TANH:
        for i in range(n):
            for j in range(ja, jb):
                Z[i, j] = math.tanh(Z[i, j] + b[j - ja])
    elif code == LEAKY_RELU:
        slope = Z.dtype.type(LEAKY_SLOPE)
        for i in range(n):
            for j in range(ja, jb):
                x = Z[i, j] + b[j - ja]
                Z[i, j] = x if x > zero else slope * x
    elif code == SOFTPLUS:
        for i in range(n):
            for j in range(ja, jb):
                # log(1 + e^x) without overflow: max(x, 0) + log1p(e^-|x|)
                x = Z[i, j] + b[j - ja]
                Z[i, j] = max(x, zero) + math.log1p(math.exp(-abs(x)))
    elif code == ELU:
        for i in range(n):
            for j in range(ja, jb):
                x = Z[i, j] + b[j - ja]
                Z[i, j] = x if x > zero else math.expm1(x)
    elif code == SELU:
        scale = Z.dtype.type(SELU_SCALE)
        scale_alpha = Z.dtype.type(SELU_SCALE * SELU_ALPHA)
        for i in range(n):
            for j in range(ja, jb):
                x = Z[i, j] + b[j - ja]
                Z[i, j] = scale * x if x > zero else scale_alpha * math.expm1(x)
    elif code == GELU:
        for i in range(n):
            for j in range(ja, jb):
                x = Z[i, j] + b[j - ja]
                Zpre[i, j] = x
                Z[i, j] = half * x * (one + math.erf(x * _INV_SQRT2))
    elif code == EXP:
        for i in range(n):
            for j in range(ja, jb):
                Z[i, j] = math.exp(Z[i, j] + b[j - ja])
    elif code == SOFTMAX:
        for i in range(n):
            for j in range(ja, jb):
                Z[i, j] += b[j - ja]
            mx = Z[i, ja]
            for j in range(unsigned_range(j0 + 1, j1)[0], jb):
                mx = max(mx, Z[i, j])
            s = zero
            for j in range(ja, jb):
                e = math.exp(Z[i, j] - mx)
                Z[i, j] = e
                s += e
            for j in range(ja, jb):
                Z[i, j] /= s


@jit(nogil=True, static=("code",))
def activation_grad(A, Zpre, delta, code, gb, j0, j1):
    """Multiply columns ``j0:j1`` of ``delta`` in place by f'(Z) and write their
    column sums into ``gb`` (``gb[k]``: column ``j0 + k``; a column range of the
    whole arrays, as in ``bias_activate``).

    f'(Z) is computed from ``A = f(Z)``; GELU reads the pre-activation ``Zpre``
    instead.  ``gb`` receives the layer's bias gradient ``sum_i delta[i, :]``,
    summed over rows in order, in the same pass: the delta is then read once
    instead of twice.  Softmax only appears with log-loss, whose fused gradient
    never calls this.
    """
    n = delta.shape[0]
    ja, jb = unsigned_range(j0, j1)
    zero = delta.dtype.type(0)
    one = delta.dtype.type(1)
    half = delta.dtype.type(0.5)
    dt = delta.dtype.type
    for j in range(ja, jb):
        gb[j - ja] = zero
    if code == IDENTITY:
        for i in range(n):
            for j in range(ja, jb):
                gb[j - ja] += delta[i, j]
    elif code == RELU:
        for i in range(n):
            for j in range(ja, jb):
                d = zero if A[i, j] <= zero else delta[i, j]
                delta[i, j] = d
                gb[j - ja] += d
    elif code == LOGISTIC:
        for i in range(n):
            for j in range(ja, jb):
                a = A[i, j]
                d = delta[i, j] * (a * (one - a))
                delta[i, j] = d
                gb[j - ja] += d
    elif code == TANH:
        for i in range(n):
            for j in range(ja, jb):
                a = A[i, j]
                d = delta[i, j] * (one - a * a)
                delta[i, j] = d
                gb[j - ja] += d
    elif code == LEAKY_RELU:
        slope = delta.dtype.type(LEAKY_SLOPE)
        for i in range(n):
            for j in range(ja, jb):
                d = delta[i, j] * slope if A[i, j] <= zero else delta[i, j]
                delta[i, j] = d
                gb[j - ja] += d
    elif code == SOFTPLUS:
        for i in range(n):
            for j in range(ja, jb):
                # f'(z) = sigmoid(z) = 1 - exp(-f(z))
                d = dt(delta[i, j] * -math.expm1(-A[i, j]))
                delta[i, j] = d
                gb[j - ja] += d
    elif code == ELU:
        for i in range(n):
            for j in range(ja, jb):
                a = A[i, j]
                d = delta[i, j] * (a + one) if a <= zero else delta[i, j]
                delta[i, j] = d
                gb[j - ja] += d
    elif code == SELU:
        scale = delta.dtype.type(SELU_SCALE)
        scale_alpha = delta.dtype.type(SELU_SCALE * SELU_ALPHA)
        for i in range(n):
            for j in range(ja, jb):
                a = A[i, j]
                d = delta[i, j] * (a + scale_alpha if a <= zero else scale)
                delta[i, j] = d
                gb[j - ja] += d
    elif code == GELU:
        for i in range(n):
            for j in range(ja, jb):
                z = Zpre[i, j]
                cdf = half * (one + math.erf(z * _INV_SQRT2))
                # the constants are float64: round d to delta's dtype before summing it
                d = dt(delta[i, j] * (cdf + z * _INV_SQRT2PI * math.exp(-half * z * z)))
                delta[i, j] = d
                gb[j - ja] += d
    elif code == EXP:
        for i in range(n):
            for j in range(ja, jb):
                d = delta[i, j] * A[i, j]
                delta[i, j] = d
                gb[j - ja] += d
