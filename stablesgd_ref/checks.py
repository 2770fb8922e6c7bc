"""Input checks shared by the optimizers, the landscape and the command line.

Each check raises ``ValueError`` or ``TypeError`` with the offending value, the
valid range and what to do, so that a caller never sees a NumPy traceback from
deep inside an update.
"""

import math

import numpy as np


def check_positive_finite(name, value):
    """Raise unless ``value`` is a finite real number greater than 0."""
    if not _is_real(value) or not math.isfinite(value) or value <= 0:
        raise ValueError(
            f"{name} must be a finite number greater than 0, got {value!r}; "
            f"pass for example {name}=0.001"
        )


def check_momentum(value):
    """Raise unless ``value`` is a real number in [0, 1)."""
    if not _is_real(value) or not (0.0 <= value < 1.0):
        raise ValueError(
            f"momentum must be a real number in [0, 1), got {value!r}; "
            "pass for example momentum=0.9"
        )


def check_non_negative(name, value):
    """Raise unless ``value`` is a finite real number of at least 0."""
    if not _is_real(value) or not math.isfinite(value) or value < 0:
        raise ValueError(
            f"{name} must be a finite number >= 0, got {value!r}; "
            f"pass 0 to switch the term off"
        )


def check_choice(name, value, choices):
    """Raise unless ``value`` is one of ``choices``."""
    if value not in choices:
        listed = ", ".join(repr(choice) for choice in choices)
        raise ValueError(f"unknown {name} {value!r}; valid values are {listed}")


def check_int_at_least(name, value, minimum):
    """Raise unless ``value`` is an integer of at least ``minimum``."""
    is_int = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not is_int or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def as_int_at_least(name, value, minimum=1):
    """Return ``value`` as an int after checking it is an integer >= ``minimum``.

    Raises TypeError for a value that is not an integer (bool included) and
    ValueError for one below ``minimum``.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(
            f"{name} must be an integer >= {minimum}, got {value!r} of type "
            f"{type(value).__name__}"
        )
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)


def check_params(params):
    """Return ``params`` as a list after checking it contains float64 arrays.

    The optimizers update each array in place, so a copy made here would
    silently detach the optimizer from the caller's arrays. Every array must
    therefore already be a writeable ``np.ndarray`` of dtype float64.
    """
    if isinstance(params, np.ndarray) or not hasattr(params, "__iter__"):
        raise TypeError(
            "params must be a list of float64 NumPy arrays, got "
            f"{type(params).__name__}; wrap a single array as [array]"
        )
    params = list(params)
    if not params:
        raise ValueError("params is empty; pass at least one float64 array")
    for index, param in enumerate(params):
        if not isinstance(param, np.ndarray):
            raise TypeError(
                f"params[{index}] must be a float64 NumPy array, got "
                f"{type(param).__name__}; convert it with np.asarray(x, dtype=np.float64)"
            )
        if param.dtype != np.float64:
            raise TypeError(
                f"params[{index}] has dtype {param.dtype}, expected float64; "
                "convert it with x.astype(np.float64) before creating the optimizer"
            )
        if not param.flags.writeable:
            raise ValueError(f"params[{index}] is read-only; pass a writeable copy")
        for earlier in range(index):
            if np.shares_memory(param, params[earlier]):
                raise ValueError(
                    f"params[{index}] shares memory with params[{earlier}], so one "
                    "step would update it twice; pass each array once"
                )
    return params


def check_grads(grads, params):
    """Return ``grads`` as float64 arrays after checking them against ``params``.

    Raises if the list has the wrong length, an array has the wrong shape, or
    an array contains NaN or Inf (the message names the parameter's index).
    """
    if isinstance(grads, np.ndarray) or not hasattr(grads, "__iter__"):
        raise TypeError(
            f"grads must be a list of arrays, got {type(grads).__name__}; "
            "wrap a single array as [array]"
        )
    grads = list(grads)
    if len(grads) != len(params):
        raise ValueError(
            f"grads has {len(grads)} arrays but the optimizer has "
            f"{len(params)} params; pass one gradient per param, in the same order"
        )
    checked = []
    for index, (grad, param) in enumerate(zip(grads, params)):
        if np.iscomplexobj(grad):
            raise TypeError(
                f"grads[{index}] is complex; the optimizers work on real float64 "
                "values, so pass the real gradient"
            )
        try:
            grad = np.asarray(grad, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise TypeError(
                f"grads[{index}] cannot be converted to float64: {error}"
            ) from None
        if grad.shape != param.shape:
            raise ValueError(
                f"grads[{index}] has shape {grad.shape} but params[{index}] has "
                f"shape {param.shape}; gradients must match their params"
            )
        if not np.isfinite(grad).all():
            raise ValueError(
                f"grads[{index}] contains NaN or Inf; the loss or its gradient "
                f"diverged before this step (param index {index})"
            )
        checked.append(grad)
    return checked


def _is_real(value):
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, bool
    )
