"""Batch normalization, dropout and the auxiliary output: kernels and layout.

Kernel tests compare ``sknn._kernels.layers`` with plain NumPy references written
out here, and check gradients by central finite differences, in float32 and
float64.  Tests marked ``nojit`` also run with ``NUMBA_DISABLE_JIT=1``.
"""

import numpy as np
import pytest

from sknn._kernels.layers import (
    batch_norm_backward,
    batch_norm_moving_update,
    batch_norm_train,
    dropout_backward,
    dropout_forward,
    seed_generator,
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


def _rel_err(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300)


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
        J = r * (np.eye(n) - w[None, :] / S) - np.outer(c, c * w) * r ** 3 / S
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
    return Z.astype(dtype), w.astype(dtype), gamma.astype(dtype), beta.astype(dtype), D.astype(dtype)


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
    h = 1e-6
    fd = np.empty_like(Z)
    for idx in np.ndindex(Z.shape):
        Zp, Zm = Z.copy(), Z.copy()
        Zp[idx] += h
        Zm[idx] -= h
        fd[idx] = (objective(Zp, gamma) - objective(Zm, gamma)) / (2 * h)
    fd_g = np.empty(3)
    for j in range(3):
        gp, gm = gamma.copy(), gamma.copy()
        gp[j] += h
        gm[j] -= h
        fd_g[j] = (objective(Z, gp) - objective(Z, gm)) / (2 * h)
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
@pytest.fixture
def numpy_global_rng():
    # under NUMBA_DISABLE_JIT, seed_generator seeds NumPy's global generator
    state = np.random.get_state()
    yield
    np.random.set_state(state)


@pytest.mark.nojit
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rate", [0.2, 0.5])
def test_dropout_forward_is_numpys_stream(dtype, rate, numpy_global_rng):
    rng = np.random.RandomState(5)
    A = rng.normal(size=(31, 7)).astype(dtype)
    mask = np.full_like(A, np.nan)
    out = np.full_like(A, np.nan)
    seed_generator(123)
    dropout_forward(A, rate, mask, out)
    u = np.random.RandomState(123).random_sample(A.shape)
    scale = dtype(1 / (1 - rate))
    ref_mask = np.where(u >= rate, scale, dtype(0))
    np.testing.assert_array_equal(mask, ref_mask)
    np.testing.assert_array_equal(out, A * ref_mask)
    assert out.dtype == dtype
    # the same seed gives the same mask; the stream continues otherwise
    mask2 = np.empty_like(mask)
    dropout_forward(A, rate, mask2, out)
    assert not np.array_equal(mask2, mask)
    seed_generator(123)
    dropout_forward(A, rate, mask2, out)
    np.testing.assert_array_equal(mask2, mask)


@pytest.mark.nojit
def test_dropout_rate_is_kept_fraction(numpy_global_rng):
    A = np.ones((400, 50))
    mask, out = np.empty_like(A), np.empty_like(A)
    seed_generator(0)
    dropout_forward(A, 0.3, mask, out)
    dropped = np.mean(mask == 0)
    # binomial standard error of 20000 draws is 0.0032: 5 of them
    assert abs(dropped - 0.3) < 5 * np.sqrt(0.3 * 0.7 / A.size)
    # inverted dropout keeps the expected activation
    assert abs(out.mean() - 1.0) < 5 * np.sqrt(0.3 / 0.7 / A.size)


@pytest.mark.nojit
@pytest.mark.parametrize("dtype", DTYPES)
def test_dropout_backward(dtype, numpy_global_rng):
    rng = np.random.RandomState(6)
    A = rng.normal(size=(9, 4)).astype(dtype)
    mask, out = np.empty_like(A), np.empty_like(A)
    seed_generator(7)
    dropout_forward(A, 0.4, mask, out)
    D = rng.normal(size=A.shape).astype(dtype)
    Dk = D.copy()
    dropout_backward(Dk, mask)
    # d(sum(D * out))/dA = D * mask
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
    assert n_params(layout, aux, gamma_off) == gamma_off + 4 + 3


@pytest.mark.parametrize("weight_init", ["glorot_uniform", "he_normal"])
def test_init_theta_extras_keep_the_plain_weights(weight_init):
    units, n_wide = [6, 5, 4, 3], 2
    plain = make_layout(units, n_wide)
    theta0 = init_theta(plain, np.random.RandomState(0), "relu", weight_init, np.float64)
    layout, aux, gamma_off = make_layouts(units, n_wide, aux_outputs=3, batch_norm=True)
    theta = init_theta(layout, np.random.RandomState(0), "relu", weight_init, np.float64,
                       aux, gamma_off)
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
