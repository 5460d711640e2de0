"""What every feed shares: the ``Feed`` interface, the message handler base, reconnect/backoff.

A *handler* (one per exchange: ``BinanceHandler``, ``BybitHandler``, ``OkxHandler``) turns one
raw message into state updates (``MarketState``) and bus events; it never raises. The live feeds
(``WebSocketFeed`` subclasses) and the replay feed both drive the same handlers, so a replay tests
exactly the parsing that runs live. Each exchange is registered once in ``trader/exchanges.py``.

An exchange adapter is a handler and a feed. What each one implements (*must*) or may override
(*may*), and what the base does with it:

| class | hook | | what it does |
|---|---|---|---|
| ``ExchangeHandler`` | ``handle(msg, recv_ts)`` | must | dispatch one decoded message; read the wire fields, then call the shared steps below |
| | ``on_trade`` / ``on_quote`` / ``on_mark`` / ``on_liquidation`` | call | validate (``check_price``, ``check_quantity``, ``check_rate``), update ``SymbolState``, count, publish the event |
| | ``book_gap(key, symbol, reason, channel)`` | call | a broken book: count the gap once, clear the book, wait for a snapshot, ask the feed to resubscribe ``channel`` |
| | ``book_resynced(key, symbol, recv_ts)`` | call | a snapshot rebuilt a book that waited after a gap: publish ``FeedResynced`` |
| | ``reset_sequences()`` | may | forget sequence state; the feed calls it when a connection ends |
| ``WebSocketFeed`` | ``url`` | must | the endpoint, from the registration's default endpoints or the caller's |
| | ``subscribe(ws)`` | must | send the subscriptions once connected |
| | ``resubscribe_messages(channel)`` | may | the frames that make the exchange send a fresh snapshot of ``channel``; none: a gap waits for the next connection |
| | ``prepare()`` | may | REST look-ups before each connection attempt (may raise to back off) |
| | ``on_connected(ws)`` / ``on_disconnected()`` | may | start or stop helper tasks around a connection |
| | ``app_ping``, ``ping_interval`` | may | an application-level heartbeat |
| | ``receive_timeout``, ``max_connection_age`` | may | when a silent connection is dead; when to leave before the exchange closes it |

Errors in a message are counted in ``FeedStats.rejected`` by reason (``vocabulary.FEED_REJECT_REASONS``):
- ``parse_error``: not JSON;
- ``schema``: JSON, but a field is missing or has the wrong type (including a non-numeric string);
- ``invalid_value``: a number that cannot be a market figure (NaN, infinite, price <= 0,
  negative quantity).
Each rejection publishes ``MessageRejected``; logs are rate-limited (one line per reason per
``_REJECT_LOG_INTERVAL`` seconds, with the count of the suppressed ones).
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import time
from typing import Any, Callable, Protocol

import orjson
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, InvalidURI

from trader.api_stats import ApiStats
from trader.book import InvalidValue
from trader.bus import EventBus
from trader.events import (FeedConnected, FeedDisconnected, FeedResynced, MarketLiquidation, MarkPrice,
                           MessageRejected, Quote, Trade)
from trader.market import FeedStats, MarketState, SymbolState
from trader.vocabulary import FeedRejectReason, Side

__all__ = ["Feed", "ExchangeHandler", "Backoff", "WebSocketFeed", "InvalidValue", "HttpError", "describe_error",
           "check_price", "check_quantity", "check_rate", "INF"]

INF = float("inf")
_REJECT_LOG_INTERVAL = 10.0  # seconds between two log lines about rejected messages (per reason)
_log = logging.getLogger("trader.feeds")


class HttpError(Exception):
    """A REST call answered with a non-200 status (e.g. 451 from a region block)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status} {message}".strip())
        self.status = status
        self.message = message


class Feed(Protocol):
    """A source of market data for one exchange. ``run()`` returns when the feed ends (a replay
    reaches its end) or is cancelled; live and simulated feeds run until cancelled."""

    exchange: str

    async def run(self) -> Any: ...


