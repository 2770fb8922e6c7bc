"""Experiment 2: both optimizers on the challenging landscape.

For one seed, StandardSGD and StableSGD start from the same initial params and
receive the same noise. Each iteration ``t`` evaluates the noisy loss, the
noiseless loss and the noisy gradient at the current params, then applies one
update. The seed fixes three independent streams::

    Landscape(seed=seed)                 target and local_min
    np.random.default_rng([seed, 1])     initial params, N(0, 1)
    np.random.default_rng([seed, 2])     loss and gradient noise
"""

import functools
import math
import time

import numpy as np

from stablesgd_ref import metrics
from stablesgd_ref.landscape import Landscape
from stablesgd_ref.minimizer import find_minimizer
from stablesgd_ref.optimizers import StableSGD, StandardSGD

DEFAULTS = {
    "dim": 50,
    "iterations": 150,
    "noise_level": 0.4,
    "lr": 0.005,
    "momentum": 0.9,
    "temporal_stability": 0.01,
    "energy_conservation": True,
    "penalty_mode": "literal",
    "lr_in_velocity": True,
    "history_limit": None,
}

# Iterations until the noiseless loss first comes within these fractions of
# its initial excess over min_loss, the loss at the minimizer of the final
# step: threshold = min_loss + fraction * (clean_losses[0] - min_loss).
EXCESS_FRACTIONS = (0.5, 0.1, 0.01)


def make_optimizer(name, params, settings):
    """Return a StandardSGD or StableSGD over ``params`` built from ``settings``."""
    if name == "StandardSGD":
        return StandardSGD(params, settings["lr"], settings["momentum"])
    return StableSGD(
        params,
        settings["lr"],
        settings["momentum"],
        settings["temporal_stability"],
        settings["energy_conservation"],
        penalty_mode=settings["penalty_mode"],
        lr_in_velocity=settings["lr_in_velocity"],
        history_limit=settings["history_limit"],
    )


def run_optimizer(name, settings, seed, landscape=None, minimizer=None):
    """Run one optimizer on the landscape of ``seed`` and return its record.

    Parameters
    ----------
    name : {"StandardSGD", "StableSGD"}
    settings : dict
        Keys of ``DEFAULTS``.
    seed : int
    landscape, minimizer : optional
        Pass them to reuse the work of :func:`run_pair`.

    Returns
    -------
    dict
        Scalars (final losses, stability, distances, timing, history bytes),
        trajectories (``losses``, ``clean_losses``, ``energy_trace``) and
        ``diverged_at``, the iteration whose loss or gradient was NaN or Inf,
        or None.
    """
    settings = {**DEFAULTS, **settings}
    iterations = settings["iterations"]
    if landscape is None or minimizer is None:
        landscape, minimizer = landscape_and_minimizer(
            settings["dim"], settings["noise_level"], seed, iterations
        )
    params = landscape.initial_params([seed, 1])
    noise_rng = np.random.default_rng([seed, 2])
    optimizer = make_optimizer(name, [params], settings)

    losses, clean_losses = [], []
    step_seconds = 0.0
    diverged_at = None
    with np.errstate(over="ignore", invalid="ignore"):
        for step in range(iterations):
            loss = landscape.loss(params, step, noise_rng)
            clean_loss = landscape.loss(params, step)
            grad = landscape.grad(params, step, noise_rng)
            if not (math.isfinite(loss) and np.all(np.isfinite(grad))):
                diverged_at = step
                break
            losses.append(loss)
            clean_losses.append(clean_loss)
            start = time.perf_counter()
            optimizer.step([grad])
            step_seconds += time.perf_counter() - start
            if not math.isfinite(optimizer.energy_trace[-1]):
                # The velocity overflowed: the next loss cannot be trusted.
                diverged_at = step + 1
                break

        return _record(
            name,
            seed,
            landscape,
            minimizer,
            params,
            optimizer,
            losses,
            clean_losses,
            step_seconds,
            diverged_at,
            iterations,
        )


def _record(
    name,
    seed,
    landscape,
    minimizer,
    params,
    optimizer,
    losses,
    clean_losses,
    step_seconds,
    diverged_at,
    iterations,
):
    """Return the metrics and trajectories of one finished or diverged run."""
    final_clean_loss = landscape.loss(params, iterations)
    min_loss = landscape.loss(minimizer, iterations)
    thresholds = {}
    for fraction in EXCESS_FRACTIONS:
        if not clean_losses:
            thresholds[str(fraction)] = None
            continue
        threshold = min_loss + fraction * (clean_losses[0] - min_loss)
        thresholds[str(fraction)] = metrics.iterations_to_threshold(
            clean_losses, threshold
        )
    steps_done = max(len(losses), 1)
    return {
        "optimizer": name,
        "seed": seed,
        "diverged_at": diverged_at,
        "final_loss": final_clean_loss,
        "final_noisy_loss": losses[-1] if losses else math.nan,
        "min_loss": min_loss,
        "stability_coefficient": _safe(metrics.stability_coefficient, losses),
        "loss_std": _safe(metrics.window_std, losses),
        "clean_stability_coefficient": _safe(
            metrics.stability_coefficient, clean_losses
        ),
        "clean_loss_std": _safe(metrics.window_std, clean_losses),
        "iterations_to_excess_fraction": thresholds,
        "distance_to_target": metrics.distance(params, landscape.target),
        "distance_to_minimizer": metrics.distance(params, minimizer),
        "seconds_per_step": step_seconds / steps_done,
        "history_bytes": optimizer.history_bytes(),
        "losses": losses,
        "clean_losses": clean_losses,
        "energy_trace": optimizer.energy_trace,
    }


@functools.lru_cache(maxsize=64)
def landscape_and_minimizer(dim, noise_level, seed, iterations):
    """Return the landscape of ``seed`` and its minimizer at the final step.

    Cached because a sweep runs many settings on the same seeds. Callers must
    not modify the returned arrays.
    """
    landscape = Landscape(dim, noise_level, seed)
    return landscape, find_minimizer(landscape, iterations)


def run_pair(settings, seed):
    """Run StandardSGD and StableSGD on seed ``seed``; return both records."""
    settings = {**DEFAULTS, **settings}
    landscape, minimizer = landscape_and_minimizer(
        settings["dim"], settings["noise_level"], seed, settings["iterations"]
    )
    return {
        name: run_optimizer(name, settings, seed, landscape, minimizer)
        for name in ("StandardSGD", "StableSGD")
    }


def _safe(metric, losses):
    return metric(losses) if losses else math.nan
