"""Binance USDⓈ-M futures account, read-only, through ccxt's ``binanceusdm`` implicit GET methods.

Reads (docs: https://developers.binance.com/docs/derivatives/usds-margined-futures/):
- ``GET /sapi/v1/account/apiRestrictions`` (wallet/account/api-key-permission): what the key may do;
- ``GET /fapi/v3/account`` (account/rest-api/Account-Information-V3): margin balance, wallet,
  unrealised PnL, initial and maintenance margin, available balance;
- ``GET /fapi/v3/positionRisk`` (trade/rest-api/Position-Information-V3): positions with mark and
  liquidation price (a WebSocket ACCOUNT_UPDATE carries none: this is the source of truth);
- ``GET /fapi/v1/income`` (account/rest-api/Get-Income-History): realised PnL, commissions,
  funding, transfers;
- ``GET /fapi/v1/userTrades`` (trade/rest-api/Account-Trade-List): fills (volume, round trips), per
  symbol with income since the last read;
- ``GET /fapi/v1/forceOrders`` (trade/rest-api/Users-Force-Orders): liquidations, asked only for a
  symbol whose position went away;
- ``GET /fapi/v1/time`` (market-data/rest-api/Check-Server-Time): the clock, after a -1021.

Weight budget (general-info: 2400 request weight per minute per IP, header
``X-MBX-USED-WEIGHT-1M``): a poll is account (5) + positionRisk (5) = 10; a history read is
income (30) + userTrades (5 per symbol traded; 2 assumed) = 40, + forceOrders (20) per vanished
position. At the defaults (poll 10 s, history 20 s): 60 + 120 = 180 weight/min, 7.5 % of the
limit; the config refuses intervals that would use more than half of it (poll 1 s with history
5 s: 600 + 480 = 1080, 45 %). ``apiRestrictions`` is sapi weight 1 of a separate 12,000/min, once.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from trader.accounts.adapter import AccountAdapter, header, items, number, optional_number, seconds, text
from trader.accounts.errors import Malformed
from trader.accounts.model import (OVERLAP_SECONDS, AccountReading, Balance, CashFlow, Fill, History, HistorySince,
                                   KeyPermissions, Liquidation, Position)

__all__ = ["BinanceAccount"]

WEIGHT_LIMIT_PER_MINUTE = 2400  # REQUEST_WEIGHT of /fapi, per IP (exchangeInfo rateLimits)
SAPI_WEIGHT_LIMIT_PER_MINUTE = 12_000  # each IP-limited /sapi endpoint
POLL_WEIGHT = 5 + 5  # /fapi/v3/account + /fapi/v3/positionRisk
HISTORY_WEIGHT = 30 + 2 * 5  # /fapi/v1/income + /fapi/v1/userTrades for two symbols
# Income types and what they are to the account; INSURANCE_CLEAR is the liquidation clearance fee.
_INCOME_KINDS = {"REALIZED_PNL": "realized", "COMMISSION": "fee", "INSURANCE_CLEAR": "fee", "FUNDING_FEE": "funding",
                 "TRANSFER": "transfer"}


class BinanceAccount(AccountAdapter):
    exchange = "binance"
    title = "Binance"
    round_trips_from_fills = True  # no position history on USDⓈ-M: trades are rebuilt from fills
    reads = {
        "api_restrictions": "sapi_get_account_apirestrictions",
        "time": "fapipublic_get_time",
        "account": "fapiprivatev3_get_account",
        "positions": "fapiprivatev3_get_positionrisk",
        "income": "fapiprivate_get_income",
        "user_trades": "fapiprivate_get_usertrades",
        "force_orders": "fapiprivate_get_forceorders",
    }
    # Error codes (https://developers.binance.com/docs/derivatives/usds-margined-futures/error-code).
    ERROR_CODES = {
        "-1021": "timestamp",  # Timestamp for this request is outside of the recvWindow
        "-1022": "auth",  # Signature for this request is not valid
        "-2014": "auth",  # API-key format invalid
        "-2015": "auth",  # Invalid API-key, IP, or permissions for action
        "-1003": "rate_limited",  # Too many requests
        "-1000": "server",  # An unknown error occurred while processing the request
        "-1001": "server",  # Internal error; unable to process your request
        "-1007": "timeout",  # Timeout waiting for response from backend server
    }

    def make_client(self, credentials, api_url: str | None, timeout_seconds: float) -> Any:
        import ccxt.async_support as ccxt

        client = ccxt.binanceusdm({"apiKey": credentials.api_key, "secret": credentials.secret,
                                   "timeout": int(timeout_seconds * 1000), "enableRateLimit": True})
        if api_url:
            base = api_url.rstrip("/")
            for name, url in list(client.urls["api"].items()):
                if isinstance(url, str):
                    for host in ("https://fapi.binance.com", "https://api.binance.com"):
                        url = url.replace(host, base)
                    client.urls["api"][name] = url
        return client

    async def permissions(self, api) -> KeyPermissions:
        body = (await api.get("api_restrictions")).body
        flags = {key: bool(body.get(key)) for key in (
            "enableReading", "enableWithdrawals", "enableInternalTransfer", "permitsUniversalTransfer",
            "enableFutures", "enableSpotAndMarginTrading", "enableMargin", "enableVanillaOptions",
            "enablePortfolioMarginTrading")} if isinstance(body, dict) else None
        if flags is None or "enableWithdrawals" not in body:
            raise Malformed("apiRestrictions: expected enableWithdrawals and the other permission flags")
        trading = [k for k in ("enableFutures", "enableSpotAndMarginTrading", "enableMargin", "enableVanillaOptions",
                               "enablePortfolioMarginTrading", "enableInternalTransfer", "permitsUniversalTransfer")
                   if flags[k]]
        return KeyPermissions(can_read=flags["enableReading"], can_trade=bool(trading),
                              can_withdraw=flags["enableWithdrawals"],
                              detail="enabled: " + (", ".join(k for k, v in flags.items() if v) or "nothing"))

    async def read(self, api) -> AccountReading:
        account = (await api.get("account")).body
        equity = number(account, "totalMarginBalance")
        maintenance = number(account, "totalMaintMargin")
        balance = Balance(
            equity=equity, wallet_balance=number(account, "totalWalletBalance"),
            unrealized_pnl=number(account, "totalUnrealizedProfit"), margin_used=number(account, "totalInitialMargin"),
            margin_free=number(account, "availableBalance"), maintenance_margin=maintenance,
            margin_ratio=maintenance / equity if equity > 0 else None)
        rows = (await api.get("positions")).body
        if not isinstance(rows, list):
            raise Malformed("positionRisk: expected a list of positions")
        positions = []
        for row in rows:
            quantity = number(row, "positionAmt")
            if quantity == 0:
                continue
            margin = number(row, "initialMargin")
            liquidation = optional_number(row, "liquidationPrice")
            positions.append(Position(
                symbol=text(row, "symbol"), quantity=quantity, entry_price=number(row, "entryPrice"),
                mark_price=number(row, "markPrice"), liquidation_price=liquidation or None,  # "0": none
                unrealized_pnl=number(row, "unRealizedProfit"), margin=margin,
                leverage=abs(number(row, "notional")) / margin if margin > 0 else 0.0, opened_at=None))
        return AccountReading(balance, tuple(positions))

    async def history(self, api, since: HistorySince, vanished: Sequence[str], now: float) -> History:
        start_ms = int(since.start("income", now) * 1000)  # userTrades refuses a window over 7 days
        rows = items({"rows": (await api.get("income", {"startTime": start_ms, "limit": 1000})).body}, "rows")
        flows, traded, until = [], set(), since.until("income")
        for row in rows:
            kind = _INCOME_KINDS.get(text(row, "incomeType"))
            ts = seconds(number(row, "time"))
            until = max(until, ts)
            if kind is None:
                continue
            amount = number(row, "income")
            symbol = str(row.get("symbol") or "") or None
            flows.append(CashFlow(f"{row['incomeType']}:{text(row, 'tranId')}", kind,
                                  -amount if kind == "fee" else amount, symbol, ts))
            if kind in ("realized", "fee") and symbol:
                traded.add(symbol)
        if len(rows) < 1000:
            until = max(until, now - OVERLAP_SECONDS)  # complete up to about now
        fills = []
        for symbol in sorted(traded | set(vanished)):
            trades = (await api.get("user_trades", {"symbol": symbol, "startTime": start_ms, "limit": 1000})).body
            for row in items({"rows": trades}, "rows"):
                quantity = number(row, "qty")
                fills.append(Fill(
                    id=f"{symbol}:{text(row, 'id')}", symbol=symbol,
                    quantity=quantity if text(row, "side") == "BUY" else -quantity, price=number(row, "price"),
                    notional=number(row, "quoteQty"), fee=abs(number(row, "commission")),
                    realized_pnl=number(row, "realizedPnl"), order_id=text(row, "orderId"),
                    ts=seconds(number(row, "time"))))
        liquidations = []
        for symbol in sorted(vanished):
            orders = (await api.get("force_orders", {"symbol": symbol, "autoCloseType": "LIQUIDATION",
                                                     "startTime": start_ms})).body
            for row in items({"rows": orders}, "rows"):
                liquidations.append(Liquidation(text(row, "orderId"), symbol, seconds(number(row, "updateTime"))))
        return History(fills=tuple(fills), flows=tuple(flows), liquidations=tuple(liquidations),
                       cursor={"income": until})

    def server_time(self, body: Any) -> float:
        return number(body, "serverTime")

    def error_code(self, body: Any) -> str | None:
        return str(body["code"]) if isinstance(body, dict) and "code" in body else None

    def rate_limit_usage(self, endpoint: str, headers: Mapping[str, str], now: float) -> float | None:
        if endpoint == "api_restrictions":
            used, limit = header(headers, "X-SAPI-USED-IP-WEIGHT-1M"), SAPI_WEIGHT_LIMIT_PER_MINUTE
        else:
            used, limit = header(headers, "X-MBX-USED-WEIGHT-1M"), WEIGHT_LIMIT_PER_MINUTE
        try:
            return max(0.0, float(used)) / limit if used is not None else None
        except ValueError:
            return None

    def budget_share(self, poll_seconds: float, history_seconds: float) -> float:
        per_minute = POLL_WEIGHT * 60 / poll_seconds + HISTORY_WEIGHT * 60 / history_seconds
        return per_minute / WEIGHT_LIMIT_PER_MINUTE
