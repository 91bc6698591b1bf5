"""Perceptron layer kernels: one epoch of the per-sample perceptron rule for every TLU.

The rule is scikit-learn's ``SGDClassifier(loss="perceptron", learning_rate="constant")``
step for step, so the same data order gives the same weights:

* unit ``u`` sees ``y = +-1`` and ``p = wscale[u] * (W[u] . x) + b[u]``; ``y * p <= 0`` is a
  mistake (a point on the boundary counts as wrong for both classes), and then
  ``W[u] += eta * y * cw * sw * x / wscale[u]`` and ``b[u] += eta * y * cw * sw``.  With
  ``y in {0, 1}`` this is ``w += eta * (y - yhat) * x``, the textbook rule;
* L2 (and the L2 part of elastic net) shrinks the unit's scale ``wscale`` before the step,
  renormalising ``W`` when ``wscale`` falls below ``wscale_min``;
* L1 (and the L1 part of elastic net) is the cumulative truncated gradient of Tsuruoka et
  al. (2009) with per-weight memory ``Q``, applied to the features of the current sample
  (every feature for dense X, the stored ones for CSR X);
* ``sq_norm`` / ``l1_norm`` are maintained as scikit-learn maintains them, for the
  objective that drives the ``tol`` stopping rule.

The sample order is ``perm[pu]`` (``pu = u`` when each unit has its own order, else 0),
shuffled in place at the start of the epoch with scikit-learn's xorshift Fisher-Yates and
the row's ``seeds`` entry.  Rows flagged in ``val_mask[vu]`` are skipped (early stopping).
Inactive units (``active[u] == 0``) are left alone.  Per-unit outputs: ``objective``
(summed loss plus penalty), ``sumloss`` and ``mistakes``.
"""

import numpy as np

from .._numba import jit

PENALTY_NONE = 0
PENALTY_L1 = 1
PENALTY_L2 = 2
PENALTY_ELASTICNET = 3

_RAND_MASK = 0xFFFFFFFF
_RAND_R_MAX_PLUS_1 = 2147483648


@jit(nogil=True)
def shuffle_inplace(index, seed):
    """scikit-learn's ``SequentialDataset.shuffle``: Fisher-Yates with ``our_rand_r``.

    ``seed`` is taken by value, exactly as in scikit-learn: every epoch replays the
    same random sequence on the current order.
    """
    s = np.int64(seed) & _RAND_MASK
    n = index.shape[0]
    for i in range(n - 1):
        if s == 0:
            s = 1
        s ^= (s << 13) & _RAND_MASK
        s ^= s >> 17
        s ^= (s << 5) & _RAND_MASK
        j = i + (s % _RAND_R_MAX_PLUS_1) % (n - i)
        tmp = index[i]
        index[i] = index[j]
        index[j] = tmp


@jit(nogil=True)
def _start_epoch(perm, seeds, shuffle, active, objective, sumloss, mistakes):
    n_units = active.shape[0]
    for u in range(n_units):
        objective[u] = 0.0
        sumloss[u] = 0.0
        mistakes[u] = 0
    if shuffle:
        if perm.shape[0] == 1:
            any_active = False
            for u in range(n_units):
                if active[u]:
                    any_active = True
            if any_active:
                shuffle_inplace(perm[0], seeds[0])
        else:
            for u in range(n_units):
                if active[u]:
                    shuffle_inplace(perm[u], seeds[u])


@jit(nogil=True)
def _scale(W, u, wscale, sq_norm, l1_norm, c, wscale_min):
    """WeightVector.scale: multiply unit ``u`` by ``c`` through its scale factor."""
    wscale[u] *= c
    sq_norm[u] *= c * c
    l1_norm[u] *= abs(c)
    if wscale[u] < wscale_min:
        ws = wscale[u]
        for j in range(W.shape[1]):
            W[u, j] *= ws
        wscale[u] = 1.0


