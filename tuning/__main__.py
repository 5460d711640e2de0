"""``python -m tuning``: see ``tuning/cli.py``."""

import sys

from .cli import main

sys.exit(main())
