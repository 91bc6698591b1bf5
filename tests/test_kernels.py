"""Tests of the numba kernels in ``sknn._kernels`` against plain NumPy references.

Every reference below is written out in this file (short and obvious, no kernel
code reused), and no expected number is hard-coded: each test compares a kernel
with a reference computed from the same random inputs, or checks a gradient by
central finite differences.

Tests marked ``nojit`` also run as plain Python with ``NUMBA_DISABLE_JIT=1``
(``make test-nojit``); their sizes are kept small for that.
"""

import math
import warnings

import numba
import numpy as np
import pytest
import scipy.sparse as sp
from _helpers import central_differences
from _helpers import rel_err as _rel_err
from numba import config as numba_config
from scipy.special import erf

from sknn._base import _block, _Workspace
from sknn._kernels import activations as act
from sknn._kernels import losses as ls
from sknn._kernels.activations import ACTIVATION_CODES, activation_grad, bias_activate
from sknn._kernels.epoch import PREDICT_ROWS, loss_grad, predict_forward, train_epoch
from sknn._kernels.layers import no_layers
from sknn._kernels.losses import LOSS_CODES, loss_and_output_delta, loss_value, pointwise_loss
from sknn._kernels.network import transpose_into, transpose_workspace_size
from sknn._kernels.optimizers import ADAM, SGD, optimizer_step, sum_squares
from sknn._kernels.records import Data, Network, Objective, OptimizerStep
from sknn._kernels.sync import (
    atomic_add,
    atomic_load,
    gemm_constants,
    strided_dot,
    wait_until,
    wake_waiters,
)
from sknn._layout import make_layout, n_params
from sknn._numba import Code, jit

pytestmark = pytest.mark.filterwarnings("error")

SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805
LEAKY = 0.01

ALL_ACTIVATIONS = ["identity", "logistic", "tanh", "relu", "leaky_relu", "softplus",
                   "elu", "selu", "gelu", "exp"]
# Hidden units without kinks in f (finite differences need a smooth objective);
# selu's derivative jumps at 0, so its data keep pre-activations away from 0.
SMOOTH_HIDDEN = ["tanh", "logistic", "softplus", "elu", "selu", "gelu"]

NUMPY_FP = dict(over="raise", divide="raise", invalid="raise", under="ignore")


# ---------------------------------------------------------------- references
def ref_f(name, Z):
    """Activation ``name`` applied to Z (new array), plain NumPy."""
    Z = np.asarray(Z, dtype=np.float64)
    with np.errstate(**NUMPY_FP):
        if name == "identity":
            return Z.copy()
        if name in ("logistic", "sigmoid"):
            return 0.5 * (1.0 + np.tanh(0.5 * Z))
        if name == "tanh":
            return np.tanh(Z)
        if name == "relu":
            return np.where(Z > 0, Z, 0.0)
        if name == "leaky_relu":
            return np.where(Z > 0, Z, LEAKY * Z)
        if name == "softplus":
            return np.logaddexp(0.0, Z)
        if name == "elu":
            return np.where(Z > 0, Z, np.expm1(np.minimum(Z, 0.0)))
        if name == "selu":
            return SELU_SCALE * np.where(Z > 0, Z, SELU_ALPHA * np.expm1(np.minimum(Z, 0.0)))
        if name == "gelu":
            return 0.5 * Z * (1.0 + erf(Z / np.sqrt(2.0)))
        if name == "exp":
            return np.exp(Z)
        if name == "softmax":
            E = np.exp(Z - Z.max(axis=1, keepdims=True))
            return E / E.sum(axis=1, keepdims=True)
    raise ValueError(name)


def ref_fprime(name, Z):
    """f'(Z) elementwise, computed from the pre-activation Z."""
    Z = np.asarray(Z, dtype=np.float64)
    with np.errstate(**NUMPY_FP):
        if name == "identity":
            return np.ones_like(Z)
        if name in ("logistic", "sigmoid", "softplus"):
            s = 0.5 * (1.0 + np.tanh(0.5 * Z))
            return s if name == "softplus" else s * (1.0 - s)
        if name == "tanh":
            return 1.0 - np.tanh(Z) ** 2
        if name == "relu":
            return (Z > 0).astype(np.float64)
        if name == "leaky_relu":
            return np.where(Z > 0, 1.0, LEAKY)
        if name == "elu":
            return np.where(Z > 0, 1.0, np.exp(np.minimum(Z, 0.0)))
        if name == "selu":
            return SELU_SCALE * np.where(Z > 0, 1.0, SELU_ALPHA * np.exp(np.minimum(Z, 0.0)))
        if name == "gelu":
            pdf = np.exp(-0.5 * Z * Z) / np.sqrt(2 * np.pi)
            return 0.5 * (1.0 + erf(Z / np.sqrt(2.0))) + Z * pdf
        if name == "exp":
            return np.exp(Z)
    raise ValueError(name)


def ref_pointwise(loss, Y, P, delta=1.0):
    """Per-element loss (no probability clipping: callers stay inside (0, 1))."""
    Y = np.asarray(Y, dtype=np.float64)
    P = np.asarray(P, dtype=np.float64)
    R = P - Y
    if loss == "squared_error":
        return 0.5 * R ** 2
    if loss == "absolute_error":
        return np.abs(R)
    if loss == "huber":
        return np.where(np.abs(R) <= delta, 0.5 * R ** 2, delta * (np.abs(R) - 0.5 * delta))
    if loss == "poisson":
        ylogy = np.where(Y > 0, Y * np.log(np.where(Y > 0, Y, 1.0) / P), 0.0)
        return ylogy - Y + P
    if loss == "log_loss":
        return np.where(Y != 0, -Y * np.log(P), 0.0)
    if loss in ("binary_log_loss", "binary_crossentropy"):
        return -(Y * np.log(P) + (1.0 - Y) * np.log1p(-P))
    raise ValueError(loss)


def ref_dloss(loss, Y, P, delta=1.0):
    """dL/dyhat per element."""
    R = P - Y
    if loss == "squared_error":
        return R
    if loss == "absolute_error":
        return np.sign(R)
    if loss == "huber":
        return np.clip(R, -delta, delta)
    if loss == "poisson":
        return 1.0 - Y / P
    if loss == "log_loss":
        return -Y / P
    if loss in ("binary_log_loss", "binary_crossentropy"):
        return (P - Y) / (P * (1.0 - P))
    raise ValueError(loss)


def ref_dZ_out(loss, out, Z, P, Y, delta=1.0):
    """dL/dZ of the output layer (per sample, unweighted)."""
    if out == "softmax":  # d/dz of -sum_j y_j log softmax(z)_j
        return P * Y.sum(axis=1, keepdims=True) - Y
    return ref_dloss(loss, Y, P, delta) * ref_fprime(out, Z)


def unpack(theta, units, n_wide):
    """Per-layer (W, b) of the flat buffer [W_0..W_{L-1}, b_0..b_{L-1}] (copies)."""
    theta = np.asarray(theta, dtype=np.float64)
    fan_in = list(units[:-1])
    fan_in[-1] += n_wide
    fan_out = list(units[1:])
    Ws, off = [], 0
    for fi, fo in zip(fan_in, fan_out):
        Ws.append(theta[off: off + fi * fo].reshape(fi, fo).copy())
        off += fi * fo
    n_coef = off
    bs = []
    for fo in fan_out:
        bs.append(theta[off: off + fo].copy())
        off += fo
    assert off == theta.size
    return Ws, bs, n_coef


def ref_forward(theta, units, n_wide, hidden, out, Xd, Xw):
    """Pre-activations and activations of every layer."""
    Ws, bs, _ = unpack(theta, units, n_wide)
    A = np.asarray(Xd, dtype=np.float64)
    Zs, As = [], []
    L = len(Ws)
    for l in range(L):
        if l == L - 1 and n_wide:
            Z = A @ Ws[l][n_wide:] + np.asarray(Xw, dtype=np.float64) @ Ws[l][:n_wide] + bs[l]
        else:
            Z = A @ Ws[l] + bs[l]
        A = ref_f(out if l == L - 1 else _hidden_name(hidden, l), Z)
        Zs.append(Z)
        As.append(A)
    return Zs, As


