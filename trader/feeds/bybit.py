"""Bybit v5 public WebSocket, linear (USDT perpetual) category, no API key.

Endpoint ``wss://stream.bybit.com/v5/public/linear``. Subscribe with
``{"op": "subscribe", "args": ["publicTrade.BTCUSDT", ...]}`` (at most 10 topics per request).
Heartbeat: send ``{"op": "ping"}`` every 20 s; the answer is ``{"op": "pong", ...}`` or
``{"success": true, "ret_msg": "pong", "op": "ping", ...}``.

Topics used (field names as Bybit sends them, numbers as strings):
- ``publicTrade.{symbol}``: ``data[]`` with ``T`` ms, ``s`` symbol, ``S`` taker side
  ("Buy"/"Sell"), ``v`` size, ``p`` price;
- ``orderbook.{depth}.{symbol}``: ``type`` "snapshot" (reset the book) or "delta"; ``data`` =
  {``s``, ``b``/``a`` levels ``[price, size]`` (size "0" deletes), ``u`` update id, ``seq``
  cross sequence (orders books of different depths; not a continuity check)};
  a snapshot also arrives whenever Bybit restarts the stream (``u`` = 1);
- ``tickers.{symbol}``: ``snapshot`` then ``delta`` messages carrying only changed fields:
  ``bid1Price``/``bid1Size``/``ask1Price``/``ask1Size``, ``markPrice``, ``indexPrice``,
  ``fundingRate``, ``nextFundingTime`` ms, ``lastPrice``;
- ``allLiquidation.{symbol}``: ``data[]`` with ``T``, ``s``, ``S`` the POSITION side ("Buy" = a
  long was liquidated, i.e. a sell liquidation order), ``v``, ``p``. (The older
  ``liquidation.{symbol}`` topic: ``data`` = {``updatedTime``, ``symbol``, ``side``, ``size``,
  ``price``}, same side convention.)

Order book integrity (Bybit "Orderbook: process snapshot/delta"): each delta's ``u`` is the
previous ``u`` + 1; a message with ``u`` = 1 is a snapshot after a service restart and
overwrites the book. A delta before any snapshot, or one that breaks the ``u`` chain, means the
local book is wrong: the gap is counted, the book cleared, deltas ignored until a snapshot, and
the live feed resubscribes the topic (Bybit answers a subscribe with a fresh snapshot).
``FeedResynced`` is published when that snapshot has rebuilt the book. A replay, which cannot
resubscribe, reseeds from the next snapshot in the recording.

No fixture of a real Bybit capture exists in this repository: the tests use messages written from
Bybit's v5 documentation.
"""

from __future__ import annotations

import logging

import orjson

from trader.api_stats import ApiStats
from trader.book import parse_levels
from trader.events import DepthUpdate, MarkPrice, MarketLiquidation, Quote, Trade
from trader.feeds.base import INF, Backoff, ExchangeHandler, InvalidValue, WebSocketFeed

__all__ = ["BybitHandler", "BybitFeed", "WS_URL"]

WS_URL = "wss://stream.bybit.com/v5/public/linear"
_TOPICS_PER_REQUEST = 10
_SIDES = {"Buy": "buy", "Sell": "sell"}
_POSITION_TO_ORDER_SIDE = {"Buy": "sell", "Sell": "buy"}  # a liquidated long is sold
_log = logging.getLogger("trader.feeds.bybit")


