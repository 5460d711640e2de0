"""The journal's schema: versions in ``PRAGMA user_version``, migrated forward in one transaction.

``MIGRATIONS[i]`` takes a journal from version ``i`` to ``i + 1``; ``SCHEMA_VERSION`` is their
count. Version 1 is the contract's DDL (docs/journal.md), word for word; version 2 adds
``exchange_state`` (``V2_DDL``, also word for word in the contract). The next version is one
function appended to the list::

    def _v3(conn):
        conn.execute("ALTER TABLE trades ADD COLUMN order_id TEXT")

    MIGRATIONS = (_v1, _v2, _v3)

``migrate()`` runs the missing steps and sets ``user_version`` inside one ``BEGIN IMMEDIATE``
transaction: a step that fails leaves the file exactly as it was.

    >>> import sqlite3
    >>> conn = sqlite3.connect(":memory:", isolation_level=None)
    >>> migrate(conn, "memory")
    (0, 2)
    >>> conn.execute("PRAGMA user_version").fetchone()[0], len(table_names(conn))
    (2, 10)
"""

from __future__ import annotations

import sqlite3
from typing import Callable, Sequence

__all__ = ["V1_DDL", "V2_DDL", "MIGRATIONS", "SCHEMA_VERSION", "Migration", "migrate", "check_version", "table_names",
           "SchemaError"]

Migration = Callable[[sqlite3.Connection], None]


class SchemaError(Exception):
    """A journal whose version this trader cannot use; ``str()`` is one line."""


