"""Comparison of candidate outputs with the golden outputs, and its report.

An entry passes when ``|got - expected| <= atol + rtol * |expected|``, the test
of ``numpy.isclose`` with the golden value as the reference. NaN never passes.
A case passes when every entry of every record passes. The report gives, for a
failing case, the first record (step or point) that fails, the output and
index of its first failing entry in row-major order, both values, both errors,
and the last step that passed.
"""

import math
from dataclasses import dataclass, field

import numpy as np

from stablesgd_ref.oracle_format import RECORD_LABELS

DEFAULT_RTOL = 1e-10
DEFAULT_ATOL = 1e-12


@dataclass
class Divergence:
    """The first entry of a case that fails, or a structural problem there."""

    record: int
    """1-based number of the record (step or point)."""
    output: str
    """Flattened output name, such as ``params[0]`` or ``grads[ln_1.g]``."""
    index: tuple = None
    expected: float = None
    got: float = None
    abs_error: float = None
    rel_error: float = None
    failing_entries: int = 0
    total_entries: int = 0
    problem: str = None
    """A structural problem (missing output, wrong shape) in place of values."""


@dataclass
class CaseResult:
    """The outcome of comparing one case."""

    name: str
    label: str = None
    """``"step"``, ``"point"`` or None for a case with a single record."""
    expected_records: int = 0
    compared_records: int = 0
    max_abs_error: float = 0.0
    max_error_ratio: float = 0.0
    """Max of ``|got - expected| / (atol + rtol * |expected|)``; <= 1 passes."""
    divergence: Divergence = None
    notes: list = field(default_factory=list)

    @property
    def passed(self):
        return self.divergence is None and not self.notes


def flatten_record(record):
    """Return the leaves of a record as ``(name, value)`` pairs in order.

    Lists become ``name[0]``, ``name[1]``, ... and objects ``name[key]``.
    """
    leaves = []
    for key, value in record.items():
        _flatten_into(leaves, key, value)
    return leaves


