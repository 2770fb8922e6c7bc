"""Tests of the golden cases, the oracle format, the checker and the course helpers.

The golden values are compared with values computed here by hand, by central
differences and by an independent NumPy StableSGD written in this file. The
checker runs on perturbed, truncated and malformed copies of the files.
"""

import argparse
import io
import json
import math

import numpy as np
import pytest

from stablesgd_ref import oracle, oracle_cases
from stablesgd_ref.landscape import Landscape
from stablesgd_ref.layers import layernorm_backward, layernorm_forward
from stablesgd_ref.optimizers import StableSGD, StandardSGD
from stablesgd_ref.oracle_compare import flatten_record
from stablesgd_ref.oracle_format import (
    OracleFormatError,
    dumps,
    encode_value,
    parse_document,
)

GOLDEN_DIR = oracle.packaged_golden_dir()
SIGNED_CASE = "optimizer/StableSGD/signed/energy-on/lr-in-velocity-off"


@pytest.fixture(scope="module")
def golden():
    return {case["name"]: case for case in oracle.load_golden()}


@pytest.fixture
def candidate_dir(tmp_path):
    """Return a writable copy of the golden files as a candidate folder."""
    for entry in GOLDEN_DIR.iterdir():
        if entry.name.endswith(".json"):
            (tmp_path / entry.name).write_text(entry.read_text(encoding="utf-8"))
    return tmp_path


def edit_json(path, edit):
    document = json.loads(path.read_text())
    edit(document)
    path.write_text(json.dumps(document))


def case_in(document, name):
    return next(case for case in document["cases"] if case["name"] == name)


def run_check(path, **options):
    report = io.StringIO()
    status = oracle.check_files(path, file=report, **options)
    return status, report.getvalue()


def oracle_parser():
    """Return a parser with only the oracle command, as the lead wires it."""

    class Parser(argparse.ArgumentParser):
        def error(self, message):
            self.exit(2, f"{self.prog}: error: {message}\n")

    parser = Parser(prog="stablesgd_ref")
    commands = parser.add_subparsers(dest="command", parser_class=Parser)
    oracle.add_oracle_parser(commands, Parser)
    return parser


def run_cli(argv):
    """Parse and run ``argv``; return the exit status."""
    try:
        args = oracle_parser().parse_args(argv)
        args.handler(args)
    except SystemExit as exit:
        return exit.code
    return 0


# ----------------------------------------------------------------------------
# The committed golden files
# ----------------------------------------------------------------------------


def test_golden_files_equal_regeneration():
    texts = oracle.golden_texts()
    committed = sorted(e.name for e in GOLDEN_DIR.iterdir() if e.name.endswith(".json"))
    assert committed == sorted(texts)
    for file_name, text in texts.items():
        assert GOLDEN_DIR.joinpath(file_name).read_text(encoding="utf-8") == text, (
            f"{file_name} differs from a fresh regeneration; run "
            "python -m stablesgd_ref oracle write stablesgd_ref/data/oracle"
        )


def test_golden_outputs_follow_from_stored_inputs(golden):
    # Independent of the NumPy generator that drew the inputs.
    for name, case in golden.items():
        outputs = oracle_cases.run_case(case)
        assert len(outputs) == len(case["outputs"]), name
        for got, expected in zip(outputs, case["outputs"]):
            got_leaves = dict(flatten_record(got))
            for output, value in flatten_record(expected):
                assert np.array_equal(got_leaves[output], value), (name, output)


def test_floats_round_trip_bit_for_bit():
    values = np.array(
        [
            0.1,
            1 / 3,
            -0.0,
            5e-324,
            2.2250738585072014e-308,
            1.7976931348623157e308,
            np.nextafter(1.0, 2.0),
            -123456.789e-12,
        ]
    )
    document = {
        "format": "stablesgd_ref-oracle",
        "format_version": 1,
        "cases": [{"name": "x", "outputs": [{"a": values}]}],
    }
    text = dumps(encode_value(document))
    decoded = parse_document(text, "memory")[0]["outputs"][0]["a"]
    assert decoded.dtype == np.float64
    assert decoded.tobytes() == values.tobytes()


def test_dumps_rejects_nan():
    with pytest.raises(ValueError):
        dumps(encode_value({"a": np.array([1.0, math.nan])}))