# The contract's version-1 schema (docs/journal.md); readers rely on every name and meaning here.
V1_DDL = """
-- Facts about this journal: 'trader' (the trader's name, as on its series), 'created_at'.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- One row per account, updated in place: the state a restart resumes from.
CREATE TABLE accounts (
    name                  TEXT PRIMARY KEY,
    kind                  TEXT NOT NULL CHECK (kind IN ('paper', 'exchange')),
    exchange              TEXT,               -- exchange accounts: binance, bybit, okx; NULL for paper
    created_at            REAL NOT NULL,
    initial_equity_usdt   REAL NOT NULL,      -- paper: the configured balance; exchange: equity when first seen
    balance_usdt          REAL NOT NULL,      -- wallet balance (paper: initial + realised - fees + funding)
    equity_usdt           REAL NOT NULL,      -- at updated_at
    high_water_mark_usdt  REAL NOT NULL,
    max_drawdown_ratio    REAL NOT NULL,
    day                   TEXT NOT NULL,      -- the UTC day day_start_equity_usdt belongs to
    day_start_equity_usdt REAL NOT NULL,
    realized_pnl_usdt     REAL NOT NULL,      -- cumulative trading PnL of closed quantity, before fees/funding
    fees_usdt             REAL NOT NULL,      -- cumulative commissions paid
    funding_usdt          REAL NOT NULL,      -- cumulative funding (received > 0, paid < 0)
    halted                INTEGER NOT NULL DEFAULT 0,  -- 1 while a risk halt stops new entries
    halt_reason           TEXT,               -- 'max_drawdown' | 'daily_loss' (the risk refusal vocabulary)
    halted_at             REAL,
    halt_day              TEXT,               -- daily-loss halts lift at the next UTC day; drawdown halts only by resume
    paused                INTEGER NOT NULL DEFAULT 0,  -- 1 while an operator pause stops new entries
    paused_at             REAL,
    paused_by             TEXT,
    updated_at            REAL NOT NULL
);

-- Open positions (one-way mode: one per account, exchange and symbol). Deleted when closed.
CREATE TABLE positions (
    account      TEXT NOT NULL REFERENCES accounts(name),
    exchange     TEXT NOT NULL,
    symbol       TEXT NOT NULL,
    strategy     TEXT NOT NULL,               -- 'external' for exchange accounts' own positions
    quantity     REAL NOT NULL,               -- signed: > 0 long, < 0 short
    entry_price  REAL NOT NULL,
    margin_usdt  REAL NOT NULL,               -- isolated margin held
    leverage     REAL NOT NULL,
    opened_at    REAL NOT NULL,
    fees_usdt    REAL NOT NULL DEFAULT 0,     -- fees paid so far over the position's life
    funding_usdt REAL NOT NULL DEFAULT 0,     -- funding so far
    realized_usdt REAL NOT NULL DEFAULT 0,    -- trading PnL of quantity already closed
    liquidation_price REAL,                   -- exchange accounts: as the exchange reports it
    updated_at   REAL NOT NULL,
    PRIMARY KEY (account, exchange, symbol)
);

-- Resting orders of paper accounts (limit, post-only, stop, take-profit). Deleted when done.
CREATE TABLE orders (
    account     TEXT NOT NULL REFERENCES accounts(name),
    order_id    TEXT NOT NULL,
    exchange    TEXT NOT NULL,
    symbol      TEXT NOT NULL,
    strategy    TEXT NOT NULL,
    side        TEXT NOT NULL,                -- 'buy' | 'sell'
    order_type  TEXT NOT NULL,                -- the order type vocabulary: market, limit, post_only, stop, ...
    quantity    REAL NOT NULL,                -- remaining, unsigned
    price       REAL,                         -- limit price, or the stop's trigger price
    reduce_only INTEGER NOT NULL DEFAULT 0,
    created_at  REAL NOT NULL,
    PRIMARY KEY (account, order_id)
);

-- Closed round trips, append-only. The source of win rate, profit factor, trade lists.
CREATE TABLE trades (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account       TEXT NOT NULL REFERENCES accounts(name),
    exchange      TEXT NOT NULL,
    symbol        TEXT NOT NULL,
    strategy      TEXT NOT NULL,
    side          TEXT NOT NULL CHECK (side IN ('long', 'short')),
    quantity      REAL NOT NULL,              -- the largest absolute size held, base units
    entry_price   REAL NOT NULL,              -- volume-weighted
    exit_price    REAL NOT NULL,              -- volume-weighted
    opened_at     REAL NOT NULL,
    closed_at     REAL NOT NULL,
    holding_seconds REAL NOT NULL,
    pnl_usdt      REAL NOT NULL,              -- trading PnL before fees and funding
    fees_usdt     REAL NOT NULL,
    funding_usdt  REAL NOT NULL,
    net_pnl_usdt  REAL NOT NULL,              -- pnl - fees + funding: what wins and losses count
    exit_reason   TEXT NOT NULL,              -- 'signal' | 'stop' | 'take_profit' | 'liquidation' | 'manual' | 'external'
    external_id   TEXT                        -- exchange accounts: the exchange's id, so a re-read adds no duplicate
);
CREATE INDEX trades_by_account_time ON trades (account, closed_at);
CREATE UNIQUE INDEX trades_external ON trades (account, external_id) WHERE external_id IS NOT NULL;

-- Equity every 60 s (and at every day roll): the equity curve of reports and charts.
CREATE TABLE equity_samples (
    account             TEXT NOT NULL REFERENCES accounts(name),
    ts                  REAL NOT NULL,
    equity_usdt         REAL NOT NULL,
    balance_usdt        REAL NOT NULL,
    unrealized_pnl_usdt REAL NOT NULL,
    drawdown_ratio      REAL NOT NULL,
    PRIMARY KEY (account, ts)
);

-- One row per account and UTC day; the current day is updated in place, closed at the roll.
CREATE TABLE daily (
    account            TEXT NOT NULL REFERENCES accounts(name),
    day                TEXT NOT NULL,
    equity_start_usdt  REAL NOT NULL,
    equity_end_usdt    REAL NOT NULL,         -- latest equity while the day is open
    pnl_usdt           REAL NOT NULL,         -- equity_end - equity_start - transfers
    realized_pnl_usdt  REAL NOT NULL,         -- of trades closed that day, before fees/funding
    fees_usdt          REAL NOT NULL,
    funding_usdt       REAL NOT NULL,
    transfers_usdt     REAL NOT NULL DEFAULT 0,  -- exchange accounts: net deposits (> 0) and withdrawals
    trades             INTEGER NOT NULL,
    wins               INTEGER NOT NULL,
    losses             INTEGER NOT NULL,
    max_drawdown_ratio REAL NOT NULL,         -- deepest drawdown from the high-water mark during the day
    halted_seconds     REAL NOT NULL DEFAULT 0,  -- time the account spent halted that day
    closed             INTEGER NOT NULL DEFAULT 0,  -- 1 once the day is over
    PRIMARY KEY (account, day)
);

-- Daily closing marks of every market the trader watched: the BTC buy-and-hold benchmark.
CREATE TABLE daily_marks (
    day      TEXT NOT NULL,
    exchange TEXT NOT NULL,
    symbol   TEXT NOT NULL,
    open_price  REAL NOT NULL,                -- first mark of the day seen
    close_price REAL NOT NULL,                -- latest mark of the day seen
    PRIMARY KEY (day, exchange, symbol)
);

-- Every explicit action on an account, with who asked: resume, pause, close, closeall, halt.
CREATE TABLE actions (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    ts      REAL NOT NULL,
    account TEXT NOT NULL,
    action  TEXT NOT NULL,                    -- 'halt' | 'resume' | 'pause' | 'unpause' | 'close' | 'closeall'
    actor   TEXT NOT NULL,                    -- 'risk', 'cli:<user>', 'chat:telegram:<user id>', 'control-api'
    detail  TEXT                              -- JSON: reason, symbol, ...
);
"""


