"""Tests of StandardSGD and StableSGD against hand-computed and scalar values."""

import itertools
import math

import numpy as np
import pytest

from stablesgd_ref import StableSGD, StandardSGD

P0 = [1.0, -2.0, 0.5]
GRADS = [[0.5, -1.0, 2.0], [-0.3, 0.8, 1.5], [1.2, 0.1, -0.7], [0.4, -0.6, 0.9]]


def scalar_stable(
    p0,
    grads,
    lr,
    momentum,
    temporal_stability,
    energy_conservation,
    penalty_mode,
    lr_in_velocity,
):
    """Run StableSGD one float at a time with the math module; return the trace.

    An independent reading of the pseudocode: Python floats, no NumPy, and the
    history written out as a plain list per element.
    """
    params = list(p0)
    velocities = [0.0] * len(p0)
    histories = [[] for _ in p0]
    trace = []
    for grad in grads:
        total = 0.0
        for i, g in enumerate(grad):
            scale = lr if lr_in_velocity else 1.0
            velocities[i] = momentum * velocities[i] + scale * g
            v = velocities[i]
            energy = 0.5 * v * v + 0.5 * g * g
            penalty = 0.0
            history = histories[i]
            if len(history) > 1:
                if penalty_mode == "literal":
                    penalty = temporal_stability * abs(params[i] - history[-1])
                elif penalty_mode == "previous_step":
                    penalty = temporal_stability * abs(history[-1] - history[-2])
                else:
                    penalty = temporal_stability * (history[-1] - history[-2])
            step_lr = lr
            if energy_conservation:
                step_lr = lr / (1.0 + math.sqrt(energy) * 0.1)
            params[i] -= step_lr * v + penalty
            history.append(params[i])
            total += energy
        trace.append((list(params), list(velocities), total))
    return trace


def run_stable(steps=4, **options):
    params = [np.array(P0)]
    optimizer = StableSGD(params, **options)
    trace = []
    for grad in GRADS[:steps]:
        optimizer.step([np.array(grad)])
        trace.append((params[0].copy(), optimizer.velocities[0].copy()))
    return optimizer, trace


def test_stable_first_step_by_hand():
    params = [np.array([1.0])]
    optimizer = StableSGD(params, lr=0.1, momentum=0.9)
    optimizer.step([np.array([0.5])])
    # velocity = 0.9 * 0 + 0.1 * 0.5 = 0.05
    # energy = 0.5 * 0.05**2 + 0.5 * 0.5**2 = 0.00125 + 0.125 = 0.12625
    # adaptive_lr = 0.1 / (1 + 0.1 * sqrt(0.12625)) = 0.09656874...
    # param = 1 - adaptive_lr * 0.05 = 0.99517156...
    assert optimizer.velocities[0][0] == pytest.approx(0.05, abs=1e-15)
    assert optimizer.energy_trace[0] == pytest.approx(0.12625, abs=1e-15)
    expected = 1.0 - 0.1 / (1.0 + 0.1 * 0.12625**0.5) * 0.05
    assert params[0][0] == pytest.approx(expected, abs=1e-15)
    assert params[0][0] == pytest.approx(0.9951715625, abs=1e-10)


def test_standard_three_steps_by_hand():
    params = [np.array([1.0, -2.0])]
    optimizer = StandardSGD(params, lr=0.1, momentum=0.9)
    for grad in ([0.5, -1.0], [-0.3, 0.8], [1.2, 0.1]):
        optimizer.step([np.array(grad)])
    # element 0: v1 = 0.05, v2 = 0.045 - 0.03 = 0.015, v3 = 0.0135 + 0.12 = 0.1335
    # p3 = 1 - 0.05 - 0.015 - 0.1335 = 0.8015
    # element 1: v1 = -0.1, v2 = -0.09 + 0.08 = -0.01, v3 = -0.009 + 0.01 = 0.001
    # p3 = -2 + 0.1 + 0.01 - 0.001 = -1.891
    np.testing.assert_allclose(optimizer.velocities[0], [0.1335, 0.001], atol=1e-15)
    np.testing.assert_allclose(params[0], [0.8015, -1.891], atol=1e-15)
    # energy of step 3: 0.5 * (0.1335**2 + 0.001**2) + 0.5 * (1.2**2 + 0.1**2)
    expected_energy = 0.5 * (0.1335**2 + 0.001**2) + 0.5 * (1.44 + 0.01)
    assert optimizer.energy_trace[2] == pytest.approx(expected_energy, abs=1e-15)


