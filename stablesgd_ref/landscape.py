"""The challenging optimization landscape of Experiment 2.

For a param vector ``p`` of length ``dim`` at iteration ``step``, the loss is the
sum over ``i`` of::

    (p_i - target_i)**2                       quadratic well at target
    + 0.2 * exp(-(p_i - local_min_i)**2)      Gaussian term at local_min
    + 0.1 * (1 - cos(5 * p_i))                ripples, period 2*pi/5
    + coupling_i                              0.05 * (p_i - p_{i+1})**2, i < dim - 1
    + 0.01 * sin(step * 0.01) * p_i**2        slow time shift
    + noise_i                                 uniform(-noise_level, noise_level)

NOTE: the Gaussian term enters with a plus sign, so it is a bump of height 0.2
that pushes params *away* from ``local_min``, not a well that traps them. It is
kept as written.

The noise is added to every gradient: :meth:`Landscape.grad` returns the
analytic gradient of the noiseless terms plus independent
uniform(-noise_level, noise_level) noise per coordinate. The noise of
:meth:`Landscape.loss` is drawn separately, one value per coordinate.
"""

import numpy as np

from stablesgd_ref import checks

BUMP_HEIGHT = 0.2
RIPPLE_HEIGHT = 0.1
RIPPLE_FREQUENCY = 5.0
COUPLING = 0.05
TIME_SHIFT = 0.01
TIME_FREQUENCY = 0.01


class Landscape:
    """The noisy, non-convex, time-varying loss of Experiment 2.

    Parameters
    ----------
    dim : int
        Number of coordinates, >= 2 (the coupling needs a neighbour).
    noise_level : float
        Half-width of the uniform noise, >= 0.
    seed : int
        Seeds ``target`` and ``local_min``, both drawn from N(0, 1).

    Attributes
    ----------
    target : np.ndarray, shape (dim,)
        Centre of the quadratic well.
    local_min : np.ndarray, shape (dim,)
        Centre of the Gaussian bump (named after the method's term).
    """

    def __init__(self, dim=50, noise_level=0.4, seed=42):
        checks.check_int_at_least("dim", dim, 2)
        checks.check_non_negative("noise_level", noise_level)
        self.dim = int(dim)
        self.noise_level = float(noise_level)
        self.seed = seed
        rng = np.random.default_rng(seed)
        self.target = rng.normal(0.0, 1.0, size=self.dim)
        self.local_min = rng.normal(0.0, 1.0, size=self.dim)

    def initial_params(self, seed):
        """Return a starting point drawn from N(0, 1), shape (dim,), float64."""
        return np.random.default_rng(seed).normal(0.0, 1.0, size=self.dim)

    def loss_terms(self, params, step):
        """Return each noiseless term summed over coordinates, as a dict of floats.

        Parameters
        ----------
        params : np.ndarray, shape (dim,)
        step : int or float
            Iteration number, used by the slow time shift.
        """
        p = self._check_params(params)
        quadratic = (p - self.target) ** 2
        bump = BUMP_HEIGHT * np.exp(-((p - self.local_min) ** 2))
        ripples = RIPPLE_HEIGHT * (1.0 - np.cos(RIPPLE_FREQUENCY * p))
        coupling = COUPLING * (p[:-1] - p[1:]) ** 2
        time_shift = TIME_SHIFT * np.sin(step * TIME_FREQUENCY) * p**2
        return {
            "quadratic": float(quadratic.sum()),
            "bump": float(bump.sum()),
            "ripples": float(ripples.sum()),
            "coupling": float(coupling.sum()),
            "time_shift": float(time_shift.sum()),
        }

    def loss(self, params, step, rng=None):
        """Return the loss at ``params`` and iteration ``step`` as a float.

        Without ``rng`` the loss has no noise. With a ``np.random.Generator``
        it adds ``dim`` uniform(-noise_level, noise_level) draws, one per
        coordinate, taken from ``rng``.
        """
        value = sum(self.loss_terms(params, step).values())
        if rng is not None:
            noise = rng.uniform(-self.noise_level, self.noise_level, size=self.dim)
            value += float(noise.sum())
        return value

    def grad(self, params, step, rng=None):
        """Return the gradient at ``params``, shape (dim,).

        Without ``rng`` it is the analytic gradient of the noiseless loss. With
        a ``np.random.Generator`` it adds one uniform(-noise_level, noise_level)
        draw per coordinate.
        """
        p = self._check_params(params)
        d_quadratic = 2.0 * (p - self.target)
        offset = p - self.local_min
        d_bump = BUMP_HEIGHT * np.exp(-(offset**2)) * (-2.0 * offset)
        d_ripples = RIPPLE_HEIGHT * RIPPLE_FREQUENCY * np.sin(RIPPLE_FREQUENCY * p)
        # Coupling term 0.05 * (p_i - p_{i+1})**2 touches p_i and p_{i+1}.
        d_coupling = np.zeros_like(p)
        link = 2.0 * COUPLING * (p[:-1] - p[1:])
        d_coupling[:-1] += link
        d_coupling[1:] -= link
        d_time_shift = 2.0 * TIME_SHIFT * np.sin(step * TIME_FREQUENCY) * p
        gradient = d_quadratic + d_bump + d_ripples + d_coupling + d_time_shift
        if rng is not None:
            gradient += rng.uniform(-self.noise_level, self.noise_level, size=self.dim)
        return gradient

    def hessian(self, params, step):
        """Return the Hessian of the noiseless loss, shape (dim, dim)."""
        p = self._check_params(params)
        offset = p - self.local_min
        diagonal = (
            2.0
            + BUMP_HEIGHT * np.exp(-(offset**2)) * (4.0 * offset**2 - 2.0)
            + RIPPLE_HEIGHT * RIPPLE_FREQUENCY**2 * np.cos(RIPPLE_FREQUENCY * p)
            + 2.0 * TIME_SHIFT * np.sin(step * TIME_FREQUENCY)
        )
        hessian = np.diag(diagonal)
        link = 2.0 * COUPLING
        index = np.arange(self.dim - 1)
        hessian[index, index] += link
        hessian[index + 1, index + 1] += link
        hessian[index, index + 1] -= link
        hessian[index + 1, index] -= link
        return hessian

    def _check_params(self, params):
        p = np.asarray(params, dtype=np.float64)
        if p.shape != (self.dim,):
            raise ValueError(
                f"params must have shape ({self.dim},), got {p.shape}; "
                f"the landscape was built with dim={self.dim}"
            )
        return p
