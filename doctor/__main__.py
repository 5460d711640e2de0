"""``python -m doctor``: see ``doctor/cli.py``."""

import sys

from doctor.cli import main

sys.exit(main())
