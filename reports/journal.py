"""The trader's journal, read-only: ``<state-dir>/journal.sqlite3`` as docs/journal.md describes it.

    journal = Journal(Path("state"))
    names = journal.query(lambda view: [a.name for a in view.accounts()])  # one read transaction

The file is opened with a ``mode=ro`` URI and ``PRAGMA query_only``, so this service can never
write it, and a schema version it does not know (``PRAGMA user_version``) is refused in one line.

The journal is in WAL mode, and the reports container mounts its volume read-only. SQLite reads
such a file while the trader runs, through the ``-wal`` and ``-shm`` files the trader keeps
(tests/reports/test_journal_readonly.py checks it with a real read-only directory and a writer).
When the trader is stopped cleanly those files are gone and a read-only reader cannot create
them; the main file then holds everything, and it is read with ``immutable=1``, checked
unchanged (size, mtime, still no ``-wal``) once the read is done, and read again normally if the
trader came back meanwhile. After a crash the ``-wal`` file stays and is read as usual.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, TypeVar
from urllib.parse import quote

from .errors import ReportsError

__all__ = ["JOURNAL_FILE", "SCHEMA_VERSION", "Journal", "JournalView", "JournalMissing", "AccountRow",
           "TradeRow", "PositionRow", "EquitySample", "DailyRow", "DailyMark", "BENCHMARK_SYMBOL"]

JOURNAL_FILE = "journal.sqlite3"
SCHEMA_VERSION = 2  # the newest version of docs/journal.md this reader knows
# Version 2 only added exchange_state, which reports never read: both read the same.
READABLE_VERSIONS = (1, 2)
BENCHMARK_SYMBOL = "BTCUSDT"
T = TypeVar("T")
_PREFERRED_EXCHANGE = "binance"  # the contract: BTC marks of any exchange, binance preferred


class JournalMissing(ReportsError):
    """No journal yet: the trader has not written one (the service waits for it)."""


class _ChangedWhileRead(ReportsError):
    """The trader wrote while the file was read as immutable: read it again."""


@dataclass(frozen=True)
class AccountRow:
    name: str
    kind: str  # "paper" | "exchange"
    exchange: str | None
    created_at: float
    initial_equity_usdt: float
    balance_usdt: float
    equity_usdt: float
    high_water_mark_usdt: float
    realized_pnl_usdt: float
    fees_usdt: float
    funding_usdt: float
    halted: bool
    halt_reason: str | None
    paused: bool
    updated_at: float


@dataclass(frozen=True)
class TradeRow:
    id: int
    account: str
    exchange: str
    symbol: str
    strategy: str
    side: str  # "long" | "short"
    quantity: float
    entry_price: float
    exit_price: float
    opened_at: float
    closed_at: float
    holding_seconds: float
    pnl_usdt: float  # before fees and funding
    fees_usdt: float
    funding_usdt: float
    net_pnl_usdt: float  # what wins and losses count
    exit_reason: str


@dataclass(frozen=True)
class PositionRow:
    account: str
    exchange: str
    symbol: str
    strategy: str
    quantity: float  # signed: > 0 long
    entry_price: float
    leverage: float
    opened_at: float

    @property
    def key(self) -> str:
        """The position's identity across polls: a re-opened symbol is a new position."""
        return f"{self.account}|{self.exchange}|{self.symbol}|{self.opened_at!r}"


@dataclass(frozen=True)
class EquitySample:
    ts: float
    equity_usdt: float
    balance_usdt: float
    unrealized_pnl_usdt: float
    drawdown_ratio: float


@dataclass(frozen=True)
class DailyRow:
    day: str
    equity_start_usdt: float
    equity_end_usdt: float
    pnl_usdt: float
    realized_pnl_usdt: float
    fees_usdt: float
    funding_usdt: float
    transfers_usdt: float
    trades: int
    wins: int
    losses: int
    max_drawdown_ratio: float
    halted_seconds: float
    closed: bool


@dataclass(frozen=True)
class DailyMark:
    day: str
    exchange: str
    symbol: str
    open_price: float
    close_price: float


