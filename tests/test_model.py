"""Tests of MiniTransformer: parameters, gradients, causality and input checks."""

import numpy as np
import pytest
from scipy.special import logsumexp

from stablesgd_ref.gradcheck import check_gradients, format_gradient_report
from stablesgd_ref.model import MiniTransformer

SMALL = {"vocab_size": 11, "seq_len": 5, "d_model": 8, "n_heads": 2, "d_ff": 12}

PARAM_NAMES = [
    "wte",
    "wpe",
    "ln_1.g",
    "ln_1.b",
    "attn.w_qkv",
    "attn.b_qkv",
    "attn.w_proj",
    "attn.b_proj",
    "ln_2.g",
    "ln_2.b",
    "mlp.w_fc",
    "mlp.b_fc",
    "mlp.w_proj",
    "mlp.b_proj",
    "ln_f.g",
    "ln_f.b",
    "lm_head.w",
    "lm_head.b",
]


def randomize_params(model, rng, scale=0.5):
    """Overwrite every parameter in place with non-zero random values.

    Layer-norm gains become ``1 + N(0, scale)`` and everything else
    ``N(0, scale)``, so no gradient can hide behind a zero or a unit weight.
    """
    for name, p in model.params.items():
        p[...] = rng.normal(scale=scale, size=p.shape)
        if name.endswith(".g"):
            p += 1.0


def random_tokens(rng, vocab_size, shape):
    return rng.integers(0, vocab_size, size=shape)


# ----------------------------------------------------------------------------
# Parameters and initialization
# ----------------------------------------------------------------------------


def test_default_param_names_and_shapes():
    model = MiniTransformer()

    expected_shapes = {
        "wte": (100, 32),
        "wpe": (20, 32),
        "ln_1.g": (32,),
        "ln_1.b": (32,),
        "attn.w_qkv": (32, 96),
        "attn.b_qkv": (96,),
        "attn.w_proj": (32, 32),
        "attn.b_proj": (32,),
        "ln_2.g": (32,),
        "ln_2.b": (32,),
        "mlp.w_fc": (32, 128),
        "mlp.b_fc": (128,),
        "mlp.w_proj": (128, 32),
        "mlp.b_proj": (32,),
        "ln_f.g": (32,),
        "ln_f.b": (32,),
        "lm_head.w": (32, 100),
        "lm_head.b": (100,),
    }
    assert list(model.params) == PARAM_NAMES
    for name, shape in expected_shapes.items():
        assert model.params[name].shape == shape, name
        assert model.params[name].dtype == np.float64, name
    # 3200 + 640 + 3 * 64 + 3168 + 1056 + 4224 + 4128 + 3300
    assert model.num_params() == 19908


def test_init_values():
    model = MiniTransformer()

    for name, p in model.params.items():
        if name.endswith(".g"):
            np.testing.assert_array_equal(p, 1.0)
        elif name.endswith(".b") or ".b_" in name:
            np.testing.assert_array_equal(p, 0.0)
        else:
            # Sample std of >= 640 draws from N(0, 0.02**2) is within 15%.
            assert abs(p.std() - 0.02) < 0.003, name
            assert abs(p.mean()) < 0.003, name


def test_init_is_deterministic_for_seed():
    first = MiniTransformer(seed=7)
    second = MiniTransformer(seed=7)
    other = MiniTransformer(seed=8)

    for name in PARAM_NAMES:
        np.testing.assert_array_equal(first.params[name], second.params[name])
    assert not np.array_equal(first.params["wte"], other.params["wte"])


def test_initial_loss_near_log_vocab():
    model = MiniTransformer()
    rng = np.random.default_rng(0)
    inputs = random_tokens(rng, 100, (4, 20))
    targets = random_tokens(rng, 100, (4, 20))

    loss = model.loss(inputs, targets)

    assert abs(loss - np.log(100)) < 0.1


# ----------------------------------------------------------------------------
# Forward pass and loss
# ----------------------------------------------------------------------------