def test_case_names_and_counts(golden):
    kinds = [case["kind"] for case in golden.values()]
    assert kinds.count("optimizer") == 17
    assert kinds.count("layer") == 6
    assert kinds.count("model_training") == 3
    stable = [c for c in golden.values() if c["config"].get("optimizer") == "StableSGD"]
    options = {
        (
            c["config"]["penalty_mode"],
            c["config"]["energy_conservation"],
            c["config"]["lr_in_velocity"],
        )
        for c in stable
    }
    assert len(options) == 12
    assert any(c["config"]["history_limit"] == 2 for c in stable)


def test_history_limit_two_equals_unlimited(golden):
    for mode in ("literal", "previous_step", "signed"):
        base = f"optimizer/StableSGD/{mode}/energy-on/lr-in-velocity-off"
        limited = golden[base + "/history-limit-2"]["outputs"]
        unlimited = golden[base]["outputs"]
        for a, b in zip(limited, unlimited):
            assert np.array_equal(a["params"][0], b["params"][0])
            assert np.array_equal(a["params"][1], b["params"][1])
            assert a["energy"] == b["energy"]


def final_params(case):
    return np.concatenate([p.ravel() for p in case["outputs"][-1]["params"]])


def test_every_option_changes_the_outputs(golden):
    stable = "optimizer/StableSGD/{}/energy-{}/lr-in-velocity-{}"
    pairs = [
        (stable.format("literal", "on", "off"), stable.format("signed", "on", "off")),
        (
            stable.format("previous_step", "on", "off"),
            stable.format("signed", "on", "off"),
        ),
        (stable.format("signed", "on", "off"), stable.format("signed", "off", "off")),
        (stable.format("signed", "on", "on"), stable.format("signed", "on", "off")),
    ]
    for a, b in pairs:
        difference = np.abs(final_params(golden[a]) - final_params(golden[b])).max()
        assert difference > 1e-4, (a, b)


def test_penalty_modes_agree_on_first_two_steps(golden):
    # The penalty is 0 until two snapshots exist, so modes differ from step 3.
    stable = "optimizer/StableSGD/{}/energy-on/lr-in-velocity-off"
    literal = golden[stable.format("literal")]["outputs"]
    signed = golden[stable.format("signed")]["outputs"]
    for step in (0, 1):
        assert np.array_equal(literal[step]["params"][0], signed[step]["params"][0])
    assert not np.array_equal(literal[2]["params"][0], signed[2]["params"][0])


def test_standard_sgd_first_steps_by_hand(golden):
    case = golden["optimizer/StandardSGD/momentum-0.9"]
    p0 = case["inputs"]["params"][1]
    g0, g1 = case["inputs"]["grads"][0][1], case["inputs"]["grads"][1][1]
    v1 = 0.1 * g0
    v2 = 0.9 * v1 + 0.1 * g1
    np.testing.assert_allclose(case["outputs"][0]["params"][1], p0 - v1, rtol=1e-15)
    np.testing.assert_allclose(
        case["outputs"][1]["params"][1], p0 - v1 - v2, rtol=1e-14
    )
    np.testing.assert_allclose(case["outputs"][1]["velocities"][1], v2, rtol=1e-15)


def test_landscape_grads_match_central_differences(golden):
    case = golden["landscape/dim-5"]
    landscape = Landscape(dim=5, noise_level=0.0, seed=0)
    landscape.target = case["inputs"]["target"]
    landscape.local_min = case["inputs"]["local_min"]
    h = 1e-6
    for point, step, record in zip(
        case["inputs"]["points"], case["inputs"]["steps"], case["outputs"]
    ):
        numerical = np.array(
            [
                (
                    landscape.loss(point + h * e, step)
                    - landscape.loss(point - h * e, step)
                )
                / (2 * h)
                for e in np.eye(5)
            ]
        )
        np.testing.assert_allclose(record["grad"], numerical, rtol=1e-7, atol=1e-8)


def test_model_case_weights_are_not_default(golden):
    params = golden["model/grads"]["inputs"]["params"]
    assert np.all(params["ln_1.b"] != 0)
    assert np.all(params["ln_f.g"] != 1)
    assert np.all(params["attn.w_qkv"] != 0)


# ----------------------------------------------------------------------------
# The checker
# ----------------------------------------------------------------------------


def test_reference_passes_its_own_check():
    status, report = run_check(GOLDEN_DIR)
    assert status == 0
    assert "verdict: PASS, all 29 cases within tolerance" in report
    assert "FAIL" not in report


