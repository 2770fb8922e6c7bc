"""Pure-NumPy reference implementation of StableSGD and its two experiments."""

from stablesgd_ref.landscape import Landscape
from stablesgd_ref.optimizers import StableSGD, StandardSGD

__all__ = ["Landscape", "StableSGD", "StandardSGD"]
__version__ = "0.1.0"
