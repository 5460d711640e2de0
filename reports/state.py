"""The service's own memory, in its own SQLite file (``<data-dir>/reports.sqlite3``, the
``reports-data`` volume; never the trader's journal): which report went to which channel, the
trade notifications' cursor and their outbox. It is what makes a restart send nothing twice and
miss nothing.

    state = State(Path("/data/reports"))
    state.first_started_at             # reports are due for periods ending after this
    state.delivery("main", "day:2026-05-01", "telegram")   # None, or a Delivery
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from .errors import ReportsError

__all__ = ["STATE_FILE", "State", "Delivery", "OutboxItem"]

STATE_FILE = "reports.sqlite3"
_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- When each channel was first configured: reports are due from then on, not for the past.
CREATE TABLE IF NOT EXISTS channels (name TEXT PRIMARY KEY, first_seen_at REAL NOT NULL);
-- One row per account, period and channel: 'sent' once the channel's API accepted it.
CREATE TABLE IF NOT EXISTS deliveries (
    account TEXT NOT NULL, period TEXT NOT NULL, channel TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('sent', 'retrying', 'abandoned')),
    attempts INTEGER NOT NULL, due_at REAL NOT NULL, next_attempt_at REAL, sent_at REAL,
    late INTEGER NOT NULL DEFAULT 0, last_error TEXT, first_attempt_at REAL NOT NULL,
    PRIMARY KEY (account, period, channel)
);
-- Trade notifications: the journal cursor, and what is waiting for each channel's next window.
CREATE TABLE IF NOT EXISTS cursors (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, channel TEXT NOT NULL, created_at REAL NOT NULL, event TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS channel_windows (
    channel TEXT PRIMARY KEY, last_sent_at REAL, failures INTEGER NOT NULL DEFAULT 0, next_attempt_at REAL
);
"""


@dataclass(frozen=True)
class Delivery:
    account: str
    period: str  # Period.key: "day:2026-05-01"
    channel: str
    status: str  # sent | retrying | abandoned
    attempts: int
    due_at: float
    next_attempt_at: float | None
    sent_at: float | None
    late: bool
    last_error: str | None
    first_attempt_at: float


@dataclass(frozen=True)
class OutboxItem:
    id: int
    channel: str
    created_at: float
    event: dict


