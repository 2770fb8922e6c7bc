"""Tests of the gradient checker on functions with known gradients."""

import io

import numpy as np
import pytest

from stablesgd_ref.gradcheck import (
    check_gradients,
    format_gradient_report,
    numerical_gradient,
    print_gradient_report,
    relative_error,
)


@pytest.fixture
def rng():
    return np.random.default_rng(2024)


def test_numerical_gradient_of_sine(rng):
    x = rng.normal(size=(3, 4))
    a = rng.normal(size=(3, 4))

    grad = numerical_gradient(lambda v: np.sum(a * np.sin(v)), x)

    # Truncation error is h**2 / 6 * |a * cos| ~ 1e-11, rounding about as much.
    np.testing.assert_allclose(grad, a * np.cos(x), rtol=0, atol=1e-9)


def test_numerical_gradient_of_quadratic(rng):
    A = rng.normal(size=(5, 5))
    x = rng.normal(size=5)

    grad = numerical_gradient(lambda v: v @ A @ v, x)

    # Central differences are exact for quadratics up to rounding.
    np.testing.assert_allclose(grad, (A + A.T) @ x, rtol=0, atol=1e-9)


def test_numerical_gradient_restores_x(rng):
    x = rng.normal(size=(2, 3))
    original = x.copy()

    numerical_gradient(lambda v: np.sum(v**3), x)

    np.testing.assert_array_equal(x, original)


def test_relative_error_hand_values():
    analytic = np.array([1.0, 1.0, 0.0, 3.0, 1e-5])
    numerical = np.array([1.0, -1.0, 0.0, 1.0, 2e-5])

    errors = relative_error(analytic, numerical, tiny=1e-3)

    # |a - n| / max(|a| + |n|, tiny): 0/2, 2/2, 0/tiny, 2/4, 1e-5/1e-3.
    np.testing.assert_allclose(errors, [0.0, 1.0, 0.0, 0.5, 1e-2], rtol=1e-12)


def test_check_gradients_accepts_correct_gradients(rng):
    params = {"w": rng.normal(size=(3, 4)), "b": rng.normal(size=4)}
    x = rng.normal(size=(6, 3))

    def loss():
        return np.sum(np.tanh(x @ params["w"] + params["b"]))

    dz = 1.0 - np.tanh(x @ params["w"] + params["b"]) ** 2  # (6, 4)
    analytic = {"w": x.T @ dz, "b": dz.sum(axis=0)}

    errors = check_gradients(loss, params, analytic)

    assert list(errors) == ["w", "b"]
    assert errors["w"] < 1e-8
    assert errors["b"] < 1e-8


def test_check_gradients_catches_wrong_gradient(rng):
    params = {"w": rng.normal(size=(3, 4)), "b": rng.normal(size=4)}
    x = rng.normal(size=(6, 3))

    def loss():
        return np.sum(np.tanh(x @ params["w"] + params["b"]))

    dz = 1.0 - np.tanh(x @ params["w"] + params["b"]) ** 2
    # A single entry 1% too large, and a gradient with the wrong sign.
    dw_wrong = x.T @ dz
    dw_wrong[1, 2] *= 1.01
    analytic = {"w": dw_wrong, "b": -dz.sum(axis=0)}

    errors = check_gradients(loss, params, analytic)

    assert errors["w"] > 1e-3
    assert errors["b"] == pytest.approx(1.0)


def test_exact_zero_gradient_passes_with_default_tiny(rng):
    params = {"w": rng.normal(size=3)}
    shift = rng.normal()

    def loss():
        # w[0] and w[1] shift every logit by the same amount, which leaves
        # logsumexp(logits) - logits[0] unchanged, and w[2] is unused. So the
        # gradient is exactly 0 and only rounding noise remains.
        logits = np.array([1.0, 2.0, 3.0]) + params["w"][0] + shift * params["w"][1]
        return np.log(np.sum(np.exp(logits))) - logits[0]

    errors = check_gradients(loss, params, {"w": np.zeros(3)})

    assert errors["w"] < 1e-6


def test_check_gradients_rejects_mismatched_keys(rng):
    params = {"w": rng.normal(size=3)}

    with pytest.raises(ValueError, match=r"Missing: \['w'\]"):
        check_gradients(lambda: 0.0, params, {"v": np.zeros(3)})


def test_check_gradients_rejects_mismatched_shape(rng):
    params = {"w": rng.normal(size=3)}

    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        check_gradients(lambda: 0.0, params, {"w": np.zeros(4)})


@pytest.mark.parametrize(
    "x",
    [np.zeros(3, dtype=np.float32), np.zeros(3, dtype=int), [0.0, 1.0]],
)
def test_numerical_gradient_rejects_non_float64(x):
    with pytest.raises(TypeError, match="float64 ndarray"):
        numerical_gradient(lambda v: 0.0, x)


@pytest.mark.parametrize("h", [0.0, -1e-5, float("nan")])
def test_numerical_gradient_rejects_bad_step(h):
    with pytest.raises(ValueError, match="h must be a positive finite"):
        numerical_gradient(lambda v: 0.0, np.zeros(2), h=h)


def test_report_rows_and_verdict():
    params = {"wte": np.zeros((11, 8)), "ln_f.b": np.zeros(8), "x": np.zeros(2)}
    errors = {"wte": 3.2e-9, "ln_f.b": 0.25, "x": float("nan")}

    report = format_gradient_report(errors, params, tol=1e-6)
    lines = report.splitlines()

    assert len(lines) == 5
    assert lines[1].split() == ["wte", "(11,", "8)", "3.200e-09", "OK"]
    assert lines[2].split() == ["ln_f.b", "(8,)", "2.500e-01", "NOT", "OK"]
    assert lines[3].split() == ["x", "(2,)", "nan", "NOT", "OK"]
    # The error column starts at the same position in every row.
    error_texts = ["3.200e-09", "2.500e-01", "nan"]
    positions = [line.index(text) for line, text in zip(lines[1:4], error_texts)]
    assert len(set(positions)) == 1
    assert lines[4] == "2 of 3 gradients NOT OK (tolerance 1e-06)"


def test_print_report_returns_verdict():
    params = {"w": np.zeros(2)}
    out = io.StringIO()

    assert print_gradient_report({"w": 1e-9}, params, file=out) is True
    assert print_gradient_report({"w": 1e-2}, params, file=out) is False
    assert "all 1 gradients OK" in out.getvalue()
    assert "1 of 1 gradients NOT OK" in out.getvalue()
