"""Where the project's shared material lives: ``shared/`` beside the repository checkout.

CI clones the repository next to ``shared/`` (so ``../shared`` from the repository root); set
``TRADER_SHARED_DIR`` to use another place.
"""

from __future__ import annotations

import os
from pathlib import Path

from .trader import REPO_ROOT

__all__ = ["SHARED_DIR", "DATA_DIR", "SCHEMAS_DIR", "recording"]

SHARED_DIR = Path(os.environ.get("TRADER_SHARED_DIR", REPO_ROOT.parent / "shared"))
DATA_DIR = SHARED_DIR / "data"
SCHEMAS_DIR = SHARED_DIR / "schemas"


def recording(name: str) -> Path:
    """A real recording from ``shared/data``; a loud error (never a skip) when it is missing."""
    path = DATA_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f"recorded data {path} is missing: check out shared/ beside the repository "
                                "or set TRADER_SHARED_DIR")
    return path
