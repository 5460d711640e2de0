"""A bounded set of keys that forgets them after a time: "this SMS already went out".

Alertmanager re-sends a whole group when one alert joins it and retries a delivery that got a
5xx; both would send the same SMS again. The relay remembers what it sent for ``ttl`` seconds
(longer than a retry or a group update, shorter than the critical repeat_interval so the hourly
reminder does go out) and at most ``max_entries`` keys, oldest forgotten first.

    >>> now = [0.0]
    >>> sent = TtlSet(ttl=60, max_entries=2, clock=lambda: now[0])
    >>> sent.add("a"); "a" in sent
    True
    >>> now[0] = 61; "a" in sent
    False
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Callable, Hashable

__all__ = ["TtlSet"]


class TtlSet:
    def __init__(self, ttl: float, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        if ttl <= 0 or max_entries <= 0:
            raise ValueError(f"TtlSet needs ttl > 0 and max_entries > 0, got {ttl} and {max_entries}")
        self._ttl = ttl
        self._max = max_entries
        self._clock = clock
        self._expiry: OrderedDict[Hashable, float] = OrderedDict()  # insertion order = expiry order

    def _expire(self) -> None:
        now = self._clock()
        while self._expiry and next(iter(self._expiry.values())) <= now:
            self._expiry.popitem(last=False)

    def __contains__(self, key: Hashable) -> bool:
        self._expire()
        return key in self._expiry

    def add(self, key: Hashable) -> None:
        self._expire()
        self._expiry.pop(key, None)
        self._expiry[key] = self._clock() + self._ttl
        while len(self._expiry) > self._max:
            self._expiry.popitem(last=False)

    def __len__(self) -> int:
        self._expire()
        return len(self._expiry)
