"""Energy in Hamiltonian integrators, in heavy-ball momentum and in StableSGD.

The functions here back the energy derivation notebook, in its four parts:

1. Hamiltonian dynamics ``dx/dt = p, dp/dt = -L'(x)`` with
   ``H(x, p) = p**2 / 2 + L(x)`` and three integrators: explicit Euler,
   symplectic Euler (kick then drift) and leapfrog (velocity Verlet). On the
   harmonic oscillator ``L = k x**2 / 2`` explicit Euler multiplies ``H`` by
   exactly ``1 + h**2 k`` per step, while symplectic Euler and leapfrog each
   conserve a modified (shadow) energy exactly.
2. Heavy ball, ``velocity = momentum * velocity + lr * g; x -= velocity``, is
   conformal symplectic Euler with time step ``h = sqrt(lr)``, momentum
   ``p = -velocity / h`` and per-step decay ``momentum``. Its Jacobian
   determinant is ``momentum**dim`` for every smooth loss.
3. The method's energy ``0.5 * velocity**2 + 0.5 * g**2`` against ``H``. The
   potential part is ``k * L``. The kinetic part is ``grad_scale / step_scale``
   times the physical kinetic energy (see :func:`to_phase_space`).
4. The energy factor ``1 / (1 + 0.1 * sqrt(E))`` makes the step size depend on
   the state, so the step map no longer has a constant Jacobian determinant.

Every function works in float64. Elementwise functions accept arrays of any
shape, in the same way as the optimizer updates each element of a param.

References
----------
G. França, J. Sulam, D. P. Robinson, R. Vidal, "Conformal Symplectic and
Relativistic Optimization", NeurIPS 2020: heavy ball as a conformal symplectic
discretization of damped Hamiltonian dynamics.
"""

import math

import numpy as np

from stablesgd_ref import checks

# ---------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# Hamiltonian dynamics and the harmonic oscillator
# ---------------------------------------------------------------------------


def hamiltonian(x, p, loss_fn, axis=None):
    """Compute the Hamiltonian ``H(x, p) = p**2 / 2 + L(x)`` with unit mass.

    Parameters
    ----------
    x, p : array_like, same shape
        Position and momentum. With ``axis=None`` each element is a separate
        one-dimensional system, for example a trajectory of shape ``(n,)``.
    loss_fn : callable
        ``L``. With ``axis=None`` it must act elementwise and return the shape
        of ``x``. With ``axis`` set it must reduce that axis itself.
    axis : int or None
        Axis over which the kinetic energy ``sum(p**2) / 2`` is summed, for
        example ``-1`` for a trajectory of shape ``(n, dim)``.

    Returns
    -------
    np.ndarray
        ``H``, shape of ``x`` with ``axis`` removed.
    """
    x, p = _as_state_pair("x", x, "p", p)
    _check_callable("loss_fn", loss_fn)
    if axis is None:
        kinetic = 0.5 * p**2
    else:
        kinetic = 0.5 * np.sum(p**2, axis=axis)
    potential = np.asarray(loss_fn(x), dtype=np.float64)
    return kinetic + potential


def harmonic_loss(x, k):
    """Return the harmonic potential ``L(x) = k x**2 / 2`` elementwise.

    Parameters
    ----------
    x : array_like, any shape
    k : float
        Spring constant (curvature), finite and > 0.

    Returns
    -------
    np.ndarray, shape of ``x``
    """
    checks.check_positive_finite("k", k)
    return 0.5 * k * _as_state("x", x) ** 2


def harmonic_grad(x, k):
    """Return the harmonic gradient ``L'(x) = k x`` elementwise, shape of ``x``."""
    checks.check_positive_finite("k", k)
    return k * _as_state("x", x)


def harmonic_hamiltonian(x, p, k):
    """Return ``H = p**2 / 2 + k x**2 / 2`` elementwise, shape of ``x``.

    Parameters
    ----------
    x, p : array_like, same shape
    k : float
        Spring constant, finite and > 0.
    """
    x, p = _as_state_pair("x", x, "p", p)
    return 0.5 * p**2 + harmonic_loss(x, k)


