"""The schema: the contract's DDL word for word, versions in user_version, migrations forward in
one transaction, and files this trader must not touch refused in one line."""

from __future__ import annotations

import re
import sqlite3

import pytest

from tests.support.trader import REPO_ROOT
from trader.journal import JournalError, open_journal
from trader.journal.schema import MIGRATIONS, SCHEMA_VERSION, V1_DDL, V2_DDL, table_names


def _doc_ddl(version: int) -> str:
    text = (REPO_ROOT / "docs" / "journal.md").read_text()
    (block,) = re.findall(rf"## Version-{version} schema\n\n(?:[^`]*\n\n)?```sql\n(.*?)```", text, re.S)
    return block


def test_each_version_is_the_documented_contract_word_for_word():
    assert V1_DDL.strip() == _doc_ddl(1).strip(), "docs/journal.md and trader/journal/schema.py differ (v1)"
    assert V2_DDL.strip() == _doc_ddl(2).strip(), "docs/journal.md and trader/journal/schema.py differ (v2)"
    assert SCHEMA_VERSION == 2


def test_a_new_journal_is_at_version_two_in_wal_mode_with_every_table(tmp_path):
    journal = open_journal(tmp_path / "state", feed_kind="sim")
    conn = journal.conn
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert table_names(conn) == ["accounts", "actions", "daily", "daily_marks", "equity_samples", "exchange_state",
                                 "meta", "orders", "positions", "trades"]
    journal.close()


def test_a_version_one_file_gains_exchange_state_and_keeps_its_data(tmp_path):
    _v1_file_with_a_trade(tmp_path / "state")
    journal = open_journal(tmp_path / "state", feed_kind="sim")
    conn = journal.conn
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    assert "exchange_state" in table_names(conn)
    assert conn.execute("SELECT balance_usdt FROM accounts").fetchone() == (10010.0,)
    assert conn.execute("SELECT COUNT(*) FROM trades").fetchone() == (1,)
    journal.close()


def _v1_file_with_a_trade(state_dir) -> None:
    """A journal as a version-1 trader (before exchange_state) left it."""
    journal = open_journal(state_dir, feed_kind="sim", migrations=MIGRATIONS[:1])
    with journal.transaction() as conn:
        conn.execute("INSERT INTO accounts (name, kind, created_at, initial_equity_usdt, balance_usdt, equity_usdt, "
                     "high_water_mark_usdt, max_drawdown_ratio, day, day_start_equity_usdt, realized_pnl_usdt, "
                     "fees_usdt, funding_usdt, updated_at) VALUES "
                     "('main', 'paper', 0, 10000, 10010, 10010, 10010, 0, '2026-01-01', 10000, 12, 2, 0, 0)")
        conn.execute("INSERT INTO trades (account, exchange, symbol, strategy, side, quantity, entry_price, exit_price, "
                     "opened_at, closed_at, holding_seconds, pnl_usdt, fees_usdt, funding_usdt, net_pnl_usdt, "
                     "exit_reason) VALUES ('main', 'binance', 'BTCUSDT', 'momentum', 'long', 0.01, 60000, 61200, "
                     "0, 60, 60, 12, 2, 0, 10, 'take_profit')")
    journal.close()


def _v3(conn: sqlite3.Connection) -> None:
    """A synthetic version 3: one new nullable column, filled from the old data."""
    conn.execute("ALTER TABLE trades ADD COLUMN return_ratio REAL")
    conn.execute("UPDATE trades SET return_ratio = net_pnl_usdt / (quantity * entry_price)")


def test_a_version_one_file_migrates_to_version_three_keeping_its_data(tmp_path):
    _v1_file_with_a_trade(tmp_path / "state")
    journal = open_journal(tmp_path / "state", feed_kind="sim", migrations=(*MIGRATIONS, _v3))
    conn = journal.conn
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 3
    assert conn.execute("SELECT net_pnl_usdt, return_ratio FROM trades").fetchone() == (10.0, pytest.approx(10 / 600))
    assert conn.execute("SELECT balance_usdt FROM accounts").fetchone() == (10010.0,)
    journal.close()
    # ...and this trader (version 2) now refuses the newer file, naming both versions.
    with pytest.raises(JournalError, match=r"journal .*journal.sqlite3: schema version 3 is newer than this trader's 2"):
        open_journal(tmp_path / "state", feed_kind="sim")


def test_a_failing_migration_leaves_the_file_as_it_was(tmp_path):
    _v1_file_with_a_trade(tmp_path / "state")

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE trades ADD COLUMN return_ratio REAL")
        conn.execute("UPDATE no_such_table SET x = 1")

    with pytest.raises(JournalError, match="cannot be read"):
        open_journal(tmp_path / "state", feed_kind="sim", migrations=(*MIGRATIONS, broken))
    conn = sqlite3.connect(tmp_path / "state" / "journal.sqlite3")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert "return_ratio" not in [row[1] for row in conn.execute("PRAGMA table_info(trades)")]
    assert "exchange_state" not in table_names(conn)  # the step before the broken one is undone too
    assert conn.execute("SELECT COUNT(*) FROM trades").fetchone() == (1,)


def test_an_empty_version_zero_file_becomes_the_current_version(tmp_path):
    (tmp_path / "state").mkdir()
    sqlite3.connect(tmp_path / "state" / "journal.sqlite3").close()  # 0 bytes: an SQLite file at version 0
    journal = open_journal(tmp_path / "state", feed_kind="sim")
    assert journal.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    journal.close()


def test_some_other_database_at_version_zero_is_refused_untouched(tmp_path):
    (tmp_path / "state").mkdir()
    other = sqlite3.connect(tmp_path / "state" / "journal.sqlite3")
    other.execute("CREATE TABLE recipes (name TEXT)")
    other.commit()
    other.close()
    with pytest.raises(JournalError, match="not a trader journal .*tables recipes"):
        open_journal(tmp_path / "state", feed_kind="sim")
    assert table_names(sqlite3.connect(tmp_path / "state" / "journal.sqlite3")) == ["recipes"]


def test_a_journal_of_another_feed_is_refused(tmp_path):
    open_journal(tmp_path / "state", feed_kind="sim").close()
    with pytest.raises(JournalError, match="written by a trader on --feed sim, this one reads --feed live"):
        open_journal(tmp_path / "state", feed_kind="live")
