"""OKX v5 trading account (USDT-margined perpetual swaps), read-only, through ccxt's ``okx`` GET methods.

Reads (docs: https://www.okx.com/docs-v5/en/, section "Trading Account" unless said):
- ``GET /api/v5/account/config``: ``perm`` lists what the key may do (``read_only``, ``trade``,
  ``withdraw``);
- ``GET /api/v5/account/balance``: per currency (USDT) equity, cash balance, unrealised PnL,
  initial and maintenance margin, available equity;
- ``GET /api/v5/account/positions?instType=SWAP``: positions in contracts, with mark and
  liquidation price (``""`` when there is none) and creation time;
- ``GET /api/v5/trade/fills?instType=SWAP`` ("Order Book Trading"): fills (fee, ``fillPnl``, volume);
- ``GET /api/v5/account/bills?ccy=USDT``: funding (type 8) and transfers (type 1);
- ``GET /api/v5/account/positions-history?instType=SWAP``: closed positions; type 3 and 4 are
  (partial) liquidations;
- ``GET /api/v5/public/instruments?instType=SWAP`` ("Public Data"): ``ctVal``, the base quantity of
  one contract, once per instrument;
- ``GET /api/v5/public/time`` ("Public Data"): the clock, after a 50102.

OKX sends no rate-limit header. Its limits per UserID are the ones ccxt encodes as each
endpoint's cost at its 110 ms rate limit (``1000 / (110 x cost)`` requests per second): balance,
positions, bills and positions-history cost 2 (4.5/s: the docs' 10 per 2 s), fills 1/3 (27/s),
config 4 (2.3/s). ``rate_limit_usage`` is the requests this account made to an endpoint in the
last 2 s against that limit. Budget: a poll is one balance and one positions request, a history
read one fills, bills and positions-history request; the tightest is 1/(poll x 4.5) of a limit:
at the default 10 s poll, 2 %; the config refuses a poll under 0.45 s (50 %).
"""

from __future__ import annotations

from collections import defaultdict, deque
from typing import Any, Mapping, Sequence

from trader.accounts.adapter import AccountAdapter, items, number, optional_number, seconds, text
from trader.accounts.errors import Malformed
from trader.accounts.model import (OVERLAP_SECONDS, AccountReading, Balance, CashFlow, ClosedPosition, Fill, History,
                                   HistorySince, KeyPermissions, Liquidation, Position)

__all__ = ["OkxAccount"]

CCXT_RATE_LIMIT_MS = 110  # ccxt's okx rateLimit
CCXT_COSTS = {"config": 4, "balance": 2, "positions": 2, "bills": 2, "positions_history": 2, "fills": 1 / 3,
              "instruments": 1, "time": 2}
_WINDOW_SECONDS = 2.0
_PAGE = 100  # records per request (the most each of these endpoints returns)
# How far back each stream may be read: fills, the last 3 days; bills, 7 days; positions history, 3 months.
_LOOKBACK_SECONDS = {"fills": 2.5 * 86_400, "bills": 6.5 * 86_400, "positions_history": 30 * 86_400}
_FUNDING_BILL, _TRANSFER_BILL = "8", "1"
_CLOSED_TYPES = {"2", "3", "5"}  # closed all, liquidation, ADL (1 and 4 close part of it)
_LIQUIDATION_TYPES = {"3", "4"}


def limit_per_second(endpoint: str) -> float:
    return 1000 / (CCXT_RATE_LIMIT_MS * CCXT_COSTS[endpoint])


