"""Golden cases that other implementations of StableSGD check themselves against.

The reference writes explicit inputs and its outputs to versioned JSON files.
A port (PyTorch, JAX, C++, a student's code) runs the same inputs and writes
its outputs in the same format. The checker then reports every case as PASS or
FAIL, with the first diverging step of a failing case. docs/ORACLE.md
describes the format, the tolerances and a worked example.

Four golden files ship in ``stablesgd_ref/data/oracle/``:

=================  ===========================================================
file               cases
=================  ===========================================================
optimizers.json    StandardSGD and every StableSGD option, 6 steps each
landscape.json     noiseless losses and gradients of the Experiment 2 landscape
model.json         the mini transformer's loss and gradients, 4 training steps
layers.json        forward and backward pass of every layer
=================  ===========================================================

Entry points:

* :func:`write_golden` and :func:`check_files`, behind
  ``python -m stablesgd_ref oracle write DIR`` and ``oracle check PATH``;
* :func:`check_optimizer` and :func:`check_layer`, which run a student's class
  or functions on the golden inputs and print one row per case or output.
"""

import argparse
import math
import sys
from importlib import resources
from pathlib import Path

from stablesgd_ref import oracle_cases
from stablesgd_ref.oracle_compare import (
    DEFAULT_ATOL,
    DEFAULT_RTOL,
    check_cases,
    compare_case,
    compare_output,
    describe_failure,
    format_report,
)
from stablesgd_ref.oracle_format import (
    FORMAT_NAME,
    FORMAT_VERSION,
    OracleFormatError,
    dumps,
    encode_value,
    load_document,
)
from stablesgd_ref.output import write_text_atomic

PRODUCER = "stablesgd_ref NumPy reference"

__all__ = [
    "DEFAULT_ATOL",
    "DEFAULT_RTOL",
    "OracleFormatError",
    "add_oracle_parser",
    "check_files",
    "check_layer",
    "check_optimizer",
    "golden_texts",
    "load_cases",
    "load_golden",
    "write_golden",
]


# ----------------------------------------------------------------------------
# Writing and reading the golden files
# ----------------------------------------------------------------------------


def golden_texts():
    """Build every golden case; return ``{file name: JSON text}``."""
    texts = {}
    for group, build_cases in oracle_cases.GROUPS.items():
        document = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "producer": PRODUCER,
            "cases": [encode_value(case) for case in build_cases()],
        }
        texts[f"{group}.json"] = dumps(document)
    return texts


def write_golden(directory):
    """Write the golden files into ``directory``; return their paths.

    Each file is written atomically, so an interrupted run leaves either the
    previous file or the new one.
    """
    directory = Path(directory)
    paths = []
    for file_name, text in golden_texts().items():
        path = directory / file_name
        write_text_atomic(path, text)
        paths.append(path)
    return paths


def packaged_golden_dir():
    """Return the folder of the golden files that ship with the package."""
    return resources.files("stablesgd_ref").joinpath("data").joinpath("oracle")


def load_golden(directory=None):
    """Read the golden cases of every ``*.json`` file in ``directory``.

    ``directory`` defaults to the copy inside the installed package. Raises
    :class:`OracleFormatError` for an invalid file, an empty folder, or a case
    name that occurs in two files.
    """
    folder = packaged_golden_dir() if directory is None else Path(directory)
    if not folder.is_dir():
        raise OracleFormatError(f"{folder}: golden folder not found")
    files = sorted(
        (entry for entry in folder.iterdir() if entry.name.endswith(".json")),
        key=lambda entry: entry.name,
    )
    if not files:
        raise OracleFormatError(f"{folder}: contains no .json golden file")
    documents = [load_document(entry, golden=True) for entry in files]
    return _merge(documents, [str(entry) for entry in files])


