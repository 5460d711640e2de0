"""OKX v5 public WebSocket (perpetual swaps), no API key.

Endpoint ``wss://ws.okx.com:8443/ws/v5/public``. Subscribe with
``{"op": "subscribe", "args": [{"channel": "trades", "instId": "BTC-USDT-SWAP"}, ...]}``.
Push messages are ``{"arg": {"channel", "instId"}, "action"?: "snapshot"|"update", "data": [...]}``;
control messages are ``{"event": "subscribe"|"error"|..., ...}``; the heartbeat is the text
``"ping"``, answered ``"pong"`` (OKX closes a connection idle for 30 s).

Channels used (field names as OKX sends them, all numbers as strings):
- ``trades``: ``px`` price, ``sz`` size (contracts for swaps), ``side`` taker side, ``ts`` ms;
- ``tickers``: ``bidPx``/``bidSz``, ``askPx``/``askSz`` best bid/ask, ``last``, ``ts``;
- ``books`` (400 levels, snapshot then incremental ``update``; levels ``[px, sz, "0", orders]``,
  ``sz`` "0" deletes), ``books5`` (always a 5-level snapshot); ``seqId``/``prevSeqId`` chain the
  updates where present (recordings before 2023 lack them): a break is a sequence gap and the
  live feed resubscribes the channel to get a fresh snapshot;
- ``mark-price``: ``markPx``; ``funding-rate``: ``fundingRate``, ``fundingTime``;
- ``liquidation-orders`` (``instType`` SWAP, all instruments): ``details[]`` with ``side`` (the
  liquidation order's side), ``bkPx`` bankruptcy price, ``sz``, ``ts``.

Symbols: ``BTC-USDT-SWAP`` -> ``BTCUSDT`` (also spot ``BTC-USDT`` -> ``BTCUSDT``; dated futures
``BTC-USD-220527`` -> ``BTCUSD_220527``). Swap sizes are converted from contracts to base
quantity with the instrument's ``ctVal`` (fetched from ``/api/v5/public/instruments`` by the live
feed; 1.0 when unknown, e.g. in replays).
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import orjson

from trader.api_stats import ApiStats
from trader.book import parse_levels
from trader.events import DepthUpdate, FeedResynced, MarkPrice, MarketLiquidation, Quote, Trade
from trader.feeds.base import INF, Backoff, ExchangeHandler, HttpError, InvalidValue, WebSocketFeed, describe_error

__all__ = ["OkxHandler", "OkxFeed", "okx_symbol", "okx_inst_id", "WS_URL", "REST_BASE"]

WS_URL = "wss://ws.okx.com:8443/ws/v5/public"
REST_BASE = "https://www.okx.com"
_log = logging.getLogger("trader.feeds.okx")


def okx_symbol(inst_id: str) -> str:
    """OKX instrument id -> internal symbol: BTC-USDT-SWAP -> BTCUSDT."""
    parts = inst_id.split("-")
    if len(parts) == 2 or (len(parts) == 3 and parts[2] == "SWAP"):
        return parts[0] + parts[1]
    if len(parts) == 3:
        return f"{parts[0]}{parts[1]}_{parts[2]}"
    raise ValueError(f"OKX instId {inst_id!r}: expected BASE-QUOTE[-SWAP|-YYMMDD]")


def okx_inst_id(symbol: str) -> str:
    """Internal USDT-margined symbol -> OKX swap id: BTCUSDT -> BTC-USDT-SWAP."""
    if not symbol.endswith("USDT") or len(symbol) <= 4:
        raise ValueError(f"symbol {symbol!r}: expected a USDT-margined symbol like BTCUSDT")
    return f"{symbol[:-4]}-USDT-SWAP"


class OkxHandler(ExchangeHandler):
    exchange = "okx"

    def __init__(self, bus, market, exchange: str | None = None) -> None:
        super().__init__(bus, market, exchange)
        self._symbols: dict[str, str] = {}
        self.contract_values: dict[str, float] = {}  # instId -> ctVal (base units per contract)
        self._seq: dict[str, int] = {}  # instId -> last books seqId
        self._book_ready: set[str] = set()  # instIds whose book started from a snapshot
        self.on_gap = None  # live: callable(inst_id) that resubscribes the book channel
        # Live: the subscribed instIds. The liquidation channel covers every swap; keeping only
        # ours keeps the symbol label bounded.
        self.instruments: set[str] | None = None

    def on_message(self, raw, recv_ts: float) -> None:
        if raw == "pong" or raw == b"pong":
            self.stats.messages += 1
            self.counts["control"] += 1
            return
        super().on_message(raw, recv_ts)

    def _symbol(self, inst_id: str) -> str:
        sym = self._symbols.get(inst_id)
        if sym is None:
            sym = self._symbols[inst_id] = okx_symbol(inst_id)
        return sym

    def handle(self, msg, recv_ts: float) -> None:
        if "event" in msg:
            self.counts["control"] += 1
            if msg["event"] == "error":
                _log.warning("OKX refused a request", extra={
                    "exchange": self.exchange, "code": msg.get("code"), "detail": str(msg.get("msg"))[:160]})
            return
        arg = msg["arg"]
        channel = arg["channel"]
        data = msg["data"]
        if not data:
            self.counts["ignored"] += 1  # an empty push: nothing to apply
            return
        if channel == "trades":
            self._trades(data, recv_ts)
        elif channel == "tickers":
            self._tickers(data, recv_ts)
        elif channel.startswith("books") or channel == "bbo-tbt":
            self._books(arg["instId"], msg.get("action", "snapshot"), data, recv_ts)
        elif channel == "mark-price":
            self._mark(data, recv_ts)
        elif channel == "funding-rate":
            self._funding(data, recv_ts)
        elif channel == "liquidation-orders":
            self._liquidations(data, recv_ts)
        else:
            self.counts["ignored"] += 1

    def _trades(self, data: list, recv_ts: float) -> None:
        for t in data:
            inst = t["instId"]
            price = float(t["px"])
            qty = float(t["sz"]) * self.contract_values.get(inst, 1.0)
            if not (0.0 < price < INF and 0.0 < qty < INF):
                raise InvalidValue(f"trades px={t['px']!r} sz={t['sz']!r}")
            side = t["side"]
            if side != "buy" and side != "sell":
                raise InvalidValue(f"trades side={side!r}: expected buy or sell")
            ts = int(t["ts"]) / 1000.0
            s = self.state(self._symbol(inst))
            s.last_price = price
            s.last_quantity = qty
            s.last_trade_ts = ts
            s.last_message_ts = recv_ts
            self.counts["trade"] += 1
            self.bus.publish(Trade(self.exchange, s.symbol, ts, recv_ts, price, qty, side))

    def _tickers(self, data: list, recv_ts: float) -> None:
        for t in data:
            inst = t["instId"]
            mult = self.contract_values.get(inst, 1.0)
            bid, ask = float(t["bidPx"]), float(t["askPx"])
            bid_qty, ask_qty = float(t["bidSz"]) * mult, float(t["askSz"]) * mult
            if not (0.0 < bid < INF and 0.0 < ask < INF and 0.0 <= bid_qty < INF and 0.0 <= ask_qty < INF):
                raise InvalidValue(f"tickers bidPx={t['bidPx']!r} askPx={t['askPx']!r}")
            ts = int(t["ts"]) / 1000.0
            s = self.state(self._symbol(inst))
            s.bid, s.bid_quantity, s.ask, s.ask_quantity, s.quote_ts = bid, bid_qty, ask, ask_qty, ts
            s.last_message_ts = recv_ts
            self.counts["quote"] += 1
            self.bus.publish(Quote(self.exchange, s.symbol, ts, recv_ts, bid, bid_qty, ask, ask_qty))

    def _books(self, inst: str, action: str, data: list, recv_ts: float) -> None:
        symbol = self._symbol(inst)
        s = self.state(symbol)
        mult = self.contract_values.get(inst, 1.0)
        for d in data:
            bids = parse_levels(d["bids"])
            asks = parse_levels(d["asks"])
            if mult != 1.0:
                bids = [(p, q * mult) for p, q in bids]
                asks = [(p, q * mult) for p, q in asks]
            ts = int(d["ts"]) / 1000.0
            seq, prev = d.get("seqId"), d.get("prevSeqId")
            s.last_message_ts = recv_ts
            self.counts["depth"] += 1
            if action == "snapshot":
                s.book.replace(bids, asks)
                self._book_ready.add(inst)
            elif inst not in self._book_ready:
                continue  # an update before the snapshot: nothing to apply it to
            else:
                last = self._seq.get(inst)
                if prev is not None and last is not None and prev != last and prev != -1:
                    gaps = self.stats.sequence_gaps
                    gaps[symbol] = gaps.get(symbol, 0) + 1
                    reason = f"sequence gap: prevSeqId={prev} but the last seqId={last}"
                    _log.warning("order book sequence gap, resynchronising",
                                 extra={"exchange": self.exchange, "symbol": symbol, "detail": reason})
                    s.book.clear()
                    self._book_ready.discard(inst)
                    self._seq.pop(inst, None)
                    if self.on_gap is not None:
                        self.on_gap(inst)
                    self.bus.publish(FeedResynced(self.exchange, symbol, recv_ts, reason + "; waiting for a new snapshot"))
                    continue
                s.book.apply(bids, asks)
            if seq is not None:
                self._seq[inst] = seq
            self.bus.publish(DepthUpdate(self.exchange, symbol, ts, recv_ts))

    def _mark(self, data: list, recv_ts: float) -> None:
        for m in data:
            mark = float(m["markPx"])
            if not 0.0 < mark < INF:
                raise InvalidValue(f"mark-price markPx={m['markPx']!r}")
            s = self.state(self._symbol(m["instId"]))
            s.mark_price = mark
            s.last_message_ts = recv_ts
            self.counts["mark"] += 1
            self.bus.publish(MarkPrice(self.exchange, s.symbol, int(m["ts"]) / 1000.0, mark, s.index_price,
                                       s.funding_rate, s.next_funding_ts))

    def _funding(self, data: list, recv_ts: float) -> None:
        for f in data:
            rate = float(f["fundingRate"])
            if not -1.0 < rate < 1.0:
                raise InvalidValue(f"funding-rate fundingRate={f['fundingRate']!r}: expected (-1, 1)")
            s = self.state(self._symbol(f["instId"]))
            s.funding_rate = rate
            s.next_funding_ts = int(f["fundingTime"]) / 1000.0 if f.get("fundingTime") else None
            s.last_message_ts = recv_ts
            self.counts["mark"] += 1
            if s.mark_price is not None:
                ts = int(f["ts"]) / 1000.0 if f.get("ts") else recv_ts
                self.bus.publish(MarkPrice(self.exchange, s.symbol, ts, s.mark_price, s.index_price,
                                           rate, s.next_funding_ts))

    def _liquidations(self, data: list, recv_ts: float) -> None:
        for item in data:
            inst = item["instId"]
            if self.instruments is not None and inst not in self.instruments:
                self.counts["ignored"] += 1
                continue
            mult = self.contract_values.get(inst, 1.0)
            s = self.state(self._symbol(inst))
            s.last_message_ts = recv_ts
            if not item["details"]:
                self.counts["ignored"] += 1
            for d in item["details"]:
                price = float(d["bkPx"])
                qty = float(d["sz"]) * mult
                side = d["side"]
                if not (0.0 < price < INF and 0.0 < qty < INF) or side not in ("buy", "sell"):
                    raise InvalidValue(f"liquidation-orders bkPx={d['bkPx']!r} sz={d['sz']!r} side={side!r}")
                s.liquidations[side] += 1
                self.counts["liquidation"] += 1
                self.bus.publish(MarketLiquidation(self.exchange, s.symbol, int(d["ts"]) / 1000.0, side, price, qty))

    def reset_sequences(self) -> None:
        self._seq.clear()
        self._book_ready.clear()


class OkxFeed(WebSocketFeed):
    """Live OKX public channels for ``symbols`` ("BTCUSDT" form, traded as BTC-USDT-SWAP)."""

    app_ping = "ping"
    ping_interval = 20.0

    def __init__(self, handler: OkxHandler, symbols: list[str], api_stats: ApiStats | None = None, *,
                 ws_url: str = WS_URL, rest_base: str | None = REST_BASE, book_channel: str = "books5",
                 backoff: Backoff | None = None) -> None:
        super().__init__(handler, api_stats, backoff)
        self.inst_ids = [okx_inst_id(s.upper()) for s in symbols]
        handler.instruments = set(self.inst_ids)
        self.url = ws_url
        self.rest_base = rest_base.rstrip("/") if rest_base else None
        self.book_channel = book_channel
        self._ws = None
        self._background: set[asyncio.Task] = set()
        handler.on_gap = self._resubscribe_book
        self.api_stats.declare(self.exchange, "instruments")

    def _args(self) -> list[dict]:
        args = []
        for inst in self.inst_ids:
            for channel in ("trades", "tickers", self.book_channel, "mark-price", "funding-rate"):
                args.append({"channel": channel, "instId": inst})
        args.append({"channel": "liquidation-orders", "instType": "SWAP"})
        return args

    async def prepare(self) -> None:
        if self.rest_base is None or self.handler.contract_values:
            return
        with self.api_stats.measure(self.exchange, "instruments") as call:
            try:
                async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
                    async with session.get(f"{self.rest_base}/api/v5/public/instruments",
                                           params={"instType": "SWAP"}) as resp:
                        if resp.status != 200:
                            raise HttpError(resp.status, f"{resp.reason or ''} (instruments)".strip())
                        body = orjson.loads(await resp.read())
            except (aiohttp.ClientError, OSError) as exc:
                call.fail(describe_error(exc))
                raise
        for inst in body.get("data", []):
            try:
                self.handler.contract_values[inst["instId"]] = float(inst["ctVal"])
            except (KeyError, ValueError, TypeError):
                continue

    async def subscribe(self, ws) -> None:
        self._ws = ws
        await ws.send(orjson.dumps({"op": "subscribe", "args": self._args()}).decode())

    async def on_disconnected(self) -> None:
        self._ws = None
        self.handler.reset_sequences()

    def _resubscribe_book(self, inst_id: str) -> None:
        ws = self._ws
        if ws is None:
            return
        arg = [{"channel": self.book_channel, "instId": inst_id}]

        async def resubscribe() -> None:
            try:
                await ws.send(orjson.dumps({"op": "unsubscribe", "args": arg}).decode())
                await ws.send(orjson.dumps({"op": "subscribe", "args": arg}).decode())
            except Exception as exc:  # noqa: BLE001 - the read loop will see the broken connection
                _log.warning("resubscribe failed", extra={"exchange": self.exchange, "error": describe_error(exc)})

        task = asyncio.get_running_loop().create_task(resubscribe())
        self._background.add(task)  # keep a reference until it is done
        task.add_done_callback(self._background.discard)
