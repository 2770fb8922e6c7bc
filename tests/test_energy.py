"""Tests for stablesgd_ref.energy.

Each claim is checked against an independent computation. The references are
hand-computed first steps, the exact harmonic-oscillator solution, a conserved
quadratic form found by linear algebra and finite-difference Jacobians written
here. Others are scipy's Lyapunov solver, plain NumPy simulations and the
StableSGD optimizer class.
"""

import numpy as np
import pytest

from stablesgd_ref import energy
from stablesgd_ref.optimizers import StableSGD

RNG = np.random.default_rng(20240611)


def harmonic(k):
    """Return the gradient function of L = k x**2 / 2."""
    return lambda x: k * x


def central_jacobian(map_fn, z, eps=1e-6):
    """Return the central-difference Jacobian of map_fn at z, written here."""
    columns = []
    for j in range(z.size):
        dz = np.zeros_like(z)
        dz[j] = eps
        columns.append((map_fn(z + dz) - map_fn(z - dz)) / (2 * eps))
    return np.stack(columns, axis=1)


def exact_harmonic(x0, p0, k, t):
    """Return the exact solution (x(t), p(t)) of the harmonic oscillator."""
    omega = np.sqrt(k)
    x = x0 * np.cos(omega * t) + p0 / omega * np.sin(omega * t)
    p = -x0 * omega * np.sin(omega * t) + p0 * np.cos(omega * t)
    return x, p


# ---------------------------------------------------------------------------
# Integrators: first steps by hand
# ---------------------------------------------------------------------------


def test_explicit_euler_first_step_by_hand():
    # x' = 1 + 0.1 * 0.5, p' = 0.5 - 0.1 * 2 * 1
    xs, ps = energy.explicit_euler(1.0, 0.5, harmonic(2.0), 0.1, 1)
    assert xs[1] == pytest.approx(1.05, abs=1e-15)
    assert ps[1] == pytest.approx(0.3, abs=1e-15)


def test_symplectic_euler_first_step_by_hand():
    # Kick: p' = 0.5 - 0.1 * 2 * 1 = 0.3. Drift with the new p: x' = 1 + 0.03.
    xs, ps = energy.symplectic_euler(1.0, 0.5, harmonic(2.0), 0.1, 1)
    assert ps[1] == pytest.approx(0.3, abs=1e-15)
    assert xs[1] == pytest.approx(1.03, abs=1e-15)


def test_leapfrog_first_step_by_hand():
    # p_half = 0.5 - 0.05 * 2 = 0.4, x' = 1 + 0.1 * 0.4 = 1.04,
    # p' = 0.4 - 0.05 * 2 * 1.04 = 0.296
    xs, ps = energy.leapfrog(1.0, 0.5, harmonic(2.0), 0.1, 1)
    assert xs[1] == pytest.approx(1.04, abs=1e-15)
    assert ps[1] == pytest.approx(0.296, abs=1e-15)


def test_integrators_return_shapes():
    x0 = RNG.normal(size=3)
    p0 = RNG.normal(size=3)
    for integrator in [energy.explicit_euler, energy.symplectic_euler, energy.leapfrog]:
        xs, ps = integrator(x0, p0, harmonic(1.5), 0.1, 7)
        assert xs.shape == (8, 3)
        assert ps.shape == (8, 3)
        np.testing.assert_array_equal(xs[0], x0)
    xs, ps = energy.leapfrog(0.3, -0.2, harmonic(1.5), 0.1, 0)
    assert xs.shape == (1,)


@pytest.mark.parametrize(
    "integrator, order",
    [
        (energy.explicit_euler, 1),
        (energy.symplectic_euler, 1),
        (energy.leapfrog, 2),
    ],
)
def test_integrator_convergence_order(integrator, order):
    # Global error at t = 1 against the exact solution shrinks by 2**order
    # when h is halved.
    k, x0, p0 = 2.0, 0.8, -0.3
    errors = []
    for n_steps in [200, 400]:
        xs, ps = integrator(x0, p0, harmonic(k), 1.0 / n_steps, n_steps)
        x_exact, p_exact = exact_harmonic(x0, p0, k, 1.0)
        errors.append(np.hypot(xs[-1] - x_exact, ps[-1] - p_exact))
    assert errors[0] / errors[1] == pytest.approx(2.0**order, rel=0.05)