# ---------------------------------------------------------------------------
# Integrators for dx/dt = p, dp/dt = -L'(x)
# ---------------------------------------------------------------------------


def explicit_euler(x, p, grad_fn, h, n_steps):
    """Integrate ``dx/dt = p, dp/dt = -L'(x)`` with explicit Euler.

    One step, both updates from the old state::

        x_new = x + h * p
        p_new = p - h * grad_fn(x)

    On ``L = k x**2 / 2`` this multiplies ``H`` by exactly ``1 + h**2 k``
    every step (see :func:`explicit_euler_energy_factor`), so the energy grows
    without bound for any ``h > 0``.

    Parameters
    ----------
    x, p : array_like, shape () or (dim,)
        Initial position and momentum.
    grad_fn : callable
        ``L'``, maps an array of the shape of ``x`` to one of the same shape.
    h : float
        Time step, finite and > 0.
    n_steps : int
        Number of steps, >= 0.

    Returns
    -------
    xs, ps : np.ndarray, shape (n_steps + 1,) + x.shape
        The states after 0, 1, ..., n_steps steps.
    """
    x, p = _check_integrator_inputs(x, p, grad_fn, h, n_steps)
    xs, ps = _empty_trajectories(x, n_steps)
    xs[0], ps[0] = x, p
    for n in range(n_steps):
        grad = _apply_grad(grad_fn, xs[n])
        xs[n + 1] = xs[n] + h * ps[n]
        ps[n + 1] = ps[n] - h * grad
    return xs, ps


def symplectic_euler(x, p, grad_fn, h, n_steps):
    """Integrate ``dx/dt = p, dp/dt = -L'(x)`` with symplectic Euler.

    The order is kick then drift, the order heavy ball uses::

        p_new = p - h * grad_fn(x)      # kick: momentum from the old position
        x_new = x + h * p_new           # drift: position from the new momentum

    The map preserves phase-space area. On ``L = k x**2 / 2`` it conserves
    :func:`symplectic_euler_shadow_energy` exactly, so ``H`` stays bounded.

    Parameters
    ----------
    x, p : array_like, shape () or (dim,)
        Initial position and momentum.
    grad_fn : callable
        ``L'``, maps an array of the shape of ``x`` to one of the same shape.
    h : float
        Time step, finite and > 0.
    n_steps : int
        Number of steps, >= 0.

    Returns
    -------
    xs, ps : np.ndarray, shape (n_steps + 1,) + x.shape
    """
    x, p = _check_integrator_inputs(x, p, grad_fn, h, n_steps)
    xs, ps = _empty_trajectories(x, n_steps)
    xs[0], ps[0] = x, p
    for n in range(n_steps):
        ps[n + 1] = ps[n] - h * _apply_grad(grad_fn, xs[n])
        xs[n + 1] = xs[n] + h * ps[n + 1]
    return xs, ps


def leapfrog(x, p, grad_fn, h, n_steps):
    """Integrate ``dx/dt = p, dp/dt = -L'(x)`` with leapfrog (velocity Verlet).

    One step is a half kick, a full drift and a half kick::

        p_half = p - (h / 2) * grad_fn(x)
        x_new = x + h * p_half
        p_new = p_half - (h / 2) * grad_fn(x_new)

    The method is symplectic and time-reversible. On ``L = k x**2 / 2`` it
    conserves :func:`leapfrog_shadow_energy` exactly, and the error in ``H``
    is ``O(h**2)`` uniformly in time.

    Parameters
    ----------
    x, p : array_like, shape () or (dim,)
        Initial position and momentum.
    grad_fn : callable
        ``L'``, maps an array of the shape of ``x`` to one of the same shape.
    h : float
        Time step, finite and > 0.
    n_steps : int
        Number of steps, >= 0.

    Returns
    -------
    xs, ps : np.ndarray, shape (n_steps + 1,) + x.shape
    """
    x, p = _check_integrator_inputs(x, p, grad_fn, h, n_steps)
    xs, ps = _empty_trajectories(x, n_steps)
    xs[0], ps[0] = x, p
    grad = _apply_grad(grad_fn, x)
    for n in range(n_steps):
        p_half = ps[n] - 0.5 * h * grad
        xs[n + 1] = xs[n] + h * p_half
        grad = _apply_grad(grad_fn, xs[n + 1])
        ps[n + 1] = p_half - 0.5 * h * grad
    return xs, ps