class Backoff:
    """Exponential backoff with full jitter: delay = uniform(0, min(cap, base * 2**attempt)).

    Full jitter spreads the reconnects of many clients after an exchange-wide outage (AWS
    Architecture Blog, "Exponential Backoff And Jitter").

        >>> b = Backoff(base=1.0, cap=60.0, rng=random.Random(0))
        >>> all(0 <= b.next_delay() <= 60 for _ in range(20))
        True
    """

    def __init__(self, base: float = 0.5, cap: float = 60.0, rng: random.Random | None = None) -> None:
        self.base = base
        self.cap = cap
        self.attempt = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        ceiling = min(self.cap, self.base * (2 ** min(self.attempt, 30)))
        self.attempt += 1
        return self._rng.uniform(0.0, ceiling)

    def reset(self) -> None:
        self.attempt = 0


def describe_error(exc: BaseException) -> str:
    """One line, no secrets, for FeedStats.last_error, FeedDisconnected.reason and the log."""
    if isinstance(exc, InvalidStatus):
        response = exc.response
        return f"HTTP {response.status_code} {response.reason_phrase}".strip()
    status = getattr(exc, "status", None)  # aiohttp.ClientResponseError
    if isinstance(status, int):
        return f"HTTP {status} {getattr(exc, 'message', '')}".strip()
    if isinstance(exc, ConnectionClosed):
        rcvd = exc.rcvd
        if rcvd is None:
            return "connection closed without a close frame"
        return f"server closed ({rcvd.code}{' ' + rcvd.reason if rcvd.reason else ''})"
    if isinstance(exc, socket.gaierror):
        return f"DNS failure: {exc.strerror or exc}"
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return str(exc) or "timeout"
    if isinstance(exc, InvalidURI):
        return f"invalid URL: {exc}"
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:200]


