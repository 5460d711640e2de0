"""Live objects to journal rows, and the statements that write them (the contract's columns).

Each ``*_row`` function reads what an account object exposes, paper or exchange alike (the
attributes of ``trader.portfolio.Account`` and ``Position``; ``kind`` and ``exchange`` default to
a paper account), and returns a dict keyed by column name; ``upsert(table, keys)`` builds the
statement that writes such a dict, updating the row in place when its key exists.

    >>> upsert("daily_marks", ("day", "exchange", "symbol"), ("day", "exchange", "symbol", "close_price"))
    'INSERT INTO daily_marks (day, exchange, symbol, close_price) VALUES (?, ?, ?, ?) ON CONFLICT (day, exchange, symbol) DO UPDATE SET close_price = excluded.close_price'
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any, Iterable

from trader.events import RoundTrip
from trader.risk import SECONDS_PER_DAY, drawdown_ratio

from .saved import day_number, day_text

__all__ = ["account_row", "position_row", "order_row", "trade_row", "sample_row", "action_row", "upsert",
           "insert", "DayTotals", "daily_statement"]

# The accounts columns a restart never rewrites (the first start sets them).
ACCOUNT_KEEPS = ("created_at",)


def account_row(account: Any, ts: float) -> dict[str, object]:
    halted_day = getattr(account, "halted_day", None)
    reason = getattr(account, "halt_reason", None)
    halted_at = getattr(account, "halted_drawdown_at" if reason == "max_drawdown" else "halted_day_at", None)
    return {
        "name": account.name,
        "kind": getattr(account, "kind", "paper"),
        "exchange": getattr(account, "exchange", None),
        "created_at": ts,
        "initial_equity_usdt": account.initial,
        "balance_usdt": account.balance,
        "equity_usdt": account.equity(),
        "high_water_mark_usdt": account.high_water_mark,
        "max_drawdown_ratio": account.max_drawdown,
        "day": day_text(account.day),
        "day_start_equity_usdt": account.day_start_equity,
        "realized_pnl_usdt": account.realized_pnl,
        "fees_usdt": sum(account.commission.values()),
        "funding_usdt": account.funding_pnl,
        "halted": int(reason is not None),
        "halt_reason": reason,
        "halted_at": halted_at if reason else None,
        # Kept after the halt ends: with halted = 0 and today's date, an operator lifted today's halt.
        "halt_day": day_text(halted_day) if halted_day is not None else None,
        "paused": int(bool(getattr(account, "paused", False))),
        "paused_at": getattr(account, "paused_at", None),
        "paused_by": getattr(account, "paused_by", None),
        "updated_at": ts,
    }


def position_row(account_name: str, position: Any, ts: float) -> dict[str, object]:
    return {
        "account": account_name, "exchange": position.exchange, "symbol": position.symbol,
        "strategy": position.strategy, "quantity": position.quantity, "entry_price": position.entry_price,
        "margin_usdt": position.margin, "leverage": position.leverage, "opened_at": position.opened_at,
        "fees_usdt": getattr(position, "fees", 0.0), "funding_usdt": getattr(position, "funding", 0.0),
        "realized_usdt": getattr(position, "realized", 0.0), "liquidation_price": position.liquidation_price,
        "updated_at": ts,
    }


def order_row(order: Any) -> dict[str, object]:
    return {
        "account": order.account, "order_id": order.order_id, "exchange": order.exchange, "symbol": order.symbol,
        "strategy": order.strategy, "side": order.side, "order_type": order.order_type,
        "quantity": order.remaining, "price": order.price, "reduce_only": int(order.reduce_only),
        "created_at": order.submitted_at,
    }


def trade_row(account: str, trade: RoundTrip, exit_reason: str) -> dict[str, object]:
    return {
        "account": account, "exchange": trade.exchange, "symbol": trade.symbol, "strategy": trade.strategy,
        "side": trade.side, "quantity": trade.quantity, "entry_price": trade.entry_price,
        "exit_price": trade.exit_price, "opened_at": trade.opened_at, "closed_at": trade.closed_at,
        "holding_seconds": trade.held_seconds, "pnl_usdt": trade.pnl, "fees_usdt": trade.fees,
        "funding_usdt": trade.funding, "net_pnl_usdt": trade.realized_pnl, "exit_reason": exit_reason,
        "external_id": trade.external_id,
    }


def sample_row(account: Any, ts: float) -> dict[str, object]:
    equity = account.equity()
    return {"account": account.name, "ts": ts, "equity_usdt": equity, "balance_usdt": account.balance,
            "unrealized_pnl_usdt": equity - account.balance,
            "drawdown_ratio": drawdown_ratio(equity, account.high_water_mark)}


def action_row(ts: float, account: str, action: str, actor: str, detail: dict | None) -> dict[str, object]:
    return {"ts": ts, "account": account, "action": action, "actor": actor,
            "detail": json.dumps(detail, sort_keys=True) if detail is not None else None}


def transfers_of(account: Any) -> float:
    """Net deposits (> 0) and withdrawals so far: an exchange account's ``transfers``; 0 for paper."""
    return float(getattr(account, "transfers", 0.0))


