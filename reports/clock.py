"""Time, passed in: the scheduler and the notifier read ``clock.now()``, so a test can move it.

    >>> FixedClock(100.0).now()
    100.0
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

__all__ = ["Clock", "SystemClock", "FixedClock"]


class Clock(Protocol):
    def now(self) -> float:
        """Unix seconds (UTC)."""


class SystemClock:
    def now(self) -> float:
        return time.time()


@dataclass
class FixedClock:
    """A clock a test sets (``clock.at = ...``) or moves (``clock.advance(3600)``)."""

    at: float

    def now(self) -> float:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += seconds
