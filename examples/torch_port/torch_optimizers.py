"""StandardSGD and StableSGD as ``torch.optim.Optimizer`` subclasses, float64.

An independent port of ``stablesgd_ref/optimizers.py``, checked against the
golden cases by ``run_oracle.py``. It is written from the method's six steps,
not translated from the NumPy code. Per param ``p`` with gradient ``g``::

    velocity = momentum * velocity + lr * g         (g alone if not lr_in_velocity)
    energy = 0.5 * velocity**2 + 0.5 * g**2         elementwise
    penalty = temporal_stability * change           0 until two snapshots exist
    adaptive_lr = lr / (1 + 0.1 * sqrt(energy))     lr if not energy_conservation
    p -= adaptive_lr * velocity + penalty
    history.append(p)

with ``change`` equal to ``|p - history[-1]|`` (literal, always 0),
``|history[-1] - history[-2]|`` (previous_step) or
``history[-1] - history[-2]`` (signed).

``StableSGD(..., wrong_history_index=True)`` is a deliberately wrong variant
for the tests: its literal penalty compares ``p`` with ``history[-2]``, so it
departs from the reference from step 3 on.
"""

import torch


class StandardSGD(torch.optim.Optimizer):
    """Heavy-ball momentum with lr inside the velocity: ``p -= m * v + lr * g``."""

    def __init__(self, params, lr, momentum=0.9):
        super().__init__(params, {"lr": lr, "momentum": momentum})
        self.energy_trace = []

    @torch.no_grad()
    def step(self, closure=None):
        """Update every param that has a gradient; append the step's energy."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        energy = 0.0
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                state = self.state[p]
                velocity = state.get("velocity", torch.zeros_like(p))
                velocity = group["momentum"] * velocity + group["lr"] * g
                p.sub_(velocity)
                state["velocity"] = velocity
                energy += 0.5 * float(velocity.square().sum() + g.square().sum())
        self.energy_trace.append(energy)
        return loss


class StableSGD(torch.optim.Optimizer):
    """StableSGD with every option of the reference, plus one deliberate bug."""

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
        wrong_history_index=False,
    ):
        if penalty_mode not in ("literal", "previous_step", "signed"):
            raise ValueError(f"unknown penalty_mode {penalty_mode!r}")
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "temporal_stability": temporal_stability,
            "energy_conservation": energy_conservation,
            "penalty_mode": penalty_mode,
            "lr_in_velocity": lr_in_velocity,
            "history_limit": history_limit,
        }
        super().__init__(params, defaults)
        self.wrong_history_index = wrong_history_index
        self.energy_trace = []

    @torch.no_grad()
    def step(self, closure=None):
        """Update every param that has a gradient; append the step's energy."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        total_energy = 0.0
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                total_energy += self._update(p, p.grad, group)
        self.energy_trace.append(total_energy)
        return loss

    def _update(self, p, g, group):
        """Apply the six steps to one param in place; return its total energy."""
        state = self.state[p]
        history = state.setdefault("history", [])

        # 1. Velocity.
        scale = group["lr"] if group["lr_in_velocity"] else 1.0
        velocity = group["momentum"] * state.get("velocity", torch.zeros_like(p))
        velocity = velocity + scale * g
        state["velocity"] = velocity

        # 2. Energy, elementwise.
        energy = 0.5 * velocity.square() + 0.5 * g.square()

        # 3. Penalty.
        penalty = torch.zeros_like(p)
        if len(history) > 1:
            mode = group["penalty_mode"]
            if mode == "literal":
                previous = history[-2] if self.wrong_history_index else history[-1]
                change = (p - previous).abs()
            elif mode == "previous_step":
                change = (history[-1] - history[-2]).abs()
            else:
                change = history[-1] - history[-2]
            penalty = group["temporal_stability"] * change

        # 4. Step size.
        adaptive_lr = group["lr"]
        if group["energy_conservation"]:
            adaptive_lr = group["lr"] / (1.0 + 0.1 * energy.sqrt())

        # 5. Update.
        p.sub_(adaptive_lr * velocity + penalty)

        # 6. History; two snapshots are all the penalty reads.
        history.append(p.detach().clone())
        limit = group["history_limit"]
        if limit is not None and len(history) > limit:
            del history[: len(history) - limit]
        return float(energy.sum())


def velocities(optimizer, params):
    """Return the velocity of each param, zeros before the first step."""
    return [optimizer.state[p].get("velocity", torch.zeros_like(p)) for p in params]
