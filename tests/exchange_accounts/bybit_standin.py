"""A stand-in for Bybit's v5 private REST API: one unified trading account with USDT perpetuals.

Bodies are shaped as https://bybit-exchange.github.io/docs/v5/ shows (each route cites its page):
``{"retCode": 0, "retMsg": "OK", "result": {...}, "retExtInfo": {}, "time": ms}``, numbers as
strings. Requests are checked as Bybit checks them (guide, "Authentication"): ``X-BAPI-API-KEY``
is the key, ``X-BAPI-SIGN`` the hex HMAC-SHA256 of ``timestamp + key + recv_window + query`` with
the secret, ``X-BAPI-TIMESTAMP`` within ``X-BAPI-RECV-WINDOW`` of the server's clock (else retCode
10002). Every answer carries ``X-Bapi-Limit``, ``X-Bapi-Limit-Status`` (rate-limit page) for the
endpoint's per-second limit.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import time
from collections import deque
from dataclasses import dataclass

from tests.exchange_accounts.standin import Request, Response, StandinExchange

__all__ = ["BybitStandin", "READ_ONLY", "CAN_TRADE", "CAN_WITHDRAW"]

# GET /v5/user/query-api, https://bybit-exchange.github.io/docs/v5/user/apikey-info
_NO_PERMISSIONS = {"ContractTrade": [], "Spot": [], "Wallet": [], "Options": [], "Derivatives": [],
                   "CopyTrading": [], "BlockTrade": [], "Exchange": [], "NFT": [], "Affiliate": []}
READ_ONLY = {"readOnly": 1, "permissions": _NO_PERMISSIONS}
CAN_TRADE = {"readOnly": 0, "permissions": {**_NO_PERMISSIONS, "ContractTrade": ["Order", "Position"]}}
CAN_WITHDRAW = {"readOnly": 0, "permissions": {**_NO_PERMISSIONS, "ContractTrade": ["Order", "Position"],
                                               "Wallet": ["AccountTransfer", "Withdraw"]}}
MAINT_RATE = 0.005
LIMIT_PER_SECOND = 50


def _s(value: float) -> str:
    return f"{value:.8f}"


@dataclass
class BybitPosition:
    symbol: str
    side: str  # "Buy" | "Sell"
    size: float
    avg_price: float
    mark: float
    liq: float | None
    leverage: float
    created_ms: int


class BybitStandin(StandinExchange):
    name = "bybit"

    def __init__(self, api_key: str, secret: str, *, wallet: float = 10_000.0, permissions: dict | None = None) -> None:
        super().__init__(api_key, secret)
        self.wallet = wallet
        self.positions: dict[str, BybitPosition] = {}
        self.log: list[dict] = []
        self.closed: list[dict] = []
        self.permissions = dict(permissions or READ_ONLY)
        self.skew_ms = 0
        self._recent: deque = deque()
        self._ids = itertools.count(1)

    def now_ms(self) -> int:
        return int(time.time() * 1000)

    # --- the account, as a test scripts it ------------------------------------------------------

    def open_position(self, symbol: str, side: str, size: float, price: float, mark: float | None = None,
                      liq: float | None = None, leverage: float = 10.0) -> None:
        with self.lock:
            self.positions[symbol] = BybitPosition(symbol, side, size, price, mark or price, liq, leverage, self.now_ms())
            self._log("TRADE", symbol, side, size, price, fee=size * price * 0.00055, cash_flow=0.0)

    def set_mark(self, symbol: str, mark: float) -> None:
        with self.lock:
            self.positions[symbol].mark = mark

    def funding(self, symbol: str, change: float) -> None:
        with self.lock:
            self._log("SETTLEMENT", symbol, self.positions[symbol].side, 0.0, self.positions[symbol].mark,
                      funding=-change, change=change)

    def transfer(self, amount: float) -> None:
        with self.lock:
            self._log("TRANSFER_IN" if amount > 0 else "TRANSFER_OUT", "", "None", 0.0, 0.0, change=amount)

    def close_position(self, symbol: str, price: float, bust: bool = False) -> None:
        """The position closes at ``price`` (a liquidation when ``bust``): closed PnL and the log move."""
        with self.lock:
            p = self.positions.pop(symbol)
            direction = 1 if p.side == "Buy" else -1
            gross = (price - p.avg_price) * p.size * direction
            fee = p.size * price * 0.00055
            order_id = f"{next(self._ids):08d}-0f18-5866-9415-cf319b5dab3b"
            closing_side = "Sell" if p.side == "Buy" else "Buy"
            self._log("LIQUIDATION" if bust else "TRADE", symbol, closing_side, p.size, price, fee=fee,
                      cash_flow=gross, order_id=order_id)
            # GET /v5/position/closed-pnl, https://bybit-exchange.github.io/docs/v5/position/close-pnl
            now = self.now_ms()
            self.closed.append({
                "symbol": symbol, "orderType": "Market", "leverage": _s(p.leverage), "updatedTime": str(now),
                "side": closing_side, "orderId": order_id, "closedPnl": _s(gross - 2 * fee),
                "avgEntryPrice": _s(p.avg_price), "qty": _s(p.size), "cumEntryValue": _s(p.avg_price * p.size),
                "createdTime": str(now * 1_000_000), "orderPrice": _s(price), "closedSize": _s(p.size),
                "avgExitPrice": _s(price), "execType": "BustTrade" if bust else "Trade", "fillCount": "1",
                "cumExitValue": _s(price * p.size)})

    def _log(self, kind: str, symbol: str, side: str, qty: float, price: float, *, fee: float = 0.0,
             cash_flow: float = 0.0, funding: float | None = None, change: float | None = None,
             order_id: str = "") -> None:
        change = cash_flow - fee if change is None else change
        self.wallet += change
        # GET /v5/account/transaction-log, https://bybit-exchange.github.io/docs/v5/account/transaction-log
        self.log.append({
            "symbol": symbol, "side": side, "funding": _s(funding) if funding is not None else "",
            "orderLinkId": "", "orderId": order_id or f"{next(self._ids)}", "fee": _s(fee), "change": _s(change),
            "cashFlow": _s(cash_flow), "transactionTime": str(self.now_ms()), "type": kind, "feeRate": "0.00055",
            "size": _s(qty), "qty": _s(qty), "cashBalance": _s(self.wallet), "currency": "USDT",
            "category": "linear", "tradePrice": _s(price), "tradeId": f"5184f079-88ec-54c7-8774-{next(self._ids):012d}"})

    # --- the wire -----------------------------------------------------------------------------

    def _ok(self, result: dict) -> Response:
        return Response(200, {"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}, "time": self.now_ms()})

    def authenticate(self, request: Request) -> Response | None:
        if request.path == "/v5/market/time":
            return None
        h = request.headers
        if h.get("X-BAPI-API-KEY") != self.api_key:
            return self.refuse("api key", Response(401, {"retCode": 10003, "retMsg": "API key is invalid.",
                                                         "result": {}, "retExtInfo": {}, "time": self.now_ms()}))
        timestamp, window = h.get("X-BAPI-TIMESTAMP", ""), h.get("X-BAPI-RECV-WINDOW", "5000")
        payload = f"{timestamp}{self.api_key}{window}{request.raw_query}"
        expected = hmac.new(self.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(h.get("X-BAPI-SIGN", ""), expected):
            return self.refuse("signature", Response(401, {
                "retCode": 10004, "retMsg": "error sign! origin_string[...]", "result": {}, "retExtInfo": {},
                "time": self.now_ms()}))
        server = self.now_ms() + self.skew_ms
        if not (server - int(window) <= int(timestamp or 0) < server + 1000):
            return self.refuse("timestamp", Response(200, {
                "retCode": 10002, "retMsg": "invalid request, please check your server timestamp or recv_window param. "
                f"req_timestamp[{timestamp}],server_timestamp[{server}],recv_window[{window}]",
                "result": {}, "retExtInfo": {}, "time": server}))
        return None

    def route(self, request: Request) -> Response:
        with self.lock:
            self._recent.append(time.monotonic())
            path, query = request.path, request.query
            if path == "/v5/market/time":  # market/time
                now = self.now_ms() + self.skew_ms
                return Response(200, {"retCode": 0, "retMsg": "OK", "result": {
                    "timeSecond": str(now // 1000), "timeNano": str(now * 1_000_000)}, "retExtInfo": {}, "time": now})
            if path == "/v5/user/query-api":  # user/apikey-info
                return self._ok({"id": "13770661", "note": "watch", "apiKey": self.api_key, "secret": "",
                                 **self.permissions, "ips": ["*"], "type": 1, "deadlineDay": 83,
                                 "expiredAt": "2023-05-15T03:21:05Z", "createdAt": "2022-10-16T02:24:40Z",
                                 "unified": 0, "uta": 1, "userID": 24600000, "inviterID": 0, "vipLevel": "No VIP",
                                 "mktMakerLevel": "0", "affiliateID": 0, "rsaPublicKey": "", "isMaster": True,
                                 "parentUid": "0", "kycLevel": "LEVEL_DEFAULT", "kycRegion": ""})
            if path == "/v5/account/wallet-balance":  # account/wallet-balance
                return self._ok({"list": [self._wallet()]})
            if path == "/v5/position/list":  # position/position
                return self._ok({"list": [self._position(p) for p in self.positions.values()], "nextPageCursor": "",
                                 "category": "linear"})
            if path == "/v5/account/transaction-log":  # account/transaction-log (newest first)
                start = int(query.get("startTime", "0"))
                rows = [r for r in self.log if int(r["transactionTime"]) >= start][::-1]
                return self._ok({"nextPageCursor": "", "list": rows[: int(query.get("limit", "20"))]})
            if path == "/v5/position/closed-pnl":  # position/close-pnl (newest first)
                start = int(query.get("startTime", "0"))
                rows = [r for r in self.closed if int(r["updatedTime"]) >= start][::-1]
                return self._ok({"nextPageCursor": "", "category": "linear", "list": rows[: int(query.get("limit", "50"))]})
        return Response(404, {"retCode": 10001, "retMsg": "unknown path", "result": {}, "retExtInfo": {}})

    def rate_limit_headers(self) -> dict[str, str]:
        with self.lock:
            while self._recent and self._recent[0] < time.monotonic() - 1:
                self._recent.popleft()
            used = len(self._recent)
        return {"X-Bapi-Limit": str(LIMIT_PER_SECOND), "X-Bapi-Limit-Status": str(max(0, LIMIT_PER_SECOND - used)),
                "X-Bapi-Limit-Reset-Timestamp": str(self.now_ms())}

    def _wallet(self) -> dict:
        upnl = sum((p.mark - p.avg_price) * p.size * (1 if p.side == "Buy" else -1) for p in self.positions.values())
        im = sum(p.size * p.mark / p.leverage for p in self.positions.values())
        mm = sum(p.size * p.mark * MAINT_RATE for p in self.positions.values())
        margin = self.wallet + upnl
        return {
            "totalEquity": _s(margin), "accountIMRate": _s(im / margin if margin else 0), "totalMarginBalance": _s(margin),
            "totalInitialMargin": _s(im), "accountType": "UNIFIED", "totalAvailableBalance": _s(margin - im),
            "accountMMRate": _s(mm / margin if margin else 0), "totalPerpUPL": _s(upnl),
            "totalWalletBalance": _s(self.wallet), "accountLTV": "0", "totalMaintenanceMargin": _s(mm),
            "coin": [{"availableToBorrow": "", "bonus": "0", "accruedInterest": "0", "availableToWithdraw": _s(margin - im),
                      "totalOrderIM": "0", "equity": _s(margin), "totalPositionMM": _s(mm), "usdValue": _s(margin),
                      "unrealisedPnl": _s(upnl), "collateralSwitch": True, "spotHedgingQty": "0", "borrowAmount": "0",
                      "totalPositionIM": _s(im), "walletBalance": _s(self.wallet), "cumRealisedPnl": "0",
                      "locked": "0", "marginCollateral": True, "coin": "USDT"}]}

    @staticmethod
    def _position(p: BybitPosition) -> dict:
        direction = 1 if p.side == "Buy" else -1
        return {
            "positionIdx": 0, "riskId": 1, "riskLimitValue": "2000000", "symbol": p.symbol, "side": p.side,
            "size": _s(p.size), "avgPrice": _s(p.avg_price), "positionValue": _s(p.size * p.avg_price), "tradeMode": 0,
            "positionStatus": "Normal", "autoAddMargin": 0, "adlRankIndicator": 2, "leverage": _s(p.leverage),
            "positionBalance": _s(p.size * p.avg_price / p.leverage), "markPrice": _s(p.mark),
            "liqPrice": _s(p.liq) if p.liq else "", "bustPrice": "", "positionMM": _s(p.size * p.mark * MAINT_RATE),
            "positionIM": _s(p.size * p.mark / p.leverage), "tpslMode": "Full", "takeProfit": "0.00",
            "stopLoss": "0.00", "trailingStop": "0.00", "unrealisedPnl": _s((p.mark - p.avg_price) * p.size * direction),
            "curRealisedPnl": "0", "cumRealisedPnl": "0", "seq": 5723621632, "isReduceOnly": False,
            "mmrSysUpdatedTime": "", "leverageSysUpdatedTime": "", "createdTime": str(p.created_ms),
            "updatedTime": str(p.created_ms)}
