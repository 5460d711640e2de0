"""What the journal holds for one account, read once at start: ``load_account(conn, name, today)``.

Everything a restart resumes from, taken from the contract's tables (docs/journal.md): the
``accounts`` row, the open positions and resting orders, closed-trade totals per strategy (wins,
losses, gross profit and loss), fees per exchange and liquidations per market (the counters the
trader exports keep counting where they were), the returns of the last 30 closed UTC days for
Sharpe and Sortino (and per strategy, from its trades), the open day's row, and for an exchange
account its watch's own memory (``exchange_state``, schema version 2).

Fees per exchange are the fees of closed trades plus those of open positions: every fee the
paper broker charges belongs to exactly one position's life.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone

from trader.risk import DAILY_WINDOW, SECONDS_PER_DAY

__all__ = ["SavedAccount", "StrategyTotals", "load_account", "last_marks", "day_text", "day_number"]


def day_text(day: int) -> str:
    """The UTC day ``day`` (days since the epoch) as the journal writes it.

    >>> day_text(19943), day_number("2024-08-08")
    ('2024-08-08', 19943)
    """
    return datetime.fromtimestamp(day * SECONDS_PER_DAY, timezone.utc).strftime("%Y-%m-%d")


def day_number(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=timezone.utc).timestamp() // SECONDS_PER_DAY)


@dataclass(frozen=True)
class StrategyTotals:
    wins: int = 0
    losses: int = 0
    gross_profit: float = 0.0  # sum of the winning trades' net PnL
    gross_loss: float = 0.0  # sum of the losing trades' net PnL, as a positive number
    today_net: float = 0.0  # net PnL of its trades closed on the account's current journal day


@dataclass(frozen=True)
class SavedAccount:
    row: dict  # the accounts row, by column name
    positions: list[dict]
    orders: list[dict]
    strategies: dict[str, StrategyTotals]
    fees_by_exchange: dict[str, float]
    liquidations: dict[tuple[str, str], int]
    day_row: dict | None  # the daily row of row["day"]
    daily_returns: list[float]  # closed days, oldest first (at most 30)
    strategy_daily_returns: dict[str, list[float]] = field(default_factory=dict)
    exchange_state: dict | None = None  # exchange accounts: the watch's memory (``exchange_state``, v2)


def _rows(conn: sqlite3.Connection, sql: str, *args: object) -> list[dict]:
    cursor = conn.execute(sql, args)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor]


def load_account(conn: sqlite3.Connection, name: str) -> SavedAccount | None:
    """The saved state of account ``name``, or None if the journal has never seen it."""
    found = _rows(conn, "SELECT * FROM accounts WHERE name = ?", name)
    if not found:
        return None
    row = found[0]
    positions = _rows(conn, "SELECT * FROM positions WHERE account = ? ORDER BY opened_at", name)
    orders = _rows(conn, "SELECT * FROM orders WHERE account = ? ORDER BY created_at", name)
    day = row["day"]
    strategies = {
        r["strategy"]: StrategyTotals(r["wins"], r["losses"], r["gross_profit"], r["gross_loss"], r["today_net"])
        for r in _rows(conn, """
            SELECT strategy,
                   SUM(net_pnl_usdt > 0) AS wins, SUM(net_pnl_usdt <= 0) AS losses,
                   TOTAL(CASE WHEN net_pnl_usdt > 0 THEN net_pnl_usdt END) AS gross_profit,
                   -TOTAL(CASE WHEN net_pnl_usdt <= 0 THEN net_pnl_usdt END) AS gross_loss,
                   TOTAL(CASE WHEN date(closed_at, 'unixepoch') = ? THEN net_pnl_usdt END) AS today_net
            FROM trades WHERE account = ? GROUP BY strategy""", day, name)}
    fees: dict[str, float] = defaultdict(float)
    for table in ("trades", "positions"):
        for exchange, total in conn.execute(
                f"SELECT exchange, TOTAL(fees_usdt) FROM {table} WHERE account = ? GROUP BY exchange", (name,)):
            fees[exchange] += total
    liquidations = {(r["exchange"], r["symbol"]): r["n"] for r in _rows(conn, """
        SELECT exchange, symbol, COUNT(*) AS n FROM trades
        WHERE account = ? AND exit_reason = 'liquidation' GROUP BY exchange, symbol""", name)}
    day_rows = _rows(conn, "SELECT * FROM daily WHERE account = ? AND day = ?", name, day)
    closed = _rows(conn, """
        SELECT day, equity_start_usdt, pnl_usdt FROM daily
        WHERE account = ? AND closed = 1 AND equity_start_usdt > 0 ORDER BY day DESC LIMIT ?""", name, DAILY_WINDOW)
    closed.reverse()
    watch = conn.execute("SELECT state FROM exchange_state WHERE account = ?", (name,)).fetchone()
    return SavedAccount(
        row=row, positions=positions, orders=orders, strategies=strategies, fees_by_exchange=dict(fees),
        liquidations=liquidations, day_row=day_rows[0] if day_rows else None,
        daily_returns=[d["pnl_usdt"] / d["equity_start_usdt"] for d in closed],
        strategy_daily_returns=_strategy_returns(conn, name, closed),
        exchange_state=json.loads(watch[0]) if watch else None)


def _strategy_returns(conn: sqlite3.Connection, name: str, closed: list[dict]) -> dict[str, list[float]]:
    """Per strategy and closed day: its trades' net PnL that day over the day's start equity (0 on
    a day it closed nothing), the series ``trader_strategy_sharpe_30d`` reads."""
    if not closed:
        return {}
    net: dict[str, dict[str, float]] = defaultdict(dict)
    for strategy, day, total in conn.execute("""
            SELECT strategy, date(closed_at, 'unixepoch') AS day, TOTAL(net_pnl_usdt) FROM trades
            WHERE account = ? AND closed_at >= ? GROUP BY strategy, day""",
            (name, day_number(closed[0]["day"]) * SECONDS_PER_DAY)):
        net[strategy][day] = total
    return {strategy: [by_day.get(d["day"], 0.0) / d["equity_start_usdt"] for d in closed]
            for strategy, by_day in net.items()}


def last_marks(conn: sqlite3.Connection) -> dict[tuple[str, str], float]:
    """The latest mark of every market the journal saw (its last day's close)."""
    return {(exchange, symbol): price for exchange, symbol, price in conn.execute("""
        SELECT m.exchange, m.symbol, m.close_price FROM daily_marks m
        JOIN (SELECT exchange, symbol, MAX(day) AS day FROM daily_marks GROUP BY exchange, symbol) latest
          ON latest.exchange = m.exchange AND latest.symbol = m.symbol AND latest.day = m.day""")}