class State:
    """Thread-safe (one lock): the HTTP handlers and the loops share it."""

    def __init__(self, data_dir: Path, now: float) -> None:
        data_dir = Path(data_dir)
        self.path = data_dir / STATE_FILE
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, _VERSION):
                raise ReportsError(f"state {self.path} has version {version}, expected {_VERSION}: it was written by "
                                   "a newer reports service")
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version={_VERSION}")
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('first_started_at', ?)", (repr(now),))
        except (sqlite3.Error, OSError) as error:
            raise ReportsError(f"state {self.path} cannot be opened ({error}): expected a writable --data-dir") from None
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    def _one(self, sql: str, args: tuple = ()) -> tuple | None:
        with self._lock:
            return self._db.execute(sql, args).fetchone()

    @property
    def first_started_at(self) -> float:
        return float(self._one("SELECT value FROM meta WHERE key = 'first_started_at'")[0])

    def channel_first_seen(self, channels: Iterable[str], now: float) -> dict[str, float]:
        """When each of ``channels`` was first configured (recording ``now`` for a new one)."""
        with self._lock:
            for name in channels:
                self._db.execute("INSERT OR IGNORE INTO channels VALUES (?, ?)", (name, now))
            return dict(self._db.execute("SELECT name, first_seen_at FROM channels").fetchall())

    # --- reports ---------------------------------------------------------------------------

    def deliveries(self, account: str | None = None) -> list[Delivery]:
        sql, args = "SELECT * FROM deliveries", ()
        if account is not None:
            sql, args = sql + " WHERE account = ?", (account,)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY due_at, account, period, channel", args).fetchall()
        return [Delivery(*row[:8], bool(row[8]), *row[9:]) for row in rows]

    def delivery(self, account: str, period: str, channel: str) -> Delivery | None:
        row = self._one("SELECT * FROM deliveries WHERE account = ? AND period = ? AND channel = ?",
                        (account, period, channel))
        return Delivery(*row[:8], bool(row[8]), *row[9:]) if row else None

    def record_sent(self, account: str, period: str, channel: str, due_at: float, now: float, late: bool) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO deliveries VALUES (?,?,?,'sent',1,?,NULL,?,?,NULL,?) ON CONFLICT (account, period, channel) "
                "DO UPDATE SET status='sent', attempts=attempts + 1, sent_at=excluded.sent_at, late=excluded.late, "
                "next_attempt_at=NULL", (account, period, channel, due_at, now, int(late), now))

    def record_failure(self, account: str, period: str, channel: str, due_at: float, error: str, now: float,
                       next_attempt_at: float | None) -> int:
        """Record a failed attempt; ``next_attempt_at`` None abandons. Returns the attempts so far."""
        status = "retrying" if next_attempt_at is not None else "abandoned"
        with self._lock:
            self._db.execute(
                "INSERT INTO deliveries VALUES (?,?,?,?,1,?,?,NULL,0,?,?) ON CONFLICT (account, period, channel) "
                "DO UPDATE SET status=excluded.status, attempts=attempts + 1, next_attempt_at=excluded.next_attempt_at, "
                "last_error=excluded.last_error",
                (account, period, channel, status, due_at, next_attempt_at, error, now))
            return int(self._db.execute("SELECT attempts FROM deliveries WHERE account = ? AND period = ? AND channel = ?",
                                        (account, period, channel)).fetchone()[0])

    def counts(self) -> dict[str, dict[str, int]]:
        """Deliveries per channel and status (the health endpoint's counts)."""
        with self._lock:
            rows = self._db.execute("SELECT channel, status, COUNT(*) FROM deliveries GROUP BY channel, status").fetchall()
        out: dict[str, dict[str, int]] = {}
        for channel, status, n in rows:
            out.setdefault(channel, {})[status] = n
        return out

    # --- trade notifications --------------------------------------------------------------

    def cursor(self, name: str) -> object | None:
        row = self._one("SELECT value FROM cursors WHERE name = ?", (name,))
        return json.loads(row[0]) if row else None

    def advance(self, cursors: dict[str, object], events: dict[str, list[dict]], now: float) -> None:
        """Move the cursors and queue ``events`` per channel, in one transaction (nothing lost between)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for name, value in cursors.items():
                    self._db.execute("INSERT OR REPLACE INTO cursors VALUES (?, ?)", (name, json.dumps(value)))
                for channel, items in events.items():
                    self._db.executemany("INSERT INTO outbox (channel, created_at, event) VALUES (?, ?, ?)",
                                         [(channel, now, json.dumps(item)) for item in items])
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def outbox(self, channel: str) -> list[OutboxItem]:
        with self._lock:
            rows = self._db.execute("SELECT id, channel, created_at, event FROM outbox WHERE channel = ? ORDER BY id",
                                    (channel,)).fetchall()
        return [OutboxItem(i, c, t, json.loads(e)) for i, c, t, e in rows]

    def window(self, channel: str) -> tuple[float | None, int, float | None]:
        """(last sent at, failures in a row, next attempt at) of a channel's notifications."""
        row = self._one("SELECT last_sent_at, failures, next_attempt_at FROM channel_windows WHERE channel = ?",
                        (channel,))
        return (row[0], row[1], row[2]) if row else (None, 0, None)

    def notes_sent(self, channel: str, ids: list[int], now: float) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in ids])
            self._db.execute("INSERT INTO channel_windows VALUES (?, ?, 0, NULL) ON CONFLICT (channel) DO UPDATE SET "
                             "last_sent_at=excluded.last_sent_at, failures=0, next_attempt_at=NULL", (channel, now))
            self._db.execute("COMMIT")

    def notes_failed(self, channel: str, next_attempt_at: float) -> int:
        with self._lock:
            self._db.execute("INSERT INTO channel_windows VALUES (?, NULL, 1, ?) ON CONFLICT (channel) DO UPDATE SET "
                             "failures=failures + 1, next_attempt_at=excluded.next_attempt_at", (channel, next_attempt_at))
            return int(self._db.execute("SELECT failures FROM channel_windows WHERE channel = ?", (channel,)).fetchone()[0])