class BybitHandler(ExchangeHandler):
    exchange = "bybit"

    def __init__(self, bus, market, exchange: str | None = None) -> None:
        super().__init__(bus, market, exchange)
        self._last_u: dict[str, int] = {}  # symbol -> ``u`` of the last applied book message

    def handle(self, msg, recv_ts: float) -> None:
        topic = msg.get("topic")
        if topic is None:
            if "op" in msg or "success" in msg:
                self.counts["control"] += 1
                if msg.get("success") is False:
                    _log.warning("Bybit refused a request", extra={
                        "exchange": self.exchange, "detail": str(msg.get("ret_msg"))[:160]})
                return
            raise KeyError("topic")
        kind, _, symbol = topic.partition(".")
        data = msg["data"]
        if not data:
            self.counts["ignored"] += 1  # an empty push: nothing to apply
            return
        if kind == "publicTrade":
            self._trades(data, recv_ts)
        elif kind == "orderbook":
            self._orderbook(topic, msg["type"], data, msg.get("ts"), recv_ts)
        elif kind == "tickers":
            self._tickers(symbol, data, msg.get("ts"), recv_ts)
        elif kind == "allLiquidation":
            for item in data:
                self._liquidation(item["s"], item["S"], item["p"], item["v"], item["T"], recv_ts)
        elif kind == "liquidation":
            self._liquidation(data["symbol"], data["side"], data["price"], data["size"], data["updatedTime"], recv_ts)
        else:
            self.counts["ignored"] += 1

    def _trades(self, data: list, recv_ts: float) -> None:
        for t in data:
            price = float(t["p"])
            qty = float(t["v"])
            if not (0.0 < price < INF and 0.0 < qty < INF):
                raise InvalidValue(f"publicTrade p={t['p']!r} v={t['v']!r}")
            side = _SIDES.get(t["S"])
            if side is None:
                raise InvalidValue(f"publicTrade S={t['S']!r}: expected Buy or Sell")
            ts = int(t["T"]) / 1000.0
            s = self.state(t["s"])
            s.last_price = price
            s.last_quantity = qty
            s.last_trade_ts = ts
            s.last_message_ts = recv_ts
            self.counts["trade"] += 1
            self.bus.publish(Trade(self.exchange, s.symbol, ts, recv_ts, price, qty, side))

    def _orderbook(self, topic: str, kind: str, d: dict, ts_ms, recv_ts: float) -> None:
        symbol = d["s"]
        update_id = d["u"]
        if type(update_id) is not int:
            raise TypeError(f"orderbook u={update_id!r}: expected an integer update id")
        if kind != "snapshot" and kind != "delta":
            raise ValueError(f"orderbook type={kind!r}: expected snapshot or delta")
        bids = parse_levels(d["b"])  # parse (and validate) before touching the book
        asks = parse_levels(d["a"])
        ts = int(ts_ms) / 1000.0 if ts_ms is not None else recv_ts
        s = self.state(symbol)
        s.last_message_ts = recv_ts
        self.counts["depth"] += 1
        if kind == "snapshot" or update_id == 1:  # u = 1: Bybit restarted the stream, a full book
            s.book.replace(bids, asks)
            self._last_u[symbol] = update_id
            self.book_resynced(symbol, symbol, recv_ts)
        else:
            last = self._last_u.get(symbol)
            if last is None:
                if not self.syncing(symbol):  # already waiting: the gap was counted once
                    self.book_gap(symbol, symbol, "delta before any snapshot", topic)
                return
            if update_id != last + 1:
                self._last_u.pop(symbol, None)
                self.book_gap(symbol, symbol, f"sequence gap: u={update_id} but the last applied u={last}", topic)
                return
            s.book.apply(bids, asks)
            self._last_u[symbol] = update_id
        self.bus.publish(DepthUpdate(self.exchange, symbol, ts, recv_ts))

    def _tickers(self, symbol: str, d: dict, ts_ms, recv_ts: float) -> None:
        s = self.state(d.get("symbol", symbol))
        ts = int(ts_ms) / 1000.0 if ts_ms is not None else recv_ts
        s.last_message_ts = recv_ts
        quote_changed = False
        for field, attr, is_price in (("bid1Price", "bid", True), ("bid1Size", "bid_quantity", False),
                                      ("ask1Price", "ask", True), ("ask1Size", "ask_quantity", False)):
            raw = d.get(field)
            if raw:
                value = float(raw)
                if not ((0.0 < value < INF) if is_price else (0.0 <= value < INF)):
                    raise InvalidValue(f"tickers {field}={raw!r}")
                setattr(s, attr, value)
                quote_changed = True
        mark_changed = False
        if d.get("markPrice"):
            mark = float(d["markPrice"])
            if not 0.0 < mark < INF:
                raise InvalidValue(f"tickers markPrice={d['markPrice']!r}")
            s.mark_price = mark
            mark_changed = True
        if d.get("indexPrice"):
            s.index_price = float(d["indexPrice"])
        if d.get("fundingRate"):
            rate = float(d["fundingRate"])
            if not -1.0 < rate < 1.0:
                raise InvalidValue(f"tickers fundingRate={d['fundingRate']!r}: expected (-1, 1)")
            s.funding_rate = rate
            mark_changed = True
        if d.get("nextFundingTime"):
            s.next_funding_ts = int(d["nextFundingTime"]) / 1000.0
        if d.get("lastPrice"):
            s.last_price = float(d["lastPrice"])
        if quote_changed and s.bid is not None and s.ask is not None:
            s.quote_ts = ts
            self.counts["quote"] += 1
            self.bus.publish(Quote(self.exchange, s.symbol, ts, recv_ts, s.bid, s.bid_quantity or 0.0,
                                   s.ask, s.ask_quantity or 0.0))
        if mark_changed and s.mark_price is not None:
            self.counts["mark"] += 1
            self.bus.publish(MarkPrice(self.exchange, s.symbol, ts, s.mark_price, s.index_price,
                                       s.funding_rate, s.next_funding_ts))
        elif not (quote_changed and s.bid is not None and s.ask is not None):
            self.counts["ignored"] += 1  # a delta with fields we do not use (volume, open interest)

    def _liquidation(self, symbol: str, position_side: str, price_raw, qty_raw, ts_ms, recv_ts: float) -> None:
        price = float(price_raw)
        qty = float(qty_raw)
        side = _POSITION_TO_ORDER_SIDE.get(position_side)
        if not (0.0 < price < INF and 0.0 < qty < INF) or side is None:
            raise InvalidValue(f"liquidation p={price_raw!r} v={qty_raw!r} S={position_side!r}")
        s = self.state(symbol)
        s.last_message_ts = recv_ts
        s.liquidations[side] += 1
        self.counts["liquidation"] += 1
        self.bus.publish(MarketLiquidation(self.exchange, symbol, int(ts_ms) / 1000.0, side, price, qty))

    def reset_sequences(self) -> None:
        """Forget sequence state (a new connection starts every book from its snapshot)."""
        self._last_u.clear()
        self.resyncing.clear()