OPTION_GRID = list(
    itertools.product(
        ["literal", "previous_step", "signed"], [True, False], [True, False]
    )
)


@pytest.mark.parametrize("penalty_mode,energy_conservation,lr_in_velocity", OPTION_GRID)
def test_stable_matches_scalar_reference(
    penalty_mode, energy_conservation, lr_in_velocity
):
    options = dict(
        lr=0.1,
        momentum=0.9,
        temporal_stability=0.2,
        energy_conservation=energy_conservation,
        penalty_mode=penalty_mode,
        lr_in_velocity=lr_in_velocity,
    )
    optimizer, trace = run_stable(**options)
    expected = scalar_stable(P0, GRADS, **options)
    for step, ((params, velocity), (want_p, want_v, want_e)) in enumerate(
        zip(trace, expected)
    ):
        np.testing.assert_allclose(
            params,
            want_p,
            rtol=1e-14,
            atol=1e-15,
            err_msg=f"params after step {step + 1}",
        )
        np.testing.assert_allclose(
            velocity,
            want_v,
            rtol=1e-14,
            atol=1e-15,
            err_msg=f"velocity after step {step + 1}",
        )
        assert optimizer.energy_trace[step] == pytest.approx(want_e, rel=1e-14)


def test_previous_step_penalty_by_hand():
    # Without energy conservation, with lr outside the velocity.
    params = [np.array([0.0])]
    optimizer = StableSGD(
        params,
        lr=0.5,
        momentum=0.0,
        temporal_stability=0.1,
        energy_conservation=False,
        penalty_mode="previous_step",
        lr_in_velocity=False,
    )
    optimizer.step([np.array([1.0])])  # p1 = 0 - 0.5 * 1 = -0.5
    optimizer.step([np.array([1.0])])  # p2 = -1.0, one snapshot before: no penalty
    assert params[0][0] == -1.0
    optimizer.step([np.array([-1.0])])
    # penalty = 0.1 * |p2 - p1| = 0.05; p3 = -1.0 + 0.5 - 0.05 = -0.55
    assert params[0][0] == pytest.approx(-0.55, abs=1e-15)


def test_signed_penalty_by_hand():
    params = [np.array([0.0])]
    optimizer = StableSGD(
        params,
        lr=0.5,
        momentum=0.0,
        temporal_stability=0.1,
        energy_conservation=False,
        penalty_mode="signed",
        lr_in_velocity=False,
    )
    optimizer.step([np.array([1.0])])  # p1 = -0.5
    optimizer.step([np.array([1.0])])  # p2 = -1.0
    optimizer.step([np.array([-1.0])])
    # penalty = 0.1 * (p2 - p1) = -0.05; p3 = -1.0 + 0.5 + 0.05 = -0.45
    assert params[0][0] == pytest.approx(-0.45, abs=1e-15)


@pytest.mark.parametrize("energy_conservation", [True, False])
def test_literal_penalty_is_zero(energy_conservation):
    """temporal_stability has no effect under the literal reading."""
    rng = np.random.default_rng(0)
    grads = rng.normal(size=(30, 4, 3))
    start = rng.normal(size=(4, 3))
    finals = []
    for temporal_stability in (0.0, 0.03, 10.0):
        params = [start.copy()]
        optimizer = StableSGD(
            params,
            lr=0.01,
            temporal_stability=temporal_stability,
            energy_conservation=energy_conservation,
        )
        for grad in grads:
            history = optimizer.param_history[0]
            if len(history) > 1:
                assert np.array_equal(params[0], history[-1])
            optimizer.step([grad])
        finals.append(params[0].copy())
    assert np.array_equal(finals[0], finals[1])
    assert np.array_equal(finals[0], finals[2])


def test_previous_step_penalty_changes_trajectory():
    rng = np.random.default_rng(1)
    grads = rng.normal(size=(10, 5))
    finals = []
    for temporal_stability in (0.0, 0.03):
        params = [np.ones(5)]
        optimizer = StableSGD(
            params,
            lr=0.01,
            temporal_stability=temporal_stability,
            penalty_mode="previous_step",
        )
        for grad in grads:
            optimizer.step([grad])
        finals.append(params[0])
    # The penalty is never negative, so it can only push params down.
    assert np.all(finals[1] < finals[0])


