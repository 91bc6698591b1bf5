"""Batch normalization, dropout and the auxiliary output: kernels and layout.

Kernel tests compare ``sknn._kernels.layers`` with plain NumPy references written
out here, and check gradients by central finite differences, in float32 and
float64.  Tests marked ``nojit`` also run with ``NUMBA_DISABLE_JIT=1``.
"""


import numpy as np
import pytest
from _helpers import central_differences
from _helpers import rel_err as _rel_err

from sknn._base import _block, _Workspace
from sknn._kernels.layers import (
    batch_norm_backward,
    batch_norm_moving_update,
    batch_norm_train,
    dropout_backward,
    dropout_forward,
    row_keys,
)
from sknn._layout import (
    coef_views,
    fold_batch_norm,
    gamma_views,
    init_moving,
    init_theta,
    intercept_views,
    make_layout,
    make_layouts,
    moving_views,
    n_params,
)

pytestmark = pytest.mark.filterwarnings("error")

DTYPES = [np.float64, np.float32]


def _tol(dtype):
    return 1e-12 if dtype == np.float64 else 2e-5


# ---------------------------------------------------------------- references
def ref_bn_stats(Z, w):
    """Weighted mean and biased weighted variance per column."""
    Z = np.asarray(Z, np.float64)
    w = np.asarray(w, np.float64)
    mean = np.average(Z, axis=0, weights=w)
    var = np.average((Z - mean) ** 2, axis=0, weights=w)
    return mean, var


def ref_bn_forward(Z, w, gamma, beta, eps):
    mean, var = ref_bn_stats(Z, w)
    xhat = (np.asarray(Z, np.float64) - mean) / np.sqrt(var + eps)
    return gamma * xhat + beta, xhat, mean, var


def ref_bn_backward(D, Z, w, gamma, eps):
    """dL/dz and dL/dgamma for L = sum(D * y), by the full Jacobian of each column."""
    Z = np.asarray(Z, np.float64)
    D = np.asarray(D, np.float64)
    w = np.asarray(w, np.float64)
    n, m = Z.shape
    _, xhat, mean, var = ref_bn_forward(Z, w, gamma, 0.0, eps)
    S = w.sum()
    dz = np.empty_like(Z)
    for j in range(m):
        r = 1.0 / np.sqrt(var[j] + eps)
        c = Z[:, j] - mean[j]
        # J[i, k] = d xhat_i / d z_k
        J = r * (np.eye(n) - w[None, :] / S) - np.outer(c, c * w) * r**3 / S
        dz[:, j] = gamma[j] * (J.T @ D[:, j])
    return dz, (D * xhat).sum(axis=0)


def _bn_case(dtype, n=13, m=5, seed=0, zero_row=None):
    rng = np.random.RandomState(seed)
    Z = rng.normal(loc=2.0, scale=1.5, size=(n, m))
    w = rng.uniform(0.2, 3.0, size=n)
    if zero_row is not None:
        w[zero_row] = 0.0
        Z[zero_row] = 50.0  # far from the others: would move every statistic
    gamma = rng.uniform(0.5, 1.5, size=m)
    beta = rng.normal(size=m)
    D = rng.normal(size=(n, m)) * w[:, None]  # deltas carry the sample weights
    return (
        Z.astype(dtype),
        w.astype(dtype),
        gamma.astype(dtype),
        beta.astype(dtype),
        D.astype(dtype),
    )


def kernel_bn_train(Z, w, gamma, eps):
    n, m = Z.shape
    Zk = Z.copy()
    xhat = np.full_like(Z, np.nan)
    mean, var, rstd = (np.full(m, np.nan) for _ in range(3))
    batch_norm_train(Zk, w, gamma, eps, xhat, mean, var, rstd)
    return Zk, xhat, mean, var, rstd


# ============================================================ batch norm
@pytest.mark.nojit
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("zero_row", [None, 3])
def test_batch_norm_train_matches_numpy(dtype, zero_row):
    Z, w, gamma, beta, _ = _bn_case(dtype, zero_row=zero_row)
    eps = 1e-3
    Zk, xhat, mean, var, rstd = kernel_bn_train(Z, w, gamma, eps)
    keep = w > 0
    ref_y, ref_xhat, ref_mean, ref_var = ref_bn_forward(Z[keep], w[keep], gamma, 0.0, eps)
    tol = _tol(dtype)
    assert Zk.dtype == dtype and xhat.dtype == dtype
    assert _rel_err(mean, ref_mean) < tol
    assert _rel_err(var, ref_var) < tol
    np.testing.assert_allclose(rstd, 1 / np.sqrt(ref_var + eps), rtol=tol)
    assert _rel_err(xhat[keep], ref_xhat) < tol
    assert _rel_err(Zk[keep], ref_y) < tol
    # a weighted row is normalised with the statistics of the weighted rows
    if zero_row is not None:
        expected = (Z[zero_row].astype(np.float64) - ref_mean) / np.sqrt(ref_var + eps)
        assert _rel_err(xhat[zero_row], expected) < tol


@pytest.mark.nojit
@pytest.mark.parametrize("dtype", DTYPES)
def test_batch_norm_train_integer_weights_equal_repeated_rows(dtype):
    Z, _, gamma, _, _ = _bn_case(dtype, n=6)
    w = np.array([1, 2, 0, 3, 1, 1], dtype=dtype)
    _, _, mean, var, _ = kernel_bn_train(Z, w, gamma, 1e-3)
    Zr = np.repeat(Z, w.astype(int), axis=0)
    _, _, mean_r, var_r, _ = kernel_bn_train(Zr, np.ones(len(Zr), dtype=dtype), gamma, 1e-3)
    np.testing.assert_allclose(mean, mean_r, rtol=_tol(dtype))
    np.testing.assert_allclose(var, var_r, rtol=_tol(dtype))


@pytest.mark.nojit
@pytest.mark.parametrize("dtype", DTYPES)
def test_batch_norm_train_float32_large_mean(dtype):
    # two-pass statistics: a large common offset does not swamp the variance
    rng = np.random.RandomState(3)
    Z = (1e4 + rng.normal(size=(40, 3))).astype(dtype)
    w = np.ones(40, dtype=dtype)
    _, _, mean, var, _ = kernel_bn_train(Z, w, np.ones(3, dtype=dtype), 1e-3)
    _, ref_var = ref_bn_stats(Z, w)
    np.testing.assert_allclose(var, ref_var, rtol=1e-10)


@pytest.mark.nojit
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("zero_row", [None, 4])
def test_batch_norm_backward_matches_numpy(dtype, zero_row):
    Z, w, gamma, _, D = _bn_case(dtype, zero_row=zero_row)
    eps = 1e-3
    _, xhat, _, _, rstd = kernel_bn_train(Z, w, gamma, eps)
    gbeta = D.sum(axis=0)
    ggamma = np.full(Z.shape[1], np.nan, dtype=dtype)
    Dk = D.copy()
    batch_norm_backward(Dk, xhat, w, gamma, rstd, gbeta, ggamma)
    keep = w > 0
    ref_dz, ref_gg = ref_bn_backward(D[keep], Z[keep], w[keep], gamma.astype(np.float64), eps)
    tol = _tol(dtype)
    assert Dk.dtype == dtype and ggamma.dtype == dtype
    assert _rel_err(Dk[keep], ref_dz) < tol
    assert _rel_err(ggamma, ref_gg) < tol
    if zero_row is not None:  # zero weight, zero delta: no gradient through this row
        assert np.all(Dk[zero_row] == 0)


