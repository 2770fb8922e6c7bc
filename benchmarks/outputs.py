"""Capture the package's numerical outputs and compare two captures bit for bit.

A speed-only change must leave every output bit-identical. Capture the outputs
before the change, capture them again after it, and compare::

    python benchmarks/outputs.py capture before.pkl
    # ... edit the code ...
    python benchmarks/outputs.py capture after.pkl
    python benchmarks/outputs.py compare before.pkl after.pkl

``compare`` prints every output that differs and exits with status 1 if any
does. Two captures of the same code are identical, because every input comes
from a seeded generator. The capture covers:

- six-step optimizer trajectories for StandardSGD and for every StableSGD
  option combination and history limit, on the mini transformer with its real
  gradients;
- the model's logits, loss and gradients at four batch shapes;
- each layer's forward and backward pass;
- the landscape's losses, gradients and Hessian;
- ``exp1.run_pair`` and ``exp2.run_pair`` records without their wall-clock
  timings.

A capture takes about 10 s, most of it in the Experiment 1 pair.
"""

import itertools
import math
import os
import pickle
import sys

for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

import numpy as np

from stablesgd_ref import exp1, exp2, layers
from stablesgd_ref.landscape import Landscape
from stablesgd_ref.model import MiniTransformer
from stablesgd_ref.optimizers import StableSGD, StandardSGD

TIMING_KEYS = {"seconds_per_step", "train_seconds", "overhead"}


def optimizer_outputs():
    """Return six-step trajectories of every optimizer configuration."""
    tokens = np.random.default_rng(0).integers(0, 100, size=(4, 21))
    configs = [("StandardSGD", {})]
    for mode, energy, lr_in, limit in itertools.product(
        ("literal", "previous_step", "signed"),
        (True, False),
        (True, False),
        (None, 2, 3),
    ):
        options = {
            "penalty_mode": mode,
            "energy_conservation": energy,
            "lr_in_velocity": lr_in,
            "history_limit": limit,
        }
        configs.append(("StableSGD", options))
    outputs = {}
    for name, options in configs:
        model = MiniTransformer(seed=1)
        params = list(model.params.values())
        if name == "StandardSGD":
            optimizer = StandardSGD(params, 0.05, 0.9)
        else:
            optimizer = StableSGD(params, 0.05, 0.9, 0.02, **options)
        losses = []
        for _ in range(6):
            loss, grads = model.loss_and_grads(tokens[:, :-1], tokens[:, 1:])
            losses.append(loss)
            optimizer.step(list(grads.values()))
        outputs[f"{name} {sorted(options.items())}"] = {
            "params": [param.copy() for param in params],
            "velocities": [velocity.copy() for velocity in optimizer.velocities],
            "energy_trace": list(optimizer.energy_trace),
            "losses": losses,
            "history_bytes": optimizer.history_bytes(),
            "energy_history": list(getattr(optimizer, "energy_history", [])),
            "param_history": [list(h) for h in getattr(optimizer, "param_history", [])],
        }
    return outputs


def model_outputs():
    """Return logits, loss and gradients of the model at four batch shapes."""
    outputs = {}
    for batch, length in ((4, 20), (1, 5), (32, 20), (3, 7)):
        model = MiniTransformer(seed=3)
        tokens = np.random.default_rng(batch).integers(0, 100, size=(batch, length + 1))
        inputs, targets = tokens[:, :-1], tokens[:, 1:]
        outputs[(batch, length)] = (
            model.forward(inputs),
            model.loss_and_grads(inputs, targets),
        )
    return outputs


