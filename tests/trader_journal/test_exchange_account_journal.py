"""An exchange account in the journal: a real trader core watching a stand-in exchange (real
adapter, real ccxt client) writes its figures and closed trades; a trader started again on the
same state dir resumes the high-water mark, the drawdown and the day start, and adds no trade twice.

Binance rebuilds its trades from fills (no position history); Bybit reads its closed-PnL list:
both paths into the journal's ``trades``.
"""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from tests.exchange_accounts.harness import ENVIRON, FAST, standin
from tests.exchange_accounts.scripts import script_for
from trader.accounts.model import ClosedPosition
from trader.config import load_config_text, with_accounts
from trader.engine import Trader
from trader.journal import JournalError, open_journal
from trader.journal.exchange import round_trip
from trader.risk import SECONDS_PER_DAY

SYMBOL = "BTCUSDT"


class _Clock:
    """The wall clock (the stand-ins stamp their records with it), moved on by ``skip`` seconds."""

    def __init__(self) -> None:
        self.skip = 0.0

    def __call__(self) -> float:
        import time

        return time.time() + self.skip


def _config(name: str, url: str):
    timing = FAST[name]
    text = f"""
feed: {{kind: sim, exchanges: [binance], symbols: [BTCUSDT]}}
exchange_accounts:
  - {{name: {name}-main, exchange: {name}, api_key_env: ACCOUNT_KEY, api_secret_env: ACCOUNT_SECRET,
      poll_seconds: {timing['poll_seconds']}, history_seconds: {timing['history_seconds']}, api_url: "{url}"}}
"""
    return with_accounts(load_config_text(text), accounts=())


class _Run:
    """One trader process's life, in-process: its journal, its watcher, polled by hand."""

    def __init__(self, state_dir, name: str, server, clock: _Clock) -> None:
        self.journal = open_journal(state_dir, feed_kind="sim", clock=clock)
        self.trader = Trader(_config(name, server.url), feeds=[], clock=clock, journal=self.journal,
                             environ=ENVIRON)
        [self.watcher] = self.trader.watchers
        self.watcher.api._ReadOnlyClient__client.enableRateLimit = False  # the stand-in has no limit
        self.clock = clock

    async def poll(self, times: int = 1) -> None:
        for _ in range(times):
            self.watcher._next_history = 0.0
            assert await self.watcher.cycle() is not None
            assert self.watcher.status == "watching", self.watcher.last_error

    def figures(self) -> tuple:
        snapshot = self.watcher.state.snapshot(self.clock())
        return (snapshot.high_water_mark_usdt, snapshot.drawdown_ratio, snapshot.max_drawdown_ratio,
                snapshot.day_start_equity_usdt, snapshot.win_rate)

    async def stop(self) -> None:
        await self.watcher.api.close()
        self.trader.journal_writer.close()
        self.journal.close()


def _rows(state_dir, sql: str, *args) -> list[tuple]:
    conn = sqlite3.connect(f"file:{state_dir / 'journal.sqlite3'}?mode=ro", uri=True)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


@pytest.mark.parametrize("name", ["binance", "bybit"])
def test_a_restart_resumes_the_peak_drawdown_and_day_start_and_adds_no_trade_twice(tmp_path, name):
    state_dir = tmp_path / "state"
    clock = _Clock()
    with standin(name) as server:
        script = script_for(name, server)
        script.open(SYMBOL, 0.5, 60_000.0, mark=61_000.0, liquidation=50_000.0, seed=True)

        async def first_life():
            first = _Run(state_dir, name, server, clock)
            await first.poll()
            script.close(SYMBOL, 62_000.0)  # a win: the peak
            await first.poll()
            script.open(SYMBOL, 0.4, 62_000.0, mark=59_000.0, liquidation=50_000.0)  # a drawdown from it
            await first.poll(2)
            await first.stop()
            return first.figures()

        async def second_life():
            again = _Run(state_dir, name, server, clock)
            # Before the first read, the journal's figures are back...
            state = again.watcher.state
            assert (state.high_water_mark, state.max_drawdown, state.day_start_equity) == (
                before[0], before[2], before[3])
            state.cursor.clear()  # ...and a history read from the start adds nothing twice
            await again.poll(2)
            await again.stop()
            return again.figures()

        before = asyncio.run(first_life())
        assert before[1] > 0.0 and before[4] == 1.0  # in a drawdown, one winning trade
        after = asyncio.run(second_life())

    assert after == pytest.approx(before)
    trades = _rows(state_dir, "SELECT account, strategy, exit_reason, side, external_id, net_pnl_usdt > 0 FROM trades")
    assert len(trades) == 1
    [(account, strategy, reason, side, external_id, won)] = trades
    assert (account, strategy, reason, side, won) == (f"{name}-main", "external", "external", "long", 1)
    assert external_id
    [(kind, exchange, hwm, day_start)] = _rows(
        state_dir, "SELECT kind, exchange, high_water_mark_usdt, day_start_equity_usdt FROM accounts")
    assert (kind, exchange, hwm, day_start) == ("exchange", name, pytest.approx(before[0]), pytest.approx(before[3]))
    [(count, wins, pnl, equity_end)] = _rows(state_dir, "SELECT trades, wins, pnl_usdt, equity_end_usdt FROM daily")
    assert (count, wins) == (1, 1) and equity_end == pytest.approx(before[0] * (1 - before[1]))
    assert _rows(state_dir, "SELECT COUNT(*) FROM equity_samples")[0][0] >= 1
    assert _rows(state_dir, "SELECT COUNT(*) FROM exchange_state")[0][0] == 1


