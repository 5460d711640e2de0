"""Report periods in UTC: a calendar day, or a Monday-to-Sunday week.

    >>> p = period_containing("week", parse_day("2026-05-06"))  # a Wednesday
    >>> p.label, p.first_day, p.last_day
    ('week 2026-05-04 to 2026-05-10 UTC', '2026-05-04', '2026-05-10')
    >>> [q.first_day for q in periods_ended_between("day", p.start, p.start + 2 * DAY)]
    ['2026-05-04', '2026-05-05']

Bounds are Unix seconds, the start included and the end excluded; days are text ``YYYY-MM-DD``
as in the journal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Iterator

from .errors import ReportsError

__all__ = ["DAY", "PERIOD_KINDS", "Period", "period_containing", "periods_ended_between", "parse_day",
           "day_text", "day_start", "days_between"]

DAY = 86_400.0
PERIOD_KINDS = ("day", "week")


@dataclass(frozen=True)
class Period:
    kind: str  # "day" | "week"
    start: float  # Unix seconds, 00:00 UTC, included
    end: float  # excluded

    @property
    def first_day(self) -> str:
        return day_text(self.start)

    @property
    def last_day(self) -> str:
        return day_text(self.end - DAY)

    @property
    def days(self) -> list[str]:
        return days_between(self.start, self.end)

    @property
    def label(self) -> str:
        if self.kind == "day":
            return f"{self.first_day} UTC"
        return f"week {self.first_day} to {self.last_day} UTC"

    @property
    def key(self) -> str:
        """What identifies the period in the service's state: its kind and first day."""
        return f"{self.kind}:{self.first_day}"

    def previous(self) -> "Period":
        return period_containing(self.kind, self.start - 1)


def day_text(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d")


def day_start(day: str) -> float:
    return datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=timezone.utc).timestamp()


def days_between(start: float, end: float) -> list[str]:
    """The UTC days whose start lies in [start, end)."""
    days, at = [], day_start(day_text(start))
    if at < start:
        at += DAY
    while at < end:
        days.append(day_text(at))
        at += DAY
    return days


def parse_day(text: str) -> float:
    """``YYYY-MM-DD`` (a UTC day) as the Unix seconds of its start; a ReportsError otherwise."""
    try:
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), timezone.utc).timestamp()
    except ValueError:
        raise ReportsError(f"--at {text!r} is not a date: expected YYYY-MM-DD (a UTC day)") from None


def period_containing(kind: str, ts: float) -> Period:
    if kind not in PERIOD_KINDS:
        raise ReportsError(f"period {kind!r} is unknown: expected one of {', '.join(PERIOD_KINDS)}")
    moment = datetime.fromtimestamp(ts, timezone.utc)
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if kind == "day":
        return Period("day", midnight.timestamp(), (midnight + timedelta(days=1)).timestamp())
    monday = midnight - timedelta(days=midnight.weekday())
    return Period("week", monday.timestamp(), (monday + timedelta(days=7)).timestamp())


def periods_ended_between(kind: str, after: float, until: float) -> Iterator[Period]:
    """Every period of ``kind`` whose end lies in (after, until], oldest first."""
    period = period_containing(kind, after)
    if period.end <= after:  # pragma: no cover - period_containing(after) always ends after it
        period = period_containing(kind, period.end)
    while period.end <= until:
        yield period
        period = period_containing(kind, period.end)