def ref_backprop(theta, units, n_wide, hidden, out, loss, hd, Xd, Xw, Y, sw):
    """Return (sum_i sw_i * loss_i, raw gradient in theta's layout)."""
    Xd = np.asarray(Xd, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    sw = np.asarray(sw, dtype=np.float64)
    Zs, As = ref_forward(theta, units, n_wide, hidden, out, Xd, Xw)
    Ws, _, _ = unpack(theta, units, n_wide)
    wloss = float(np.sum(sw * ref_pointwise(loss, Y, As[-1], hd).sum(axis=1)))
    D = sw[:, None] * ref_dZ_out(loss, out, Zs[-1], As[-1], Y, hd)
    L = len(Ws)
    gWs, gbs = [None] * L, [None] * L
    for l in range(L - 1, -1, -1):
        A_prev = Xd if l == 0 else As[l - 1]
        if l == L - 1 and n_wide:
            gWs[l] = np.vstack([np.asarray(Xw, dtype=np.float64).T @ D, A_prev.T @ D])
            W_deep = Ws[l][n_wide:]
        else:
            gWs[l] = A_prev.T @ D
            W_deep = Ws[l]
        gbs[l] = D.sum(axis=0)
        if l > 0:
            D = (D @ W_deep.T) * ref_fprime(_hidden_name(hidden, l - 1), Zs[l - 1])
    grad = np.concatenate([g.ravel() for g in gWs] + list(gbs))
    return wloss, grad


def ref_objective_grad(theta, units, n_wide, hidden, out, loss, hd, Xd, Xw, Y, sw, alpha):
    """scikit-learn's (sum sw*loss + alpha/2 ||W||^2) / sum(sw) and its gradient."""
    theta = np.asarray(theta, dtype=np.float64)
    wloss, raw = ref_backprop(theta, units, n_wide, hidden, out, loss, hd, Xd, Xw, Y, sw)
    _, _, n_coef = unpack(theta, units, n_wide)
    s = float(np.sum(sw))
    W = theta[:n_coef]
    grad = raw / s
    grad[:n_coef] += alpha * W / s
    return (wloss + 0.5 * alpha * W @ W) / s, grad


def ref_optimizer(theta, raw, m, v, n_coef, alpha, sw_sum, solver, lr, momentum, nesterov,
                  beta_1, beta_2, epsilon, t):
    """Transcription of scikit-learn's SGDOptimizer / AdamOptimizer update.

    Returns (new_theta, new_m, new_v, sum of squared coefs before the update).
    """
    theta = np.array(theta, dtype=np.float64)
    g = np.array(raw, dtype=np.float64)
    g[:n_coef] += alpha * theta[:n_coef]
    g /= sw_sum
    sumsq = float(theta[:n_coef] @ theta[:n_coef])
    m = np.array(m, dtype=np.float64)
    v = np.array(v, dtype=np.float64)
    if solver == "adam":
        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g ** 2
        lr_t = lr * np.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
        theta = theta + -lr_t * m / (np.sqrt(v) + epsilon)
    else:
        update = momentum * m - lr * g
        m = update
        if nesterov:
            update = momentum * m - lr * g
        theta = theta + update
    return theta, m, v, sumsq


# ------------------------------------------------------------------ helpers
def _hidden_name(hidden, l):
    """Hidden layer ``l``'s activation: ``hidden`` is one name or a list, one per layer."""
    return hidden if isinstance(hidden, str) else hidden[l]


def _net(layout, n_wide, hidden, out, dtype=np.float64):
    """The plain ``Network`` record (no layer stages); a list ``hidden`` gives every
    hidden layer its own code."""
    first = hidden if isinstance(hidden, str) else hidden[0]
    codes = (np.empty(0, dtype=np.int64) if isinstance(hidden, str)
             else np.array([ACTIVATION_CODES[a] for a in hidden], dtype=np.int64))
    return Network(layout, n_wide, ACTIVATION_CODES[first], ACTIVATION_CODES[out], codes,
                   no_layers(dtype))


def _predict(theta, net, deep, wide, out, chunk):
    """``predict_forward`` of the plain network ``net`` (its fields but the stages)."""
    predict_forward(theta, net.layout, net.n_wide, net.hidden_code, net.out_code,
                    net.layer_codes, deep, wide, out, chunk)


def _ro(a):
    a = np.array(a)
    a.setflags(write=False)
    return a


def _blocks(Xd, Xw, sparse, dtype):
    if sparse:
        Xw = None if Xw is None else sp.csr_matrix(Xw)
        return _block(sp.csr_matrix(Xd), dtype), _block(Xw, dtype)
    return _block(Xd, dtype), _block(Xw, dtype)


def kernel_loss_grad(theta, units, n_wide, hidden, out, loss, hd, deep, wide, Y, sw, alpha,
                     chunk=None, transpose=True):
    """``loss_grad`` with fresh workspaces; ``transpose=False`` gives it no ``W.T``
    scratch, so every ``delta @ W.T`` takes BLAS's transposed-operand path."""
    dtype = theta.dtype
    layout = make_layout(units, n_wide)
    n = Y.shape[0]
    chunk = n if chunk is None else chunk
    ws = _Workspace(layout, chunk, deep, wide, hidden, dtype, chunked=True)
    if not transpose:
        ws = ws._replace(wtbuf=np.empty(0, dtype=dtype))
    value = loss_grad(theta, _net(layout, n_wide, hidden, out, dtype),
                      Objective(LOSS_CODES[loss], hd, float(alpha)), Data(deep, wide, Y, sw), ws,
                      float(sw.sum()), chunk)
    return value, ws.grad.copy()


def kernel_predict(theta, units, n_wide, hidden, out, deep, wide, n, chunk):
    out_arr = np.empty((n, units[-1]), dtype=theta.dtype)
    _predict(theta, _net(make_layout(units, n_wide), n_wide, hidden, out, theta.dtype), deep,
             wide, out_arr, chunk)
    return out_arr


def kernel_train_epoch(theta, opt, units, n_wide, hidden, out, loss, hd, deep, wide, Y, sw,
                       perm, batch_size, alpha, solver, lr, momentum=0.9, nesterov=True,
                       beta_1=0.9, beta_2=0.999, epsilon=1e-8, layout=None):
    layout = make_layout(units, n_wide) if layout is None else layout
    ws = _Workspace(layout, batch_size, deep, wide, hidden, theta.dtype)
    step = OptimizerStep({"sgd": SGD, "adam": ADAM}[solver], lr, momentum, nesterov, beta_1,
                         beta_2, epsilon, opt["m"], opt["v"], opt["t"])
    total, t = train_epoch(theta, _net(layout, n_wide, hidden, out, theta.dtype),
                           Objective(LOSS_CODES[loss], hd, float(alpha)), step,
                           Data(deep, wide, Y, sw), ws, perm, batch_size)
    opt["t"] = t
    return total


def _sparse_X(rng, n, p, density=0.6):
    X = rng.normal(size=(n, p))
    X[rng.uniform(size=(n, p)) > density] = 0.0
    X[:, 0] = np.where(X[:, 0] == 0, 0.7, X[:, 0])  # no empty rows
    return X


def _targets(rng, loss, out, n, n_out):
    if loss == "log_loss":
        return np.eye(n_out)[rng.randint(n_out, size=n)]
    if loss == "binary_log_loss":
        return rng.randint(2, size=(n, n_out)).astype(np.float64)
    if loss == "binary_crossentropy":  # soft targets (pixel intensities), ends included
        Y = rng.uniform(0, 1, size=(n, n_out))
        Y[0, 0], Y[-1, -1] = 0.0, 1.0
        return Y
    if loss == "poisson":
        if out in ("sigmoid", "tanh"):
            Y = rng.uniform(0, 1, size=(n, n_out))
        else:
            Y = rng.poisson(1.5, size=(n, n_out)).astype(np.float64)
        Y[0, 0] = 0.0
        return Y
    if out == "sigmoid":
        return rng.uniform(0, 1, size=(n, n_out))
    if out == "tanh":
        return rng.uniform(-1, 1, size=(n, n_out))
    return rng.normal(0.5, 1.5, size=(n, n_out))


def _output_bias(loss, out):
    """Output bias that keeps predictions where the losses are smooth and finite."""
    if loss == "poisson" and out in ("tanh", "sigmoid", "relu", "softplus"):
        return 1.2
    if out == "relu":
        return 0.6
    return 0.0


# ======================================================= activations
EXTREME = np.array([-1e4, -800.0, -50.0, -3.0, -0.5, 0.0, 0.7, 2.0, 50.0, 800.0, 1e4])


def _grid(name, dtype):
    rng = np.random.RandomState(0)
    Z = np.concatenate([EXTREME, rng.normal(scale=3.0, size=21)])
    if name == "exp":  # exp(z) overflows for large z by definition: keep it finite
        Z = Z[Z <= (80.0 if dtype == np.float32 else 700.0)]
    return Z.reshape(-1, 1).repeat(2, axis=1).astype(dtype) * np.array([1.0, 0.5], dtype=dtype)


def _tols(dtype):
    return dict(rtol=1e-12, atol=1e-14) if dtype == np.float64 else dict(rtol=2e-6, atol=2e-6)


def activate(Z, code, zpre):
    """The forward activation alone: ``bias_activate`` with a zero bias."""
    bias_activate(Z, np.zeros(Z.shape[1], dtype=Z.dtype), code, zpre, 0, Z.shape[1])


def _colsum(D):
    """Column sums in row order, as the kernels accumulate them."""
    out = np.zeros(D.shape[1], dtype=D.dtype)
    for row in D:
        out += row
    return out


@pytest.mark.nojit
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", ALL_ACTIVATIONS)
def test_activation_forward(name, dtype):
    # bias_activate adds the bias row in the same pass: column 0 gets none.
    Z = _grid(name, dtype)
    b = np.array([0.0, 0.25], dtype=dtype)
    ref = ref_f(name, (Z + b).astype(np.float64))
    A = Z.copy()
    zpre = np.full_like(Z, np.nan) if name == "gelu" else np.empty((0, 0), dtype=dtype)
    with warnings.catch_warnings(), np.errstate(**NUMPY_FP):
        warnings.simplefilter("error")
        bias_activate(A, b, ACTIVATION_CODES[name], zpre, 0, 2)
    assert A.dtype == dtype
    assert np.all(np.isfinite(A))
    np.testing.assert_allclose(A, ref, **_tols(dtype))
    if name == "gelu":  # GELU keeps its (biased) pre-activation for the backward pass
        np.testing.assert_array_equal(zpre, Z + b)


@pytest.mark.nojit
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", ALL_ACTIVATIONS)
def test_activation_derivative(name, dtype):
    Z = _grid(name, dtype)
    A = Z.copy()
    zpre = Z.copy() if name == "gelu" else np.empty((0, 0), dtype=dtype)
    activate(A, ACTIVATION_CODES[name], np.empty_like(Z))
    rng = np.random.RandomState(1)
    delta0 = rng.uniform(0.5, 2.0, size=Z.shape) * rng.choice([-1.0, 1.0], size=Z.shape)
    delta = delta0.astype(dtype)
    gb = np.full(Z.shape[1], np.nan, dtype=dtype)  # overwritten, not accumulated into
    with warnings.catch_warnings(), np.errstate(**NUMPY_FP):
        warnings.simplefilter("error")
        activation_grad(A, zpre, delta, ACTIVATION_CODES[name], gb, 0, 2)
    ref = delta0.astype(dtype).astype(np.float64) * ref_fprime(name, Z.astype(np.float64))
    assert delta.dtype == dtype
    assert np.all(np.isfinite(delta))
    # Derivatives come from f(Z), so flat tails (e.g. elu at -30) lose relative
    # accuracy; absolute agreement is what the backward pass needs.
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(delta, ref, **tol)
    # the bias gradient comes out of the same pass: the column sums, in row order
    assert gb.dtype == dtype
    np.testing.assert_array_equal(gb, _colsum(delta))


@pytest.mark.nojit
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", ALL_ACTIVATIONS + ["softmax"])
def test_activation_column_range(name, dtype):
    # The unit split hands each piece columns j0:j1 of the whole batch arrays: the
    # kernels must give those columns exactly what they give the columns alone, and
    # leave every other column (another thread's) untouched.
    rng = np.random.RandomState(4)
    code = ACTIVATION_CODES[name]
    Z = rng.uniform(-3, 3, size=(5, 37)).astype(dtype)
    b = rng.uniform(-1, 1, size=37).astype(dtype)
    delta = rng.uniform(-2, 2, size=Z.shape).astype(dtype)
    for j0, j1 in [(0, 37), (0, 16), (16, 32), (32, 37), (7, 8)]:
        A, zpre = Z.copy(), np.full_like(Z, np.nan)
        bias_activate(A, b[j0:j1], code, zpre, j0, j1)
        A_cols, zpre_cols = np.ascontiguousarray(Z[:, j0:j1]), np.full((5, j1 - j0), np.nan, dtype)
        bias_activate(A_cols, b[j0:j1], code, zpre_cols, 0, j1 - j0)
        np.testing.assert_array_equal(A[:, j0:j1], A_cols)
        np.testing.assert_array_equal(np.delete(A, np.s_[j0:j1], axis=1),
                                      np.delete(Z, np.s_[j0:j1], axis=1))
        if name == "gelu":
            np.testing.assert_array_equal(zpre[:, j0:j1], zpre_cols)
        if name == "softmax":  # output only: log-loss's fused gradient, no derivative
            continue
        D, gb = delta.copy(), np.full(j1 - j0, np.nan, dtype)
        activation_grad(A, zpre, D, code, gb, j0, j1)
        D_cols, gb_cols = np.ascontiguousarray(delta[:, j0:j1]), np.empty(j1 - j0, dtype)
        activation_grad(A_cols, zpre_cols, D_cols, code, gb_cols, 0, j1 - j0)
        np.testing.assert_array_equal(D[:, j0:j1], D_cols)
        np.testing.assert_array_equal(gb, gb_cols)
        np.testing.assert_array_equal(np.delete(D, np.s_[j0:j1], axis=1),
                                      np.delete(delta, np.s_[j0:j1], axis=1))


@pytest.mark.nojit
@pytest.mark.parametrize("name", ["logistic", "tanh", "softplus", "elu", "selu", "gelu", "exp",
                                  "leaky_relu", "identity"])
def test_activation_derivative_matches_finite_differences(name):
    # Independent of ref_fprime: the derivative of the kernel's own forward pass.
    rng = np.random.RandomState(2)
    Z = rng.uniform(-4, 4, size=(7, 3))
    Z[np.abs(Z) < 1e-3] = 0.5  # kinks of leaky_relu / selu at 0
    h = 1e-6

    def f(z):
        a = z.copy()
        activate(a, ACTIVATION_CODES[name], np.empty_like(a))
        return a

    fd = (f(Z + h) - f(Z - h)) / (2 * h)
    A = f(Z)
    delta = np.ones_like(Z)
    gb = np.empty(Z.shape[1])
    activation_grad(A, Z.copy(), delta, ACTIVATION_CODES[name], gb, 0, 3)
    np.testing.assert_allclose(delta, fd, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(gb, fd.sum(axis=0), rtol=1e-7, atol=1e-7)


@pytest.mark.nojit
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softmax_forward(dtype):
    rng = np.random.RandomState(3)
    Z = rng.normal(scale=3, size=(6, 4))
    Z[0] = [1e4, -1e4, 800.0, -800.0]
    Z[1] = [800.0, 800.0, -1e4, 0.0]
    Z[2] = [-1e4, -1e4, -1e4, -1e4]
    Z = Z.astype(dtype)
    b = np.array([0.0, 1.5, -2.0, 0.5], dtype=dtype)
    A = Z.copy()
    with warnings.catch_warnings(), np.errstate(**NUMPY_FP):
        warnings.simplefilter("error")
        bias_activate(A, b, act.SOFTMAX, np.empty((0, 0), dtype=dtype), 0, 4)
    ref = ref_f("softmax", (Z + b).astype(np.float64))
    assert np.all(np.isfinite(A))
    np.testing.assert_allclose(A.sum(axis=1), 1.0, rtol=1e-6 if dtype == np.float32 else 1e-14)
    np.testing.assert_allclose(A, ref, **_tols(dtype))


@pytest.mark.nojit
def test_exp_underflows_to_zero_at_extreme_negative_input():
    Z = np.array([[-1e4, -800.0]])
    with warnings.catch_warnings(), np.errstate(**NUMPY_FP):
        warnings.simplefilter("error")
        activate(Z, act.EXP, np.empty((0, 0)))
    np.testing.assert_array_equal(Z, 0.0)


# ============================================================ losses
LOSS_PAIRS = (
    [(loss, out) for loss in ("squared_error", "absolute_error", "huber")
     for out in ("identity", "relu", "softplus", "sigmoid", "tanh")]
    + [("poisson", out) for out in ("exp", "relu", "softplus", "sigmoid", "tanh")]
    + [("log_loss", "softmax"), ("binary_log_loss", "logistic"),
       ("binary_crossentropy", "logistic")]
)


def _loss_case(loss, out, n=11, n_out=3, seed=0):
    """Pre-activations, outputs and targets with every loss finite and smooth."""
    rng = np.random.RandomState(seed)
    Z = rng.normal(size=(n, n_out)) + _output_bias(loss, out)
    if out == "relu":
        Z[np.abs(Z) < 1e-3] = 0.3
    if loss == "poisson" and out in ("relu", "tanh"):
        Z = np.abs(Z) + 0.1  # predictions > 0 where the Poisson deviance is defined
    P = ref_f(out, Z)
    Y = _targets(rng, loss, out, n, n_out)
    sw = rng.uniform(0.1, 3.0, size=n)
    sw[2] = 0.0
    return Z, P, Y, sw


@pytest.mark.nojit
@pytest.mark.parametrize("loss", sorted(LOSS_CODES))
def test_pointwise_loss(loss):
    canonical = {"log_loss": "softmax", "binary_log_loss": "logistic",
                 "binary_crossentropy": "logistic", "poisson": "exp"}
    out = canonical.get(loss, "identity")
    _, P, Y, _ = _loss_case(loss, out)
    for hd in (1.0, 0.3):
        ref = ref_pointwise(loss, Y, P, hd)
        got = np.array([[pointwise_loss(float(y), float(p), LOSS_CODES[loss], hd, 2.0 ** -52)
                         for y, p in zip(yr, pr)] for yr, pr in zip(Y, P)])
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-14)


@pytest.mark.nojit
def test_log_losses_clip_probabilities():
    eps = float(np.finfo(np.float64).eps)
    # p = 0 and p = 1 would be infinite; the kernels clip to [eps, 1 - eps].
    v = pointwise_loss(1.0, 0.0, ls.LOG_LOSS, 1.0, eps)
    assert v == pytest.approx(-math.log(eps))
    v = pointwise_loss(0.0, 1.0, ls.BINARY_LOG_LOSS, 1.0, eps)
    assert v == pytest.approx(-math.log1p(-(1.0 - eps)), rel=1e-12)
    v = pointwise_loss(1.0, 0.0, ls.POISSON, 1.0, eps)
    assert np.isfinite(v) and v == pytest.approx(-1.0 - math.log(eps), rel=1e-12)


@pytest.mark.nojit
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("loss,out", LOSS_PAIRS)
def test_loss_value_and_output_delta(loss, out, dtype):
    Z, P, Y, sw = _loss_case(loss, out)
    hd = 0.7
    Pd, Yd, swd = P.astype(dtype), Y.astype(dtype), sw.astype(dtype)
    P64, Y64, sw64 = (a.astype(np.float64) for a in (Pd, Yd, swd))
    ref_value = float(np.sum(sw64 * ref_pointwise(loss, Y64, P64, hd).sum(axis=1)))
    ref_delta = sw64[:, None] * ref_dZ_out(loss, out, Z, P64, Y64, hd)

    value = loss_value(Yd, Pd, swd, LOSS_CODES[loss], hd)
    # Workspaces may be longer than the batch: the kernel reads/writes a prefix.
    delta = np.full((Y.shape[0] + 3, Y.shape[1]), np.nan, dtype=dtype)
    Yw = np.vstack([Yd, np.zeros((3, Y.shape[1]), dtype=dtype)])
    sww = np.concatenate([swd, np.ones(3, dtype=dtype)])
    gb = np.full(Y.shape[1], np.nan, dtype=dtype)
    total = loss_and_output_delta(Yw, Pd, np.empty((0, 0), dtype=dtype), sww, LOSS_CODES[loss],
                                  ACTIVATION_CODES[out], hd, delta[: Y.shape[0]], gb)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    assert value == pytest.approx(ref_value, rel=rtol)
    assert total == pytest.approx(ref_value, rel=rtol)
    assert np.all(np.isnan(delta[Y.shape[0]:]))
    scale = np.max(np.abs(ref_delta))
    np.testing.assert_allclose(delta[: Y.shape[0]], ref_delta, rtol=0,
                               atol=(1e-12 if dtype == np.float64 else 1e-5) * scale)
    # the output bias gradient (column sums of delta) comes out of the same call
    assert gb.dtype == dtype
    np.testing.assert_array_equal(gb, _colsum(delta[: Y.shape[0]]))


@pytest.mark.nojit
@pytest.mark.parametrize("loss,out", LOSS_PAIRS)
def test_output_delta_is_derivative_of_loss(loss, out):
    # d(weighted loss)/dZ by central differences through the reference activation.
    Z, P, Y, sw = _loss_case(loss, out, n=6)
    hd = 0.7
    delta = np.empty_like(Z)
    gb = np.empty(Z.shape[1])
    loss_and_output_delta(Y, P, np.empty((0, 0)), sw, LOSS_CODES[loss], ACTIVATION_CODES[out],
                          hd, delta, gb)
    fd = central_differences(lambda z: loss_value(Y, ref_f(out, z), sw, LOSS_CODES[loss], hd),
                             Z)
    assert _rel_err(delta, fd) < 1e-6


# ======================================================== optimizers
@pytest.mark.nojit
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver,momentum,nesterov,t", [
    ("sgd", 0.9, True, 1), ("sgd", 0.9, False, 1), ("sgd", 0.0, False, 1), ("sgd", 0.5, True, 7),
    ("adam", 0.0, False, 1), ("adam", 0.0, False, 6),
])
def test_optimizer_step(solver, momentum, nesterov, t, dtype):
    rng = np.random.RandomState(4)
    size, n_coef = 40, 31
    theta = rng.normal(size=size).astype(dtype)
    raw = rng.normal(scale=5, size=size).astype(dtype)
    m = (rng.normal(size=size) * (t > 1)).astype(dtype)
    v = (rng.uniform(0, 2, size=size) * (t > 1 and solver == "adam")).astype(dtype)
    if solver == "sgd":
        v = np.empty(0, dtype=dtype)
    alpha, sw_sum, lr, b1, b2, eps = 0.3, 7.5, 0.01, 0.85, 0.995, 1e-8
    ref_theta, ref_m, ref_v, ref_sumsq = ref_optimizer(theta, raw, m, v, n_coef, alpha, sw_sum,
                                                      solver, lr, momentum, nesterov, b1, b2,
                                                      eps, t)
    grad_before = raw.copy()
    sumsq = optimizer_step(theta, raw, None, m, v, n_coef, alpha, sw_sum,
                           {"sgd": SGD, "adam": ADAM}[solver], lr, momentum, nesterov, b1, b2,
                           eps, t)
    rtol = 1e-12 if dtype == np.float64 else 2e-5
    assert theta.dtype == dtype and m.dtype == dtype
    assert sumsq == pytest.approx(ref_sumsq, rel=rtol)
    np.testing.assert_array_equal(raw, grad_before)  # raw gradient is left alone
    np.testing.assert_allclose(theta, ref_theta, rtol=rtol, atol=rtol * lr)
    np.testing.assert_allclose(m, ref_m, rtol=rtol, atol=rtol * 1e-2)
    if solver == "adam":
        np.testing.assert_allclose(v, ref_v, rtol=rtol, atol=rtol * 1e-2)


