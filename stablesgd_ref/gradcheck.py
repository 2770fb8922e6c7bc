"""Central-difference gradient checks for hand-written backward passes.

The relative error of one entry compares the analytic gradient ``a`` with the
numerical gradient ``n``::

    rel_error = |a - n| / max(|a| + |n|, tiny)

It is 0 for equal values and 1 for values of opposite sign. ``tiny`` keeps the
denominator away from 0 for entries whose true gradient is 0 or very small.
Such entries are compared on an absolute scale: they pass a tolerance ``tol``
when ``|a - n| < tol * tiny``.

In float64 with ``h = 1e-5``, central differences of a smooth function with
``|f| ~ 1`` have a truncation error of order ``h**2 = 1e-10`` times the third
derivative and a rounding error of order ``eps * |f| / h ~ 2e-11``, where
``eps = 2.2e-16``. A correct backward pass therefore gives relative errors of
about 1e-10 to 1e-7. A wrong one gives far larger errors: 5e-3 for an entry that
is 1% off, 1 for a sign error.
"""

import sys

import numpy as np

DEFAULT_TINY = 1e-3
"""Floor of the relative-error denominator.

An entry with ``|a| + |n| < 1e-3`` passes a 1e-6 tolerance when ``|a - n|`` is
below 1e-9. That is over 10 times the rounding noise of central differences
with ``h = 1e-5``, about ``eps * |f| / h ~ 7e-11`` for a loss ``f`` of size 3.
So exact zeros of the gradient, such as the attention key bias, pass, while a
wrong gradient of size 1e-4 or more still fails. With a floor of 1e-8, rounding
noise alone gives such zeros errors near 1e-2.
"""


def numerical_gradient(f, x, h=1e-5):
    """Estimate the gradient of a scalar function by central differences.

    ``grad[i] = (f(x + h e_i) - f(x - h e_i)) / (2 h)`` for every entry ``i``.
    ``x`` is changed in place for each evaluation and restored afterwards, so
    ``f`` may read ``x`` from anywhere, for example from a model's parameter
    dict.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``.
    x : ndarray of float64, any shape
        Point at which to differentiate. It is restored exactly on return.
    h : float
        Step size.

    Returns
    -------
    grad : ndarray, same shape as ``x``
    """
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise TypeError(
            "x must be a float64 ndarray so that it can be perturbed in place, "
            f"got {type(x).__name__} with dtype {getattr(x, 'dtype', None)}"
        )
    h = float(h)
    if not np.isfinite(h) or h <= 0:
        raise ValueError(f"h must be a positive finite step size, got {h}")

    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        old_value = x[index]
        x[index] = old_value + h
        f_plus = float(f(x))
        x[index] = old_value - h
        f_minus = float(f(x))
        x[index] = old_value
        grad[index] = (f_plus - f_minus) / (2.0 * h)
    return grad


def relative_error(analytic, numerical, tiny=DEFAULT_TINY):
    """Return ``|a - n| / max(|a| + |n|, tiny)`` elementwise.

    Parameters
    ----------
    analytic, numerical : ndarray, same shape
    tiny : float
        Floor of the denominator, see ``DEFAULT_TINY``.

    Returns
    -------
    ndarray, same shape as the inputs, values in [0, 1] when ``tiny`` is small
    """
    analytic = np.asarray(analytic, dtype=np.float64)
    numerical = np.asarray(numerical, dtype=np.float64)
    denominator = np.maximum(np.abs(analytic) + np.abs(numerical), tiny)
    return np.abs(analytic - numerical) / denominator


def check_gradients(f, params, analytic, h=1e-5, tiny=DEFAULT_TINY):
    """Compare analytic gradients with central differences for every parameter.

    Parameters
    ----------
    f : callable
        ``f() -> float``, the loss computed from the current values of the
        arrays in ``params``.
    params : dict of str to ndarray of float64
        Arrays to differentiate with respect to. Each is perturbed in place and
        restored.
    analytic : dict of str to ndarray
        Analytic gradients with the keys and shapes of ``params``.
    h : float
        Step size of the central differences.
    tiny : float
        Floor of the relative-error denominator.

    Returns
    -------
    dict of str to float
        Maximum relative error of each parameter, in the order of ``params``.
    """
    missing = [name for name in params if name not in analytic]
    extra = [name for name in analytic if name not in params]
    if missing or extra:
        raise ValueError(
            "analytic must have the same keys as params. "
            f"Missing: {missing}. Not in params: {extra}."
        )

    errors = {}
    for name, x in params.items():
        grad = np.asarray(analytic[name])
        if grad.shape != x.shape:
            raise ValueError(
                f"analytic[{name!r}] has shape {grad.shape}, but params[{name!r}] "
                f"has shape {x.shape}"
            )
        numerical = numerical_gradient(lambda _: f(), x, h=h)
        errors[name] = float(relative_error(grad, numerical, tiny).max(initial=0.0))
    return errors


def format_gradient_report(errors, params, tol=1e-6):
    """Format one aligned row per parameter and an overall verdict line.

    Parameters
    ----------
    errors : dict of str to float
        From ``check_gradients``.
    params : dict of str to ndarray
        Used for the shapes.
    tol : float
        A parameter is OK when its maximum relative error is below ``tol``.

    Returns
    -------
    str
        Rows of name, shape, maximum relative error and OK or NOT OK.
    """
    names = list(errors)
    name_width = max([len("parameter")] + [len(name) for name in names])
    shapes = {name: str(tuple(params[name].shape)) for name in names}
    shape_width = max([len("shape")] + [len(shape) for shape in shapes.values()])

    lines = [f"{'parameter':<{name_width}}  {'shape':<{shape_width}}  max rel error"]
    for name in names:
        verdict = "OK" if errors[name] < tol else "NOT OK"
        lines.append(
            f"{name:<{name_width}}  {shapes[name]:<{shape_width}}  "
            f"{errors[name]:.3e}  {verdict}"
        )
    n_failed = sum(not errors[name] < tol for name in names)
    if n_failed == 0:
        lines.append(f"all {len(names)} gradients OK (tolerance {tol:.0e})")
    else:
        lines.append(
            f"{n_failed} of {len(names)} gradients NOT OK (tolerance {tol:.0e})"
        )
    return "\n".join(lines)


def print_gradient_report(errors, params, tol=1e-6, file=None):
    """Print ``format_gradient_report`` and return True when every row is OK."""
    print(format_gradient_report(errors, params, tol), file=file or sys.stdout)
    return all(error < tol for error in errors.values())
