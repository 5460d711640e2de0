"""The journal's writer: the trader's state into the file, at most once a second while it changes.

``flush()`` compares what each account exposes now (its row, positions, resting orders) with what
it last wrote and writes the difference in one transaction, with the day's ``daily`` row, the
markets' ``daily_marks`` and, every 60 s, an ``equity_samples`` row (and, for an exchange account,
its ``exchange_state`` row: trader/journal/exchange.py). ``run()`` flushes every
second; a closed trade (``PositionClosed``), a halt or a day roll (the account's observer) and
an action (``record_action``) ask for a flush at once (on the next turn of the loop, so several
in one burst share a commit). Nothing here runs per market message: the hot path is untouched.

A write that fails (a full disk) is logged and retried on the next flush; nothing pending is
dropped, and the trader keeps trading.

    writer = JournalWriter(journal, bus, market, clock)
    writer.watch(account, broker)          # after restore_account(...), before trading
    task = asyncio.create_task(writer.run())
    ...
    writer.close()                          # the last flush, at a clean stop
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from dataclasses import dataclass, field
from typing import Any, Callable

from trader.bus import EventBus
from trader.events import PositionClosed, RoundTrip
from trader.market import MarketState
from trader.days import ClosedDay
from trader.portfolio import Account
from trader.risk import SECONDS_PER_DAY, drawdown_ratio

from .rows import (ACCOUNT_KEEPS, DayTotals, account_row, action_row, daily_statement, insert, order_row,
                   position_row, sample_row, trade_row, upsert)
from .saved import SavedAccount, day_text
from .store import Journal

__all__ = ["JournalWriter", "FLUSH_SECONDS", "SAMPLE_SECONDS"]

_log = logging.getLogger("trader.journal")
FLUSH_SECONDS = 1.0  # the contract: a crash loses at most the last second
SAMPLE_SECONDS = 60.0  # equity_samples: one a minute per account
_VOLATILE = ("updated_at", "created_at")  # columns that change without the state changing


@dataclass
class _Track:
    """What the writer knows of one account: the rows it last wrote and what waits to be written."""

    account: Any
    broker: Any
    totals: DayTotals
    counted_until: float  # halted_seconds is counted up to this time
    was_halted: bool
    last_row: dict | None = None
    positions: dict[tuple, dict | None] = field(default_factory=dict)
    orders: dict[str, dict | None] = field(default_factory=dict)
    trades: list[dict] = field(default_factory=list)
    closed_days: list[dict] = field(default_factory=list)
    samples: list[dict] = field(default_factory=list)
    last_sample: float = float("-inf")
    last_watch_state: str | None = None  # exchange accounts: the exchange_state JSON last written


class JournalWriter:
    def __init__(self, journal: Journal, bus: EventBus, market: MarketState, clock: Callable[[], float]) -> None:
        self.journal = journal
        self._market = market
        self._clock = clock
        self._tracks: dict[str, _Track] = {}
        self._actions: list[dict] = []
        self._marks: dict[tuple[str, str, str], float] = {}  # (day, exchange, symbol) -> close written
        self._flush_soon = False
        self.failures = 0  # flushes that failed (and will be retried)
        bus.subscribe(PositionClosed, self._on_closed)

    # --- what to write ------------------------------------------------------------------------

    def watch(self, account: Account, broker: Any = None, saved: SavedAccount | None = None) -> None:
        """Journal ``account`` (``broker``: its resting orders) from now on; ``saved``: what the
        journal held for it (its open day's totals, the rows to replace)."""
        totals = DayTotals(account.day, account, saved.day_row if saved is not None else None)
        since = saved.row["updated_at"] if saved is not None else self._clock()
        track = _Track(account, broker, totals, counted_until=since, was_halted=account.trading_halted)
        if saved is not None:  # rows the journal holds: rewritten or deleted at the first flush
            track.positions = {(p["exchange"], p["symbol"]): None for p in saved.positions}
            track.orders = {o["order_id"]: None for o in saved.orders}
        self._tracks[account.name] = track
        account.observer = self

    def record_action(self, account: str, action: str, actor: str, detail: dict | None = None,
                      ts: float | None = None) -> None:
        """An explicit action (resume, pause, close...) and who asked; committed at once."""
        self._actions.append(action_row(self._clock() if ts is None else ts, account, action, actor, detail))
        self._soon()

    # --- the account observer -----------------------------------------------------------------

    def halted(self, account: Account, reason: str, ts: float) -> None:
        equity = account.equity()
        self.record_action(account.name, "halt", "risk", {
            "reason": reason, "drawdown_ratio": round(drawdown_ratio(equity, account.high_water_mark), 6),
            "daily_pnl_usdt": round(account.daily_pnl(equity), 6)}, ts)

    def day_rolled(self, account: Account, closed: ClosedDay, ts: float) -> None:
        track = self._tracks.get(account.name)
        if track is None:
            return
        day_end = (closed.day + 1) * SECONDS_PER_DAY
        if track.was_halted:
            track.totals.halted_seconds += max(0.0, min(ts, day_end) - track.counted_until)
        track.counted_until = max(track.counted_until, min(ts, day_end))
        track.closed_days.append(track.totals.row(account, closed.equity_start, closed.equity_end,
                                                  closed.max_drawdown, closed=True))
        track.samples.append(sample_row(account, ts))
        track.totals = DayTotals(account.day, account)
        self._soon()

    def _on_closed(self, event: PositionClosed) -> None:
        if event.trade is not None:
            self.record_trade(event.account, event.trade, event.exit_reason)

    def record_trade(self, account: str, trade: RoundTrip, exit_reason: str) -> None:
        """A closed round trip of a watched account, committed at once (a paper account's come as
        ``PositionClosed`` events, an exchange account's from its watch: trader/journal/exchange.py)."""
        track = self._tracks.get(account)
        if track is None:
            return
        track.trades.append(trade_row(account, trade, exit_reason))
        self._soon()

    # --- writing ------------------------------------------------------------------------------

    async def run(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            try:
                self.flush()
            except Exception:  # a bug must not stop the journal for the rest of the run
                _log.exception("journal flush failed", extra={"journal": str(self.journal.path)})

    def close(self) -> None:
        """The last flush (a clean stop); the journal itself is closed by its owner."""
        self.flush()

    def _soon(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (tests, start-up): now
            self.flush()
            return
        if not self._flush_soon:
            self._flush_soon = True
            loop.call_soon(self.flush)

    def flush(self) -> bool:
        """Write what changed in one transaction; False if the write failed (it is retried)."""
        self._flush_soon = False
        now = self._clock()
        statements: list[tuple[str, list[tuple]]] = []
        done: list[Callable[[], None]] = []
        for track in self._tracks.values():
            self._account_changes(track, now, statements, done)
        self._mark_changes(now, statements, done)
        if self._actions:
            actions = list(self._actions)
            statements.append((insert("actions", tuple(actions[0])), [tuple(a.values()) for a in actions]))
            done.append(lambda: self._actions.__delitem__(slice(0, len(actions))))
        if not statements:
            return True
        try:
            with self.journal.transaction() as conn:
                for sql, rows in statements:
                    conn.executemany(sql, rows)
        except sqlite3.Error as error:
            self.failures += 1
            _log.error("journal write failed; retrying at the next flush", extra={
                "journal": str(self.journal.path), "error": str(error), "failures": self.failures})
            return False
        for step in done:
            step()
        return True

    def _account_changes(self, track: _Track, now: float, statements: list, done: list) -> None:
        account = track.account
        row = account_row(account, now)
        state = {k: v for k, v in row.items() if k not in _VOLATILE}
        positions = {key: position_row(account.name, p, now) for key, p in account.positions.items()}
        orders = {o.order_id: order_row(o) for o in _resting(track.broker)}
        stale_positions = _changed(track.positions, positions)
        stale_orders = _changed(track.orders, orders)
        sample_due = now - track.last_sample >= SAMPLE_SECONDS
        watch_state = _watch_state(account)
        watch_changed = watch_state is not None and watch_state != track.last_watch_state
        if not (watch_changed or state != track.last_row or stale_positions or stale_orders or track.trades
                or track.closed_days or track.samples or sample_due):
            return
        halted_add = max(0.0, now - track.counted_until) if track.was_halted else 0.0
        today = track.totals.row(account, account.day_start_equity, row["equity_usdt"], account.day_max_drawdown,
                                 closed=False, halted_extra=halted_add)
        name = account.name
        statements.append((upsert("accounts", ("name",), tuple(row), ACCOUNT_KEEPS), [tuple(row.values())]))
        if watch_changed:  # in the same transaction as the trades it counted: never one without the other
            statements.append((upsert("exchange_state", ("account",), ("account", "state", "updated_at")),
                               [(account.name, watch_state, now)]))
        if track.trades:  # before the days that count them; an exchange trade read twice is added once
            statements.append((insert("trades", tuple(track.trades[0])) + " ON CONFLICT DO NOTHING",
                               [tuple(t.values()) for t in track.trades]))
        for day in track.closed_days + [today]:
            sql, args = daily_statement(day)
            statements.append((sql, [args]))
        samples = track.samples + ([sample_row(account, now)] if sample_due else [])
        statements.extend(_rows_of("equity_samples", ("account", "ts"), samples))
        for key in stale_positions:
            if key in positions:
                statements.extend(_rows_of("positions", ("account", "exchange", "symbol"), [positions[key]]))
            else:
                statements.append(("DELETE FROM positions WHERE account = ? AND exchange = ? AND symbol = ?",
                                   [(name, *key)]))
        for order_id in stale_orders:
            if order_id in orders:
                statements.extend(_rows_of("orders", ("account", "order_id"), [orders[order_id]]))
            else:
                statements.append(("DELETE FROM orders WHERE account = ? AND order_id = ?", [(name, order_id)]))
        written = (len(track.trades), len(track.closed_days), len(track.samples))

        def committed() -> None:
            track.last_row = state
            if watch_changed:
                track.last_watch_state = watch_state
            track.positions = {key: _without_time(r) for key, r in positions.items()}
            track.orders = {order_id: _without_time(r) for order_id, r in orders.items()}
            del track.trades[:written[0]], track.closed_days[:written[1]], track.samples[:written[2]]
            track.totals.halted_seconds += halted_add
            track.counted_until, track.was_halted = now, account.trading_halted
            if sample_due:
                track.last_sample = now

        done.append(committed)

    def _mark_changes(self, now: float, statements: list, done: list) -> None:
        day = day_text(int(now // SECONDS_PER_DAY))
        changed = {}
        for exchange, symbol in self._market.symbols():
            price = self._market.mark_price(exchange, symbol)
            key = (day, exchange, symbol)
            if price is not None and self._marks.get(key) != price:
                changed[key] = price
        if not changed:
            return
        sql = upsert("daily_marks", ("day", "exchange", "symbol"), ("day", "exchange", "symbol", "open_price",
                                                                   "close_price"), ("open_price",))
        statements.append((sql, [(*key, price, price) for key, price in changed.items()]))

        def committed() -> None:
            if any(key[0] != day for key in self._marks):
                self._marks = {key: price for key, price in self._marks.items() if key[0] == day}
            self._marks.update(changed)

        done.append(committed)


def _watch_state(account: Any) -> str | None:
    """An exchange account's ``exchange_state`` JSON (``watch_state_json()``); None for a paper account."""
    watch_state_json = getattr(account, "watch_state_json", None)
    return watch_state_json() if watch_state_json is not None else None


def _resting(broker: Any) -> list:
    """Orders resting on the book (not market orders, not in flight): what a restart puts back."""
    if broker is None:
        return []
    return [o for o in broker.orders.values() if o.status == "open" and o.order_type != "market"]


def _without_time(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in _VOLATILE}


def _changed(written: dict, current: dict) -> list:
    """Keys whose row differs from the one written (new, changed, or gone)."""
    keys = [k for k, row in current.items() if k not in written or written[k] != _without_time(row)]
    return keys + [k for k in written if k not in current]


def _rows_of(table: str, key: tuple[str, ...], rows: list[dict]) -> list[tuple[str, list[tuple]]]:
    if not rows:
        return []
    return [(upsert(table, key, tuple(rows[0])), [tuple(r.values()) for r in rows])]
