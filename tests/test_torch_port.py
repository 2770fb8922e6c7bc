"""Tests of the PyTorch port in examples/torch_port against the golden cases.

The port computes every gradient with autograd, so it is an independent oracle
for the hand-written backward passes: in float64 the two agree to a relative
error of about 1e-15, and the tests require 1e-10.
"""

import io
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip(
    "torch", reason="PyTorch is not installed; these tests check the optional port"
)

from stablesgd_ref import oracle
from stablesgd_ref.model import MiniTransformer

PORT_DIR = Path(__file__).resolve().parents[1] / "examples" / "torch_port"
GOLDEN_DIR = oracle.packaged_golden_dir()
LITERAL_CASE = "optimizer/StableSGD/literal/energy-off/lr-in-velocity-off"


@pytest.fixture(scope="module")
def port():
    """Import the port's modules from examples/torch_port."""
    sys.path.insert(0, str(PORT_DIR))
    try:
        import run_oracle
        import torch_model

        yield run_oracle, torch_model
    finally:
        sys.path.remove(str(PORT_DIR))


def check_port(port, tmp_path, wrong_history_index):
    run_oracle, _ = port
    argv = [str(tmp_path / "port.json"), "--golden", str(GOLDEN_DIR)]
    if wrong_history_index:
        argv.append("--wrong-history-index")
    assert run_oracle.main(argv) == 0
    report = io.StringIO()
    status = oracle.check_files(tmp_path / "port.json", file=report)
    return status, report.getvalue()


def max_relative_error(autograd, manual):
    """Return max |autograd - manual| / max |manual| over one tensor."""
    return np.abs(autograd - manual).max() / np.abs(manual).max()


def test_port_passes_every_golden_case(port, tmp_path):
    status, report = check_port(port, tmp_path, wrong_history_index=False)
    assert status == 0, report
    assert "verdict: PASS, all 29 cases within tolerance" in report


def test_wrong_port_fails_with_precise_report(port, tmp_path):
    status, report = check_port(port, tmp_path, wrong_history_index=True)
    assert status == 1

    lines = report.splitlines()
    row = next(line for line in lines if line.endswith(LITERAL_CASE))
    assert row.startswith("FAIL     6 steps")
    start = lines.index(row)
    assert lines[start + 1].strip() == (
        "first divergence: step 3 of 6, params[0] at index (0,)"
    )

    golden = next(c for c in oracle.load_golden() if c["name"] == LITERAL_CASE)
    expected = float(golden["outputs"][2]["params"][0][0])
    wrong = next(
        c
        for c in oracle.load_cases(tmp_path / "port.json")
        if c["name"] == LITERAL_CASE
    )
    got = float(wrong["outputs"][2]["params"][0][0])
    assert lines[start + 2].split() == ["expected", repr(expected)]
    assert lines[start + 3].split() == ["got", repr(got)]
    abs_error = abs(got - expected)
    assert lines[start + 4].strip() == (
        f"abs error {abs_error:.3e}, rel error {abs_error / abs(expected):.3e}; "
        "3 of 3 entries of params[0] fail"
    )
    assert lines[start + 5].strip() == "last passing step: 2"

    # Only the literal penalty reads the wrong snapshot.
    assert "verdict: FAIL, 6 of 29 cases failed" in report
    signed = next(
        line for line in lines if line.endswith("signed/energy-on/lr-in-velocity-on")
    )
    assert signed.startswith("PASS")


def autograd_and_manual(port, model, inputs, targets):
    _, torch_model = port
    params = {name: torch.from_numpy(p.copy()) for name, p in model.params.items()}
    loss, grads = torch_model.loss_and_grads(
        params, torch.from_numpy(inputs), torch.from_numpy(targets), model.n_heads
    )
    manual_loss, manual_grads = model.loss_and_grads(inputs, targets)
    return loss, manual_loss, grads, manual_grads


def test_autograd_equals_manual_grads_golden_model(port):
    case = next(c for c in oracle.load_golden() if c["name"] == "model/grads")
    sizes = {
        k: case["config"][k]
        for k in ("vocab_size", "seq_len", "d_model", "n_heads", "d_ff")
    }
    model = MiniTransformer(**sizes, seed=0)
    for name, value in case["inputs"]["params"].items():
        model.params[name][...] = value
    loss, manual_loss, grads, manual_grads = autograd_and_manual(
        port, model, case["inputs"]["inputs"], case["inputs"]["targets"]
    )
    assert abs(loss - manual_loss) <= 1e-10 * abs(manual_loss)
    for name, manual in manual_grads.items():
        assert max_relative_error(grads[name].numpy(), manual) < 1e-10, name


def test_autograd_equals_manual_grads_default_model(port):
    model = MiniTransformer()  # vocab 100, seq_len 20, d_model 32, 4 heads, d_ff 128
    rng = np.random.default_rng(3)
    for name, p in model.params.items():
        if name.endswith((".g", ".b")) or "b_" in name:
            # Gains away from 1 and biases away from 0, so their terms count.
            p += rng.normal(0.0, 0.1, size=p.shape)
    tokens = rng.integers(0, 100, size=(4, 21))
    loss, manual_loss, grads, manual_grads = autograd_and_manual(
        port, model, tokens[:, :-1], tokens[:, 1:]
    )
    assert abs(loss - manual_loss) <= 1e-10 * abs(manual_loss)
    for name, manual in manual_grads.items():
        assert max_relative_error(grads[name].numpy(), manual) < 1e-10, name
