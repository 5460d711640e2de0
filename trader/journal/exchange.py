"""Exchange accounts in the journal: resumed at start, written after every successful read.

An exchange account is journalled by the same writer as a paper account (``writer.watch``),
through ``ExchangeAccountView``: the attribute names of the paper ``Account`` that the writer's
rows read (docs/journal.md, "Other writers of rows"), taken from the watcher's
``ExchangeAccountState`` at each read, plus ``transfers`` and ``watch_state_json()`` (the
``exchange_state`` row: counted ids, history cursors, open round trips). Copying at each read,
rather than reading the state live, keeps a flush that lands while a read is in flight (the
watcher awaits the history between its balance read and its accounting) on one consistent read.

``watch_exchange_account(writer, conn, watcher)`` resumes the watcher's state from the journal
(high-water mark, max drawdown, day start, counted ids, cursors, open trips; closed-trade totals
from the ``trades`` table itself) and hooks the view into the watcher's ``on_read``. On each
read the view notices a new UTC day (the state starts it at the first read after 00:00) and
closes the previous day's ``daily`` row at the equity last seen in it; closed positions become
``trades`` rows (``strategy = 'external'``, ``external_id`` = the exchange's id, so a position
read twice is written once: the unique index ``trades_external``).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any, Callable

from trader.accounts.model import ClosedPosition
from trader.accounts.state import STRATEGY, ExchangeAccountState
from trader.days import ClosedDay
from trader.events import RoundTrip
from trader.risk import drawdown_ratio

from .saved import SavedAccount, day_number, load_account
from .store import JournalError
from .writer import JournalWriter

__all__ = ["ExchangeAccountView", "watch_exchange_account", "round_trip"]


@dataclass(frozen=True)
class _Held:
    """An open position as ``position_row`` reads it."""

    exchange: str
    symbol: str
    quantity: float
    entry_price: float
    margin: float
    leverage: float
    opened_at: float
    liquidation_price: float | None
    strategy: str = STRATEGY


def round_trip(exchange: str, closed: ClosedPosition) -> RoundTrip:
    """A closed position as the journal's ``trades`` row takes it."""
    return RoundTrip(
        strategy=STRATEGY, realized_pnl=closed.net_pnl, held_seconds=max(0.0, closed.closed_at - closed.opened_at),
        exchange=exchange, symbol=closed.symbol, side=closed.side, quantity=closed.quantity,
        entry_price=closed.entry_price, exit_price=closed.exit_price, opened_at=closed.opened_at,
        closed_at=closed.closed_at, pnl=closed.pnl, fees=closed.fees, funding=closed.funding, external_id=closed.id)


class ExchangeAccountView:
    """What the journal writer reads of one exchange account, as of its last successful read."""

    kind = "exchange"
    trading_halted = False  # the trader never halts, pauses or trades an exchange account

    def __init__(self, state: ExchangeAccountState, saved: SavedAccount | None = None) -> None:
        self.state = state
        self.name = state.name
        self.exchange = state.exchange
        self.observer: Any = None  # set by writer.watch; the view calls the writer itself
        self._transfers_before_today = 0.0  # net transfers of the days before today, since this start
        self.day_transfers = 0.0
        # Before the first read (a new account): nothing counted yet, so the writer's totals of the
        # first day start from zero and count that read's fees and funding.
        self.day: int | None = None
        self.commission: dict[str, float] = {}
        self.realized_pnl = self.funding_pnl = 0.0
        self.day_max_drawdown = 0.0
        self.positions: dict[tuple[str, str], _Held] = {}
        self._watch_json = "{}"
        if saved is not None:
            self._from_saved(saved)

    def _from_saved(self, saved: SavedAccount) -> None:
        """What the journal holds, until the first read: a flush before it rewrites the same rows."""
        row = saved.row
        self.initial, self.balance, self._equity = row["initial_equity_usdt"], row["balance_usdt"], row["equity_usdt"]
        self.high_water_mark, self.max_drawdown = row["high_water_mark_usdt"], row["max_drawdown_ratio"]
        self.day, self.day_start_equity = day_number(row["day"]), row["day_start_equity_usdt"]
        self.realized_pnl, self.funding_pnl = row["realized_pnl_usdt"], row["funding_usdt"]
        self.commission = dict((saved.exchange_state or {}).get("commission") or {self.exchange: row["fees_usdt"]})
        if saved.day_row is not None:
            self.day_transfers = saved.day_row["transfers_usdt"]
            self.day_max_drawdown = saved.day_row["max_drawdown_ratio"]
        self.positions = {(p["exchange"], p["symbol"]): _Held(
            p["exchange"], p["symbol"], p["quantity"], p["entry_price"], p["margin_usdt"], p["leverage"],
            p["opened_at"], p["liquidation_price"]) for p in saved.positions}
        self._watch_json = _watch_json(saved.exchange_state or {})

    # --- the Account attributes the writer reads ----------------------------------------------

    def equity(self) -> float:
        return self._equity

    @property
    def transfers(self) -> float:
        """Net deposits (> 0) and withdrawals, cumulative: today's are the state's ``day_transfers``
        (the transfers after today's start equity was taken), so the ``daily`` row's ``pnl_usdt``
        is the state's daily PnL, the figure TraderDailyLossLimit compares."""
        return self._transfers_before_today + self.day_transfers

    def watch_state_json(self) -> str:
        """The ``exchange_state`` row: made once per read, and it changes only when the history
        read counted something or moved its cursors (the figures are in the accounts row)."""
        return self._watch_json

    # --- after each read ----------------------------------------------------------------------

    def new_day(self) -> ClosedDay | None:
        """The day that ended, if the last read began a new UTC day (before ``sync``)."""
        state = self.state
        if self.day is None or state.day is None or state.day == self.day:
            return None
        closed = ClosedDay(self.day, self.day_start_equity, self._equity, self.day_max_drawdown)
        # The writer's day roll: today's totals start from the figures before this read.
        self._transfers_before_today += self.day_transfers
        self.day_transfers, self.day_max_drawdown = 0.0, 0.0
        self.day, self.day_start_equity = state.day, state.day_start_equity
        return closed

    def sync(self, now: float) -> None:
        """Copy the state's figures after a successful read."""
        state = self.state
        equity = state.reading.balance.equity
        self.initial, self.balance, self._equity = state.initial, state.balance, equity
        self.high_water_mark = state.high_water_mark
        drawdown = drawdown_ratio(equity, state.high_water_mark)
        self.max_drawdown = max(state.max_drawdown, drawdown)
        self.day, self.day_start_equity = state.day, state.day_start_equity
        self.day_max_drawdown = max(self.day_max_drawdown, drawdown)
        self.day_transfers = state.day_transfers
        self.realized_pnl, self.funding_pnl = state.realized_pnl, state.funding_pnl
        self.commission = dict(state.commission)
        self.positions = {(self.exchange, p.symbol): _Held(
            self.exchange, p.symbol, p.quantity, p.entry_price, p.margin, p.leverage,
            p.opened_at or state.opened_at.get(p.symbol, now), p.liquidation_price)
            for p in state.reading.positions}
        self._watch_json = _watch_json(state.state_to_save())