@pytest.mark.nojit
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver,momentum,nesterov,t", [
    ("sgd", 0.9, True, 1), ("sgd", 0.5, False, 3), ("adam", 0.0, False, 1), ("adam", 0.0, False, 6),
])
def test_optimizer_step_last(solver, momentum, nesterov, t, dtype):
    """The step with ``last`` on ``grad + last`` (a split batch's last chunk added in the loop):
    bitwise ``optimizer_step`` on the sum, and ``grad`` / ``last`` left alone."""
    rng = np.random.RandomState(6)
    size, n_coef = 53, 37
    theta = rng.normal(size=size).astype(dtype)
    grad = rng.normal(scale=5, size=size).astype(dtype)
    last = rng.normal(scale=5, size=size).astype(dtype)
    m = (rng.normal(size=size) * (t > 1)).astype(dtype)
    v = (rng.uniform(0, 2, size=size) * (t > 1)).astype(dtype)
    if solver == "sgd":
        v = np.empty(0, dtype=dtype)
    code = {"sgd": SGD, "adam": ADAM}[solver]
    args = (n_coef, 0.3, 7.5, code, 0.01, momentum, nesterov, 0.85, 0.995, 1e-8, t)
    ref = [theta.copy(), grad + last, None, m.copy(), v.copy()]
    ref_sumsq = optimizer_step(*ref, *args)
    before = grad.copy(), last.copy()
    sumsq = optimizer_step(theta, grad, last, m, v, *args)
    assert sumsq == ref_sumsq
    np.testing.assert_array_equal(theta, ref[0])
    np.testing.assert_array_equal(m, ref[3])
    np.testing.assert_array_equal(v, ref[4])
    np.testing.assert_array_equal(grad, before[0])
    np.testing.assert_array_equal(last, before[1])


