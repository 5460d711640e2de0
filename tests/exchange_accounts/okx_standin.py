"""A stand-in for OKX's v5 private REST API: one trading account with USDT-margined swaps.

Bodies are shaped as https://www.okx.com/docs-v5/en/ shows (each route cites its section):
``{"code": "0", "msg": "", "data": [...]}``, numbers as strings, positions in contracts. Requests
are checked as OKX checks them ("REST Authentication"): ``OK-ACCESS-KEY`` is the key,
``OK-ACCESS-PASSPHRASE`` the passphrase, ``OK-ACCESS-SIGN`` the base64 HMAC-SHA256 of
``timestamp + method + requestPath + body`` with the secret, and ``OK-ACCESS-TIMESTAMP`` (ISO
8601, ms) within 30 s of the server's clock (else 50102). OKX sends no rate-limit header.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import time
from dataclasses import dataclass
from datetime import datetime

from tests.exchange_accounts.standin import Request, Response, StandinExchange

__all__ = ["OkxStandin", "READ_ONLY", "CAN_TRADE", "CAN_WITHDRAW", "CONTRACT_VALUES"]

READ_ONLY, CAN_TRADE, CAN_WITHDRAW = "read_only", "read_only,trade", "read_only,withdraw,trade"
# ctVal of GET /api/v5/public/instruments?instType=SWAP ("Public Data", "Get instruments").
CONTRACT_VALUES = {"BTC-USDT-SWAP": 0.01, "ETH-USDT-SWAP": 0.1}
MAINT_RATE = 0.004


def _s(value: float) -> str:
    return f"{value:.8f}".rstrip("0").rstrip(".") if value else "0"


@dataclass
class OkxPosition:
    inst: str
    contracts: float  # signed, net mode
    avg: float
    mark: float
    liq: float | None
    lever: float
    created_ms: int


class OkxStandin(StandinExchange):
    name = "okx"

    def __init__(self, api_key: str, secret: str, passphrase: str, *, cash: float = 10_000.0,
                 perm: str = READ_ONLY) -> None:
        super().__init__(api_key, secret, passphrase)
        self.cash = cash
        self.positions: dict[str, OkxPosition] = {}
        self.fills: list[dict] = []
        self.bills: list[dict] = []
        self.history: list[dict] = []
        self.perm = perm
        self.skew_ms = 0
        self._ids = itertools.count(600_000_000)

    def now_ms(self) -> int:
        return int(time.time() * 1000)

    # --- the account, as a test scripts it ------------------------------------------------------

    def open_position(self, inst: str, contracts: float, price: float, mark: float | None = None,
                      liq: float | None = None, lever: float = 10.0) -> None:
        with self.lock:
            self.positions[inst] = OkxPosition(inst, contracts, price, mark or price, liq, lever, self.now_ms())
            self._fill(inst, "buy" if contracts > 0 else "sell", abs(contracts), price, pnl=0.0)

    def set_mark(self, inst: str, mark: float) -> None:
        with self.lock:
            self.positions[inst].mark = mark

    def funding(self, inst: str, amount: float) -> None:
        with self.lock:
            self._bill("8", amount, inst)

    def transfer(self, amount: float) -> None:
        with self.lock:
            self._bill("1", amount, "")

    def close_position(self, inst: str, price: float, liquidation: bool = False) -> None:
        with self.lock:
            p = self.positions.pop(inst)
            value = CONTRACT_VALUES[inst]
            pnl = (price - p.avg) * p.contracts * value
            fee = self._fill(inst, "sell" if p.contracts > 0 else "buy", abs(p.contracts), price, pnl=pnl)
            now = self.now_ms()
            # GET /api/v5/account/positions-history ("Trading Account", "Get positions history")
            self.history.append({
                "cTime": str(p.created_ms), "ccy": "USDT", "closeAvgPx": _s(price), "closeTotalPos": _s(abs(p.contracts)),
                "instId": inst, "instType": "SWAP", "lever": _s(p.lever), "mgnMode": "cross", "openAvgPx": _s(p.avg),
                "openMaxPos": _s(abs(p.contracts)), "realizedPnl": _s(pnl - 2 * fee), "fee": _s(-2 * fee),
                "fundingFee": "0", "liqPenalty": "0", "pnl": _s(pnl), "pnlRatio": "0", "posId": str(next(self._ids)),
                "posSide": "net", "direction": "long" if p.contracts > 0 else "short", "triggerPx": "",
                "type": "3" if liquidation else "2", "uTime": str(now), "uly": inst.rsplit("-", 1)[0],
                "nonSettleAvgPx": "", "settledPnl": ""})

    def _fill(self, inst: str, side: str, contracts: float, price: float, pnl: float) -> float:
        fee = contracts * CONTRACT_VALUES[inst] * price * 0.0005
        self.cash += pnl - fee
        # GET /api/v5/trade/fills ("Order Book Trading", "Get transaction details (last 3 days)")
        self.fills.append({
            "side": side, "fillSz": _s(contracts), "fillPx": _s(price), "fillPxVol": "", "fillFwdPx": "",
            "fee": _s(-fee), "fillPnl": _s(pnl), "ordId": str(next(self._ids)), "feeRate": "-0.0005",
            "instType": "SWAP", "fillPxUsd": "", "instId": inst, "clOrdId": "", "posSide": "net",
            "billId": str(next(self._ids)), "subType": "1", "fillMarkVol": "", "tag": "", "fillTime": str(self.now_ms()),
            "execType": "T", "fillIdxPx": "", "tradeId": str(next(self._ids)), "fillMarkPx": _s(price),
            "feeCcy": "USDT", "ts": str(self.now_ms())})
        return fee

    def _bill(self, kind: str, amount: float, inst: str) -> None:
        self.cash += amount
        # GET /api/v5/account/bills ("Trading Account", "Get bills details (last 7 days)")
        self.bills.append({
            "bal": _s(self.cash), "balChg": _s(amount), "billId": str(next(self._ids)), "ccy": "USDT", "clOrdId": "",
            "execType": "", "fee": "0", "fillFwdPx": "", "fillIdxPx": "", "fillMarkPx": "", "fillMarkVol": "",
            "fillPxUsd": "", "fillPxVol": "", "fillTime": str(self.now_ms()), "from": "", "instId": inst,
            "instType": "SWAP" if inst else "", "interest": "0", "mgnMode": "cross" if inst else "", "notes": "",
            "ordId": "", "pnl": "0", "posBal": "0", "posBalChg": "0", "px": "", "subType": "173" if kind == "8" else "11",
            "sz": _s(abs(amount)), "tag": "", "to": "", "tradeId": "", "ts": str(self.now_ms()), "type": kind})

    # --- the wire -----------------------------------------------------------------------------

    def _ok(self, data: list) -> Response:
        return Response(200, {"code": "0", "msg": "", "data": data})

    def authenticate(self, request: Request) -> Response | None:
        if request.path.startswith("/api/v5/public/"):
            return None
        h = request.headers
        if h.get("OK-ACCESS-KEY") != self.api_key:
            return self.refuse("api key", Response(401, {"msg": "Invalid OK-ACCESS-KEY", "code": "50111"}))
        if h.get("OK-ACCESS-PASSPHRASE") != self.passphrase:
            return self.refuse("passphrase", Response(401, {"msg": "OK-ACCESS-PASSPHRASE incorrect.", "code": "50105"}))
        timestamp = h.get("OK-ACCESS-TIMESTAMP", "")
        path = request.path + (f"?{request.raw_query}" if request.raw_query else "")
        expected = base64.b64encode(hmac.new(self.secret.encode(), f"{timestamp}GET{path}".encode(),
                                             hashlib.sha256).digest()).decode()
        if not hmac.compare_digest(h.get("OK-ACCESS-SIGN", ""), expected):
            return self.refuse("signature", Response(401, {"msg": "Invalid Sign", "code": "50113"}))
        sent_ms = datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp() * 1000
        if abs(self.now_ms() + self.skew_ms - sent_ms) > 30_000:
            return self.refuse("timestamp", Response(401, {"msg": "Timestamp request expired", "code": "50102"}))
        return None

    def route(self, request: Request) -> Response:
        path, query = request.path, request.query
        with self.lock:
            if path == "/api/v5/public/time":  # Public Data, Get system time
                return self._ok([{"ts": str(self.now_ms() + self.skew_ms)}])
            if path == "/api/v5/public/instruments":  # Public Data, Get instruments
                inst = query.get("instId", "")
                return self._ok([{"alias": "", "baseCcy": "", "category": "1", "ctMult": "1", "ctType": "linear",
                                  "ctVal": str(CONTRACT_VALUES[inst]), "ctValCcy": inst.split("-")[0], "expTime": "",
                                  "instFamily": inst.rsplit("-", 1)[0], "instId": inst, "instType": "SWAP",
                                  "lever": "100", "listTime": "1611916828000", "lotSz": "0.01", "minSz": "0.01",
                                  "settleCcy": "USDT", "state": "live", "tickSz": "0.1",
                                  "uly": inst.rsplit("-", 1)[0]}] if inst in CONTRACT_VALUES else [])
            if path == "/api/v5/account/config":  # Trading Account, Get account configuration
                return self._ok([{"acctLv": "2", "autoLoan": False, "ctIsoMode": "automatic", "greeksType": "PA",
                                  "level": "Lv1", "levelTmp": "", "mgnIsoMode": "automatic", "posMode": "net_mode",
                                  "spotOffsetType": "", "uid": "44705892343619584", "label": "watch", "roleType": "0",
                                  "traderInsts": [], "spotRoleType": "0", "spotTraderInsts": [], "opAuth": "0",
                                  "kycLv": "3", "ip": "", "perm": self.perm, "mainUid": "44705892343619584",
                                  "liquidationGear": "-1"}])
            if path == "/api/v5/account/balance":  # Trading Account, Get balance
                return self._ok([self._balance()])
            if path == "/api/v5/account/positions":  # Trading Account, Get positions
                return self._ok([self._position(p) for p in self.positions.values()])
            if path == "/api/v5/trade/fills":  # Order Book Trading, Get transaction details (newest first)
                begin = int(query.get("begin", "0"))
                return self._ok([f for f in self.fills if int(f["ts"]) >= begin][::-1][: int(query.get("limit", "100"))])
            if path == "/api/v5/account/bills":  # Trading Account, Get bills details (newest first)
                begin = int(query.get("begin", "0"))
                return self._ok([b for b in self.bills if int(b["ts"]) >= begin][::-1][: int(query.get("limit", "100"))])
            if path == "/api/v5/account/positions-history":  # Trading Account, Get positions history
                before = int(query.get("before", "0"))
                return self._ok([h for h in self.history if int(h["uTime"]) > before][::-1])
        return Response(404, {"msg": "Not Found", "code": "50000"})

    def _balance(self) -> dict:
        upl = sum((p.mark - p.avg) * p.contracts * CONTRACT_VALUES[p.inst] for p in self.positions.values())
        imr = sum(abs(p.contracts) * CONTRACT_VALUES[p.inst] * p.mark / p.lever for p in self.positions.values())
        mmr = sum(abs(p.contracts) * CONTRACT_VALUES[p.inst] * p.mark * MAINT_RATE for p in self.positions.values())
        eq = self.cash + upl
        now = str(self.now_ms())
        detail = {"availBal": _s(eq - imr), "availEq": _s(eq - imr), "borrowFroz": "", "cashBal": _s(self.cash),
                  "ccy": "USDT", "crossLiab": "", "disEq": _s(eq), "eq": _s(eq), "eqUsd": _s(eq), "smtSyncEq": "0",
                  "spotCopyTradingEq": "0", "fixedBal": "0", "frozenBal": _s(imr), "imr": _s(imr), "interest": "",
                  "isoEq": "0", "isoLiab": "", "isoUpl": "0", "liab": "", "maxLoan": "", "mgnRatio": _s(eq / mmr) if mmr else "",
                  "mmr": _s(mmr), "notionalLever": "", "ordFrozen": "0", "rewardBal": "0", "spotInUseAmt": "",
                  "clSpotInUseAmt": "", "maxSpotInUse": "", "spotIsoBal": "0", "stgyEq": "0", "twap": "0",
                  "uTime": now, "upl": _s(upl), "uplLiab": "", "spotBal": "", "openAvgPx": "", "accAvgPx": "",
                  "spotUpl": "", "spotUplRatio": "", "totalPnl": "", "totalPnlRatio": ""}
        return {"adjEq": "", "borrowFroz": "", "details": [detail], "imr": "", "isoEq": "0", "mgnRatio": "",
                "mmr": "", "notionalUsd": "", "notionalUsdForBorrow": "", "notionalUsdForFutures": "",
                "notionalUsdForOption": "", "notionalUsdForSwap": "", "ordFroz": "", "totalEq": _s(eq), "uTime": now,
                "upl": _s(upl)}

    @staticmethod
    def _position(p: OkxPosition) -> dict:
        value = CONTRACT_VALUES[p.inst]
        notional = abs(p.contracts) * value * p.mark
        return {
            "adl": "1", "availPos": "", "avgPx": _s(p.avg), "cTime": str(p.created_ms), "ccy": "USDT", "deltaBS": "",
            "deltaPA": "", "gammaBS": "", "gammaPA": "", "imr": _s(notional / p.lever), "instId": p.inst,
            "instType": "SWAP", "interest": "", "idxPx": _s(p.mark), "last": _s(p.mark), "usdPx": "", "bePx": _s(p.avg),
            "lever": _s(p.lever), "liab": "", "liabCcy": "", "liqPx": _s(p.liq) if p.liq else "", "markPx": _s(p.mark),
            "margin": "", "mgnMode": "cross", "mgnRatio": "", "mmr": _s(notional * MAINT_RATE),
            "notionalUsd": _s(notional), "optVal": "", "pTime": str(p.created_ms), "pendingCloseOrdLiabVal": "",
            "pos": _s(p.contracts), "posCcy": "", "posId": "307173036051017730", "posSide": "net",
            "spotInUseAmt": "", "spotInUseCcy": "", "thetaBS": "", "thetaPA": "", "tradeId": "109844",
            "bizRefId": "", "bizRefType": "", "quoteBal": "0", "baseBal": "0", "baseBorrowed": "", "baseInterest": "",
            "quoteBorrowed": "", "quoteInterest": "", "uTime": str(p.created_ms),
            "upl": _s((p.mark - p.avg) * p.contracts * value), "uplLastPx": "", "uplRatio": "", "uplRatioLastPx": "",
            "vegaBS": "", "vegaPA": "", "realizedPnl": "0", "pnl": "0", "fee": "0", "fundingFee": "0",
            "liqPenalty": "0", "closeOrderAlgo": []}
