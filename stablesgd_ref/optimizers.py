"""StandardSGD (heavy-ball momentum) and StableSGD, written to mirror the method.

The method's pseudocode, for each param ``p`` with gradient ``g`` (elementwise)::

    1. Symplectic integration:  old_velocity = velocity
                                velocity = momentum * velocity + lr * g
    2. Energy:                  kinetic = 0.5 * velocity**2; potential = 0.5 * g**2
                                energy = kinetic + potential
    3. Temporal stability:      if len(history) > 1:
                                    recent_change = abs(p - history[-1])
                                    penalty = temporal_stability * recent_change
    4. Adaptive learning rate:  if energy_conservation:
                                    energy_factor = 1 / (1 + sqrt(energy) * 0.1)
                                    adaptive_lr = lr * energy_factor
    5. Parameter update:        p -= adaptive_lr * velocity + penalty
    6. Update histories:        history.append(p.copy()); energy_history.append(energy)

The baseline, StandardSGD, with the same hyperparameters::

    velocity = momentum * velocity + lr * g;  p -= velocity

Three consequences of reading the pseudocode literally, each the default here
and each with a keyword-only alternative:

* ``penalty_mode="literal"``: history contains the param *after* each update,
  so at the start of every step ``p == history[-1]`` and the penalty is
  exactly zero.
  ``temporal_stability`` then has no effect on the trajectory.
* ``lr_in_velocity=True``: lr multiplies the gradient inside the velocity and
  again as ``adaptive_lr``, so a step is about ``lr`` times smaller than
  StandardSGD's with the same hyperparameters.
* ``history_limit=None``: the histories keep every snapshot, so their memory
  grows as steps times parameters.
"""

from collections import deque

import numpy as np

from stablesgd_ref import checks

PENALTY_MODES = ("literal", "previous_step", "signed")


def _energy_sum(velocity, grad):
    """Return sum(0.5 * velocity**2 + 0.5 * grad**2) as a float."""
    return 0.5 * float(np.vdot(velocity, velocity)) + 0.5 * float(np.vdot(grad, grad))


class StandardSGD:
    """SGD with heavy-ball momentum, the baseline of both experiments.

    Update rule, per param ``p`` with gradient ``g``::

        velocity = momentum * velocity + lr * g
        p -= velocity

    lr sits inside the velocity, as in the method's baseline. ``torch.optim.SGD``
    puts it outside (``v = momentum * v + g; p -= lr * v``); the two give the
    same trajectory for a constant lr.

    Parameters
    ----------
    params : list of np.ndarray
        float64 arrays of any shapes, updated in place by :meth:`step`.
    lr : float
        Learning rate, finite and > 0.
    momentum : float
        Momentum coefficient in [0, 1).

    Attributes
    ----------
    velocities : list of np.ndarray
        One velocity per param, same shape, starting at zero.
    energy_trace : list of float
        Per step, ``sum(0.5 * velocity**2 + 0.5 * g**2)`` over every element of
        every param, from the velocity after the update. It uses the same
        formula as StableSGD's energy so that both can share one plot.
    """

    def __init__(self, params, lr, momentum=0.9):
        self.params = checks.check_params(params)
        checks.check_positive_finite("lr", lr)
        checks.check_momentum(momentum)
        self.lr = float(lr)
        self.momentum = float(momentum)
        self.velocities = [np.zeros_like(param) for param in self.params]
        self.energy_trace = []

    def step(self, grads):
        """Apply one update to every param in place.

        Parameters
        ----------
        grads : list of np.ndarray
            One gradient per param, same shapes and order as ``params``.
        """
        grads = checks.check_grads(grads, self.params)
        total_energy = 0.0
        for i, (param, grad) in enumerate(zip(self.params, grads)):
            velocity = self.momentum * self.velocities[i] + self.lr * grad
            param -= velocity
            self.velocities[i] = velocity
            total_energy += _energy_sum(velocity, grad)
        self.energy_trace.append(total_energy)

    def history_bytes(self):
        """Return the bytes held in histories (always 0: the baseline keeps none)."""
        return 0


