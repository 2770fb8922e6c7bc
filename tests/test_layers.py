"""Tests of the forward/backward layer pairs in layers.py and attention.py.

Each backward pass is compared with central differences of
``sum(forward(...) * dout)`` for a random upstream gradient ``dout``. A correct
backward gives relative errors of about 1e-10 to 1e-7. The tests require 1e-6.
"""

import math
import warnings

import numpy as np
import pytest
from scipy.special import erf, logsumexp

from stablesgd_ref.attention import (
    causal_self_attention_backward,
    causal_self_attention_forward,
)
from stablesgd_ref.gradcheck import numerical_gradient, relative_error
from stablesgd_ref.layers import (
    LAYER_NORM_EPS,
    embedding_backward,
    embedding_forward,
    gelu_backward,
    gelu_forward,
    layernorm_backward,
    layernorm_forward,
    linear_backward,
    linear_forward,
    softmax_cross_entropy_backward,
    softmax_cross_entropy_forward,
)

TOL = 1e-6


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def max_error_against_numerical(forward, arrays, analytic, dout):
    """Return the max relative error of each analytic gradient.

    ``forward()`` must read the arrays of ``arrays`` at call time and return
    ``(out, cache)``. The scalar function checked is ``sum(out * dout)``.
    """

    def f(_):
        out, _ = forward()
        return np.sum(out * dout)

    errors = {}
    for name, x in arrays.items():
        numerical = numerical_gradient(f, x)
        errors[name] = relative_error(analytic[name], numerical).max()
    return errors


# ----------------------------------------------------------------------------
# Embedding
# ----------------------------------------------------------------------------


def test_embedding_forward_values(rng):
    wte = rng.normal(size=(7, 4))
    wpe = rng.normal(size=(5, 4))
    idx = np.array([[3, 0, 3], [6, 6, 1]])

    out, _ = embedding_forward(idx, wte, wpe)

    assert out.shape == (2, 3, 4)
    for b in range(2):
        for t in range(3):
            np.testing.assert_array_equal(out[b, t], wte[idx[b, t]] + wpe[t])


def test_embedding_gradients(rng):
    wte = rng.normal(size=(7, 4))
    wpe = rng.normal(size=(5, 4))
    # Token 3 occurs three times, so its gradient must accumulate. T = 3 < 5, so
    # rows 3 and 4 of wpe are unused and must get a zero gradient.
    idx = np.array([[3, 0, 3], [6, 3, 1]])
    dout = rng.normal(size=(2, 3, 4))

    _, cache = embedding_forward(idx, wte, wpe)
    dwte, dwpe = embedding_backward(dout, cache)
    errors = max_error_against_numerical(
        lambda: embedding_forward(idx, wte, wpe),
        {"wte": wte, "wpe": wpe},
        {"wte": dwte, "wpe": dwpe},
        dout,
    )

    assert errors["wte"] < TOL
    assert errors["wpe"] < TOL
    np.testing.assert_array_equal(dwpe[3:], 0.0)
    np.testing.assert_allclose(dwte[3], dout[0, 0] + dout[0, 2] + dout[1, 1])


# ----------------------------------------------------------------------------
# Layer norm
# ----------------------------------------------------------------------------


def test_layernorm_normalizes_rows(rng):
    x = rng.normal(loc=3.0, scale=2.5, size=(3, 4, 16))
    g = np.ones(16)
    b = np.zeros(16)

    out, _ = layernorm_forward(x, g, b)

    var = x.var(axis=-1)
    np.testing.assert_allclose(out.mean(axis=-1), 0.0, atol=1e-12)
    # The eps inside the square root makes the variance var / (var + eps).
    np.testing.assert_allclose(
        out.var(axis=-1), var / (var + LAYER_NORM_EPS), rtol=1e-12
    )
    np.testing.assert_allclose(out.var(axis=-1), 1.0, atol=1e-5)


def test_layernorm_gain_and_bias(rng):
    x = rng.normal(size=(5, 8))
    g = rng.normal(size=8)
    b = rng.normal(size=8)

    out, _ = layernorm_forward(x, g, b)

    xhat = (x - x.mean(axis=-1, keepdims=True)) / np.sqrt(
        x.var(axis=-1, keepdims=True) + LAYER_NORM_EPS
    )
    np.testing.assert_allclose(out, g * xhat + b, rtol=1e-12, atol=1e-12)


def test_layernorm_gradients(rng):
    x = rng.normal(size=(2, 3, 6))
    g = rng.normal(size=6)
    b = rng.normal(size=6)
    dout = rng.normal(size=(2, 3, 6))

    _, cache = layernorm_forward(x, g, b)
    dx, dg, db = layernorm_backward(dout, cache)
    errors = max_error_against_numerical(
        lambda: layernorm_forward(x, g, b),
        {"x": x, "g": g, "b": b},
        {"x": dx, "g": dg, "b": db},
        dout,
    )

    assert errors["x"] < TOL
    assert errors["g"] < TOL
    assert errors["b"] < TOL