def layer_outputs():
    """Return each layer's forward output and backward gradients."""
    rng = np.random.default_rng(9)
    x = rng.normal(size=(3, 5, 8))
    dout = rng.normal(size=(3, 5, 8))
    outputs = {}
    out, cache = layers.gelu_forward(x)
    outputs["gelu"] = (out, layers.gelu_backward(dout, cache))
    out, cache = layers.layernorm_forward(x, np.arange(8.0) + 1, np.ones(8))
    outputs["layernorm"] = (out, layers.layernorm_backward(dout, cache))
    out, cache = layers.linear_forward(x, rng.normal(size=(8, 6)), rng.normal(size=6))
    outputs["linear"] = (out, layers.linear_backward(rng.normal(size=(3, 5, 6)), cache))
    targets = rng.integers(0, 8, size=(3, 5))
    loss, cache = layers.softmax_cross_entropy_forward(x, targets)
    outputs["cross_entropy"] = (loss, layers.softmax_cross_entropy_backward(0.7, cache))
    idx = np.array([[1, 1, 2], [0, 4, 1]])
    out, cache = layers.embedding_forward(idx, x[0], x[1])
    outputs["embedding"] = (out, layers.embedding_backward(dout[:2, :3], cache))
    return outputs


def landscape_outputs():
    """Return the landscape's losses, gradients and Hessian at one point."""
    landscape = Landscape(50, 0.4, 7)
    point = landscape.initial_params(3)
    rng = np.random.default_rng(5)
    return [
        landscape.loss(point, 3, rng),
        landscape.loss(point, 3),
        landscape.grad(point, 3, rng),
        landscape.grad(point, 4),
        landscape.hessian(point, 5),
        landscape.loss_terms(point, 9),
    ]


def experiment_outputs():
    """Return Experiment 1 and 2 pair records without wall-clock timings."""

    def without_timing(pair):
        return {
            name: {
                key: value for key, value in record.items() if key not in TIMING_KEYS
            }
            for name, record in pair.items()
        }

    return {
        "exp2": [without_timing(exp2.run_pair({}, seed)) for seed in (42, 43)],
        "exp2 signed, limit 2": without_timing(
            exp2.run_pair({"history_limit": 2, "penalty_mode": "signed"}, 44)
        ),
        "exp1": without_timing(exp1.run_pair({}, 42)),
        "exp1 previous_step, limit 2": without_timing(
            exp1.run_pair(
                {"epochs": 3, "penalty_mode": "previous_step", "history_limit": 2}, 43
            )
        ),
        "exp1 pydoc": without_timing(
            exp1.run_pair({"corpus": "pydoc", "epochs": 1, "reference_steps": 5}, 42)
        ),
    }


def capture():
    """Return every output as one nested dict."""
    return {
        "optimizers": optimizer_outputs(),
        "model": model_outputs(),
        "layers": layer_outputs(),
        "landscape": landscape_outputs(),
        "experiments": experiment_outputs(),
    }


def differences(a, b, path=""):
    """Return the paths at which ``a`` and ``b`` differ in type, shape or any bit."""
    if isinstance(a, dict):
        if not isinstance(b, dict) or set(a) != set(b):
            return [f"{path}: keys differ"]
        return [d for key in a for d in differences(a[key], b[key], f"{path}/{key}")]
    if isinstance(a, (list, tuple)):
        if type(a) is not type(b) or len(a) != len(b):
            return [f"{path}: length differs"]
        return [
            d
            for i, (x, y) in enumerate(zip(a, b))
            for d in differences(x, y, f"{path}[{i}]")
        ]
    if isinstance(a, np.ndarray):
        same = (
            isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and a.shape == b.shape
            and np.array_equal(a, b, equal_nan=True)
        )
        return [] if same else [f"{path}: array differs"]
    if (
        isinstance(a, float)
        and isinstance(b, float)
        and math.isnan(a)
        and math.isnan(b)
    ):
        return []
    if type(a) is not type(b) or a != b:
        return [f"{path}: {a!r} != {b!r}"]
    return []


def main(argv):
    if len(argv) == 2 and argv[0] == "capture":
        with open(argv[1], "wb") as file:
            pickle.dump(capture(), file)
        print(f"wrote {argv[1]}")
        return 0
    if len(argv) == 3 and argv[0] == "compare":
        with open(argv[1], "rb") as file_a, open(argv[2], "rb") as file_b:
            found = differences(pickle.load(file_a), pickle.load(file_b))
        for line in found:
            print(line)
        print(f"{len(found)} differences")
        return 1 if found else 0
    print("usage: outputs.py capture FILE | outputs.py compare FILE_A FILE_B")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
