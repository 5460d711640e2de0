"""Binance USDⓈ-M futures: public market streams, no API key.

Wire format: combined streams ``wss://fstream.binance.com/stream?streams=btcusdt@trade/...``,
each message ``{"stream": "<name>", "data": {...}}`` (a raw stream sends ``data`` alone).
Payloads used (field names as Binance sends them):

- ``trade``: ``s`` symbol, ``T`` trade time ms, ``p`` price, ``q`` quantity, ``m`` buyer is the
  maker (so the aggressor sold), ``X`` order type (only ``MARKET`` trades are market trades;
  ``INSURANCE_FUND``/``ADL`` are liquidation machinery). ``aggTrade`` has the same fields.
- ``bookTicker``: ``b``/``B`` best bid price/qty, ``a``/``A`` best ask price/qty, ``T`` ms.
- ``depthUpdate``: ``U`` first and ``u`` last update id in the event, ``pu`` the previous
  event's ``u``; ``b``/``a`` absolute levels ``[price, qty]`` (qty "0" removes the level).
- ``markPriceUpdate``: ``p`` mark, ``i`` index, ``r`` funding rate, ``T`` next funding time ms.
- ``forceOrder``: ``o`` = {``s``, ``S`` order side, ``p`` price, ``ap`` average price,
  ``z`` filled quantity, ``T`` ms}: an exchange liquidation (side = the liquidation order's side,
  "sell" when a long was liquidated).
- ``kline``: counted and ignored.

Order book (Binance "How to manage a local order book correctly", USDⓈ-M): buffer the stream,
GET ``/fapi/v1/depth?symbol=X&limit=1000``, drop events with ``u`` < ``lastUpdateId``, the first
applied event must have ``U`` <= ``lastUpdateId`` <= ``u``, and every next event's ``pu`` must
equal the previous ``u``; otherwise re-initialise. Without a snapshot source (replay), the book is
seeded from the first depth event and, after a gap, reseeded from the next one.

Usage (``make_feeds`` does this with the endpoints registered in trader/exchanges.py):
    handler = BinanceHandler(bus, market)          # parsing + state, shared with replay
    feed = BinanceFeed(handler, ["BTCUSDT"], api_stats,
                       ws_base="wss://fstream.binance.com", rest_base="https://fapi.binance.com")
    await feed.run()
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import Callable

import aiohttp
import orjson

from trader.api_stats import ApiStats
from trader.book import parse_levels, parse_side
from trader.events import DepthUpdate, FeedResynced
from trader.feeds.base import Backoff, ExchangeHandler, WebSocketFeed, check_price, check_quantity, describe_error

__all__ = ["BinanceHandler", "BinanceFeed"]

SNAPSHOT_LIMIT = 1000  # levels per side in the REST snapshot (weight 20)
_RECENT_EVENTS = 200  # replay: applied events kept to bridge an in-line snapshot
_BUFFER_LIMIT = 10_000  # depth events kept while a snapshot is fetched; beyond: start over
_log = logging.getLogger("trader.feeds.binance")


class _DepthSync:
    """Sequence state of one symbol's depth stream."""

    __slots__ = ("last_u", "syncing", "buffer", "snapshot_id", "recent")

    def __init__(self) -> None:
        self.last_u: int | None = None  # ``u`` of the last applied event
        self.syncing = False  # waiting for a REST snapshot; events go to ``buffer``
        self.buffer: list[tuple] = []
        self.snapshot_id: int | None = None  # lastUpdateId of a snapshot not yet bridged
        # Replay only: the last applied events. A recorded REST snapshot arrives after the
        # events that bridge it were read; live, those would sit in ``buffer``.
        self.recent: deque[tuple] = deque(maxlen=_RECENT_EVENTS)


