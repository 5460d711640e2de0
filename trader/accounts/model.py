"""What an exchange account adapter reads, in the trader's own terms (USDT, base-asset units, Unix seconds).

Each adapter turns its exchange's wire fields into these frozen records; the watcher and the
account state never see a wire field. Ids (``id``) are the exchange's, prefixed where one
exchange has several id spaces, so a record read twice is counted once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

__all__ = ["KeyPermissions", "Balance", "Position", "Fill", "CashFlow", "ClosedPosition", "Liquidation",
           "AccountReading", "History", "HistorySince", "FLOW_KINDS", "OVERLAP_SECONDS"]

# Each history read starts this much before where the last one ended: records the exchange
# publishes late are read then; ids make a record read twice count once.
OVERLAP_SECONDS = 60.0

# What a cash flow is: realised trading PnL, a trading fee paid (> 0) or rebated (< 0), funding
# received (> 0) or paid (< 0), a transfer in (> 0) or out (< 0) of the account.
FLOW_KINDS = ("realized", "fee", "funding", "transfer")


@dataclass(frozen=True, slots=True)
class KeyPermissions:
    can_read: bool
    can_trade: bool
    can_withdraw: bool
    detail: str  # what the exchange said, in its words, for the log line (no secret in it)


@dataclass(frozen=True, slots=True)
class Balance:
    equity: float  # margin balance: wallet balance + unrealised PnL
    wallet_balance: float
    unrealized_pnl: float
    margin_used: float  # initial margin held by positions and open orders
    margin_free: float  # what the exchange says is available for new positions
    maintenance_margin: float
    margin_ratio: float | None  # maintenance margin / margin balance; 1 = liquidation


@dataclass(frozen=True, slots=True)
class Position:
    symbol: str  # the trader's name: BTCUSDT
    quantity: float  # base-asset units, signed: > 0 long
    entry_price: float
    mark_price: float
    liquidation_price: float | None  # None: the exchange reports none (enough collateral)
    unrealized_pnl: float
    margin: float  # initial margin of the position
    leverage: float
    opened_at: float | None  # None: the exchange does not say (the watcher uses when it first saw it)


@dataclass(frozen=True, slots=True)
class Fill:
    id: str
    symbol: str
    quantity: float  # signed: > 0 bought
    price: float
    notional: float  # abs(quantity) * price, in USDT
    fee: float  # > 0 paid
    realized_pnl: float  # trading PnL this fill closed, before fees
    order_id: str
    ts: float


@dataclass(frozen=True, slots=True)
class CashFlow:
    id: str
    kind: str  # FLOW_KINDS
    amount: float
    symbol: str | None
    ts: float


@dataclass(frozen=True, slots=True)
class ClosedPosition:
    """A round trip the exchange (or the fills) says is over: what the journal's ``trades`` holds."""

    id: str  # the exchange's id of the close: the journal's external_id
    symbol: str
    side: str  # "long" | "short"
    quantity: float  # the largest absolute size held
    entry_price: float
    exit_price: float
    opened_at: float
    closed_at: float
    pnl: float  # trading PnL before fees and funding
    fees: float
    funding: float
    net_pnl: float  # what a win or a loss counts: pnl - fees + funding
    liquidated: bool


@dataclass(frozen=True, slots=True)
class Liquidation:
    id: str
    symbol: str
    ts: float


@dataclass(frozen=True, slots=True)
class AccountReading:
    """One read of the account: its balance and every open position."""

    balance: Balance
    positions: tuple[Position, ...]


@dataclass(frozen=True, slots=True)
class History:
    """What happened since the last read of the history (possibly read again: ids dedupe)."""

    fills: tuple[Fill, ...] = ()
    flows: tuple[CashFlow, ...] = ()
    closed: tuple[ClosedPosition, ...] = ()
    liquidations: tuple[Liquidation, ...] = ()
    cursor: dict[str, float] = field(default_factory=dict)  # stream -> read up to (Unix seconds)


@dataclass(frozen=True, slots=True)
class HistorySince:
    """Where each history stream's next read starts: ``OVERLAP_SECONDS`` before its cursor, but
    never before watching began (nothing from before the watch is counted).

        >>> since = HistorySince({"income": 1_000.0, "bills": 920.0}, started_at=900.0)
        >>> since.start("income", now=1_010.0), since.start("bills", now=1_010.0), since.start("fills", now=1_010.0)
        (940.0, 900.0, 900.0)
    """

    cursor: Mapping[str, float]
    started_at: float

    def start(self, stream: str, now: float, max_lookback: float = 6.5 * 86_400) -> float:
        """Unix seconds; never further back than ``max_lookback`` (the exchange's window)."""
        cursor = self.cursor.get(stream)
        start = self.started_at if cursor is None else max(cursor - OVERLAP_SECONDS, self.started_at)
        return max(start, now - max_lookback)

    def until(self, stream: str) -> float:
        """How far the stream was read (the starting point of its new cursor)."""
        return self.cursor.get(stream, self.started_at)
