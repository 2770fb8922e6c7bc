"""Tests of the command line: outputs, tables and one-line errors."""

import json
import subprocess
import sys

import pytest

from stablesgd_ref import cli


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "stablesgd_ref", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_exp2_writes_table_json_and_figures(tmp_path, capsys):
    out, figures = tmp_path / "out", tmp_path / "figs"
    status = cli.main(
        [
            "exp2",
            "--seeds",
            "2",
            "--iterations",
            "30",
            "--out",
            str(out),
            "--figures",
            str(figures),
        ]
    )
    assert status == 0
    printed = capsys.readouterr().out
    assert "StandardSGD" in printed
    assert "StableSGD" in printed
    assert "stability coef." in printed
    assert "history bytes" in printed
    data = json.loads((out / "exp2.json").read_text())
    assert data["seeds"] == [42, 43]
    assert data["settings"]["iterations"] == 30
    assert len(data["runs"]) == 2
    assert len(data["runs"][0]["StableSGD"]["losses"]) == 30
    for name in ("exp2_loss.png", "exp2_clean_loss.png", "exp2_energy.png"):
        assert (figures / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_exp2_options_reach_the_optimizer(tmp_path):
    out = tmp_path / "out"
    cli.main(
        [
            "exp2",
            "--seeds",
            "42,",
            "--iterations",
            "5",
            "--lr",
            "0.002",
            "--momentum",
            "0.5",
            "--temporal-stability",
            "0.03",
            "--no-energy-conservation",
            "--penalty-mode",
            "signed",
            "--no-lr-in-velocity",
            "--history-limit",
            "2",
            "--out",
            str(out),
            "--figures",
            str(tmp_path / "f"),
        ]
    )
    settings = json.loads((out / "exp2.json").read_text())["settings"]
    assert settings == {
        **settings,
        "lr": 0.002,
        "momentum": 0.5,
        "temporal_stability": 0.03,
        "energy_conservation": False,
        "penalty_mode": "signed",
        "lr_in_velocity": False,
        "history_limit": 2,
        "iterations": 5,
    }


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["--lr", "-1"], "--lr"),
        (["--lr", "nan"], "--lr"),
        (["--lr", "abc"], "--lr"),
        (["--momentum", "1"], "--momentum"),
        (["--temporal-stability", "-0.1"], "--temporal-stability"),
        (["--penalty-mode", "nope"], "--penalty-mode"),
        (["--history-limit", "1"], "--history-limit"),
        (["--iterations", "0"], "--iterations"),
        (["--seeds", "0"], "--seeds"),
        (["--jobs", "0"], "--jobs"),
    ],
)
def test_bad_argument_is_one_line_with_status_2(args, fragment):
    result = run_cli("exp2", *args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert fragment in lines[0]
    assert "Traceback" not in result.stderr


def test_help_lists_commands():
    result = run_cli("--help")
    assert result.returncode == 0
    assert "exp2" in result.stdout
    assert "reproduce" in result.stdout


def test_missing_command_is_an_error():
    result = run_cli()
    assert result.returncode == 2
    assert "COMMAND" in result.stderr


def test_exp1_progress_table_and_files(tmp_path, capsys):
    out, figures = tmp_path / "out", tmp_path / "figs"
    status = cli.main(
        [
            "exp1",
            "--seeds",
            "1",
            "--epochs",
            "2",
            "--out",
            str(out),
            "--figures",
            str(figures),
        ]
    )
    assert status == 0
    printed = capsys.readouterr().out
    assert "epoch   1/2" in printed
    assert "epoch   2/2" in printed
    assert "final validation loss (nats)" in printed
    data = json.loads((out / "exp1.json").read_text())
    assert data["settings"]["epochs"] == 2
    assert data["settings"]["corpus"] == "synthetic"
    assert (figures / "exp1_loss.png").is_file()


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["--epochs", "0"], "--epochs"),
        (["--corpus", "wiki"], "--corpus"),
        (["--batch-size", "0"], "--batch-size"),
        (["--log-every", "-1"], "--log-every"),
    ],
)
def test_exp1_bad_argument_is_one_line(args, fragment):
    result = run_cli("exp1", *args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert fragment in lines[0]


def test_unwritable_out_fails_before_running(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run_cli("exp2", "--out", str(blocker / "sub"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "--out" in lines[0]
    assert result.stdout == ""


def test_figures_default_to_out_folder(tmp_path):
    out = tmp_path / "out"
    status = cli.main(["exp2", "--seeds", "1", "--iterations", "5", "--out", str(out)])
    assert status == 0
    assert (out / "figures" / "exp2_loss.png").is_file()


def test_diverging_run_is_reported_not_crashed(tmp_path, capsys):
    out = tmp_path / "out"
    status = cli.main(["exp2", "--seeds", "1", "--lr", "1e10", "--out", str(out)])
    assert status == 0
    printed = capsys.readouterr().out
    row = next(line for line in printed.splitlines() if line.startswith("diverged"))
    assert row.split()[3] == "1"  # StandardSGD: the only seed diverged
    text = (out / "exp2.json").read_text()
    assert "NaN" not in text
    assert "Infinity" not in text