def explicit_euler_energy_factor(k, h):
    """Return ``1 + h**2 k``, the factor explicit Euler applies to ``H`` per step.

    Derivation on ``L = k x**2 / 2``: with ``x' = x + h p`` and
    ``p' = p - h k x`` the cross terms ``-h k x p`` and ``+h k x p`` cancel, so
    ``p'**2 / 2 + k x'**2 / 2 = (1 + h**2 k) (p**2 / 2 + k x**2 / 2)``.
    """
    checks.check_positive_finite("k", k)
    checks.check_positive_finite("h", h)
    return 1.0 + h**2 * k


def symplectic_euler_shadow_energy(x, p, k, h):
    """Compute the energy that kick-then-drift symplectic Euler conserves exactly.

    On ``L = k x**2 / 2``, for the step ``p' = p - h k x, x' = x + h p'``::

        H_shadow(x, p) = p**2 / 2 + k x**2 / 2 - (h k / 2) x p

    Substituting the step gives ``H_shadow(x', p') = H_shadow(x, p)`` for all
    ``x, p``. ``H_shadow`` is positive definite, and the orbits bounded,
    exactly when ``h**2 k < 4``. Because ``|x p| <= H / sqrt(k)``, the true
    energy stays in ``[H_shadow / (1 + h sqrt(k) / 2),
    H_shadow / (1 - h sqrt(k) / 2)]``. For the other order (drift then kick)
    the sign of the cross term flips to ``+ (h k / 2) x p``.

    Parameters
    ----------
    x, p : array_like, same shape
        States, for example trajectories of shape ``(n_steps + 1,)``.
    k : float
        Spring constant, finite and > 0.
    h : float
        Time step, finite and > 0.

    Returns
    -------
    np.ndarray, shape of ``x``
    """
    x, p = _as_state_pair("x", x, "p", p)
    checks.check_positive_finite("h", h)
    return harmonic_hamiltonian(x, p, k) - 0.5 * h * k * x * p


def leapfrog_shadow_energy(x, p, k, h):
    """Compute the energy that leapfrog conserves exactly on ``L = k x**2 / 2``::

        H_shadow(x, p) = p**2 / 2 + (k / 2) (1 - h**2 k / 4) x**2

    Since ``H - H_shadow = (h**2 k**2 / 8) x**2 >= 0``, the true energy
    stays in ``[H_shadow, H_shadow / (1 - h**2 k / 4)]``, an ``O(h**2)`` band.

    Parameters
    ----------
    x, p : array_like, same shape
    k : float
        Spring constant, finite and > 0.
    h : float
        Time step, finite and > 0.

    Returns
    -------
    np.ndarray, shape of ``x``
    """
    x, p = _as_state_pair("x", x, "p", p)
    checks.check_positive_finite("h", h)
    return 0.5 * p**2 + (1.0 - h**2 * k / 4.0) * harmonic_loss(x, k)


# ---------------------------------------------------------------------------
# Heavy ball as conformal symplectic Euler of damped dynamics
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# The method's energy against the Hamiltonian
# ---------------------------------------------------------------------------


def method_energy(velocity, grad):
    """Return the method's energy ``0.5 * velocity**2 + 0.5 * grad**2`` elementwise.

    ``0.5 * velocity**2`` is the method's kinetic term and ``0.5 * grad**2``
    its potential term. On ``L = k x**2 / 2`` the potential term is
    ``0.5 k**2 x**2 = k L``, not ``L``.

    Parameters
    ----------
    velocity, grad : array_like, same shape

    Returns
    -------
    np.ndarray, shape of ``velocity``
    """
    velocity, grad = _as_state_pair("velocity", velocity, "grad", grad)
    kinetic = 0.5 * velocity**2
    potential = 0.5 * grad**2
    return kinetic + potential


