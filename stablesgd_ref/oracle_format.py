"""The JSON format of the golden cases: encoding, decoding and validation.

A file is one JSON object::

    {"format": "stablesgd_ref-oracle", "format_version": 1,
     "producer": "...", "cases": [case, ...]}

and a case is ``{"name", "kind", "config", "inputs", "outputs"}``. ``outputs``
is a list of records, one per optimizer step, per landscape point, or a single
record; a record maps output names to values. docs/ORACLE.md gives the full
schema of every kind.

A value is a JSON number, a string, ``true``/``false``/``null``, a list of values,
an object of values, or an array object::

    {"dtype": "float64", "shape": [2, 2], "data": [0.5, -1.25, 3.0, 0.0078125]}

with ``data`` in row-major (C) order and ``dtype`` either ``"float64"`` or
``"int64"``. A shape-() array has one entry in ``data``.

Floats are written with Python's ``repr``, the shortest decimal string that
reads back to the same float64, and read back with Python's ``float``, which
rounds correctly, so every value survives a write and a read bit for bit.
No float64 hex copy is stored: see docs/ORACLE.md for the reasons.
"""

import json
import math
from pathlib import Path

import numpy as np

FORMAT_NAME = "stablesgd_ref-oracle"
FORMAT_VERSION = 1
ARRAY_KEYS = ("dtype", "shape", "data")
DTYPES = {"float64": np.float64, "int64": np.int64}

RECORD_LABELS = {
    "optimizer": "step",
    "landscape": "point",
    "model_grads": None,
    "model_training": "step",
    "layer": None,
}
"""Record label per case kind: what one record of ``outputs`` stands for.

None marks a kind whose ``outputs`` has a single record.
"""


class OracleFormatError(ValueError):
    """A file that is not valid JSON or does not follow the oracle schema.

    The message is one line that names the file and the field.
    """


# ----------------------------------------------------------------------------
# Encoding: NumPy values to JSON text
# ----------------------------------------------------------------------------


def encode_array(array):
    """Return the array object of a float64 or integer NumPy array."""
    array = np.asarray(array)
    if array.dtype.kind == "f":
        data = array.astype(np.float64).ravel().tolist()
        dtype = "float64"
    elif array.dtype.kind in "iu":
        data = array.astype(np.int64).ravel().tolist()
        dtype = "int64"
    else:
        raise TypeError(f"cannot encode an array of dtype {array.dtype}")
    return {"dtype": dtype, "shape": list(array.shape), "data": data}