def _v1(conn: sqlite3.Connection) -> None:
    """Version 1: the contract's tables. ``executescript`` would commit; run statement by statement."""
    for statement in _statements(V1_DDL):
        conn.execute(statement)


def _statements(script: str) -> list[str]:
    """The script's statements, comments kept (``sqlite3 .schema`` shows them)."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    return statements


# Version 2 (issue 14): what an exchange account's watch needs on restart that no contract table holds.
V2_DDL = """
-- Exchange accounts only: the watch's own memory, one row per account, updated in place with its
-- accounts row. Which of the exchange's ids (fills, fees, funding, transfers, closes) were already
-- counted, how far each history stream was read, round trips still open, the day-start time.
-- Readers need none of it: the figures are in accounts, daily, trades and equity_samples.
CREATE TABLE exchange_state (
    account    TEXT PRIMARY KEY REFERENCES accounts(name),
    state      TEXT NOT NULL,                 -- JSON: ExchangeAccountState.state_to_save()
    updated_at REAL NOT NULL
);
"""


def _v2(conn: sqlite3.Connection) -> None:
    """Version 2: ``exchange_state``; a version-1 file gains the table, its rows are untouched."""
    for statement in _statements(V2_DDL):
        conn.execute(statement)


MIGRATIONS: tuple[Migration, ...] = (_v1, _v2)
SCHEMA_VERSION = len(MIGRATIONS)


def table_names(conn: sqlite3.Connection) -> list[str]:
    return [row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]


def check_version(conn: sqlite3.Connection, where: str, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """The file's version, read only; raises ``SchemaError`` (``where`` names the file) for a newer
    version than this code knows, or for a file at version 0 that already holds tables: some
    other database, never overwritten."""
    target = len(migrations)
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > target:
        raise SchemaError(f"journal {where}: schema version {version} is newer than this trader's {target} "
                          "(run the trader version that wrote it, or a newer one)")
    if version == 0 and table_names(conn):
        raise SchemaError(f"journal {where}: not a trader journal (user_version 0 and tables "
                          f"{', '.join(table_names(conn))}); give another --state-dir")
    return version


def migrate(conn: sqlite3.Connection, where: str, migrations: Sequence[Migration] = MIGRATIONS) -> tuple[int, int]:
    """Bring the journal at ``conn`` (autocommit mode) to ``len(migrations)``; returns (from, to).
    Raises ``SchemaError`` as ``check_version`` does."""
    target = len(migrations)
    conn.execute("BEGIN IMMEDIATE")  # the write lock first: no other writer between read and write
    try:
        version = check_version(conn, where, migrations)
        for step in migrations[version:]:
            step(conn)
        if version != target:
            conn.execute(f"PRAGMA user_version = {int(target)}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return version, target
