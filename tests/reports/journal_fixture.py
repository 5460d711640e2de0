"""Trader journals for the reports tests, built with the journal's version-1 DDL.

``JOURNAL_DDL`` is the trader's own version-1 schema (``trader/journal/schema.py``, documented in
docs/journal.md), so the tests read exactly what the trader writes.

    path = fixed_journal(tmp_path)           # the hand-computed scenario below
    path = dense_journal(tmp_path, days=3)   # a minute-by-minute random walk, for the chart
"""

from __future__ import annotations

import json
import math
import random
import sqlite3
from datetime import date, timedelta
from pathlib import Path
from typing import Iterable

from trader.journal.schema import V1_DDL

__all__ = ["JOURNAL_DDL", "create_journal", "JournalWriter", "fixed_journal", "dense_journal", "many_groups_journal",
           "ts", "FIXED_RETURNS", "FIXED_BTC_CLOSES", "FIXED_WEEK", "day_ts"]

# The trader's own version-1 schema, so the tests read exactly what the trader writes.
JOURNAL_DDL = V1_DDL
JOURNAL_FILE = "journal.sqlite3"


def day_ts(day: str) -> float:
    """00:00 UTC of ``day`` (YYYY-MM-DD) in Unix seconds."""
    from datetime import datetime, timezone

    return datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=timezone.utc).timestamp()


def ts(day: str, hour: float = 0.0) -> float:
    return day_ts(day) + hour * 3600


def _days(first: str, n: int) -> list[str]:
    start = date.fromisoformat(first)
    return [(start + timedelta(days=i)).isoformat() for i in range(n)]


class JournalWriter:
    """Writes journal rows as the trader does (WAL, one writer). A test's stand-in for the trader."""

    def __init__(self, state_dir: Path, trader: str = "paper-1") -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        self.path = state_dir / JOURNAL_FILE
        fresh = not self.path.exists()
        self.db = sqlite3.connect(self.path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        if fresh:
            self.db.executescript(JOURNAL_DDL)
            self.db.execute("PRAGMA user_version=1")
            self.db.execute("INSERT INTO meta VALUES ('trader', ?), ('created_at', '0')", (trader,))

    def account(self, name: str, created: float, initial: float = 10_000.0, equity: float | None = None,
                kind: str = "paper", exchange: str | None = None, hwm: float | None = None, halted: bool = False,
                halt_reason: str | None = None, updated: float | None = None) -> None:
        equity = initial if equity is None else equity
        self.db.execute(
            "INSERT OR REPLACE INTO accounts (name, kind, exchange, created_at, initial_equity_usdt, balance_usdt, "
            "equity_usdt, high_water_mark_usdt, max_drawdown_ratio, day, day_start_equity_usdt, realized_pnl_usdt, "
            "fees_usdt, funding_usdt, halted, halt_reason, updated_at) VALUES (?,?,?,?,?,?,?,?,0,'1970-01-01',?,0,0,0,?,?,?)",
            (name, kind, exchange, created, initial, equity, equity, hwm or max(initial, equity), equity,
             int(halted), halt_reason, updated or created))

    def daily(self, account: str, day: str, start: float, pnl: float, closed: bool = True, fees: float = 0.0,
              funding: float = 0.0, realized: float = 0.0, halted_seconds: float = 0.0, transfers: float = 0.0) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO daily VALUES (?,?,?,?,?,?,?,?,?,0,0,0,0,?,?)",
            (account, day, start, start + pnl + transfers, pnl, realized, fees, funding, transfers, halted_seconds,
             int(closed)))

    def mark(self, day: str, close: float, open_: float | None = None, exchange: str = "binance",
             symbol: str = "BTCUSDT") -> None:
        self.db.execute("INSERT OR REPLACE INTO daily_marks VALUES (?,?,?,?,?)",
                        (day, exchange, symbol, open_ if open_ is not None else close, close))

    def sample(self, account: str, at: float, equity: float, unrealized: float = 0.0, drawdown: float = 0.0) -> None:
        self.db.execute("INSERT OR REPLACE INTO equity_samples VALUES (?,?,?,?,?,?)",
                        (account, at, equity, equity - unrealized, unrealized, drawdown))

    def samples(self, account: str, points: Iterable[tuple[float, float]]) -> None:
        self.db.execute("BEGIN")
        for at, equity in points:
            self.sample(account, at, equity)
        self.db.execute("COMMIT")

    def trade(self, account: str, symbol: str, strategy: str, net: float, holding: float, closed_at: float,
              side: str = "long", fees: float = 0.0, funding: float = 0.0, exchange: str = "binance",
              reason: str = "signal", quantity: float = 0.01, entry: float = 60_000.0) -> int:
        pnl = net + fees - funding
        cursor = self.db.execute(
            "INSERT INTO trades (account, exchange, symbol, strategy, side, quantity, entry_price, exit_price, "
            "opened_at, closed_at, holding_seconds, pnl_usdt, fees_usdt, funding_usdt, net_pnl_usdt, exit_reason) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (account, exchange, symbol, strategy, side, quantity, entry,
             entry + (pnl / quantity if side == "long" else -pnl / quantity), closed_at - holding, closed_at, holding,
             pnl, fees, funding, net, reason))
        return int(cursor.lastrowid)

    def open_position(self, account: str, symbol: str, strategy: str, quantity: float, opened_at: float,
                      entry: float = 60_000.0, exchange: str = "binance", leverage: float = 3.0) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO positions (account, exchange, symbol, strategy, quantity, entry_price, "
            "margin_usdt, leverage, opened_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (account, exchange, symbol, strategy, quantity, entry, abs(quantity) * entry / leverage, leverage,
             opened_at, opened_at))

    def close_position(self, account: str, symbol: str, exchange: str = "binance") -> None:
        self.db.execute("DELETE FROM positions WHERE account = ? AND exchange = ? AND symbol = ?",
                        (account, exchange, symbol))

    def action(self, account: str, at: float, action: str, actor: str, detail: dict | None = None) -> None:
        self.db.execute("INSERT INTO actions (ts, account, action, actor, detail) VALUES (?,?,?,?,?)",
                        (at, account, action, actor, json.dumps(detail) if detail else None))

    def close(self) -> None:
        self.db.close()


