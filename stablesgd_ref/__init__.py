"""Pure-NumPy reference implementation of StableSGD and its two experiments.

The public classes are imported on first use (PEP 562), so that
``python -m stablesgd_ref`` can limit the BLAS thread count before NumPy
loads; see ``__main__.py``.
"""

import importlib

_EXPORTS = {
    "Landscape": "stablesgd_ref.landscape",
    "MiniTransformer": "stablesgd_ref.model",
    "StableSGD": "stablesgd_ref.optimizers",
    "StandardSGD": "stablesgd_ref.optimizers",
}

__all__ = sorted(_EXPORTS)
__version__ = "0.1.0"


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'stablesgd_ref' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
