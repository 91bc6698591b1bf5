"""The flat parameter buffer: its layout, per-layer views and initialisation.

``theta = [W_0, ..., W_{L-1}, b_0, ..., b_{L-1}]`` (scikit-learn's ``_pack``
order, so L-BFGS sees the same vector as scikit-learn's).  ``layout`` is an
``(L, 4)`` int64 array of ``(fan_in, fan_out, w_off, b_off)`` per layer; the
kernels in ``sknn._kernels.network`` slice ``theta`` with it.  In a wide & deep
network the output layer's ``fan_in`` is ``n_wide + last_hidden``: its first
``n_wide`` rows weight the wide input columns.

Two optional parts (``make_layouts``), both absent by default so the buffer is
then exactly scikit-learn's:

- an auxiliary output layer on the last hidden layer (``aux``, one layout row):
  its ``W`` follows ``W_{L-1}`` (a coefficient block, L2-penalised like the
  others) and its ``b`` follows ``b_{L-1}``;
- batch normalization: each hidden layer is a Dense layer without bias followed
  by ``gamma * xhat + beta``.  ``beta`` lives in the hidden layer's intercept
  slot (it is that layer's only additive term, added with the activation), and
  the hidden layers' ``gamma`` vectors follow the last intercept, from
  ``gamma_off`` on, in the order of the units.  Both are trained and, lying
  after the coefficients, not penalised.  The moving statistics are not trained
  and live outside ``theta``.
"""

import numpy as np
from scipy.stats import truncnorm

WEIGHT_INITS = ("glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_normal")
# Keras' truncated normal cuts at two standard deviations and rescales so the
# kept draws still have the intended standard deviation.
_TRUNCNORM_STD = 0.87962566103423978


def make_layout(layer_units, n_wide=0):
    """Layout array for a network with ``layer_units = [n_in, *hidden, n_out]``."""
    return make_layouts(layer_units, n_wide)[0]


def make_layouts(layer_units, n_wide=0, aux_outputs=0, batch_norm=False):
    """``(layout, aux, gamma_off)`` of a network with its optional parts.

    ``aux`` is a ``(1, 4)`` layout row of the auxiliary output layer
    (``aux_outputs`` units fed by the last hidden layer), or ``(0, 4)``;
    ``gamma_off`` is where the hidden layers' ``gamma`` vectors start in
    ``theta``, or -1 without batch normalization.
    """
    rows, end = _layout_rows(layer_units, n_wide, aux_outputs)
    n_layers = len(layer_units) - 1
    layout, aux = (np.array(part, dtype=np.int64).reshape(-1, 4)
                   for part in (rows[:n_layers], rows[n_layers:]))
    return layout, aux, end if batch_norm else -1


def _layout_rows(layer_units, n_wide=0, aux_outputs=0):
    """``make_layouts``' rows as lists of ints (the network's, then the auxiliary
    layer's), and the offset where the biases end; plain Python, so that
    ``check_layout`` on every predict costs microseconds."""
    fan_in = list(layer_units[:-1])
    fan_in[-1] += n_wide
    shapes = list(zip(fan_in, layer_units[1:]))
    if aux_outputs:
        shapes.append((layer_units[-2], aux_outputs))
    w_off, b_off = 0, sum(fi * fo for fi, fo in shapes)
    rows = []
    for fi, fo in shapes:
        rows.append([fi, fo, w_off, b_off])
        w_off += fi * fo
        b_off += fo
    return rows, b_off


def n_params(layout, aux=None, gamma_off=-1):
    """Size of ``theta`` for the parts ``make_layouts`` returned."""
    if gamma_off >= 0:
        return int(gamma_off + layout[:-1, 1].sum())
    if aux is not None and aux.shape[0]:
        return int(aux[0, 3] + aux[0, 1])
    return int(layout[-1, 3] + layout[-1, 1])