def test_forward_shape_and_loss_agree():
    model = MiniTransformer(**SMALL, seed=3)
    rng = np.random.default_rng(3)
    randomize_params(model, rng)
    inputs = random_tokens(rng, 11, (3, 4))
    targets = random_tokens(rng, 11, (3, 4))

    logits = model.forward(inputs)
    loss = model.loss(inputs, targets)
    loss_again, _ = model.loss_and_grads(inputs, targets)

    assert logits.shape == (3, 4, 11)
    target_logits = np.take_along_axis(logits, targets[..., None], axis=-1)[..., 0]
    expected = np.mean(logsumexp(logits, axis=-1) - target_logits)
    assert loss == pytest.approx(expected, rel=1e-13)
    assert loss_again == loss


def test_logits_are_causal():
    model = MiniTransformer(**SMALL, seed=4)
    rng = np.random.default_rng(4)
    randomize_params(model, rng)
    inputs = random_tokens(rng, 11, (2, 5))
    logits = model.forward(inputs)

    for t in range(4):
        changed = inputs.copy()
        changed[:, t + 1 :] = (inputs[:, t + 1 :] + 1 + t) % 11
        logits_changed = model.forward(changed)

        np.testing.assert_array_equal(logits_changed[:, : t + 1], logits[:, : t + 1])
        assert not np.allclose(logits_changed[:, t + 1 :], logits[:, t + 1 :])


def test_prefix_loss_matches_full_logits():
    model = MiniTransformer(**SMALL, seed=5)
    rng = np.random.default_rng(5)
    randomize_params(model, rng)
    inputs = random_tokens(rng, 11, (2, 5))
    targets = random_tokens(rng, 11, (2, 5))
    logits = model.forward(inputs)

    for T in range(1, 6):
        prefix_loss = model.loss(inputs[:, :T], targets[:, :T])
        target_logits = np.take_along_axis(
            logits[:, :T], targets[:, :T, None], axis=-1
        )[..., 0]
        expected = np.mean(logsumexp(logits[:, :T], axis=-1) - target_logits)
        assert prefix_loss == pytest.approx(expected, rel=1e-12), T


# ----------------------------------------------------------------------------
# Gradients
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("seed, T", [(0, 5), (1, 3), (2, 1)])
def test_model_gradients(seed, T):
    model = MiniTransformer(**SMALL, seed=seed)
    rng = np.random.default_rng(100 + seed)
    randomize_params(model, rng)
    inputs = random_tokens(rng, 11, (2, T))
    targets = random_tokens(rng, 11, (2, T))

    _, grads = model.loss_and_grads(inputs, targets)
    errors = check_gradients(lambda: model.loss(inputs, targets), model.params, grads)

    report = format_gradient_report(errors, model.params)
    for name in PARAM_NAMES:
        assert errors[name] < 1e-6, report


def test_grads_match_params_layout():
    model = MiniTransformer(**SMALL)
    rng = np.random.default_rng(6)
    inputs = random_tokens(rng, 11, (2, 3))

    _, grads = model.loss_and_grads(inputs, inputs)

    assert list(grads) == list(model.params)
    for name, p in model.params.items():
        assert grads[name].shape == p.shape, name
        assert grads[name].dtype == np.float64, name
        assert not np.shares_memory(grads[name], p), name
    # Positions T..seq_len-1 are not used, so their rows get no gradient.
    np.testing.assert_array_equal(grads["wpe"][3:], 0.0)


def test_in_place_update_is_seen_by_loss():
    model = MiniTransformer(**SMALL, seed=9)
    rng = np.random.default_rng(9)
    randomize_params(model, rng, scale=0.3)
    inputs = random_tokens(rng, 11, (4, 5))
    targets = random_tokens(rng, 11, (4, 5))
    loss_before, grads = model.loss_and_grads(inputs, targets)

    # Update the arrays the way the optimizers do: in place, through the list.
    lr = 1e-3
    for p, g in zip(list(model.params.values()), grads.values()):
        p -= lr * g
    loss_after = model.loss(inputs, targets)

    # First-order prediction of the change: -lr * |grad|^2.
    squared_norm = sum(np.sum(g * g) for g in grads.values())
    assert loss_after < loss_before
    assert loss_after - loss_before == pytest.approx(-lr * squared_norm, rel=1e-2)


