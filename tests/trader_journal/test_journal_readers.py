"""Readers as the contract says they read: read-only, never blocking the writer; and a stopped
trader's journal stays readable from a directory the reader cannot write (a read-only volume)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

from tests.trader_journal.desk import Desk
from tests.trader_journal.test_journal_errors import _without_file_capabilities

READ = """
import sqlite3, sys
conn = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
conn.execute("PRAGMA query_only = 1")
print(conn.execute("SELECT name, balance_usdt FROM accounts").fetchall())
"""


def test_a_reader_never_blocks_the_writer(tmp_path):
    desk = Desk(tmp_path / "state")
    desk.quote("BTCUSDT", 60_000.0)
    desk.flush()
    reader = sqlite3.connect(f"file:{desk.journal.path}?mode=ro", uri=True, isolation_level=None)
    reader.execute("BEGIN")  # a long read transaction, as a report being built
    assert reader.execute("SELECT COUNT(*) FROM daily_marks").fetchone() == (1,)
    desk.quote("ETHUSDT", 3_000.0)
    desk.flush()  # commits while the reader reads
    assert reader.execute("SELECT COUNT(*) FROM daily_marks").fetchone() == (1,)  # its snapshot
    reader.execute("COMMIT")
    assert reader.execute("SELECT COUNT(*) FROM daily_marks").fetchone() == (2,)
    reader.close()
    desk.close()


def test_a_stopped_traders_journal_opens_from_a_read_only_directory(tmp_path):
    desk = Desk(tmp_path / "state")
    desk.flush()
    desk.close()  # a clean stop: back to rollback-journal mode, no -wal or -shm left
    assert sorted(os.listdir(tmp_path / "state")) == ["journal.lock", "journal.sqlite3"]
    (tmp_path / "state").chmod(0o555)
    try:
        read = subprocess.run([sys.executable, "-c", READ, str(tmp_path / "state" / "journal.sqlite3")],
                              capture_output=True, text=True, timeout=30,
                              preexec_fn=_without_file_capabilities if os.geteuid() == 0 else None)
    finally:
        (tmp_path / "state").chmod(0o755)
    assert read.returncode == 0, read.stderr
    assert read.stdout.strip() == "[('main', 10000.0)]"
    again = Desk(tmp_path / "state")  # the next start is in WAL mode again
    assert again.journal.conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    again.close()