def test_perturbed_output_gives_precise_report(candidate_dir, golden):
    expected = golden[SIGNED_CASE]["outputs"][3]["velocities"][1][1, 0]
    got = expected + 1e-7

    def perturb(document):
        case = case_in(document, SIGNED_CASE)
        for step in (3, 4):  # steps 4 and 5; flat index 2 is (1, 0)
            case["outputs"][step]["velocities"][1]["data"][2] += 1e-7

    edit_json(candidate_dir / "optimizers.json", perturb)
    status, report = run_check(candidate_dir)
    assert status == 1
    lines = report.splitlines()
    row = next(line for line in lines if line.endswith(SIGNED_CASE))
    assert row.startswith("FAIL")
    start = lines.index(row)
    assert lines[start + 1].strip() == (
        "first divergence: step 4 of 6, velocities[1] at index (1, 0)"
    )
    assert lines[start + 2].split() == ["expected", repr(float(expected))]
    assert lines[start + 3].split() == ["got", repr(float(got))]
    abs_error = abs(float(got) - float(expected))
    assert lines[start + 4].strip() == (
        f"abs error {abs_error:.3e}, rel error {abs_error / abs(expected):.3e}; "
        "1 of 4 entries of velocities[1] fail"
    )
    assert lines[start + 5].strip() == "last passing step: 3"
    assert "verdict: FAIL, 1 of 29 cases failed" in report


def test_error_within_tolerance_passes(candidate_dir):
    def perturb(document):
        data = case_in(document, SIGNED_CASE)["outputs"][0]["params"][0]["data"]
        data[0] *= 1 + 1e-12

    edit_json(candidate_dir / "optimizers.json", perturb)
    status, _ = run_check(candidate_dir)
    assert status == 0
    status, _ = run_check(candidate_dir, rtol=1e-14, atol=0.0)
    assert status == 1


def test_truncated_steps_fail(candidate_dir):
    edit_json(
        candidate_dir / "model.json",
        lambda d: case_in(d, "model/train/StandardSGD")["outputs"].pop(),
    )
    status, report = run_check(candidate_dir, only=["model/"])
    assert status == 1
    assert "first divergence: step 4 of 4, missing: the candidate has 3 steps" in report
    assert "last passing step: 3" in report
    assert "3/4 steps" in report


def test_wrong_shape_fails(candidate_dir):
    def damage(document):
        grads = case_in(document, "model/grads")["outputs"][0]["grads"]
        grads["ln_2.b"]["shape"] = [2, 4]

    edit_json(candidate_dir / "model.json", damage)
    status, report = run_check(candidate_dir, only=["model/grads"])
    assert status == 1
    assert "first divergence: grads[ln_2.b] has shape (2, 4), expected (8,)" in report


def test_nan_output_fails(candidate_dir):
    def damage(document):
        case_in(document, "layer/gelu")["outputs"][0]["dx"]["data"][5] = math.nan

    edit_json(candidate_dir / "layers.json", damage)
    status, report = run_check(candidate_dir, only=["layer/gelu"])
    assert status == 1
    assert "first divergence: dx at index (0, 1, 1)" in report
    assert "got       nan" in report


def test_missing_and_unknown_cases_fail(candidate_dir):
    def rename(document):
        case_in(document, "layer/linear")["name"] = "layer/linear_typo"

    edit_json(candidate_dir / "layers.json", rename)
    status, report = run_check(candidate_dir, only=["layer/"])
    assert status == 1
    assert "missing from the candidate" in report
    assert "not a golden case: check the name" in report


def test_single_file_candidate_with_only_names_and_outputs(tmp_path):
    cases = [
        {"name": case["name"], "outputs": case["outputs"]}
        for case in json.loads(GOLDEN_DIR.joinpath("layers.json").read_text())["cases"]
    ]
    path = tmp_path / "port.json"
    path.write_text(
        json.dumps(
            {
                "format": "stablesgd_ref-oracle",
                "format_version": 1,
                "cases": cases,
            }
        )
    )
    status, report = run_check(path, only=["layer/"])
    assert status == 0
    assert "verdict: PASS, all 6 cases within tolerance" in report


VALID = '{"format": "stablesgd_ref-oracle", "format_version": 1, "cases": [%s]}'
ARRAY_CASE = '{"name": "x", "outputs": [{"a": %s}]}'


