"""Hamiltonian dynamics, the harmonic oscillator and three integrators."""

import numpy as np

from stablesgd_ref import checks
from stablesgd_ref.energy._checks import (
    _apply_grad,
    _as_state,
    _as_state_pair,
    _check_callable,
    _check_integrator_inputs,
    _empty_trajectories,
)


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
