"""Tests of the run metrics against hand-computed values."""

import math

import numpy as np
import pytest

from stablesgd_ref import metrics


def test_stability_coefficient_by_hand():
    losses = [100.0] * 5 + [1.0, 2.0, 3.0, 4.0]
    # last 4: mean 2.5, population std sqrt(1.25)
    assert metrics.stability_coefficient(losses, window=4) == pytest.approx(
        math.sqrt(1.25) / 2.5, rel=1e-15
    )
    assert metrics.window_std(losses, window=4) == pytest.approx(math.sqrt(1.25))


def test_stability_coefficient_uses_population_std():
    losses = np.random.default_rng(0).normal(5, 1, size=50)
    tail = losses[-20:]
    assert metrics.stability_coefficient(losses) == pytest.approx(
        np.std(tail, ddof=0) / np.mean(tail), rel=1e-14
    )


def test_stability_coefficient_misleads_near_zero_mean():
    # Same spread, different mean: the coefficient changes a thousandfold.
    spread = np.array([-0.5, 0.5] * 10)
    far = metrics.stability_coefficient(10.0 + spread)
    near = metrics.stability_coefficient(0.01 + spread)
    assert metrics.window_std(10.0 + spread) == pytest.approx(
        metrics.window_std(0.01 + spread)
    )
    assert near / far == pytest.approx(1000.0)


def test_short_series_uses_all_losses():
    assert metrics.window_std([1.0, 3.0], window=20) == pytest.approx(1.0)


def test_iterations_to_threshold():
    losses = [5.0, 4.0, 2.9, 3.5, 1.0]
    assert metrics.iterations_to_threshold(losses, 3.0) == 2
    assert metrics.iterations_to_threshold(losses, 5.0) == 0
    assert metrics.iterations_to_threshold(losses, 0.5) is None


def test_distance_flat_and_lists():
    assert metrics.distance(np.array([3.0, 4.0]), np.zeros(2)) == 5.0
    assert (
        metrics.distance(
            [np.array([3.0]), np.array([[4.0]])], [np.zeros(1), np.zeros((1, 1))]
        )
        == 5.0
    )


@pytest.mark.parametrize(
    "losses,window", [([], 20), ([1.0], 0), ([[1.0]], 1), ([1.0], 2.5)]
)
def test_rejects_bad_input(losses, window):
    with pytest.raises(ValueError):
        metrics.stability_coefficient(losses, window=window)
