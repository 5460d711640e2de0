"""Journals with a known history, written through the trader's own schema, for tests to resume.

``seed_history(state_dir, returns, strategy_nets)`` writes what a trader that ran for
``len(returns)`` whole UTC days would have left: one closed ``daily`` row per day (ending
yesterday, each starting from ``equity``), the trades that made each strategy's net PnL of the
day, and the ``accounts`` row of today, flat and trading.

    journal_dir = seed_history(tmp_path / "state", [0.01, -0.005, ...], {"momentum": [100.0, -50.0, ...]})
"""

from __future__ import annotations

import time
from pathlib import Path

from trader.journal import open_journal
from trader.journal.rows import insert
from trader.journal.saved import day_text
from trader.risk import SECONDS_PER_DAY

__all__ = ["seed_history", "today"]


def today() -> int:
    return int(time.time() // SECONDS_PER_DAY)


def seed_history(state_dir: Path, returns: list[float], strategy_nets: dict[str, list[float]] | None = None,
                 account: str = "main", equity: float = 10_000.0, feed: str = "sim") -> Path:
    """Closed days with these returns (each from ``equity``), oldest first, the last one yesterday."""
    journal = open_journal(state_dir, feed_kind=feed)
    first = today() - len(returns)
    now = time.time()
    with journal.transaction() as conn:
        conn.execute(insert("accounts", (
            "name", "kind", "created_at", "initial_equity_usdt", "balance_usdt", "equity_usdt",
            "high_water_mark_usdt", "max_drawdown_ratio", "day", "day_start_equity_usdt", "realized_pnl_usdt",
            "fees_usdt", "funding_usdt", "updated_at")),
            (account, "paper", first * SECONDS_PER_DAY, equity, equity, equity, equity, 0.0, day_text(today()),
             equity, 0.0, 0.0, 0.0, now))
        for i, r in enumerate(returns):
            day = first + i
            conn.execute(insert("daily", (
                "account", "day", "equity_start_usdt", "equity_end_usdt", "pnl_usdt", "realized_pnl_usdt",
                "fees_usdt", "funding_usdt", "trades", "wins", "losses", "max_drawdown_ratio", "closed")),
                (account, day_text(day), equity, equity * (1 + r), equity * r, 0.0, 0.0, 0.0, 0, 0, 0, 0.0, 1))
            for strategy, nets in (strategy_nets or {}).items():
                if nets[i]:
                    closed_at = day * SECONDS_PER_DAY + 3600.0
                    conn.execute(insert("trades", (
                        "account", "exchange", "symbol", "strategy", "side", "quantity", "entry_price", "exit_price",
                        "opened_at", "closed_at", "holding_seconds", "pnl_usdt", "fees_usdt", "funding_usdt",
                        "net_pnl_usdt", "exit_reason")),
                        (account, "binance", "BTCUSDT", strategy, "long", 0.01, 60_000.0, 60_000.0 + nets[i] * 100,
                         closed_at - 60.0, closed_at, 60.0, nets[i], 0.0, 0.0, nets[i], "signal"))
    journal.close()
    return Path(state_dir)