@pytest.mark.nojit
def test_batch_norm_backward_finite_differences():
    # L(z, gamma) = sum(C * (gamma * xhat(z) + beta)) * w: the gradient the kernel
    # forms from D = w * C, checked against central differences of the forward kernel
    Z, w, gamma, beta, _ = _bn_case(np.float64, n=9, m=3, seed=1, zero_row=2)
    C = np.random.RandomState(2).normal(size=Z.shape)
    eps = 1e-3

    def objective(Z_, gamma_):
        y = kernel_bn_train(Z_, w, gamma_, eps)[0] + beta
        return float(np.sum(w[:, None] * C * y))

    _, xhat, _, _, rstd = kernel_bn_train(Z, w, gamma, eps)
    D = w[:, None] * C
    Dk = D.copy()
    ggamma = np.empty(3)
    batch_norm_backward(Dk, xhat, w, gamma, rstd, D.sum(axis=0), ggamma)
    fd = central_differences(lambda z: objective(z, gamma), Z)
    fd_g = central_differences(lambda g: objective(Z, g), gamma)
    assert _rel_err(Dk, fd) < 1e-6
    assert _rel_err(ggamma, fd_g) < 1e-6
    np.testing.assert_array_equal(fd[2], 0.0)  # the zero-weight row moves nothing


@pytest.mark.nojit
@pytest.mark.parametrize("dtype", DTYPES)
def test_batch_norm_moving_update(dtype):
    rng = np.random.RandomState(4)
    mm = rng.normal(size=6).astype(dtype)
    mv = rng.uniform(0.5, 2, size=6).astype(dtype)
    mean, var = rng.normal(size=6), rng.uniform(0.5, 2, size=6)
    ref_m = 0.9 * mm.astype(np.float64) + 0.1 * mean
    ref_v = 0.9 * mv.astype(np.float64) + 0.1 * var
    batch_norm_moving_update(mm, mv, mean, var, 0.9)
    assert mm.dtype == dtype
    np.testing.assert_allclose(mm, ref_m, rtol=_tol(dtype))
    np.testing.assert_allclose(mv, ref_v, rtol=_tol(dtype))


# ============================================================== dropout
M32 = 0xFFFFFFFF


def ref_mix32(x):
    x = (((x >> 16) ^ x) * 0x45D9F3B) & M32
    x = (((x >> 16) ^ x) * 0x45D9F3B) & M32
    return (x >> 16) ^ x


def ref_row_key(row):
    """mix32 of the sum over non-zero entries of bits(value) * c(column), mod 2**32."""
    h = 0
    for j, v in enumerate(row):
        if v != 0:
            if row.dtype == np.float64:
                u = int(np.float64(v).view(np.uint64))
                bits = (u ^ (u >> 32)) & M32
            else:
                bits = int(np.float32(v).view(np.uint32))
            h += (bits * ((ref_mix32(j) >> 1) | 1)) % 2**32
    return ref_mix32(h % 2**32)


def ref_mask(keys, rows, seed, layer, m, rate):
    base = ref_mix32((seed + ref_mix32(layer)) & M32)
    mask = np.empty((len(rows), m))
    for i, r in enumerate(rows):
        h = ref_mix32(int(keys[r]) ^ base)
        for j in range(m):
            u = ref_mix32((h + j * 0x9E3779B1) & M32) / 2.0**32
            mask[i, j] = 1 / (1 - rate) if u >= rate else 0.0
    return mask


def _keys(X):
    keys = np.empty(X.shape[0], dtype=np.int64)
    row_keys(_block(X, X.dtype), keys)
    return keys


@pytest.mark.nojit
@pytest.mark.parametrize("dtype", DTYPES)
def test_row_keys(dtype):
    rng = np.random.RandomState(9)
    X = rng.normal(size=(7, 5)).astype(dtype)
    X[X < -0.5] = 0
    X[4] = X[1]  # equal rows, equal keys
    X[5, 2] = -0.0  # the same value as 0.0 (CSR does not store it)
    X[6, :] = X[0]
    X[6, 0] = np.nextafter(X[0, 0], np.inf, dtype=dtype)  # one bit differs
    keys = _keys(X)
    assert keys.tolist() == [ref_row_key(row) for row in X]
    X[5, 2] = 0.0
    assert _keys(X)[5] == keys[5]
    assert keys[4] == keys[1] and len(set(keys.tolist())) == 6
    assert np.all((keys >= 0) & (keys <= M32))
    import scipy.sparse as sp

    np.testing.assert_array_equal(_keys(sp.csr_matrix(X)), keys)  # storage does not matter


@pytest.mark.nojit
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rate", [0.2, 0.5])
def test_dropout_forward_matches_reference(dtype, rate):
    rng = np.random.RandomState(5)
    A = rng.normal(size=(9, 7)).astype(dtype)
    keys = rng.randint(0, 2**32, size=20).astype(np.int64)
    rows = rng.permutation(20)[:9].astype(np.int64)
    out = np.full_like(A, np.nan)
    dropout_forward(A, rate, out, keys, rows, 123, 2)
    ref = ref_mask(keys, rows, 123, 2, 7, rate).astype(dtype)
    np.testing.assert_array_equal(out, A * ref)
    assert out.dtype == dtype
    # another seed or layer gives another mask; the same row the same mask anywhere
    out2 = np.empty_like(out)
    dropout_forward(A, rate, out2, keys, rows, 124, 2)
    assert not np.array_equal(out2 == 0, out == 0)
    dropout_forward(A, rate, out2, keys, rows, 123, 3)
    assert not np.array_equal(out2 == 0, out == 0)
    dropout_forward(A[::-1].copy(), rate, out2, keys, rows[::-1].copy(), 123, 2)
    np.testing.assert_array_equal(out2, out[::-1])


@pytest.mark.nojit
def test_dropout_rate_is_kept_fraction():
    A = np.ones((400, 50))
    mask = np.empty_like(A)  # the mask itself: dropout of ones
    keys = np.arange(400, dtype=np.int64)  # distinct rows
    dropout_forward(A, 0.3, mask, keys, np.arange(400, dtype=np.int64), 7, 0)
    out = mask
    dropped = np.mean(mask == 0)
    # 5 binomial standard errors of 20000 draws
    assert abs(dropped - 0.3) < 5 * np.sqrt(0.3 * 0.7 / A.size)
    # inverted dropout keeps the expected activation
    assert abs(out.mean() - 1.0) < 5 * np.sqrt(0.3 / 0.7 / A.size)
    # units and rows are not correlated: per-unit and per-row rates stay binomial
    assert np.all(np.abs((mask == 0).mean(axis=0) - 0.3) < 6 * np.sqrt(0.21 / 400))
    assert np.all(np.abs((mask == 0).mean(axis=1) - 0.3) < 6 * np.sqrt(0.21 / 50))