def encode_value(value):
    """Return ``value`` with every NumPy array replaced by its array object."""
    if isinstance(value, np.ndarray):
        return encode_array(value)
    if isinstance(value, dict):
        return {str(key): encode_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode_value(item) for item in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    return value


def dumps(document):
    """Return the JSON text of an encoded document, one array object per line.

    Objects and lists of objects are indented; an array object is written on
    one line so that a diff shows which array changed. NaN and Inf are
    rejected, because standard JSON has no spelling for them.
    """
    return _dumps(document, 0) + "\n"


def _dumps(value, depth):
    inline = json.dumps(value, allow_nan=False)
    if _is_array_object(value) or not isinstance(value, (dict, list)):
        return inline
    if not value or (isinstance(value, list) and not _contains_container(value)):
        return inline
    pad = " " * (depth + 1)
    if isinstance(value, dict):
        items = [
            f"{pad}{json.dumps(key)}: {_dumps(item, depth + 1)}"
            for key, item in value.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + " " * depth + "}"
    items = [pad + _dumps(item, depth + 1) for item in value]
    return "[\n" + ",\n".join(items) + "\n" + " " * depth + "]"


def _contains_container(items):
    return any(isinstance(item, (dict, list)) for item in items)


def _is_array_object(value):
    return isinstance(value, dict) and set(value) == set(ARRAY_KEYS)


# ----------------------------------------------------------------------------
# Decoding and validation: JSON text to NumPy values
# ----------------------------------------------------------------------------


def load_document(path, golden=False):
    """Read and validate one oracle file; return its decoded cases.

    Parameters
    ----------
    path : str, Path or importlib.resources.abc.Traversable
        A JSON file in the oracle format.
    golden : bool
        If True, every case must also have ``kind``, ``config`` and ``inputs``.
        A candidate file needs only ``name`` and ``outputs`` per case.

    Returns
    -------
    cases : list of dict
        Each with ``name``, ``outputs`` (a list of dicts of decoded values) and,
        when present, ``kind``, ``config`` and ``inputs`` (decoded).

    Raises
    ------
    OracleFormatError
        One line naming the file and the first invalid field.
    """
    if isinstance(path, str):
        path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise OracleFormatError(f"{path}: cannot read the file: {error}") from None
    return parse_document(text, str(path), golden=golden)


def parse_document(text, source, golden=False):
    """Validate the JSON ``text`` of one oracle file; return its decoded cases.

    ``source`` names the file in error messages. See :func:`load_document`.
    """
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise OracleFormatError(
            f"{source}: invalid JSON at line {error.lineno} column {error.colno}: "
            f"{error.msg}"
        ) from None
    where = _Where(source)
    _require(isinstance(document, dict), where, "", "must be a JSON object")
    format_name = _field(document, "format", where)
    _require(
        format_name == FORMAT_NAME,
        where,
        "format",
        f"must be {FORMAT_NAME!r}, got {format_name!r}",
    )
    version = _field(document, "format_version", where)
    _require(
        version == FORMAT_VERSION and not isinstance(version, bool),
        where,
        "format_version",
        f"must be {FORMAT_VERSION}, got {version!r}; this checker reads version "
        f"{FORMAT_VERSION} only",
    )
    raw_cases = _field(document, "cases", where)
    _require(isinstance(raw_cases, list), where, "cases", "must be a list")

    cases, names = [], set()
    for index, raw in enumerate(raw_cases):
        case = _parse_case(raw, where.child(f"cases[{index}]"), golden)
        _require(
            case["name"] not in names,
            where,
            f"cases[{index}].name",
            f"repeats the case name {case['name']!r}",
        )
        names.add(case["name"])
        cases.append(case)
    return cases


def _parse_case(raw, where, golden):
    _require(isinstance(raw, dict), where, "", "must be a JSON object")
    name = _field(raw, "name", where)
    _require(isinstance(name, str) and name, where, "name", "must be a string")
    case = {"name": name}

    if golden or "kind" in raw:
        kind = _field(raw, "kind", where)
        _require(
            kind in RECORD_LABELS,
            where,
            "kind",
            f"must be one of {sorted(RECORD_LABELS)}, got {kind!r}",
        )
        case["kind"] = kind
    for key in ("config", "inputs"):
        if golden or key in raw:
            value = _field(raw, key, where)
            _require(isinstance(value, dict), where, key, "must be a JSON object")
            case[key] = decode_value(value, where.child(key))

    outputs = _field(raw, "outputs", where)
    _require(isinstance(outputs, list), where, "outputs", "must be a list of records")
    records = []
    for index, record in enumerate(outputs):
        record_where = where.child(f"outputs[{index}]")
        _require(isinstance(record, dict), record_where, "", "must be a JSON object")
        records.append(decode_value(record, record_where))
    case["outputs"] = records
    return case


def decode_value(value, where):
    """Return a JSON value with every array object turned into a NumPy array."""
    if isinstance(value, dict):
        if "dtype" in value or "data" in value:
            return _decode_array(value, where)
        return {
            key: decode_value(item, where.child(key)) for key, item in value.items()
        }
    if isinstance(value, list):
        return [
            decode_value(item, where.child(f"[{i}]")) for i, item in enumerate(value)
        ]
    return value


def _decode_array(value, where):
    _require(
        set(value) == set(ARRAY_KEYS),
        where,
        "",
        f"an array object must have exactly the keys {list(ARRAY_KEYS)}, "
        f"got {sorted(value)}",
    )
    dtype = value["dtype"]
    _require(
        dtype in DTYPES, where, "dtype", f"must be one of {list(DTYPES)}, got {dtype!r}"
    )
    shape = value["shape"]
    _require(
        isinstance(shape, list)
        and all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape
        ),
        where,
        "shape",
        f"must be a list of non-negative integers, got {shape!r}",
    )
    data = value["data"]
    _require(isinstance(data, list), where, "data", "must be a list of numbers")
    size = math.prod(shape)
    _require(
        len(data) == size,
        where,
        "data",
        f"has {len(data)} entries but shape {shape} needs {size}",
    )
    for index, number in enumerate(data):
        is_number = isinstance(number, (int, float)) and not isinstance(number, bool)
        if dtype == "int64":
            is_number = is_number and isinstance(number, int)
        _require(
            is_number,
            where,
            f"data[{index}]",
            f"must be a {dtype} number, got {number!r}",
        )
    return np.array(data, dtype=DTYPES[dtype]).reshape(shape)


class _Where:
    """A JSON path inside a file, for error messages."""

    def __init__(self, source, path=""):
        self.source = source
        self.path = path

    def child(self, key):
        if key.startswith("["):
            return _Where(self.source, self.path + key)
        return _Where(self.source, f"{self.path}.{key}" if self.path else key)

    def describe(self, key):
        path = self.child(key).path if key else self.path
        return f"{self.source}: field {path or '(top level)'}"


def _field(mapping, key, where):
    _require(key in mapping, where, key, "is missing")
    return mapping[key]


def _require(condition, where, key, message):
    if not condition:
        raise OracleFormatError(f"{where.describe(key)} {message}")
