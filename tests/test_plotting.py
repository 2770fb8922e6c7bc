"""Tests of the figures' content: axes, labels and plotted data, not pixels."""

import io

import numpy as np
import pytest

from stablesgd_ref import output, plotting


def fake_pairs():
    return [
        {
            "StandardSGD": {
                "losses": [3.0, 2.0, 1.0],
                "m": 0.5,
                "reach": {"0.5": 1, "0.1": None},
            },
            "StableSGD": {
                "losses": [3.0, 2.5],
                "m": 0.7,
                "reach": {"0.5": 2, "0.1": None},
            },
        },
        {
            "StandardSGD": {
                "losses": [5.0, 4.0, 3.0],
                "m": 0.9,
                "reach": {"0.5": 1, "0.1": 2},
            },
            "StableSGD": {
                "losses": [5.0, 4.5, 4.0],
                "m": 1.1,
                "reach": {"0.5": None, "0.1": None},
            },
        },
    ]


def test_trajectories_plot_mean_and_band():
    figure = plotting.plot_trajectories(fake_pairs(), "losses", "Loss", "loss (nats)")
    axes = figure.axes[0]
    assert axes.get_title() == "Loss"
    assert axes.get_xlabel() == "iteration"
    assert axes.get_ylabel() == "loss (nats)"
    lines = {line.get_label(): line for line in axes.get_lines()}
    standard = lines["StandardSGD (mean of 2)"]
    np.testing.assert_array_equal(standard.get_ydata(), [4.0, 3.0, 2.0])
    stable = lines["StableSGD (mean of 2)"]
    # The first seed stopped after 2 values, so the last mean uses one seed.
    np.testing.assert_array_equal(stable.get_ydata(), [4.0, 3.5, 4.0])
    assert len(axes.collections) == 2  # one min-max band per optimizer
    legend = [text.get_text() for text in axes.get_legend().get_texts()]
    assert legend == ["StandardSGD (mean of 2)", "StableSGD (mean of 2)"]


def test_metric_by_seed_points():
    figure = plotting.plot_metric_by_seed(fake_pairs(), "m", "M", "m (units)")
    axes = figure.axes[0]
    offsets = [
        collection.get_offsets()
        for collection in axes.collections
        if collection.get_offsets().shape[0] == 2
    ]
    values = sorted(float(y) for points in offsets for y in points[:, 1])
    assert values == pytest.approx([0.5, 0.7, 0.9, 1.1])
    assert axes.get_ylabel() == "m (units)"


def test_convergence_marks_never_reached():
    figure = plotting.plot_convergence(fake_pairs(), "reach", ["0.5", "0.1"], "C", "f")
    axes = figure.axes[0]
    labels = [text.get_text() for text in axes.get_legend().get_texts()]
    assert "StandardSGD never reached (1 of 4)" in labels
    assert "StableSGD never reached (3 of 4)" in labels
    assert axes.get_ylabel() == "iterations to reach threshold"


def test_heatmap_cells_and_divergence():
    rows = [
        {"optimizer": "StandardSGD", "lr": lr, "mean_final_loss": 1.0}
        for lr in (0.1, 0.2)
    ]
    for lr in (0.1, 0.2):
        for ts in (0.0, 0.5):
            rows.append(
                {
                    "optimizer": "StableSGD",
                    "lr": lr,
                    "temporal_stability": ts,
                    "energy_conservation": True,
                    "penalty_mode": "literal",
                    "mean_final_loss": np.nan if lr == 0.2 and ts == 0.5 else lr + ts,
                }
            )
    figure = plotting.plot_sweep_heatmaps(rows, "Sweep")
    axes = figure.axes[0]
    cells = axes.images[0].get_array()
    np.testing.assert_allclose(cells[0], [0.1, 0.2])
    assert cells[1, 0] == pytest.approx(0.6)
    assert np.ma.is_masked(cells[1, 1]) or np.isnan(cells[1, 1])
    texts = [text.get_text() for text in axes.texts]
    assert "div" in texts
    assert axes.get_ylabel() == "temporal_stability"


def test_saved_png_is_identical_between_runs(tmp_path):
    for name in ("a.png", "b.png"):
        figure = plotting.plot_trajectories(fake_pairs(), "losses", "Loss", "loss")
        output.save_figure_atomic(figure, tmp_path / name)
    first = (tmp_path / "a.png").read_bytes()
    assert first == (tmp_path / "b.png").read_bytes()
    assert b"Software" not in first


def test_diverged_values_are_left_out():
    pairs = fake_pairs()
    pairs[0]["StandardSGD"]["losses"] = [3.0, np.inf, 1e300]
    figure = plotting.plot_trajectories(pairs, "losses", "Loss", "loss", log_y=True)
    axes = figure.axes[0]
    standard = axes.get_lines()[0]
    np.testing.assert_array_equal(standard.get_ydata(), [4.0, 4.0, 3.0])
    figure.savefig(io.BytesIO(), format="png")  # draws without overflow