@pytest.mark.nojit
@pytest.mark.parametrize("dtype", DTYPES)
def test_dropout_backward(dtype):
    rng = np.random.RandomState(6)
    A = rng.normal(size=(9, 4)).astype(dtype)
    keys = rng.randint(0, 2**32, size=12).astype(np.int64)
    rows = rng.permutation(12)[:9].astype(np.int64)
    mask = ref_mask(keys, rows, 7, 1, 4, 0.4).astype(dtype)
    D = rng.normal(size=A.shape).astype(dtype)
    Dk = D.copy()
    dropout_backward(Dk, 0.4, keys, rows, 7, 1)
    # d(sum(D * out))/dA = D * mask, the mask dropout_forward draws
    np.testing.assert_array_equal(Dk, D * mask)


# =============================================================== layout
def test_make_layouts_default_is_plain_layout():
    layout, aux, gamma_off = make_layouts([5, 4, 3, 2], 2)
    np.testing.assert_array_equal(layout, make_layout([5, 4, 3, 2], 2))
    assert aux.shape == (0, 4) and gamma_off == -1
    assert n_params(layout, aux, gamma_off) == n_params(layout)


def test_make_layouts_aux_and_gamma():
    units, n_wide = [5, 4, 3, 2], 2
    layout, aux, gamma_off = make_layouts(units, n_wide, aux_outputs=2, batch_norm=True)
    # [W0 W1 W2 Waux | b0 b1 b2 baux | gamma0 gamma1]
    n_coef = 5 * 4 + 4 * 3 + (3 + 2) * 2 + 3 * 2
    assert layout[0, 3] == n_coef
    np.testing.assert_array_equal(aux, [[3, 2, 5 * 4 + 4 * 3 + 5 * 2, n_coef + 4 + 3 + 2]])
    assert gamma_off == n_coef + 4 + 3 + 2 + 2
    # gamma and beta lie after the coefficients: trained, never L2-penalised
    assert gamma_off > layout[0, 3] and layout[0, 3] == n_coef
    assert n_params(layout, aux, gamma_off) == gamma_off + 4 + 3


@pytest.mark.parametrize("weight_init", ["glorot_uniform", "he_normal"])
def test_init_theta_extras_keep_the_plain_weights(weight_init):
    units, n_wide = [6, 5, 4, 3], 2
    plain = make_layout(units, n_wide)
    theta0 = init_theta(plain, np.random.RandomState(0), "relu", weight_init, np.float64)
    layout, aux, gamma_off = make_layouts(units, n_wide, aux_outputs=3, batch_norm=True)
    theta = init_theta(
        layout, np.random.RandomState(0), "relu", weight_init, np.float64, aux, gamma_off
    )
    assert theta.size == n_params(layout, aux, gamma_off)
    for W0, W in zip(coef_views(theta0, plain), coef_views(theta, layout)):
        np.testing.assert_array_equal(W0, W)
    b0, b = intercept_views(theta0, plain), intercept_views(theta, layout)
    np.testing.assert_array_equal(b0[-1], b[-1])  # the output layer keeps its bias
    for bl in b[:-1]:  # beta starts at 0
        np.testing.assert_array_equal(bl, 0.0)
    for g in gamma_views(theta, layout, gamma_off):  # gamma at 1
        np.testing.assert_array_equal(g, 1.0)


def test_moving_views_and_init():
    layout = make_layout([6, 5, 4, 3])
    moving = init_moving(layout, np.float32)
    assert moving.dtype == np.float32 and moving.size == 2 * (5 + 4)
    means, variances = moving_views(moving, layout)
    assert [m.size for m in means] == [5, 4] and [v.size for v in variances] == [5, 4]
    assert all(np.all(m == 0) for m in means) and all(np.all(v == 1) for v in variances)


@pytest.mark.parametrize("dtype", DTYPES)
def test_fold_batch_norm_equals_normalised_forward(dtype):
    rng = np.random.RandomState(8)
    units = [4, 6, 5, 2]
    coefs = [rng.normal(size=(a, b)).astype(dtype) for a, b in zip(units[:-1], units[1:])]
    intercepts = [rng.normal(size=b).astype(dtype) for b in units[1:]]
    gammas = [rng.uniform(0.5, 2, size=b).astype(dtype) for b in units[1:-1]]
    means = [rng.normal(size=b).astype(dtype) for b in units[1:-1]]
    variances = [rng.uniform(0.2, 3, size=b).astype(dtype) for b in units[1:-1]]
    eps = 1e-3
    X = rng.normal(size=(7, 4))
    A = X
    for l in range(2):
        Z = A @ coefs[l]
        Z = gammas[l] * (Z - means[l]) / np.sqrt(variances[l].astype(np.float64) + eps)
        A = np.tanh(Z + intercepts[l])
    ref = A @ coefs[2] + intercepts[2]
    Wf, bf = fold_batch_norm(coefs, intercepts, gammas, means, variances, eps)
    assert all(W.dtype == dtype for W in Wf) and all(b.dtype == dtype for b in bf)
    A = X
    for l in range(2):
        A = np.tanh(A @ Wf[l] + bf[l])
    got = A @ Wf[2] + bf[2]
    assert _rel_err(got, ref) < (1e-12 if dtype == np.float64 else 1e-5)


# ======================================================== whole network
from sknn._kernels.activations import ACTIVATION_CODES  # noqa: E402
from sknn._kernels.epoch import loss_grad, train_epoch  # noqa: E402
from sknn._kernels.losses import LOSS_CODES  # noqa: E402
from sknn._kernels.optimizers import SGD  # noqa: E402
from sknn._kernels.records import (  # noqa: E402
    AUX_OUTPUT,
    BATCH_NORM,
    DROPOUT,
    Data,
    Layers,
    Network,
    Objective,
    OptimizerStep,
)


def _f(name, Z):
    if name == "tanh":
        return np.tanh(Z)
    if name == "softplus":
        return np.logaddexp(0.0, Z)
    if name == "logistic":
        return 0.5 * (1.0 + np.tanh(0.5 * Z))
    if name == "softmax":
        E = np.exp(Z - Z.max(axis=1, keepdims=True))
        return E / E.sum(axis=1, keepdims=True)
    assert name == "identity"
    return Z


def _fprime(name, Z):
    if name == "tanh":
        return 1.0 - np.tanh(Z) ** 2
    assert name == "softplus"
    return 0.5 * (1.0 + np.tanh(0.5 * Z))


def _loss_and_dZ(loss, P, Y):
    """Per-row loss and dL/dZ of the canonical (loss, output) pairs."""
    if loss == "squared_error":
        return 0.5 * ((P - Y) ** 2).sum(axis=1), P - Y
    if loss == "log_loss":
        return -(Y * np.log(P)).sum(axis=1), P - Y
    assert loss == "binary_log_loss"
    return -(Y * np.log(P) + (1 - Y) * np.log1p(-P)).sum(axis=1), P - Y