class StableSGD:
    """StableSGD: heavy-ball momentum plus an energy-scaled step and a penalty.

    See the module docstring for the six steps and the three literal-reading
    consequences; :meth:`step` follows the steps in order.

    Parameters
    ----------
    params : list of np.ndarray
        float64 arrays of any shapes, updated in place by :meth:`step`.
    lr : float
        Learning rate, finite and > 0.
    momentum : float
        Momentum coefficient in [0, 1).
    temporal_stability : float
        Penalty coefficient, >= 0. Has no effect under ``penalty_mode="literal"``.
    energy_conservation : bool
        If True, scale lr by ``1 / (1 + 0.1 * sqrt(energy))`` elementwise;
        if False, ``adaptive_lr = lr``.
    penalty_mode : {"literal", "previous_step", "signed"}
        ``"literal"``: ``temporal_stability * abs(p - history[-1])``, which is
        always 0 because ``p == history[-1]``. ``"previous_step"``:
        ``temporal_stability * abs(p_t - p_{t-1})``, the size of the last
        completed step; it is never negative, so it pushes every param down.
        ``"signed"``: ``temporal_stability * (p_t - p_{t-1})``, a damping of the
        last change. All three are 0 until two snapshots are stored, that is on
        the first two steps.
    lr_in_velocity : bool
        True (the method): ``velocity = momentum * velocity + lr * g``, so lr
        acts twice. False: ``velocity = momentum * velocity + g``, so a step has
        the same scale as StandardSGD's.
    history_limit : int or None
        None keeps every snapshot, as written. An integer >= 2 keeps the newest
        ``history_limit`` snapshots per param and the newest ``history_limit``
        steps of ``energy_history``; the trajectory is unchanged because the
        penalty reads only the last two snapshots.

    Attributes
    ----------
    velocities : list of np.ndarray
        One velocity per param, same shape, starting at zero.
    param_history : list of (list or deque) of np.ndarray
        One history per param: the param after each update.
    energy_history : list or deque of np.ndarray
        The elementwise energy array of each param at each step, appended in
        param order, so entry ``step * len(params) + i`` belongs to param ``i``.
    energy_trace : list of float
        Per step, the total energy summed over every element of every param.
    """

    def __init__(
        self,
        params,
        lr,
        momentum=0.9,
        temporal_stability=0.01,
        energy_conservation=True,
        *,
        penalty_mode="literal",
        lr_in_velocity=True,
        history_limit=None,
    ):
        self.params = checks.check_params(params)
        checks.check_positive_finite("lr", lr)
        checks.check_momentum(momentum)
        checks.check_non_negative("temporal_stability", temporal_stability)
        checks.check_choice("penalty_mode", penalty_mode, PENALTY_MODES)
        if not isinstance(energy_conservation, (bool, np.bool_)):
            raise TypeError(
                f"energy_conservation must be True or False, got {energy_conservation!r}"
            )
        if not isinstance(lr_in_velocity, (bool, np.bool_)):
            raise TypeError(
                f"lr_in_velocity must be True or False, got {lr_in_velocity!r}"
            )
        if history_limit is not None:
            checks.check_int_at_least("history_limit", history_limit, 2)

        self.lr = float(lr)
        self.momentum = float(momentum)
        self.temporal_stability = float(temporal_stability)
        self.energy_conservation = bool(energy_conservation)
        self.penalty_mode = penalty_mode
        self.lr_in_velocity = bool(lr_in_velocity)
        self.history_limit = history_limit

        self.velocities = [np.zeros_like(param) for param in self.params]
        if history_limit is None:
            self.param_history = [[] for _ in self.params]
            self.energy_history = []
        else:
            self.param_history = [deque(maxlen=history_limit) for _ in self.params]
            self.energy_history = deque(maxlen=history_limit * len(self.params))
        self.energy_trace = []

    def step(self, grads):
        """Apply one StableSGD update to every param in place.

        Parameters
        ----------
        grads : list of np.ndarray
            One gradient per param, same shapes and order as ``params``.
        """
        grads = checks.check_grads(grads, self.params)
        lr = self.lr
        total_energy = 0.0
        for i, (param, grad) in enumerate(zip(self.params, grads)):
            history = self.param_history[i]

            # 1. Symplectic integration: update the velocity.
            # old_velocity is never read again: the pseudocode names it only.
            old_velocity = self.velocities[i]  # noqa: F841
            grad_scale = lr if self.lr_in_velocity else 1.0
            velocity = self.momentum * self.velocities[i] + grad_scale * grad
            self.velocities[i] = velocity

            # 2. Energy: elementwise kinetic plus potential.
            kinetic = 0.5 * velocity**2
            potential = 0.5 * grad**2
            energy = kinetic + potential

            # 3. Temporal stability penalty: zero until two snapshots exist.
            penalty = 0.0
            if len(history) > 1:
                penalty = self._penalty(param, history)

            # 4. Energy-based adaptive learning rate.
            adaptive_lr = lr
            if self.energy_conservation:
                energy_factor = 1.0 / (1.0 + np.sqrt(energy) * 0.1)
                adaptive_lr = lr * energy_factor

            # 5. Parameter update, in place.
            param -= adaptive_lr * velocity + penalty

            # 6. Update histories.
            history.append(param.copy())
            self.energy_history.append(energy)
            total_energy += float(energy.sum())

        self.energy_trace.append(total_energy)

    def _penalty(self, param, history):
        """Return the step 3 penalty for one param, shape of ``param``.

        ``history[-1]`` is the param after the last update, so it equals
        ``param``; ``history[-2]`` is the param one update earlier.
        """
        if self.penalty_mode == "literal":
            # NOTE: param == history[-1] here, so this is exactly 0.
            recent_change = np.abs(param - history[-1])
        elif self.penalty_mode == "previous_step":
            recent_change = np.abs(history[-1] - history[-2])
        else:  # "signed"
            recent_change = history[-1] - history[-2]
        return self.temporal_stability * recent_change

    def history_bytes(self):
        """Return the bytes held by ``param_history`` and ``energy_history``."""
        param_bytes = sum(snapshot.nbytes for h in self.param_history for snapshot in h)
        energy_bytes = sum(energy.nbytes for energy in self.energy_history)
        return param_bytes + energy_bytes