class ExchangeHandler:
    """Base of the per-exchange message handlers. Subclasses implement ``handle(msg, recv_ts)``.

    ``counts`` holds plain-int counters by message kind (trade, quote, depth, mark, liquidation,
    control, ignored) for replay summaries and tests.
    """

    exchange = "exchange"

    def __init__(self, bus: EventBus, market: MarketState, exchange: str | None = None) -> None:
        if exchange is not None:
            self.exchange = exchange
        self.bus = bus
        self.market = market
        self.stats: FeedStats = market.feed(self.exchange)
        self.counts = dict.fromkeys(("trade", "quote", "depth", "snapshot", "mark", "liquidation", "control", "ignored"), 0)
        self._states: dict[str, SymbolState] = {}
        # Replay: the symbol of the file being read, for messages that do not name it (the REST
        # depth snapshot an hftbacktest recording carries in-line).
        self.context_symbol: str | None = None
        self._reject_logged_at: dict[str, float] = {}
        self._reject_suppressed: dict[str, int] = {}
        # Books that wait for a fresh snapshot after a gap: the handler's book key -> why.
        self.resyncing: dict[str, str] = {}
        # Live: callable(channel) that resubscribes a book channel, so the exchange sends a snapshot.
        self.on_gap: Callable[[str], None] | None = None

    def state(self, symbol: str) -> SymbolState:
        s = self._states.get(symbol)
        if s is None:
            s = self._states[symbol] = self.market.symbol(self.exchange, symbol)
        return s

    # --- the shared steps a parser ends in: validate, update the state, count, publish ----------
    # Every value is checked before any state changes, so a rejected message leaves no trace.

    def on_trade(self, symbol: str, ts: float, recv_ts: float, price: float, quantity: float, side: Side) -> None:
        """A market trade; ``side`` is the aggressor's."""
        check_price(price, "trade price")
        check_quantity(quantity, "trade quantity", positive=True)
        check_side(side, "trade side")
        s = self.state(symbol)
        s.last_price = price
        s.last_quantity = quantity
        s.last_trade_ts = ts
        s.last_message_ts = recv_ts
        self.counts["trade"] += 1
        self.bus.publish(Trade(self.exchange, symbol, ts, recv_ts, price, quantity, side))

    def on_quote(self, symbol: str, ts: float, recv_ts: float, bid: float, bid_quantity: float, ask: float,
                 ask_quantity: float) -> None:
        """The best bid and ask."""
        check_price(bid, "best bid")
        check_price(ask, "best ask")
        check_quantity(bid_quantity, "best bid quantity")
        check_quantity(ask_quantity, "best ask quantity")
        s = self.state(symbol)
        s.bid = bid
        s.bid_quantity = bid_quantity
        s.ask = ask
        s.ask_quantity = ask_quantity
        s.quote_ts = ts
        s.last_message_ts = recv_ts
        self.counts["quote"] += 1
        self.bus.publish(Quote(self.exchange, symbol, ts, recv_ts, bid, bid_quantity, ask, ask_quantity))

    def on_mark(self, symbol: str, ts: float, recv_ts: float, mark: float, index: float | None,
                funding_rate: float | None, next_funding_ts: float | None) -> None:
        """The mark price, with the index price and funding the exchange sent beside it (None: unknown)."""
        check_price(mark, "mark price")
        if funding_rate is not None:
            check_rate(funding_rate, "funding rate")
        s = self.state(symbol)
        s.mark_price = mark
        s.index_price = index
        s.funding_rate = funding_rate
        s.next_funding_ts = next_funding_ts
        s.last_message_ts = recv_ts
        self.counts["mark"] += 1
        self.bus.publish(MarkPrice(self.exchange, symbol, ts, mark, index, funding_rate, next_funding_ts))

    def on_liquidation(self, symbol: str, ts: float, recv_ts: float, side: Side, price: float,
                       quantity: float) -> None:
        """A forced liquidation the exchange published; ``side`` is the liquidation order's
        ("sell" when a long was liquidated)."""
        check_price(price, "liquidation price")
        check_quantity(quantity, "liquidation quantity", positive=True)
        check_side(side, "liquidation side")
        s = self.state(symbol)
        s.last_message_ts = recv_ts
        s.liquidations[side] += 1
        self.counts["liquidation"] += 1
        self.bus.publish(MarketLiquidation(self.exchange, symbol, ts, side, price, quantity))

    def on_message(self, raw: bytes | str, recv_ts: float) -> None:
        """Process one raw message. Never raises (a bad message is counted and logged)."""
        self.stats.messages += 1
        try:
            msg = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            self.reject("parse_error", f"not JSON: {exc}", recv_ts)
            return
        try:
            self.handle(msg, recv_ts)
        except InvalidValue as exc:
            self.reject("invalid_value", str(exc), recv_ts)
        except (KeyError, TypeError, IndexError, ValueError, AttributeError) as exc:
            self.reject("schema", f"{type(exc).__name__}: {exc}", recv_ts)

    def handle(self, msg: Any, recv_ts: float) -> None:
        raise NotImplementedError

    def book_gap(self, key: str, symbol: str, reason: str, channel: str) -> None:
        """The local book of ``symbol`` is wrong: count the gap once, empty the book, and wait for
        a fresh snapshot, which a live feed asks for by resubscribing ``channel``."""
        gaps = self.stats.sequence_gaps
        gaps[symbol] = gaps.get(symbol, 0) + 1
        _log.warning("order book sequence gap, resynchronising",
                     extra={"exchange": self.exchange, "symbol": symbol, "detail": reason})
        self.state(symbol).book.clear()
        self.resyncing[key] = reason
        if self.on_gap is not None:
            self.on_gap(channel)

    def book_resynced(self, key: str, symbol: str, recv_ts: float) -> None:
        """A snapshot rebuilt the book of ``symbol``: tell, if it was waiting after a gap."""
        reason = self.resyncing.pop(key, None)
        if reason is not None:
            self.bus.publish(FeedResynced(self.exchange, symbol, recv_ts, reason + "; book rebuilt from a fresh snapshot"))
            _log.info("order book resynchronised from a snapshot", extra={"exchange": self.exchange, "symbol": symbol})

    def syncing(self, key: str) -> bool:
        """True while the book ``key`` waits for a fresh snapshot after a gap."""
        return key in self.resyncing

    def reset_sequences(self) -> None:
        """Forget sequence state (a new connection starts every book from its snapshot)."""
        self.resyncing.clear()

    def reject(self, reason: FeedRejectReason, detail: str, ts: float) -> None:
        detail = detail[:160]
        self.stats.rejected[reason] = self.stats.rejected.get(reason, 0) + 1
        self.bus.publish(MessageRejected(self.exchange, ts, reason, detail))
        now = time.monotonic()
        last = self._reject_logged_at.get(reason)
        if last is not None and now - last < _REJECT_LOG_INTERVAL:
            self._reject_suppressed[reason] = self._reject_suppressed.get(reason, 0) + 1
            return
        self._reject_logged_at[reason] = now
        suppressed = self._reject_suppressed.pop(reason, 0)
        _log.warning("market data message rejected", extra={
            "exchange": self.exchange, "reason": reason, "detail": detail, "suppressed_since_last": suppressed})


