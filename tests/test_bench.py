"""Smoke tests of the benchmark: structure of its output, not its timings."""

import argparse
import importlib.util
import json
import math
import sys

import pytest

from stablesgd_ref import bench, exp1
from stablesgd_ref.model import MiniTransformer

TINY = ["--repetitions", "1", "--steps", "2", "--exp1-epochs", "1", "--skip-reproduce"]
HAS_TORCH = importlib.util.find_spec("torch") is not None


def run_command(tmp_path, *extra):
    parser = argparse.ArgumentParser(prog="test")
    bench.add_bench_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["bench", *TINY, "--out", str(tmp_path), *extra])
    args.handler(args)
    return json.loads((tmp_path / "bench.json").read_text())


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return run_command(tmp_path_factory.mktemp("bench"), "--no-torch")


def test_json_has_every_part(result):
    assert result["format_version"] == bench.FORMAT_VERSION
    assert result["reproduce"] is None
    assert result["machine"]["cpu_count"] >= 1
    assert set(result["optimizer_step"]) == {"transformer", "landscape"}
    assert set(result["training_step"]["train"]) == set(bench.TRAINING_VARIANTS)
    assert "torch" not in result["training_step"]["forward_backward"]


def test_every_variant_timed(result):
    variants = list(bench.optimizer_variants())
    assert len(variants) == 1 + len(bench.STABLE_OPTIONS) * len(bench.HISTORY_LIMITS)
    for problem in result["optimizer_step"].values():
        assert list(problem["variants"]) == variants
        for stats in problem["variants"].values():
            assert len(stats["seconds"]) == 1
            assert stats["median_seconds"] > 0


def test_ratios_positive_and_finite(result):
    ratios = result["ratios"]
    # 10 StableSGD variants on 2 problems, plus 2 training-step ratios.
    assert len(ratios) == 22
    for name, value in ratios.items():
        assert isinstance(value, float), name
        assert math.isfinite(value), name
        assert value > 0, name


def test_problem_sizes(result):
    transformer = result["optimizer_step"]["transformer"]
    assert transformer["n_params"] == MiniTransformer().num_params()
    assert transformer["n_arrays"] == 18
    assert result["optimizer_step"]["landscape"]["n_params"] == 50


def test_history_bytes_match_hand_count(result):
    # One epoch of Experiment 1 is 32 training rows / batch 4 = 8 steps. Each
    # StableSGD step stores a float64 param snapshot and a float64 energy array
    # per param, 16 bytes per weight; history_limit=2 keeps the newest 2 steps.
    n_weights = MiniTransformer().num_params()
    runs = result["history_memory"]["runs"]
    assert runs["StableSGD, limit None"]["steps"] == 8
    assert runs["StableSGD, limit None"]["history_bytes"] == 8 * 16 * n_weights
    assert runs["StableSGD, limit 2"]["history_bytes"] == 2 * 16 * n_weights
    assert runs["StandardSGD"]["history_bytes"] == 0


def test_median_ratio_pairs_repetitions():
    # Per repetition 2/1, 9/3 and 4/4: median 2, which the ratio of the
    # medians (4/3) would not give.
    assert bench.median_ratio([2.0, 9.0, 4.0], [1.0, 3.0, 4.0]) == 2.0


def test_interleaving_rotates_order():
    calls = []
    tasks = {name: (lambda name=name: calls.append(name) or 1.0) for name in "abc"}
    times = bench.run_interleaved(tasks, 3, "test", lambda line: None)
    assert calls == list("abcbcacab")
    assert times == {name: [1.0, 1.0, 1.0] for name in "abc"}


def test_reproduce_timer_logs_stage_lines():
    lines = []
    code = "print('exp1: start'); print('  detail')"
    timing = bench.time_reproduce(lines.append, [sys.executable, "-c", code])
    assert timing["returncode"] == 0
    assert timing["seconds"] > 0
    assert len(lines) == 1
    assert lines[0].endswith("exp1: start")


def test_reproduce_timer_keeps_failure_output():
    code = "import sys; print('last words'); sys.exit(3)"
    timing = bench.time_reproduce(lambda line: None, [sys.executable, "-c", code])
    assert timing["returncode"] == 3
    assert timing["output_tail"] == ["last words"]


@pytest.mark.parametrize("value", ["0", "-2", "x"])
def test_invalid_repetitions_rejected(value, capsys):
    parser = argparse.ArgumentParser(prog="test")
    bench.add_bench_parser(parser.add_subparsers(dest="command"))
    with pytest.raises(SystemExit):
        parser.parse_args(["bench", "--repetitions", value])
    assert "--repetitions" in capsys.readouterr().err


def test_run_bench_rejects_zero_steps():
    with pytest.raises(ValueError, match="steps must be an integer >= 1, got 0"):
        bench.run_bench(steps=0)


def test_parser_class_mismatch_raises():
    class OtherParser(argparse.ArgumentParser):
        pass

    commands = argparse.ArgumentParser().add_subparsers()
    with pytest.raises(TypeError, match="expected OtherParser"):
        bench.add_bench_parser(commands, OtherParser)


@pytest.mark.skipif(not HAS_TORCH, reason="PyTorch is not installed")
def test_torch_model_matches_numpy():
    model = exp1.make_model(exp1.DEFAULTS, 3)
    inputs, targets = bench.make_batch()[1:]
    check = bench.TorchForwardBackward(model, inputs, targets).check
    # Same float64 arithmetic up to operation order: differences near 1e-15.
    assert check["loss_abs_difference"] < 1e-12
    assert check["max_grad_abs_difference"] < 1e-12


@pytest.mark.skipif(not HAS_TORCH, reason="PyTorch is not installed")
def test_torch_ratio_reported(tmp_path):
    data = run_command(tmp_path)
    ratio = data["ratios"]["forward and backward: NumPy / PyTorch eager"]
    assert math.isfinite(ratio)
    assert ratio > 0
    assert data["training_step"]["forward_backward"]["torch"]["median_seconds"] > 0
