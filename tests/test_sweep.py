"""Tests of the sensitivity sweep and of the fair comparisons."""

import math

import pytest

from stablesgd_ref import comparisons, exp2, sweep

SMALL = {**exp2.DEFAULTS, "iterations": 40}


def small_grid(**changes):
    grid = {
        "lr": (0.002, 0.005),
        "temporal_stability": (0.0, 0.03),
        "energy_conservation": (True, False),
        "penalty_mode": sweep.PENALTY_MODES,
    }
    return {**grid, **changes}


def test_grid_configs_count():
    configs = sweep.grid_configs(sweep.GRID)
    # 3 StandardSGD configs plus 3 * 5 * 2 * 3 StableSGD configs
    assert len(configs) == 3 + 90
    assert sum(name == "StandardSGD" for name, _ in configs) == 3


def test_literal_penalty_has_no_effect_in_sweep():
    rows = sweep.run_sweep(exp2.run_optimizer, SMALL, [42, 43], grid=small_grid())
    effect = sweep.no_effect_by_mode(rows, "temporal_stability")
    assert effect["literal"] is True
    assert effect["previous_step"] is False
    assert effect["signed"] is False
    unchanged, total = sweep.find_no_effect(rows, "lr")
    assert unchanged == 0
    assert total > 0


def test_divergence_is_recorded_and_sweep_goes_on():
    settings = {**exp2.DEFAULTS, "iterations": 300}
    grid = small_grid(
        lr=(0.002, 5.0),
        temporal_stability=(0.0,),
        energy_conservation=(False,),
        penalty_mode=("literal",),
    )
    rows = sweep.run_sweep(exp2.run_optimizer, settings, [42], grid=grid)
    assert len(rows) == 4
    diverged = [row for row in rows if row["lr"] == 5.0]
    assert all(row["n_diverged"] == 1 for row in diverged)
    assert all(isinstance(row["diverged_at"][0], int) for row in diverged)
    assert all(math.isnan(row["mean_final_loss"]) for row in diverged)
    finished = [row for row in rows if row["lr"] == 0.002]
    assert all(row["n_diverged"] == 0 for row in finished)
    assert "diverged" in sweep.format_sweep_table(rows)


def test_sweep_parallel_equals_serial():
    grid = small_grid(penalty_mode=("signed",), energy_conservation=(True,))
    serial = sweep.run_sweep(exp2.run_optimizer, SMALL, [42], grid=grid, jobs=1)
    parallel = sweep.run_sweep(exp2.run_optimizer, SMALL, [42], grid=grid, jobs=2)
    assert serial == parallel


def test_comparisons_use_each_reading():
    seeds = [42, 43, 44]
    pairs = [exp2.run_pair(SMALL, seed) for seed in seeds]
    result = comparisons.run_comparisons(
        exp2.run_optimizer, SMALL, seeds, pairs, lr_grid=(0.002, 0.005)
    )
    assert set(result) == {"literal", "matched_step", "tuned"}
    assert result["matched_step"]["stable_settings"]["lr_in_velocity"] is False
    assert result["literal"]["stable_settings"]["lr_in_velocity"] is True
    # The literal comparison reuses the experiment's own runs.
    assert result["literal"]["stable_final_losses"] == [
        pair["StableSGD"]["final_loss"] for pair in pairs
    ]
    tuned = result["tuned"]
    assert tuned["seeds"] == [43, 44]
    for name, key in (
        ("StandardSGD", "standard_settings"),
        ("StableSGD", "stable_settings"),
    ):
        losses = tuned["tuning_losses"][name]
        assert tuned[key]["lr"] == min(losses, key=losses.get)
    assert "alpha = 0.05" in result["literal"]["conclusion"]


def test_matched_step_equals_standard_without_energy():
    """With lr outside the velocity and no energy factor, the two coincide."""
    settings = {**SMALL, "energy_conservation": False}
    standard = exp2.run_optimizer("StandardSGD", settings, 42)
    stable = exp2.run_optimizer("StableSGD", {**settings, "lr_in_velocity": False}, 42)
    assert stable["final_loss"] == pytest.approx(standard["final_loss"], rel=1e-12)


def test_direction_sentence_counts_seeds():
    sentence = comparisons.direction_sentence(
        [1.0, 2.0, 3.0, 4.0], [0.5, 2.5, 3.0, 5.0]
    )
    assert sentence == (
        "StableSGD ended with the lower final loss on 1 of 4 seeds and the higher "
        "on 2, with 1 ties."
    )


def test_tuned_notes_lr_at_grid_edge():
    seeds = [42, 43, 44]
    result = comparisons.run_tuned(
        exp2.run_optimizer, SMALL, seeds, lr_grid=(0.002, 0.005)
    )
    # With two grid values every choice is at an edge.
    assert "lies at the edge of the grid" in result["conclusion"]


def test_tuned_reuses_known_runs_without_changing_results():
    seeds = [42, 43, 44]
    fresh = comparisons.run_tuned(exp2.run_optimizer, SMALL, seeds, (0.002, 0.005))
    known = {
        (name, seed): (SMALL, exp2.run_optimizer(name, SMALL, seed))
        for seed in seeds
        for name in ("StandardSGD", "StableSGD")
    }
    calls = []

    def counting(name, settings, seed):
        calls.append((name, settings["lr"], seed))
        return exp2.run_optimizer(name, settings, seed)

    reused = comparisons.run_tuned(counting, SMALL, seeds, (0.002, 0.005), known=known)
    # SMALL's lr is 0.005, so only the lr 0.002 runs of the tuning seed are new,
    # plus evaluation runs at lr 0.002 if an optimizer picked it.
    assert all(lr != SMALL["lr"] for _, lr, _ in calls)
    assert reused["standard_final_losses"] == fresh["standard_final_losses"]
    assert reused["stable_final_losses"] == fresh["stable_final_losses"]
    assert reused["tuning_losses"] == fresh["tuning_losses"]


def test_tuned_with_two_seeds_explains_missing_test():
    result = comparisons.run_tuned(exp2.run_optimizer, SMALL, [42, 43], (0.005,))
    assert result["stats"] is None
    assert "1 seed(s) to compare" in result["conclusion"]
    assert "at least 3 seeds" in result["conclusion"]
