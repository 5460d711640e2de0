"""A real trader core on a clock and a market the test sets, journalled in a directory.

``Desk(state_dir)`` builds a ``Trader`` (no feed running) on a fake clock, opens its journal and
resumes from it; ``quote(symbol, price)`` sets the market; orders go through the real risk gate
and paper broker (no loop running: the simulated exchange answers at once, nothing random).

    desk = Desk(tmp_path / "state")
    desk.quote("BTCUSDT", 60_000.0)
    desk.broker.submit("momentum", "binance", "BTCUSDT", "buy", "market", 0.01, leverage=3)
    desk.flush(); desk.close()
    again = Desk(tmp_path / "state")           # resumes what the first one wrote
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from trader.config import load_config_text
from trader.engine import Trader
from trader.journal import open_journal

__all__ = ["Desk", "Clock", "CONFIG", "START"]

START = 1_750_000_000.0  # 2025-06-15 15:06:40 UTC
CONFIG = """
feed: {kind: sim, exchanges: [binance], symbols: [BTCUSDT, ETHUSDT]}
paper: {reject_probability: 0, partial_fill_probability: 0, min_latency_ms: 0, max_latency_ms: 0,
        base_slippage_ratio: 0}
accounts:
  - name: main
    limits: {max_drawdown_ratio: 0.15, daily_loss_ratio: 0.05}
    strategies:
      - {type: momentum}
      - {type: mean_reversion}
"""


class Clock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Desk:
    def __init__(self, state_dir: Path, clock: Clock | None = None, config: str = CONFIG) -> None:
        self.clock = clock or Clock()
        self.journal = open_journal(state_dir, feed_kind="sim", clock=self.clock)
        self.trader = Trader(load_config_text(config), feeds=[], clock=self.clock, journal=self.journal)
        self.runtime = self.trader.accounts[0]
        self.account = self.runtime.account
        self.broker = self.runtime.broker
        self.writer = self.trader.journal_writer

    def quote(self, symbol: str, price: float) -> None:
        state = self.trader.market.symbol("binance", symbol)
        state.bid, state.ask = price - 0.5, price + 0.5
        state.bid_quantity = state.ask_quantity = 1_000.0
        state.mark_price = price
        self.broker.on_market("binance", symbol, self.clock())

    def flush(self) -> None:
        assert self.writer.flush()

    def rows(self, sql: str, *args: object) -> list[sqlite3.Row]:
        conn = sqlite3.connect(f"file:{self.journal.path}?mode=ro", uri=True)
        conn.row_factory = sqlite3.Row
        try:
            return conn.execute(sql, args).fetchall()
        finally:
            conn.close()

    def close(self) -> None:
        self.journal.close()