def energy_factor(energy, scale=0.1):
    """Return the step-size factor ``1 / (1 + scale * sqrt(energy))`` elementwise.

    The factor is 1 at ``energy = 0``, 0.5 at ``energy = 1 / scale**2`` and
    falls like ``1 / (scale * sqrt(energy))`` for large energy. StableSGD uses
    ``scale = 0.1``.

    Parameters
    ----------
    energy : array_like, any shape
        Values >= 0.
    scale : float
        Finite and >= 0.

    Returns
    -------
    np.ndarray, shape of ``energy``, values in (0, 1]
    """
    energy = _as_state("energy", energy)
    checks.check_non_negative("scale", scale)
    if np.any(energy < 0):
        raise ValueError(
            f"energy must be >= 0, got minimum {energy.min()!r}. The energy is "
            "0.5 * velocity**2 + 0.5 * grad**2, so compute it with method_energy."
        )
    return 1.0 / (1.0 + scale * np.sqrt(energy))


def compare_method_energy(x, velocity, k, grad_scale, step_scale):
    """Split the method's energy and ``H`` into terms on ``L = k x**2 / 2``.

    With ``g = k x`` and ``p, h`` from :func:`to_phase_space`::

        method kinetic   = 0.5 velocity**2 = (grad_scale / step_scale) p**2 / 2
        method potential = 0.5 g**2        = k L

    so the method's energy equals ``H`` for every state only when
    ``grad_scale / step_scale = 1`` and ``k = 1``. It is a fixed multiple of
    ``H`` when ``grad_scale / step_scale = k``.

    Parameters
    ----------
    x, velocity : array_like, same shape
    k : float
        Spring constant, finite and > 0.
    grad_scale, step_scale : float
        The momentum method's scales (table in :func:`to_phase_space`).

    Returns
    -------
    dict of str to np.ndarray or float
        ``"method_kinetic"``, ``"method_potential"``, ``"method_energy"``,
        ``"kinetic"`` (``p**2 / 2``), ``"potential"`` (``L``), ``"hamiltonian"``
        (each of the shape of ``x``), and the floats ``"kinetic_scale"``
        (``grad_scale / step_scale``), ``"potential_scale"`` (``k``) and
        ``"h"``.
    """
    x, velocity = _as_state_pair("x", x, "velocity", velocity)
    grad = harmonic_grad(x, k)
    p, h = to_phase_space(velocity, grad_scale, step_scale)
    kinetic = 0.5 * p**2
    potential = harmonic_loss(x, k)
    return {
        "method_kinetic": 0.5 * velocity**2,
        "method_potential": 0.5 * grad**2,
        "method_energy": method_energy(velocity, grad),
        "kinetic": kinetic,
        "potential": potential,
        "hamiltonian": kinetic + potential,
        "kinetic_scale": grad_scale / step_scale,
        "potential_scale": float(k),
        "h": h,
    }


def noisy_harmonic_grad(k, sigma, seed):
    """Return a gradient function ``g(x) = k x + sigma * noise`` for ``L = k x**2/2``.

    Each call draws fresh independent standard normal noise of the shape of
    ``x`` from ``np.random.default_rng(seed)``, so a run is reproducible.

    Parameters
    ----------
    k : float
        Spring constant, finite and > 0.
    sigma : float
        Noise standard deviation, finite and >= 0.
    seed : int
        Seed of the random generator.

    Returns
    -------
    callable
        Maps an array ``x`` to an array of the shape of ``x``.
    """
    checks.check_positive_finite("k", k)
    checks.check_non_negative("sigma", sigma)
    rng = np.random.default_rng(seed)

    def grad_fn(x):
        x = np.asarray(x, dtype=np.float64)
        return k * x + sigma * rng.standard_normal(x.shape)

    return grad_fn


