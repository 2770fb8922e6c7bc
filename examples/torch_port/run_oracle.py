"""Run the golden case inputs through the PyTorch port; write the outputs file.

Usage::

    python examples/torch_port/run_oracle.py OUT.json [--golden DIR]
                                             [--wrong-history-index]
    python -m stablesgd_ref oracle check OUT.json

The script reads the golden JSON files with the ``json`` module alone and does
not import ``stablesgd_ref``, as a port in another language would. It writes
``{"format", "format_version", "producer", "cases": [{"name", "outputs"}]}``,
the schema of docs/ORACLE.md with the outputs filled in.

``--wrong-history-index`` runs the deliberately wrong StableSGD, whose literal
penalty reads ``history[-2]``; the checker must then fail the literal cases
from step 3 on.
"""

import argparse
import json
import sys
from pathlib import Path

import torch
import torch_model
import torch_optimizers

FORMAT_NAME = "stablesgd_ref-oracle"
FORMAT_VERSION = 1
DEFAULT_GOLDEN = Path(__file__).resolve().parents[2] / "stablesgd_ref/data/oracle"
DTYPES = {"float64": torch.float64, "int64": torch.int64}


# ----------------------------------------------------------------------------
# JSON values <-> tensors
# ----------------------------------------------------------------------------


def decode(value):
    """Turn every array object of a JSON value into a tensor."""
    if isinstance(value, dict) and set(value) == {"dtype", "shape", "data"}:
        data = torch.tensor(value["data"], dtype=DTYPES[value["dtype"]])
        return data.reshape(value["shape"])
    if isinstance(value, dict):
        return {key: decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [decode(item) for item in value]
    return value


def encode(value):
    """Turn every tensor of a value into an array object; floats stay floats."""
    if isinstance(value, torch.Tensor):
        value = value.detach()
        dtype = "int64" if value.dtype == torch.int64 else "float64"
        return {
            "dtype": dtype,
            "shape": list(value.shape),
            "data": value.flatten().tolist(),
        }
    if isinstance(value, dict):
        return {key: encode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [encode(item) for item in value]
    return value


# ----------------------------------------------------------------------------
# One runner per case kind
# ----------------------------------------------------------------------------


def make_optimizer(params, config, wrong_history_index):
    settings = {key: value for key, value in config.items() if key != "optimizer"}
    if config["optimizer"] == "StandardSGD":
        return torch_optimizers.StandardSGD(params, **settings)
    return torch_optimizers.StableSGD(
        params, **settings, wrong_history_index=wrong_history_index
    )


def run_optimizer(config, inputs, wrong_history_index=False):
    params = [p.clone() for p in inputs["params"]]
    optimizer = make_optimizer(params, config, wrong_history_index)
    records = []
    for grads in inputs["grads"]:
        for p, g in zip(params, grads):
            p.grad = g.clone()
        optimizer.step()
        records.append(
            {
                "params": [p.clone() for p in params],
                "velocities": torch_optimizers.velocities(optimizer, params),
                "energy": optimizer.energy_trace[-1],
            }
        )
    return records


def run_landscape(config, inputs, wrong_history_index=False):
    records = []
    for point, step in zip(inputs["points"], inputs["steps"]):
        p = point.clone().requires_grad_(True)
        loss = torch_model.landscape_loss(
            p, step, inputs["target"], inputs["local_min"]
        )
        (grad,) = torch.autograd.grad(loss, [p])
        records.append({"loss": float(loss.detach()), "grad": grad})
    return records


def run_model_grads(config, inputs, wrong_history_index=False):
    params = inputs["params"]
    loss, grads = torch_model.loss_and_grads(
        params, inputs["inputs"], inputs["targets"], config["n_heads"]
    )
    with torch.no_grad():
        logits = torch_model.forward(params, inputs["inputs"], config["n_heads"])
    grads = {name: grads[name] for name in config["param_names"]}
    return [{"loss": loss, "logits": logits, "grads": grads}]


def run_model_training(config, inputs, wrong_history_index=False):
    names = config["param_names"]
    params = {
        name: inputs["params"][name].clone().requires_grad_(True) for name in names
    }
    optimizer = make_optimizer(
        [params[name] for name in names], config["optimizer"], wrong_history_index
    )
    records = []
    for batch_inputs, batch_targets in zip(inputs["inputs"], inputs["targets"]):
        optimizer.zero_grad()
        logits = torch_model.forward(params, batch_inputs, config["n_heads"])
        loss = torch_model.softmax_cross_entropy(logits, batch_targets)
        loss.backward()
        optimizer.step()
        records.append(
            {
                "loss": float(loss.detach()),
                "energy": optimizer.energy_trace[-1],
                "params": {name: params[name].detach().clone() for name in names},
            }
        )
    return records


def run_layer(config, inputs, wrong_history_index=False):
    args = []
    for name in config["forward_args"]:
        value = inputs[name]
        if isinstance(value, torch.Tensor) and value.dtype == torch.float64:
            value = value.clone().requires_grad_(True)
        args.append(value)
    out = torch_model.LAYERS[config["layer"]](*args)
    # backward_outputs are the gradients of the float64 arguments, in order.
    float_args = [a for a in args if isinstance(a, torch.Tensor) and a.requires_grad]
    dout = torch.as_tensor(inputs["dout"], dtype=torch.float64)
    grads = torch.autograd.grad(out, float_args, grad_outputs=dout)
    out = out.detach()
    record = {"out": float(out) if out.dim() == 0 else out}
    record.update(zip(config["backward_outputs"], grads))
    return [record]


RUNNERS = {
    "optimizer": run_optimizer,
    "landscape": run_landscape,
    "model_grads": run_model_grads,
    "model_training": run_model_training,
    "layer": run_layer,
}


def run_all(golden_dir, wrong_history_index=False):
    """Run every golden case; return the outputs document as a dict."""
    cases = []
    for path in sorted(Path(golden_dir).glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("format_version") != FORMAT_VERSION:
            raise SystemExit(
                f"{path}: format_version {document.get('format_version')}"
                f" is not {FORMAT_VERSION}"
            )
        for case in document["cases"]:
            runner = RUNNERS[case["kind"]]
            outputs = runner(
                decode(case["config"]), decode(case["inputs"]), wrong_history_index
            )
            cases.append({"name": case["name"], "outputs": encode(outputs)})
    producer = "examples/torch_port (PyTorch autograd, float64)"
    if wrong_history_index:
        producer += ", deliberately wrong history index"
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "producer": producer,
        "cases": cases,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", metavar="OUT.json", help="outputs file to write")
    parser.add_argument(
        "--golden",
        default=DEFAULT_GOLDEN,
        metavar="DIR",
        help="folder of golden files (default: the repository's copy)",
    )
    parser.add_argument(
        "--wrong-history-index",
        action="store_true",
        help="use the deliberately wrong StableSGD (literal penalty from history[-2])",
    )
    args = parser.parse_args(argv)
    torch.set_default_dtype(torch.float64)
    document = run_all(args.golden, args.wrong_history_index)
    text = json.dumps(document, allow_nan=True)
    Path(args.out).write_text(text + "\n", encoding="utf-8")
    print(f"wrote {args.out}: {len(document['cases'])} cases")
    return 0


if __name__ == "__main__":
    sys.exit(main())