# ---------------------------------------------------------------------------
# Energy behaviour on the harmonic oscillator
# ---------------------------------------------------------------------------


def test_explicit_euler_energy_factor_exact():
    k, h = 1.7, 0.13
    x0, p0 = RNG.normal(size=2)
    xs, ps = energy.explicit_euler(x0, p0, harmonic(k), h, 300)
    hamiltonian = 0.5 * ps**2 + 0.5 * k * xs**2
    ratios = hamiltonian[1:] / hamiltonian[:-1]
    np.testing.assert_allclose(ratios, 1 + h**2 * k, rtol=1e-13)
    assert energy.explicit_euler_energy_factor(k, h) == 1 + h**2 * k
    np.testing.assert_allclose(
        hamiltonian, hamiltonian[0] * (1 + h**2 * k) ** np.arange(301), rtol=1e-11
    )


def test_symplectic_euler_shadow_energy_constant():
    k, h = 2.5, 0.2
    xs, ps = energy.symplectic_euler(0.9, -0.4, harmonic(k), h, 5000)
    shadow = energy.symplectic_euler_shadow_energy(xs, ps, k, h)
    assert np.max(np.abs(shadow - shadow[0])) < 1e-12
    # The true energy oscillates by a visible amount but stays in the band
    # [shadow / (1 + h sqrt(k) / 2), shadow / (1 - h sqrt(k) / 2)].
    hamiltonian = 0.5 * ps**2 + 0.5 * k * xs**2
    assert np.ptp(hamiltonian) > 1e-2
    half_width = h * np.sqrt(k) / 2
    assert hamiltonian.min() >= shadow[0] / (1 + half_width) * (1 - 1e-12)
    assert hamiltonian.max() <= shadow[0] / (1 - half_width) * (1 + 1e-12)


def test_shadow_form_from_linear_algebra():
    # The quadratic form Q with M^T Q M = Q, for the one-step matrix M, is
    # unique up to scale. With its p**2 entry scaled to 1/2 it must be
    # [[k/2, -h k/4], [-h k/4, 1/2]], which is the cross term -(h k / 2) x p.
    k, h = 1.3, 0.4
    # (x, p) -> (x + h p', p') with p' = p - h k x
    matrix = np.array([[1 - h**2 * k, h], [-h * k, 1.0]])
    # Unknowns (q_xx, q_xp, q_pp) with Q = [[q_xx, q_xp], [q_xp, q_pp]].
    basis = [
        np.array([[1.0, 0.0], [0.0, 0.0]]),
        np.array([[0.0, 1.0], [1.0, 0.0]]),
        np.array([[0.0, 0.0], [0.0, 1.0]]),
    ]
    system = np.stack(
        [(matrix.T @ b @ matrix - b)[np.triu_indices(2)] for b in basis], axis=1
    )
    _, _, vt = np.linalg.svd(system)
    q_xx, q_xp, q_pp = vt[-1] / vt[-1][2] * 0.5
    x, p = RNG.normal(size=2)
    expected = q_xx * x**2 + 2 * q_xp * x * p + q_pp * p**2
    assert energy.symplectic_euler_shadow_energy(x, p, k, h) == pytest.approx(
        expected, rel=1e-12
    )


def test_drift_kick_order_flips_cross_term_sign():
    # Drift then kick conserves the form with + (h k / 2) x p instead.
    k, h = 1.1, 0.3
    x, p = 0.7, 0.2
    values = []
    for _ in range(2000):
        values.append(0.5 * p**2 + 0.5 * k * x**2 + 0.5 * h * k * x * p)
        x = x + h * p
        p = p - h * k * x
    assert np.ptp(values) < 1e-12


def test_leapfrog_shadow_energy_and_band():
    k, h = 3.0, 0.25
    xs, ps = energy.leapfrog(-0.6, 1.2, harmonic(k), h, 4000)
    shadow = energy.leapfrog_shadow_energy(xs, ps, k, h)
    assert np.max(np.abs(shadow - shadow[0])) < 1e-12
    hamiltonian = 0.5 * ps**2 + 0.5 * k * xs**2
    assert hamiltonian.min() >= shadow[0] * (1 - 1e-12)
    assert hamiltonian.max() <= shadow[0] / (1 - h**2 * k / 4) * (1 + 1e-12)


