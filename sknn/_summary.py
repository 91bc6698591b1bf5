"""``summary()``: a Keras-like table of a fitted MLP's layers."""

_HEAD = ("Layer (type)", "Output Shape", "Param #", "Activation", "Input from")


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
    for i in range(n_layers - 1):
        fan_in, fan_out = int(layout[i, 0]), int(layout[i, 1])
        name = f"dense_{i + 1}" if names is None else names[i]
        rows.append((f"{name} (Dense)", (None, fan_out), fan_in * fan_out + fan_out,
                     activations[i], prev))
        prev = name
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
    return rows


def format_summary(est):
    """The summary table of a fitted MLP as a string."""
    rows = layer_rows(est)
    cells = [_HEAD] + [
        (name, str(shape), f"{n:,}", act, src) for name, shape, n, act, src in rows
    ]
    widths = [max(len(r[j]) for r in cells) + 3 for j in range(len(_HEAD))]
    width = sum(widths)

    def line(r):
        return (" " + "".join(c.ljust(w) for c, w in zip(r, widths))).rstrip()

    total = int(est._theta.size)
    n_coef = sum(c.size for c in est.coefs_)
    out = [f'Model: "{type(est).__name__}"', "_" * width, line(cells[0]), "=" * width]
    for k, r in enumerate(cells[1:]):
        out.append(line(r))
        out.append("=" * width if k == len(cells) - 2 else "_" * width)
    out += [
        f"Total params: {total:,} ({n_coef:,} weights, {total - n_coef:,} biases)",
        f"Trainable params: {total:,}",
        "Non-trainable params: 0",
        f"dtype: {est._theta.dtype}",
    ]
    return "\n".join(out)