def create_journal(state_dir: Path, trader: str = "paper-1") -> JournalWriter:
    return JournalWriter(state_dir, trader)


# --- the fixed scenario: every figure of its weekly report is computed by hand in the tests ---

FIXED_DAYS = _days("2026-05-01", 10)  # Friday 05-01 .. Sunday 05-10
FIXED_RETURNS = [0.01, -0.02, 0.03, 0.005, -0.01, 0.02, 0.0, 0.015, -0.005, 0.01]
# BTC closes: 60,000 on 04-30, then these daily returns.
FIXED_BTC_RETURNS = [0.02, -0.03, 0.04, 0.01, -0.02, 0.03, -0.01, 0.02, 0.0, 0.01]
FIXED_WEEK = ("2026-05-04", "2026-05-10")  # Monday to Sunday


def _closes() -> dict[str, float]:
    closes, price = {"2026-04-30": 60_000.0}, 60_000.0
    for day, r in zip(FIXED_DAYS, FIXED_BTC_RETURNS):
        price *= 1 + r
        closes[day] = price
    return closes


FIXED_BTC_CLOSES = _closes()
# Equity samples: before the week (its peak: 10,300) and in it (the drawdown test's curve).
FIXED_SAMPLES_BEFORE = [(ts("2026-05-02", 12), 10_300.0), (ts("2026-05-03", 12), 10_250.0)]
FIXED_SAMPLES_WEEK = [(ts("2026-05-04", 1), 10_200.0), (ts("2026-05-05", 1), 10_350.0), (ts("2026-05-06", 1), 10_000.0),
                      (ts("2026-05-07", 1), 10_100.0), (ts("2026-05-08", 1), 9_900.0), (ts("2026-05-09", 1), 10_400.0),
                      (ts("2026-05-10", 23), 10_300.0)]
# The week's trades: (symbol, strategy, net PnL, holding seconds, closed on).
FIXED_TRADES = [("BTCUSDT", "momentum", 30.0, 3_600.0, "2026-05-04"), ("ETHUSDT", "momentum", -10.0, 1_800.0, "2026-05-05"),
                ("BTCUSDT", "mean_reversion", -20.0, 600.0, "2026-05-07"),
                ("SOLUSDT", "mean_reversion", 50.0, 7_200.0, "2026-05-09")]


