"""Tests of the Experiment 2 landscape, its gradient and its minimizer."""

import math

import numpy as np
import pytest

from stablesgd_ref import Landscape
from stablesgd_ref.minimizer import find_minimizer


def central_difference(function, x, h=1e-6):
    gradient = np.zeros_like(x)
    for i in range(x.size):
        step = np.zeros_like(x)
        step[i] = h
        gradient[i] = (function(x + step) - function(x - step)) / (2 * h)
    return gradient


@pytest.mark.parametrize("step", [0, 37, 150, 500])
def test_gradient_matches_finite_differences(step):
    landscape = Landscape(dim=12, noise_level=0.4, seed=3)
    x = np.random.default_rng(4).normal(0, 1.5, size=12)
    numeric = central_difference(lambda p: landscape.loss(p, step), x)
    analytic = landscape.grad(x, step)
    relative = np.abs(analytic - numeric) / np.maximum(
        np.abs(analytic) + np.abs(numeric), 1e-12
    )
    assert relative.max() < 1e-7


def test_hessian_matches_finite_differences():
    landscape = Landscape(dim=6, seed=5)
    x = np.random.default_rng(6).normal(size=6)
    numeric = np.stack(
        [
            central_difference(lambda p, i=i: landscape.grad(p, 80)[i], x)
            for i in range(6)
        ]
    )
    np.testing.assert_allclose(landscape.hessian(x, 80), numeric, atol=1e-7)


def test_loss_by_hand_two_dimensions():
    landscape = Landscape(dim=2, seed=0)
    landscape.target = np.array([1.0, -1.0])
    landscape.local_min = np.array([0.0, 0.0])
    p = np.array([0.5, 0.25])
    step = 100
    expected = (
        (0.5 - 1.0) ** 2
        + (0.25 + 1.0) ** 2
        + 0.2 * math.exp(-0.25)
        + 0.2 * math.exp(-0.0625)
        + 0.1 * (1 - math.cos(2.5))
        + 0.1 * (1 - math.cos(1.25))
        + 0.05 * (0.5 - 0.25) ** 2
        + 0.01 * math.sin(1.0) * (0.25 + 0.0625)
    )
    assert landscape.loss(p, step) == pytest.approx(expected, rel=1e-14)


def test_gaussian_term_is_a_bump():
    """The 0.2*exp(-(p - local_min)**2) term is highest at local_min."""
    landscape = Landscape(dim=2, seed=0)
    at_centre = landscape.loss_terms(landscape.local_min, 0)["bump"]
    away = landscape.loss_terms(landscape.local_min + 1.0, 0)["bump"]
    assert at_centre == pytest.approx(0.4)
    assert away < at_centre
    # Right of local_min the term falls as p grows, so gradient descent on it
    # moves params further right, away from local_min.
    right = landscape.local_min + 0.3
    h = 1e-6
    slope = (
        landscape.loss_terms(right + h, 0)["bump"]
        - landscape.loss_terms(right - h, 0)["bump"]
    ) / (2 * h)
    assert slope < 0


def test_coupling_is_a_chain_without_wraparound():
    landscape = Landscape(dim=3, seed=0)
    p = np.array([1.0, 0.0, -1.0])
    # (1 - 0)**2 + (0 + 1)**2 = 2, no (p_2 - p_0) link
    assert landscape.loss_terms(p, 0)["coupling"] == pytest.approx(0.05 * 2)


def test_noise_is_uniform_and_reproducible():
    landscape = Landscape(dim=50, noise_level=0.4, seed=42)
    x = np.zeros(50)
    clean = landscape.grad(x, 0)
    noisy_a = landscape.grad(x, 0, np.random.default_rng(9))
    noisy_b = landscape.grad(x, 0, np.random.default_rng(9))
    assert np.array_equal(noisy_a, noisy_b)
    assert np.all(np.abs(noisy_a - clean) <= 0.4)
    draws = np.concatenate(
        [landscape.grad(x, 0, np.random.default_rng(s)) - clean for s in range(200)]
    )
    # uniform(-0.4, 0.4) has variance 0.4**2 / 3
    assert draws.var() == pytest.approx(0.4**2 / 3, rel=0.05)
    assert landscape.loss(x, 0) == landscape.loss(x, 0)
    assert landscape.loss(x, 0, np.random.default_rng(1)) != landscape.loss(x, 0)


def test_zero_noise_level_gives_clean_gradient():
    landscape = Landscape(dim=4, noise_level=0.0, seed=1)
    x = np.ones(4)
    assert np.array_equal(
        landscape.grad(x, 3, np.random.default_rng(0)), landscape.grad(x, 3)
    )


def test_minimizer_is_stationary_and_convex_there():
    landscape = Landscape(seed=42)
    x = find_minimizer(landscape, 150)
    assert np.abs(landscape.grad(x, 150)).max() < 1e-10
    assert np.linalg.eigvalsh(landscape.hessian(x, 150)).min() > 0


@pytest.mark.parametrize("seed", [42, 7])
def test_minimizer_beats_multistart_lbfgs(seed):
    optimize = pytest.importorskip("scipy.optimize")
    landscape = Landscape(dim=50, seed=seed)
    step = 150
    best = find_minimizer(landscape, step)
    best_loss = landscape.loss(best, step)
    rng = np.random.default_rng(seed)
    starts = [landscape.target, landscape.local_min] + [
        rng.normal(0, 1.5, size=50) for _ in range(40)
    ]
    for start in starts:
        result = optimize.minimize(
            landscape.loss,
            start,
            args=(step,),
            jac=landscape.grad,
            method="L-BFGS-B",
            options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 5000},
        )
        assert result.fun >= best_loss - 1e-9


@pytest.mark.parametrize(
    "kwargs,name",
    [
        ({"dim": 1}, "dim"),
        ({"dim": 2.5}, "dim"),
        ({"noise_level": -0.1}, "noise_level"),
        ({"noise_level": float("nan")}, "noise_level"),
    ],
)
def test_rejects_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        Landscape(**kwargs)


def test_rejects_params_of_wrong_shape():
    landscape = Landscape(dim=5)
    with pytest.raises(ValueError, match=r"shape \(5,\)"):
        landscape.loss(np.zeros(4), 0)
    with pytest.raises(ValueError, match=r"shape \(5,\)"):
        landscape.grad(np.zeros((5, 1)), 0)
