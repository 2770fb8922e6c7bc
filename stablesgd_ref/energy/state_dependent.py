"""The energy factor makes the StableSGD step state dependent."""

import numpy as np

from stablesgd_ref import checks
from stablesgd_ref.energy._checks import (
    _apply_grad,
    _as_state_pair,
    _check_callable,
    _check_unit_interval,
    _empty_trajectories,
)
from stablesgd_ref.energy.hamiltonian import harmonic_grad
from stablesgd_ref.energy.method_energy import energy_factor, method_energy


def stablesgd_step(
    x, velocity, grad_fn, lr, momentum, lr_in_velocity=True, energy_conservation=True
):
    """Apply one StableSGD step to a single state and return the new state.

    The same steps as ``StableSGD.step`` with the penalty of the literal
    reading (always 0), written as a pure function so that its Jacobian can be
    taken. Unlike the optimizer it accepts momentum 1::

        velocity_new = momentum * velocity + grad_scale * g   # grad_scale = lr or 1
        energy = 0.5 velocity_new**2 + 0.5 g**2
        adaptive_lr = lr * energy_factor(energy)              # or lr
        x_new = x - adaptive_lr * velocity_new

    Parameters
    ----------
    x, velocity : array_like, same shape
    grad_fn : callable
        ``L'``, maps an array of the shape of ``x`` to one of the same shape.
    lr : float
        Learning rate, finite and > 0.
    momentum : float
        In [0, 1].
    lr_in_velocity : bool
        True: ``grad_scale = lr``. False: ``grad_scale = 1``.
    energy_conservation : bool
        False fixes the factor at 1, the constant-step map.

    Returns
    -------
    x_new, velocity_new : np.ndarray, shape of ``x``
    """
    x, velocity = _as_state_pair("x", x, "velocity", velocity)
    _check_callable("grad_fn", grad_fn)
    _check_stablesgd_settings(lr, momentum, lr_in_velocity, energy_conservation)
    grad = _apply_grad(grad_fn, x)
    return _stablesgd_update(
        x, velocity, grad, lr, momentum, lr_in_velocity, energy_conservation
    )


def _check_stablesgd_settings(lr, momentum, lr_in_velocity, energy_conservation):
    checks.check_positive_finite("lr", lr)
    _check_unit_interval("momentum", momentum)
    for name, flag in [
        ("lr_in_velocity", lr_in_velocity),
        ("energy_conservation", energy_conservation),
    ]:
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"{name} must be True or False, got {flag!r}")


def _stablesgd_update(
    x, velocity, grad, lr, momentum, lr_in_velocity, energy_conservation
):
    """Return the new ``(x, velocity)`` of one StableSGD step given ``grad``."""
    # 1. Velocity update.
    grad_scale = lr if lr_in_velocity else 1.0
    velocity_new = momentum * velocity + grad_scale * grad

    # 2. Energy.
    energy = method_energy(velocity_new, grad)

    # 4. Adaptive learning rate (step 3, the penalty, is 0 in the literal reading).
    adaptive_lr = lr * energy_factor(energy) if energy_conservation else lr

    # 5. Parameter update.
    x_new = x - adaptive_lr * velocity_new
    return x_new, velocity_new


def stablesgd(
    x,
    velocity,
    grad_fn,
    lr,
    momentum,
    n_steps,
    lr_in_velocity=True,
    energy_conservation=True,
):
    """Run ``n_steps`` of :func:`stablesgd_step` and return the trajectory.

    Parameters
    ----------
    x, velocity : array_like, shape () or (dim,)
        Initial state. Each element is updated independently, so ``dim``
        elements of a separable loss are ``dim`` independent runs.
    grad_fn : callable
        ``L'``, called once per step, so a noisy ``grad_fn`` is fine.
    lr : float
        Learning rate, finite and > 0.
    momentum : float
        In [0, 1].
    n_steps : int
        Number of steps, >= 0.
    lr_in_velocity, energy_conservation : bool
        As in :func:`stablesgd_step`.

    Returns
    -------
    xs, velocities : np.ndarray, shape (n_steps + 1,) + x.shape
    grads : np.ndarray, shape (n_steps,) + x.shape
        ``grads[n]`` is the gradient at ``xs[n]`` used by step ``n``, so
        ``method_energy(velocities[n + 1], grads[n])`` is the energy of step n.
    """
    x, velocity = _as_state_pair("x", x, "velocity", velocity)
    _check_callable("grad_fn", grad_fn)
    _check_stablesgd_settings(lr, momentum, lr_in_velocity, energy_conservation)
    checks.check_int_at_least("n_steps", n_steps, 0)

    xs, velocities = _empty_trajectories(x, n_steps)
    grads = np.zeros((n_steps,) + x.shape)
    xs[0], velocities[0] = x, velocity
    for n in range(n_steps):
        grads[n] = _apply_grad(grad_fn, xs[n])
        xs[n + 1], velocities[n + 1] = _stablesgd_update(
            xs[n],
            velocities[n],
            grads[n],
            lr,
            momentum,
            lr_in_velocity,
            energy_conservation,
        )
    return xs, velocities, grads


def stablesgd_jacobian_det(x, velocity, k, lr, momentum, lr_in_velocity=True):
    """Return the Jacobian determinant of :func:`stablesgd_step` on ``L = k x**2/2``.

    Elementwise, for the map ``(x, velocity) -> (x_new, velocity_new)`` with
    ``g = k x``, ``v = velocity_new`` and ``f = energy_factor(energy)``::

        det = momentum * (1 + 0.05 lr k f**2 v g / sqrt(energy))

    Derivation: ``x_new = x - lr f v`` with ``df/dE = -0.05 f**2 / sqrt(E)``.
    Expanding ``det = momentum dx_new/dx - a k dx_new/dvelocity``
    (``a = lr`` or 1) leaves ``momentum - lr (df/dE) v (momentum dE/dx -
    a k dE/dvelocity)``, and the bracket is ``momentum g k``. The constant-step
    map has ``det = momentum``. The extra term is positive when the velocity
    points along the gradient, so the map can even expand areas.

    Parameters
    ----------
    x, velocity : array_like, same shape
        State before the step. ``energy`` must be > 0.
    k : float
        Spring constant, finite and > 0.
    lr : float
        Learning rate, finite and > 0.
    momentum : float
        In [0, 1].
    lr_in_velocity : bool

    Returns
    -------
    np.ndarray, shape of ``x``
    """
    x, velocity = _as_state_pair("x", x, "velocity", velocity)
    checks.check_positive_finite("lr", lr)
    _check_unit_interval("momentum", momentum)
    grad = harmonic_grad(x, k)
    grad_scale = lr if lr_in_velocity else 1.0
    velocity_new = momentum * velocity + grad_scale * grad
    energy = method_energy(velocity_new, grad)
    if np.any(energy <= 0):
        raise ValueError(
            "the energy is 0 at some state, where sqrt(energy) has no derivative. "
            "Pass states away from x = 0, velocity = 0."
        )
    factor = energy_factor(energy)
    return momentum * (
        1.0 + 0.05 * lr * k * factor**2 * velocity_new * grad / np.sqrt(energy)
    )
