"""Entry point of ``python -m stablesgd_ref``.

The matrices here are tiny (at most a few thousand rows by 128 columns), and a
multithreaded BLAS spends more time synchronizing its threads than computing
on them; on a loaded 2-core machine a full-batch backward pass of Experiment 1
ran about 6 times slower with the default thread count than with one thread.
So the command line asks for one BLAS thread unless the caller has already set
the variable. This must happen before NumPy is first imported.
"""

import os
import sys

for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

from stablesgd_ref.cli import main  # noqa: E402

sys.exit(main())
