"""Entry point of ``python -m stablesgd_ref``.

The matrices here are tiny (at most a few thousand rows by 128 columns), so a
multithreaded BLAS spends more time synchronizing its threads than computing
on them. On a loaded 2-core machine, ten full-batch steps on 256 pydoc windows
took 4.3 s with the default thread count and 0.73 s with one thread.
So the command line sets one BLAS thread unless the caller has already set
the variable. This must happen before NumPy is first imported.
"""

import os
import sys

for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

from stablesgd_ref.cli import main  # noqa: E402

sys.exit(main())
