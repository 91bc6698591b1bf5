"""The flat parameter buffer: its layout, per-layer views and initialisation.

``theta = [W_0, ..., W_{L-1}, b_0, ..., b_{L-1}]`` (scikit-learn's ``_pack``
order, so L-BFGS sees the same vector as scikit-learn's).  ``layout`` is an
``(L, 4)`` int64 array of ``(fan_in, fan_out, w_off, b_off)`` per layer; the
kernels in ``sknn._kernels.network`` slice ``theta`` with it.  In a wide & deep
network the output layer's ``fan_in`` is ``n_wide + last_hidden``: its first
``n_wide`` rows weight the wide input columns.
"""

import numpy as np
from scipy.stats import truncnorm

WEIGHT_INITS = ("glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_normal")
# Keras' truncated normal cuts at two standard deviations and rescales so the
# kept draws still have the intended standard deviation.
_TRUNCNORM_STD = 0.87962566103423978


def make_layout(layer_units, n_wide=0):
    """Layout array for a network with ``layer_units = [n_in, *hidden, n_out]``."""
    fan_in = list(layer_units[:-1])
    fan_in[-1] += n_wide
    fan_out = list(layer_units[1:])
    n_coef = sum(fi * fo for fi, fo in zip(fan_in, fan_out))
    layout = np.empty((len(fan_out), 4), dtype=np.int64)
    w_off, b_off = 0, n_coef
    for l, (fi, fo) in enumerate(zip(fan_in, fan_out)):
        layout[l] = fi, fo, w_off, b_off
        w_off += fi * fo
        b_off += fo
    return layout


def n_params(layout):
    return int(layout[-1, 3] + layout[-1, 1])


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
    coefs = coef_views(theta, layout) if coefs is None else coefs
    intercepts = intercept_views(theta, layout) if intercepts is None else intercepts
    return pack(coefs, intercepts, theta.dtype)


def check_layout(theta, layout, n_deep, n_wide, n_outputs):
    """Raise ValueError unless ``theta`` and ``layout`` describe one network.

    The predict and training kernels index ``theta`` with ``layout`` and the
    input blocks with its fan-ins unchecked; a buffer or layout replaced out of
    step (an edited pickle, a direct assignment) must fail here, in O(layers).
    """
    layout = np.asarray(layout)
    ok = layout.ndim == 2 and layout.shape[1] == 4 and layout.shape[0] >= 1
    if ok:
        units = [n_deep] + [int(u) for u in layout[:-1, 1]] + [n_outputs]
        ok = (min(units) > 0 and np.array_equal(make_layout(units, n_wide), layout)
              and theta.ndim == 1 and theta.size == n_params(layout))
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


def init_theta(layout, random_state, activation, weight_init, dtype):
    """Draw initial parameters from ``random_state``.

    ``glorot_uniform`` is scikit-learn's scheme, with its draw order (per layer:
    the weights, then the biases, both uniform in +-sqrt(factor/(fan_in+fan_out)),
    factor 2 for logistic units and 6 otherwise), so a given ``random_state``
    starts from scikit-learn's exact weights.  The other schemes are Keras'
    (truncated normals cut at two standard deviations) and start biases at zero.
    """
    coefs, intercepts = [], []
    for fan_in, fan_out, _, _ in layout:
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
    return pack(coefs, intercepts, dtype)
