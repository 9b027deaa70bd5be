"""python -m ml: the command line (ml/cli.py)."""

import sys

from ml.cli import main

sys.exit(main())
