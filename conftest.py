"""Pytest configuration shared by every test.

One BLAS thread, as the command line uses (see ``stablesgd_ref/__main__.py``),
so that tests run at the same speed on a loaded machine. Set before NumPy loads.
"""

import os

for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")