class Net:
    """A network with the optional stages, its theta unpacked by hand."""

    def __init__(
        self,
        units,
        n_wide=0,
        aux=False,
        bn=False,
        hidden="tanh",
        out="identity",
        loss="squared_error",
        eps=1e-3,
        aux_weight=0.3,
        alpha=0.2,
    ):
        self.units, self.n_wide, self.hidden, self.out, self.loss = units, n_wide, hidden, out, loss
        self.eps, self.alpha = eps, alpha
        self.aux_weight = aux_weight if aux else 0.0
        self.layout, self.aux, self.gamma_off = make_layouts(
            units, n_wide, units[-1] if aux else 0, bn
        )
        self.size = n_params(self.layout, self.aux, self.gamma_off)

    def unpack(self, theta):
        theta = np.asarray(theta, np.float64)
        rows = list(self.layout) + list(self.aux)
        Ws = [theta[w : w + fi * fo].reshape(fi, fo) for fi, fo, w, _ in rows]
        bs = [theta[b : b + fo] for _, fo, _, b in rows]
        gammas = gamma_views(theta, self.layout, self.gamma_off) if self.gamma_off >= 0 else None
        return Ws, bs, gammas

    def objective(self, theta, X, Xw, Y, sw, masks=None):
        """Return (objective, gradient, aux loss, batch stats) in float64, by hand."""
        X = np.asarray(X, np.float64)
        Y = np.asarray(Y, np.float64)
        sw = np.asarray(sw, np.float64)
        Ws, bs, gammas = self.unpack(theta)
        L = len(self.layout)
        A, cache, stats = X, [], []
        for l in range(L - 1):
            Z = A @ Ws[l]
            if gammas is not None:
                y, _, mean, var = ref_bn_forward(Z, sw, gammas[l], bs[l], self.eps)
                stats.append((mean, var))
            else:
                y = Z + bs[l]
            Aund = _f(self.hidden, y)
            A_out = Aund * masks[l] if masks is not None else Aund
            cache.append((A, Z, y))
            A = A_out
        A_last = A
        Zo = A @ Ws[L - 1][self.n_wide :] + bs[L - 1]
        if self.n_wide:
            Zo = Zo + np.asarray(Xw, np.float64) @ Ws[L - 1][: self.n_wide]
        P = _f(self.out, Zo)
        lrow, dZ = _loss_and_dZ(self.loss, P, Y)
        w = self.aux_weight
        value = (1 - w) * np.sum(sw * lrow)
        D = (1 - w) * sw[:, None] * dZ
        g = [None] * len(Ws)
        gb = [None] * len(Ws)
        ggam = [None] * (L - 1)
        g[L - 1] = A_last.T @ D
        if self.n_wide:
            g[L - 1] = np.vstack([np.asarray(Xw, np.float64).T @ D, g[L - 1]])
        gb[L - 1] = D.sum(axis=0)
        dA = D @ Ws[L - 1][self.n_wide :].T
        aux_loss = 0.0
        if len(self.aux):
            Pa = _f(self.out, A_last @ Ws[L] + bs[L])
            la, dZa = _loss_and_dZ(self.loss, Pa, Y)
            aux_loss = float(np.sum(sw * la))
            value += w * aux_loss
            Da = w * sw[:, None] * dZa
            g[L], gb[L] = A_last.T @ Da, Da.sum(axis=0)
            dA = dA + Da @ Ws[L].T
        for l in range(L - 2, -1, -1):
            A_in, Z, y = cache[l]
            if masks is not None:
                dA = dA * masks[l]
            dy = dA * _fprime(self.hidden, y)
            gb[l] = dy.sum(axis=0)
            if gammas is not None:
                dz, ggam[l] = ref_bn_backward(dy, Z, sw, gammas[l], self.eps)
            else:
                dz = dy
            g[l] = A_in.T @ dz
            dA = dz @ Ws[l].T
        grad = np.concatenate([a.ravel() for a in g] + gb + (ggam if gammas is not None else []))
        n_coef = int(self.layout[0, 3])
        s = sw.sum()
        theta = np.asarray(theta, np.float64)
        grad[:n_coef] += self.alpha * theta[:n_coef]
        value += 0.5 * self.alpha * theta[:n_coef] @ theta[:n_coef]
        return value / s, grad / s, aux_loss / s, stats

    def network(self, dtype, moving=None, dropout=None, keys=None, seed=0):
        layers = Layers(
            np.empty(0) if dropout is None else np.asarray(dropout, np.float64),
            self.gamma_off,
            self.eps,
            0.9,
            np.empty(0, dtype=dtype) if moving is None else moving,
            self.aux,
            float(self.aux_weight),
            np.empty(0, dtype=np.int64) if keys is None else keys,
            seed,
            # a plain int: the kernels with every stage compiled, switched at run time
            (DROPOUT if dropout is not None else 0) | (BATCH_NORM if self.gamma_off >= 0 else 0)
            | (AUX_OUTPUT if len(self.aux) else 0),
        )
        return Network(
            self.layout,
            self.n_wide,
            ACTIVATION_CODES[self.hidden],
            ACTIVATION_CODES[self.out],
            np.empty(0, dtype=np.int64),  # every hidden layer has the same activation
            layers,
        )

    def workspace(self, rows, deep, wide, dtype, dropout=False):
        return _Workspace(
            self.layout,
            rows,
            deep,
            wide,
            self.hidden,
            dtype,
            aux=self.aux,
            gamma_off=self.gamma_off,
            dropout=dropout,
        )

    def kernel(self, theta, deep, wide, Y, sw, dropout=None, keys=None, seed=0):
        """``loss_grad`` on the whole set (one chunk): objective, gradient, aux loss, ws."""
        dtype = theta.dtype
        n = Y.shape[0]
        ws = self.workspace(n, deep, wide, dtype, dropout is not None)
        value = loss_grad(
            theta,
            self.network(dtype, dropout=dropout, keys=keys, seed=seed),
            Objective(LOSS_CODES[self.loss], 1.0, self.alpha),
            Data(deep, wide, Y, sw),
            ws,
            float(sw.sum()),
            n,
        )
        return value, ws.grad.copy(), float(ws.aux_loss[0]), ws


def _net_data(net, n=11, seed=0, sparse=False, weights=True, dtype=np.float64):
    import scipy.sparse as sp

    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, net.units[0]))
    X[rng.uniform(size=X.shape) < 0.3] = 0.0
    Xw = rng.normal(size=(n, net.n_wide)) if net.n_wide else None
    theta = rng.normal(scale=0.5, size=net.size)
    if net.gamma_off >= 0:
        theta[net.gamma_off :] = rng.uniform(0.5, 1.5, size=net.size - net.gamma_off)
    if net.loss == "log_loss":
        Y = np.eye(net.units[-1])[rng.randint(net.units[-1], size=n)]
    elif net.loss == "binary_log_loss":
        Y = rng.randint(2, size=(n, net.units[-1])).astype(float)
    else:
        Y = rng.normal(size=(n, net.units[-1]))
    sw = rng.uniform(0.2, 3.0, size=n) if weights else np.ones(n)
    if weights:
        sw[3] = 0.0
    cast = (lambda a: None if a is None else sp.csr_matrix(a)) if sparse else (lambda a: a)
    deep, wide = _block(cast(X), dtype), _block(cast(Xw), dtype)
    return (X, Xw, theta.astype(dtype), Y.astype(dtype), sw.astype(dtype), deep, wide)