class BinanceHandler(ExchangeHandler):
    exchange = "binance"

    def __init__(self, bus, market, exchange: str | None = None,
                 request_snapshot: Callable[[str], None] | None = None) -> None:
        super().__init__(bus, market, exchange)
        # Live: a callable that fetches a REST snapshot and calls ``apply_snapshot``.
        # None (replay): seed the book from the stream itself.
        self.request_snapshot = request_snapshot
        self._depth: dict[str, _DepthSync] = {}

    def handle(self, msg, recv_ts: float) -> None:
        data = msg.get("data", msg) if type(msg) is dict else msg
        event = data.get("e")
        if event == "bookTicker":
            self._book_ticker(data, recv_ts)
        elif event == "trade" or event == "aggTrade":
            self._trade(data, recv_ts)
        elif event == "depthUpdate":
            self._depth_update(data, recv_ts)
        elif event == "markPriceUpdate":
            self._mark_price(data, recv_ts)
        elif event == "forceOrder":
            self._force_order(data, recv_ts)
        elif event is None and "lastUpdateId" in data:
            self._rest_snapshot(data, recv_ts)
        elif event is None and ("result" in data or "id" in data):
            self.counts["control"] += 1  # {"result": null, "id": 1}: a subscribe acknowledgement
        elif type(event) is str:
            self.counts["ignored"] += 1  # kline and other streams we do not use
        else:
            raise KeyError("e")

    def _book_ticker(self, d: dict, recv_ts: float) -> None:
        self.on_quote(d["s"], d["T"] / 1000.0, recv_ts, float(d["b"]), float(d["B"]), float(d["a"]), float(d["A"]))

    def _trade(self, d: dict, recv_ts: float) -> None:
        price, quantity, symbol = float(d["p"]), float(d["q"]), d["s"]
        if d.get("X", "MARKET") != "MARKET":
            # Insurance fund and ADL fills are liquidation machinery, not market trades: checked
            # like any trade, then counted as ignored.
            check_price(price, "trade price")
            check_quantity(quantity, "trade quantity", positive=True)
            self.state(symbol).last_message_ts = recv_ts
            self.counts["ignored"] += 1
            return
        self.on_trade(symbol, d["T"] / 1000.0, recv_ts, price, quantity, "sell" if d["m"] else "buy")

    def _mark_price(self, d: dict, recv_ts: float) -> None:
        index = float(d["i"]) if d.get("i") else None
        funding = float(d["r"]) if d.get("r") not in (None, "") else None
        next_funding = d["T"] / 1000.0 if d.get("T") else None
        self.on_mark(d["s"], d["E"] / 1000.0, recv_ts, float(d["p"]), index, funding, next_funding)

    def _force_order(self, d: dict, recv_ts: float) -> None:
        o = d["o"]
        price = float(o.get("ap") or o["p"])
        quantity = float(o.get("z") or o["q"])
        self.on_liquidation(o["s"], o["T"] / 1000.0, recv_ts, o["S"].lower(), price, quantity)

    # --- order book -----------------------------------------------------------------------

    def _rest_snapshot(self, d: dict, recv_ts: float) -> None:
        """A REST depth snapshot recorded in-line (hftbacktest recordings carry the one the
        recorder fetched): install it as the live feed would."""
        symbol = d.get("s") or self.context_symbol
        if symbol is None:
            raise KeyError("s (a depth snapshot without a symbol outside a single-symbol replay)")
        self.counts["snapshot"] += 1
        sync = self._depth.get(symbol)
        if sync is not None and not sync.syncing:
            # Re-run the events read since the recorder asked for the snapshot over it, as the
            # live procedure does with its buffer (events older than the snapshot are dropped).
            sync.buffer = list(sync.recent)
            sync.recent.clear()
        self.apply_snapshot(symbol, d)
        s = self.state(symbol)
        s.last_message_ts = recv_ts
        self.bus.publish(DepthUpdate(self.exchange, symbol, d.get("E", recv_ts * 1000.0) / 1000.0, recv_ts))

    def _depth_update(self, d: dict, recv_ts: float) -> None:
        first, last, prev = d["U"], d["u"], d["pu"]
        if not (type(first) is int and type(last) is int and type(prev) is int):
            raise TypeError(f"depthUpdate U/u/pu must be integers, got {first!r}/{last!r}/{prev!r}")
        bids = parse_side(d["b"])  # parse (and validate) before touching the book
        asks = parse_side(d["a"])
        symbol = d["s"]
        s = self.state(symbol)
        s.last_message_ts = recv_ts
        self.counts["depth"] += 1
        self._on_depth(symbol, first, last, prev, bids, asks, d["E"] / 1000.0, recv_ts)

    def _on_depth(self, symbol: str, first: int, last: int, prev: int, bids, asks, ts: float, recv_ts: float) -> None:
        """Apply (or buffer) one depth event; ``bids``/``asks`` are ``parse_side``'s (prices, quantities)."""
        sync = self._depth.get(symbol)
        if sync is None:
            sync = self._depth[symbol] = _DepthSync()
        if sync.syncing:
            if len(sync.buffer) >= _BUFFER_LIMIT:
                sync.buffer.clear()  # the snapshot is not coming soon; keep the newest only
            sync.buffer.append((first, last, prev, bids, asks, ts, recv_ts))
            return
        s = self._states[symbol]
        if sync.snapshot_id is not None:
            # Bridging a fresh REST snapshot to the stream (Binance's documented procedure).
            if last < sync.snapshot_id:
                return  # older than the snapshot
            if first > sync.snapshot_id:
                # The snapshot is older than the first event we hold: fetch another one.
                sync.snapshot_id = None
                if self.request_snapshot is not None:
                    self._start_sync(symbol, sync, (first, last, prev, bids, asks, ts, recv_ts))
                    return
                # Replay: no other snapshot will come; the book restarts from the stream.
                s.book.clear()
                self.bus.publish(FeedResynced(self.exchange, symbol, recv_ts,
                                              f"snapshot {first - 1} older than the stream; book reseeded from the stream"))
            sync.snapshot_id = None
        elif sync.last_u is None:
            if self.request_snapshot is not None:
                self._start_sync(symbol, sync, (first, last, prev, bids, asks, ts, recv_ts))
                return
            # Replay: no snapshot exists; the first event of a recording has no predecessor.
        elif prev != sync.last_u:
            reason = f"sequence gap: pu={prev} but the last applied u={sync.last_u}"
            self.book_gap(symbol, symbol, reason, symbol)  # counted, book cleared, waiting for a snapshot
            if self.request_snapshot is not None:
                self._start_sync(symbol, sync, (first, last, prev, bids, asks, ts, recv_ts))
                return
            # Replay: no snapshot will come; the book restarts from this event.
            del self.resyncing[symbol]
            self.bus.publish(FeedResynced(self.exchange, symbol, recv_ts,
                                          reason + "; book reseeded from the stream (no REST snapshot)"))
        book = s.book
        book.apply(zip(*bids), zip(*asks))  # (prices, quantities) -> (price, quantity) pairs
        sync.last_u = last
        if self.request_snapshot is None:
            sync.recent.append((first, last, prev, bids, asks, ts, recv_ts))
        self.bus.publish(DepthUpdate(self.exchange, symbol, ts, recv_ts))

    def _start_sync(self, symbol: str, sync: _DepthSync, event: tuple) -> None:
        sync.syncing = True
        sync.buffer = [event]
        sync.last_u = None
        self.request_snapshot(symbol)  # type: ignore[misc]

    def apply_snapshot(self, symbol: str, snapshot: dict) -> None:
        """Install a REST depth snapshot (``{"lastUpdateId", "bids", "asks"}``) and replay the
        buffered events over it. Raises on a malformed snapshot (the caller retries)."""
        last_update_id = snapshot["lastUpdateId"]
        bids = parse_levels(snapshot["bids"])
        asks = parse_levels(snapshot["asks"])
        if type(last_update_id) is not int:
            raise TypeError(f"lastUpdateId must be an integer, got {last_update_id!r}")
        sync = self._depth.setdefault(symbol, _DepthSync())
        self.state(symbol).book.replace(bids, asks)
        sync.syncing = False
        sync.last_u = None
        sync.snapshot_id = last_update_id
        buffered, sync.buffer = sync.buffer, []
        for event in buffered:
            self._on_depth(symbol, *event)
        if not sync.syncing:  # bridged: a book that waited after a gap is whole again
            self.book_resynced(symbol, symbol, time.time())

    def syncing(self, symbol: str) -> bool:
        """True while ``symbol``'s book waits for a REST snapshot."""
        sync = self._depth.get(symbol)
        return sync is not None and sync.syncing

    def reset_sequences(self) -> None:
        """Forget sequence state (after a reconnect every book must be resynchronised)."""
        super().reset_sequences()
        self._depth.clear()