class BybitFeed(WebSocketFeed):
    """Live Bybit linear public topics for ``symbols`` ("BTCUSDT")."""

    app_ping = '{"op":"ping"}'
    ping_interval = 20.0  # Bybit recommends a ping every 20 s

    def __init__(self, handler: BybitHandler, symbols: list[str], api_stats: ApiStats | None = None, *,
                 ws_url: str = WS_URL, book_depth: int = 50, backoff: Backoff | None = None) -> None:
        super().__init__(handler, api_stats, backoff)
        self.symbols = [s.upper() for s in symbols]
        self.url = ws_url
        self.topics = []
        for sym in self.symbols:
            self.topics += [f"publicTrade.{sym}", f"orderbook.{book_depth}.{sym}", f"tickers.{sym}",
                            f"allLiquidation.{sym}"]
        # A broken book chain: resubscribe its topic, and Bybit sends a fresh snapshot.
        handler.on_gap = lambda topic: self.resubscribe([topic])

    async def subscribe(self, ws) -> None:
        for i in range(0, len(self.topics), _TOPICS_PER_REQUEST):
            chunk = self.topics[i:i + _TOPICS_PER_REQUEST]
            await ws.send(orjson.dumps({"op": "subscribe", "args": chunk}).decode())

    async def on_disconnected(self) -> None:
        self.handler.reset_sequences()
