"""Sensitivity analysis: StableSGD over a grid of its settings.

The grid crosses lr, temporal_stability, energy_conservation and penalty_mode.
StandardSGD runs once per lr as the reference. Every configuration runs on
the same seeds, so two cells that differ in one setting differ only by it.
A run whose loss or gradient becomes NaN or Inf is recorded as diverged at
that iteration, and the sweep goes on.
"""

import itertools
import math
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from stablesgd_ref.optimizers import PENALTY_MODES

GRID = {
    "lr": (0.001, 0.002, 0.005),
    "temporal_stability": (0.0, 0.005, 0.01, 0.02, 0.03),
    "energy_conservation": (True, False),
    "penalty_mode": PENALTY_MODES,
}


def grid_configs(grid):
    """Return the list of (optimizer, settings) pairs that ``grid`` spans.

    StandardSGD ignores everything but lr, so it gets one config per lr.
    """
    configs = [("StandardSGD", {"lr": lr}) for lr in grid["lr"]]
    for lr, temporal_stability, energy_conservation, penalty_mode in itertools.product(
        grid["lr"],
        grid["temporal_stability"],
        grid["energy_conservation"],
        grid["penalty_mode"],
    ):
        configs.append(
            (
                "StableSGD",
                {
                    "lr": lr,
                    "temporal_stability": temporal_stability,
                    "energy_conservation": energy_conservation,
                    "penalty_mode": penalty_mode,
                },
            )
        )
    return configs


def _run_config(run_optimizer, base_settings, name, config, seeds):
    """Run one config on every seed; return its row of the sweep table."""
    settings = {**base_settings, **config}
    final_losses, diverged_at = [], []
    for seed in seeds:
        record = run_optimizer(name, settings, seed)
        diverged_at.append(record["diverged_at"])
        loss = record["final_loss"]
        final_losses.append(math.nan if record["diverged_at"] is not None else loss)
    finite = [loss for loss in final_losses if math.isfinite(loss)]
    return {
        "optimizer": name,
        **config,
        "final_losses": final_losses,
        "mean_final_loss": float(np.mean(finite)) if finite else math.nan,
        "diverged_at": diverged_at,
        "n_diverged": sum(step is not None for step in diverged_at),
    }


def run_sweep(run_optimizer, base_settings, seeds, grid=GRID, jobs=1, log=None):
    """Run every config of ``grid`` on ``seeds``; return the list of rows.

    Parameters
    ----------
    run_optimizer : callable
        ``run_optimizer(name, settings, seed) -> record`` of an experiment
        module, with ``final_loss`` and ``diverged_at`` in the record.
    base_settings : dict
        Settings shared by every config (iterations, epochs, momentum ...).
    """
    configs = grid_configs(grid)
    start = time.perf_counter()
    rows = []
    if jobs == 1:
        results = (
            _run_config(run_optimizer, base_settings, name, config, seeds)
            for name, config in configs
        )
        for index, row in enumerate(results, 1):
            rows.append(row)
            _log_progress(log, index, len(configs), start)
        return rows
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [
            pool.submit(_run_config, run_optimizer, base_settings, name, config, seeds)
            for name, config in configs
        ]
        for index, future in enumerate(futures, 1):
            rows.append(future.result())
            _log_progress(log, index, len(configs), start)
    return rows


def _log_progress(log, done, total, start):
    if log is not None and (done % 10 == 0 or done == total):
        elapsed = time.perf_counter() - start
        log(f"  sweep  {done:>4}/{total:<4} configs  elapsed {elapsed:7.1f} s")


def find_no_effect(rows, parameter):
    """Return the groups of StableSGD rows where ``parameter`` changes nothing.

    Rows are grouped by every other setting. A group counts when all its
    final losses are equal bit for bit across the values of ``parameter``.

    Returns
    -------
    (int, int)
        The number of groups where ``parameter`` has no effect, and the
        number of groups.
    """
    others = [key for key in GRID if key != parameter]
    groups = {}
    for row in rows:
        if row["optimizer"] != "StableSGD":
            continue
        key = tuple(row[other] for other in others)
        groups.setdefault(key, []).append(row["final_losses"])
    unchanged = 0
    for losses in groups.values():
        reference = losses[0]
        if all(_same_losses(reference, other) for other in losses[1:]):
            unchanged += 1
    return unchanged, len(groups)


def no_effect_by_mode(rows, parameter):
    """Return, per penalty_mode, whether ``parameter`` never changes a result."""
    result = {}
    for mode in PENALTY_MODES:
        mode_rows = [r for r in rows if r.get("penalty_mode") == mode]
        unchanged, total = find_no_effect(mode_rows, parameter)
        result[mode] = total > 0 and unchanged == total
    return result


def _same_losses(a, b):
    return all((math.isnan(x) and math.isnan(y)) or x == y for x, y in zip(a, b))


def format_sweep_table(rows):
    """Return the sweep rows as a fixed-width text table."""
    header = (
        f"{'optimizer':<12} {'lr':>6} {'temp.stab':>9} {'energy':>6} "
        f"{'penalty_mode':<14} {'mean final loss':>16} {'diverged':>8}"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        if row["optimizer"] == "StandardSGD":
            stable_part = f"{'-':>9} {'-':>6} {'-':<14}"
        else:
            energy = "on" if row["energy_conservation"] else "off"
            stable_part = (
                f"{row['temporal_stability']:>9g} {energy:>6} {row['penalty_mode']:<14}"
            )
        lines.append(
            f"{row['optimizer']:<12} {row['lr']:>6g} {stable_part} "
            f"{row['mean_final_loss']:>16.6g} {row['n_diverged']:>8}"
        )
    return "\n".join(lines)