def test_loss_does_not_modify_params():
    model = MiniTransformer(**SMALL)
    before = {name: p.copy() for name, p in model.params.items()}
    inputs = np.array([[1, 2, 3]])

    model.loss_and_grads(inputs, inputs)

    for name, p in model.params.items():
        np.testing.assert_array_equal(p, before[name])


# ----------------------------------------------------------------------------
# Bad input
# ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "inputs, error, match",
    [
        (np.array([[1, 2, 11]]), ValueError, "token id 11"),
        (np.array([[1, -1, 2]]), ValueError, "token id -1"),
        (np.array([[1.0, 2.0, 3.0]]), TypeError, "float64"),
        (np.array([[True, False]]), TypeError, "bool"),
        (np.array([1, 2, 3]), ValueError, r"shape \(3,\)"),
        (np.zeros((1, 2, 3), dtype=int), ValueError, r"shape \(1, 2, 3\)"),
        (np.zeros((1, 6), dtype=int), ValueError, "T=6"),
        (np.zeros((1, 0), dtype=int), ValueError, "T=0"),
        (np.zeros((0, 3), dtype=int), ValueError, "batch 0"),
    ],
)
def test_bad_inputs_rejected(inputs, error, match):
    model = MiniTransformer(**SMALL)

    with pytest.raises(error, match=match):
        model.forward(inputs)
    with pytest.raises(error, match=match):
        model.loss(inputs, inputs)
    with pytest.raises(error, match=match):
        model.loss_and_grads(inputs, inputs)


@pytest.mark.parametrize(
    "targets, error, match",
    [
        (np.array([[1, 2]]), ValueError, r"shape of inputs \(1, 3\), got \(1, 2\)"),
        (np.array([[1, 2, 3], [1, 2, 3]]), ValueError, r"got \(2, 3\)"),
        (np.array([[1, 2, 99]]), ValueError, "token id 99"),
        (np.array([[1.5, 2.0, 3.0]]), TypeError, "targets must be an integer"),
    ],
)
def test_bad_targets_rejected(targets, error, match):
    model = MiniTransformer(**SMALL)
    inputs = np.array([[1, 2, 3]])

    with pytest.raises(error, match=match):
        model.loss(inputs, targets)
    with pytest.raises(error, match=match):
        model.loss_and_grads(inputs, targets)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"vocab_size": 0}, ValueError, "vocab_size .* got 0"),
        ({"seq_len": -3}, ValueError, "seq_len .* got -3"),
        ({"d_model": 8.0}, TypeError, "d_model .* got 8.0"),
        ({"n_heads": True}, TypeError, "n_heads .* got True"),
        ({"d_ff": "12"}, TypeError, "d_ff .* got '12'"),
        ({"d_model": 10, "n_heads": 4}, ValueError, "d_model=10 .* n_heads=4"),
        ({"seed": -1}, ValueError, "seed .* got -1"),
        ({"seed": 1.5}, TypeError, "seed .* got 1.5"),
        ({"init_std": 0.0}, ValueError, "init_std .* got 0.0"),
    ],
)
def test_bad_config_rejected(kwargs, error, match):
    with pytest.raises(error, match=match):
        MiniTransformer(**{**SMALL, **kwargs})


def test_numpy_integer_sizes_accepted():
    model = MiniTransformer(
        vocab_size=np.int64(11), seq_len=np.int32(5), d_model=8, n_heads=2, d_ff=12
    )

    assert model.vocab_size == 11
    assert model.forward(np.array([[1, 2]], dtype=np.uint8)).shape == (1, 2, 11)