def test_a_restart_after_midnight_closes_the_journals_day_and_starts_today(tmp_path):
    state_dir = tmp_path / "state"
    clock = _Clock()
    with standin("bybit") as server:
        script = script_for("bybit", server)
        script.open(SYMBOL, 0.5, 60_000.0, mark=61_000.0, liquidation=50_000.0, seed=True)

        async def life():
            run = _Run(state_dir, "bybit", server, clock)
            await run.poll()
            await run.stop()
            return run.figures()[3]

        asyncio.run(life())
        yesterday_equity = script.equity()
        script.mark(SYMBOL, 60_000.0)  # -500 USDT while the trader was down over midnight
        clock.skip = SECONDS_PER_DAY
        today_start = asyncio.run(life())
    days = _rows(state_dir, "SELECT equity_start_usdt, equity_end_usdt, closed FROM daily ORDER BY day")
    assert days == [(pytest.approx(yesterday_equity), pytest.approx(yesterday_equity), 1),
                    (pytest.approx(yesterday_equity - 500.0), pytest.approx(yesterday_equity - 500.0), 0)]
    assert today_start == pytest.approx(yesterday_equity - 500.0)


def test_a_paper_account_of_the_same_name_is_refused_in_one_line(tmp_path):
    state_dir = tmp_path / "state"
    journal = open_journal(state_dir, feed_kind="sim")
    with journal.transaction() as conn:
        conn.execute("INSERT INTO accounts (name, kind, created_at, initial_equity_usdt, balance_usdt, equity_usdt, "
                     "high_water_mark_usdt, max_drawdown_ratio, day, day_start_equity_usdt, realized_pnl_usdt, "
                     "fees_usdt, funding_usdt, updated_at) VALUES "
                     "('bybit-main', 'paper', 0, 10000, 10000, 10000, 10000, 0, '2026-01-01', 10000, 0, 0, 0, 0)")
    with pytest.raises(JournalError) as raised:
        Trader(_config("bybit", "http://127.0.0.1:9"), feeds=[], journal=journal, environ=ENVIRON)
    journal.close()
    message = str(raised.value)
    assert "\n" not in message
    assert "'bybit-main' is a paper account there, configured as a bybit exchange account" in message


def test_a_closed_position_written_twice_is_one_trade(tmp_path):
    # The unique index on (account, external_id) is the journal's own guard, whatever the state
    # remembers: the same exchange id written again (two reads, a replayed history) adds nothing.
    state_dir = tmp_path / "state"
    clock = _Clock()
    with standin("bybit") as server:
        script = script_for("bybit", server)
        script.open(SYMBOL, 0.5, 60_000.0, mark=61_000.0, liquidation=50_000.0, seed=True)

        async def life():
            run = _Run(state_dir, "bybit", server, clock)
            writer = run.trader.journal_writer
            try:
                await run.poll()
                script.close(SYMBOL, 62_000.0)
                await run.poll()
                assert writer.flush()
                [trade] = _rows(state_dir, "SELECT external_id, closed_at, net_pnl_usdt FROM trades")
                again = ClosedPosition(trade[0], SYMBOL, "long", 0.5, 60_000.0, 62_000.0, trade[1] - 60.0, trade[1],
                                       1_000.0, 0.0, 0.0, trade[2], False)
                for _ in range(2):
                    writer.record_trade("bybit-main", round_trip("bybit", again), "external")
                    assert writer.flush()
            finally:
                await run.stop()

        asyncio.run(life())
    assert _rows(state_dir, "SELECT COUNT(*), SUM(trades) FROM trades, daily")[0] == (1, 1)
