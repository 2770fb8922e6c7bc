"""Atomic file writing and a description of the machine a run came from."""

import json
import math
import os
import platform
import tempfile


def _umask_mode():
    """Return the mode 0o666 under the process umask, as ``open`` would create."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


import numpy as np


def write_text_atomic(path, text):
    """Write ``text`` to ``path`` through a temporary file and a rename.

    A run interrupted while writing leaves the previous file (or none), never
    a half-written one, because ``os.replace`` is atomic on one file system.
    """
    path = os.fspath(path)
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        # mkstemp creates files readable by the owner only; give the result
        # the permissions a plain open() would.
        os.chmod(temporary, _umask_mode())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def write_json_atomic(path, data):
    """Write ``data`` as indented JSON to ``path`` atomically.

    NumPy scalars and arrays are converted to Python numbers and lists; floats
    are written with ``repr`` precision, so they read back bit for bit. NaN and
    Inf, from diverged runs, are written as ``null`` because strict JSON has no
    token for them.
    """
    text = json.dumps(to_jsonable(data), indent=1, allow_nan=False) + "\n"
    write_text_atomic(path, text)


def save_figure_atomic(figure, path, dpi=110):
    """Save a matplotlib figure as PNG atomically, with no varying metadata."""
    path = os.fspath(path)
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".png")
    os.close(handle)
    try:
        # Software names the matplotlib version; drop it so files only change
        # when their pixels do.
        figure.savefig(temporary, dpi=dpi, format="png", metadata={"Software": None})
        os.chmod(temporary, _umask_mode())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def to_jsonable(value):
    """Return ``value`` with NumPy types replaced by plain Python types.

    Non-finite floats become None.
    """
    if isinstance(value, dict):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(item) for item in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    return value


def machine_info():
    """Return a dict describing the machine: OS, CPU, core count, versions."""
    import matplotlib

    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "matplotlib": matplotlib.__version__,
    }
