"""Builders for the trading-core tests: a real bus, MarketState, ApiStats, account and broker.

Without a running event loop the broker acknowledges orders at once, so a test reads like the
order's life: submit, then look.
"""

from __future__ import annotations

import dataclasses

from trader.api_stats import ApiStats
from trader.broker import PaperBroker, SimulatedExchange
from trader.bus import EventBus
from trader.config import LimitsConfig, PaperConfig, RiskConfig
from trader.limits import LimitsGate
from trader.market import MarketState
from trader.portfolio import Account

# Deterministic paper exchange: no latency, no random rejects or partial fills, no extra slippage.
EXACT = PaperConfig(min_latency_ms=0, max_latency_ms=0, partial_fill_probability=0.0, reject_probability=0.0,
                    base_slippage_ratio=0.0, slippage_model="fixed")


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Desk:
    """One account on one exchange with everything it trades through; ``events`` records the bus."""

    def __init__(self, paper: PaperConfig = EXACT, limits: LimitsConfig | None = None,
                 risk: RiskConfig | None = None, balance: float = 10_000.0, **paper_changes) -> None:
        self.clock = Clock()
        self.bus = EventBus()
        self.events: list[object] = []
        original = self.bus.publish

        def publish(event: object) -> None:
            self.events.append(event)
            original(event)

        self.bus.publish = publish  # type: ignore[method-assign]
        self.market = MarketState()
        self.api = ApiStats(self.bus, self.clock)
        paper = dataclasses.replace(paper, **paper_changes)
        self.exchange = SimulatedExchange(paper, self.api, seed=1)
        self.account = Account("main", balance, limits or LimitsConfig(max_position_usdt=1e9, max_leverage=100),
                               risk or RiskConfig(), ("s",), self.clock())
        self.broker = PaperBroker(self.account, self.market, self.bus, self.exchange,
                                  LimitsGate(self.bus, paper.taker_fee_ratio), self.clock)

    def quote(self, bid: float, ask: float, bid_qty: float = 10.0, ask_qty: float = 10.0,
              symbol: str = "BTCUSDT", exchange: str = "binance", book: tuple = ((), ())) -> None:
        s = self.market.symbol(exchange, symbol)
        s.bid, s.ask, s.bid_quantity, s.ask_quantity = bid, ask, bid_qty, ask_qty
        if book != ((), ()):
            s.book.replace(*book)
        self.broker.on_market(exchange, symbol, self.clock())

    def mark(self, price: float, symbol: str = "BTCUSDT", exchange: str = "binance", rate: float | None = None,
             next_funding_ts: float | None = None, ts: float | None = None) -> None:
        s = self.market.symbol(exchange, symbol)
        s.mark_price = price
        self.broker.on_mark_price(exchange, symbol, self.clock() if ts is None else ts, price, rate, next_funding_ts)

    def of(self, kind: type) -> list:
        return [e for e in self.events if isinstance(e, kind)]

    def submit(self, side, order_type, qty, price=None, **kw):
        kw.setdefault("leverage", 10.0)
        return self.broker.submit("s", "binance", "BTCUSDT", side, order_type, qty, price, **kw)