def _flatten_into(leaves, name, value):
    if isinstance(value, list):
        for index, item in enumerate(value):
            _flatten_into(leaves, f"{name}[{index}]", item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _flatten_into(leaves, f"{name}[{key}]", item)
    else:
        leaves.append((name, value))


def compare_case(golden_case, candidate_case, rtol, atol):
    """Compare every record of one case; return a :class:`CaseResult`."""
    label = RECORD_LABELS[golden_case["kind"]]
    expected_records = golden_case["outputs"]
    got_records = candidate_case["outputs"]
    result = CaseResult(
        name=golden_case["name"], label=label, expected_records=len(expected_records)
    )
    for number, expected in enumerate(expected_records, start=1):
        if number > len(got_records):
            if result.divergence is None:
                result.divergence = Divergence(
                    record=number,
                    output="",
                    problem=f"missing: the candidate has {len(got_records)} "
                    f"{_plural(label or 'record', len(got_records))}",
                )
            break
        got = dict(flatten_record(got_records[number - 1]))
        result.compared_records = number
        for output, expected_value in flatten_record(expected):
            divergence = _compare_leaf(
                result, number, output, expected_value, got.get(output), rtol, atol
            )
            if divergence is not None and result.divergence is None:
                result.divergence = divergence
    if len(got_records) > len(expected_records):
        result.notes.append(
            f"the candidate has {len(got_records)} "
            f"{_plural(label or 'record', len(got_records))}, expected "
            f"{len(expected_records)}"
        )
    return result


def _compare_leaf(result, number, output, expected, got, rtol, atol):
    """Compare one output; update the case's maxima; return the first failure."""
    max_abs_error, max_error_ratio, failure = compare_output(expected, got, rtol, atol)
    result.max_abs_error = _max_with_nan(result.max_abs_error, max_abs_error)
    result.max_error_ratio = _max_with_nan(result.max_error_ratio, max_error_ratio)
    if failure is None:
        return None
    failure.record = number
    failure.output = output
    return failure


def compare_output(expected, got, rtol, atol):
    """Compare one golden output with the candidate's.

    Parameters
    ----------
    expected : float or np.ndarray
        The golden value.
    got : object
        The candidate's value; None when it is missing.
    rtol, atol : float
        Tolerances, see the module docstring.

    Returns
    -------
    max_abs_error : float
        Max of ``|got - expected|`` over every entry; 0 when the values cannot
        be compared.
    max_error_ratio : float
        Max of ``|got - expected| / (atol + rtol * |expected|)``, the error as a
        fraction of its tolerance; the output passes when it is <= 1.
    failure : Divergence or None
        The first failing entry, or a structural problem, with ``record`` and
        ``output`` left for the caller to fill in; None when every entry passes.
    """
    if got is None:
        return 0.0, 0.0, Divergence(0, "", problem="is missing from the candidate")
    if isinstance(expected, np.ndarray) != isinstance(got, np.ndarray):
        wanted = "an array" if isinstance(expected, np.ndarray) else "a number"
        problem = f"must be {wanted}, got {got!r:.40}"
        return 0.0, 0.0, Divergence(0, "", problem=problem)
    if isinstance(got, (str, bool, dict, list)):
        problem = f"must be a number, got {got!r:.40}"
        return 0.0, 0.0, Divergence(0, "", problem=problem)
    expected_array = np.asarray(expected, dtype=np.float64)
    got_array = np.asarray(got, dtype=np.float64)
    if got_array.shape != expected_array.shape:
        problem = f"has shape {got_array.shape}, expected {expected_array.shape}"
        return 0.0, 0.0, Divergence(0, "", problem=problem)

    abs_error = np.abs(got_array - expected_array)
    tolerance = atol + rtol * np.abs(expected_array)
    with np.errstate(divide="ignore", invalid="ignore"):
        # The relative error of an entry is infinite when only expected is 0.
        rel_error = np.where(abs_error == 0, 0.0, abs_error / np.abs(expected_array))
        ratio = np.where(abs_error == 0, 0.0, abs_error / tolerance)
    if abs_error.size == 0:
        return 0.0, 0.0, None
    max_abs_error = float(abs_error.max())
    max_error_ratio = float(ratio.max())
    # NaN compares False, so a NaN entry counts as failing.
    passing = abs_error <= tolerance
    if passing.all():
        return max_abs_error, max_error_ratio, None

    first = int(np.flatnonzero(~passing.ravel())[0])
    index = None
    if expected_array.ndim:
        index = tuple(int(i) for i in np.unravel_index(first, expected_array.shape))
    failure = Divergence(
        record=0,
        output="",
        index=index,
        expected=float(expected_array.ravel()[first]),
        got=float(got_array.ravel()[first]),
        abs_error=float(abs_error.ravel()[first]),
        rel_error=float(rel_error.ravel()[first]),
        failing_entries=int((~passing).sum()),
        total_entries=int(passing.size),
    )
    return max_abs_error, max_error_ratio, failure


def _max_with_nan(a, b):
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return math.nan
    return max(a, b)


def _plural(word, count):
    return word if count == 1 else word + "s"


def check_cases(golden_cases, candidate_cases, rtol, atol):
    """Compare candidate cases with golden cases by name.

    Returns one :class:`CaseResult` per golden case, in golden order, then one
    failing result per candidate case whose name is not golden.
    """
    candidates = {case["name"]: case for case in candidate_cases}
    results = []
    for golden_case in golden_cases:
        candidate = candidates.pop(golden_case["name"], None)
        if candidate is None:
            result = CaseResult(
                name=golden_case["name"], label=RECORD_LABELS[golden_case["kind"]]
            )
            result.notes.append("missing from the candidate")
            results.append(result)
        else:
            results.append(compare_case(golden_case, candidate, rtol, atol))
    for name in candidates:
        result = CaseResult(name=name)
        result.notes.append("not a golden case: check the name")
        results.append(result)
    return results


# ----------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------


def format_report(results, rtol, atol):
    """Return the report: one aligned row per case, details, then the verdict."""
    header = ("result", "compared", "max abs err", "err/tol", "case")
    rows = [header] + [_row(result) for result in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    rule = (
        "an entry passes when |got - expected| <= atol + rtol * |expected|, "
        f"rtol {rtol:g}, atol {atol:g};"
    )
    ratio = (
        "err/tol is the max of |got - expected| / (atol + rtol * |expected|), "
        "<= 1 for a passing case"
    )
    lines = [rule, ratio, ""]
    for row, result in zip(rows, [None] + results):
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:4], widths[1:4])]
        cells.append(row[4])
        lines.append("  ".join(cells))
        if result is not None and not result.passed:
            lines += ["    " + line for line in describe_failure(result)]
    failed = [result.name for result in results if not result.passed]
    lines.append("")
    if failed:
        lines.append(f"verdict: FAIL, {len(failed)} of {len(results)} cases failed")
    else:
        lines.append(f"verdict: PASS, all {len(results)} cases within tolerance")
    return "\n".join(lines) + "\n"


def _row(result):
    if result.compared_records == 0 and result.divergence is None:
        compared = "-"
        max_abs = ratio = "-"
    else:
        if result.label is None:
            compared = "1 record" if result.expected_records == 1 else "-"
        else:
            count = result.expected_records
            compared = f"{count} {_plural(result.label, count)}"
            if result.compared_records < count:
                compared = f"{result.compared_records}/{compared}"
        max_abs = f"{result.max_abs_error:.1e}"
        ratio = f"{result.max_error_ratio:.1e}"
    return ("PASS" if result.passed else "FAIL", compared, max_abs, ratio, result.name)


def describe_failure(result):
    """Return the lines that explain a failing case; empty for a passing one."""
    lines = list(result.notes)
    divergence = result.divergence
    if divergence is None:
        return lines
    if result.label is None:
        where = "first divergence:"
    else:
        where = (
            f"first divergence: {result.label} {divergence.record} of "
            f"{result.expected_records},"
        )
    if divergence.problem is not None:
        subject = f"{divergence.output} " if divergence.output else ""
        lines.append(f"{where} {subject}{divergence.problem}")
    else:
        index = "" if divergence.index is None else f" at index {divergence.index}"
        lines.append(f"{where} {divergence.output}{index}")
        lines.append(f"    expected  {divergence.expected!r}")
        lines.append(f"    got       {divergence.got!r}")
        lines.append(
            f"    abs error {divergence.abs_error:.3e}, rel error "
            f"{divergence.rel_error:.3e}; {divergence.failing_entries} of "
            f"{divergence.total_entries} entries of {divergence.output} fail"
        )
    if result.label is not None:
        last = divergence.record - 1
        if last == 0:
            lines.append(f"last passing {result.label}: none (the first one fails)")
        else:
            lines.append(f"last passing {result.label}: {last}")
    return lines
