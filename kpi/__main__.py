"""Entry point of `python -m kpi` (see kpi/cli.py)."""

import sys

from kpi.cli import main

sys.exit(main())