def test_leapfrog_energy_error_is_second_order():
    # Maximum |H - H0| over the same long time t = 200 shrinks 4x per halving.
    k = 1.0
    errors = []
    for h in [0.2, 0.1, 0.05]:
        xs, ps = energy.leapfrog(1.0, 0.0, harmonic(k), h, round(200 / h))
        hamiltonian = 0.5 * ps**2 + 0.5 * k * xs**2
        errors.append(np.max(np.abs(hamiltonian - hamiltonian[0])))
    assert errors[0] / errors[1] == pytest.approx(4.0, rel=0.02)
    assert errors[1] / errors[2] == pytest.approx(4.0, rel=0.02)
    # With H_shadow fixed, H - H0 = (h**2 k**2 / 8)(x**2 - x0**2). Here x0 = 1
    # and x passes near 0, so the maximum error is about h**2 / 8.
    assert errors[2] == pytest.approx(0.05**2 / 8, rel=0.01)


def test_hamiltonian_axis_sums_kinetic():
    xs = RNG.normal(size=(5, 3))
    ps = RNG.normal(size=(5, 3))
    k = 0.7
    result = energy.hamiltonian(xs, ps, lambda x: 0.5 * k * np.sum(x**2, axis=-1), -1)
    expected = [0.5 * p @ p + 0.5 * k * x @ x for x, p in zip(xs, ps)]
    np.testing.assert_allclose(result, expected, rtol=1e-14)
    elementwise = energy.hamiltonian(xs, ps, lambda x: 0.5 * k * x**2)
    np.testing.assert_allclose(
        elementwise, energy.harmonic_hamiltonian(xs, ps, k), rtol=1e-15
    )


# ---------------------------------------------------------------------------
# Heavy ball as conformal symplectic Euler
# ---------------------------------------------------------------------------


def test_heavy_ball_first_step_by_hand():
    # velocity' = 0.9 * 0.2 + 0.1 * (2 * 1) = 0.38, x' = 1 - 0.38
    xs, velocities, grads = energy.heavy_ball(1.0, 0.2, harmonic(2.0), 0.1, 0.9, 1)
    assert velocities[1] == pytest.approx(0.38, abs=1e-15)
    assert xs[1] == pytest.approx(0.62, abs=1e-15)
    assert grads[0] == pytest.approx(2.0, abs=1e-15)


def test_heavy_ball_matrix_matches_finite_differences():
    k, lr, momentum = 2.3, 0.07, 0.85

    def step(z):
        x_new, velocity_new = energy.heavy_ball_step(
            z[0], z[1], harmonic(k), lr, momentum
        )
        return np.array([x_new, velocity_new])

    z = RNG.normal(size=2)
    jacobian = central_jacobian(step, z)
    matrix = energy.heavy_ball_matrix(k, lr, momentum)
    np.testing.assert_allclose(matrix, jacobian, atol=1e-9)
    assert np.linalg.det(jacobian) == pytest.approx(momentum, abs=1e-9)
    np.testing.assert_allclose(
        matrix, [[1 - lr * k, -momentum], [lr * k, momentum]], rtol=1e-15
    )


def test_heavy_ball_det_nonlinear_loss():
    # Any smooth loss: det = momentum**dim, here a coupled non-quadratic loss.
    def grad_fn(x):
        return np.sin(x) + x**3 + 0.5 * np.roll(x, 1)

    dim, lr, momentum = 3, 0.05, 0.8

    def step(z):
        return np.concatenate(
            energy.heavy_ball_step(z[:dim], z[dim:], grad_fn, lr, momentum)
        )

    z = RNG.normal(size=2 * dim)
    det = np.linalg.det(central_jacobian(step, z))
    assert det == pytest.approx(momentum**dim, rel=1e-8)
    det_package = np.linalg.det(energy.finite_difference_jacobian(step, z))
    assert det_package == pytest.approx(momentum**dim, rel=1e-8)


def test_finite_difference_jacobian_on_linear_map():
    matrix = RNG.normal(size=(3, 3))
    jacobian = energy.finite_difference_jacobian(lambda z: matrix @ z, np.ones(3))
    np.testing.assert_allclose(jacobian, matrix, atol=1e-9)


