"""A stand-in for Binance USDⓈ-M futures' private REST API: one account, its positions and history.

Bodies are shaped as https://developers.binance.com/docs/ shows (each route cites its page):
numbers as strings, times in ms. Signed requests are checked as Binance checks them
(derivatives/usds-margined-futures/general-info, "SIGNED Endpoint Security"): ``X-MBX-APIKEY``
must be the key, ``signature`` the HMAC-SHA256 of the query before it with the secret, and the
``timestamp`` within ``recvWindow`` of the server's clock (``skew_ms`` moves that clock: a
request signed on a skewed clock gets -1021). ``X-MBX-USED-WEIGHT-1M`` counts the weight of the
last minute's requests (each route's documented weight), plus ``other_weight`` (another bot on
the same IP).

The account is a small model: fills move the position and the wallet the way a one-way USDⓈ-M
account does, so the figures the trader reads are the exchange's arithmetic, not constants.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import time
from collections import deque
from dataclasses import dataclass

from tests.exchange_accounts.standin import Request, Response, StandinExchange

__all__ = ["BinanceStandin", "READ_ONLY", "CAN_TRADE", "CAN_WITHDRAW"]

# GET /sapi/v1/account/apiRestrictions, https://developers.binance.com/docs/wallet/account/api-key-permission
READ_ONLY = {"ipRestrict": True, "createTime": 1698645219000, "enableReading": True, "enableWithdrawals": False,
             "enableInternalTransfer": False, "enableMargin": False, "enableFutures": False,
             "permitsUniversalTransfer": False, "enableVanillaOptions": False, "enableFixApiTrade": False,
             "enableFixReadOnly": True, "enableSpotAndMarginTrading": False, "enablePortfolioMarginTrading": False}
CAN_TRADE = {**READ_ONLY, "enableFutures": True}
CAN_WITHDRAW = {**CAN_TRADE, "enableWithdrawals": True}

# Request weights, from each endpoint's page.
WEIGHTS = {"/fapi/v3/account": 5, "/fapi/v3/positionRisk": 5, "/fapi/v1/income": 30, "/fapi/v1/userTrades": 5,
           "/fapi/v1/forceOrders": 20, "/fapi/v1/time": 1}
MAINT_RATE = 0.004  # maintenance margin rate of the first bracket (BTCUSDT)


def _s(value: float) -> str:
    return f"{value:.8f}"


@dataclass
class BinancePosition:
    symbol: str
    amount: float  # signed
    entry: float
    mark: float
    liquidation: float = 0.0  # "0": Binance's way to say there is no liquidation price
    leverage: float = 10.0
    update_ms: int = 0


class BinanceStandin(StandinExchange):
    name = "binance"

    def __init__(self, api_key: str, secret: str, *, wallet: float = 10_000.0, permissions: dict | None = None) -> None:
        super().__init__(api_key, secret)
        self.wallet = wallet
        self.positions: dict[str, BinancePosition] = {}
        self.income: list[dict] = []
        self.trades: list[dict] = []
        self.force_orders: list[dict] = []
        self.permissions = dict(permissions or READ_ONLY)
        self.skew_ms = 0
        self.other_weight = 0
        self._weights: deque = deque()
        self._ids = itertools.count(100_000)

    # --- the account, as a test scripts it ------------------------------------------------------

    def now_ms(self) -> int:
        return int(time.time() * 1000)

    def open_position(self, symbol: str, amount: float, entry: float, mark: float, liquidation: float = 0.0,
                      leverage: float = 10.0) -> None:
        with self.lock:
            self.positions[symbol] = BinancePosition(symbol, amount, entry, mark, liquidation, leverage, self.now_ms())

    def set_mark(self, symbol: str, mark: float, liquidation: float | None = None) -> None:
        with self.lock:
            position = self.positions[symbol]
            position.mark = mark
            if liquidation is not None:
                position.liquidation = liquidation

    def add_income(self, income_type: str, amount: float, symbol: str = "", trade_id: str = "") -> None:
        with self.lock:
            self.income.append({"symbol": symbol, "incomeType": income_type, "income": _s(amount), "asset": "USDT",
                                "info": income_type, "time": self.now_ms(), "tranId": next(self._ids),
                                "tradeId": trade_id})
            if income_type in ("FUNDING_FEE", "TRANSFER"):
                self.wallet += amount

    def fill(self, symbol: str, side: str, qty: float, price: float, commission: float = 0.0,
             order_id: int | None = None) -> None:
        """A trade on the account: the position, the wallet, userTrades and income all move."""
        with self.lock:
            signed = qty if side == "BUY" else -qty
            position = self.positions.get(symbol)
            realized = 0.0
            if position is None:
                self.positions[symbol] = BinancePosition(symbol, signed, price, price, update_ms=self.now_ms())
            elif position.amount * signed > 0:
                total = position.amount + signed
                position.entry = (position.entry * abs(position.amount) + price * qty) / abs(total)
                position.amount = total
            else:
                closed = min(qty, abs(position.amount))
                realized = (price - position.entry) * closed * (1 if position.amount > 0 else -1)
                position.amount += closed if signed > 0 else -closed
                if abs(position.amount) < 1e-12:
                    del self.positions[symbol]
                if qty > closed:
                    self.positions[symbol] = BinancePosition(symbol, signed / qty * (qty - closed), price, price,
                                                             update_ms=self.now_ms())
            trade_id = next(self._ids)
            order_id = order_id if order_id is not None else next(self._ids)
            # GET /fapi/v1/userTrades: derivatives/usds-margined-futures/trade/rest-api/Account-Trade-List
            self.trades.append({
                "buyer": side == "BUY", "commission": _s(commission), "commissionAsset": "USDT", "id": trade_id,
                "maker": False, "orderId": order_id, "price": _s(price), "qty": _s(qty), "quoteQty": _s(qty * price),
                "realizedPnl": _s(realized), "side": side, "positionSide": "BOTH", "symbol": symbol,
                "time": self.now_ms()})
            self.wallet += realized - commission
            if realized:
                self.add_income("REALIZED_PNL", realized, symbol, str(trade_id))
            if commission:
                self.add_income("COMMISSION", -commission, symbol, str(trade_id))

    def liquidate(self, symbol: str, price: float, clearance_fee: float = 0.0) -> int:
        """The exchange force-closes the position at ``price``: a liquidation order and its fill."""
        with self.lock:
            position = self.positions[symbol]
            order_id = next(self._ids)
            side = "SELL" if position.amount > 0 else "BUY"
            qty = abs(position.amount)
            # GET /fapi/v1/forceOrders: derivatives/usds-margined-futures/trade/rest-api/Users-Force-Orders
            self.force_orders.append({
                "orderId": order_id, "symbol": symbol, "status": "FILLED",
                "clientOrderId": f"autoclose-{self.now_ms()}000020", "price": _s(price), "avgPrice": _s(price),
                "origQty": _s(qty), "executedQty": _s(qty), "cumQuote": _s(qty * price), "timeInForce": "IOC",
                "type": "LIMIT", "reduceOnly": False, "closePosition": False, "side": side, "positionSide": "BOTH",
                "stopPrice": "0", "workingType": "CONTRACT_PRICE", "origType": "LIMIT", "time": self.now_ms(),
                "updateTime": self.now_ms()})
            self.fill(symbol, side, qty, price, order_id=order_id)
            if clearance_fee:
                self.add_income("INSURANCE_CLEAR", -clearance_fee, symbol)
                self.wallet -= clearance_fee
            return order_id

    # --- the wire -----------------------------------------------------------------------------

    def authenticate(self, request: Request) -> Response | None:
        if request.path in ("/fapi/v1/time",):
            return None
        if request.headers.get("X-MBX-APIKEY") != self.api_key:
            return self.refuse("api key", Response(401, {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}))
        payload, _, signature = request.raw_query.rpartition("&signature=")
        expected = hmac.new(self.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature, expected):
            return self.refuse("signature", Response(400, {"code": -1022, "msg": "Signature for this request is not valid."}))
        server_ms = self.now_ms() + self.skew_ms
        timestamp = int(request.query.get("timestamp", "0"))
        window = int(request.query.get("recvWindow", "5000"))
        if not (timestamp < server_ms + 1000 and server_ms - timestamp <= window):
            return self.refuse("timestamp", Response(400, {
                "code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."}))
        return None

    def route(self, request: Request) -> Response:
        self._count_weight(request)
        path, query = request.path, request.query
        with self.lock:
            if path == "/fapi/v1/time":  # market-data/rest-api/Check-Server-Time
                return Response(200, {"serverTime": self.now_ms() + self.skew_ms})
            if path == "/sapi/v1/account/apiRestrictions":  # wallet/account/api-key-permission
                return Response(200, dict(self.permissions))
            if path == "/fapi/v3/account":  # account/rest-api/Account-Information-V3
                return Response(200, self._account())
            if path == "/fapi/v3/positionRisk":  # trade/rest-api/Position-Information-V3
                return Response(200, [self._position(p) for p in self.positions.values()])
            if path == "/fapi/v1/income":  # account/rest-api/Get-Income-History
                start = int(query.get("startTime", "0"))
                rows = [r for r in self.income if r["time"] >= start]
                return Response(200, rows[: int(query.get("limit", "100"))])
            if path == "/fapi/v1/userTrades":  # trade/rest-api/Account-Trade-List (symbol is mandatory)
                if "symbol" not in query:
                    return Response(400, {"code": -1102, "msg": "Mandatory parameter 'symbol' was not sent."})
                start = int(query.get("startTime", "0"))
                rows = [t for t in self.trades if t["symbol"] == query["symbol"] and t["time"] >= start]
                return Response(200, rows[: int(query.get("limit", "500"))])
            if path == "/fapi/v1/forceOrders":  # trade/rest-api/Users-Force-Orders
                start = int(query.get("startTime", "0"))
                rows = [o for o in self.force_orders if o["updateTime"] >= start
                        and o["symbol"] == query.get("symbol", o["symbol"])]
                return Response(200, rows)
        return Response(404, {"code": -5000, "msg": f"Path {path}, Method GET is invalid"})

    def _count_weight(self, request: Request) -> None:
        weight = WEIGHTS.get(request.path, 1)
        if request.path == "/fapi/v1/forceOrders" and "symbol" not in request.query:
            weight = 50
        with self.lock:
            self._weights.append((time.monotonic(), weight))

    def rate_limit_headers(self) -> dict[str, str]:
        with self.lock:
            horizon = time.monotonic() - 60
            while self._weights and self._weights[0][0] < horizon:
                self._weights.popleft()
            used = sum(w for _, w in self._weights) + self.other_weight
        return {"X-MBX-USED-WEIGHT-1M": str(used)}

    def _figures(self) -> dict[str, float]:
        upnl = sum((p.mark - p.entry) * p.amount for p in self.positions.values())
        initial = sum(abs(p.amount) * p.mark / p.leverage for p in self.positions.values())
        maint = sum(abs(p.amount) * p.mark * MAINT_RATE for p in self.positions.values())
        return {"upnl": upnl, "initial": initial, "maint": maint, "margin_balance": self.wallet + upnl}

    def _account(self) -> dict:
        f = self._figures()
        available = f["margin_balance"] - f["initial"]
        return {
            "totalInitialMargin": _s(f["initial"]), "totalMaintMargin": _s(f["maint"]),
            "totalWalletBalance": _s(self.wallet), "totalUnrealizedProfit": _s(f["upnl"]),
            "totalMarginBalance": _s(f["margin_balance"]), "totalPositionInitialMargin": _s(f["initial"]),
            "totalOpenOrderInitialMargin": "0.00000000", "totalCrossWalletBalance": _s(self.wallet),
            "totalCrossUnPnl": _s(f["upnl"]), "availableBalance": _s(available), "maxWithdrawAmount": _s(available),
            "assets": [{
                "asset": "USDT", "walletBalance": _s(self.wallet), "unrealizedProfit": _s(f["upnl"]),
                "marginBalance": _s(f["margin_balance"]), "maintMargin": _s(f["maint"]),
                "initialMargin": _s(f["initial"]), "positionInitialMargin": _s(f["initial"]),
                "openOrderInitialMargin": "0.00000000", "crossWalletBalance": _s(self.wallet),
                "crossUnPnl": _s(f["upnl"]), "availableBalance": _s(available), "maxWithdrawAmount": _s(available),
                "updateTime": self.now_ms()}],
            "positions": [{
                "symbol": p.symbol, "positionSide": "BOTH", "positionAmt": _s(p.amount),
                "unrealizedProfit": _s((p.mark - p.entry) * p.amount), "isolatedMargin": "0.00000000",
                "notional": _s(p.amount * p.mark), "isolatedWallet": "0", "initialMargin": _s(abs(p.amount) * p.mark / p.leverage),
                "maintMargin": _s(abs(p.amount) * p.mark * MAINT_RATE), "updateTime": p.update_ms}
                for p in self.positions.values()],
        }

    @staticmethod
    def _position(p: BinancePosition) -> dict:
        initial = abs(p.amount) * p.mark / p.leverage
        return {
            "symbol": p.symbol, "positionSide": "BOTH", "positionAmt": _s(p.amount), "entryPrice": _s(p.entry),
            "breakEvenPrice": _s(p.entry), "markPrice": _s(p.mark), "unRealizedProfit": _s((p.mark - p.entry) * p.amount),
            "liquidationPrice": _s(p.liquidation) if p.liquidation else "0", "isolatedMargin": "0",
            "notional": _s(p.amount * p.mark), "marginAsset": "USDT", "isolatedWallet": "0",
            "initialMargin": _s(initial), "maintMargin": _s(abs(p.amount) * p.mark * MAINT_RATE),
            "positionInitialMargin": _s(initial), "openOrderInitialMargin": "0", "adl": 2, "bidNotional": "0",
            "askNotional": "0", "updateTime": p.update_ms}