@pytest.mark.parametrize(
    "text,fragment",
    [
        ('{"format": ', "invalid JSON at line 1 column 12"),
        (
            '{"format": "other", "format_version": 1, "cases": []}',
            "field format must be",
        ),
        (
            VALID.replace('"format_version": 1', '"format_version": 2') % "",
            "field format_version must be 1, got 2",
        ),
        (VALID % '{"name": "x"}', "field cases[0].outputs is missing"),
        (VALID % '{"outputs": []}', "field cases[0].name is missing"),
        (
            VALID % '{"name": "x", "outputs": {}}',
            "field cases[0].outputs must be a list",
        ),
        (
            VALID % (ARRAY_CASE % '{"dtype": "float64", "shape": [2], "data": [1.0]}'),
            "field cases[0].outputs[0].a.data has 1 entries but shape [2] needs 2",
        ),
        (
            VALID % (ARRAY_CASE % '{"dtype": "float64", "shape": [1], "data": ["1"]}'),
            "field cases[0].outputs[0].a.data[0] must be a float64 number",
        ),
        (
            VALID % (ARRAY_CASE % '{"dtype": "float32", "shape": [1], "data": [1.0]}'),
            "field cases[0].outputs[0].a.dtype must be one of",
        ),
        (
            VALID % (ARRAY_CASE % '{"dtype": "float64", "shape": [-1], "data": []}'),
            "field cases[0].outputs[0].a.shape must be a list of non-negative integers",
        ),
        (
            VALID % ", ".join([ARRAY_CASE % "1.0"] * 2),
            "field cases[1].name repeats the case name 'x'",
        ),
    ],
)
def test_malformed_file_gives_one_line_error(tmp_path, capsys, text, fragment):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(OracleFormatError, match="bad.json: ") as error:
        oracle.load_cases(path)
    assert fragment in str(error.value)
    assert run_cli(["oracle", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"oracle check: error: {path}: ")
    assert fragment in err


def test_missing_file_exits_2(tmp_path, capsys):
    assert run_cli(["oracle", "check", str(tmp_path / "none.json")]) == 2
    assert "none.json: file not found" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv,fragment",
    [
        (["oracle"], "required: ACTION"),
        (["oracle", "check"], "required: PATH"),
        (["oracle", "check", "x.json", "--rtol", "-1"], "argument --rtol: invalid"),
        (["oracle", "check", "x.json", "--atol", "nan"], "argument --atol: invalid"),
        (["oracle", "check", "x.json", "--rtol", "abc"], "invalid number 'abc'"),
        (["oracle", "verify"], "invalid choice: 'verify'"),
    ],
)
def test_bad_arguments_exit_2(capsys, argv, fragment):
    assert run_cli(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert fragment in err


def test_only_matching_nothing_exits_2(capsys):
    assert run_cli(["oracle", "check", str(GOLDEN_DIR), "--only", "optim/"]) == 2
    assert "no golden case name starts with 'optim/'" in capsys.readouterr().err


def test_cli_check_statuses(candidate_dir, capsys):
    assert run_cli(["oracle", "check", str(candidate_dir)]) == 0
    edit_json(
        candidate_dir / "landscape.json",
        lambda d: d["cases"][0]["outputs"][2].update(loss=0.5),
    )
    assert run_cli(["oracle", "check", str(candidate_dir), "--only", "landscape/"]) == 1
    out = capsys.readouterr().out
    assert "first divergence: point 3 of 5, loss\n" in out
    assert "last passing point: 2" in out


def test_cli_write_reproduces_committed_files(tmp_path, capsys):
    assert run_cli(["oracle", "write", str(tmp_path / "golden")]) == 0
    for entry in GOLDEN_DIR.iterdir():
        if entry.name.endswith(".json"):
            written = (tmp_path / "golden" / entry.name).read_text()
            assert written == entry.read_text()
    assert capsys.readouterr().out.count("wrote ") == 4


def test_cli_write_into_a_file_exits_2(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert run_cli(["oracle", "write", str(blocker)]) == 2
    assert "oracle write: error: cannot write into" in capsys.readouterr().err


# ----------------------------------------------------------------------------
# Course helpers
# ----------------------------------------------------------------------------


class PlainStableSGD:
    """StableSGD written again from the pseudocode, one param at a time.

    ``bug=True`` compares the param with ``history[-2]`` in the literal penalty.
    """

    bug = False

    def __init__(
        self,
        params,
        lr,
        momentum=0.9,
        temporal_stability=0.01,
        energy_conservation=True,
        *,
        penalty_mode="literal",
        lr_in_velocity=True,
        history_limit=None,
    ):
        self.params, self.lr, self.momentum = params, lr, momentum
        self.temporal_stability = temporal_stability
        self.energy_conservation = energy_conservation
        self.penalty_mode, self.lr_in_velocity = penalty_mode, lr_in_velocity
        self.velocities = [np.zeros_like(p) for p in params]
        self.histories = [[] for _ in params]
        self.energy_trace = []

    def step(self, grads):
        total = 0.0
        for p, g, v, h in zip(self.params, grads, self.velocities, self.histories):
            v *= self.momentum
            v += (self.lr if self.lr_in_velocity else 1.0) * g
            energy = 0.5 * v * v + 0.5 * g * g
            penalty = 0.0
            if len(h) >= 2:
                if self.penalty_mode == "literal":
                    penalty = self.temporal_stability * abs(
                        p - h[-2 if self.bug else -1]
                    )
                elif self.penalty_mode == "previous_step":
                    penalty = self.temporal_stability * abs(h[-1] - h[-2])
                else:
                    penalty = self.temporal_stability * (h[-1] - h[-2])
            step_size = self.lr
            if self.energy_conservation:
                step_size = self.lr / (1.0 + 0.1 * np.sqrt(energy))
            p -= step_size * v + penalty
            h.append(p.copy())
            total += energy.sum()
        self.energy_trace.append(total)


class BuggyStableSGD(PlainStableSGD):
    bug = True


def test_check_optimizer_passes_reference_classes():
    out = io.StringIO()
    assert oracle.check_optimizer(StableSGD, file=out) is True
    assert "check_optimizer(StableSGD): 15 of 15 OK" in out.getvalue()
    out = io.StringIO()
    assert oracle.check_optimizer(StandardSGD, file=out) is True
    assert "check_optimizer(StandardSGD): 2 of 2 OK" in out.getvalue()


def test_check_optimizer_passes_independent_class():
    out = io.StringIO()
    assert oracle.check_optimizer(PlainStableSGD, "StableSGD", file=out) is True
    assert "NOT OK" not in out.getvalue()


def test_check_optimizer_fails_broken_class():
    out = io.StringIO()
    assert oracle.check_optimizer(BuggyStableSGD, "StableSGD", file=out) is False
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["case", "max", "abs", "diff", "result"]
    literal = next(
        line for line in lines if "literal/energy-off/lr-in-velocity-on" in line
    )
    assert literal.endswith("NOT OK")
    signed = next(
        line for line in lines if "signed/energy-off/lr-in-velocity-on" in line
    )
    assert signed.endswith("  OK")
    assert "check_optimizer(BuggyStableSGD): 10 of 15 OK" in lines[-1]
    assert "last passing step: 2" in out.getvalue()


def test_check_optimizer_reports_exceptions():
    class Crashing(StableSGD):
        def step(self, grads):
            raise RuntimeError("shape mismatch in my code")

    out = io.StringIO()
    assert oracle.check_optimizer(Crashing, "StableSGD", file=out) is False
    assert "raised RuntimeError: shape mismatch in my code" in out.getvalue()


def test_check_optimizer_needs_a_reference_name():
    with pytest.raises(ValueError, match="pass reference='StableSGD'"):
        oracle.check_optimizer(PlainStableSGD)
    with pytest.raises(ValueError, match="reference must be one of"):
        oracle.check_optimizer(PlainStableSGD, "Adam")


def test_check_optimizer_quiet_mode():
    out = io.StringIO()
    assert oracle.check_optimizer(StableSGD, file=out, verbose=False) is True
    assert out.getvalue() == ""


@pytest.mark.parametrize("name", sorted(oracle_cases.LAYERS))
def test_check_layer_passes_reference_layers(name):
    forward, backward = oracle_cases.LAYERS[name]
    out = io.StringIO()
    assert oracle.check_layer(forward, backward, name, file=out) is True
    assert "NOT OK" not in out.getvalue()


def test_check_layer_fails_broken_backward():
    def backward_without_mean_terms(dout, cache):
        _, rstd, g = cache
        _, dg, db = layernorm_backward(dout, cache)
        return rstd * dout * g, dg, db

    out = io.StringIO()
    ok = oracle.check_layer(
        layernorm_forward, backward_without_mean_terms, "layer/layernorm", file=out
    )
    assert ok is False
    rows = {line.split()[0]: line for line in out.getvalue().splitlines()}
    assert rows["dx"].endswith("NOT OK")
    assert rows["dg"].endswith("  OK")
    assert rows["out"].endswith("  OK")
    assert "first failing entry (0, 0, 0)" in out.getvalue()


def test_check_layer_unknown_name():
    with pytest.raises(ValueError, match="valid names are causal_self_attention"):
        oracle.check_layer(layernorm_forward, layernorm_backward, "batchnorm")