def test_heavy_ball_equals_conformal_symplectic_euler():
    k, lr, momentum = 1.8, 0.04, 0.9
    x0, v0 = 0.7, -0.1
    xs, velocities, _ = energy.heavy_ball(x0, v0, harmonic(k), lr, momentum, 300)
    h = np.sqrt(lr)
    xs_c, ps_c = energy.conformal_symplectic_euler(
        x0, -v0 / h, harmonic(k), h, momentum, 300
    )
    np.testing.assert_allclose(xs_c, xs, atol=1e-13)
    np.testing.assert_allclose(ps_c, -velocities / h, atol=1e-12)
    p, h_package = energy.to_phase_space(velocities, lr, 1.0)
    assert h_package == pytest.approx(h, rel=1e-15)
    np.testing.assert_allclose(p, -velocities / h, rtol=1e-15)


def test_polygon_area_hand_values():
    square = [[0, 0], [1, 0], [1, 1], [0, 1]]
    assert energy.polygon_area(square) == pytest.approx(1.0)
    assert energy.polygon_area(square[::-1]) == pytest.approx(-1.0)
    assert energy.polygon_area([[0, 0], [4, 0], [1, 3]]) == pytest.approx(6.0)


def test_heavy_ball_area_shrinks_by_momentum():
    k, lr, momentum, n_steps = 1.0, 0.1, 0.9, 20
    angles = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    x0 = 0.5 + 0.1 * np.cos(angles)
    v0 = -0.2 + 0.1 * np.sin(angles)
    xs, velocities, _ = energy.heavy_ball(x0, v0, harmonic(k), lr, momentum, n_steps)
    area_start = energy.polygon_area(np.stack([xs[0], velocities[0]], axis=1))
    area_end = energy.polygon_area(np.stack([xs[-1], velocities[-1]], axis=1))
    assert area_end / area_start == pytest.approx(momentum**n_steps, rel=1e-10)


def test_heavy_ball_energy_decays_below_one():
    k, lr, momentum = 1.0, 0.1, 0.9
    xs, velocities, _ = energy.heavy_ball(1.0, 0.0, harmonic(k), lr, momentum, 600)
    physical = energy.heavy_ball_energy(xs, velocities, lr, lambda x: 0.5 * k * x**2)
    np.testing.assert_allclose(
        physical, velocities**2 / (2 * lr) + 0.5 * k * xs**2, rtol=1e-15
    )
    assert physical[-1] < 1e-8 * physical[0]
    # Maxima over windows of 50 steps fall every window, at the rate set by
    # the spectral radius: E ~ radius**(2 n).
    window_max = physical[:600].reshape(12, 50).max(axis=1)
    assert np.all(np.diff(window_max) < 0)
    radius = np.max(
        np.abs(np.linalg.eigvals(energy.heavy_ball_matrix(k, lr, momentum)))
    )
    assert radius == pytest.approx(np.sqrt(momentum), rel=1e-12)  # complex pair
    measured_rate = (window_max[-1] / window_max[-5]) ** (1 / 200)
    assert measured_rate == pytest.approx(radius**2, rel=0.01)


def test_heavy_ball_momentum_one_never_converges():
    # Momentum 1 is symplectic Euler with h = sqrt(lr) in p = -velocity / h.
    k, lr = 1.0, 0.1
    xs, velocities, _ = energy.heavy_ball(1.0, 0.0, harmonic(k), lr, 1.0, 5000)
    h = np.sqrt(lr)
    shadow = energy.symplectic_euler_shadow_energy(xs, -velocities / h, k, h)
    assert np.max(np.abs(shadow - shadow[0])) < 1e-12
    physical = energy.heavy_ball_energy(xs, velocities, lr, lambda x: 0.5 * k * x**2)
    assert physical.min() >= shadow[0] / (1 + h * np.sqrt(k) / 2) * (1 - 1e-12)
    assert np.max(np.abs(xs[-100:])) > 0.9


# ---------------------------------------------------------------------------
# The method's energy against the Hamiltonian
# ---------------------------------------------------------------------------


def test_method_energy_hand_values():
    assert energy.method_energy(3.0, 4.0) == pytest.approx(12.5)
    np.testing.assert_allclose(
        energy.method_energy([1.0, -2.0], [0.0, 2.0]), [0.5, 4.0], rtol=1e-15
    )


