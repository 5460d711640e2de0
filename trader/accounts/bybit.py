"""Bybit v5 unified trading account (USDT linear perpetuals), read-only, through ccxt's ``bybit`` GET methods.

Reads (docs: https://bybit-exchange.github.io/docs/v5/):
- ``GET /v5/user/query-api`` (user/apikey-info): ``readOnly`` and ``permissions`` (``Wallet``
  holding ``Withdraw`` means the key can withdraw);
- ``GET /v5/account/wallet-balance?accountType=UNIFIED`` (account/wallet-balance): margin balance,
  wallet, perpetuals' unrealised PnL, initial and maintenance margin, ``accountMMRate``;
- ``GET /v5/position/list?category=linear&settleCoin=USDT`` (position/position): positions with mark
  and liquidation price (``""`` when there is none) and their creation time;
- ``GET /v5/account/transaction-log`` (account/transaction-log): trades (fee, realised ``cashFlow``,
  volume), ``SETTLEMENT`` (funding), ``TRANSFER_IN``/``TRANSFER_OUT``;
- ``GET /v5/position/closed-pnl`` (position/close-pnl): closed positions; ``execType`` ``BustTrade``
  is a liquidation;
- ``GET /v5/market/time`` (market/time): the clock, after a 10002.

Budget (rate-limit: 50 GET requests per second per IP; per UID, ccxt's costs at its 20 ms rate
limit give 10/s for position/list and closed-pnl, 30/s for transaction-log, 50/s for wallet-balance;
usage in ``X-Bapi-Limit-Status`` of ``X-Bapi-Limit``): a poll is 2 requests, a history read 2 (up
to 4 pages of the log). The tightest is position/list: one per poll, 1/(poll x 10) of its limit;
at the default 10 s poll, 1 %; the config refuses a poll under 0.2 s (50 %).
"""

from __future__ import annotations

import time
from typing import Any, Mapping, Sequence

from trader.accounts.adapter import AccountAdapter, header, items, number, optional_number, seconds, text
from trader.accounts.errors import Malformed
from trader.accounts.model import (OVERLAP_SECONDS, AccountReading, Balance, CashFlow, ClosedPosition, Fill, History,
                                   HistorySince, KeyPermissions, Liquidation, Position)

__all__ = ["BybitAccount"]

# Requests per second each read may make (ccxt's per-endpoint cost at its 20 ms rate limit).
LIMITS_PER_SECOND = {"wallet_balance": 50.0, "positions": 10.0, "closed_pnl": 10.0, "transaction_log": 30.0}
IP_GET_LIMIT_PER_SECOND = 50.0
_LOG_PAGES = 4


