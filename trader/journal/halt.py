"""Lifting a stopped trader's halt in its journal: what ``python -m trader resume`` does.

The same rule as ``Account.lift_halt()`` (a running trader's resume), applied to the file: the
halt columns are cleared; a drawdown halt restarts the drawdown from the last equity (the
high-water mark becomes it); ``halt_day`` stays, so a daily-loss halt lifted today is not raised
again today. The change and an ``actions`` row (``resume``, the actor, what was lifted) commit
in one transaction, under the state directory's lock: never while the trader runs.

    >>> import tempfile
    >>> from trader.journal.store import open_journal
    >>> journal = open_journal(tempfile.mkdtemp(), feed_kind=None)
    >>> describe_halt(journal, "main")
    Traceback (most recent call last):
    ...
    trader.journal.store.JournalError: journal .../journal.sqlite3: no account 'main' (it holds none)
    >>> journal.close()
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .store import Journal, JournalError

__all__ = ["Halt", "describe_halt", "lift_halt"]


@dataclass(frozen=True)
class Halt:
    account: str
    reason: str  # 'max_drawdown' | 'daily_loss'
    halted_at: float | None
    equity_usdt: float
    high_water_mark_usdt: float
    day: str
    halt_day: str | None

    @property
    def drawdown_ratio(self) -> float:
        hwm = self.high_water_mark_usdt
        return max(0.0, (hwm - self.equity_usdt) / hwm) if hwm > 0 else 0.0

    @property
    def lifts(self) -> tuple[str, ...]:
        """The halts a resume lifts: the one in force, and that day's daily-loss halt with it."""
        if self.reason == "max_drawdown" and self.halt_day == self.day:
            return ("max_drawdown", "daily_loss")
        return (self.reason,)


def describe_halt(journal: Journal, account: str) -> Halt | None:
    """The halt in force on ``account`` (None if it trades); raises JournalError for an unknown account."""
    row = journal.conn.execute(
        "SELECT halted, halt_reason, halted_at, equity_usdt, high_water_mark_usdt, day, halt_day "
        "FROM accounts WHERE name = ?", (account,)).fetchone()
    if row is None:
        names = [r[0] for r in journal.conn.execute("SELECT name FROM accounts ORDER BY name")]
        raise JournalError(f"journal {journal.path}: no account {account!r} "
                           f"({'accounts: ' + ', '.join(names) if names else 'it holds none'})")
    halted, reason, halted_at, equity, hwm, day, halt_day = row
    if not halted:
        return None
    return Halt(account, reason or "max_drawdown", halted_at, equity, hwm, day, halt_day)


def lift_halt(journal: Journal, account: str, actor: str, ts: float) -> Halt | None:
    """Lift the halt of ``account`` and record who did; returns the halt lifted (None: none was)."""
    with journal.transaction() as conn:
        halt = describe_halt(journal, account)  # read again inside the write: no lost update
        if halt is None:
            return None
        detail: dict[str, object] = {"lifted": list(halt.lifts), "drawdown_ratio": round(halt.drawdown_ratio, 6)}
        if "max_drawdown" in halt.lifts:
            detail["high_water_mark_usdt"] = [halt.high_water_mark_usdt, halt.equity_usdt]
        conn.execute("""
            UPDATE accounts SET halted = 0, halt_reason = NULL, halted_at = NULL, updated_at = ?,
                   high_water_mark_usdt = CASE WHEN ? THEN equity_usdt ELSE high_water_mark_usdt END
            WHERE name = ?""", (ts, "max_drawdown" in halt.lifts, account))
        conn.execute("INSERT INTO actions (ts, account, action, actor, detail) VALUES (?, ?, 'resume', ?, ?)",
                     (ts, account, actor, json.dumps(detail, sort_keys=True)))
    return halt
