"""``python -m reports``: the scheduler service, or one report on demand (see ``--help``)."""

import sys

from .cli import main

sys.exit(main())
