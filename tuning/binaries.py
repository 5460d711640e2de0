"""Where ``promtool`` and ``prometheus`` are: ``$PROMTOOL`` / ``$PROMETHEUS``, then ``PATH``, then the
checkout's ``.tools/bin`` (``python tools/monitoring_binaries.py`` fetches the pinned versions)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .errors import TuningError

__all__ = ["find_binary"]

_CHECKOUT_TOOLS = Path(__file__).resolve().parents[1] / ".tools" / "bin"


def find_binary(name: str) -> str:
    explicit = os.environ.get(name.upper())
    if explicit:
        if not os.access(explicit, os.X_OK):
            raise TuningError(f"${name.upper()} = {explicit!r}: expected an executable {name}")
        return explicit
    found = shutil.which(name)
    if found:
        return found
    local = _CHECKOUT_TOOLS / name
    if local.exists():
        return str(local)
    raise TuningError(f"{name} not found: expected it on PATH, in ${name.upper()}, or in .tools/bin "
                      "(python tools/monitoring_binaries.py fetches it)")