def gamma_views(theta, layout, gamma_off):
    """Batch normalization's ``gamma``: one view of ``theta`` per hidden layer."""
    return _unit_blocks(theta[gamma_off:], layout)


def _unit_blocks(buf, layout):
    out, off = [], 0
    for fo in layout[:-1, 1]:
        out.append(buf[off: off + fo])
        off += fo
    return out


def moving_views(moving, layout):
    """``(means, variances)``: per hidden layer, views of the moving-statistics buffer.

    ``moving`` holds every hidden unit's moving mean, then every moving variance.
    """
    half = moving.shape[0] // 2
    return _unit_blocks(moving[:half], layout), _unit_blocks(moving[half:], layout)


def init_moving(layout, dtype):
    """Moving statistics before any batch: mean 0 and variance 1 (Keras' start)."""
    units = int(layout[:-1, 1].sum())
    return np.concatenate([np.zeros(units), np.ones(units)]).astype(dtype)


def fold_batch_norm(coefs, intercepts, gammas, means, variances, eps):
    """Per-layer ``(W, b)`` of the plain network that predicts as the normalised one.

    Prediction normalises with the moving statistics, an affine map per unit:
    ``gamma * (z - mean) / sqrt(var + eps) + beta`` with ``z = a @ W``, i.e.
    ``a @ (W * s) + (beta - mean * s)`` with ``s = gamma / sqrt(var + eps)``.
    Returns new arrays (float64 arithmetic, cast back to each array's dtype).
    """
    W_out, b_out = [], []
    for l, (W, b) in enumerate(zip(coefs, intercepts)):
        if l < len(gammas):
            s = np.asarray(gammas[l], np.float64) / np.sqrt(
                np.asarray(variances[l], np.float64) + eps)
            W_out.append((W * s).astype(W.dtype))
            b_out.append((b - np.asarray(means[l], np.float64) * s).astype(b.dtype))
        else:
            W_out.append(W)
            b_out.append(b)
    return W_out, b_out


def coef_views(theta, layout):
    """``coefs_``: one ``fan_in x fan_out`` view of ``theta`` per layer."""
    return [theta[w: w + fi * fo].reshape(fi, fo) for fi, fo, w, _ in layout]


def intercept_views(theta, layout):
    """``intercepts_``: one ``fan_out`` view of ``theta`` per layer."""
    return [theta[b: b + fo] for _, fo, _, b in layout]


def replace_params(theta, layout, coefs=None, intercepts=None):
    """A new ``theta`` with ``coefs`` and/or ``intercepts`` replaced.

    Each array must have exactly its layer's shape: a different architecture
    would leave ``theta`` and ``layout`` disagreeing (the kernels would read
    past the buffer), and a transposed square-free matrix of the same size would
    be silently reshaped.  Raises ValueError naming the first mismatch.
    """
    for name, arrays, shapes in (
        ("coefs_", coefs, [(int(fi), int(fo)) for fi, fo, _, _ in layout]),
        ("intercepts_", intercepts, [(int(fo),) for _, fo, _, _ in layout]),
    ):
        if arrays is None:
            continue
        arrays = list(arrays)
        got = [np.shape(a) for a in arrays]
        if got != shapes:
            raise ValueError(
                f"{name} must be a list of {len(shapes)} arrays of shapes {shapes} (the "
                f"fitted network's layers); got shapes {got}. To change the architecture, "
                "set hidden_layer_sizes and fit again."
            )
    # written into a copy: the optional parts (auxiliary layer, gamma) stay as they are
    theta = theta.copy()
    for views, arrays in ((coef_views(theta, layout), coefs),
                          (intercept_views(theta, layout), intercepts)):
        for view, value in zip(views, arrays if arrays is not None else []):
            view[...] = value
    return theta


