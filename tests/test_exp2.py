"""Tests of Experiment 2's runs and of the shared pipeline pieces."""

import json

import numpy as np
import pytest

from stablesgd_ref import exp2, output, runner
from stablesgd_ref.landscape import Landscape
from stablesgd_ref.optimizers import StableSGD, StandardSGD

TIMING_KEYS = {"seconds_per_step"}


def strip_timing(pairs):
    return [
        {
            name: {k: v for k, v in record.items() if k not in TIMING_KEYS}
            for name, record in pair.items()
        }
        for pair in pairs
    ]


def test_pair_shares_initial_params_and_noise():
    settings = {"iterations": 30}
    pair = exp2.run_pair(settings, 42)
    standard, stable = pair["StandardSGD"], pair["StableSGD"]
    # Iteration 0 evaluates the same params with the same noise draw.
    assert standard["losses"][0] == stable["losses"][0]
    assert standard["clean_losses"][0] == stable["clean_losses"][0]


def test_run_matches_hand_written_loop():
    settings = {**exp2.DEFAULTS, "iterations": 20, "lr": 0.01}
    record = exp2.run_optimizer("StandardSGD", settings, 5)
    landscape = Landscape(50, 0.4, 5)
    params = np.random.default_rng([5, 1]).normal(size=50)
    rng = np.random.default_rng([5, 2])
    optimizer = StandardSGD([params], lr=0.01, momentum=0.9)
    losses = []
    for step in range(20):
        losses.append(landscape.loss(params, step, rng))
        optimizer.step([landscape.grad(params, step, rng)])
    assert record["losses"] == losses
    assert record["final_loss"] == landscape.loss(params, 20)


def test_stable_literal_barely_moves():
    """With lr applied twice, StableSGD's default steps are about lr**2 * g."""
    pair = exp2.run_pair({}, 42)
    standard, stable = pair["StandardSGD"], pair["StableSGD"]
    assert stable["final_loss"] > 2 * standard["final_loss"]
    assert stable["history_bytes"] == 150 * 50 * 8 * 2
    assert standard["history_bytes"] == 0
    assert len(stable["energy_trace"]) == 150


def test_divergence_is_recorded():
    record = exp2.run_optimizer("StandardSGD", {"lr": 5.0, "iterations": 400}, 42)
    assert record["diverged_at"] is not None
    assert len(record["losses"]) == record["diverged_at"]


def test_parallel_equals_serial():
    settings = {**exp2.DEFAULTS, "iterations": 40}
    serial = runner.run_seeds(exp2.run_pair, settings, [42, 43, 44], jobs=1)
    parallel = runner.run_seeds(exp2.run_pair, settings, [42, 43, 44], jobs=2)
    assert strip_timing(serial) == strip_timing(parallel)


@pytest.mark.parametrize(
    "text,seeds",
    [
        ("5", [42, 43, 44, 45, 46]),
        ("1", [42]),
        ("7,11", [7, 11]),
        ("7,", [7]),
        (" 3 , 4 ", [3, 4]),
    ],
)
def test_parse_seeds(text, seeds):
    assert runner.parse_seeds(text) == seeds


@pytest.mark.parametrize("text", ["0", "-2", "a", ",", "1,1", "-1,", "2,,3"])
def test_parse_seeds_rejects(text):
    with pytest.raises(ValueError, match="seeds"):
        runner.parse_seeds(text)


def test_summarize_mean_and_std():
    pairs = [{"StandardSGD": {"m": v}, "StableSGD": {"m": 2 * v}} for v in (1.0, 3.0)]
    summary = runner.summarize(pairs, ["m"])
    assert summary["StandardSGD"]["m"]["mean"] == 2.0
    assert summary["StableSGD"]["m"]["std"] == pytest.approx(2 * np.sqrt(2))


def test_write_json_round_trips_floats(tmp_path):
    values = [0.1, 1 / 3, 1e-300, np.float64(2.5), np.int64(3)]
    path = tmp_path / "sub" / "x.json"
    output.write_json_atomic(path, {"v": values, "a": np.arange(3.0)})
    loaded = json.loads(path.read_text())
    assert loaded["v"][:3] == [0.1, 1 / 3, 1e-300]
    assert loaded["a"] == [0.0, 1.0, 2.0]


def test_interrupted_write_keeps_old_file(tmp_path, monkeypatch):
    path = tmp_path / "r.json"
    output.write_json_atomic(path, {"old": 1})

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(output.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        output.write_json_atomic(path, {"new": 2})
    assert json.loads(path.read_text()) == {"old": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_make_optimizer_passes_every_option():
    settings = {
        **exp2.DEFAULTS,
        "penalty_mode": "signed",
        "lr_in_velocity": False,
        "history_limit": 3,
        "energy_conservation": False,
        "temporal_stability": 0.02,
    }
    optimizer = exp2.make_optimizer("StableSGD", [np.zeros(2)], settings)
    assert isinstance(optimizer, StableSGD)
    assert optimizer.penalty_mode == "signed"
    assert optimizer.lr_in_velocity is False
    assert optimizer.history_limit == 3
    assert optimizer.energy_conservation is False
    assert optimizer.temporal_stability == 0.02


def test_written_file_has_default_permissions(tmp_path):
    import os

    path = tmp_path / "p.json"
    output.write_json_atomic(path, {"a": 1})
    reference = tmp_path / "reference.txt"
    reference.write_text("x")
    assert os.stat(path).st_mode & 0o777 == os.stat(reference).st_mode & 0o777


def test_overflowing_energy_counts_as_divergence():
    # lr 1e300 overflows StableSGD's velocity at once: its energy is Inf, its
    # energy factor 0, and its params stop moving.
    record = exp2.run_optimizer("StableSGD", {"lr": 1e300, "iterations": 10}, 42)
    assert record["diverged_at"] == 1
    assert len(record["losses"]) == 1