# What state_to_save() holds that the accounts row already keeps: left out of exchange_state, so the
# row changes at history reads only, not at every read of a moving equity.
_IN_ACCOUNTS_ROW = ("name", "kind", "exchange", "initial", "balance", "equity", "high_water_mark", "max_drawdown",
                    "day", "day_start_equity", "realized_pnl", "funding_pnl", "fees")


def _watch_json(saved: dict) -> str:
    return json.dumps({k: v for k, v in saved.items() if k not in _IN_ACCOUNTS_ROW}, sort_keys=True)


def _resume(state: ExchangeAccountState, saved: SavedAccount) -> None:
    """Put the journal's state back before the first read. The accounts row is the contract's
    truth for the figures it holds; the closed-trade totals are counted from ``trades``."""
    row = saved.row
    values = dict(saved.exchange_state or {})
    values.update(initial=row["initial_equity_usdt"], high_water_mark=row["high_water_mark_usdt"],
                  max_drawdown=row["max_drawdown_ratio"], day=row["day"],
                  day_start_equity=row["day_start_equity_usdt"], realized_pnl=row["realized_pnl_usdt"],
                  funding_pnl=row["funding_usdt"])
    if saved.day_row is not None:
        values["day_transfers"] = saved.day_row["transfers_usdt"]
    totals = saved.strategies.get(STRATEGY)
    if totals is not None:
        values["stats"] = {**values.get("stats", {}), "wins": totals.wins, "losses": totals.losses,
                           "gross_profit": totals.gross_profit, "gross_loss": totals.gross_loss,
                           "pnl": totals.gross_profit - totals.gross_loss}
    state.load_state(values)


def watch_exchange_account(writer: JournalWriter, conn: sqlite3.Connection, watcher: Any,
                           clock: Callable[[], float]) -> ExchangeAccountView:
    """Resume ``watcher``'s account from the journal and journal it after every successful read."""
    saved = load_account(conn, watcher.name)
    if saved is not None:
        row = saved.row
        if (row["kind"], row["exchange"]) != ("exchange", watcher.exchange):
            raise JournalError(
                f"journal {writer.journal.path}: account {watcher.name!r} is a {row['kind']} account"
                f"{' on ' + row['exchange'] if row['exchange'] else ''} there, configured as a {watcher.exchange} "
                "exchange account: expected another name (or another --state-dir)")
        _resume(watcher.state, saved)
    view = ExchangeAccountView(watcher.state, saved)
    if saved is not None:  # the rows the journal holds are the writer's from now on
        writer.watch(view, None, saved)
    watched = saved is not None

    def on_read(state: ExchangeAccountState, closed: list[ClosedPosition]) -> None:
        nonlocal watched
        now = clock()
        if not watched:  # a new account: journalled from its first read, its first day from zero
            view.day = state.day
            writer.watch(view, None, None)
            watched = True
        ended = view.new_day()
        if ended is not None:
            writer.day_rolled(view, ended, now)
        view.sync(now)
        for position in closed:  # committed at once, with the exchange_state that counted them
            writer.record_trade(view.name, round_trip(view.exchange, position),
                                "liquidation" if position.liquidated else "external")

    watcher.on_read = on_read
    return view