def fixed_journal(state_dir: Path) -> Path:
    """Account ``main`` (10,000 USDT on 2026-05-01) over ten closed days with FIXED_RETURNS, BTC marks
    on binance (and different ones on bybit, which the reader must not take), the week's trades, one
    trade before the week and one of another account (both must stay out of the week's figures)."""
    journal = create_journal(state_dir)
    journal.account("main", created=ts("2026-05-01"), equity=10_300.0, hwm=10_400.0, updated=ts("2026-05-10", 23))
    journal.account("other", created=ts("2026-05-01"))
    equity = 10_000.0
    for day, r in zip(FIXED_DAYS, FIXED_RETURNS):
        fees = 1.5 if FIXED_WEEK[0] <= day <= FIXED_WEEK[1] else 0.0
        halted = 1_800.0 if day == "2026-05-06" else 0.0
        journal.daily("main", day, equity, equity * r, fees=fees, funding=-0.25, halted_seconds=halted)
        equity *= 1 + r
    for day, close in FIXED_BTC_CLOSES.items():
        journal.mark(day, close)
        journal.mark(day, close * 1.5, exchange="bybit")
    for at, value in FIXED_SAMPLES_BEFORE + FIXED_SAMPLES_WEEK:
        journal.sample("main", at, value, unrealized=12.5)
    for symbol, strategy, net, holding, day in FIXED_TRADES:
        journal.trade("main", symbol, strategy, net, holding, ts(day, 12), fees=1.0)
    journal.trade("main", "BTCUSDT", "momentum", 1_000.0, 60.0, ts("2026-05-03", 12))  # the week before
    journal.trade("other", "BTCUSDT", "momentum", -500.0, 60.0, ts("2026-05-05", 12))  # another account
    journal.close()
    return state_dir / JOURNAL_FILE


def dense_journal(state_dir: Path, first_day: str = "2026-05-04", days: int = 7, account: str = "main",
                  seed: int = 7) -> Path:
    """Minute-by-minute equity (a seeded random walk with a dip), daily rows and BTC marks."""
    rng = random.Random(seed)
    journal = create_journal(state_dir)
    start = day_ts(first_day)
    journal.account(account, created=start, updated=start + days * 86_400)
    equity, btc, points = 10_000.0, 60_000.0, []
    for minute in range(days * 1440):
        dip = -0.00012 if days * 1440 * 0.4 < minute < days * 1440 * 0.55 else 0.00003
        equity *= 1 + rng.gauss(dip, 0.0004)
        points.append((start + minute * 60, equity))
    journal.samples(account, points)
    for i, day in enumerate(_days(first_day, days)):
        begin, end = points[i * 1440][1], points[min((i + 1) * 1440, len(points) - 1)][1]
        journal.daily(account, day, begin, end - begin)
        opening = btc
        btc *= 1 + rng.gauss(0.001, 0.02)
        journal.mark(day, btc, open_=opening)
    journal.close()
    return state_dir / JOURNAL_FILE


def many_groups_journal(state_dir: Path, strategies: int = 40, symbols: int = 60, day: str = "2026-05-04") -> Path:
    """One day with trades over many strategies and symbols, long names: the longest report."""
    journal = create_journal(state_dir)
    journal.account("main-account-with-a-long-name", created=day_ts(day) - 86_400 * 40)
    for i in range(40):
        d = (date.fromisoformat(day) - timedelta(days=39 - i)).isoformat()
        journal.daily("main-account-with-a-long-name", d, 10_000.0, 10_000.0 * math.sin(i) / 100)
        journal.mark(d, 60_000.0 * (1 + math.cos(i) / 50))
    for i in range(max(strategies, symbols) * 2):
        journal.trade("main-account-with-a-long-name", f"SYMBOL{i % symbols:03d}USDT",
                      f"strategy-with-a-long-name-{i % strategies:03d}", (-1) ** i * (10.0 + i), 600.0 + i,
                      ts(day, 1 + (i % 20)))
    journal.samples("main-account-with-a-long-name", [(ts(day, h / 4), 10_000.0 + 50 * math.sin(h)) for h in range(96)])
    journal.close()
    return state_dir / JOURNAL_FILE
