"""The golden cases: their explicit inputs and the reference's outputs.

Inputs are drawn once from fixed NumPy generators and rounded to 4 decimals,
so they read like hand-picked values. The files store the values, never the
seeds. Every magnitude is kept away from 0 (``low`` below) so that a wrong
term cannot hide behind a zero weight or gradient.

Each case kind has a runner that computes the outputs from ``config`` and
``inputs`` alone. The golden files are written by those runners, and
:mod:`stablesgd_ref.oracle` reuses them to run a student's optimizer or layer
on the same inputs.
"""

import numpy as np

from stablesgd_ref.attention import (
    causal_self_attention_backward,
    causal_self_attention_forward,
)
from stablesgd_ref.landscape import Landscape
from stablesgd_ref.layers import (
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
from stablesgd_ref.model import MiniTransformer
from stablesgd_ref.optimizers import PENALTY_MODES, StableSGD, StandardSGD

OPTIMIZER_STEPS = 6
OPTIMIZER_SHAPES = [(3,), (2, 2)]
LR = 0.1
MOMENTUM = 0.9
TEMPORAL_STABILITY = 0.05
"""Large enough that each penalty mode moves the params by about 1e-3 to 1e-5."""

MODEL_CONFIG = {"vocab_size": 11, "seq_len": 5, "d_model": 8, "n_heads": 2, "d_ff": 12}
MODEL_BATCH = (3, 4)
"""Batch size and length; 4 < seq_len, so the last row of ``dwpe`` must be 0."""
TRAINING_STEPS = 4


def _values(rng, shape, low, high):
    """Draw magnitudes in [low, high] with random signs, rounded to 4 decimals."""
    magnitude = rng.uniform(low, high, size=shape)
    sign = rng.choice([-1.0, 1.0], size=shape)
    return np.round(sign * magnitude, 4)


def _on_off(flag):
    return "on" if flag else "off"


# ----------------------------------------------------------------------------
# Optimizers
# ----------------------------------------------------------------------------

OPTIMIZER_CLASSES = {"StableSGD": StableSGD, "StandardSGD": StandardSGD}


def optimizer_cases():
    """Return the optimizer cases: StandardSGD and every StableSGD option."""
    rng = np.random.default_rng(2024)
    inputs = {
        "params": [_values(rng, shape, 0.1, 1.0) for shape in OPTIMIZER_SHAPES],
        "grads": [
            [_values(rng, shape, 0.1, 2.0) for shape in OPTIMIZER_SHAPES]
            for _ in range(OPTIMIZER_STEPS)
        ],
    }
    configs = [
        ("optimizer/StandardSGD/momentum-0.9", {"lr": LR, "momentum": MOMENTUM}),
        ("optimizer/StandardSGD/momentum-0.5", {"lr": LR, "momentum": 0.5}),
    ]
    configs = [(name, {"optimizer": "StandardSGD", **c}) for name, c in configs]
    variants = [
        (mode, energy, lr_in_velocity, None)
        for mode in PENALTY_MODES
        for energy in (True, False)
        for lr_in_velocity in (True, False)
    ]
    # history_limit=2 must give the same outputs as the matching None case.
    variants += [(mode, True, False, 2) for mode in PENALTY_MODES]
    for mode, energy, lr_in_velocity, history_limit in variants:
        name = (
            f"optimizer/StableSGD/{mode}/energy-{_on_off(energy)}"
            f"/lr-in-velocity-{_on_off(lr_in_velocity)}"
        )
        if history_limit is not None:
            name += f"/history-limit-{history_limit}"
        config = {
            "optimizer": "StableSGD",
            "lr": LR,
            "momentum": MOMENTUM,
            "temporal_stability": TEMPORAL_STABILITY,
            "energy_conservation": energy,
            "penalty_mode": mode,
            "lr_in_velocity": lr_in_velocity,
            "history_limit": history_limit,
        }
        configs.append((name, config))
    return [_case(name, "optimizer", config, inputs) for name, config in configs]


def run_optimizer_case(config, inputs, optimizer_class=None):
    """Run an optimizer over the case's gradients; return one record per step.

    ``optimizer_class`` defaults to the reference class named by
    ``config["optimizer"]``. Any class with the same constructor keywords,
    ``step(grads)``, ``velocities`` and ``energy_trace`` works.
    """
    if optimizer_class is None:
        optimizer_class = OPTIMIZER_CLASSES[config["optimizer"]]
    params = [np.array(param, dtype=np.float64) for param in inputs["params"]]
    settings = {key: value for key, value in config.items() if key != "optimizer"}
    optimizer = optimizer_class(params, **settings)
    records = []
    for step, grads in enumerate(inputs["grads"], start=1):
        optimizer.step([np.array(grad, dtype=np.float64) for grad in grads])
        if len(optimizer.energy_trace) != step:
            raise ValueError(
                f"energy_trace has {len(optimizer.energy_trace)} entries after "
                f"step {step}; step() must append exactly one float per call"
            )
        records.append(
            {
                "params": [param.copy() for param in params],
                "velocities": [
                    np.array(v, dtype=np.float64) for v in optimizer.velocities
                ],
                "energy": float(optimizer.energy_trace[-1]),
            }
        )
    return records


# ----------------------------------------------------------------------------
# Landscape
# ----------------------------------------------------------------------------


def landscape_cases():
    """Return noiseless landscape cases: losses and gradients at fixed points."""
    rng = np.random.default_rng(7)
    cases = []
    # Steps 0, 157 and 471 put sin(step * 0.01) at 0, near 1 and near -1.
    for dim, steps in ((5, [0, 1, 157, 471, 1000]), (2, [0, 300])):
        inputs = {
            "target": _values(rng, (dim,), 0.1, 1.5),
            "local_min": _values(rng, (dim,), 0.1, 1.5),
            "points": [_values(rng, (dim,), 0.1, 2.0) for _ in steps],
            "steps": steps,
        }
        cases.append(_case(f"landscape/dim-{dim}", "landscape", {"dim": dim}, inputs))
    return cases


def run_landscape_case(config, inputs):
    """Evaluate the noiseless loss and gradient; return one record per point."""
    landscape = Landscape(dim=config["dim"], noise_level=0.0, seed=0)
    landscape.target = np.array(inputs["target"], dtype=np.float64)
    landscape.local_min = np.array(inputs["local_min"], dtype=np.float64)
    records = []
    for point, step in zip(inputs["points"], inputs["steps"]):
        records.append(
            {
                "loss": landscape.loss(point, step),
                "grad": landscape.grad(point, step),
            }
        )
    return records


# ----------------------------------------------------------------------------
# Mini transformer
# ----------------------------------------------------------------------------


def _model_params(rng, names_and_shapes):
    """Draw explicit non-zero weights; layer-norm gains near 1, biases near 0."""
    params = {}
    for name, shape in names_and_shapes:
        if name.endswith(".g"):
            params[name] = np.round(rng.uniform(0.7, 1.3, size=shape), 4)
        elif name.endswith(".b") or name.split(".")[-1].startswith("b_"):
            params[name] = _values(rng, shape, 0.02, 0.3)
        else:
            params[name] = _values(rng, shape, 0.05, 0.6)
    return params


def model_cases():
    """Return the model's gradient case and one training case per optimizer."""
    rng = np.random.default_rng(11)
    template = MiniTransformer(**MODEL_CONFIG, seed=0)
    names_and_shapes = [(name, p.shape) for name, p in template.params.items()]
    config = {**MODEL_CONFIG, "param_names": [name for name, _ in names_and_shapes]}
    vocab_size = MODEL_CONFIG["vocab_size"]

    params = _model_params(rng, names_and_shapes)
    tokens = rng.integers(0, vocab_size, size=(MODEL_BATCH[0], MODEL_BATCH[1] + 1))
    grads_inputs = {
        "params": params,
        "inputs": tokens[:, :-1],
        "targets": tokens[:, 1:],
    }
    cases = [_case("model/grads", "model_grads", config, grads_inputs)]

    batches = rng.integers(
        0, vocab_size, size=(TRAINING_STEPS, MODEL_BATCH[0], MODEL_BATCH[1] + 1)
    )
    training_inputs = {
        "params": params,
        "inputs": batches[:, :, :-1],
        "targets": batches[:, :, 1:],
    }
    stable = {
        "optimizer": "StableSGD",
        "lr": LR,
        "momentum": MOMENTUM,
        "temporal_stability": TEMPORAL_STABILITY,
        "energy_conservation": True,
    }
    literal = {"penalty_mode": "literal", "lr_in_velocity": True}
    signed = {"penalty_mode": "signed", "lr_in_velocity": False}
    optimizers = [
        ("StandardSGD", {"optimizer": "StandardSGD", "lr": LR, "momentum": MOMENTUM}),
        (
            "StableSGD/literal/lr-in-velocity-on",
            {**stable, **literal, "history_limit": None},
        ),
        (
            "StableSGD/signed/lr-in-velocity-off",
            {**stable, **signed, "history_limit": None},
        ),
    ]
    for name, optimizer in optimizers:
        cases.append(
            _case(
                f"model/train/{name}",
                "model_training",
                {**config, "optimizer": optimizer},
                training_inputs,
            )
        )
    return cases


def _build_model(config, inputs):
    """Return a MiniTransformer of the case's size with the case's weights."""
    sizes = {key: config[key] for key in MODEL_CONFIG}
    model = MiniTransformer(**sizes, seed=0)
    for name in config["param_names"]:
        model.params[name][...] = inputs["params"][name]
    return model


def run_model_grads_case(config, inputs):
    """Return the single record: loss, logits and every parameter gradient."""
    model = _build_model(config, inputs)
    loss, grads = model.loss_and_grads(inputs["inputs"], inputs["targets"])
    logits = model.forward(inputs["inputs"])
    return [{"loss": loss, "logits": logits, "grads": grads}]


def run_model_training_case(config, inputs):
    """Train for one step per batch; return the loss, energy and params per step.

    ``loss`` is the loss of the batch before the step's update.
    """
    model = _build_model(config, inputs)
    optimizer_config = config["optimizer"]
    optimizer_class = OPTIMIZER_CLASSES[optimizer_config["optimizer"]]
    settings = {k: v for k, v in optimizer_config.items() if k != "optimizer"}
    names = config["param_names"]
    optimizer = optimizer_class([model.params[name] for name in names], **settings)
    records = []
    for batch_inputs, batch_targets in zip(inputs["inputs"], inputs["targets"]):
        loss, grads = model.loss_and_grads(batch_inputs, batch_targets)
        optimizer.step([grads[name] for name in names])
        records.append(
            {
                "loss": loss,
                "energy": optimizer.energy_trace[-1],
                "params": {name: model.params[name].copy() for name in names},
            }
        )
    return records


# ----------------------------------------------------------------------------
# Layers
# ----------------------------------------------------------------------------

LAYERS = {
    "embedding": (embedding_forward, embedding_backward),
    "layernorm": (layernorm_forward, layernorm_backward),
    "linear": (linear_forward, linear_backward),
    "gelu": (gelu_forward, gelu_backward),
    "softmax_cross_entropy": (
        softmax_cross_entropy_forward,
        softmax_cross_entropy_backward,
    ),
    "causal_self_attention": (
        causal_self_attention_forward,
        causal_self_attention_backward,
    ),
}


def layer_cases():
    """Return one forward/backward case per layer of layers.py and attention.py."""
    rng = np.random.default_rng(5)
    B, T = 2, 3
    specs = [
        (
            "embedding",
            {
                # Token 1 occurs three times, so dwte must accumulate; T = 3 < 5
                # rows of wpe, so the last two rows of dwpe must be 0.
                "idx": np.array([[1, 4, 1], [0, 1, 3]]),
                "wte": _values(rng, (6, 4), 0.05, 1.0),
                "wpe": _values(rng, (5, 4), 0.05, 1.0),
                "dout": _values(rng, (B, T, 4), 0.1, 1.0),
            },
            ["idx", "wte", "wpe"],
            ["dwte", "dwpe"],
        ),
        (
            "layernorm",
            {
                "x": _values(rng, (B, T, 5), 0.1, 2.0),
                "g": np.round(rng.uniform(0.5, 1.5, size=5), 4),
                "b": _values(rng, (5,), 0.05, 0.5),
                "dout": _values(rng, (B, T, 5), 0.1, 1.0),
            },
            ["x", "g", "b"],
            ["dx", "dg", "db"],
        ),
        (
            "linear",
            {
                "x": _values(rng, (B, T, 4), 0.1, 1.0),
                "w": _values(rng, (4, 5), 0.1, 1.0),
                "b": _values(rng, (5,), 0.05, 0.5),
                "dout": _values(rng, (B, T, 5), 0.1, 1.0),
            },
            ["x", "w", "b"],
            ["dx", "dw", "db"],
        ),
        (
            "gelu",
            {
                "x": _values(rng, (B, T, 4), 0.1, 3.0),
                "dout": _values(rng, (B, T, 4), 0.1, 1.0),
            },
            ["x"],
            ["dx"],
        ),
        (
            "softmax_cross_entropy",
            {
                "logits": _values(rng, (B, T, 6), 0.1, 3.0),
                "targets": rng.integers(0, 6, size=(B, T)),
                # The upstream gradient of the scalar loss; not 1, so that a
                # backward pass that ignores it fails.
                "dout": 0.75,
            },
            ["logits", "targets"],
            ["dlogits"],
        ),
        (
            "causal_self_attention",
            {
                "x": _values(rng, (B, 4, 6), 0.1, 1.5),
                "w_qkv": _values(rng, (6, 18), 0.1, 1.0),
                "b_qkv": _values(rng, (18,), 0.05, 0.5),
                "w_proj": _values(rng, (6, 6), 0.1, 1.0),
                "b_proj": _values(rng, (6,), 0.05, 0.5),
                "n_heads": 2,
                "dout": _values(rng, (B, 4, 6), 0.1, 1.0),
            },
            ["x", "w_qkv", "b_qkv", "w_proj", "b_proj", "n_heads"],
            ["dx", "dw_qkv", "db_qkv", "dw_proj", "db_proj"],
        ),
    ]
    cases = []
    for layer, inputs, forward_args, backward_outputs in specs:
        config = {
            "layer": layer,
            "forward_args": forward_args,
            "backward_outputs": backward_outputs,
        }
        cases.append(_case(f"layer/{layer}", "layer", config, inputs))
    return cases


def run_layer_case(config, inputs, forward_fn=None, backward_fn=None):
    """Run a layer's forward and backward pass; return the single record.

    ``forward_fn(*args)`` must return ``(out, cache)`` and
    ``backward_fn(dout, cache)`` the gradients named in
    ``config["backward_outputs"]``, in that order, as a tuple or list (one
    array alone is allowed for a single gradient). Both default to the
    reference layer.
    """
    reference_forward, reference_backward = LAYERS[config["layer"]]
    forward_fn = forward_fn or reference_forward
    backward_fn = backward_fn or reference_backward
    args = [_fresh(inputs[name]) for name in config["forward_args"]]
    out, cache = forward_fn(*args)
    grads = backward_fn(_fresh(inputs["dout"]), cache)
    grads = tuple(grads) if isinstance(grads, (tuple, list)) else (grads,)
    names = config["backward_outputs"]
    if len(grads) != len(names):
        raise ValueError(
            f"backward returned {len(grads)} values, expected {len(names)}: "
            f"{', '.join(names)}"
        )
    record = {"out": _output(out)}
    record.update({name: _output(grad) for name, grad in zip(names, grads)})
    return [record]


def _fresh(value):
    """Return a copy of an input, so that a layer cannot change the case."""
    return value.copy() if isinstance(value, np.ndarray) else value


def _output(value):
    """Return a layer output as float64: a float for a scalar, else an array."""
    array = np.asarray(value, dtype=np.float64)
    return float(array) if array.ndim == 0 else array


# ----------------------------------------------------------------------------
# All groups
# ----------------------------------------------------------------------------

RUNNERS = {
    "optimizer": run_optimizer_case,
    "landscape": run_landscape_case,
    "model_grads": run_model_grads_case,
    "model_training": run_model_training_case,
    "layer": run_layer_case,
}

GROUPS = {
    "optimizers": optimizer_cases,
    "landscape": landscape_cases,
    "model": model_cases,
    "layers": layer_cases,
}
"""Golden file name (without ``.json``) to the function that builds its cases."""


def run_case(case):
    """Return the reference outputs of a case from its kind, config and inputs."""
    return RUNNERS[case["kind"]](case["config"], case["inputs"])


def _case(name, kind, config, inputs):
    case = {"name": name, "kind": kind, "config": config, "inputs": inputs}
    case["outputs"] = run_case(case)
    return case