def _rows(cursor: sqlite3.Cursor, cls):
    return [cls(*row) for row in cursor.fetchall()]


class JournalView:
    """Queries inside one read transaction (see ``Journal.read``)."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection

    def meta(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT key, value FROM meta").fetchall())

    def accounts(self) -> list[AccountRow]:
        return _rows(self._db.execute(
            "SELECT name, kind, exchange, created_at, initial_equity_usdt, balance_usdt, equity_usdt, "
            "high_water_mark_usdt, realized_pnl_usdt, fees_usdt, funding_usdt, halted, halt_reason, paused, "
            "updated_at FROM accounts ORDER BY name"), AccountRow)

    def account(self, name: str) -> AccountRow | None:
        return next((a for a in self.accounts() if a.name == name), None)

    def trades(self, account: str, start: float, end: float) -> list[TradeRow]:
        """Round trips closed in [start, end), oldest first."""
        return _rows(self._db.execute(
            f"SELECT {_TRADE_COLUMNS} FROM trades WHERE account = ? AND closed_at >= ? AND closed_at < ? "
            "ORDER BY closed_at, id", (account, start, end)), TradeRow)

    def trades_after(self, trade_id: int) -> list[TradeRow]:
        """Every account's trades with an id above ``trade_id`` (the notifications' cursor)."""
        return _rows(self._db.execute(f"SELECT {_TRADE_COLUMNS} FROM trades WHERE id > ? ORDER BY id",
                                      (trade_id,)), TradeRow)

    def last_trade_id(self) -> int:
        return int(self._db.execute("SELECT COALESCE(MAX(id), 0) FROM trades").fetchone()[0])

    def positions(self) -> list[PositionRow]:
        return _rows(self._db.execute(
            "SELECT account, exchange, symbol, strategy, quantity, entry_price, leverage, opened_at FROM positions "
            "ORDER BY account, opened_at, exchange, symbol"), PositionRow)

    def equity_samples(self, account: str, start: float, end: float) -> list[EquitySample]:
        return _rows(self._db.execute(
            "SELECT ts, equity_usdt, balance_usdt, unrealized_pnl_usdt, drawdown_ratio FROM equity_samples "
            "WHERE account = ? AND ts >= ? AND ts < ? ORDER BY ts", (account, start, end)), EquitySample)

    def last_sample_before(self, account: str, ts: float) -> EquitySample | None:
        row = self._db.execute(
            "SELECT ts, equity_usdt, balance_usdt, unrealized_pnl_usdt, drawdown_ratio FROM equity_samples "
            "WHERE account = ? AND ts < ? ORDER BY ts DESC LIMIT 1", (account, ts)).fetchone()
        return EquitySample(*row) if row else None

    def peak_equity_before(self, account: str, ts: float) -> float | None:
        """The highest equity sampled before ``ts``: where a period's drawdown is measured from."""
        row = self._db.execute("SELECT MAX(equity_usdt) FROM equity_samples WHERE account = ? AND ts < ?",
                               (account, ts)).fetchone()
        return row[0]

    def daily(self, account: str, last_day: str) -> list[DailyRow]:
        """Every daily row of ``account`` up to ``last_day`` included, oldest first."""
        return _rows(self._db.execute(
            "SELECT day, equity_start_usdt, equity_end_usdt, pnl_usdt, realized_pnl_usdt, fees_usdt, funding_usdt, "
            "transfers_usdt, trades, wins, losses, max_drawdown_ratio, halted_seconds, closed FROM daily "
            "WHERE account = ? AND day <= ? ORDER BY day", (account, last_day)), DailyRow)

    def benchmark_marks(self, last_day: str, symbol: str = BENCHMARK_SYMBOL) -> list[DailyMark]:
        """Daily marks of ``symbol`` up to ``last_day``, one exchange for all (binance preferred)."""
        rows = _rows(self._db.execute(
            "SELECT day, exchange, symbol, open_price, close_price FROM daily_marks WHERE symbol = ? AND day <= ? "
            "ORDER BY day", (symbol, last_day)), DailyMark)
        exchanges = sorted({r.exchange for r in rows}, key=lambda e: (e != _PREFERRED_EXCHANGE, e))
        return [r for r in rows if exchanges and r.exchange == exchanges[0]]