NET_CASES = [
    pytest.param(dict(bn=True), id="bn"),
    pytest.param(
        dict(bn=True, n_wide=3, aux=True, out="softmax", loss="log_loss"), id="bn-wide-aux-softmax"
    ),
    pytest.param(
        dict(n_wide=2, aux=True, out="logistic", loss="binary_log_loss", hidden="softplus"),
        id="wide-aux-logistic",
    ),
    pytest.param(
        dict(bn=True, hidden="softplus", out="logistic", loss="binary_log_loss"), id="bn-softplus"
    ),
]


@pytest.mark.nojit
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("weights", [False, True])
@pytest.mark.parametrize("case", NET_CASES)
def test_network_with_stages_matches_numpy(case, weights, sparse, dtype):
    net = Net([4, 5, 3, 2], **case)
    X, Xw, theta, Y, sw, deep, wide = _net_data(net, sparse=sparse, weights=weights, dtype=dtype)
    value, grad, aux_loss, ws = net.kernel(theta, deep, wide, Y, sw)
    ref_value, ref_grad, ref_aux, stats = net.objective(theta, X, Xw, Y, sw)
    tol = _tol(dtype) * 10
    assert grad.dtype == dtype
    assert value == pytest.approx(ref_value, rel=tol)
    assert aux_loss == pytest.approx(ref_aux, rel=tol, abs=0 if net.aux.size else 1e-300)
    assert _rel_err(grad, ref_grad) < tol
    if net.gamma_off >= 0:  # the batch statistics the kernel kept
        H = int(net.layout[:-1, 1].sum())
        got = ws.layer_buffers.stats
        assert _rel_err(got[:H], np.concatenate([m for m, _ in stats])) < tol
        assert _rel_err(got[H : 2 * H], np.concatenate([v for _, v in stats])) < tol


@pytest.mark.nojit
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("weights", [False, True])
@pytest.mark.parametrize("case", NET_CASES)
def test_network_with_stages_finite_differences(case, weights, sparse):
    net = Net([4, 5, 3, 2], **case)
    X, Xw, theta, Y, sw, deep, wide = _net_data(net, n=9, seed=1, sparse=sparse, weights=weights)
    _, grad, _, _ = net.kernel(theta, deep, wide, Y, sw)
    fd = central_differences(lambda t: net.kernel(t, deep, wide, Y, sw)[0], theta)
    assert _rel_err(grad, fd) < 1e-6


@pytest.mark.nojit
def test_zero_weight_row_changes_nothing():
    # a zero-weight row: the same objective, gradient and batch statistics whatever it holds
    net = Net([4, 5, 3, 2], bn=True, n_wide=2, aux=True)
    X, Xw, theta, Y, sw, _, _ = _net_data(net)
    assert sw[3] == 0
    results = []
    for value in (0.0, 40.0):
        Xv, Xwv = X.copy(), Xw.copy()
        Xv[3], Xwv[3] = value, -value
        deep, wide = _block(Xv, np.float64), _block(Xwv, np.float64)
        results.append(net.kernel(theta, deep, wide, Y, sw))
    (v0, g0, a0, ws0), (v1, g1, a1, ws1) = results
    assert v0 == pytest.approx(v1, rel=1e-13)
    assert a0 == pytest.approx(a1, rel=1e-13)
    np.testing.assert_allclose(g0, g1, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ws0.layer_buffers.stats, ws1.layer_buffers.stats, rtol=1e-12)


@pytest.mark.nojit
@pytest.mark.parametrize("dtype", DTYPES)
def test_dropout_network_matches_numpy_with_its_masks(dtype):
    # the reference network applies the reference masks of the same keys and seed
    net = Net([4, 6, 5, 2], bn=True, n_wide=2, aux=True)
    X, Xw, theta, Y, sw, deep, wide = _net_data(net, dtype=dtype)
    rates = np.array([0.3, 0.5])
    keys = _keys(X.astype(dtype))
    value, grad, _, ws = net.kernel(theta, deep, wide, Y, sw, dropout=rates, keys=keys, seed=11)
    rows = np.arange(X.shape[0])
    masks = [ref_mask(keys, rows, 11, 0, 6, 0.3), ref_mask(keys, rows, 11, 1, 5, 0.5)]
    ref_value, ref_grad, _, _ = net.objective(theta, X, Xw, Y, sw, masks=masks)
    tol = _tol(dtype) * 10
    assert value == pytest.approx(ref_value, rel=tol)
    assert _rel_err(grad, ref_grad) < tol


@pytest.mark.nojit
@pytest.mark.parametrize("dtype", DTYPES)
def test_train_epoch_updates_moving_averages(dtype):
    # two batches: the moving statistics follow each batch's weighted statistics
    net = Net([4, 5, 3, 2], bn=True)
    X, Xw, theta, Y, sw, deep, wide = _net_data(net, n=10, dtype=dtype)
    moving = init_moving(net.layout, dtype)
    moving[:] = np.random.RandomState(2).uniform(0.5, 1.5, size=moving.size)
    start = moving.astype(np.float64)
    perm = np.arange(10, dtype=np.int64)
    ws = net.workspace(5, deep, wide, dtype)
    m = np.zeros_like(theta)
    th = theta.copy()
    lr = 0.05
    step = OptimizerStep(SGD, lr, 0.0, False, 0.9, 0.999, 1e-8, m, m[:0], 0)
    train_epoch(
        th,
        net.network(dtype, moving=moving),
        Objective(LOSS_CODES[net.loss], 1.0, net.alpha),
        step,
        Data(deep, wide, Y, sw),
        ws,
        perm,
        5,
    )
    # reference: batch 1 at theta, a plain SGD step, batch 2 at the new theta
    ref = start.copy()
    t = theta.astype(np.float64)
    H = ref.size // 2
    for rows in (perm[:5], perm[5:]):
        _, g, _, stats = net.objective(t, X[rows], None, Y[rows], sw[rows])
        mean = np.concatenate([s[0] for s in stats])
        var = np.concatenate([s[1] for s in stats])
        ref[:H] = 0.9 * ref[:H] + 0.1 * mean
        ref[H:] = 0.9 * ref[H:] + 0.1 * var
        t = t - lr * g
    tol = _tol(dtype) * 100
    assert _rel_err(moving, ref) < tol
    assert _rel_err(th, t) < tol


# ============================================================ estimators
import copy  # noqa: E402
import pickle  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402

import joblib  # noqa: E402
import scipy.sparse as sp  # noqa: E402
import skops.io as sio  # noqa: E402
from sklearn.datasets import make_classification, make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from sknn import MLPClassifier, MLPRegressor  # noqa: E402
from sknn.callbacks import EarlyStopping, LambdaCallback  # noqa: E402


