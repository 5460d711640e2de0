"""``AccountWatcher``: reads one exchange account, forever, within the exchange's limits, never crashing.

Each cycle (every ``poll_seconds``) reads the balance and the positions; every ``history_seconds``
it also reads what happened (fills, fees, funding, transfers, closed positions, liquidations,
with a liquidation check for each position that went away since the last read). Before the first read it asks
the exchange what the key may do: a key that can withdraw is refused (``KeyRefused``, the
account is not watched); a key that can trade is watched, with a warning.

When a request fails, the cycle stops and the next one waits (never less than ``poll_seconds``,
so there is no tight loop):
- the exponential backoff with full jitter of the feeds (``Backoff``: ``poll_seconds`` doubling
  up to 5 minutes), reset by the next success;
- at least the ``Retry-After`` the exchange sent (Binance 418/429, Bybit's limit reset time):
  no request goes out inside that window;
- a timestamp error (Binance -1021, Bybit 10002, OKX 50102) first resyncs the clock with the
  exchange's time and retries the request once.
When the exchange reports more than half of its rate limit used, polls stretch in proportion.

Every request is counted in ``ApiStats`` (``trader_api_requests_total``, its duration, and the
failure's bounded reason), one failure as one error.

    watcher = AccountWatcher(config, adapter, api, api_stats)   # see trader/accounts/__init__.py
    await watcher.verify()          # KeyRefused for a key that can withdraw
    task = asyncio.create_task(watcher.run())
    watcher.state.snapshot(now)     # the account's figures (None before the first read)
    watcher.watch_snapshot(now)     # how the watch goes: staleness, rate-limit usage

The journal's hook (issue 13): ``on_read(state, closed)`` is called after every successful read
with the account state (``state.state_to_save()`` is what to write) and the positions that
closed since the last call (the journal's ``trades``); a failing hook is logged, never fatal.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Any, Awaitable, Callable

from trader.accounts.errors import AccountApiError, KeyRefused, Malformed
from trader.accounts.model import ClosedPosition, HistorySince, KeyPermissions
from trader.accounts.state import ExchangeAccountState
from trader.api_stats import ApiStats
from trader.config import ExchangeAccountConfig
from trader.feeds.base import Backoff
from trader.snapshot import AccountWatchSnapshot
from trader.vocabulary import API_ERROR_REASONS

__all__ = ["AccountWatcher"]

_log = logging.getLogger("trader.accounts")
_BACKOFF_CAP_SECONDS = 300.0
_STRETCH_FROM = 0.5  # reported rate-limit usage above which polls stretch
_MAX_STRETCH = 4.0


class _Requests:
    """The facade as the adapter sees it: every request timed and counted, a timestamp error
    resynced and retried once. A request's outcome is committed when the next one starts or when
    the adapter returns, so a body the adapter cannot read counts as one ``malformed`` error."""

    def __init__(self, watcher: "AccountWatcher") -> None:
        self._watcher = watcher
        self._pending: tuple[str, float] | None = None

    async def get(self, endpoint: str, params: dict | None = None):
        self.commit(ok=True)
        try:
            return await self._timed(endpoint, params)
        except AccountApiError as error:
            if error.reason != "timestamp" or endpoint == "time":
                raise
        await self._watcher.resync_clock()
        return await self._timed(endpoint, params)

    async def _timed(self, endpoint: str, params: dict | None):
        w = self._watcher
        try:
            reply = await w.api.get(endpoint, params)
        except AccountApiError as error:
            w.record(endpoint, ok=False, duration=error.seconds, error=error)
            raise
        self._pending = (endpoint, reply.seconds)
        w.observe_usage(endpoint, reply.headers)
        return reply

    def commit(self, ok: bool, error: AccountApiError | None = None) -> None:
        if self._pending is not None:
            endpoint, duration = self._pending
            self._pending = None
            self._watcher.record(endpoint, ok=ok, duration=duration, error=error)


class AccountWatcher:
    def __init__(self, config: ExchangeAccountConfig, adapter: Any, api: Any, api_stats: ApiStats,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], Awaitable] = asyncio.sleep,
                 rng: random.Random | None = None,
                 on_read: Callable[[ExchangeAccountState, list[ClosedPosition]], None] | None = None) -> None:
        self.config = config
        self.name = config.name
        self.exchange = config.exchange
        self.adapter = adapter
        self.api = api
        self.api_stats = api_stats
        self.clock = clock
        self._sleep = sleep
        self.state = ExchangeAccountState(config.name, config.exchange, clock(),
                                          round_trips=adapter.round_trips_from_fills)
        self.status = "verifying"
        self.permissions: KeyPermissions | None = None
        self.last_success: float | None = None
        self.last_error: str | None = None
        self.rate_limit_usage: float | None = None
        self._usage_by_endpoint: dict[str, float] = {}
        self._backoff = Backoff(base=config.poll_seconds, cap=max(_BACKOFF_CAP_SECONDS, config.poll_seconds), rng=rng)
        self._next_history = 0.0
        self._requests = _Requests(self)
        self.on_read = on_read
        for endpoint in api.endpoints:
            api_stats.declare(config.exchange, endpoint, API_ERROR_REASONS)

    # --- requests -----------------------------------------------------------------------------

    def record(self, endpoint: str, ok: bool, duration: float, error: AccountApiError | None = None) -> None:
        self.api_stats.record(self.exchange, endpoint, ok, duration,
                              error=str(error) if error else None, reason=error.reason if error else None)

    def observe_usage(self, endpoint: str, headers) -> None:
        usage = self.adapter.rate_limit_usage(endpoint, headers, self.clock())
        if usage is not None:
            self._usage_by_endpoint[endpoint] = usage
            self.rate_limit_usage = max(self._usage_by_endpoint.values())

    async def resync_clock(self) -> None:
        before = self.clock()
        reply = await self._requests._timed("time", None)
        after = self.clock()
        self._requests.commit(ok=True)
        try:
            server_ms = self.adapter.server_time(reply.body)
        except Malformed as error:
            raise AccountApiError("time", "malformed", str(error)) from None
        offset = (before + after) / 2 * 1000 - server_ms
        self.api.set_time_offset(offset)
        _log.info("exchange account clock resynced", extra={
            "account": self.name, "exchange": self.exchange, "local_ahead_ms": round(offset)})

    async def _call(self, step: Callable[..., Awaitable], *args):
        """One adapter step through the counted requests; its Malformed becomes one malformed error."""
        try:
            result = await step(self._requests, *args)
        except Malformed as error:
            failure = AccountApiError(self._requests._pending[0] if self._requests._pending else "?", "malformed",
                                      self.api.scrub(str(error)))
            self._requests.commit(ok=False, error=failure)
            raise failure from None
        except AccountApiError:
            raise
        self._requests.commit(ok=True)
        return result

    # --- the loop -----------------------------------------------------------------------------

    async def verify(self) -> KeyPermissions:
        """Ask the exchange what the key may do; KeyRefused (and stop) if it can withdraw."""
        permissions = await self._call(self.adapter.permissions)
        title = self.adapter.title
        if permissions.can_withdraw:
            self.status = "refused"
            raise KeyRefused(f"account {self.name!r}: the {title} API key can withdraw ({permissions.detail}): "
                             "refused; create a read-only key (README: Watch your own exchange account)")
        if permissions.can_trade:
            _log.warning("exchange account key can trade: the trader only reads, but a read-only key is safer",
                         extra={"account": self.name, "exchange": self.exchange, "permissions": permissions.detail})
        else:
            _log.info("exchange account key is read-only", extra={
                "account": self.name, "exchange": self.exchange, "permissions": permissions.detail})
        self.permissions = permissions
        self.status = "watching"
        return permissions

    async def run(self) -> None:
        """Poll until cancelled, or until the key is refused."""
        try:
            while True:
                delay = await self.cycle()
                if delay is None:
                    return
                await self._sleep(delay)
        finally:
            await self.api.close()

    async def cycle(self) -> float | None:
        """One poll; the seconds to wait before the next, or None to stop (a refused key)."""
        if self.status == "refused":  # a key that can withdraw is never used again
            return None
        try:
            if self.permissions is None:
                await self.verify()
            reading = await self._call(self.adapter.read)
            now = self.clock()
            self.state.observe(reading, now)
            self.last_success = now
            closed = await self._read_history(now) if now >= self._next_history else []
            self._notify(closed)
        except KeyRefused as refused:
            self.status = "refused"
            _log.error(str(refused), extra={"account": self.name, "exchange": self.exchange})
            return None
        except AccountApiError as error:
            return self._failed(error)
        except Exception:  # a bug must not end the watch: log it, back off, try again
            _log.exception("exchange account watch failed", extra={"account": self.name, "exchange": self.exchange})
            self.status, self.last_error = "backoff", None
            return max(self.config.poll_seconds, self._backoff.next_delay())
        if self.status != "watching" or self.last_error is not None:
            _log.info("exchange account read again", extra={"account": self.name, "exchange": self.exchange})
        self.status, self.last_error = "watching", None
        self._backoff.reset()
        return self.config.poll_seconds * self._stretch()

    async def _read_history(self, now: float) -> list[ClosedPosition]:
        since = HistorySince(dict(self.state.cursor), self.state.started_at)
        history = await self._call(self.adapter.history, since, sorted(self.state.vanished), now)
        closed = self.state.apply(history, now)
        for trade in closed:
            _log.info("exchange account position closed", extra={
                "account": self.name, "exchange": self.exchange, "symbol": trade.symbol, "side": trade.side,
                "net_pnl_usdt": round(trade.net_pnl, 2), "exit_reason": "liquidation" if trade.liquidated else "external"})
        for liquidation in history.liquidations:
            _log.warning("exchange account position liquidated", extra={
                "account": self.name, "exchange": self.exchange, "symbol": liquidation.symbol})
        self._next_history = now + self.config.history_seconds
        return closed

    def _notify(self, closed: list[ClosedPosition]) -> None:
        if self.on_read is None:
            return
        try:
            self.on_read(self.state, closed)
        except Exception:
            _log.exception("exchange account journal hook failed", extra={"account": self.name, "exchange": self.exchange})

    def _failed(self, error: AccountApiError) -> float:
        delay = max(self.config.poll_seconds, self._backoff.next_delay(), error.retry_after or 0.0)
        self.status, self.last_error = "backoff", error.reason
        _log.warning("exchange account read failed", extra={
            "account": self.name, "exchange": self.exchange, "endpoint": error.endpoint, "reason": error.reason,
            "http_status": error.status, "error": error.detail, "retry_in_seconds": round(delay, 2)})
        return delay

    def _stretch(self) -> float:
        usage = self.rate_limit_usage or 0.0
        return min(_MAX_STRETCH, usage / _STRETCH_FROM) if usage > _STRETCH_FROM else 1.0

    def watch_snapshot(self, now: float) -> AccountWatchSnapshot:
        return AccountWatchSnapshot(
            account=self.name, exchange=self.exchange, state=self.status,
            last_success_ts=self.last_success if self.last_success is not None else self.state.started_at,
            rate_limit_usage_ratio=self.rate_limit_usage, last_error=self.last_error,
            key_can_trade=self.permissions.can_trade if self.permissions else None)
