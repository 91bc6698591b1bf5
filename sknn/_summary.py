"""``summary()``: a Keras-like table of a fitted MLP's layers."""

_HEAD = ("Layer (type)", "Output Shape", "Param #", "Activation", "Input from")
_GAP = 2


def layer_rows(est):
    """Rows ``(name, output_shape, n_params, activation, input_from)`` of a fitted MLP."""
    layout = est._layout
    n_features = int(est.n_features_in_)
    deep_idx, wide_idx = est._deep_idx, est._wide_idx
    rows = [("input (Input)", (None, n_features), 0, "", "")]
    prev = "input"
    if deep_idx is not None:
        rows.append(("deep_input (Select)", (None, int(deep_idx.size)), 0, "", "input"))
        prev = "deep_input"
    n_layers = len(layout)
    activations = est._layer_activations()
    names = est._layer_names() if hasattr(est, "_layer_names") else None
    batch_norm = est._gamma_off >= 0
    rates = est._dropout_rates
    for i in range(n_layers - 1):
        fan_in, fan_out = int(layout[i, 0]), int(layout[i, 1])
        name = f"dense_{i + 1}" if names is None else names[i]
        if batch_norm:  # Keras: Dense(use_bias=False) -> BatchNormalization -> Activation
            rows.append((f"{name} (Dense)", (None, fan_out), fan_in * fan_out, "", prev))
            bn = f"batch_normalization_{i + 1}"
            # gamma, beta (trained) and the moving mean and variance (not trained)
            rows.append((f"{bn} (BatchNormalization)", (None, fan_out), 4 * fan_out, "", name))
            name = f"activation_{i + 1}"
            rows.append((f"{name} (Activation)", (None, fan_out), 0, activations[i], bn))
        else:
            rows.append((f"{name} (Dense)", (None, fan_out), fan_in * fan_out + fan_out,
                         activations[i], prev))
        prev = name
        if rates.size and rates[i] > 0:
            name = f"dropout_{i + 1}"
            rows.append((f"{name} (Dropout)", (None, fan_out), 0, "", prev))
            prev = name
    deep_out = prev
    if wide_idx is not None:
        n_wide = int(wide_idx.size)
        last_hidden = int(layout[-1, 0]) - n_wide
        wide_src = "input"
        if n_wide != n_features:
            rows.append(("wide_input (Select)", (None, n_wide), 0, "", "input"))
            wide_src = "wide_input"
        rows.append(("concatenate (Concatenate)", (None, n_wide + last_hidden), 0, "",
                     f"{wide_src}, {prev}"))
        prev = "concatenate"
    fan_in, fan_out = int(layout[-1, 0]), int(layout[-1, 1])
    rows.append(("output (Dense)", (None, fan_out), fan_in * fan_out + fan_out,
                 est.out_activation_, prev))
    for fan_in, fan_out, _, _ in est._aux_layout:
        rows.append(("aux_output (Dense)", (None, int(fan_out)),
                     int(fan_in * fan_out + fan_out), est.out_activation_, deep_out))
    return rows


def format_summary(est):
    """The summary table of a fitted MLP as a string."""
    rows = layer_rows(est)
    cells = [_HEAD] + [
        (name, str(shape), f"{n:,}", act, src) for name, shape, n, act, src in rows
    ]
    # Two spaces between columns and none after the last: a wide & deep table
    # stays near 80 characters (Keras pads more), narrow enough for a docs page.
    widths = [max(len(r[j]) for r in cells) + _GAP for j in range(len(_HEAD))]
    width = 1 + sum(widths) - _GAP

    def line(r):
        return (" " + "".join(c.ljust(w) for c, w in zip(r, widths))).rstrip()

    trainable = int(est._theta.size)
    frozen = int(est._moving.size)  # batch normalization's moving statistics
    n_coef = int(est._layout[0, 3])  # every weight matrix, the auxiliary one included
    hidden_units = int(est._layout[:-1, 1].sum())
    n_norm = 2 * hidden_units + frozen if est._gamma_off >= 0 else 0
    parts = f"{n_coef:,} weights, {trainable + frozen - n_coef - n_norm:,} biases"
    if n_norm:
        parts += f", {n_norm:,} batch normalization"
    out = [f'Model: "{type(est).__name__}"', "_" * width, line(cells[0]), "=" * width]
    for k, r in enumerate(cells[1:]):
        out.append(line(r))
        out.append("=" * width if k == len(cells) - 2 else "_" * width)
    out += [
        f"Total params: {trainable + frozen:,} ({parts})",
        f"Trainable params: {trainable:,}",
        f"Non-trainable params: {frozen:,}",
        f"dtype: {est._theta.dtype}",
    ]
    return "\n".join(out)
