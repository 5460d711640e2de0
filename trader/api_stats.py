"""Counts of requests to exchange APIs, and one ``ApiRequest`` event per request on the bus.

Used by the feeds (REST depth snapshots, instrument lists) and by the paper broker (simulated
order endpoints). ``endpoint`` must come from a fixed list per caller (it becomes a label).

    >>> from trader.bus import EventBus
    >>> stats = ApiStats(EventBus())
    >>> stats.record("binance", "depth_snapshot", ok=True, duration=0.12)
    >>> stats.record("binance", "depth_snapshot", ok=False, duration=0.5, error="HTTP 451")
    >>> stats.snapshot()[("binance", "depth_snapshot", "error")]
    1
    >>> with stats.measure("okx", "instruments") as call:
    ...     call.fail("timeout")     # or leave it: ok unless an exception escapes
    >>> stats.snapshot()[("okx", "instruments", "error")]
    1

Exchange accounts also say why a request failed, from a bounded list (``reason``, one of
``vocabulary.API_ERROR_REASONS``); those counts are ``errors_snapshot()``:

    >>> stats.declare("bybit", "wallet_balance", reasons=("auth", "timeout"))
    >>> stats.record("bybit", "wallet_balance", ok=False, duration=0.2, error="HTTP 401", reason="auth")
    >>> stats.errors_snapshot()[("bybit", "wallet_balance", "auth")], stats.errors_snapshot()[("bybit", "wallet_balance", "timeout")]
    (1, 0)
"""

from __future__ import annotations

import time
from typing import Callable

from trader.bus import EventBus
from trader.events import ApiRequest

__all__ = ["ApiStats"]


class ApiStats:
    def __init__(self, bus: EventBus | None = None, clock: Callable[[], float] = time.time) -> None:
        self._bus = bus
        self._clock = clock
        self.counts: dict[tuple[str, str, str], int] = {}
        self.errors: dict[tuple[str, str, str], int] = {}  # (exchange, endpoint, reason) -> failures

    def declare(self, exchange: str, endpoint: str, reasons: tuple[str, ...] = ()) -> None:
        """Create the ok/error counters (and the error ``reasons``' counters) at zero, so exporters
        show the series before a request."""
        self.counts.setdefault((exchange, endpoint, "ok"), 0)
        self.counts.setdefault((exchange, endpoint, "error"), 0)
        for reason in reasons:
            self.errors.setdefault((exchange, endpoint, reason), 0)

    def record(self, exchange: str, endpoint: str, ok: bool, duration: float, error: str | None = None,
               reason: str | None = None) -> None:
        key = (exchange, endpoint, "ok" if ok else "error")
        self.counts[key] = self.counts.get(key, 0) + 1
        if not ok and reason is not None:
            failure = (exchange, endpoint, reason)
            self.errors[failure] = self.errors.get(failure, 0) + 1
        if self._bus is not None:
            self._bus.publish(ApiRequest(exchange, endpoint, self._clock(), duration, ok, error))

    def measure(self, exchange: str, endpoint: str) -> "_Measure":
        """Context manager timing one request (monotonic clock); an exception escaping it, or
        ``call.fail(error)``, records an error."""
        return _Measure(self, exchange, endpoint)

    def snapshot(self) -> dict[tuple[str, str, str], int]:
        """(exchange, endpoint, "ok"|"error") -> count, a copy."""
        return dict(self.counts)

    def errors_snapshot(self) -> dict[tuple[str, str, str], int]:
        """(exchange, endpoint, reason) -> failed requests, a copy."""
        return dict(self.errors)


class _Measure:
    __slots__ = ("_stats", "_exchange", "_endpoint", "_start", "_error")

    def __init__(self, stats: ApiStats, exchange: str, endpoint: str) -> None:
        self._stats = stats
        self._exchange = exchange
        self._endpoint = endpoint
        self._error: str | None = None
        self._start = 0.0

    def fail(self, error: str) -> None:
        self._error = error

    def __enter__(self) -> "_Measure":
        self._start = time.monotonic()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        duration = time.monotonic() - self._start
        error = self._error
        if exc is not None and error is None:
            error = f"{type(exc).__name__}: {exc}"[:200]
        self._stats.record(self._exchange, self._endpoint, error is None, duration, error)