def check_price(value: float, what: str) -> float:
    """``value`` if it can be a price (finite, > 0), else InvalidValue naming ``what``.

        >>> check_price(float("nan"), "trade price")
        Traceback (most recent call last):
        ...
        trader.book.InvalidValue: trade price=nan: expected a finite price > 0
    """
    if not 0.0 < value < INF:
        raise InvalidValue(f"{what}={value!r}: expected a finite price > 0")
    return value


def check_quantity(value: float, what: str, *, positive: bool = False) -> float:
    """``value`` if it can be a quantity (finite, >= 0; > 0 with ``positive``: a trade's size)."""
    if not (0.0 < value < INF if positive else 0.0 <= value < INF):
        raise InvalidValue(f"{what}={value!r}: expected a finite quantity {'> 0' if positive else '>= 0'}")
    return value


def check_rate(value: float, what: str) -> float:
    """``value`` if it can be a funding rate per interval: strictly between -1 and 1."""
    if not -1.0 < value < 1.0:
        raise InvalidValue(f"{what}={value!r}: expected a rate in (-1, 1)")
    return value


def check_side(value: str, what: str) -> Side:
    if value != "buy" and value != "sell":
        raise InvalidValue(f"{what}={value!r}: expected buy or sell")
    return value


class WebSocketFeed:
    """A live feed over one WebSocket connection, reconnecting forever with backoff.

    Subclasses set ``url`` and implement ``subscribe(ws)``; the other hooks are in the module's
    table: e.g. ``app_ping`` (OKX "ping", Bybit ``{"op":"ping"}``), ``max_connection_age``
    (Binance closes connections after 24 h: we leave first), ``resubscribe_messages`` (Bybit and
    OKX answer a subscribe with a fresh book snapshot).

    State changes are logged once each (connected; disconnected/backoff with the error); a
    retry that fails the same way as the previous one is not logged again.
    """

    url: str = ""
    app_ping: str | None = None
    ping_interval = 20.0  # seconds between application pings (exchanges drop idle clients at 30 s)
    receive_timeout = 30.0  # no message for this long: the connection is dead
    max_connection_age: float | None = None
    stable_after = 10.0  # a connection that lived this long resets the backoff

    def __init__(self, handler: ExchangeHandler, api_stats: ApiStats | None = None,
                 backoff: Backoff | None = None) -> None:
        self.handler = handler
        self.exchange = handler.exchange
        self.bus = handler.bus
        self.stats = handler.stats
        self.api_stats = api_stats if api_stats is not None else ApiStats(handler.bus)
        self.backoff = backoff or Backoff()
        self._logged_error: str | None = None
        self._logged_connected = False
        self._ws = None  # the open connection, while there is one
        self._background: set[asyncio.Task] = set()  # fire-and-forget sends, referenced until done
        handler.on_gap = self.resubscribe  # a broken book asks the exchange for a fresh snapshot

    # --- hooks ----------------------------------------------------------------------------

    async def prepare(self) -> None:
        """Run before each connection attempt (REST look-ups); may raise to back off."""

    async def subscribe(self, ws) -> None:
        raise NotImplementedError

    def resubscribe_messages(self, channel: str) -> list[str]:
        """The frames that make the exchange send a fresh snapshot of the book ``channel``
        (the handler's name for it); none by default."""
        return []

    async def on_connected(self, ws) -> None:
        """Run after subscribing (e.g. start book resyncs)."""

    async def on_disconnected(self) -> None:
        """Run after a connection ended: the handler forgets its sequence state (the next
        connection starts every book from a snapshot); subclasses also cancel helper tasks."""
        self.handler.reset_sequences()

    # --- the loop -------------------------------------------------------------------------

    async def run(self) -> None:
        self.stats.state = "connecting"
        try:
            while True:
                delay, reason = await self._connect_once()
                # A planned reconnect (delay 0) is not an error: last_error keeps the last real one.
                self.stats.mark_disconnected("backoff" if delay > 0 else "connecting", reason if delay > 0 else None)
                if delay > 0:
                    self._log_failure(reason, delay)
                await asyncio.sleep(delay)
                self.stats.state = "connecting"
        except asyncio.CancelledError:
            self.stats.mark_disconnected("stopped", None)
            raise

    async def _connect_once(self) -> tuple[float, str]:
        """One connection's life. Returns (delay before the next attempt, why it ended)."""
        connected_at = None
        reason = "closed"
        try:
            await self.prepare()
            async with connect(self.url, open_timeout=10, ping_interval=20, ping_timeout=20,
                               close_timeout=2, max_size=2 ** 24, max_queue=4096) as ws:
                self._ws = ws
                await self.subscribe(ws)
                connected_at = time.monotonic()
                self.stats.mark_connected(time.time())
                self.bus.publish(FeedConnected(self.exchange, time.time()))
                if not self._logged_connected or self._logged_error is not None:
                    _log.info("feed connected", extra={"exchange": self.exchange, "url": self.url})
                self._logged_connected = True
                self._logged_error = None
                await self.on_connected(ws)
                reason = await self._read(ws, connected_at)
                return 0.0, reason  # a planned reconnect: no backoff
        except asyncio.CancelledError:
            reason = "stopped"
            raise
        except Exception as exc:  # noqa: BLE001 - every failure of a connection means "retry later"
            reason = describe_error(exc)
            if connected_at is not None and time.monotonic() - connected_at >= self.stable_after:
                self.backoff.reset()
            return self.backoff.next_delay(), reason
        finally:
            self._ws = None
            if connected_at is not None:
                self.stats.connected = False
                self.bus.publish(FeedDisconnected(self.exchange, time.time(), reason))
            await self.on_disconnected()

    def resubscribe(self, channel: str) -> None:
        """Send ``resubscribe_messages(channel)`` without waiting (called from a message handler):
        the exchange answers with a fresh book snapshot. Not connected: the next connection
        subscribes, and gets a snapshot, anyway."""
        ws = self._ws
        frames = self.resubscribe_messages(channel)
        if ws is None or not frames:
            return

        async def send() -> None:
            try:
                for frame in frames:
                    await ws.send(frame)
            except Exception as exc:  # noqa: BLE001 - the read loop will see the broken connection
                _log.warning("resubscribe failed", extra={"exchange": self.exchange, "error": describe_error(exc)})

        task = asyncio.get_running_loop().create_task(send())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _read(self, ws, connected_at: float) -> str:
        on_message = self.handler.on_message
        ping_task = asyncio.create_task(self._ping(ws)) if self.app_ping is not None else None
        max_age = self.max_connection_age
        try:
            while True:
                timeout = self.receive_timeout
                if max_age is not None:
                    left = max_age - (time.monotonic() - connected_at)
                    if left <= 0:
                        _log.info("planned reconnect before the exchange's connection age limit",
                                  extra={"exchange": self.exchange, "max_connection_age": max_age})
                        return "planned reconnect (connection age limit)"
                    timeout = min(timeout, left)
                try:
                    async with asyncio.timeout(timeout):
                        raw = await ws.recv()
                except TimeoutError:
                    if max_age is not None and time.monotonic() - connected_at >= max_age:
                        continue
                    raise TimeoutError(f"no message for {self.receive_timeout:.0f} s (heartbeat timeout)")
                on_message(raw, time.time())
        finally:
            if ping_task is not None:
                ping_task.cancel()

    async def _ping(self, ws) -> None:
        try:
            while True:
                await asyncio.sleep(self.ping_interval)
                await ws.send(self.app_ping)
        except ConnectionClosed:
            return  # the read loop reports the closed connection

    def _log_failure(self, reason: str, delay: float) -> None:
        if reason == self._logged_error:
            _log.debug("feed retry failed again", extra={"exchange": self.exchange, "error": reason})
            return
        self._logged_error = reason
        _log.warning("feed unavailable, retrying with backoff", extra={
            "exchange": self.exchange, "error": reason, "next_retry_seconds": round(delay, 2)})