def _quiet_fit(est, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # short fits on purpose
        return est.fit(*args, **kwargs)


@pytest.fixture(scope="module")
def clf_data():
    X, y = make_classification(120, 6, n_informative=4, n_classes=3, random_state=0)
    return X, y


@pytest.fixture(scope="module")
def reg_data():
    X, y = make_regression(120, 6, noise=1.0, random_state=0)
    return X, y / 100


def ref_predict(est, X):
    """The network in training form with the moving statistics, in NumPy."""
    A = np.asarray(X, np.float64)
    if est._deep_idx is not None:
        A = A[:, est._deep_idx]
    coefs, intercepts = est.coefs_, est.intercepts_
    act = {"relu": lambda z: np.maximum(z, 0), "tanh": np.tanh}[est.activation]
    for l in range(len(coefs) - 1):
        Z = A @ coefs[l]
        if est.batch_norm_gamma_ is not None:
            Z = (
                est.batch_norm_gamma_[l]
                * (Z - est.batch_norm_moving_mean_[l])
                / np.sqrt(est.batch_norm_moving_variance_[l] + est.batch_norm_epsilon)
            )
        A = act(Z + intercepts[l])
    if est._wide_idx is not None:
        A = np.hstack([np.asarray(X, np.float64)[:, est._wide_idx], A])
    return A @ coefs[-1] + intercepts[-1]


BAD_PARAMS = [
    (dict(dropout=1.0), "dropout"),
    (dict(dropout=-0.1), "dropout"),
    (dict(dropout=[0.1]), "one rate per hidden layer"),
    (dict(dropout=[0.1, 1.0]), r"dropout rates must lie in \[0, 1\)"),
    (dict(dropout="high"), "dropout"),
    (dict(dropout=0.2, solver="lbfgs"), "stochastic solver"),
    (dict(auxiliary_loss_weight=1.0, wide_features="all"), "auxiliary_loss_weight"),
    (dict(auxiliary_loss_weight=0.1), "wide_features"),
    (dict(batch_norm_momentum=1.5), "batch_norm_momentum"),
    (dict(batch_norm_epsilon=0.0), "batch_norm_epsilon"),
    (dict(batch_normalization="yes"), "batch_normalization"),
]


@pytest.mark.parametrize("params,match", BAD_PARAMS)
def test_bad_layer_parameters_raise_before_any_change(clf_data, params, match):
    X, y = clf_data
    est = _quiet_fit(MLPClassifier((5, 4), max_iter=2, random_state=0), X, y)
    before = copy.deepcopy(est.__dict__)
    est.set_params(**params)
    with pytest.raises(ValueError, match=match):
        est.fit(X, y)
    assert est.__dict__.keys() == before.keys()
    np.testing.assert_array_equal(est._theta, before["_theta"])


@pytest.mark.parametrize(
    "change", [dict(batch_normalization=True), dict(auxiliary_loss_weight=0.2)]
)
def test_warm_start_keeps_the_layer_structure(reg_data, change):
    X, y = reg_data
    est = _quiet_fit(
        MLPRegressor(
            hidden_layer_sizes=(5,), wide_features=[0], max_iter=2, warm_start=True, random_state=0
        ),
        X,
        y,
    )
    theta = est._theta.copy()
    est.set_params(**change)
    with pytest.raises(ValueError, match="warm_start and partial_fit"):
        est.fit(X, y)
    np.testing.assert_array_equal(est._theta, theta)


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_zero_rates_and_defaults_change_nothing(clf_data, reg_data, Est):
    X, y = clf_data if Est is MLPClassifier else reg_data
    base = _quiet_fit(Est(hidden_layer_sizes=(6, 5), max_iter=3, random_state=0), X, y)
    same = _quiet_fit(
        Est(
            hidden_layer_sizes=(6, 5),
            max_iter=3,
            random_state=0,
            dropout=[0.0, 0.0],
            batch_norm_momentum=0.5,
        ),
        X,
        y,
    )
    np.testing.assert_array_equal(same._theta, base._theta)
    assert base.batch_norm_gamma_ is None and base.auxiliary_coef_ is None
    assert "aux_loss" not in base.history_


def test_dropout_predict_is_deterministic_and_uses_the_whole_network(clf_data):
    X, y = clf_data
    clf = _quiet_fit(
        MLPClassifier((16, 8), dropout=0.3, activation="tanh", max_iter=20, random_state=0), X, y
    )
    p1, p2 = clf.predict_proba(X), clf.predict_proba(X)
    np.testing.assert_array_equal(p1, p2)
    Z = ref_predict(clf, X)
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(p1, E / E.sum(axis=1, keepdims=True), rtol=1e-10)


def test_dropout_same_seed_same_model_in_any_process(clf_data, tmp_path):
    X, y = clf_data
    kw = dict(hidden_layer_sizes=(12, 6), dropout=[0.2, 0.4], max_iter=5, random_state=3)
    a = _quiet_fit(MLPClassifier(**kw), X, y)
    b = _quiet_fit(MLPClassifier(**kw), X, y)
    np.testing.assert_array_equal(a._theta, b._theta)
    c = _quiet_fit(MLPClassifier(**{**kw, "random_state": 4}), X, y)
    assert not np.array_equal(a._theta, c._theta)
    # a CSR copy of X has the same row keys, hence the same masks and model
    s = _quiet_fit(MLPClassifier(**kw), sp.csr_matrix(X), y)
    np.testing.assert_allclose(s._theta, a._theta, rtol=1e-9, atol=1e-12)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    code = (
        "import sys, warnings, numpy as np; warnings.simplefilter('ignore');"
        "from sknn import MLPClassifier;"
        f"d = sys.argv[1]; est = MLPClassifier(**{kw!r});"
        "est.fit(np.load(d + '/X.npy'), np.load(d + '/y.npy'));"
        "np.save(d + '/theta.npy', est._theta)"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True)
    np.testing.assert_array_equal(np.load(tmp_path / "theta.npy"), a._theta)


def test_dropout_changes_training_not_the_first_weights(clf_data):
    X, y = clf_data
    plain = _quiet_fit(MLPClassifier((12,), max_iter=1, random_state=0), X, y)
    drop = _quiet_fit(MLPClassifier((12,), dropout=0.5, max_iter=1, random_state=0), X, y)
    assert not np.allclose(plain._theta, drop._theta)
    assert plain.coefs_[0].shape == drop.coefs_[0].shape


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_batch_norm_predicts_each_row_independently(clf_data, solver):
    X, y = clf_data
    clf = _quiet_fit(
        MLPClassifier(
            (10, 7),
            batch_normalization=True,
            activation="tanh",
            solver=solver,
            max_iter=15,
            random_state=0,
        ),
        X,
        y,
    )
    proba = clf.predict_proba(X)
    for i in (0, 5, 77):
        np.testing.assert_allclose(clf.predict_proba(X[i : i + 1])[0], proba[i], rtol=1e-12)
    Z = ref_predict(clf, X)
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(proba, E / E.sum(axis=1, keepdims=True), rtol=1e-10)
    # hidden layers have no bias of their own: beta is the intercept slot
    assert clf.batch_norm_beta_[0] is not None
    np.testing.assert_array_equal(clf.batch_norm_beta_[1], clf.intercepts_[1])
    assert [g.shape for g in clf.batch_norm_gamma_] == [(10,), (7,)]


def test_lbfgs_moving_statistics_are_the_training_sets(reg_data):
    X, y = reg_data
    sw = np.random.RandomState(0).uniform(0, 2, size=len(y))
    est = _quiet_fit(
        MLPRegressor(
            hidden_layer_sizes=(8,),
            batch_normalization=True,
            solver="lbfgs",
            max_iter=30,
            random_state=0,
        ),
        X,
        y,
        sample_weight=sw,
    )
    Z = X @ est.coefs_[0]
    mean = np.average(Z, axis=0, weights=sw)
    var = np.average((Z - mean) ** 2, axis=0, weights=sw)
    np.testing.assert_allclose(est.batch_norm_moving_mean_[0], mean, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(est.batch_norm_moving_variance_[0], var, rtol=1e-10)


def test_partial_fit_and_warm_start_continue_moving_averages(reg_data):
    # The moving update is linear in the previous moving values: a second call that
    # continues from M1 ends momentum**k * (M1 - M0) away from one restarted at M0.
    X, y = reg_data
    est = MLPRegressor(
        hidden_layer_sizes=(5,),
        batch_normalization=True,
        batch_norm_momentum=0.8,
        batch_size=40,
        random_state=0,
    )
    est.partial_fit(X, y)
    M1 = est._moving.copy()
    restarted = copy.deepcopy(est)
    restarted._moving[:] = init_moving(est._layout, np.float64)
    est.partial_fit(X, y)
    restarted.partial_fit(X, y)
    k = len(y) // 40
    np.testing.assert_allclose(
        est._moving - restarted._moving,
        0.8**k * (M1 - init_moving(est._layout, np.float64)),
        rtol=1e-9,
        atol=1e-12,
    )
    warm = _quiet_fit(
        MLPRegressor(
            hidden_layer_sizes=(5,),
            batch_normalization=True,
            max_iter=1,
            warm_start=True,
            random_state=0,
        ),
        X,
        y,
    )
    M = warm._moving.copy()
    _quiet_fit(warm, X, y)
    assert not np.array_equal(warm._moving, M)
    fresh = _quiet_fit(
        MLPRegressor(hidden_layer_sizes=(5,), batch_normalization=True, max_iter=2, random_state=0),
        X,
        y,
    )
    assert warm.n_iter_ == 1 and not np.allclose(
        warm._moving, init_moving(warm._layout, np.float64)
    )
    assert fresh._moving.shape == warm._moving.shape


def test_early_stopping_restores_moving_statistics(reg_data):
    X, y = reg_data
    seen = []
    record = LambdaCallback(
        on_epoch_end=lambda est, epoch, logs: seen.append(
            (logs["val_loss"], est._moving.copy(), est._theta.copy())
        )
    )
    est = _quiet_fit(
        MLPRegressor(
            hidden_layer_sizes=(8,),
            batch_normalization=True,
            max_iter=40,
            learning_rate_init=0.05,
            random_state=0,
            callbacks=[record, EarlyStopping(patience=3)],
        ),
        X[:90],
        y[:90],
        X_val=X[90:], y_val=y[90:],
    )
    best = int(np.argmin([v for v, _, _ in seen]))
    assert best < len(seen) - 1  # stopped after the best epoch
    np.testing.assert_array_equal(est._moving, seen[best][1])
    np.testing.assert_array_equal(est._theta, seen[best][2])
    # scikit-learn's early_stopping keeps the best moving statistics too
    sk = _quiet_fit(
        MLPRegressor(
            hidden_layer_sizes=(8,),
            batch_normalization=True,
            early_stopping=True,
            max_iter=40,
            random_state=0,
        ),
        X,
        y,
    )
    np.testing.assert_allclose(sk.predict(X), ref_predict(sk, X).ravel(), rtol=1e-10)


def test_summary_shows_the_layers(reg_data):
    X, y = reg_data
    est = _quiet_fit(
        MLPRegressor(
            hidden_layer_sizes=(8, 4),
            batch_normalization=True,
            dropout=[0.5, 0.0],
            wide_features=[0, 1],
            auxiliary_loss_weight=0.1,
            max_iter=2,
            random_state=0,
        ),
        X,
        y,
    )
    text = est.summary()
    for row in (
        "dense_1 (Dense)",
        "batch_normalization_1 (BatchNormalization)",
        "activation_1 (Activation)",
        "dropout_1 (Dropout)",
        "aux_output (Dense)",
    ):
        assert row in text
    assert "dropout_2" not in text  # rate 0: no layer
    trainable = est._theta.size
    frozen = 2 * (8 + 4)
    assert f"Trainable params: {trainable:,}" in text
    assert f"Non-trainable params: {frozen}" in text
    assert f"Total params: {trainable + frozen:,}" in text
    # Keras' counts: Dense without bias, BatchNormalization 4 per unit
    assert f"{6 * 8}" in text.split("dense_1 (Dense)")[1].split("\n")[0]
    assert f"{4 * 8}" in text.split("batch_normalization_1")[1].split("\n")[0]


def test_auxiliary_output_history_and_main_prediction(reg_data):
    X, y = reg_data
    est = _quiet_fit(
        MLPRegressor(
            hidden_layer_sizes=(8, 6),
            wide_features=[0, 1],
            auxiliary_loss_weight=0.1,
            activation="tanh",
            max_iter=10,
            random_state=0,
        ),
        X,
        y,
        X_val=X[:30], y_val=y[:30],
    )
    assert len(est.history_["aux_loss"]) == 10
    assert est.auxiliary_coef_.shape == (6, 1) and est.auxiliary_intercept_.shape == (1,)
    np.testing.assert_allclose(est.predict(X), ref_predict(est, X).ravel(), rtol=1e-10)
    # val_loss is computed as loss_ is: (1 - w) main + w aux + L2, on the validation set
    main = 0.5 * np.mean((est.predict(X[:30]) - y[:30]) ** 2)
    A = X[:30]
    for W, b in zip(est.coefs_[:-1], est.intercepts_[:-1]):
        A = np.tanh(A @ W + b)
    aux = 0.5 * np.mean(
        ((A @ est.auxiliary_coef_ + est.auxiliary_intercept_).ravel() - y[:30]) ** 2
    )
    W = est._theta[: est._layout[0, 3]]
    expected = 0.9 * main + 0.1 * aux + 0.5 * est.alpha * (W @ W) / 30
    assert est.history_["val_loss"][-1] == pytest.approx(expected, rel=1e-10)
    # the auxiliary head's own validation loss, as Keras' val_aux_output_loss
    assert len(est.history_["val_aux_loss"]) == 10
    assert est.history_["val_aux_loss"][-1] == pytest.approx(aux, rel=1e-10)
    lbfgs = _quiet_fit(
        MLPRegressor(
            hidden_layer_sizes=(8,),
            wide_features="all",
            auxiliary_loss_weight=0.3,
            solver="lbfgs",
            max_iter=5,
            random_state=0,
        ),
        X,
        y,
    )
    assert len(lbfgs.history_["aux_loss"]) == lbfgs.n_iter_


@pytest.mark.parametrize(
    "params",
    [
        dict(batch_normalization=True, dropout=0.2),
        dict(wide_features=[0], auxiliary_loss_weight=0.2, batch_normalization=True),
    ],
)
def test_persistence_round_trips(reg_data, tmp_path, params):
    X, y = reg_data
    est = _quiet_fit(
        MLPRegressor(hidden_layer_sizes=(6, 5), max_iter=5, random_state=0, **params), X, y
    )
    expected = est.predict(X)
    loaded = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(loaded.predict(X), expected)
    np.testing.assert_array_equal(loaded.batch_norm_moving_mean_[1], est.batch_norm_moving_mean_[1])
    joblib.dump(est, tmp_path / "m.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "m.joblib").predict(X), expected)
    sio.dump(est, tmp_path / "m.skops")
    trusted = sio.get_untrusted_types(file=tmp_path / "m.skops")
    loaded = sio.load(tmp_path / "m.skops", trusted=trusted)
    np.testing.assert_array_equal(loaded.predict(X), expected)
    # a loaded model continues training (moving averages included)
    _quiet_fit(loaded.set_params(warm_start=True, max_iter=1), X, y)
    assert not np.array_equal(loaded._moving, est._moving)


def test_float32_trains_and_predicts_in_float32(clf_data):
    X, y = clf_data
    clf = _quiet_fit(
        MLPClassifier((8, 6), batch_normalization=True, dropout=0.1, max_iter=5, random_state=0),
        X.astype(np.float32),
        y,
    )
    assert clf._theta.dtype == np.float32 and clf._moving.dtype == np.float32
    assert clf.predict_proba(X.astype(np.float32)).dtype == np.float32


# ============================================================ real data
# Each compares with the same network without the layer: same random_state,
# hence the same initial weights and batch order.
from sklearn.datasets import fetch_california_housing, load_digits  # noqa: E402
from sklearn.metrics import log_loss  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16, y


@pytest.mark.slow
def test_dropout_helps_a_large_network_on_digits(digits):
    # (256, 256) on 898 digits, 100 epochs without L2: the plain network
    # memorises (training loss ~0.002); dropout=0.5 generalises better.
    X, y = digits
    X = X.astype(np.float32)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.5, stratify=y, random_state=0)
    params = dict(
        hidden_layer_sizes=(256, 256),
        alpha=0.0,
        max_iter=100,
        tol=0.0,
        n_iter_no_change=1000,
        random_state=0,
    )
    plain = _quiet_fit(MLPClassifier(**params), X_tr, y_tr)
    drop = _quiet_fit(MLPClassifier(dropout=0.5, **params), X_tr, y_tr)
    assert plain.loss_ < 0.01  # it does overfit
    loss_plain = log_loss(y_te, plain.predict_proba(X_te))
    loss_drop = log_loss(y_te, drop.predict_proba(X_te))
    assert loss_drop < 0.9 * loss_plain
    assert drop.score(X_te, y_te) >= plain.score(X_te, y_te)


@pytest.mark.slow
def test_batch_norm_trains_a_deep_network_faster(digits):
    # 6 hidden ReLU layers, adam, batch 32: the normalised network reaches the
    # plain network's best validation loss in at most half the epochs.
    X, y = digits
    X_tr, X_va, y_tr, y_va = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
    params = dict(
        hidden_layer_sizes=(64,) * 6,
        batch_size=32,
        max_iter=40,
        tol=0.0,
        n_iter_no_change=1000,
        random_state=0,
    )
    plain = _quiet_fit(MLPClassifier(**params), X_tr, y_tr, X_val=X_va, y_val=y_va)
    bn = _quiet_fit(
        MLPClassifier(batch_normalization=True, **params), X_tr, y_tr, X_val=X_va, y_val=y_va
    )
    plain_val = np.array(plain.history_["val_loss"])
    bn_val = np.array(bn.history_["val_loss"])
    best_epoch = int(np.argmin(plain_val)) + 1
    reached = int(np.argmax(bn_val <= plain_val.min())) + 1
    assert bn_val.min() <= plain_val.min()
    assert reached <= best_epoch / 2, (reached, best_epoch)


@pytest.mark.slow
def test_batch_norm_trains_where_plain_sgd_fails(digits):
    # SGD at learning rate 0.5 through 6 ReLU layers: the plain network never
    # leaves chance level, the normalised one learns.
    X, y = digits
    X_tr, X_va, y_tr, y_va = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
    params = dict(
        hidden_layer_sizes=(64,) * 6,
        solver="sgd",
        learning_rate_init=0.5,
        batch_size=32,
        max_iter=30,
        tol=0.0,
        n_iter_no_change=1000,
        random_state=0,
    )
    chance = np.log(10)
    try:
        plain = _quiet_fit(MLPClassifier(**params), X_tr, y_tr, X_val=X_va, y_val=y_va)
        assert min(plain.history_["val_loss"]) > 0.8 * chance
    except ValueError as exc:  # or it diverges outright
        assert "diverged" in str(exc) or "non-finite" in str(exc)
    bn = _quiet_fit(
        MLPClassifier(batch_normalization=True, **params), X_tr, y_tr, X_val=X_va, y_val=y_va
    )
    assert min(bn.history_["val_loss"]) < 0.3 * chance
    assert max(bn.history_["val_score"]) > 0.7


@pytest.mark.slow
def test_auxiliary_output_on_california_wide_and_deep():
    # The Keras chapter's wide & deep model: columns 0-4 wide, 2-7 deep, an
    # auxiliary output on the deep path with loss weight 0.1.
    X, y = fetch_california_housing(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, random_state=42)
    scaler = StandardScaler().fit(X_tr)
    X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
    params = dict(
        hidden_layer_sizes=(30, 30),
        wide_features=[0, 1, 2, 3, 4],
        deep_features=[2, 3, 4, 5, 6, 7],
        max_iter=20,
        learning_rate_init=0.003,
        random_state=42,
    )
    plain = _quiet_fit(MLPRegressor(**params), X_tr, y_tr)
    aux = _quiet_fit(MLPRegressor(auxiliary_loss_weight=0.1, **params), X_tr, y_tr)
    aux_loss = aux.history_["aux_loss"]
    assert len(aux_loss) == aux.n_iter_ and aux_loss[-1] < 0.5 * aux_loss[0]
    # the deep path alone predicts well: the auxiliary head's own loss is low
    assert aux_loss[-1] < 0.3
    np.testing.assert_allclose(
        aux.predict(X_te[:50]), ref_predict(aux, X_te[:50]).ravel(), rtol=1e-10
    )
    assert aux.score(X_te, y_te) > 0.7
    assert aux.score(X_te, y_te) > plain.score(X_te, y_te) - 0.02