# ======================================================= whole network
NET = [30, 64, 32, 5]


def _net_case(dtype, seed=5, n=50, units=NET, n_wide=0, out="softmax", scale=0.3):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, units[0]))
    Xw = rng.normal(size=(n, n_wide)) if n_wide else None
    theta = rng.normal(scale=scale, size=n_params(make_layout(units, n_wide)))
    loss = {"softmax": "log_loss", "logistic": "binary_log_loss", "identity": "squared_error"}[out]
    Y = _targets(rng, loss, out, n, units[-1])
    sw = rng.uniform(0.2, 2.0, size=n)
    return (X.astype(dtype), None if Xw is None else Xw.astype(dtype), theta.astype(dtype),
            Y.astype(dtype), sw.astype(dtype), loss)


@pytest.mark.nojit
@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize("hidden,out", [("tanh", "softmax"), ("relu", "logistic"),
                                        ("gelu", "identity")])
def test_network_forward_backward_matches_numpy(hidden, out, dtype, tol):
    X, _, theta, Y, sw, loss = _net_case(dtype, out=out)
    deep, wide = _blocks(X, None, False, dtype)
    alpha = 0.1
    value, grad = kernel_loss_grad(theta, NET, 0, hidden, out, loss, 1.0, deep, wide, Y, sw,
                                   alpha)
    ref_value, ref_grad = ref_objective_grad(theta, NET, 0, hidden, out, loss, 1.0, X, None, Y,
                                             sw, alpha)
    assert grad.dtype == dtype
    assert _rel_err(grad, ref_grad) < tol
    assert value == pytest.approx(ref_value, rel=tol)
    _, As = ref_forward(theta, NET, 0, hidden, out, X, None)
    pred = kernel_predict(theta, NET, 0, hidden, out, deep, wide, X.shape[0], X.shape[0])
    assert pred.dtype == dtype
    assert _rel_err(pred, As[-1]) < tol


#: An autoencoder's shape: encoder, a narrow code layer with its own activation, decoder.
AE_UNITS = [6, 5, 2, 5, 6]


