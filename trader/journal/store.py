"""Opening the journal file: every way it can be unusable is one ``JournalError`` line, never a reset.

``open_journal(state_dir, feed_kind="sim")`` creates ``<state-dir>/journal.sqlite3`` on the first
start (and the directory), takes the state directory's lock (one writer, trader/journal/lock.py),
checks the file (a directory in its place, no permission, not a database, damaged pages, a newer
schema, another feed's journal), migrates it forward (trader/journal/schema.py) and returns a
``Journal`` in WAL mode with ``synchronous=NORMAL``: a commit survives a crash of the process,
and a crash never damages the file.

    >>> import tempfile
    >>> journal = open_journal(Path(tempfile.mkdtemp()) / "state", feed_kind="sim")
    >>> journal.conn.execute("PRAGMA journal_mode").fetchone()[0], journal.meta()["feed"]
    ('wal', 'sim')
    >>> with journal.transaction() as conn:
    ...     _ = conn.execute("INSERT INTO meta VALUES ('note', 'hello')")
    >>> journal.close()
"""

from __future__ import annotations

import os
import sqlite3
import stat
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Sequence

from .lock import LockHeld, StateLock
from .schema import MIGRATIONS, Migration, SchemaError, check_version, migrate

__all__ = ["JOURNAL_FILE", "Journal", "JournalError", "JournalInUse", "open_journal"]

JOURNAL_FILE = "journal.sqlite3"
LOCK_WAIT_SECONDS = 5.0  # a `resume` command holds the lock for milliseconds; let it finish


class JournalError(Exception):
    """A journal the trader cannot use; ``str()`` is the one line shown to the user."""


class JournalInUse(JournalError):
    def __init__(self, message: str, pid: int | None) -> None:
        super().__init__(message)
        self.pid = pid


class Journal:
    """An open journal: the connection (autocommit; ``transaction()`` for writes) and the lock."""

    def __init__(self, path: Path, conn: sqlite3.Connection, lock: StateLock) -> None:
        self.path = path
        self.conn = conn
        self._lock = lock

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed at the end of the block, rolled back on an exception."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def meta(self) -> dict[str, str]:
        return dict(self.conn.execute("SELECT key, value FROM meta"))

    def close(self) -> None:
        """Close the file, back in rollback-journal mode when no reader has it open: with no -wal
        and -shm left beside it, a reader in a read-only directory can still open a stopped
        trader's journal (WAL needs -shm, which such a reader cannot create). The next start
        turns WAL on again."""
        try:
            self.conn.execute("PRAGMA journal_mode = DELETE")  # checkpoints; stays WAL if a reader is in
        except sqlite3.Error:
            pass
        self.conn.close()
        self._lock.release()


def open_journal(state_dir: str | Path, *, feed_kind: str | None, trader_name: str = "trader",
                 create: bool = True, lock_wait_seconds: float = LOCK_WAIT_SECONDS,
                 migrations: Sequence[Migration] = MIGRATIONS, clock: Callable[[], float] = time.time) -> Journal:
    """Open (``create``: or start) the journal of ``state_dir``; raises ``JournalError``.

    ``feed_kind`` (live, sim, replay) is recorded in ``meta`` at creation and must match later: a
    simulated market's positions mean nothing on live data. None (the ``resume`` command) skips
    that check and writes no meta.
    """
    state_dir = Path(state_dir)
    path = state_dir / JOURNAL_FILE
    _check_places(state_dir, path, create)
    try:
        lock = StateLock.acquire(state_dir, lock_wait_seconds)
    except LockHeld as held:
        raise JournalInUse(f"journal {path}: in use by another process (pid {held.pid or 'unknown'}, "
                           f"{state_dir / 'journal.lock'}): one trader per --state-dir", held.pid) from None
    except OSError as error:
        raise JournalError(f"journal {path}: cannot write in the state dir {state_dir} ({error.strerror}): "
                           f"the trader needs to create files there as uid {os.geteuid()}") from None
    try:
        conn = _connect(path, migrations)
        journal = Journal(path, conn, lock)
        if feed_kind is not None:
            _check_meta(journal, feed_kind, trader_name, clock)
    except BaseException:
        lock.release()
        raise
    return journal


def _check_places(state_dir: Path, path: Path, create: bool) -> None:
    if state_dir.exists() and not state_dir.is_dir():
        raise JournalError(f"journal {path}: the state dir {state_dir} is not a directory")
    if path.is_dir():
        raise JournalError(f"journal {path}: is a directory, expected the journal's SQLite file")
    if path.exists() and not path.is_file():
        raise JournalError(f"journal {path}: is not a regular file")
    if not create:
        if not path.exists():
            raise JournalError(f"journal {path}: no such file (no trader has run with --state-dir {state_dir})")
        return
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise JournalError(f"journal {path}: cannot create the state dir {state_dir} ({error.strerror})") from None


def _connect(path: Path, migrations: Sequence[Migration]) -> sqlite3.Connection:
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise JournalError(f"journal {path}: permission denied: the trader (uid {os.geteuid()}) needs to read and "
                           f"write it ({_owner(path)})")
    conn = None
    try:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 5000")
        problems = [row[0] for row in conn.execute("PRAGMA quick_check")]  # before anything writes
        if problems != ["ok"]:
            found = "; ".join(" ".join(str(p).split()) for p in problems[:2]).replace("*** in database main *** ", "")
            raise JournalError(f"journal {path}: damaged ({found}); it is kept as it is: restore a backup "
                               "or move it away to start over")
        check_version(conn, str(path), migrations)  # a newer or foreign file: refused before any write
        if conn.execute("PRAGMA journal_mode = WAL").fetchone()[0] != "wal":
            raise JournalError(f"journal {path}: cannot use write-ahead logging on this file system")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        migrate(conn, str(path), migrations)
        return conn
    except SchemaError as error:
        conn.close()
        raise JournalError(str(error)) from None
    except sqlite3.Error as error:
        if conn is not None:
            conn.close()
        reason = "permission denied" if "readonly" in str(error) or "unable to open" in str(error) else str(error)
        raise JournalError(f"journal {path}: cannot be read ({reason}); it is kept as it is") from None
    except JournalError:
        conn.close()
        raise


def _owner(path: Path) -> str:
    info = path.stat()
    return f"owned by uid {info.st_uid}, mode {stat.filemode(info.st_mode)}"


def _check_meta(journal: Journal, feed_kind: str, trader_name: str, clock: Callable[[], float]) -> None:
    meta = journal.meta()
    written = meta.get("feed")
    if written is not None and written != feed_kind:
        raise JournalError(f"journal {journal.path}: written by a trader on --feed {written}, this one reads "
                           f"--feed {feed_kind}: its positions and prices belong to that market (give another "
                           "--state-dir)")
    with journal.transaction() as conn:
        conn.execute("INSERT OR IGNORE INTO meta VALUES ('created_at', ?)", (repr(clock()),))
        conn.execute("INSERT OR IGNORE INTO meta VALUES ('feed', ?)", (feed_kind,))
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('trader', ?)", (trader_name,))