# ----------------------------------------------------------------------------
# Linear
# ----------------------------------------------------------------------------


def test_linear_forward_values(rng):
    x = rng.normal(size=(2, 3, 4))
    w = rng.normal(size=(4, 5))
    b = rng.normal(size=5)

    out, _ = linear_forward(x, w, b)

    expected = np.einsum("btd,de->bte", x, w) + b
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


def test_linear_gradients(rng):
    x = rng.normal(size=(2, 3, 4))
    w = rng.normal(size=(4, 5))
    b = rng.normal(size=5)
    dout = rng.normal(size=(2, 3, 5))

    _, cache = linear_forward(x, w, b)
    dx, dw, db = linear_backward(dout, cache)
    errors = max_error_against_numerical(
        lambda: linear_forward(x, w, b),
        {"x": x, "w": w, "b": b},
        {"x": dx, "w": dw, "b": db},
        dout,
    )

    assert errors["x"] < TOL
    assert errors["w"] < TOL
    assert errors["b"] < TOL


# ----------------------------------------------------------------------------
# GELU
# ----------------------------------------------------------------------------


def test_gelu_hand_computed_values():
    x = np.array([-2.0, 0.0, 1.0])

    out, _ = gelu_forward(x)

    def gelu_tanh(v):
        inner = math.sqrt(2.0 / math.pi) * (v + 0.044715 * v**3)
        return 0.5 * v * (1.0 + math.tanh(inner))

    expected = [gelu_tanh(v) for v in x]
    np.testing.assert_allclose(out, expected, rtol=1e-14, atol=0.0)
    assert out[1] == 0.0


def test_gelu_close_to_exact_gelu(rng):
    x = np.linspace(-5.0, 5.0, 101)

    out, _ = gelu_forward(x)

    exact = 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))
    # The tanh approximation stays within about 5e-4 of the erf form.
    np.testing.assert_allclose(out, exact, atol=1e-3)


def test_gelu_gradients(rng):
    x = rng.normal(scale=2.0, size=(2, 3, 7))
    dout = rng.normal(size=(2, 3, 7))

    _, cache = gelu_forward(x)
    dx = gelu_backward(dout, cache)
    errors = max_error_against_numerical(
        lambda: gelu_forward(x), {"x": x}, {"x": dx}, dout
    )

    assert errors["x"] < TOL


# ----------------------------------------------------------------------------
# Softmax cross-entropy
# ----------------------------------------------------------------------------


def test_cross_entropy_matches_scipy(rng):
    logits = rng.normal(scale=3.0, size=(2, 4, 9))
    targets = rng.integers(0, 9, size=(2, 4))

    loss, _ = softmax_cross_entropy_forward(logits, targets)

    target_logits = np.take_along_axis(logits, targets[..., None], axis=-1)[..., 0]
    expected = np.mean(logsumexp(logits, axis=-1) - target_logits)
    assert loss == pytest.approx(expected, rel=1e-13)


def test_cross_entropy_gradients(rng):
    logits = rng.normal(scale=3.0, size=(2, 4, 9))
    targets = rng.integers(0, 9, size=(2, 4))
    dloss = 1.7

    _, cache = softmax_cross_entropy_forward(logits, targets)
    dlogits = softmax_cross_entropy_backward(dloss, cache)
    numerical = numerical_gradient(
        lambda _: dloss * softmax_cross_entropy_forward(logits, targets)[0], logits
    )

    assert dlogits.shape == logits.shape
    assert relative_error(dlogits, numerical).max() < TOL