@jit(nogil=True)
def epoch_dense(
    W, b, wscale, sq_norm, l1_norm, Q, ucum,
    X, Y, sw, pos_w, neg_w, perm, seeds, shuffle, val_mask, active,
    penalty, alpha, l1_ratio, eta, fit_intercept, track_objective, wscale_min,
    objective, sumloss, mistakes,
):  # fmt: skip
    """One epoch over dense ``X`` (n_samples, n_features); see the module docstring."""
    _start_epoch(perm, seeds, shuffle, active, objective, sumloss, mistakes)
    n_units = W.shape[0]
    n_features = W.shape[1]
    n_samples = perm.shape[1]
    cast = W.dtype.type
    shared_perm = perm.shape[0] == 1
    shared_mask = val_mask.shape[0] == 1
    if penalty == PENALTY_L2:
        l2_ratio, l1r = 1.0, 0.0
    elif penalty == PENALTY_L1:
        l2_ratio, l1r = 0.0, 1.0
    elif penalty == PENALTY_ELASTICNET:
        l2_ratio, l1r = 1.0 - l1_ratio, l1_ratio
    else:
        l2_ratio, l1r = 0.0, 0.0
    shrink = max(0.0, 1.0 - l2_ratio * eta * alpha)
    for i in range(n_samples):
        for u in range(n_units):
            if not active[u]:
                continue
            r = perm[0, i] if shared_perm else perm[u, i]
            if val_mask[0 if shared_mask else u, r]:
                continue
            acc = 0.0
            for j in range(n_features):
                acc += W[u, j] * X[r, j]
            p = acc * wscale[u] + b[u]
            y = Y[r, u]
            z = p * y
            if track_objective:
                loss = -z if z <= 0.0 else 0.0
                sumloss[u] += loss
                objective[u] += loss
                if penalty != PENALTY_NONE:
                    nrm = np.sqrt(sq_norm[u])
                    objective[u] += alpha * ((1.0 - l1r) * 0.5 * nrm * nrm + l1r * l1_norm[u])
            update = 0.0
            if z <= 0.0:
                mistakes[u] += 1
                cw = pos_w[u] if y > 0.0 else neg_w[u]
                update = eta * y * cw * sw[r]
            if l2_ratio > 0.0:
                _scale(W, u, wscale, sq_norm, l1_norm, shrink, wscale_min)
            if update != 0.0:
                step = cast(update) / cast(wscale[u])
                if penalty == PENALTY_NONE:
                    for j in range(n_features):
                        W[u, j] += X[r, j] * step
                else:
                    l2acc = 0.0
                    l1acc = 0.0
                    for j in range(n_features):
                        W[u, j] += X[r, j] * step
                        wj = W[u, j]
                        l2acc += wj * wj
                        l1acc += abs(wj)
                    ws = wscale[u]
                    sq_norm[u] = l2acc * (ws * ws)
                    l1_norm[u] = l1acc * ws
                if fit_intercept:
                    b[u] += update
            if l1r > 0.0:
                ucum[u] += l1r * eta * alpha
                uu = ucum[u]
                ws = wscale[u]
                for j in range(n_features):
                    zj = W[u, j]
                    if ws * zj > 0.0:
                        W[u, j] = max(0.0, zj - (uu + Q[u, j]) / ws)
                    elif ws * zj < 0.0:
                        W[u, j] = min(0.0, zj + (uu - Q[u, j]) / ws)
                    Q[u, j] += ws * (W[u, j] - zj)


@jit(nogil=True)
def epoch_csr(
    W, b, wscale, sq_norm, l1_norm, Q, ucum,
    data, indices, indptr, Y, sw, pos_w, neg_w, perm, seeds, shuffle, val_mask, active,
    penalty, alpha, l1_ratio, eta, fit_intercept, track_objective, wscale_min,
    objective, sumloss, mistakes,
):  # fmt: skip
    """One epoch over CSR ``X`` given as (data, indices, indptr), never densified.

    The intercept moves exactly as for dense X (no scikit-learn ``intercept_decay``), so
    sparse and dense inputs train the same model.
    """
    _start_epoch(perm, seeds, shuffle, active, objective, sumloss, mistakes)
    n_units = W.shape[0]
    n_samples = perm.shape[1]
    cast = W.dtype.type
    shared_perm = perm.shape[0] == 1
    shared_mask = val_mask.shape[0] == 1
    if penalty == PENALTY_L2:
        l2_ratio, l1r = 1.0, 0.0
    elif penalty == PENALTY_L1:
        l2_ratio, l1r = 0.0, 1.0
    elif penalty == PENALTY_ELASTICNET:
        l2_ratio, l1r = 1.0 - l1_ratio, l1_ratio
    else:
        l2_ratio, l1r = 0.0, 0.0
    shrink = max(0.0, 1.0 - l2_ratio * eta * alpha)
    for i in range(n_samples):
        for u in range(n_units):
            if not active[u]:
                continue
            r = perm[0, i] if shared_perm else perm[u, i]
            if val_mask[0 if shared_mask else u, r]:
                continue
            start = indptr[r]
            end = indptr[r + 1]
            acc = 0.0
            for k in range(start, end):
                acc += W[u, indices[k]] * data[k]
            p = acc * wscale[u] + b[u]
            y = Y[r, u]
            z = p * y
            if track_objective:
                loss = -z if z <= 0.0 else 0.0
                sumloss[u] += loss
                objective[u] += loss
                if penalty != PENALTY_NONE:
                    nrm = np.sqrt(sq_norm[u])
                    objective[u] += alpha * ((1.0 - l1r) * 0.5 * nrm * nrm + l1r * l1_norm[u])
            update = 0.0
            if z <= 0.0:
                mistakes[u] += 1
                cw = pos_w[u] if y > 0.0 else neg_w[u]
                update = eta * y * cw * sw[r]
            if l2_ratio > 0.0:
                _scale(W, u, wscale, sq_norm, l1_norm, shrink, wscale_min)
            if update != 0.0:
                step = cast(update) / cast(wscale[u])
                if penalty == PENALTY_NONE:
                    for k in range(start, end):
                        W[u, indices[k]] += data[k] * step
                else:
                    l2acc = 0.0
                    l1acc = 0.0
                    for k in range(start, end):
                        c = indices[k]
                        W[u, c] += data[k] * step
                        wj = W[u, c]
                        l2acc += wj * wj
                        l1acc += abs(wj)
                    ws = wscale[u]
                    sq_norm[u] = l2acc * (ws * ws)
                    l1_norm[u] = l1acc * ws
                if fit_intercept:
                    b[u] += update
            if l1r > 0.0:
                ucum[u] += l1r * eta * alpha
                uu = ucum[u]
                ws = wscale[u]
                for k in range(start, end):
                    c = indices[k]
                    zj = W[u, c]
                    if ws * zj > 0.0:
                        W[u, c] = max(0.0, zj - (uu + Q[u, c]) / ws)
                    elif ws * zj < 0.0:
                        W[u, c] = min(0.0, zj + (uu - Q[u, c]) / ws)
                    Q[u, c] += ws * (W[u, c] - zj)