@pytest.mark.nojit
@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize("hidden", [["tanh", "identity", "tanh"], ["gelu", "elu", "softplus"]])
def test_per_layer_activations_match_numpy(hidden, dtype, tol):
    # Network.layer_codes: every hidden layer its own activation (forward, backward,
    # predict), the encoder and decoder as runs of the layers (contract.sub_network).
    from sknn._contract import sub_network

    rng = np.random.RandomState(3)
    X = rng.uniform(0, 1, size=(13, AE_UNITS[0]))
    X[0, 0], X[1, 1] = 0.0, 1.0
    theta = rng.normal(scale=0.5, size=n_params(make_layout(AE_UNITS, 0)))
    sw = rng.uniform(0.2, 2.0, size=13)
    Xd, thetad, swd = X.astype(dtype), theta.astype(dtype), sw.astype(dtype)
    deep, wide = _blocks(Xd, None, False, dtype)
    loss, out = "binary_crossentropy", "logistic"
    value, grad = kernel_loss_grad(thetad, AE_UNITS, 0, hidden, out, loss, 1.0, deep, wide, Xd,
                                   swd, 0.1)
    ref_value, ref_grad = ref_objective_grad(thetad, AE_UNITS, 0, hidden, out, loss, 1.0, Xd,
                                             None, Xd, swd, 0.1)
    assert grad.dtype == dtype
    assert value == pytest.approx(ref_value, rel=tol)
    assert _rel_err(grad, ref_grad) < tol
    _, As = ref_forward(thetad, AE_UNITS, 0, hidden, out, Xd, None)
    pred = kernel_predict(thetad, AE_UNITS, 0, hidden, out, deep, wide, 13, 5)
    assert _rel_err(pred, As[-1]) < tol
    net = _net(make_layout(AE_UNITS, 0), 0, hidden, out, dtype)
    code = np.empty((13, AE_UNITS[2]), dtype=dtype)
    _predict(thetad, sub_network(net, 0, 2, hidden[1]), deep, wide, code, 5)
    assert _rel_err(code, As[1]) < tol
    recon = np.empty((13, AE_UNITS[-1]), dtype=dtype)
    _predict(thetad, sub_network(net, 2, 4, out), _block(code, dtype), _block(None, dtype),
             recon, 5)
    assert _rel_err(recon, As[-1]) < tol
    # central differences of the whole objective, in the kernel's own dtype (a
    # wider step and tolerance for float32's rounding)
    h, fd_tol = (1e-6, 1e-6) if dtype == np.float64 else (1e-2, 1e-2)
    fd = central_differences(lambda t: kernel_loss_grad(
        t.astype(dtype), AE_UNITS, 0, hidden, out, loss, 1.0, deep, wide, Xd, swd, 0.1)[0],
        theta, h)
    assert _rel_err(grad, fd) < fd_tol


@pytest.mark.nojit
@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize("n_wide", [0, 3])
def test_backward_with_and_without_transposed_weights(n_wide, dtype, tol):
    # backward_pass copies small W_l transposed before delta @ W.T (a plain product
    # is faster in OpenBLAS); without the scratch it uses W.T directly.  Both must
    # give the reference gradient.
    X, Xw, theta, Y, sw, loss = _net_case(dtype, n_wide=n_wide)
    deep, wide = _blocks(X, Xw, False, dtype)
    layout = make_layout(NET, n_wide)
    assert _Workspace(layout, 4, deep, wide, "tanh", dtype).wtbuf.size == 64 * 32
    ref_value, ref_grad = ref_objective_grad(theta, NET, n_wide, "tanh", "softmax", loss, 1.0,
                                             X, Xw, Y, sw, 0.1)
    for transpose in (True, False):
        value, grad = kernel_loss_grad(theta, NET, n_wide, "tanh", "softmax", loss, 1.0, deep,
                                       wide, Y, sw, 0.1, transpose=transpose)
        assert _rel_err(grad, ref_grad) < tol, transpose
        assert value == pytest.approx(ref_value, rel=tol)


@pytest.mark.nojit
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_transpose_into(dtype):
    W = np.arange(12, dtype=dtype).reshape(3, 4) - 5.5
    out = np.full((4, 3), np.nan, dtype=dtype)
    transpose_into(W, out)
    np.testing.assert_array_equal(out, W.T)


@pytest.mark.nojit
def test_transpose_workspace_size():
    # only the rows fed by the previous layer, only for layers >= 1, only small W
    assert transpose_workspace_size(make_layout([8, 50, 50, 50, 1], 0), 8) == 50 * 50
    assert transpose_workspace_size(make_layout([4, 3, 2], 5), 8) == 3 * 2
    # a 300 x 100 float32 W (120 KB) is not copied; its 100 x 10 successor is
    assert transpose_workspace_size(make_layout([784, 300, 100, 10], 0), 4) == 100 * 10
    assert transpose_workspace_size(make_layout([5, 2], 0), 8) == 0


@pytest.mark.nojit
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sum_squares(dtype):
    x = np.random.RandomState(11).normal(size=1003).astype(dtype)
    ref = float(np.sum(x[:997].astype(np.float64) ** 2))
    got = sum_squares(x, 997)
    assert isinstance(got, float)
    assert got == pytest.approx(ref, rel=1e-12 if dtype == np.float64 else 1e-5)


@pytest.mark.nojit
def test_predict_forward_more_rows_than_a_chunk():
    # predict_forward caps its chunks at PREDICT_ROWS rows whatever chunk it is given
    units = [4, 6, 2]
    n = 2 * PREDICT_ROWS + 3
    rng = np.random.RandomState(12)
    X = rng.normal(size=(n, units[0]))
    theta = rng.normal(scale=0.5, size=n_params(make_layout(units, 0)))
    deep, wide = _blocks(X, None, False, np.float64)
    _, As = ref_forward(theta, units, 0, "relu", "softmax", X, None)
    pred = kernel_predict(theta, units, 0, "relu", "softmax", deep, wide, n, 4096)
    assert _rel_err(pred, As[-1]) < 1e-13


@pytest.mark.nojit
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("n_wide", [0, 4])
@pytest.mark.parametrize("hidden", ["tanh", "gelu"])
def test_predict_forward_chunked(hidden, n_wide, sparse):
    units = [9, 7, 5, 3]
    rng = np.random.RandomState(6)
    X = _sparse_X(rng, 23, units[0])
    Xw = _sparse_X(rng, 23, n_wide) if n_wide else None
    theta = rng.normal(scale=0.5, size=n_params(make_layout(units, n_wide)))
    deep, wide = _blocks(X, Xw, sparse, np.float64)
    _, As = ref_forward(theta, units, n_wide, hidden, "softmax", X, Xw)
    for chunk in (23, 100, 5, 1):
        pred = kernel_predict(theta, units, n_wide, hidden, "softmax", deep, wide, 23, chunk)
        assert _rel_err(pred, As[-1]) < 1e-13, chunk


@pytest.mark.nojit
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("n_wide", [0, 3])
def test_loss_grad_chunked_equals_unchunked(n_wide, sparse):
    units = [6, 5, 2]
    rng = np.random.RandomState(7)
    X = _sparse_X(rng, 17, units[0])
    Xw = _sparse_X(rng, 17, n_wide) if n_wide else None
    theta = rng.normal(scale=0.5, size=n_params(make_layout(units, n_wide)))
    Y = rng.normal(size=(17, 2))
    sw = rng.uniform(0.2, 2, size=17)
    deep, wide = _blocks(X, Xw, sparse, np.float64)
    args = (units, n_wide, "gelu", "identity", "huber", 0.8, deep, wide, Y, sw, 0.2)
    v_full, g_full = kernel_loss_grad(theta, *args)
    ref_v, ref_g = ref_objective_grad(theta, units, n_wide, "gelu", "identity", "huber", 0.8,
                                      X, Xw, Y, sw, 0.2)
    assert v_full == pytest.approx(ref_v, rel=1e-12)
    assert _rel_err(g_full, ref_g) < 1e-12
    for chunk in (4, 5, 16):
        v, g = kernel_loss_grad(theta, *args, chunk=chunk)
        assert v == pytest.approx(v_full, rel=1e-12)
        assert _rel_err(g, g_full) < 1e-12


# ==================================================== finite differences
def _fd_cases():
    cases = []
    k = 0
    for loss, out in LOSS_PAIRS:
        for n_wide in (0, 3):
            for sparse in (False, True):
                hidden = SMOOTH_HIDDEN[k % len(SMOOTH_HIDDEN)]
                kind = "csr" if sparse else "dense"
                cases.append(pytest.param(loss, out, n_wide, sparse, hidden,
                                          id=f"{loss}-{out}-wide{n_wide}-{kind}-{hidden}"))
                k += 1
    return cases


def _fd_data(loss, out, n_wide, hidden, hd):
    """Data whose objective is smooth within +-h of theta (rejection on the seed)."""
    units = [5, 6, 4, 3 if loss == "log_loss" else 2]
    n = 9
    layout = make_layout(units, n_wide)
    for seed in range(100):
        rng = np.random.RandomState(seed)
        X = _sparse_X(rng, n, units[0])
        Xw = _sparse_X(rng, n, n_wide) if n_wide else None
        theta = rng.normal(scale=0.6, size=n_params(layout))
        theta[layout[-1, 3]:] += _output_bias(loss, out)
        Y = _targets(rng, loss, out, n, units[-1])
        sw = rng.uniform(0.2, 3.0, size=n)
        sw[4] = 0.0
        Zs, As = ref_forward(theta, units, n_wide, hidden, out, X, Xw)
        margin = 1e-3
        ok = True
        if hidden in ("elu", "selu"):
            ok &= all(np.min(np.abs(Z)) > margin for Z in Zs[:-1])
        if out == "relu":
            ok &= np.min(np.abs(Zs[-1])) > margin
        R = np.abs(As[-1] - Y)
        if loss == "absolute_error":
            ok &= np.min(R) > margin
        if loss == "huber":
            ok &= np.min(np.abs(R - hd)) > margin and np.any(R > hd) and np.any(R < hd)
        if loss == "poisson":
            ok &= np.min(As[-1][Y > 0] if out == "relu" else As[-1]) > 1e-2
        if ok:
            return units, X, Xw, theta, Y, sw
    raise AssertionError("no smooth data found")