def test_method_potential_is_k_times_loss():
    k = 3.7
    x = RNG.normal(size=10)
    result = energy.compare_method_energy(x, np.zeros(10), k, 0.1, 1.0)
    loss = 0.5 * k * x**2
    np.testing.assert_allclose(result["method_potential"], k * loss, rtol=1e-14)
    np.testing.assert_allclose(result["potential"], loss, rtol=1e-15)
    np.testing.assert_allclose(
        energy.method_energy(np.zeros(10), k * x), k * loss, rtol=1e-14
    )


@pytest.mark.parametrize(
    "grad_scale_of, step_scale_of, expected_scale_of",
    [
        (lambda lr: lr, lambda lr: 1.0, lambda lr: lr),  # StandardSGD
        (lambda lr: lr, lambda lr: lr, lambda lr: 1.0),  # StableSGD, factor 1
        (lambda lr: 1.0, lambda lr: lr, lambda lr: 1 / lr),  # lr outside velocity
    ],
)
def test_method_kinetic_scale(grad_scale_of, step_scale_of, expected_scale_of):
    # Run the momentum iteration with plain NumPy, take p from the position
    # change (x_new - x) / h, and compare the method's kinetic term with p**2/2.
    k, lr, momentum = 1.3, 0.05, 0.9
    grad_scale, step_scale = grad_scale_of(lr), step_scale_of(lr)
    h = np.sqrt(grad_scale * step_scale)
    x, velocity = 0.8, 0.0
    for _ in range(37):
        velocity = momentum * velocity + grad_scale * k * x
        x_new = x - step_scale * velocity
        p = (x_new - x) / h
        x = x_new
    result = energy.compare_method_energy(x, velocity, k, grad_scale, step_scale)
    assert result["kinetic"] == pytest.approx(0.5 * p**2, rel=1e-12)
    assert result["method_kinetic"] / result["kinetic"] == pytest.approx(
        expected_scale_of(lr), rel=1e-12
    )
    assert result["kinetic_scale"] == pytest.approx(expected_scale_of(lr), rel=1e-15)
    assert result["h"] == pytest.approx(h, rel=1e-15)


def test_stablesgd_factor_one_is_conformal():
    k, lr, momentum = 2.0, 0.3, 0.8
    xs, velocities, _ = energy.stablesgd(
        0.5, 0.1, harmonic(k), lr, momentum, 100, energy_conservation=False
    )
    xs_c, ps_c = energy.conformal_symplectic_euler(
        0.5, -0.1, harmonic(k), lr, momentum, 100
    )
    np.testing.assert_allclose(xs, xs_c, atol=1e-14)
    np.testing.assert_allclose(-velocities, ps_c, atol=1e-14)


def test_method_energy_vs_hamiltonian_cases():
    x = RNG.normal(size=5)
    velocity = RNG.normal(size=5)
    equal = energy.compare_method_energy(x, velocity, 1.0, 0.2, 0.2)
    np.testing.assert_allclose(equal["method_energy"], equal["hamiltonian"], rtol=1e-14)
    # grad_scale / step_scale = k = 2 gives method energy = 2 H.
    scaled = energy.compare_method_energy(x, velocity, 2.0, 0.2, 0.1)
    np.testing.assert_allclose(
        scaled["method_energy"], 2.0 * scaled["hamiltonian"], rtol=1e-14
    )
    different = energy.compare_method_energy(x, velocity, 2.0, 0.2, 0.2)
    assert np.all(np.abs(different["method_energy"] - different["hamiltonian"]) > 1e-3)


def test_energy_factor_hand_values():
    values = energy.energy_factor([0.0, 0.25, 1.0, 100.0, 10000.0])
    np.testing.assert_allclose(
        values, [1.0, 1 / 1.05, 1 / 1.1, 0.5, 1 / 11], rtol=1e-15
    )
    assert energy.energy_factor(4.0, scale=0.5) == pytest.approx(0.5)


def test_expected_energy_at_minimum_matches_simulation():
    # Hold x at 0: g = sigma * noise, velocity = momentum * velocity + lr * g.
    sigma, lr, momentum = 1.5, 0.3, 0.8
    rng = np.random.default_rng(7)
    velocity = np.zeros(4000)
    samples = []
    for n in range(600):
        grad = sigma * rng.standard_normal(4000)
        velocity = momentum * velocity + lr * grad
        if n >= 100:
            samples.append(0.5 * velocity**2 + 0.5 * grad**2)
    expected = energy.expected_method_energy_at_minimum(sigma, momentum, lr)
    assert expected == pytest.approx(0.5 * sigma**2 * (1 + lr**2 / (1 - momentum**2)))
    assert np.mean(samples) == pytest.approx(expected, rel=0.01)