def load_cases(path):
    """Read a candidate's cases from a file or from every ``*.json`` in a folder.

    A candidate needs only ``name`` and ``outputs`` per case.
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("*.json"))
        if not files:
            raise OracleFormatError(f"{path}: contains no .json file")
    elif path.exists():
        files = [path]
    else:
        raise OracleFormatError(f"{path}: file not found")
    documents = [load_document(file) for file in files]
    return _merge(documents, [str(file) for file in files])


def _merge(documents, sources):
    """Concatenate the cases of several files; reject a name found twice."""
    cases, seen = [], {}
    for document, source in zip(documents, sources):
        for case in document:
            if case["name"] in seen:
                raise OracleFormatError(
                    f"{source}: field cases.name repeats the case name "
                    f"{case['name']!r} of {seen[case['name']]}"
                )
            seen[case["name"]] = source
            cases.append(case)
    return cases


def select_cases(cases, prefixes):
    """Return the cases whose name starts with one of ``prefixes`` (all if None)."""
    if not prefixes:
        return list(cases)
    selected = [case for case in cases if case["name"].startswith(tuple(prefixes))]
    if not selected:
        groups = sorted({case["name"].split("/")[0] + "/" for case in cases})
        raise ValueError(
            f"no golden case name starts with {', '.join(map(repr, prefixes))}; "
            f"the names start with {', '.join(groups)}"
        )
    return selected


# ----------------------------------------------------------------------------
# Checking a candidate file
# ----------------------------------------------------------------------------


def check_files(
    path, golden=None, rtol=DEFAULT_RTOL, atol=DEFAULT_ATOL, only=None, file=None
):
    """Check a candidate's outputs file against the golden cases; print a report.

    Parameters
    ----------
    path : str or Path
        The candidate's outputs: one file, or a folder of ``*.json`` files.
    golden : str or Path, optional
        Folder of golden files; default the copy inside the package.
    rtol, atol : float
        An entry passes when ``|got - expected| <= atol + rtol * |expected|``.
    only : list of str, optional
        Check only golden cases whose name starts with one of these prefixes.
    file : text stream, optional
        Where the report goes; default ``sys.stdout``.

    Returns
    -------
    status : int
        0 when every case passes, 1 when one fails.

    Raises
    ------
    OracleFormatError
        For a file that is not valid JSON or not in the oracle format.
    ValueError
        When ``only`` selects no golden case.
    """
    file = sys.stdout if file is None else file
    all_golden_cases = load_golden(golden)
    golden_cases = select_cases(all_golden_cases, only)
    candidate_cases = load_cases(path)
    if only:
        prefixes = tuple(only)
        candidate_cases = [c for c in candidate_cases if c["name"].startswith(prefixes)]
    results = check_cases(golden_cases, candidate_cases, rtol, atol)
    source = packaged_golden_dir() if golden is None else golden
    count = f"{len(golden_cases)} cases"
    if only:
        count = f"{len(golden_cases)} of {len(all_golden_cases)} cases selected"
    print(f"golden:    {source} ({count})", file=file)
    print(f"candidate: {path}", file=file)
    print(format_report(results, rtol, atol), end="", file=file)
    return 0 if all(result.passed for result in results) else 1


# ----------------------------------------------------------------------------
# Course helpers: check a student's optimizer class or layer functions
# ----------------------------------------------------------------------------


def check_optimizer(
    cls,
    reference=None,
    *,
    rtol=DEFAULT_RTOL,
    atol=DEFAULT_ATOL,
    golden=None,
    verbose=True,
    file=None,
):
    """Run the golden optimizer cases on ``cls``; print one row per case.

    ``cls(params, **config)`` must accept the reference's constructor keywords:
    ``lr``, ``momentum`` and, for StableSGD, ``temporal_stability``,
    ``energy_conservation``, ``penalty_mode``, ``lr_in_velocity`` and
    ``history_limit``. Its ``step(grads)`` must update the list of float64
    arrays ``params`` in place. It must keep ``velocities`` (one array per
    param) and ``energy_trace`` (one float per step). After every step the
    params, the velocities and the last ``energy_trace`` entry are compared.

    Parameters
    ----------
    cls : type
        The optimizer class to check.
    reference : {"StableSGD", "StandardSGD"}, optional
        Whose golden cases to run. Default: ``cls.__name__`` when it is one of
        the two names.
    rtol, atol : float
        Tolerances of :func:`check_files`.
    golden : str or Path, optional
        Folder of golden files; default the copy inside the package.
    verbose : bool
        Print the rows (True) or only return the verdict.
    file : text stream, optional
        Where the rows go; default ``sys.stdout``.

    Returns
    -------
    bool
        True when every case is within tolerance.
    """
    names = sorted(oracle_cases.OPTIMIZER_CLASSES)
    if reference is None:
        reference = cls.__name__
        if reference not in names:
            raise ValueError(
                f"cannot tell which golden cases fit class {cls.__name__!r}; "
                f"pass reference='StableSGD' or reference='StandardSGD'"
            )
    elif reference not in names:
        raise ValueError(f"reference must be one of {names}, got {reference!r}")

    cases = [
        case
        for case in load_golden(golden)
        if case["kind"] == "optimizer" and case["config"]["optimizer"] == reference
    ]
    rows = []
    for case in cases:
        try:
            outputs = oracle_cases.run_optimizer_case(
                case["config"], case["inputs"], optimizer_class=cls
            )
        # A student's exception of any type is a result to report, not a crash.
        except Exception as error:  # noqa: BLE001
            rows.append(
                (case["name"], None, [f"raised {type(error).__name__}: {error}"])
            )
            continue
        result = compare_case(case, {"outputs": outputs}, rtol, atol)
        details = describe_failure(result)
        rows.append((case["name"], result.max_abs_error, details))
    return _print_rows(f"check_optimizer({cls.__name__})", "case", rows, verbose, file)


def check_layer(
    forward_fn,
    backward_fn,
    case_name,
    *,
    rtol=DEFAULT_RTOL,
    atol=DEFAULT_ATOL,
    golden=None,
    verbose=True,
    file=None,
):
    """Run one golden layer case on a forward/backward pair; print one row per output.

    ``forward_fn(*args)`` gets the case's ``forward_args`` in order (for example
    ``x, g, b`` for layer norm) and must return ``(out, cache)``;
    ``backward_fn(dout, cache)`` must return the gradients named in the case's
    ``backward_outputs`` (for example ``dx, dg, db``).

    Parameters
    ----------
    forward_fn, backward_fn : callable
        The pair to check.
    case_name : str
        ``"embedding"``, ``"layernorm"``, ``"linear"``, ``"gelu"``,
        ``"softmax_cross_entropy"`` or ``"causal_self_attention"``, with or
        without the ``"layer/"`` prefix.
    rtol, atol, golden, verbose, file
        As in :func:`check_optimizer`.

    Returns
    -------
    bool
        True when ``out`` and every gradient are within tolerance.
    """
    name = case_name if case_name.startswith("layer/") else f"layer/{case_name}"
    layer_cases = {c["name"]: c for c in load_golden(golden) if c["kind"] == "layer"}
    if name not in layer_cases:
        known = ", ".join(sorted(n.removeprefix("layer/") for n in layer_cases))
        raise ValueError(f"unknown layer case {case_name!r}; valid names are {known}")
    case = layer_cases[name]
    expected = case["outputs"][0]
    try:
        got = oracle_cases.run_layer_case(
            case["config"], case["inputs"], forward_fn, backward_fn
        )[0]
    # A student's exception of any type is a result to report, not a crash.
    except Exception as error:  # noqa: BLE001
        rows = [(name, None, [f"raised {type(error).__name__}: {error}"])]
        return _print_rows(f"check_layer({name})", "output", rows, verbose, file)

    rows = []
    for output, expected_value in expected.items():
        max_abs_error, _, failure = compare_output(
            expected_value, got.get(output), rtol, atol
        )
        if failure is None:
            rows.append((output, max_abs_error, []))
        elif failure.problem is not None:
            rows.append((output, None, [f"{output} {failure.problem}"]))
        else:
            detail = (
                f"first failing entry {failure.index}: expected {failure.expected!r}, "
                f"got {failure.got!r}; {failure.failing_entries} of "
                f"{failure.total_entries} entries fail"
            )
            rows.append((output, max_abs_error, [detail]))
    return _print_rows(f"check_layer({name})", "output", rows, verbose, file)


def _print_rows(title, header, rows, verbose, file):
    """Print ``(name, max abs diff or None, detail lines)`` rows; return the verdict."""
    ok = all(max_abs is not None and not details for _, max_abs, details in rows)
    if not verbose:
        return ok
    file = sys.stdout if file is None else file
    width = max([len(header)] + [len(name) for name, _, _ in rows])
    print(f"{header.ljust(width)}  {'max abs diff':>12}  result", file=file)
    for name, max_abs, details in rows:
        diff = "-" if max_abs is None else f"{max_abs:.1e}"
        result = "OK" if max_abs is not None and not details else "NOT OK"
        print(f"{name.ljust(width)}  {diff:>12}  {result}", file=file)
        for line in details:
            print(f"    {line}", file=file)
    passed = sum(
        1 for _, max_abs, details in rows if max_abs is not None and not details
    )
    print(f"{title}: {passed} of {len(rows)} OK", file=file)
    return ok


# ----------------------------------------------------------------------------
# Command line: python -m stablesgd_ref oracle write|check
# ----------------------------------------------------------------------------


def add_oracle_parser(commands, parser_class):
    """Add the ``oracle`` command with ``write`` and ``check`` to ``commands``.

    ``commands`` is the object returned by ``ArgumentParser.add_subparsers``;
    ``parser_class`` is the parser class of the other commands. Each action
    sets ``handler``, a function of the parsed ``args``.
    """
    oracle_parser = commands.add_parser(
        "oracle",
        help="Write the golden cases, or check another implementation against them.",
        description="Golden cases for other implementations of the optimizers, "
        "the landscape, the mini transformer and its layers. See docs/ORACLE.md.",
    )
    actions = oracle_parser.add_subparsers(
        dest="oracle_action", metavar="ACTION", parser_class=parser_class
    )
    actions.required = True

    write_parser = actions.add_parser(
        "write",
        help="write the golden files into a folder",
        description="Compute every golden case with the reference and write "
        "optimizers.json, landscape.json, model.json and layers.json into DIR.",
    )
    write_parser.add_argument("directory", metavar="DIR", help="output folder")
    write_parser.set_defaults(handler=run_oracle_write)

    check_parser = actions.add_parser(
        "check",
        help="compare another implementation's outputs with the golden cases",
        description="Compare the outputs in PATH (a file, or a folder of .json "
        "files, in the oracle format) with the golden cases. Exit status: 0 when "
        "every case passes, 1 when one fails, 2 for an invalid file or argument.",
    )
    check_parser.add_argument("path", metavar="PATH", help="candidate outputs file")
    check_parser.add_argument(
        "--rtol",
        type=_tolerance,
        default=DEFAULT_RTOL,
        help=f"relative tolerance, >= 0 (default {DEFAULT_RTOL:g})",
    )
    check_parser.add_argument(
        "--atol",
        type=_tolerance,
        default=DEFAULT_ATOL,
        help=f"absolute tolerance, >= 0 (default {DEFAULT_ATOL:g})",
    )
    check_parser.add_argument(
        "--golden",
        metavar="DIR",
        default=None,
        help="folder of golden files (default: the copy inside the package)",
    )
    check_parser.add_argument(
        "--only",
        metavar="PREFIX",
        action="append",
        default=None,
        help="check only golden cases whose name starts with PREFIX, for example "
        "optimizer/ or layer/layernorm; may be repeated",
    )
    check_parser.set_defaults(handler=run_oracle_check)
    return oracle_parser


def _tolerance(text):
    """Parse a finite tolerance >= 0 for argparse."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number {text!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(
            f"invalid tolerance {text!r}: must be a finite number >= 0"
        )
    return value


def run_oracle_write(args):
    """Write the golden files into ``args.directory``; exit 2 if that fails."""
    try:
        paths = write_golden(args.directory)
    except OSError as error:
        _exit_with_error("oracle write", f"cannot write into {args.directory}: {error}")
    for path in paths:
        print(f"wrote {path}")


def run_oracle_check(args):
    """Check ``args.path`` against the golden cases; exit 1 on a failing case.

    An invalid file or an ``--only`` that selects nothing exits with status 2
    and a one-line error naming the file and the field.
    """
    try:
        status = check_files(
            args.path,
            golden=args.golden,
            rtol=args.rtol,
            atol=args.atol,
            only=args.only,
        )
    except (OracleFormatError, ValueError) as error:
        _exit_with_error("oracle check", str(error))
    if status != 0:
        raise SystemExit(status)


def _exit_with_error(command, message):
    print(f"{command}: error: {message}", file=sys.stderr)
    raise SystemExit(2)