@pytest.mark.nojit
@pytest.mark.parametrize("loss,out,n_wide,sparse,hidden", _fd_cases())
def test_loss_grad_finite_differences(loss, out, n_wide, sparse, hidden):
    hd = 0.5
    alpha = 0.3
    units, X, Xw, theta, Y, sw = _fd_data(loss, out, n_wide, hidden, hd)
    deep, wide = _blocks(X, Xw, sparse, np.float64)
    value, grad = kernel_loss_grad(theta, units, n_wide, hidden, out, loss, hd, deep, wide, Y,
                                   sw, alpha)
    ref_value, ref_grad = ref_objective_grad(theta, units, n_wide, hidden, out, loss, hd, X, Xw,
                                             Y, sw, alpha)
    assert value == pytest.approx(ref_value, rel=1e-12)
    assert _rel_err(grad, ref_grad) < 1e-12
    fd = central_differences(lambda t: kernel_loss_grad(
        t, units, n_wide, hidden, out, loss, hd, deep, wide, Y, sw, alpha)[0], theta)
    assert _rel_err(grad, fd) < 1e-6


# ======================================================== train_epoch
def ref_train_epoch(theta, opt, units, n_wide, hidden, out, loss, hd, X, Xw, Y, sw, perm,
                    batch_size, alpha, solver, lr, momentum=0.9, nesterov=True, beta_1=0.9,
                    beta_2=0.999, epsilon=1e-8):
    theta = np.array(theta, dtype=np.float64)
    m = np.array(opt["m"], dtype=np.float64)
    v = np.array(opt["v"], dtype=np.float64)
    t = opt["t"]
    _, _, n_coef = unpack(theta, units, n_wide)
    total = 0.0
    for start in range(0, len(perm), batch_size):
        rows = perm[start: start + batch_size]
        s = float(np.sum(sw[rows]))
        if s <= 0:
            continue
        wloss, raw = ref_backprop(theta, units, n_wide, hidden, out, loss, hd, X[rows],
                                  None if Xw is None else Xw[rows], Y[rows], sw[rows])
        t += 1
        theta, m, v, sumsq = ref_optimizer(theta, raw, m, v, n_coef, alpha, s, solver, lr,
                                           momentum, nesterov, beta_1, beta_2, epsilon, t)
        total += (wloss + 0.5 * alpha * sumsq) / s * len(rows)
    return theta, {"m": m, "v": v, "t": t}, total


def _epoch_case(n=10, n_wide=0, seed=8, loss="log_loss", out="softmax"):
    units = [6, 5, 4, 3 if loss == "log_loss" else 2]
    rng = np.random.RandomState(seed)
    X = _sparse_X(rng, n, units[0])
    Xw = _sparse_X(rng, n, n_wide) if n_wide else None
    theta = rng.normal(scale=0.5, size=n_params(make_layout(units, n_wide)))
    Y = _targets(rng, loss, out, n, units[-1])
    sw = rng.uniform(0.2, 2.0, size=n)
    return units, X, Xw, theta, Y, sw


def _fresh_opt(size, solver, dtype, rng=None):
    m = np.zeros(size, dtype=dtype)
    v = np.zeros(size if solver == "adam" else 0, dtype=dtype)
    if rng is not None:  # a state from earlier epochs
        m[:] = rng.normal(scale=0.1, size=size)
        if solver == "adam":
            v[:] = rng.uniform(0, 0.1, size=size)
    return {"m": m, "v": v, "t": 0 if rng is None else 3}


