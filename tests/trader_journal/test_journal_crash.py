"""``kill -9`` of a trader while it writes leaves a journal that opens, passes SQLite's integrity
check, holds every trade it closed and its state of at most a second before; a restart on it
resumes that state."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time

import pytest

from tests.exporters.scrape_parsing import samples, series_of
from tests.support.processes import wait_until
from trader.journal import open_journal

pytestmark = pytest.mark.slow

# Quick bars and short holds: trades close every few seconds and a position is open most of the time.
BUSY = """
feed: {sim_updates_per_second: 10}
paper: {reject_probability: 0.0}
accounts:
  - name: main
    limits: {var_usdt: 1.0e+9}
    strategies:
      - {type: momentum, bar_seconds: 0.1, lookback_bars: 5, entry_threshold: 0.3, max_hold_seconds: 3,
         entry_timeout_seconds: 0.5, stop_loss_ratio: 0.0005, take_profit_ratio: 0.0005}
      - {type: mean_reversion, bar_seconds: 0.1, lookback_bars: 6, entry_threshold: 0.8, max_hold_seconds: 3,
         entry_timeout_seconds: 0.5, stop_loss_ratio: 0.0005, take_profit_ratio: 0.0005}
"""
# The writer flushes every second; the slack is its own write and the event loop's lag on a busy
# 2-core machine.
LOSES_AT_MOST = 1.0 + 0.5


def _read(path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_kill_9_loses_at_most_the_last_second_and_never_the_file(start_trader, tmp_path):
    config = tmp_path / "busy.yml"
    config.write_text(BUSY)
    state = tmp_path / "state"
    journal = state / "journal.sqlite3"
    trader = start_trader("--feed", "sim", "--seed", "11", "--config", str(config), "--state-dir", str(state))
    wait_until(lambda: _read(journal, "SELECT COUNT(*) FROM trades")[0][0] >= 3, 60, "three closed trades in the journal")
    # Kill while a position has been open for over a second: the state changed through the last flush.
    def held_long_enough() -> bool:
        ages = series_of(samples(trader.scrape()), "trader_position_age_seconds").values()
        return bool(ages) and max(ages) >= 1.5

    wait_until(held_long_enough, 60, "a position open for 1.5 s", interval=0.05)
    killed_at = time.time()
    os.kill(trader.process.pid, signal.SIGKILL)
    wait_until(lambda: trader.process.poll() is not None, 10, "the trader to die")

    # The file opens through every check the trader makes (quick_check, schema), and is intact.
    opened = open_journal(state, feed_kind="sim")
    assert opened.conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    (updated_at, balance), = opened.conn.execute("SELECT updated_at, balance_usdt FROM accounts").fetchall()
    assert updated_at >= killed_at - LOSES_AT_MOST, f"state {killed_at - updated_at:.2f} s older than the kill"
    # Every trade the trader logged as closed before the last second is in the file (they commit at once).
    logged = [json.loads(line) for line in trader.log_lines() if line.startswith("{")]
    closed = [r for r in logged if r["msg"] == "position closed"
              and _epoch(r["ts"]) < killed_at - LOSES_AT_MOST]
    journalled = [(strategy, symbol, round(net, 4)) for strategy, symbol, net in opened.conn.execute(
        "SELECT strategy, symbol, net_pnl_usdt FROM trades ORDER BY id")]
    assert len(journalled) >= 3
    missing = [r for r in closed if (r["strategy"], r["symbol"], r["realized_pnl_usdt"]) not in journalled]
    assert not missing, f"trades logged as closed but not in the journal: {missing}"
    opened.close()

    # A restart on the same state dir resumes the balance the file holds (before any new fill).
    again = start_trader("--feed", "sim", "--seed", "11", "--config", str(config), "--state-dir", str(state))
    resumed = [json.loads(line) for line in again.log_lines() if '"account resumed from the journal"' in line]
    assert resumed and resumed[0]["balance_usdt"] == round(balance, 2)


def _epoch(ts: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(ts).timestamp()
