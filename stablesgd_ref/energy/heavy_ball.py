"""Heavy ball as conformal symplectic Euler of damped dynamics."""

import math

import numpy as np

from stablesgd_ref import checks
from stablesgd_ref.energy._checks import (
    _apply_grad,
    _as_state,
    _as_state_pair,
    _check_callable,
    _check_integrator_inputs,
    _check_unit_interval,
    _empty_trajectories,
)
from stablesgd_ref.energy.hamiltonian import hamiltonian


def heavy_ball_step(x, velocity, grad_fn, lr, momentum):
    """Apply one heavy-ball step, the StandardSGD update::

        velocity_new = momentum * velocity + lr * grad_fn(x)
        x_new = x - velocity_new

    Parameters
    ----------
    x, velocity : array_like, same shape
    grad_fn : callable
        ``L'``, maps an array of the shape of ``x`` to one of the same shape.
    lr : float
        Learning rate, finite and > 0.
    momentum : float
        Momentum coefficient in [0, 1].

    Returns
    -------
    x_new, velocity_new : np.ndarray, shape of ``x``
    """
    x, velocity = _as_state_pair("x", x, "velocity", velocity)
    _check_callable("grad_fn", grad_fn)
    checks.check_positive_finite("lr", lr)
    _check_unit_interval("momentum", momentum)
    grad = _apply_grad(grad_fn, x)
    velocity_new = momentum * velocity + lr * grad
    x_new = x - velocity_new
    return x_new, velocity_new


def heavy_ball(x, velocity, grad_fn, lr, momentum, n_steps):
    """Run ``n_steps`` heavy-ball steps and return the trajectory.

    Each step is :func:`heavy_ball_step`. Heavy ball is conformal symplectic
    Euler (see :func:`conformal_symplectic_euler`) with ``h = sqrt(lr)``,
    ``decay = momentum`` and ``p = -velocity / sqrt(lr)``. Momentum 1 is the
    undamped case, which is plain symplectic Euler.

    Parameters
    ----------
    x, velocity : array_like, shape () or (dim,)
        Initial position and velocity.
    grad_fn : callable
        ``L'``, maps an array of the shape of ``x`` to one of the same shape.
        It is called once per step, so a noisy ``grad_fn`` is fine.
    lr : float
        Learning rate, finite and > 0.
    momentum : float
        Momentum coefficient in [0, 1].
    n_steps : int
        Number of steps, >= 0.

    Returns
    -------
    xs, velocities : np.ndarray, shape (n_steps + 1,) + x.shape
    grads : np.ndarray, shape (n_steps,) + x.shape
        ``grads[n]`` is the gradient at ``xs[n]`` used by step ``n``.
    """
    x, velocity = _as_state_pair("x", x, "velocity", velocity)
    _check_callable("grad_fn", grad_fn)
    checks.check_positive_finite("lr", lr)
    _check_unit_interval("momentum", momentum)
    checks.check_int_at_least("n_steps", n_steps, 0)

    xs, velocities = _empty_trajectories(x, n_steps)
    grads = np.zeros((n_steps,) + x.shape)
    xs[0], velocities[0] = x, velocity
    for n in range(n_steps):
        grads[n] = _apply_grad(grad_fn, xs[n])
        velocities[n + 1] = momentum * velocities[n] + lr * grads[n]
        xs[n + 1] = xs[n] - velocities[n + 1]
    return xs, velocities, grads