class OkxAccount(AccountAdapter):
    exchange = "okx"
    title = "OKX"
    round_trips_from_fills = False
    reads = {
        "config": "private_get_account_config",
        "time": "public_get_public_time",
        "instruments": "public_get_public_instruments",
        "balance": "private_get_account_balance",
        "positions": "private_get_account_positions",
        "fills": "private_get_trade_fills",
        "bills": "private_get_account_bills",
        "positions_history": "private_get_account_positions_history",
    }
    # Error codes (https://www.okx.com/docs-v5/en/#error-code-rest-api-public).
    ERROR_CODES = {
        "50102": "timestamp",  # Timestamp request expired
        "50111": "auth",  # Invalid OK-ACCESS-KEY
        "50113": "auth",  # Invalid Sign
        "50114": "auth",  # Invalid authorization
        "50105": "auth",  # Request header OK-ACCESS-PASSPHRASE incorrect
        "50100": "auth",  # API frozen
        "50110": "region",  # your IP is not in the key's IP allow-list
        "51155": "region",  # not available in your country or region (compliance)
        "50011": "rate_limited",  # Rate limit reached
        "50001": "server",  # Service temporarily unavailable
        "50013": "server",  # Systems are busy
    }

    def __init__(self) -> None:
        self._contract_values: dict[str, float] = {}
        self._requests: dict[str, deque] = defaultdict(deque)

    def make_client(self, credentials, api_url: str | None, timeout_seconds: float) -> Any:
        import ccxt.async_support as ccxt

        client = ccxt.okx({"apiKey": credentials.api_key, "secret": credentials.secret,
                           "password": credentials.passphrase, "timeout": int(timeout_seconds * 1000),
                           "enableRateLimit": True})
        if api_url:
            client.urls["api"]["rest"] = api_url.rstrip("/")
        return client

    async def permissions(self, api) -> KeyPermissions:
        config = _first(await api.get("config"))
        perm = text(config, "perm")
        granted = {p.strip() for p in perm.split(",") if p.strip()}
        return KeyPermissions(can_read="read_only" in granted, can_trade="trade" in granted,
                              can_withdraw="withdraw" in granted, detail=f"perm={perm}")

    async def read(self, api) -> AccountReading:
        account = _first(await api.get("balance", {"ccy": "USDT"}))
        usdt = next((d for d in items(account, "details") if isinstance(d, dict) and d.get("ccy") == "USDT"), None)
        if usdt is None:
            raise Malformed("balance: no USDT in details")
        equity = number(usdt, "eq")
        maintenance = optional_number(usdt, "mmr") or 0.0
        balance = Balance(
            equity=equity, wallet_balance=number(usdt, "cashBal"), unrealized_pnl=optional_number(usdt, "upl") or 0.0,
            margin_used=optional_number(usdt, "imr") or optional_number(usdt, "frozenBal") or 0.0,
            margin_free=optional_number(usdt, "availEq") or number(usdt, "availBal"),
            maintenance_margin=maintenance, margin_ratio=maintenance / equity if equity > 0 and maintenance else None)
        rows = items(_body(await api.get("positions", {"instType": "SWAP"})), "data")
        positions = []
        for row in rows:
            inst = text(row, "instId")
            contracts = number(row, "pos")
            if contracts == 0 or not inst.endswith("-USDT-SWAP"):
                continue
            value = await self._contract_value(api, inst)
            side = str(row.get("posSide") or "net")
            quantity = abs(contracts) * value * (-1 if side == "short" or (side == "net" and contracts < 0) else 1)
            created = optional_number(row, "cTime")
            positions.append(Position(
                symbol=_symbol(inst), quantity=quantity, entry_price=number(row, "avgPx"),
                mark_price=number(row, "markPx"), liquidation_price=optional_number(row, "liqPx"),
                unrealized_pnl=number(row, "upl"),
                margin=optional_number(row, "imr") or optional_number(row, "margin") or 0.0,
                leverage=optional_number(row, "lever") or 0.0, opened_at=seconds(created) if created else None))
        return AccountReading(balance, tuple(positions))

    async def _contract_value(self, api, inst: str) -> float:
        if inst not in self._contract_values:
            instrument = _first(await api.get("instruments", {"instType": "SWAP", "instId": inst}))
            self._contract_values[inst] = number(instrument, "ctVal")
        return self._contract_values[inst]

    async def history(self, api, since: HistorySince, vanished: Sequence[str], now: float) -> History:
        fills, flows, closed, liquidations = [], [], [], []
        start = {s: since.start(s, now, lookback) for s, lookback in _LOOKBACK_SECONDS.items()}
        until = {s: since.until(s) for s in start}
        full: set[str] = set()  # streams that filled a page: more to read next time
        rows = items(_body(await api.get("fills", {"instType": "SWAP", "begin": int(start["fills"] * 1000),
                                                   "limit": _PAGE})), "data")
        for row in rows:
            inst = text(row, "instId")
            if not inst.endswith("-USDT-SWAP"):
                continue
            ts = seconds(number(row, "ts"))
            until["fills"] = max(until["fills"], ts)
            quantity = number(row, "fillSz") * await self._contract_value(api, inst)
            price, fee, realized = number(row, "fillPx"), -number(row, "fee"), number(row, "fillPnl")
            key = text(row, "billId")
            fills.append(Fill(key, _symbol(inst), quantity if text(row, "side") == "buy" else -quantity, price,
                              quantity * price, fee, realized, text(row, "ordId"), ts))
            flows.append(CashFlow(key, "fee", fee, _symbol(inst), ts))
            flows.append(CashFlow(key, "realized", realized, _symbol(inst), ts))
        if len(rows) >= _PAGE:
            full.add("fills")
        rows = items(_body(await api.get("bills", {"ccy": "USDT", "begin": int(start["bills"] * 1000),
                                                   "limit": _PAGE})), "data")
        for row in rows:
            ts = seconds(number(row, "ts"))
            until["bills"] = max(until["bills"], ts)
            kind = {_FUNDING_BILL: "funding", _TRANSFER_BILL: "transfer"}.get(text(row, "type"))
            if kind is not None:
                inst = str(row.get("instId") or "")
                flows.append(CashFlow(text(row, "billId"), kind, number(row, "balChg"),
                                      _symbol(inst) if inst else None, ts))
        if len(rows) >= _PAGE:
            full.add("bills")
        rows = items(_body(await api.get("positions_history", {
            "instType": "SWAP", "before": int(start["positions_history"] * 1000), "limit": _PAGE})), "data")
        for row in rows:
            inst = text(row, "instId")
            if not inst.endswith("-USDT-SWAP"):
                continue
            kind, ts = text(row, "type"), seconds(number(row, "uTime"))
            until["positions_history"] = max(until["positions_history"], ts)
            key = f"{text(row, 'posId')}:{int(ts * 1000)}"
            if kind in _LIQUIDATION_TYPES:
                liquidations.append(Liquidation(key, _symbol(inst), ts))
            if kind in _CLOSED_TYPES:
                closed.append(await self._closed(api, row, inst, key, ts))
        if len(rows) >= _PAGE:
            full.add("positions_history")
        for stream in until:
            if stream not in full:  # fewer than a full page: read up to about now
                until[stream] = max(until[stream], now - OVERLAP_SECONDS)
        return History(fills=tuple(fills), flows=tuple(flows), closed=tuple(closed), liquidations=tuple(liquidations),
                       cursor=until)

    async def _closed(self, api, row: Mapping, inst: str, key: str, ts: float) -> ClosedPosition:
        fee, funding = -number(row, "fee"), number(row, "fundingFee")
        pnl = number(row, "pnl")
        return ClosedPosition(
            id=key, symbol=_symbol(inst), side="short" if text(row, "direction") == "short" else "long",
            quantity=number(row, "openMaxPos") * await self._contract_value(api, inst),
            entry_price=number(row, "openAvgPx"), exit_price=number(row, "closeAvgPx"),
            opened_at=seconds(number(row, "cTime")), closed_at=ts, pnl=pnl, fees=fee, funding=funding,
            net_pnl=number(row, "realizedPnl"), liquidated=text(row, "type") in _LIQUIDATION_TYPES)

    def server_time(self, body: Any) -> float:
        return number(_first_of(body), "ts")

    def error_code(self, body: Any) -> str | None:
        if isinstance(body, dict) and str(body.get("code", "0")) != "0":
            return str(body["code"])
        return None

    def rate_limit_usage(self, endpoint: str, headers: Mapping[str, str], now: float) -> float | None:
        if endpoint not in CCXT_COSTS:
            return None
        sent = self._requests[endpoint]
        sent.append(now)
        while sent and sent[0] < now - _WINDOW_SECONDS:
            sent.popleft()
        return min(1.0, len(sent) / (limit_per_second(endpoint) * _WINDOW_SECONDS))

    def budget_share(self, poll_seconds: float, history_seconds: float) -> float:
        rates = {"balance": 1 / poll_seconds, "positions": 1 / poll_seconds, "fills": 1 / history_seconds,
                 "bills": 1 / history_seconds, "positions_history": 1 / history_seconds}
        return max(rate / limit_per_second(name) for name, rate in rates.items())


def _symbol(inst: str) -> str:
    """OKX's instrument id as the trader names the market: BTC-USDT-SWAP -> BTCUSDT."""
    return "".join(inst.split("-")[:2])


def _body(reply) -> Mapping:
    if not isinstance(reply.body, dict):
        raise Malformed("expected a JSON object")
    return reply.body


def _first_of(body: Any) -> Mapping:
    rows = items(body if isinstance(body, dict) else {}, "data")
    if not rows or not isinstance(rows[0], dict):
        raise Malformed("expected a data list with one object")
    return rows[0]


def _first(reply) -> Mapping:
    return _first_of(reply.body)
