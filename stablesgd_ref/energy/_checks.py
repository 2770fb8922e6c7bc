"""Input checks shared by the energy modules."""

import numpy as np

from stablesgd_ref import checks


def _as_state(name, value):
    """Return ``value`` as a finite float64 array, or raise naming ``name``."""
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"{name} cannot be converted to float64: {error}. "
            "Pass a number or a NumPy array of numbers."
        ) from None
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or Inf. Pass finite values.")
    return array


def _as_state_pair(x_name, x, p_name, p):
    """Return ``x`` and ``p`` as float64 arrays after checking their shapes match."""
    x = _as_state(x_name, x)
    p = _as_state(p_name, p)
    if x.shape != p.shape:
        raise ValueError(
            f"{x_name} has shape {x.shape} but {p_name} has shape {p.shape}. "
            "Pass arrays of the same shape."
        )
    return x, p


def _check_callable(name, value):
    if not callable(value):
        raise TypeError(
            f"{name} must be a function of x, got {type(value).__name__}. "
            f"Pass for example {name}=lambda x: k * x."
        )


def _check_unit_interval(name, value):
    """Raise unless ``value`` is a real number in [0, 1].

    Momentum 1 is valid here, unlike in the optimizers, because the undamped
    case shows that heavy ball without friction never settles.
    """
    is_real = isinstance(value, (int, float, np.integer, np.floating))
    if isinstance(value, bool) or not is_real or not 0.0 <= value <= 1.0:
        raise ValueError(
            f"{name} must be a number in [0, 1], got {value!r}. "
            f"Pass for example {name}=0.9."
        )


def _apply_grad(grad_fn, x):
    """Return ``grad_fn(x)`` as float64 after checking its shape and values."""
    grad = np.asarray(grad_fn(x), dtype=np.float64)
    if grad.shape != x.shape:
        raise ValueError(
            f"grad_fn returned shape {grad.shape} for x of shape {x.shape}, "
            "but the gradient must have the shape of x."
        )
    if not np.all(np.isfinite(grad)):
        raise ValueError(
            "grad_fn returned NaN or Inf, which usually means the trajectory "
            "diverged. Reduce the step size or the number of steps."
        )
    return grad


def _check_integrator_inputs(x, p, grad_fn, h, n_steps):
    x, p = _as_state_pair("x", x, "p", p)
    _check_callable("grad_fn", grad_fn)
    checks.check_positive_finite("h", h)
    checks.check_int_at_least("n_steps", n_steps, 0)
    return x, p


def _empty_trajectories(x, n_steps):
    """Return two zero arrays of shape ``(n_steps + 1,) + x.shape``."""
    shape = (n_steps + 1,) + x.shape
    return np.zeros(shape), np.zeros(shape)