def test_stable_reproduces_standard_sgd():
    rng = np.random.default_rng(2)
    shapes = [(3, 4), (5,), (2, 2, 2)]
    starts = [rng.normal(size=shape) for shape in shapes]
    standard_params = [s.copy() for s in starts]
    stable_params = [s.copy() for s in starts]
    standard = StandardSGD(standard_params, lr=0.003, momentum=0.9)
    stable = StableSGD(
        stable_params,
        lr=0.003,
        momentum=0.9,
        temporal_stability=0.02,
        energy_conservation=False,
        lr_in_velocity=False,
    )
    for _ in range(200):
        grads = [rng.normal(size=shape) for shape in shapes]
        standard.step(grads)
        stable.step(grads)
    for a, b in zip(standard_params, stable_params):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-12)


def test_lr_applied_twice_shrinks_step():
    """With lr in the velocity, the first step is lr times StandardSGD's."""
    lr = 0.005
    standard_params, stable_params = [np.zeros(3)], [np.zeros(3)]
    grad = [np.array([1.0, -2.0, 0.5])]
    StandardSGD(standard_params, lr=lr).step(grad)
    StableSGD(stable_params, lr=lr, energy_conservation=False).step(grad)
    np.testing.assert_allclose(stable_params[0], lr * standard_params[0], rtol=1e-15)


@pytest.mark.parametrize("penalty_mode", ["literal", "previous_step", "signed"])
@pytest.mark.parametrize("energy_conservation", [True, False])
def test_history_limit_keeps_trajectory(penalty_mode, energy_conservation):
    rng = np.random.default_rng(3)
    grads = rng.normal(size=(40, 6))
    results = []
    for limit in (None, 2):
        params = [np.linspace(-1, 1, 6)]
        optimizer = StableSGD(
            params,
            lr=0.05,
            temporal_stability=0.03,
            energy_conservation=energy_conservation,
            penalty_mode=penalty_mode,
            history_limit=limit,
        )
        for grad in grads:
            optimizer.step([grad])
        results.append((params[0].copy(), list(optimizer.energy_trace), optimizer))
    assert np.array_equal(results[0][0], results[1][0])
    assert results[0][1] == results[1][1]
    assert len(results[0][2].param_history[0]) == 40
    assert len(results[1][2].param_history[0]) == 2
    assert len(results[1][2].energy_history) == 2


def test_history_bytes_grow_without_limit():
    params = [np.zeros(10), np.zeros(5)]
    optimizer = StableSGD(params, lr=0.01)
    for _ in range(7):
        optimizer.step([np.ones(10), np.ones(5)])
    # 7 snapshots of each param plus 7 energy arrays of each: 2 * 7 * 15 * 8 bytes
    assert optimizer.history_bytes() == 2 * 7 * 15 * 8
    assert len(optimizer.energy_history) == 14


def test_energy_history_order():
    params = [np.zeros(2), np.zeros(3)]
    optimizer = StableSGD(params, lr=0.1)
    optimizer.step([np.ones(2), 2 * np.ones(3)])
    assert optimizer.energy_history[0].shape == (2,)
    assert optimizer.energy_history[1].shape == (3,)
    total = sum(float(e.sum()) for e in optimizer.energy_history)
    assert optimizer.energy_trace[0] == pytest.approx(total, rel=1e-15)


def test_energy_conservation_off_uses_plain_lr():
    params_on, params_off = [np.zeros(1)], [np.zeros(1)]
    grad = [np.array([3.0])]
    StableSGD(params_on, lr=0.1, energy_conservation=True).step(grad)
    StableSGD(params_off, lr=0.1, energy_conservation=False).step(grad)
    # off: p = -0.1 * (0.1 * 3) = -0.03
    assert params_off[0][0] == pytest.approx(-0.03, abs=1e-16)
    assert abs(params_on[0][0]) < abs(params_off[0][0])