_TRADE_COLUMNS = ("id, account, exchange, symbol, strategy, side, quantity, entry_price, exit_price, opened_at, "
                  "closed_at, holding_seconds, pnl_usdt, fees_usdt, funding_usdt, net_pnl_usdt, exit_reason")


def _is_readonly_open_failure(error: sqlite3.Error) -> bool:
    text = str(error).lower()
    return "readonly" in text or "read-only" in text or "unable to open" in text


class Journal:
    """The journal of the trader whose ``--state-dir`` is ``state_dir``."""

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / JOURNAL_FILE

    def _connect(self, immutable: bool) -> sqlite3.Connection:
        query = "mode=ro&immutable=1" if immutable else "mode=ro"
        connection = sqlite3.connect(f"file:{quote(str(self.path.resolve()))}?{query}", uri=True,
                                     isolation_level=None, check_same_thread=False)
        try:
            connection.execute("PRAGMA query_only=1")
            version = connection.execute("PRAGMA user_version").fetchone()[0]
        except BaseException:
            connection.close()
            raise
        if version not in READABLE_VERSIONS:
            connection.close()
            hint = ("no schema yet: is this the trader's journal, and has the trader started?" if version == 0 else
                    f"this reports service reads up to version {SCHEMA_VERSION}: update it to the trader's version")
            raise ReportsError(f"journal {self.path} has schema version {version}, expected 1 to {SCHEMA_VERSION} "
                               f"({hint})")
        return connection

    def _check_file(self) -> None:
        if not self.path.exists():
            raise JournalMissing(f"journal {self.path} does not exist yet: expected the trader's journal "
                                 f"(--state-dir of the trader)")
        if not self.path.is_file():
            raise ReportsError(f"journal {self.path} is not a file: expected the trader's SQLite journal")

    def _fingerprint(self) -> tuple[int, int, bool]:
        stat = self.path.stat()
        return stat.st_size, stat.st_mtime_ns, Path(f"{self.path}-wal").exists()

    @contextmanager
    def read(self) -> Iterator[JournalView]:
        """A consistent read of the journal; ReportsError when it cannot be read."""
        self._check_file()
        immutable = False
        try:
            try:
                connection = self._connect(immutable=False)
            except sqlite3.OperationalError as error:
                # A read-only directory, the trader stopped cleanly (no -wal/-shm to share): see the docstring.
                if not (_is_readonly_open_failure(error) and not Path(f"{self.path}-wal").exists()):
                    raise
                before, immutable = self._fingerprint(), True
                connection = self._connect(immutable=True)
        except sqlite3.DatabaseError as error:
            raise ReportsError(f"journal {self.path} cannot be read ({error}): expected the trader's SQLite "
                               "journal, readable by this user") from None
        try:
            connection.execute("BEGIN")
            yield JournalView(connection)
            connection.execute("COMMIT")
        except sqlite3.DatabaseError as error:
            raise ReportsError(f"journal {self.path} cannot be read ({error}): expected the trader's SQLite "
                               "journal (corrupt, or not a version it knows?)") from None
        finally:
            connection.close()
        if immutable and self._fingerprint() != before:
            # The trader started and wrote while we read the file as immutable: what we read may mix moments.
            raise _ChangedWhileRead(f"journal {self.path} changed while it was read as immutable")

    def query(self, work: Callable[[JournalView], T]) -> T:
        """``work(view)`` inside one consistent read, read again if the trader wrote meanwhile."""
        for _ in range(3):
            try:
                with self.read() as view:
                    return work(view)
            except _ChangedWhileRead:
                continue
        raise ReportsError(f"journal {self.path} kept changing while read as immutable: expected the trader "
                           "either running (with its -wal file) or stopped")
