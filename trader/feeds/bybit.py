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
from trader.events import DepthUpdate
from trader.feeds.base import Backoff, ExchangeHandler, WebSocketFeed, check_price, check_quantity, check_rate

__all__ = ["BybitHandler", "BybitFeed"]

_TOPICS_PER_REQUEST = 10
_SIDES = {"Buy": "buy", "Sell": "sell"}
_POSITION_TO_ORDER_SIDE = {"Buy": "sell", "Sell": "buy"}  # a liquidated long is sold
# tickers fields of the best bid and ask, the SymbolState attribute each one sets, and whether
# it is a price (> 0) or a size (>= 0).
_QUOTE_FIELDS = (("bid1Price", "bid", True), ("bid1Size", "bid_quantity", False),
                 ("ask1Price", "ask", True), ("ask1Size", "ask_quantity", False))
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
            # An unknown taker side is passed on as is, for on_trade to refuse.
            self.on_trade(t["s"], int(t["T"]) / 1000.0, recv_ts, float(t["p"]), float(t["v"]),
                          _SIDES.get(t["S"], t["S"]))

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
        """A snapshot, then deltas carrying only the fields that changed: each is merged into
        what the symbol's state already holds before the quote and the mark are published."""
        s = self.state(d.get("symbol", symbol))
        ts = int(ts_ms) / 1000.0 if ts_ms is not None else recv_ts
        quote = {attr: float(d[field]) if d.get(field) else getattr(s, attr) for field, attr, _ in _QUOTE_FIELDS}
        quote_changed = any(d.get(field) for field, _, _ in _QUOTE_FIELDS)
        mark = float(d["markPrice"]) if d.get("markPrice") else s.mark_price
        index = float(d["indexPrice"]) if d.get("indexPrice") else s.index_price
        funding = float(d["fundingRate"]) if d.get("fundingRate") else s.funding_rate
        next_funding = int(d["nextFundingTime"]) / 1000.0 if d.get("nextFundingTime") else s.next_funding_ts
        mark_changed = bool(d.get("markPrice") or d.get("fundingRate"))
        last_price = float(d["lastPrice"]) if d.get("lastPrice") else s.last_price
        published = False
        if quote_changed:
            if quote["bid"] is not None and quote["ask"] is not None:
                self.on_quote(s.symbol, ts, recv_ts, quote["bid"], quote["bid_quantity"] or 0.0,
                              quote["ask"], quote["ask_quantity"] or 0.0)
                published = True
            else:  # one side known so far: keep it, publish once both are
                for field, attr, is_price in _QUOTE_FIELDS:
                    if d.get(field):
                        (check_price if is_price else check_quantity)(quote[attr], f"tickers {field}")
                for field, attr, _ in _QUOTE_FIELDS:
                    setattr(s, attr, quote[attr])
        if mark_changed and mark is not None:
            self.on_mark(s.symbol, ts, recv_ts, mark, index, funding, next_funding)
            published = True
        else:
            if funding is not None:
                check_rate(funding, "tickers fundingRate")
            s.index_price, s.funding_rate, s.next_funding_ts = index, funding, next_funding
        s.last_price = last_price
        s.last_message_ts = recv_ts
        if not published:
            self.counts["ignored"] += 1  # a delta with fields we do not use (volume, open interest)

    def _liquidation(self, symbol: str, position_side: str, price_raw, qty_raw, ts_ms, recv_ts: float) -> None:
        # Bybit names the liquidated POSITION's side; the liquidation order's is the opposite.
        side = _POSITION_TO_ORDER_SIDE.get(position_side, position_side)
        self.on_liquidation(symbol, int(ts_ms) / 1000.0, recv_ts, side, float(price_raw), float(qty_raw))

    def reset_sequences(self) -> None:
        """Forget sequence state (a new connection starts every book from its snapshot)."""
        super().reset_sequences()
        self._last_u.clear()


class BybitFeed(WebSocketFeed):
    """Live Bybit linear public topics for ``symbols`` ("BTCUSDT")."""

    app_ping = '{"op":"ping"}'
    ping_interval = 20.0  # Bybit recommends a ping every 20 s

    def __init__(self, handler: BybitHandler, symbols: list[str], api_stats: ApiStats | None = None, *,
                 ws_url: str, book_depth: int = 50, backoff: Backoff | None = None) -> None:
        super().__init__(handler, api_stats, backoff)
        self.symbols = [s.upper() for s in symbols]
        self.url = ws_url
        self.topics = []
        for sym in self.symbols:
            self.topics += [f"publicTrade.{sym}", f"orderbook.{book_depth}.{sym}", f"tickers.{sym}",
                            f"allLiquidation.{sym}"]

    async def subscribe(self, ws) -> None:
        for i in range(0, len(self.topics), _TOPICS_PER_REQUEST):
            chunk = self.topics[i:i + _TOPICS_PER_REQUEST]
            await ws.send(orjson.dumps({"op": "subscribe", "args": chunk}).decode())

    def resubscribe_messages(self, topic: str) -> list[str]:
        """A broken book chain: resubscribe its topic, and Bybit sends a fresh snapshot."""
        return [orjson.dumps({"op": op, "args": [topic]}).decode() for op in ("unsubscribe", "subscribe")]
