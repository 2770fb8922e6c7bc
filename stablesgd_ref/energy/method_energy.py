"""The method's energy 0.5*v**2 + 0.5*g**2 against the Hamiltonian."""

import numpy as np

from stablesgd_ref import checks
from stablesgd_ref.energy._checks import _as_state, _as_state_pair
from stablesgd_ref.energy.hamiltonian import harmonic_grad, harmonic_loss
from stablesgd_ref.energy.heavy_ball import momentum_matrix, to_phase_space


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
