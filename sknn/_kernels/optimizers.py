"""SGD (momentum, Nesterov) and Adam as one fused in-place pass over ``theta``.

The pass also finishes the gradient as scikit-learn defines it:
``g = (raw + alpha * W) / sw_sum`` for coefficients and ``raw / sw_sum`` for
intercepts (``theta[:n_coef]`` are the coefficients), and returns the sum of the
squared coefficients *before* the update, i.e. of the weights the batch's loss
was computed with, so the L2 term costs no extra pass.
"""

import math

from .._numba import jit

SGD = 0
ADAM = 1
SOLVER_CODES = {"sgd": SGD, "adam": ADAM}


@jit(nogil=True)
def adam_step_size(learning_rate, beta_1, beta_2, t):
    """Adam's bias-corrected step size for update number ``t`` (1-based)."""
    return learning_rate * math.sqrt(1.0 - beta_2 ** t) / (1.0 - beta_1 ** t)


@jit(nogil=True)
def optimizer_step(theta, grad, m, v, n_coef, alpha, sw_sum, solver, learning_rate,
                   momentum, nesterov, beta_1, beta_2, epsilon, t):
    """Update ``theta`` in place from raw gradients; return sum(W**2) before it.

    SGD keeps its velocity in ``m`` (``v`` unused); Adam its moments in ``m``
    and ``v``.  ``t`` is the 1-based Adam step number.  Formulas and operation
    order follow scikit-learn's ``_stochastic_optimizers``.
    """
    dt = theta.dtype.type
    a = dt(alpha)
    s = dt(sw_sum)
    sumsq = 0.0
    if solver == ADAM:
        lr = dt(adam_step_size(learning_rate, beta_1, beta_2, t))
        b1 = dt(beta_1)
        b2 = dt(beta_2)
        c1 = dt(1.0 - beta_1)
        c2 = dt(1.0 - beta_2)
        eps = dt(epsilon)
        for i in range(theta.shape[0]):
            w = theta[i]
            if i < n_coef:
                sumsq += w * w
                g = (grad[i] + a * w) / s
            else:
                g = grad[i] / s
            mi = b1 * m[i] + c1 * g
            vi = b2 * v[i] + c2 * (g * g)
            m[i] = mi
            v[i] = vi
            theta[i] = w + (-lr * mi) / (math.sqrt(vi) + eps)
    else:
        lr = dt(learning_rate)
        mu = dt(momentum)
        for i in range(theta.shape[0]):
            w = theta[i]
            if i < n_coef:
                sumsq += w * w
                g = (grad[i] + a * w) / s
            else:
                g = grad[i] / s
            vel = mu * m[i] - lr * g
            m[i] = vel
            if nesterov:
                theta[i] = w + (mu * vel - lr * g)
            else:
                theta[i] = w + vel
    return sumsq