class DayTotals:
    """The open UTC day of one account: what its ``daily`` row adds up besides equity and trades
    (those are counted from the ``trades`` table itself: ``daily_statement``)."""

    def __init__(self, day: int, account: Any, saved: dict | None = None) -> None:
        saved = saved or {}
        self.day = day
        # cumulative fees, funding and transfers at the day's start
        self.fees_base = sum(account.commission.values()) - saved.get("fees_usdt", 0.0)
        self.funding_base = account.funding_pnl - saved.get("funding_usdt", 0.0)
        self.transfers_base = transfers_of(account) - saved.get("transfers_usdt", 0.0)
        self.halted_seconds = saved.get("halted_seconds", 0.0)

    def row(self, account: Any, equity_start: float, equity_end: float, max_drawdown: float,
            closed: bool, halted_extra: float = 0.0) -> dict[str, object]:
        """The ``daily`` row; ``halted_extra``: halted time not yet added to the totals."""
        transfers = transfers_of(account) - self.transfers_base
        return {
            "account": account.name, "day": day_text(self.day), "equity_start_usdt": equity_start,
            "equity_end_usdt": equity_end, "pnl_usdt": equity_end - equity_start - transfers,
            "transfers_usdt": transfers, "fees_usdt": sum(account.commission.values()) - self.fees_base,
            "funding_usdt": account.funding_pnl - self.funding_base, "max_drawdown_ratio": max_drawdown,
            "halted_seconds": self.halted_seconds + halted_extra, "closed": int(closed),
        }


_DAY_TRADES = ("trades", "wins", "losses", "realized_pnl_usdt")


def daily_statement(row: dict[str, object]) -> tuple[str, tuple]:
    """The ``daily`` upsert of ``row`` with its trade columns counted, in the same statement, from
    the trades the table holds for that UTC day: one source of truth (a trade an exchange account
    reads twice counts once), and no counters to carry across a restart."""
    start = day_number(str(row["day"])) * SECONDS_PER_DAY
    return _daily_sql(tuple(row)), (*row.values(), row["account"], start, start + SECONDS_PER_DAY)


@lru_cache(maxsize=None)
def _daily_sql(columns: tuple[str, ...]) -> str:
    names = columns + _DAY_TRADES
    updates = ", ".join(f"{c} = excluded.{c}" for c in names if c not in ("account", "day"))
    return (f"INSERT INTO daily ({', '.join(names)}) SELECT {', '.join('?' * len(columns))}, COUNT(*), "
            "COALESCE(SUM(net_pnl_usdt > 0), 0), COALESCE(SUM(net_pnl_usdt <= 0), 0), TOTAL(pnl_usdt) "
            "FROM trades WHERE account = ? AND closed_at >= ? AND closed_at < ? "
            f"ON CONFLICT (account, day) DO UPDATE SET {updates}")


@lru_cache(maxsize=None)
def upsert(table: str, key: tuple[str, ...], columns: tuple[str, ...], keep: tuple[str, ...] = ()) -> str:
    """INSERT ... ON CONFLICT (key) DO UPDATE of every column but the key and ``keep``."""
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key and c not in keep)
    return (f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
            f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}")


@lru_cache(maxsize=None)
def insert(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def values(rows: Iterable[dict[str, object]]) -> list[tuple]:
    return [tuple(row.values()) for row in rows]
