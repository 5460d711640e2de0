"""One story, told to each stand-in exchange in its own terms: open, mark, funding, transfer, close,
liquidate; and what the exchange then says (equity, wallet) for the tests to compare with.

    script = script_for("okx", server)
    script.open("BTCUSDT", 0.5, 60_000.0, mark=61_000.0, liquidation=50_000.0)
    script.close("BTCUSDT", 62_000.0)
    script.equity()          # what the stand-in's balance endpoint says now
"""

from __future__ import annotations

from tests.exchange_accounts.okx_standin import CONTRACT_VALUES

__all__ = ["script_for"]


class _Binance:
    fee_rate = 0.0005

    def __init__(self, server) -> None:
        self.server = server

    def open(self, symbol, quantity, price, mark=None, liquidation=None, seed=False):
        if seed:  # opened before the watch began: no fill to read
            self.server.open_position(symbol, quantity, price, mark or price, liquidation or 0.0)
            return
        self.server.fill(symbol, "BUY" if quantity > 0 else "SELL", abs(quantity), price,
                         commission=abs(quantity) * price * self.fee_rate)
        self.server.set_mark(symbol, mark or price, liquidation or 0.0)

    def mark(self, symbol, mark, liquidation=None):
        self.server.set_mark(symbol, mark, liquidation)

    def funding(self, symbol, amount):
        self.server.add_income("FUNDING_FEE", amount, symbol)

    def transfer(self, amount):
        self.server.add_income("TRANSFER", amount)

    def close(self, symbol, price):
        position = self.server.positions[symbol]
        self.server.fill(symbol, "SELL" if position.amount > 0 else "BUY", abs(position.amount), price,
                         commission=abs(position.amount) * price * self.fee_rate)

    def liquidate(self, symbol, price):
        self.server.liquidate(symbol, price, clearance_fee=5.0)

    def equity(self):
        return float(self.server._account()["totalMarginBalance"])

    def wallet(self):
        return self.server.wallet


class _Bybit:
    def __init__(self, server) -> None:
        self.server = server

    def open(self, symbol, quantity, price, mark=None, liquidation=None, seed=False):
        self.server.open_position(symbol, "Buy" if quantity > 0 else "Sell", abs(quantity), price, mark, liquidation)

    def mark(self, symbol, mark, liquidation=None):
        self.server.set_mark(symbol, mark)
        if liquidation is not None:
            self.server.positions[symbol].liq = liquidation

    def funding(self, symbol, amount):
        self.server.funding(symbol, amount)

    def transfer(self, amount):
        self.server.transfer(amount)

    def close(self, symbol, price):
        self.server.close_position(symbol, price)

    def liquidate(self, symbol, price):
        self.server.close_position(symbol, price, bust=True)

    def equity(self):
        return float(self.server._wallet()["totalMarginBalance"])

    def wallet(self):
        return self.server.wallet


class _Okx:
    def __init__(self, server) -> None:
        self.server = server

    @staticmethod
    def _inst(symbol):
        return f"{symbol[:-4]}-USDT-SWAP"

    def open(self, symbol, quantity, price, mark=None, liquidation=None, seed=False):
        inst = self._inst(symbol)
        self.server.open_position(inst, quantity / CONTRACT_VALUES[inst], price, mark, liquidation)

    def mark(self, symbol, mark, liquidation=None):
        self.server.set_mark(self._inst(symbol), mark)
        if liquidation is not None:
            self.server.positions[self._inst(symbol)].liq = liquidation

    def funding(self, symbol, amount):
        self.server.funding(self._inst(symbol), amount)

    def transfer(self, amount):
        self.server.transfer(amount)

    def close(self, symbol, price):
        self.server.close_position(self._inst(symbol), price)

    def liquidate(self, symbol, price):
        self.server.close_position(self._inst(symbol), price, liquidation=True)

    def equity(self):
        return float(self.server._balance()["details"][0]["eq"])

    def wallet(self):
        return self.server.cash


def script_for(exchange: str, server):
    return {"binance": _Binance, "bybit": _Bybit, "okx": _Okx}[exchange](server)