@pytest.mark.nojit
@pytest.mark.parametrize("solver,nesterov", [("sgd", True), ("sgd", False), ("adam", False)])
@pytest.mark.parametrize("n_wide", [0, 2])
def test_train_epoch_full_batch_is_one_step(solver, nesterov, n_wide):
    units, X, Xw, theta, Y, sw = _epoch_case(n_wide=n_wide)
    n = X.shape[0]
    perm = np.random.RandomState(0).permutation(n).astype(np.int64)
    opt = _fresh_opt(theta.size, solver, np.float64)
    ref_theta, ref_opt, ref_total = ref_train_epoch(theta, opt, units, n_wide, "tanh", "softmax",
                                                    "log_loss", 1.0, X, Xw, Y, sw, perm, n,
                                                    0.2, solver, 0.05, nesterov=nesterov)
    # One full batch is one step on the full-batch objective's gradient.
    _, g = ref_objective_grad(theta, units, n_wide, "tanh", "softmax", "log_loss", 1.0, X, Xw,
                              Y, sw, 0.2)
    if solver == "sgd":
        np.testing.assert_allclose(ref_theta - theta, -0.05 * (1 + 0.9 * nesterov) * g,
                                   rtol=1e-10, atol=1e-14)
    deep, wide = _blocks(X, Xw, False, np.float64)
    th = theta.copy()
    total = kernel_train_epoch(th, opt, units, n_wide, "tanh", "softmax", "log_loss", 1.0, deep,
                               wide, Y, sw, perm, n, 0.2, solver, 0.05, nesterov=nesterov)
    assert opt["t"] == 1
    assert total == pytest.approx(ref_total, rel=1e-12)
    assert _rel_err(th - theta, ref_theta - theta) < 1e-10
    np.testing.assert_allclose(th, ref_theta, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(opt["m"], ref_opt["m"], rtol=1e-10, atol=1e-13)


def _assert_epoch_matches(total, theta, opt, ref_total, ref_theta, ref_opt, solver):
    """An epoch's loss sum, weights and optimizer state against ``ref_train_epoch``'s."""
    assert total == pytest.approx(ref_total, rel=1e-12)
    np.testing.assert_allclose(theta, ref_theta, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(opt["m"], ref_opt["m"], rtol=1e-10, atol=1e-12)
    if solver == "adam":
        np.testing.assert_allclose(opt["v"], ref_opt["v"], rtol=1e-10, atol=1e-14)


@pytest.mark.nojit
@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("n_wide", [0, 2])
@pytest.mark.parametrize("sparse", [False, True])
def test_train_epoch_minibatches_match_reference(solver, n_wide, sparse):
    units, X, Xw, theta, Y, sw = _epoch_case(n=11, n_wide=n_wide, loss="huber", out="identity")
    sw[[3, 8]] = 0.0  # perm below puts both into the batch [3, 8]: skipped, t not advanced
    perm = np.array([0, 5, 2, 9, 3, 8, 1, 10, 7, 6, 4], dtype=np.int64)
    rng = np.random.RandomState(9)
    opt = _fresh_opt(theta.size, solver, np.float64, rng)
    args = (units, n_wide, "elu", "identity", "huber", 0.6)
    ref_theta, ref_opt, ref_total = ref_train_epoch(theta, opt, *args, X, Xw, Y, sw, perm, 2,
                                                    0.1, solver, 0.03, momentum=0.8)
    deep, wide = _blocks(X, Xw, sparse, np.float64)
    th = theta.copy()
    total = kernel_train_epoch(th, opt, *args, deep, wide, Y, sw, perm, 2, 0.1, solver, 0.03,
                               momentum=0.8)
    assert opt["t"] == ref_opt["t"] == 3 + 5
    _assert_epoch_matches(total, th, opt, ref_total, ref_theta, ref_opt, solver)


@pytest.mark.nojit
@pytest.mark.parametrize("n_wide", [0, 3])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_train_epoch_sparse_equals_dense(solver, n_wide):
    units, X, Xw, theta, Y, sw = _epoch_case(n=13, n_wide=n_wide)
    perm = np.random.RandomState(1).permutation(13).astype(np.int64)
    results = []
    for sparse in (False, True):
        deep, wide = _blocks(X, Xw, sparse, np.float64)
        if sparse:
            assert deep[3].shape[0] == 14
        th = theta.copy()
        opt = _fresh_opt(theta.size, solver, np.float64)
        total = kernel_train_epoch(th, opt, units, n_wide, "gelu", "softmax", "log_loss", 1.0,
                                   deep, wide, Y, sw, perm, 4, 0.05, solver, 0.01)
        results.append((th, total, opt["t"]))
    (th_d, tot_d, t_d), (th_s, tot_s, t_s) = results
    assert t_d == t_s == 4
    assert tot_s == pytest.approx(tot_d, rel=1e-13)
    np.testing.assert_allclose(th_s, th_d, rtol=1e-13, atol=1e-14)
    assert not np.allclose(th_d, theta)


@pytest.mark.nojit
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_train_epoch_dtypes(dtype, sparse):
    units, X, Xw, theta, Y, sw = _epoch_case(n=12, n_wide=2, loss="squared_error", out="identity")
    perm = np.random.RandomState(2).permutation(12).astype(np.int64)
    ref_theta, _, ref_total = ref_train_epoch(
        theta.astype(dtype), _fresh_opt(theta.size, "sgd", np.float64), units, 2, "softplus",
        "identity", "squared_error", 1.0, X.astype(dtype), Xw.astype(dtype), Y.astype(dtype),
        sw.astype(dtype), perm, 5, 0.1, "sgd", 0.02)
    deep, wide = _blocks(X.astype(dtype), Xw.astype(dtype), sparse, dtype)
    th = theta.astype(dtype)
    opt = _fresh_opt(theta.size, "sgd", dtype)
    total = kernel_train_epoch(th, opt, units, 2, "softplus", "identity", "squared_error", 1.0,
                               deep, wide, Y.astype(dtype), sw.astype(dtype), perm, 5, 0.1,
                               "sgd", 0.02)
    assert th.dtype == dtype and opt["m"].dtype == dtype
    tol = 1e-12 if dtype == np.float64 else 1e-5
    assert total == pytest.approx(ref_total, rel=tol)
    np.testing.assert_allclose(th, ref_theta, rtol=tol, atol=tol)
    # float32 Adam runs and stays finite
    th = theta.astype(dtype)
    opt = _fresh_opt(theta.size, "adam", dtype)
    total = kernel_train_epoch(th, opt, units, 2, "softplus", "identity", "squared_error", 1.0,
                               deep, wide, Y.astype(dtype), sw.astype(dtype), perm, 5, 0.1,
                               "adam", 0.02)
    assert th.dtype == dtype and np.all(np.isfinite(th)) and np.isfinite(total)
    assert opt["t"] == 3


@pytest.mark.nojit
@pytest.mark.parametrize("sparse", [False, True])
def test_kernels_accept_read_only_inputs(sparse):
    units, X, Xw, theta, Y, sw = _epoch_case(n=9, n_wide=2)
    perm = np.arange(9, dtype=np.int64)
    deep, wide = _blocks(X, Xw, sparse, np.float64)
    deep_ro = tuple(None if a is None else _ro(a) for a in deep)
    wide_ro = tuple(None if a is None else _ro(a) for a in wide)
    Y_ro, sw_ro, perm_ro = _ro(Y), _ro(sw), _ro(perm)
    layout_ro = _ro(make_layout(units, 2))
    ref_theta, _, ref_total = ref_train_epoch(theta, _fresh_opt(theta.size, "adam", np.float64),
                                              units, 2, "tanh", "softmax", "log_loss", 1.0, X,
                                              Xw, Y, sw, perm, 4, 0.1, "adam", 0.01)
    th = theta.copy()
    opt = _fresh_opt(theta.size, "adam", np.float64)
    total = kernel_train_epoch(th, opt, units, 2, "tanh", "softmax", "log_loss", 1.0, deep_ro,
                               wide_ro, Y_ro, sw_ro, perm_ro, 4, 0.1, "adam", 0.01,
                               layout=layout_ro)
    assert total == pytest.approx(ref_total, rel=1e-12)
    np.testing.assert_allclose(th, ref_theta, rtol=1e-12, atol=1e-13)
    # predict with read-only parameters too (e.g. a memory-mapped pickle)
    theta_ro = _ro(theta)
    out = np.empty((9, units[-1]))
    _predict(theta_ro, _net(layout_ro, 2, "tanh", "softmax"), deep_ro, wide_ro, out, 4)
    _, As = ref_forward(theta, units, 2, "tanh", "softmax", X, Xw)
    assert _rel_err(out, As[-1]) < 1e-13
    # and the full-batch objective
    v, g = kernel_loss_grad(theta_ro, units, 2, "tanh", "softmax", "log_loss", 1.0, deep_ro,
                            wide_ro, Y_ro, sw_ro, 0.1)
    ref_v, ref_g = ref_objective_grad(theta, units, 2, "tanh", "softmax", "log_loss", 1.0, X, Xw,
                                      Y, sw, 0.1)
    assert v == pytest.approx(ref_v, rel=1e-12)
    assert _rel_err(g, ref_g) < 1e-12


@pytest.mark.nojit
def test_make_layout_offsets():
    units, n_wide = [4, 3, 2], 5
    layout = make_layout(units, n_wide)
    theta = np.arange(n_params(layout), dtype=np.float64)
    Ws, bs, n_coef = unpack(theta, units, n_wide)
    assert n_coef == layout[0, 3]
    assert [W.shape for W in Ws] == [(4, 3), (3 + 5, 2)]
    for l, (fi, fo, w, b) in enumerate(layout):
        np.testing.assert_array_equal(theta[w: w + fi * fo].reshape(fi, fo), Ws[l])
        np.testing.assert_array_equal(theta[b: b + fo], bs[l])


@pytest.mark.nojit
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("n_wide", [0, 3])
def test_network_without_hidden_layers(n_wide, sparse):
    # L = 1: the first layer is also the output layer (and takes the wide rows).
    units = [5, 2]
    rng = np.random.RandomState(10)
    X = _sparse_X(rng, 8, 5)
    Xw = _sparse_X(rng, 8, n_wide) if n_wide else None
    theta = rng.normal(scale=0.5, size=n_params(make_layout(units, n_wide)))
    Y = rng.uniform(0, 1, size=(8, 2))
    sw = rng.uniform(0.2, 2, size=8)
    deep, wide = _blocks(X, Xw, sparse, np.float64)
    v, g = kernel_loss_grad(theta, units, n_wide, "tanh", "sigmoid", "squared_error", 1.0,
                            deep, wide, Y, sw, 0.1)
    ref_v, ref_g = ref_objective_grad(theta, units, n_wide, "tanh", "sigmoid", "squared_error",
                                      1.0, X, Xw, Y, sw, 0.1)
    assert v == pytest.approx(ref_v, rel=1e-12)
    assert _rel_err(g, ref_g) < 1e-12
    pred = kernel_predict(theta, units, n_wide, "tanh", "sigmoid", deep, wide, 8, 3)
    _, As = ref_forward(theta, units, n_wide, "tanh", "sigmoid", X, Xw)
    assert _rel_err(pred, As[-1]) < 1e-13


# sknn's jit (``sknn/_numba.py``): a ``static`` argument given a ``Code`` compiles
# only its own branch; numba's IR-level inlining is refused.
@jit(static=("code",))
def _static_branch(x, code):
    if code == 0:
        return x + 1.0
    return x.no_such_attribute  # does not type: compiled only for a plain int


@pytest.mark.skipif(numba_config.DISABLE_JIT, reason="numba's typing and pruning")
def test_static_code_compiles_only_its_branch():
    assert _static_branch(1.0, Code(0)) == 2.0
    with pytest.raises(numba.TypingError, match="no_such_attribute"):
        _static_branch(1.0, 0)  # a plain int: the generic kernel, every branch


@pytest.mark.nojit
def test_jit_refuses_numba_inline():
    with pytest.raises(ValueError, match="'inline'"):
        jit(inline="always")


# ======================================================== unit split (several threads)
class _InOrder:
    """A stand-in for ``sknn._parallel.Team`` that runs a job's tasks one after another
    in ``order``: the first member does every piece, the later ones find them done
    (what a worker that starts late sees)."""

    def __init__(self, order):
        self.n = len(order)
        self.order = order

    def run(self, phases):
        for _, fn in phases:
            for i in self.order:
                fn(i, i)


def kernel_unit_split_epoch(theta, opt, units, hidden, out, loss, hd, X, Y, sw, perm,
                            batch_size, alpha, solver, lr, members=1, order=None, momentum=0.9,
                            nesterov=True):
    """``UnitSplitEpochs.epoch`` (``unit_split_epoch`` on every member) on a ``Team``
    of ``members`` threads, or on ``_InOrder(order)``; returns the epoch's loss sum.
    Every phase of these small layers is split as far as 16-unit pieces go."""
    import sknn._parallel as par
    from sknn._parallel import Team, UnitSplitEpochs

    par.MIN_UNIT_PIECE_FLOPS, saved = 1.0, par.MIN_UNIT_PIECE_FLOPS

    dtype = theta.dtype
    layout = make_layout(units, 0)
    deep, wide = _blocks(X, None, False, dtype)
    ws = _Workspace(layout, batch_size, deep, wide, hidden, dtype)
    records = (_net(layout, 0, hidden, out, dtype), Objective(LOSS_CODES[loss], hd, float(alpha)),
               Data(deep, wide, Y.astype(dtype), sw.astype(dtype)), ws)
    step = OptimizerStep({"sgd": SGD, "adam": ADAM}[solver], lr, momentum, nesterov, 0.9, 0.999,
                         1e-8, opt["m"], opt["v"], opt["t"])
    try:
        with Team(1 if order else members) as team:
            split = UnitSplitEpochs(_InOrder(order) if order else team, records)
            total, t = split.epoch(theta, records, step, perm, batch_size)
    finally:
        par.MIN_UNIT_PIECE_FLOPS = saved
    opt["t"] = t
    return total


@pytest.mark.nojit
def test_unit_split_pieces():
    """Pieces: 16-unit aligned, covering every unit once, a power of two in number,
    none under the flops floor (a phase below it is one piece)."""
    from sknn._kernels.unit_split import PIECES_PER_PHASE, n_pieces, piece_bounds

    for units in (1, 15, 16, 17, 40, 100, 300, 784):
        for flops in (1.0, 1e4, 1e9):
            npc = n_pieces(units, flops, 2e6)
            assert npc in (1, 2, 4) and npc <= PIECES_PER_PHASE
            assert npc == 1 or units * flops / npc >= 2e6
            bounds = [piece_bounds(units, npc, k) for k in range(npc)]
            assert bounds[0][0] == 0 and bounds[-1][1] == units
            assert all(a % 16 == 0 and a < b for a, b in bounds)
            assert all(b == a2 for (_, b), (a2, _) in zip(bounds[:-1], bounds[1:]))
    assert n_pieces(300, 2 * 200 * 784, 2e6) == 4  # FMNIST's first layer at batch 200
    assert n_pieces(100, 10.0, 2e6) == 1


# Wide enough for several 16-unit pieces per phase (40 inputs: 3, 37 units: 3, 20: 2).
SPLIT_UNITS = [40, 37, 20, 3]


def _split_case(loss, out, n=23, seed=4):
    units = SPLIT_UNITS if loss == "log_loss" else SPLIT_UNITS[:-1] + [2]
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, units[0]))
    theta = rng.normal(scale=0.3, size=n_params(make_layout(units, 0)))
    Y = _targets(rng, loss, out, n, units[-1])
    sw = rng.uniform(0.2, 2.0, size=n)
    return units, X, theta, Y, sw


