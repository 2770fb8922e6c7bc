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

from stablesgd_ref.energy.hamiltonian import (  # noqa: F401
    explicit_euler,
    explicit_euler_energy_factor,
    hamiltonian,
    harmonic_grad,
    harmonic_hamiltonian,
    harmonic_loss,
    leapfrog,
    leapfrog_shadow_energy,
    symplectic_euler,
    symplectic_euler_shadow_energy,
)
from stablesgd_ref.energy.heavy_ball import (  # noqa: F401
    conformal_symplectic_euler,
    finite_difference_jacobian,
    heavy_ball,
    heavy_ball_energy,
    heavy_ball_matrix,
    heavy_ball_step,
    momentum_matrix,
    polygon_area,
    to_phase_space,
)
from stablesgd_ref.energy.method_energy import (  # noqa: F401
    compare_method_energy,
    energy_factor,
    expected_method_energy_at_minimum,
    expected_method_energy_stationary,
    method_energy,
    noisy_harmonic_grad,
    stationary_covariance,
)
from stablesgd_ref.energy.state_dependent import (  # noqa: F401
    stablesgd,
    stablesgd_jacobian_det,
    stablesgd_step,
)

__all__ = [
    "compare_method_energy",
    "conformal_symplectic_euler",
    "energy_factor",
    "expected_method_energy_at_minimum",
    "expected_method_energy_stationary",
    "explicit_euler",
    "explicit_euler_energy_factor",
    "finite_difference_jacobian",
    "hamiltonian",
    "harmonic_grad",
    "harmonic_hamiltonian",
    "harmonic_loss",
    "heavy_ball",
    "heavy_ball_energy",
    "heavy_ball_matrix",
    "heavy_ball_step",
    "leapfrog",
    "leapfrog_shadow_energy",
    "method_energy",
    "momentum_matrix",
    "noisy_harmonic_grad",
    "polygon_area",
    "stablesgd",
    "stablesgd_jacobian_det",
    "stablesgd_step",
    "stationary_covariance",
    "symplectic_euler",
    "symplectic_euler_shadow_energy",
    "to_phase_space",
]