def test_stationary_covariance_matches_scipy():
    linalg = pytest.importorskip("scipy.linalg")
    k, momentum, grad_scale, step_scale, sigma = 1.4, 0.85, 0.2, 0.5, 0.7
    matrix = energy.momentum_matrix(k, momentum, grad_scale, step_scale)
    w = np.array([-grad_scale * step_scale, grad_scale])
    expected = linalg.solve_discrete_lyapunov(matrix, sigma**2 * np.outer(w, w))
    result = energy.stationary_covariance(k, momentum, grad_scale, step_scale, sigma)
    np.testing.assert_allclose(result, expected, rtol=1e-10)


def test_stationary_energy_matches_noisy_simulation():
    k, lr, momentum, sigma = 2.0, 0.2, 0.9, 1.0
    grad_fn = energy.noisy_harmonic_grad(k, sigma, seed=3)
    _, velocities, grads = energy.stablesgd(
        np.zeros(2000),
        np.zeros(2000),
        grad_fn,
        lr,
        momentum,
        800,
        energy_conservation=False,
    )
    measured = np.mean(energy.method_energy(velocities[201:], grads[200:]))
    expected = energy.expected_method_energy_stationary(k, momentum, lr, lr, sigma)
    assert measured == pytest.approx(expected, rel=0.01)
    at_minimum = energy.expected_method_energy_at_minimum(sigma, momentum, lr)
    assert expected > at_minimum


def test_noisy_harmonic_grad_statistics():
    grad_fn = energy.noisy_harmonic_grad(2.0, 0.5, seed=1)
    x = np.full(200000, 3.0)
    grad = grad_fn(x)
    assert np.mean(grad) == pytest.approx(6.0, abs=0.01)
    assert np.std(grad) == pytest.approx(0.5, rel=0.01)
    assert not np.array_equal(grad_fn(x), grad)


# ---------------------------------------------------------------------------
# StableSGD's state-dependent step
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("lr_in_velocity", [True, False])
def test_stablesgd_step_matches_optimizer(lr_in_velocity):
    k, lr, momentum = 1.7, 0.2, 0.9
    x0 = RNG.normal(size=4)
    param = x0.copy()
    optimizer = StableSGD(
        [param], lr=lr, momentum=momentum, lr_in_velocity=lr_in_velocity
    )
    for _ in range(6):
        optimizer.step([k * param])
    xs, velocities, _ = energy.stablesgd(
        x0, np.zeros(4), harmonic(k), lr, momentum, 6, lr_in_velocity=lr_in_velocity
    )
    np.testing.assert_allclose(xs[-1], param, rtol=1e-14)
    np.testing.assert_allclose(velocities[-1], optimizer.velocities[0], rtol=1e-14)


@pytest.mark.parametrize("lr_in_velocity", [True, False])
def test_stablesgd_det_matches_finite_differences(lr_in_velocity):
    k, lr, momentum = 1.5, 0.4, 0.9

    def step(z):
        x_new, velocity_new = energy.stablesgd_step(
            z[:1], z[1:], harmonic(k), lr, momentum, lr_in_velocity
        )
        return np.concatenate([x_new, velocity_new])

    for _ in range(5):
        z = RNG.normal(size=2)
        det_fd = np.linalg.det(central_jacobian(step, z))
        det = energy.stablesgd_jacobian_det(
            z[:1], z[1:], k, lr, momentum, lr_in_velocity
        )
        assert det[0] == pytest.approx(det_fd, abs=1e-8)
        assert abs(det[0] - momentum) > 1e-4


def test_constant_step_det_is_momentum():
    k, lr, momentum = 1.5, 0.4, 0.9

    def step(z):
        x_new, velocity_new = energy.stablesgd_step(
            z[:1], z[1:], harmonic(k), lr, momentum, energy_conservation=False
        )
        return np.concatenate([x_new, velocity_new])

    z = RNG.normal(size=2)
    assert np.linalg.det(central_jacobian(step, z)) == pytest.approx(momentum, abs=1e-9)


