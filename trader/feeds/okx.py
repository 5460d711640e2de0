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
  ``sz`` "0" deletes), ``books5`` (always a 5-level snapshot, no checksum); ``seqId``/
  ``prevSeqId`` chain the updates where present (the 2022 recording lacks them); ``checksum`` is
  the signed CRC32 of the top 25 levels interleaved ``bidPx:bidSz:askPx:askSz:...`` with the
  price and size strings exactly as received (the 2022 recording carries it on every ``books``
  message, and all of them verify). A broken chain or a checksum mismatch is a sequence gap: the
  book is cleared, updates are ignored until a snapshot, and the live feed resubscribes the
  channel for that instrument (OKX answers with a fresh snapshot); ``FeedResynced`` is
  published when that snapshot has rebuilt the book. A replay, which cannot resubscribe, reseeds
  from the next snapshot in the recording. A message without ``checksum`` is not validated;
- ``mark-price``: ``markPx``; ``funding-rate``: ``fundingRate``, ``fundingTime``;
- ``liquidation-orders`` (``instType`` SWAP, all instruments): ``details[]`` with ``side`` (the
  liquidation order's side), ``bkPx`` bankruptcy price, ``sz``, ``ts``.

Symbols: ``BTC-USDT-SWAP`` -> ``BTCUSDT`` (also spot ``BTC-USDT`` -> ``BTCUSDT``; dated futures
``BTC-USD-220527`` -> ``BTCUSD_220527``). Swap sizes are converted from contracts to base
quantity with the instrument's ``ctVal`` (fetched from ``/api/v5/public/instruments`` by the live
feed; 1.0 when unknown, e.g. in replays).
"""

from __future__ import annotations

import heapq
import logging
import zlib

import aiohttp
import orjson

from trader.api_stats import ApiStats
from trader.book import parse_levels
from trader.events import DepthUpdate
from trader.feeds.base import Backoff, ExchangeHandler, HttpError, WebSocketFeed, check_rate, describe_error

__all__ = ["OkxHandler", "OkxFeed", "okx_symbol", "okx_inst_id", "okx_checksum", "okx_checksum_of"]

CHECKSUM_LEVELS = 25  # levels per side in OKX's order book checksum
_log = logging.getLogger("trader.feeds.okx")

# One side of a book as OKX wrote it: price -> (price string, size string), for the checksum.
_RawSide = dict[float, tuple[str, str]]


def okx_symbol(inst_id: str) -> str:
    """OKX instrument id -> internal symbol: BTC-USDT-SWAP -> BTCUSDT."""
    parts = inst_id.split("-")
    if len(parts) == 2 or (len(parts) == 3 and parts[2] == "SWAP"):
        return parts[0] + parts[1]
    if len(parts) == 3:
        return f"{parts[0]}{parts[1]}_{parts[2]}"
    raise ValueError(f"OKX instId {inst_id!r}: expected BASE-QUOTE[-SWAP|-YYMMDD]")


def okx_checksum(bids: _RawSide, asks: _RawSide) -> int:
    """OKX's order book checksum: signed CRC32 of ``bid1Px:bid1Sz:ask1Px:ask1Sz:...`` over the top
    25 levels (a side with fewer levels simply stops contributing), using the exact strings.

        >>> okx_checksum({3366.1: ("3366.1", "7"), 3366.0: ("3366", "6")},
        ...              {3366.8: ("3366.8", "9"), 3368.0: ("3368", "8")})  # of "3366.1:7:3366.8:9:3366:6:3368:8"
        -1881014294
    """
    bid_prices = heapq.nlargest(CHECKSUM_LEVELS, bids)
    ask_prices = heapq.nsmallest(CHECKSUM_LEVELS, asks)
    parts = []
    for i in range(max(len(bid_prices), len(ask_prices))):
        if i < len(bid_prices):
            parts.extend(bids[bid_prices[i]])
        if i < len(ask_prices):
            parts.extend(asks[ask_prices[i]])
    return okx_checksum_of(":".join(parts))


def okx_checksum_of(text: str) -> int:
    """CRC32 as OKX sends it: a signed 32-bit integer."""
    crc = zlib.crc32(text.encode())
    return crc - (1 << 32) if crc >= 1 << 31 else crc


def _apply_raw(side: _RawSide, raw: list, parsed: list[tuple[float, float]]) -> None:
    """Keep the strings of the levels just parsed (``parsed[i]`` is ``raw[i]`` as floats)."""
    for level, (price, qty) in zip(raw, parsed):
        if qty > 0.0:
            side[price] = (str(level[0]), str(level[1]))
        else:
            side.pop(price, None)


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
        # instId -> (bids, asks) as OKX wrote them; present once the book started from a snapshot
        self._raw: dict[str, tuple[_RawSide, _RawSide]] = {}
        self.checksums_verified = 0  # books messages whose checksum matched (tests, replay stats)
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
            quantity = float(t["sz"]) * self.contract_values.get(inst, 1.0)  # contracts -> base quantity
            self.on_trade(self._symbol(inst), int(t["ts"]) / 1000.0, recv_ts, float(t["px"]), quantity, t["side"])

    def _tickers(self, data: list, recv_ts: float) -> None:
        for t in data:
            inst = t["instId"]
            mult = self.contract_values.get(inst, 1.0)
            self.on_quote(self._symbol(inst), int(t["ts"]) / 1000.0, recv_ts, float(t["bidPx"]),
                          float(t["bidSz"]) * mult, float(t["askPx"]), float(t["askSz"]) * mult)

    def _books(self, inst: str, action: str, data: list, recv_ts: float) -> None:
        if action != "snapshot" and action != "update":
            raise ValueError(f"books action={action!r}: expected snapshot or update")
        symbol = self._symbol(inst)
        s = self.state(symbol)
        mult = self.contract_values.get(inst, 1.0)
        for d in data:
            raw_bids, raw_asks = d["bids"], d["asks"]
            bids = parse_levels(raw_bids)  # parse (and validate) before touching the book
            asks = parse_levels(raw_asks)
            checksum, seq, prev = d.get("checksum"), d.get("seqId"), d.get("prevSeqId")
            for name, value in (("checksum", checksum), ("seqId", seq), ("prevSeqId", prev)):
                if value is not None and type(value) is not int:
                    raise TypeError(f"books {name}={value!r}: expected an integer")
            ts = int(d["ts"]) / 1000.0
            book_bids, book_asks = bids, asks
            if mult != 1.0:
                book_bids = [(p, q * mult) for p, q in bids]
                book_asks = [(p, q * mult) for p, q in asks]
            s.last_message_ts = recv_ts
            self.counts["depth"] += 1
            if action == "snapshot":
                s.book.replace(book_bids, book_asks)
                raw = self._raw[inst] = ({}, {})
            else:
                raw = self._raw.get(inst)
                if raw is None:
                    if not self.syncing(inst):  # already waiting: the gap was counted once
                        self._gap(inst, symbol, "update before any snapshot")
                    continue
                last = self._seq.get(inst)
                if prev is not None and last is not None and prev != last and prev != -1:
                    self._gap(inst, symbol, f"sequence gap: prevSeqId={prev} but the last seqId={last}")
                    continue
                s.book.apply(book_bids, book_asks)
            _apply_raw(raw[0], raw_bids, bids)
            _apply_raw(raw[1], raw_asks, asks)
            if checksum is not None:
                computed = okx_checksum(*raw)
                if computed != checksum:
                    self._gap(inst, symbol, f"checksum mismatch: OKX sent {checksum}, the local book gives {computed}")
                    continue
                self.checksums_verified += 1
            if seq is not None:
                self._seq[inst] = seq
            if action == "snapshot":
                self.book_resynced(inst, symbol, recv_ts)
            self.bus.publish(DepthUpdate(self.exchange, symbol, ts, recv_ts))

    def _gap(self, inst: str, symbol: str, reason: str) -> None:
        self._raw.pop(inst, None)
        self._seq.pop(inst, None)
        self.book_gap(inst, symbol, reason, inst)

    def _mark(self, data: list, recv_ts: float) -> None:
        for m in data:
            symbol = self._symbol(m["instId"])
            # The funding channel brings the rate and its time: keep what it sent.
            known = self._states.get(symbol)
            funding = (known.index_price, known.funding_rate, known.next_funding_ts) if known else (None, None, None)
            self.on_mark(symbol, int(m["ts"]) / 1000.0, recv_ts, float(m["markPx"]), *funding)

    def _funding(self, data: list, recv_ts: float) -> None:
        for f in data:
            rate = check_rate(float(f["fundingRate"]), "funding-rate fundingRate")
            next_funding = int(f["fundingTime"]) / 1000.0 if f.get("fundingTime") else None
            s = self.state(self._symbol(f["instId"]))
            if s.mark_price is not None:  # published with the mark it applies to
                ts = int(f["ts"]) / 1000.0 if f.get("ts") else recv_ts
                self.on_mark(s.symbol, ts, recv_ts, s.mark_price, s.index_price, rate, next_funding)
                continue
            s.funding_rate, s.next_funding_ts, s.last_message_ts = rate, next_funding, recv_ts
            self.counts["mark"] += 1

    def _liquidations(self, data: list, recv_ts: float) -> None:
        for item in data:
            inst = item["instId"]
            if self.instruments is not None and inst not in self.instruments:
                self.counts["ignored"] += 1
                continue
            mult = self.contract_values.get(inst, 1.0)
            symbol = self._symbol(inst)
            self.state(symbol).last_message_ts = recv_ts
            if not item["details"]:
                self.counts["ignored"] += 1
            for d in item["details"]:
                # ``side`` is the liquidation order's; ``bkPx`` the bankruptcy price.
                self.on_liquidation(symbol, int(d["ts"]) / 1000.0, recv_ts, d["side"], float(d["bkPx"]),
                                    float(d["sz"]) * mult)

    def reset_sequences(self) -> None:
        """Forget sequence state (a new connection starts every book from its snapshot)."""
        super().reset_sequences()
        self._seq.clear()
        self._raw.clear()


class OkxFeed(WebSocketFeed):
    """Live OKX public channels for ``symbols`` ("BTCUSDT" form, traded as BTC-USDT-SWAP)."""

    app_ping = "ping"
    ping_interval = 20.0

    def __init__(self, handler: OkxHandler, symbols: list[str], api_stats: ApiStats | None = None, *,
                 ws_url: str, rest_base: str | None, book_channel: str = "books5",
                 backoff: Backoff | None = None) -> None:
        super().__init__(handler, api_stats, backoff)
        self.inst_ids = [okx_inst_id(s.upper()) for s in symbols]
        handler.instruments = set(self.inst_ids)
        self.url = ws_url
        self.rest_base = rest_base.rstrip("/") if rest_base else None
        self.book_channel = book_channel
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
        await ws.send(orjson.dumps({"op": "subscribe", "args": self._args()}).decode())

    def resubscribe_messages(self, inst_id: str) -> list[str]:
        """A broken book: resubscribe the instrument's book channel, and OKX sends a fresh snapshot."""
        args = [{"channel": self.book_channel, "instId": inst_id}]
        return [orjson.dumps({"op": op, "args": args}).decode() for op in ("unsubscribe", "subscribe")]
