"""Where the project's shared material lives: ``shared/`` beside the repository checkout.

CI clones the repository next to ``shared/`` (so ``../shared`` from the repository root). A clone
made elsewhere from a local checkout (``git clone -q . /tmp/fresh``) finds the ``shared/`` beside
that checkout, through its ``origin``. ``TRADER_SHARED_DIR`` names another place.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from .trader import REPO_ROOT

__all__ = ["SHARED_DIR", "DATA_DIR", "SCHEMAS_DIR", "recording"]


def _shared_dir() -> Path:
    if "TRADER_SHARED_DIR" in os.environ:
        return Path(os.environ["TRADER_SHARED_DIR"])
    beside = REPO_ROOT.parent / "shared"
    if beside.is_dir():
        return beside
    origin = subprocess.run(["git", "-C", str(REPO_ROOT), "config", "--get", "remote.origin.url"],
                            capture_output=True, text=True).stdout.strip()
    if origin and Path(origin).is_dir():  # a local clone: shared/ beside the checkout it came from
        from_origin = Path(origin).resolve().parent / "shared"
        if from_origin.is_dir():
            return from_origin
    return beside  # missing: recording() and the schema tests say so loudly


SHARED_DIR = _shared_dir()
DATA_DIR = SHARED_DIR / "data"
SCHEMAS_DIR = SHARED_DIR / "schemas"


def recording(name: str) -> Path:
    """A real recording from ``shared/data``; a loud error (never a skip) when it is missing."""
    path = DATA_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f"recorded data {path} is missing: check out shared/ beside the repository "
                                "or set TRADER_SHARED_DIR")
    return path