def check_layout(theta, layout, n_deep, n_wide, n_outputs, aux=None, gamma_off=-1):
    """Raise ValueError unless ``theta`` and ``layout`` describe one network.

    The predict and training kernels index ``theta`` with ``layout`` and the
    input blocks with its fan-ins unchecked; a buffer or layout replaced out of
    step (an edited pickle, a direct assignment) must fail here, in O(layers).
    """
    layout = np.asarray(layout)
    ok = layout.ndim == 2 and layout.shape[1] == 4 and layout.shape[0] >= 1
    if ok:
        units = [n_deep] + [int(u) for u in layout[:-1, 1].tolist()] + [n_outputs]
        n_aux = 0 if aux is None or not len(aux) else n_outputs
        rows, end = _layout_rows(units, n_wide, n_aux)
        n_layers = len(units) - 1
        ok = (min(units) > 0 and layout.tolist() == rows[:n_layers]
              and (aux is None or np.asarray(aux).tolist() == rows[n_layers:])
              and (end if gamma_off >= 0 else -1) == gamma_off
              and theta.ndim == 1 and theta.size == n_params(layout, aux, gamma_off))
    if not ok:
        raise ValueError(
            f"The fitted parameters are inconsistent: a buffer of {theta.size} values and "
            f"a layout of shape {layout.shape}, for {n_deep} deep and {n_wide} wide inputs "
            f"and {n_outputs} outputs. The model was modified or unpickled from a "
            "corrupted file; fit it again."
        )


def pack(coefs, intercepts, dtype):
    """Flatten per-layer arrays into a new ``theta`` (scikit-learn's ``_pack``)."""
    return np.concatenate([np.ravel(a) for a in list(coefs) + list(intercepts)]).astype(
        dtype, copy=False
    )


def init_theta(layout, random_state, activation, weight_init, dtype, aux=None,
               gamma_off=-1):
    """Draw initial parameters from ``random_state``.

    ``glorot_uniform`` is scikit-learn's scheme, with its draw order (per layer:
    the weights, then the biases, both uniform in +-sqrt(factor/(fan_in+fan_out)),
    factor 2 for logistic units and 6 otherwise), so a given ``random_state``
    starts from scikit-learn's exact weights.  The other schemes are Keras'
    (truncated normals cut at two standard deviations) and start biases at zero.

    The auxiliary layer (``aux``) is drawn after the main layers, so the main
    weights are those of the same network without it.  With batch normalization
    (``gamma_off >= 0``) the hidden layers' draws are unchanged too, then
    ``beta`` (their intercept slots) starts at 0 and ``gamma`` at 1, as in Keras.
    """
    layers = list(layout) + ([] if aux is None else list(aux))
    coefs, intercepts = [], []
    for fan_in, fan_out, _, _ in layers:
        fan_in, fan_out = int(fan_in), int(fan_out)
        if weight_init == "glorot_uniform":
            factor = 2.0 if activation in ("logistic", "sigmoid") else 6.0
            bound = np.sqrt(factor / (fan_in + fan_out))
            coefs.append(random_state.uniform(-bound, bound, (fan_in, fan_out)))
            intercepts.append(random_state.uniform(-bound, bound, fan_out))
            continue
        if weight_init == "he_uniform":
            bound = np.sqrt(6.0 / fan_in)
            w = random_state.uniform(-bound, bound, (fan_in, fan_out))
        else:
            std = {
                "glorot_normal": np.sqrt(2.0 / (fan_in + fan_out)),
                "he_normal": np.sqrt(2.0 / fan_in),
                "lecun_normal": np.sqrt(1.0 / fan_in),
            }[weight_init]
            w = truncnorm.rvs(-2, 2, size=(fan_in, fan_out), random_state=random_state)
            w *= std / _TRUNCNORM_STD
        coefs.append(w)
        intercepts.append(np.zeros(fan_out))
    if gamma_off < 0:
        return pack(coefs, intercepts, dtype)
    for l in range(len(layout) - 1):
        intercepts[l] = np.zeros_like(intercepts[l])
    gammas = np.ones(int(layout[:-1, 1].sum()))
    return pack(coefs, intercepts + [gammas], dtype)