@pytest.mark.nojit
@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("members", [1, 2])
@pytest.mark.parametrize("hidden,out,loss", [("relu", "softmax", "log_loss"),
                                             (["tanh", "gelu"], "identity", "huber")])
def test_unit_split_epoch_matches_reference(solver, members, hidden, out, loss):
    """Mini-batches split by units: NumPy's epoch (a batch of zero weight skipped,
    a short last batch), on one thread and two."""
    units, X, theta, Y, sw = _split_case(loss, out)
    perm = np.random.RandomState(1).permutation(X.shape[0]).astype(np.int64)
    sw[perm[8:16]] = 0.0  # the second batch carries no information
    opt = _fresh_opt(theta.size, solver, np.float64, np.random.RandomState(9))
    ref_theta, ref_opt, ref_total = ref_train_epoch(theta, opt, units, 0, hidden, out, loss, 0.7,
                                                    X, None, Y, sw, perm, 8, 0.1, solver, 0.03,
                                                    momentum=0.8)
    th = theta.copy()
    total = kernel_unit_split_epoch(th, opt, units, hidden, out, loss, 0.7, X, Y, sw, perm, 8,
                                    0.1, solver, 0.03, members=members, momentum=0.8)
    assert opt["t"] == ref_opt["t"] == 3 + 2
    _assert_epoch_matches(total, th, opt, ref_total, ref_theta, ref_opt, solver)


@pytest.mark.nojit
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_unit_split_same_bits_whoever_takes_the_pieces(dtype):
    """The weights and the loss do not depend on which member ran which piece:
    one member, either member doing everything first, three threads."""
    units, X, theta, Y, sw = _split_case("log_loss", "softmax", n=40)
    perm = np.random.RandomState(2).permutation(40).astype(np.int64)
    results = []
    for members, order in ((1, None), (2, [0, 1]), (2, [1, 0]), (3, None)):
        th = theta.astype(dtype)
        opt = _fresh_opt(theta.size, "adam", dtype)
        total = kernel_unit_split_epoch(th, opt, units, "relu", "softmax", "log_loss", 1.0,
                                        X.astype(dtype), Y, sw, perm, 16, 1e-2, "adam", 1e-2,
                                        members=members, order=order)
        results.append((th, opt["m"], opt["v"], total, opt["t"]))
    for th, m, v, total, t in results[1:]:
        np.testing.assert_array_equal(th, results[0][0])
        np.testing.assert_array_equal(m, results[0][1])
        np.testing.assert_array_equal(v, results[0][2])
        assert total == results[0][3] and t == results[0][4] == 3


@pytest.mark.nojit
@pytest.mark.parametrize("hidden", ["tanh", "softplus"])
def test_unit_split_step_is_the_finite_difference_gradient(hidden):
    """One full batch of plain SGD through the unit split moves theta by -lr times
    the objective's gradient by central differences."""
    units, X, theta, Y, sw = _split_case("squared_error", "identity", n=12)
    units = [X.shape[1], 18, 2]
    theta = np.random.RandomState(6).normal(scale=0.3, size=n_params(make_layout(units, 0)))
    opt = _fresh_opt(theta.size, "sgd", np.float64)
    th = theta.copy()
    lr = 1e-3
    kernel_unit_split_epoch(th, opt, units, hidden, "identity", "squared_error", 1.0, X, Y, sw,
                            np.arange(12, dtype=np.int64), 12, 0.2, "sgd", lr, momentum=0.0,
                            nesterov=False)
    fd = central_differences(lambda t: ref_objective_grad(
        t, units, 0, hidden, "identity", "squared_error", 1.0, X, None, Y, sw, 0.2)[0], theta)
    assert _rel_err((theta - th) / lr, fd) < 1e-6


@pytest.mark.nojit
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_strided_dot_matches_numpy(dtype):
    """``C[...] = A @ B`` on column blocks and transposed row blocks, in place."""
    rng = np.random.RandomState(0)
    P = rng.normal(size=(9, 30)).astype(dtype)
    Q = rng.normal(size=(30, 21)).astype(dtype)
    R = rng.normal(size=(9, 21)).astype(dtype)
    c = gemm_constants(dtype)
    tol = dict(rtol=1e-5 if dtype == np.float32 else 1e-13, atol=1e-5)
    cases = [
        (P[:, 5:21], Q[5:21, 3:19], 16),    # column blocks (rows apart by the parent width)
        (P[:, 4:20].T, R[:, 2:18], 16),     # a transposed column block: X[:, i0:i1].T
        (R, Q[3:19].T, 9),                  # a transposed row block: W[i0:i1].T
        (P[:1, :30], Q[:, :1], 1),          # one row, one column
        (R[:, 20:21], Q[7:8, :], 9),        # one column times one row
    ]
    for A, B, _ in cases:
        out = np.full((A.shape[0], B.shape[1] + 5), np.nan, dtype=dtype)
        C = out[:, 2: 2 + B.shape[1]]
        strided_dot(A, B, C, c)
        np.testing.assert_allclose(C, A.astype(np.float64) @ B.astype(np.float64), **tol)
        assert np.isnan(out[:, :2]).all() and np.isnan(out[:, 2 + B.shape[1]:]).all()


@jit(nogil=True)
def _bump(counters, times):
    last = 0
    for _ in range(times):
        last = atomic_add(counters, 1, 1)
    return last


@jit(nogil=True)
def _wait(counters, i, target):
    wait_until(counters, i, target, 0)
    return atomic_load(counters, i)


@jit(nogil=True)
def _add_and_wake(counters, i, wake):
    atomic_add(counters, i, 1)
    if wake:
        wake_waiters(counters, i)


@pytest.mark.nojit
@pytest.mark.parametrize("how", ["woken", "not woken", "aborted"])
def test_kernel_wait_returns(how):
    """A thread sleeping in the kernels' ``wait_until`` (a futex on Linux) returns
    when the finishing thread wakes it, when the count is reached without a wake-up
    (the sleep is bounded), and when another thread sets the abort flag."""
    import threading
    import time

    counters = np.zeros(3, dtype=np.int64)
    _add_and_wake(counters, 1, True)  # compiled before the clock starts
    _wait(counters, 1, 1)
    counters[2] = 5
    seen, cpu = [], []
    target = 100 if how == "aborted" else 6

    def wait():
        c0 = time.thread_time()
        seen.append(_wait(counters, 2, target))
        cpu.append(time.thread_time() - c0)

    waiter = threading.Thread(target=wait, daemon=True)
    waiter.start()
    time.sleep(0.3)  # the waiter is past its spin and asleep by now
    assert waiter.is_alive()
    if how == "aborted":
        counters[0] = 1
    else:
        _add_and_wake(counters, 2, how == "woken")
    waiter.join(timeout=30)
    assert not waiter.is_alive()
    assert seen == [6 if how != "aborted" else 5]
    assert cpu[0] < 0.15  # it slept: a failing futex call would spin through the 0.3 s


@pytest.mark.nojit
def test_atomic_counters_and_wait():
    """Increments from two threads at once are never lost; a waiter returns when the
    count is reached or when another thread set the abort flag."""
    import threading

    counters = np.zeros(3, dtype=np.int64)
    times = 20000 if numba_config.DISABLE_JIT else 2_000_000
    _bump(counters, 1)
    counters[1] = 0
    threads = [threading.Thread(target=_bump, args=(counters, times)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counters[1] == 2 * times and atomic_load(counters, 1) == 2 * times
    assert atomic_add(counters, 2, 5) == 0 and counters[2] == 5

    def later():
        import time

        time.sleep(0.05)
        atomic_add(counters, 2, 1)

    threading.Thread(target=later).start()
    wait_until(counters, 2, 6, 0)  # returns once the other thread added its 1
    assert counters[2] == 6
    counters[0] = 1
    wait_until(counters, 2, 100, 0)  # aborted: returns although 100 is never reached