def expected_method_energy_at_minimum(sigma, momentum, grad_scale):
    """Return the stationary mean of the method's energy with ``x`` held at 0.

    With ``g = sigma * noise`` and ``velocity = momentum * velocity +
    grad_scale * g``, the stationary ``E[velocity**2]`` is
    ``grad_scale**2 sigma**2 / (1 - momentum**2)``, so the mean energy is::

        0.5 sigma**2 (1 + grad_scale**2 / (1 - momentum**2))

    The true energy at the minimum is 0, so all of this measures the noise.

    Parameters
    ----------
    sigma : float
        Noise standard deviation, >= 0.
    momentum : float
        In [0, 1). Momentum 1 has no stationary velocity variance.
    grad_scale : float
        ``lr`` for StableSGD's default, 1 for ``lr_in_velocity=False``.

    Returns
    -------
    float
    """
    checks.check_non_negative("sigma", sigma)
    checks.check_momentum(momentum)
    checks.check_positive_finite("grad_scale", grad_scale)
    return 0.5 * sigma**2 * (1.0 + grad_scale**2 / (1.0 - momentum**2))


def stationary_covariance(k, momentum, grad_scale, step_scale, sigma):
    """Return the stationary covariance of ``(x, velocity)`` under noisy gradients.

    The state ``z = (x, velocity)`` follows ``z_new = M z + sigma w noise`` with
    ``M`` from :func:`momentum_matrix` and ``w = (-grad_scale * step_scale,
    grad_scale)``. The stationary covariance solves the discrete Lyapunov
    equation ``S = M S M^T + sigma**2 w w^T``, here as the linear system
    ``(I - M kron M) vec(S) = vec(sigma**2 w w^T)``.

    Parameters
    ----------
    k : float
        Spring constant, finite and > 0.
    momentum : float
        In [0, 1).
    grad_scale, step_scale : float
        Finite and > 0.
    sigma : float
        Noise standard deviation, >= 0.

    Returns
    -------
    np.ndarray, shape (2, 2)
        ``[[Var x, Cov(x, v)], [Cov(x, v), Var v]]``.

    Raises
    ------
    ValueError
        If the iteration is unstable (spectral radius of ``M`` >= 1).
    """
    checks.check_momentum(momentum)
    checks.check_non_negative("sigma", sigma)
    matrix = momentum_matrix(k, momentum, grad_scale, step_scale)
    radius = float(np.max(np.abs(np.linalg.eigvals(matrix))))
    if radius >= 1.0:
        raise ValueError(
            f"the iteration is unstable (spectral radius {radius:.4g} >= 1). "
            "It needs grad_scale * step_scale * k < 2 * (1 + momentum), "
            "so reduce the step size."
        )
    w = np.array([-grad_scale * step_scale, grad_scale])
    noise_cov = sigma**2 * np.outer(w, w)
    system = np.eye(4) - np.kron(matrix, matrix)
    vec_cov = np.linalg.solve(system, noise_cov.reshape(4))
    return vec_cov.reshape(2, 2)


def expected_method_energy_stationary(k, momentum, grad_scale, step_scale, sigma):
    """Return the stationary mean of the method's energy when ``x`` moves too.

    The step computes its energy from the new velocity and the gradient
    ``g = k x + sigma * noise`` at the old position, with the noise independent
    of ``x``, so::

        E[energy] = 0.5 Var(velocity) + 0.5 (k**2 Var(x) + sigma**2)

    using :func:`stationary_covariance`. With a small step, ``Var(x)`` is small
    and the value is close to :func:`expected_method_energy_at_minimum`.

    Returns
    -------
    float
    """
    cov = stationary_covariance(k, momentum, grad_scale, step_scale, sigma)
    return 0.5 * cov[1, 1] + 0.5 * (k**2 * cov[0, 0] + sigma**2)


# ---------------------------------------------------------------------------
# The energy factor makes the step state dependent
# ---------------------------------------------------------------------------


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
