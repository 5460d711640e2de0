"""The trader's journal: an SQLite file per trader, its memory across restarts and its history.

The contract (tables, meanings, what readers rely on) is docs/journal.md. The pieces:

- ``store.open_journal(state_dir, feed_kind=...)``: the file, its lock and every check (one line
  per problem, ``JournalError``); ``schema``: the versioned DDL and its migrations;
- ``saved.load_account`` reads what a restart resumes, ``restore.restore_account`` puts it back
  into the account, its broker and strategies;
- ``writer.JournalWriter`` writes the state back, at most once a second while it changes and at
  once on trades, halts, day rolls and actions;
- ``halt.lift_halt``: the ``python -m trader resume`` command on a stopped trader's file.

``attach(journal, trader)`` does the start-up part for a ``trader.engine.Trader``: resume every
configured account (exchange accounts through ``exchange.watch_exchange_account``), continue
simulated prices from the journal's last marks, and return the writer the trader runs::

    journal = open_journal("state", feed_kind="sim")
    trader = Trader(config, journal=journal)     # calls attach()
    await trader.run()                           # runs the writer; flushes at a clean stop
    journal.close()
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .exchange import watch_exchange_account
from .restore import restore_account
from .saved import last_marks, load_account
from .store import JOURNAL_FILE, Journal, JournalError, JournalInUse, open_journal
from .writer import JournalWriter

if TYPE_CHECKING:
    from trader.engine import Trader

__all__ = ["attach", "open_journal", "Journal", "JournalError", "JournalInUse", "JournalWriter", "JOURNAL_FILE"]


def attach(journal: Journal, trader: "Trader") -> JournalWriter:
    """Resume ``trader``'s accounts from ``journal`` and return the writer that journals them."""
    writer = JournalWriter(journal, trader.bus, trader.market, trader.clock)
    marks = last_marks(journal.conn)
    now = trader.clock()
    for runtime in trader.accounts:
        account = runtime.account
        saved = load_account(journal.conn, account.name)
        if saved is not None:
            restore_account(account, saved, marks, runtime.broker, runtime.strategies)
        writer.watch(account, runtime.broker, saved)
        account.track_equity(now)  # a trader down over midnight: the journal's day ends, today starts
        account.refresh_risk()  # Sharpe and Sortino from the resumed daily returns, before the first sample
    for watcher in trader.watchers:  # exchange accounts: resumed now, written after each read
        watch_exchange_account(writer, journal.conn, watcher, trader.clock)
    for feed in trader.feeds:
        start_from = getattr(feed, "start_from", None)  # the sim: its market goes on where it was
        if start_from is not None:
            start_from({symbol: price for (exchange, symbol), price in marks.items() if exchange == feed.exchange})
    writer.flush()  # the resumed state (and new accounts) on disk before the first market message
    return writer