def test_cross_entropy_large_logits():
    logits = np.array([[1e4, 1e4, 1e4 - 1.0], [0.0, -1e4, 1e4]])
    targets = np.array([0, 0])

    # Underflow of exp(-1e4) to 0 is expected and harmless, so it is not raised.
    with (
        np.errstate(over="raise", invalid="raise", divide="raise"),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("error")
        loss, cache = softmax_cross_entropy_forward(logits, targets)
        dlogits = softmax_cross_entropy_backward(1.0, cache)

    # Row 0: logsumexp = 1e4 + log(2 + e^-1), target logit 1e4.
    # Row 1: logsumexp = 1e4 up to e^-1e4, target logit 0.
    row0 = math.log(2.0 + math.exp(-1.0))
    row1 = 1e4
    assert np.isfinite(loss)
    assert loss == pytest.approx((row0 + row1) / 2, rel=1e-14)

    # dlogits = (softmax - onehot) / N with N = 2. Row 1 has softmax [0, 0, 1].
    z = 2.0 + math.exp(-1.0)
    row0_grad = [1.0 / z - 1.0, 1.0 / z, math.exp(-1.0) / z]
    row1_grad = [-1.0, 0.0, 1.0]
    expected = np.array([row0_grad, row1_grad]) / 2
    assert np.all(np.isfinite(dlogits))
    np.testing.assert_allclose(dlogits, expected, rtol=1e-13, atol=1e-300)


# ----------------------------------------------------------------------------
# Causal self-attention
# ----------------------------------------------------------------------------


def random_attention_params(rng, C, scale=0.3):
    """Draw non-zero attention weights.

    With scale 0.3 and unit-variance inputs the softmax rows are far from
    one-hot. At scale 0.5 the rounding noise of the central differences alone
    reaches relative errors near 7e-7 on small entries of dw_qkv.
    """
    return {
        "w_qkv": rng.normal(scale=scale, size=(C, 3 * C)),
        "b_qkv": rng.normal(scale=scale, size=3 * C),
        "w_proj": rng.normal(scale=scale, size=(C, C)),
        "b_proj": rng.normal(scale=scale, size=C),
    }


def attention_with_loops(x, w_qkv, b_qkv, w_proj, b_proj, n_heads):
    """Compute causal self-attention one batch row, head and position at a time."""
    B, T, C = x.shape
    D = C // n_heads
    qkv = x @ w_qkv + b_qkv
    y = np.zeros((B, T, C))
    for b in range(B):
        for h in range(n_heads):
            cols = slice(h * D, (h + 1) * D)
            q = qkv[b, :, 0 * C :][:, cols]
            k = qkv[b, :, 1 * C :][:, cols]
            v = qkv[b, :, 2 * C :][:, cols]
            for t in range(T):
                scores = np.array([q[t] @ k[s] / math.sqrt(D) for s in range(t + 1)])
                weights = np.exp(scores - scores.max())
                weights /= weights.sum()
                y[b, t, cols] = sum(weights[s] * v[s] for s in range(t + 1))
    return y @ w_proj + b_proj


def test_attention_matches_loop_reference(rng):
    x = rng.normal(size=(2, 5, 8))
    p = random_attention_params(rng, 8)

    out, _ = causal_self_attention_forward(x, **p, n_heads=2)

    expected = attention_with_loops(x, **p, n_heads=2)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


def test_attention_gradients(rng):
    x = rng.normal(size=(2, 5, 8))
    p = random_attention_params(rng, 8)
    dout = rng.normal(size=(2, 5, 8))

    _, cache = causal_self_attention_forward(x, **p, n_heads=2)
    dx, dw_qkv, db_qkv, dw_proj, db_proj = causal_self_attention_backward(dout, cache)
    errors = max_error_against_numerical(
        lambda: causal_self_attention_forward(x, **p, n_heads=2),
        {"x": x, **p},
        {
            "x": dx,
            "w_qkv": dw_qkv,
            "b_qkv": db_qkv,
            "w_proj": dw_proj,
            "b_proj": db_proj,
        },
        dout,
    )

    for name, error in errors.items():
        assert error < TOL, f"{name}: max relative error {error:.2e}"


def test_attention_key_bias_gradient_is_zero(rng):
    C = 8
    x = rng.normal(size=(2, 5, C))
    p = random_attention_params(rng, C)
    dout = rng.normal(size=(2, 5, C))

    _, cache = causal_self_attention_forward(x, **p, n_heads=2)
    _, _, db_qkv, _, _ = causal_self_attention_backward(dout, cache)

    # Shifting all keys by b shifts every score row by a constant.
    np.testing.assert_allclose(db_qkv[C : 2 * C], 0.0, atol=1e-12)
    assert np.abs(db_qkv[:C]).max() > 1e-3
    assert np.abs(db_qkv[2 * C :]).max() > 1e-3


def test_attention_is_causal(rng):
    x = rng.normal(size=(2, 6, 8))
    p = random_attention_params(rng, 8)
    out, _ = causal_self_attention_forward(x, **p, n_heads=2)

    for t in range(5):
        x_changed = x.copy()
        x_changed[:, t + 1 :] = rng.normal(size=(2, 5 - t, 8))
        out_changed, _ = causal_self_attention_forward(x_changed, **p, n_heads=2)

        np.testing.assert_array_equal(out_changed[:, : t + 1], out[:, : t + 1])
        assert np.abs(out_changed[:, t + 1 :] - out[:, t + 1 :]).min() > 0.0


def test_attention_single_position(rng):
    x = rng.normal(size=(3, 1, 8))
    p = random_attention_params(rng, 8)

    out, _ = causal_self_attention_forward(x, **p, n_heads=4)

    # With one position the softmax weight is 1, so the output is v projected.
    v = (x @ p["w_qkv"] + p["b_qkv"])[..., 16:]
    np.testing.assert_allclose(out, v @ p["w_proj"] + p["b_proj"], rtol=1e-12)