class BybitAccount(AccountAdapter):
    exchange = "bybit"
    title = "Bybit"
    round_trips_from_fills = False
    reads = {
        "query_api": "private_get_v5_user_query_api",
        "time": "public_get_v5_market_time",
        "wallet_balance": "private_get_v5_account_wallet_balance",
        "positions": "private_get_v5_position_list",
        "transaction_log": "private_get_v5_account_transaction_log",
        "closed_pnl": "private_get_v5_position_closed_pnl",
    }
    # retCode values (https://bybit-exchange.github.io/docs/v5/error).
    ERROR_CODES = {
        "10002": "timestamp",  # request expired: check the server timestamp or recv_window
        "10003": "auth",  # API key is invalid
        "10004": "auth",  # error sign
        "10005": "auth",  # permission denied for current apikey
        "10007": "auth",  # user authentication failed
        "10009": "auth",  # IP has been banned
        "10010": "region",  # unmatched IP: the key is bound to other IPs
        "33004": "auth",  # API key expired
        "10006": "rate_limited",  # too many visits
        "10018": "rate_limited",  # exceeded the IP rate limit
        "10016": "server",  # server error
    }

    def make_client(self, credentials, api_url: str | None, timeout_seconds: float) -> Any:
        import ccxt.async_support as ccxt

        client = ccxt.bybit({"apiKey": credentials.api_key, "secret": credentials.secret,
                             "timeout": int(timeout_seconds * 1000), "enableRateLimit": True})
        if api_url:
            for name in list(client.urls["api"]):
                client.urls["api"][name] = api_url.rstrip("/")
        return client

    async def permissions(self, api) -> KeyPermissions:
        result = _result(await api.get("query_api"))
        permissions = result.get("permissions")
        if not isinstance(permissions, dict) or "readOnly" not in result:
            raise Malformed("query-api: expected readOnly and permissions")
        granted = {group: list(values) for group, values in permissions.items() if isinstance(values, list) and values}
        return KeyPermissions(can_read=True, can_trade=str(result["readOnly"]) == "0",
                              can_withdraw="Withdraw" in granted.get("Wallet", []),
                              detail=f"readOnly={result['readOnly']}, " + (
                                  ", ".join(f"{g}: {'/'.join(v)}" for g, v in granted.items()) or "no permission"))

    async def read(self, api) -> AccountReading:
        wallets = items(_result(await api.get("wallet_balance", {"accountType": "UNIFIED"})), "list")
        if not wallets:
            raise Malformed("wallet-balance: expected the UNIFIED account")
        wallet = wallets[0]
        if wallet.get("totalMarginBalance") in ("", None):
            raise Malformed("wallet-balance: account-wide figures are empty (not a unified trading account)")
        balance = Balance(
            equity=number(wallet, "totalMarginBalance"), wallet_balance=number(wallet, "totalWalletBalance"),
            unrealized_pnl=number(wallet, "totalPerpUPL"), margin_used=number(wallet, "totalInitialMargin"),
            margin_free=number(wallet, "totalAvailableBalance"),
            maintenance_margin=number(wallet, "totalMaintenanceMargin"),
            margin_ratio=optional_number(wallet, "accountMMRate"))
        rows = items(_result(await api.get("positions", {"category": "linear", "settleCoin": "USDT", "limit": 200})),
                     "list")
        positions = []
        for row in rows:
            size = number(row, "size")
            if size == 0:
                continue
            created = optional_number(row, "createdTime")
            positions.append(Position(
                symbol=text(row, "symbol"), quantity=size if text(row, "side") == "Buy" else -size,
                entry_price=number(row, "avgPrice"), mark_price=number(row, "markPrice"),
                liquidation_price=optional_number(row, "liqPrice"), unrealized_pnl=number(row, "unrealisedPnl"),
                margin=optional_number(row, "positionIM") or 0.0, leverage=optional_number(row, "leverage") or 0.0,
                opened_at=seconds(created) if created else None))
        return AccountReading(balance, tuple(positions))

    async def history(self, api, since: HistorySince, vanished: Sequence[str], now: float) -> History:
        fills, flows = [], []
        log_start = since.start("transaction_log", now)  # the log and closed PnL refuse windows over 7 days
        log_until = since.until("transaction_log")
        cursor = None
        for _ in range(_LOG_PAGES):
            params = {"accountType": "UNIFIED", "category": "linear", "currency": "USDT",
                      "startTime": int(log_start * 1000), "limit": 50}
            if cursor:
                params["cursor"] = cursor
            result = _result(await api.get("transaction_log", params))
            for row in items(result, "list"):
                log_until = max(log_until, self._log_row(row, fills, flows))
            cursor = result.get("nextPageCursor") or None
            if not cursor:
                log_until = max(log_until, now - OVERLAP_SECONDS)
                break
        closed, liquidations = [], []
        closed_start = since.start("closed_pnl", now)
        closed_until = since.until("closed_pnl")
        result = _result(await api.get("closed_pnl", {"category": "linear", "startTime": int(closed_start * 1000),
                                                      "limit": 100}))
        for row in items(result, "list"):
            trade = _closed(row)
            closed.append(trade)
            closed_until = max(closed_until, trade.closed_at)
            if trade.liquidated:
                liquidations.append(Liquidation(trade.id, trade.symbol, trade.closed_at))
        if not result.get("nextPageCursor"):
            closed_until = max(closed_until, now - OVERLAP_SECONDS)
        return History(fills=tuple(fills), flows=tuple(flows), closed=tuple(closed), liquidations=tuple(liquidations),
                       cursor={"transaction_log": log_until, "closed_pnl": closed_until})

    @staticmethod
    def _log_row(row: Mapping, fills: list, flows: list) -> float:
        kind = text(row, "type")
        ts = seconds(number(row, "transactionTime"))
        key = f"{row.get('tradeId') or row.get('orderId') or ''}:{int(ts * 1000)}"
        symbol = str(row.get("symbol") or "") or None
        if kind in ("TRADE", "LIQUIDATION", "ADL"):
            quantity, price = number(row, "qty"), number(row, "tradePrice")
            fee, realized = number(row, "fee"), number(row, "cashFlow")
            fills.append(Fill(key, symbol or "", quantity if text(row, "side") == "Buy" else -quantity, price,
                              abs(quantity) * price, fee, realized, str(row.get("orderId") or ""), ts))
            flows.append(CashFlow(key, "fee", fee, symbol, ts))
            flows.append(CashFlow(key, "realized", realized, symbol, ts))
        elif kind == "SETTLEMENT":
            flows.append(CashFlow(key, "funding", number(row, "change"), symbol, ts))  # the wallet's change
        elif kind in ("TRANSFER_IN", "TRANSFER_OUT"):
            flows.append(CashFlow(f"{kind}:{key}:{row.get('change')}", "transfer", number(row, "change"), None, ts))
        return ts

    def server_time(self, body: Any) -> float:
        return number(body, "time")

    def error_code(self, body: Any) -> str | None:
        return str(body["retCode"]) if isinstance(body, dict) and "retCode" in body else None

    def retry_after(self, headers: Mapping[str, str]) -> float | None:
        waited = super().retry_after(headers)
        reset = header(headers, "X-Bapi-Limit-Reset-Timestamp")
        try:
            until = max(0.0, float(reset) / 1000 - time.time()) if reset is not None else None
        except ValueError:
            until = None
        candidates = [w for w in (waited, until) if w is not None]
        return max(candidates) if candidates else None

    def rate_limit_usage(self, endpoint: str, headers: Mapping[str, str], now: float) -> float | None:
        remaining, limit = header(headers, "X-Bapi-Limit-Status"), header(headers, "X-Bapi-Limit")
        try:
            if remaining is None or limit is None or float(limit) <= 0:
                return None
            return min(1.0, max(0.0, 1.0 - float(remaining) / float(limit)))
        except ValueError:
            return None

    def budget_share(self, poll_seconds: float, history_seconds: float) -> float:
        rates = {"wallet_balance": 1 / poll_seconds, "positions": 1 / poll_seconds,
                 "closed_pnl": 1 / history_seconds, "transaction_log": _LOG_PAGES / history_seconds}
        per_endpoint = max(rate / LIMITS_PER_SECOND[name] for name, rate in rates.items())
        return max(per_endpoint, sum(rates.values()) / IP_GET_LIMIT_PER_SECOND)


def _result(reply) -> Mapping:
    body = reply.body
    if not isinstance(body, dict) or not isinstance(body.get("result"), dict):
        raise Malformed("expected a JSON object with a result object")
    return body["result"]


def _closed(row: Mapping) -> ClosedPosition:
    quantity = number(row, "closedSize")
    entry, exit_ = number(row, "avgEntryPrice"), number(row, "avgExitPrice")
    long = text(row, "side") == "Sell"  # the closing order's side: a sell closes a long
    gross = (exit_ - entry) * quantity * (1 if long else -1)
    net = number(row, "closedPnl")  # after the opening and closing fees and funding
    ts = seconds(number(row, "updatedTime"))
    return ClosedPosition(
        id=text(row, "orderId"), symbol=text(row, "symbol"), side="long" if long else "short", quantity=quantity,
        entry_price=entry, exit_price=exit_, opened_at=seconds(number(row, "createdTime")), closed_at=ts,
        pnl=gross, fees=gross - net, funding=0.0, net_pnl=net, liquidated=text(row, "execType") == "BustTrade")
