"""Numbers as a phone shows them: short, signed where a sign means something, units stated.

    >>> usdt(10240.456), usdt(-12.3456, signed=True), usdt(0.5, signed=True)
    ('10,240 USDT', '-12.35 USDT', '+0.50 USDT')
    >>> percent(0.01234, signed=True), percent(-0.5), percent(None)
    ('+1.23 %', '-50.0 %', 'n/a')
    >>> ratio(1.23456), duration(5400), duration(90061), duration(42)
    ('1.23', '1 h 30 min', '1 d 1 h', '42 s')
"""

from __future__ import annotations

import math

__all__ = ["NA", "usdt", "percent", "ratio", "duration", "count", "utc_time", "price", "quantity"]

NA = "n/a"


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def usdt(value: float | None, signed: bool = False) -> str:
    """Whole USDT from 1,000 up, cents below (a phone has no room for 10,240.46)."""
    if not _finite(value):
        return NA
    sign = "+" if signed and value > 0 else ""
    digits = 0 if abs(value) >= 1000 else 2
    return f"{sign}{value:,.{digits}f} USDT"


def percent(value: float | None, signed: bool = False) -> str:
    """A ratio (0..1) as percent: two decimals below 10 %, one above."""
    if not _finite(value):
        return NA
    pct = value * 100
    digits = 2 if abs(pct) < 10 else 1
    sign = "+" if signed and pct > 0 else ""
    return f"{sign}{pct:,.{digits}f} %"


def ratio(value: float | None) -> str:
    return f"{value:.2f}" if _finite(value) else NA


def count(value: float | None) -> str:
    return f"{value:,.0f}" if _finite(value) else NA


def duration(seconds: float | None) -> str:
    """The two largest units: ``2 d 3 h``, ``1 h 30 min``, ``4 min 10 s``."""
    if not _finite(seconds):
        return NA
    seconds = int(round(seconds))
    parts = []
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60), ("s", 1)):
        if seconds >= size or (unit == "s" and not parts):
            parts.append(f"{seconds // size} {unit}")
            seconds %= size
        if len(parts) == 2 or (parts and seconds == 0):
            break
    return " ".join(parts)


def utc_time(ts: float, with_date: bool = True) -> str:
    from datetime import datetime, timezone

    moment = datetime.fromtimestamp(ts, timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M UTC" if with_date else "%H:%M UTC")


def price(value: float | None) -> str:
    """A market price: cents from 1 up, six significant digits below (0.000123)."""
    if not _finite(value):
        return NA
    return f"{value:,.2f}" if abs(value) >= 1 else f"{value:.6g}"


def quantity(value: float | None) -> str:
    return f"{value:,.6g}" if _finite(value) else NA