def conformal_symplectic_euler(x, p, grad_fn, h, decay, n_steps):
    """Integrate damped dynamics ``dx/dt = p, dp/dt = -L'(x) - gamma p``.

    One step scales the momentum by the exact friction flow, then applies
    kick-then-drift symplectic Euler::

        p_new = decay * p - h * grad_fn(x)      # decay = exp(-gamma h)
        x_new = x + h * p_new

    The Jacobian determinant of one step is ``decay**dim``, so phase-space
    volume shrinks by that factor every step. ``decay = 1`` is symplectic Euler.

    Parameters
    ----------
    x, p : array_like, shape () or (dim,)
    grad_fn : callable
        ``L'``, maps an array of the shape of ``x`` to one of the same shape.
    h : float
        Time step, finite and > 0.
    decay : float
        Per-step momentum decay ``exp(-gamma h)``, in [0, 1].
    n_steps : int
        Number of steps, >= 0.

    Returns
    -------
    xs, ps : np.ndarray, shape (n_steps + 1,) + x.shape
    """
    x, p = _check_integrator_inputs(x, p, grad_fn, h, n_steps)
    _check_unit_interval("decay", decay)
    xs, ps = _empty_trajectories(x, n_steps)
    xs[0], ps[0] = x, p
    for n in range(n_steps):
        ps[n + 1] = decay * ps[n] - h * _apply_grad(grad_fn, xs[n])
        xs[n + 1] = xs[n] + h * ps[n + 1]
    return xs, ps


def to_phase_space(velocity, grad_scale, step_scale):
    """Map a momentum-method velocity to Hamiltonian momentum ``p`` and step ``h``.

    A momentum method with constant step on any loss reads::

        velocity_new = momentum * velocity + grad_scale * g
        x_new = x - step_scale * velocity_new

    It equals conformal symplectic Euler with unit mass, time step
    ``h = sqrt(grad_scale * step_scale)``, decay ``momentum`` and momentum
    ``p = -step_scale * velocity / h``. The three conventions of this project:

    * StandardSGD (heavy ball): ``grad_scale = lr``, ``step_scale = 1``,
      ``h = sqrt(lr)``.
    * StableSGD with energy factor 1: ``grad_scale = lr``, ``step_scale = lr``,
      ``h = lr``. This is heavy ball with learning rate ``lr**2``.
    * StableSGD with ``lr_in_velocity=False`` and energy factor 1:
      ``grad_scale = 1``, ``step_scale = lr``, ``h = sqrt(lr)``.

    Hence ``0.5 * velocity**2 = (grad_scale / step_scale) * p**2 / 2``.

    Parameters
    ----------
    velocity : array_like, any shape
    grad_scale, step_scale : float
        Finite and > 0.

    Returns
    -------
    p : np.ndarray, shape of ``velocity``
    h : float
    """
    velocity = _as_state("velocity", velocity)
    checks.check_positive_finite("grad_scale", grad_scale)
    checks.check_positive_finite("step_scale", step_scale)
    h = math.sqrt(grad_scale * step_scale)
    p = -step_scale * velocity / h
    return p, h


def heavy_ball_energy(x, velocity, lr, loss_fn):
    """Return the physical energy of a heavy-ball state, elementwise::

        E = velocity**2 / (2 lr) + L(x)

    This is ``H = p**2 / 2 + L`` with ``p = -velocity / sqrt(lr)``. On
    ``L = k x**2 / 2`` with momentum 1, ``E`` stays between
    ``H_shadow / (1 + sqrt(lr k) / 2)`` and ``H_shadow / (1 - sqrt(lr k) / 2)``,
    where ``H_shadow`` is :func:`symplectic_euler_shadow_energy` at
    ``h = sqrt(lr)``. With momentum below 1 and a stable lr, ``E`` decays like
    ``radius**(2 n)``, where ``radius`` is the spectral radius of
    :func:`momentum_matrix`.

    Parameters
    ----------
    x, velocity : array_like, same shape
    lr : float
        Learning rate, finite and > 0.
    loss_fn : callable
        ``L``, elementwise, returns the shape of ``x``.

    Returns
    -------
    np.ndarray, shape of ``x``
    """
    x, velocity = _as_state_pair("x", x, "velocity", velocity)
    p, _ = to_phase_space(velocity, lr, 1.0)
    return hamiltonian(x, p, loss_fn)