def test_stablesgd_momentum_one_changes_area():
    # With momentum 1 the constant-step map is area preserving (det 1) but the
    # energy-scaled map is not.
    k, lr = 1.0, 0.5
    angles = np.linspace(0, 2 * np.pi, 400, endpoint=False)
    x0 = 1.0 + 0.05 * np.cos(angles)
    v0 = 0.05 * np.sin(angles)
    ratios = {}
    for energy_conservation in [False, True]:
        xs, velocities, _ = energy.stablesgd(
            x0,
            v0,
            harmonic(k),
            lr,
            1.0,
            10,
            energy_conservation=energy_conservation,
        )
        start = energy.polygon_area(np.stack([xs[0], velocities[0]], axis=1))
        end = energy.polygon_area(np.stack([xs[-1], velocities[-1]], axis=1))
        ratios[energy_conservation] = end / start
    assert ratios[False] == pytest.approx(1.0, abs=1e-12)
    assert abs(ratios[True] - 1.0) > 1e-2


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("h", [0.0, -0.1, np.nan, np.inf, "0.1", True])
def test_bad_step_size_rejected(h):
    with pytest.raises(ValueError, match="h must be"):
        energy.symplectic_euler(1.0, 0.0, harmonic(1.0), h, 10)


@pytest.mark.parametrize("n_steps", [-1, 2.0, True, None])
def test_bad_n_steps_rejected(n_steps):
    with pytest.raises(ValueError, match="n_steps must be"):
        energy.leapfrog(1.0, 0.0, harmonic(1.0), 0.1, n_steps)


def test_shape_mismatch_rejected():
    with pytest.raises(ValueError, match="x has shape"):
        energy.explicit_euler(np.zeros(3), np.zeros(2), harmonic(1.0), 0.1, 5)


def test_non_finite_state_rejected():
    with pytest.raises(ValueError, match="NaN or Inf"):
        energy.explicit_euler(np.nan, 0.0, harmonic(1.0), 0.1, 5)


def test_non_callable_grad_fn_rejected():
    with pytest.raises(TypeError, match="grad_fn must be a function"):
        energy.leapfrog(1.0, 0.0, 3.0, 0.1, 5)


def test_grad_fn_wrong_shape_rejected():
    with pytest.raises(ValueError, match="grad_fn returned shape"):
        energy.leapfrog(np.zeros(2), np.zeros(2), lambda x: np.zeros(3), 0.1, 5)


@pytest.mark.filterwarnings("ignore:overflow encountered")
def test_diverged_trajectory_reported():
    with pytest.raises(ValueError, match="diverged"):
        energy.explicit_euler(1.0, 0.0, harmonic(1.0), 1e150, 5)


@pytest.mark.parametrize("momentum", [-0.1, 1.01, np.nan, "0.9"])
def test_bad_momentum_rejected(momentum):
    with pytest.raises(ValueError, match="momentum must be"):
        energy.heavy_ball(1.0, 0.0, harmonic(1.0), 0.1, momentum, 5)


def test_bad_decay_rejected():
    with pytest.raises(ValueError, match="decay must be"):
        energy.conformal_symplectic_euler(1.0, 0.0, harmonic(1.0), 0.1, 1.5, 5)


def test_bad_spring_constant_rejected():
    with pytest.raises(ValueError, match="k must be"):
        energy.harmonic_loss(1.0, 0.0)


def test_negative_energy_rejected():
    with pytest.raises(ValueError, match="energy must be >= 0"):
        energy.energy_factor([1.0, -0.5])


def test_bad_polygon_rejected():
    with pytest.raises(ValueError, match="shape"):
        energy.polygon_area([[0, 0], [1, 1]])


def test_unstable_iteration_rejected():
    with pytest.raises(ValueError, match="unstable"):
        energy.stationary_covariance(1.0, 0.5, 2.0, 2.0, 1.0)


def test_momentum_one_has_no_stationary_energy():
    with pytest.raises(ValueError, match=r"momentum must be a real number in \[0, 1\)"):
        energy.expected_method_energy_at_minimum(1.0, 1.0, 0.1)


def test_bad_flag_rejected():
    with pytest.raises(TypeError, match="lr_in_velocity must be True or False"):
        energy.stablesgd_step(1.0, 0.0, harmonic(1.0), 0.1, 0.9, lr_in_velocity="yes")