class BinanceFeed(WebSocketFeed):
    """Live Binance USDⓈ-M public streams for ``symbols`` ("BTCUSDT" form)."""

    max_connection_age = 23.5 * 3600  # Binance ends every connection at 24 h; leave before it
    receive_timeout = 60.0  # the server pings every 3 min; the streams tick many times a second

    def __init__(self, handler: BinanceHandler, symbols: list[str], api_stats: ApiStats | None = None, *,
                 ws_base: str, rest_base: str, depth_speed: str = "100ms", backoff: Backoff | None = None) -> None:
        super().__init__(handler, api_stats, backoff)
        self.symbols = [s.upper() for s in symbols]
        self.rest_base = rest_base.rstrip("/")
        streams = []
        for sym in self.symbols:
            low = sym.lower()
            streams += [f"{low}@trade", f"{low}@bookTicker", f"{low}@depth@{depth_speed}",
                        f"{low}@markPrice@1s", f"{low}@forceOrder"]
        self.url = f"{ws_base.rstrip('/')}/stream?streams={'/'.join(streams)}"
        handler.request_snapshot = self._request_snapshot
        self.api_stats.declare(self.exchange, "depth_snapshot")
        self._tasks: dict[str, asyncio.Task] = {}
        self._session: aiohttp.ClientSession | None = None
        # Retries of a refused snapshot (weight 20 of Binance's 2400/min budget): back off.
        self.snapshot_backoff: Callable[[], Backoff] = lambda: Backoff(base=1.0, cap=60.0)

    async def subscribe(self, ws) -> None:
        """The combined-stream URL subscribes; nothing to send."""

    async def on_disconnected(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        self._tasks.clear()
        await super().on_disconnected()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _request_snapshot(self, symbol: str) -> None:
        task = self._tasks.get(symbol)
        if task is None or task.done():
            self._tasks[symbol] = asyncio.get_running_loop().create_task(self._fetch_snapshot(symbol))

    async def _fetch_snapshot(self, symbol: str) -> None:
        backoff = self.snapshot_backoff()
        url = f"{self.rest_base}/fapi/v1/depth"
        logged: str | None = None
        while True:
            # Let a few events buffer first, so the snapshot is not older than the first event.
            await asyncio.sleep(0.2)
            error = None
            with self.api_stats.measure(self.exchange, "depth_snapshot") as call:
                try:
                    if self._session is None:
                        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
                    async with self._session.get(url, params={"symbol": symbol, "limit": SNAPSHOT_LIMIT}) as resp:
                        if resp.status != 200:
                            error = f"HTTP {resp.status} {resp.reason or ''}".strip() + " (depth snapshot)"
                        else:
                            body = await resp.read()
                except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                    error = describe_error(exc) + " (depth snapshot)"
                if error is not None:
                    call.fail(error)
            if error is None:
                try:
                    self.handler.apply_snapshot(symbol, orjson.loads(body))
                    if not self.handler.syncing(symbol):
                        return
                    # The buffered events broke the chain again (a gap right after the
                    # snapshot, or the snapshot is older than the stream): fetch another.
                    backoff.reset()
                    continue
                except (ValueError, KeyError, TypeError, IndexError) as exc:
                    error = f"bad depth snapshot: {type(exc).__name__}: {exc}"[:200]
            self.stats.last_error = error
            if error != logged:
                _log.warning("depth snapshot failed, retrying with backoff",
                             extra={"exchange": self.exchange, "symbol": symbol, "error": error})
                logged = error
            await asyncio.sleep(backoff.next_delay())