def test_float64_in_float64_out():
    params = [np.ones(3)]
    optimizer = StableSGD(params, lr=0.1)
    optimizer.step([np.ones(3, dtype=np.float32)])
    assert params[0].dtype == np.float64
    assert optimizer.velocities[0].dtype == np.float64


BAD_CONSTRUCTOR_ARGS = [
    ({"lr": 0.0}, ValueError, "lr"),
    ({"lr": -1.0}, ValueError, "lr"),
    ({"lr": float("nan")}, ValueError, "lr"),
    ({"lr": float("inf")}, ValueError, "lr"),
    ({"lr": 0.1, "momentum": 1.0}, ValueError, "momentum"),
    ({"lr": 0.1, "momentum": -0.1}, ValueError, "momentum"),
    ({"lr": 0.1, "temporal_stability": -0.01}, ValueError, "temporal_stability"),
    ({"lr": 0.1, "penalty_mode": "previous"}, ValueError, "penalty_mode"),
    ({"lr": 0.1, "history_limit": 1}, ValueError, "history_limit"),
    ({"lr": 0.1, "history_limit": 2.5}, ValueError, "history_limit"),
    ({"lr": 0.1, "energy_conservation": "yes"}, TypeError, "energy_conservation"),
]


@pytest.mark.parametrize("kwargs,error,name", BAD_CONSTRUCTOR_ARGS)
def test_stable_rejects_bad_hyperparameters(kwargs, error, name):
    with pytest.raises(error, match=name):
        StableSGD([np.zeros(2)], **kwargs)


@pytest.mark.parametrize("lr,momentum", [(0.0, 0.9), (0.1, 1.0), (0.1, -0.5)])
def test_standard_rejects_bad_hyperparameters(lr, momentum):
    with pytest.raises(ValueError, match="lr|momentum"):
        StandardSGD([np.zeros(2)], lr=lr, momentum=momentum)


@pytest.mark.parametrize("optimizer_class", [StandardSGD, StableSGD])
@pytest.mark.parametrize(
    "params,error",
    [
        ([np.zeros(2, dtype=np.int64)], TypeError),
        ([np.zeros(2, dtype=np.float32)], TypeError),
        ([[0.0, 1.0]], TypeError),
        (np.zeros(2), TypeError),
        ([], ValueError),
    ],
)
def test_rejects_params_that_are_not_float_arrays(optimizer_class, params, error):
    with pytest.raises(error, match="params"):
        optimizer_class(params, lr=0.1)


@pytest.mark.parametrize("optimizer_class", [StandardSGD, StableSGD])
def test_rejects_bad_grads(optimizer_class):
    params = [np.zeros(2), np.zeros((2, 3))]
    optimizer = optimizer_class(params, lr=0.1)
    with pytest.raises(ValueError, match="grads has 1 arrays"):
        optimizer.step([np.zeros(2)])
    with pytest.raises(ValueError, match=r"grads\[1\] has shape \(3, 2\)"):
        optimizer.step([np.zeros(2), np.zeros((3, 2))])
    with pytest.raises(ValueError, match=r"grads\[1\] contains NaN or Inf"):
        optimizer.step([np.zeros(2), np.full((2, 3), np.nan)])
    with pytest.raises(ValueError, match=r"grads\[0\] contains NaN or Inf"):
        optimizer.step([np.array([1.0, np.inf]), np.zeros((2, 3))])
    # A rejected step leaves every param untouched.
    assert np.array_equal(params[0], np.zeros(2))
    assert np.array_equal(params[1], np.zeros((2, 3)))


def test_rejects_same_array_twice():
    shared = np.zeros(3)
    with pytest.raises(ValueError, match=r"params\[1\] shares memory with params\[0\]"):
        StandardSGD([shared, shared], lr=0.1)
    with pytest.raises(ValueError, match="shares memory"):
        StableSGD([shared, shared[1:]], lr=0.1)


def test_rejects_complex_gradient():
    optimizer = StableSGD([np.zeros(2)], lr=0.1)
    with pytest.raises(TypeError, match=r"grads\[0\] is complex"):
        optimizer.step([np.array([1.0 + 1.0j, 0.0])])


def test_momentum_message_names_range():
    with pytest.raises(ValueError, match=r"in \[0, 1\), got -0.1"):
        StableSGD([np.zeros(2)], lr=0.1, momentum=-0.1)
