"""Durations, instants and sweeps as the command line writes them.

    >>> parse_duration("1h30m", "--for")
    5400.0
    >>> parse_sweep("0.05:0.15:0.05")
    [0.05, 0.1, 0.15]
    >>> format_duration(5430)
    '1h30m30s'
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone

from .errors import TuningError

__all__ = ["parse_duration", "parse_time", "parse_sweep", "parse_number", "format_duration", "format_time"]

# Prometheus' duration syntax (https://prometheus.io/docs/prometheus/latest/configuration/configuration/#duration)
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0, "y": 31536000.0}
_DURATION = re.compile(r"(?:(\d+)(ms|s|m|h|d|w|y))")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
MAX_CANDIDATES = 200


def parse_duration(text: str, what: str) -> float:
    """Seconds of a Prometheus duration (``30s``, ``5m``, ``1h30m``, ``7d``, ``0s``)."""
    text = str(text).strip()
    pos, total = 0, 0.0
    for match in _DURATION.finditer(text):
        if match.start() != pos:
            break
        total += int(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if not text or pos != len(text):
        raise TuningError(f"{what} = {text!r}: expected a duration such as 30s, 5m, 1h30m or 7d")
    return total


def parse_number(text: str, what: str) -> float:
    """A finite number written plainly (``0.12``, ``50``, ``1e-3``)."""
    text = str(text).strip()
    if not _NUMBER.fullmatch(text):
        raise TuningError(f"{what} = {text!r}: expected a number such as 0.12 or 50")
    value = float(text)
    if not math.isfinite(value):
        raise TuningError(f"{what} = {text!r}: expected a finite number")
    return value


def parse_time(text: str, what: str) -> float:
    """Unix seconds from RFC 3339 (``2024-08-08T23:54:00Z``) or a unix timestamp."""
    text = str(text).strip()
    if _NUMBER.fullmatch(text):
        return float(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise TuningError(f"{what} = {text!r}: expected RFC 3339 (2024-08-08T23:54:00Z) or unix seconds") from None
    if moment.tzinfo is None:
        raise TuningError(f"{what} = {text!r}: expected a time zone (Z or +00:00) in the RFC 3339 time")
    return moment.timestamp()


def parse_sweep(text: str) -> list[float]:
    """``FROM:TO:STEP`` -> every value from FROM to TO inclusive (rounded to the step's decimals)."""
    parts = str(text).split(":")
    if len(parts) != 3:
        raise TuningError(f"--sweep = {text!r}: expected FROM:TO:STEP, e.g. 0.05:0.20:0.01")
    start, stop, step = (parse_number(p, "--sweep") for p in parts)
    if not step > 0 or stop < start:
        raise TuningError(f"--sweep = {text!r}: expected FROM <= TO and a STEP > 0")
    count = int(math.floor((stop - start) / step + 1e-9)) + 1
    if count > MAX_CANDIDATES:
        raise TuningError(f"--sweep = {text!r}: {count} values, expected at most {MAX_CANDIDATES}")
    decimals = max(_decimals(p) for p in parts)
    return [round(start + i * step, decimals + 6) for i in range(count)]


def _decimals(text: str) -> int:
    mantissa, _, exponent = text.lower().partition("e")
    places = len(mantissa.partition(".")[2])
    return max(0, places - int(exponent or 0))


def format_duration(seconds: float) -> str:
    """``5430`` -> ``1h30m30s``; under a second: ``0s``."""
    seconds = int(round(seconds))
    if seconds <= 0:
        return "0s"
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            out.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(out)


def format_time(ts: float) -> str:
    """RFC 3339 in UTC, to the second."""
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