def momentum_matrix(k, momentum, grad_scale, step_scale):
    """Return the linear map of one momentum step on ``L = k x**2 / 2``.

    In coordinates ``(x, velocity)``, with the update of :func:`to_phase_space`::

        [x_new       ]   [1 - a b k   -b momentum] [x       ]
        [velocity_new] = [a k          momentum  ] [velocity]

    where ``a = grad_scale`` and ``b = step_scale``. Its determinant is
    ``momentum (1 - a b k) + a b k momentum = momentum`` for every ``k``, ``a``
    and ``b``, so areas in the ``(x, velocity)`` plane shrink by ``momentum``
    every step. Heavy ball is ``a = lr, b = 1``.

    Parameters
    ----------
    k : float
        Spring constant, finite and > 0.
    momentum : float
        Momentum coefficient in [0, 1].
    grad_scale, step_scale : float
        Finite and > 0.

    Returns
    -------
    np.ndarray, shape (2, 2)
        Also the Jacobian of the step, since the step is linear.
    """
    checks.check_positive_finite("k", k)
    _check_unit_interval("momentum", momentum)
    checks.check_positive_finite("grad_scale", grad_scale)
    checks.check_positive_finite("step_scale", step_scale)
    ab_k = grad_scale * step_scale * k
    return np.array(
        [
            [1.0 - ab_k, -step_scale * momentum],
            [grad_scale * k, momentum],
        ]
    )


def heavy_ball_matrix(k, lr, momentum):
    """Return the (2, 2) heavy-ball map on ``L = k x**2 / 2`` in ``(x, velocity)``.

    ``[[1 - lr k, -momentum], [lr k, momentum]]``, determinant ``momentum``.
    See :func:`momentum_matrix`.
    """
    return momentum_matrix(k, momentum, grad_scale=lr, step_scale=1.0)


def finite_difference_jacobian(map_fn, z, eps=1e-6):
    """Estimate the Jacobian of ``map_fn`` at ``z`` by central differences.

    ``J[i, j] = (map_fn(z + eps e_j)[i] - map_fn(z - eps e_j)[i]) / (2 eps)``,
    with error ``O(eps**2)`` for smooth maps.

    Parameters
    ----------
    map_fn : callable
        Maps an array of shape (n,) to an array of shape (n,).
    z : array_like, shape (n,)
    eps : float
        Finite and > 0.

    Returns
    -------
    np.ndarray, shape (n, n)
    """
    _check_callable("map_fn", map_fn)
    z = _as_state("z", z)
    checks.check_positive_finite("eps", eps)
    if z.ndim != 1:
        raise ValueError(f"z must have shape (n,), got {z.shape}. Flatten it first.")
    n = z.size
    jacobian = np.zeros((n, n))
    for j in range(n):
        step = np.zeros(n)
        step[j] = eps
        forward = np.asarray(map_fn(z + step), dtype=np.float64)
        backward = np.asarray(map_fn(z - step), dtype=np.float64)
        if forward.shape != (n,):
            raise ValueError(
                f"map_fn returned shape {forward.shape} for input shape {(n,)}, "
                "but it must map shape (n,) to shape (n,)."
            )
        jacobian[:, j] = (forward - backward) / (2.0 * eps)
    return jacobian


def polygon_area(points):
    """Compute the signed area of a closed polygon with the shoelace formula.

    ``A = 0.5 * sum(x_i y_{i+1} - x_{i+1} y_i)`` with indices modulo ``n``.
    The area is positive when the vertices run counterclockwise. A linear map
    with matrix ``M`` multiplies the area by ``det(M)`` exactly.

    Parameters
    ----------
    points : array_like, shape (n, 2)
        Vertices in order, ``n >= 3``. The first vertex is not repeated.

    Returns
    -------
    float
    """
    points = _as_state("points", points)
    if points.ndim != 2 or points.shape[1] != 2 or points.shape[0] < 3:
        raise ValueError(
            f"points must have shape (n, 2) with n >= 3, got {points.shape}"
        )
    x, y = points[:, 0], points[:, 1]
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))
