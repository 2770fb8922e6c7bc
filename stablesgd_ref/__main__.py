"""Entry point of ``python -m stablesgd_ref``."""

import sys

from stablesgd_ref.cli import main

sys.exit(main())
