"""Typed events the trading core publishes on its bus.

Every event is immutable, with a ``ts`` in epoch seconds (the exchange's time where the
exchange gives one, else the local clock). Subscribers (strategies, the portfolio, the exporters)
receive the same objects; nothing downstream may mutate them.

High-frequency figures (messages read, anomaly checks) are counted in the state that
``Trader.snapshot()`` returns instead of being published one event per message. The three
events published per market message (``Trade``, ``Quote``, ``DepthUpdate``) are NamedTuples:
as immutable as a frozen dataclass and five times cheaper to build, which is worth about 7 %
of a max-speed replay; the rest are frozen dataclasses.

    >>> from trader.bus import EventBus
    >>> bus = EventBus()
    >>> seen = []
    >>> bus.subscribe(Trade, seen.append)
    >>> bus.publish(Trade("binance", "BTCUSDT", 1.0, 1.0, 60000.0, 0.01, "buy"))
    >>> seen[0].price
    60000.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from trader.vocabulary import (AnomalyReason, Condition, ExitReason, FeedRejectReason, Liquidity, OrderType, RejectReason,
                               RiskRefusalReason, Side)

__all__ = [
    "Trade", "Quote", "DepthUpdate", "MarkPrice", "MarketLiquidation",
    "FeedConnected", "FeedDisconnected", "FeedResynced", "MessageRejected", "ApiRequest",
    "Anomaly", "Signal",
    "OrderSubmitted", "OrderAccepted", "OrderFilled", "OrderRejected", "OrderCanceled",
    "RiskRefused", "RoundTrip", "PositionClosed", "PositionLiquidated", "FundingPaid",
    "DrillStarted", "DrillEnded", "ConditionFirstHeld",
]


# --- market data -------------------------------------------------------------------------


class Trade(NamedTuple):
    exchange: str
    symbol: str
    ts: float
    recv_ts: float
    price: float
    quantity: float
    side: Side  # the aggressor's side


class Quote(NamedTuple):
    """Best bid and ask (Binance bookTicker, Bybit/OKX tickers)."""

    exchange: str
    symbol: str
    ts: float
    recv_ts: float
    bid: float
    bid_quantity: float
    ask: float
    ask_quantity: float


class DepthUpdate(NamedTuple):
    """The order book of ``symbol`` changed; the book itself lives in ``MarketState``."""

    exchange: str
    symbol: str
    ts: float
    recv_ts: float


@dataclass(frozen=True, slots=True)
class MarkPrice:
    exchange: str
    symbol: str
    ts: float
    mark_price: float
    index_price: float | None
    funding_rate: float | None  # per funding interval, e.g. 0.0001 = 0.01 % per 8 h
    next_funding_ts: float | None


@dataclass(frozen=True, slots=True)
class MarketLiquidation:
    """A forced liquidation on the exchange, as the exchange publishes it (not ours)."""

    exchange: str
    symbol: str
    ts: float
    side: Side
    price: float
    quantity: float


# --- feed health -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FeedConnected:
    exchange: str
    ts: float


@dataclass(frozen=True, slots=True)
class FeedDisconnected:
    exchange: str
    ts: float
    reason: str  # one line, no secrets: "server closed (1001)", "HTTP 451", "heartbeat timeout"


@dataclass(frozen=True, slots=True)
class FeedResynced:
    """The book was rebuilt from a snapshot after a sequence gap (Binance ``pu`` != last ``u``)."""

    exchange: str
    symbol: str
    ts: float
    reason: str


@dataclass(frozen=True, slots=True)
class MessageRejected:
    exchange: str
    ts: float
    reason: FeedRejectReason
    detail: str  # short, for the log line; never the whole message


@dataclass(frozen=True, slots=True)
class ApiRequest:
    """One request to an exchange's API (real REST for feeds, simulated for the paper broker)."""

    exchange: str
    endpoint: str  # bounded: "order", "cancel", "depth_snapshot", "exchange_info", ...
    ts: float
    duration: float  # seconds
    ok: bool
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Anomaly:
    exchange: str
    symbol: str
    ts: float
    reason: AnomalyReason
    value: float
    threshold: float


# --- strategies, orders and positions ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Signal:
    account: str
    strategy: str
    exchange: str
    symbol: str
    ts: float
    side: Side
    strength: float


@dataclass(frozen=True, slots=True)
class OrderSubmitted:
    order_id: str
    account: str
    strategy: str
    exchange: str
    symbol: str
    ts: float
    side: Side
    order_type: OrderType
    quantity: float
    price: float | None  # limit or stop price; None for market orders
    reduce_only: bool
    mid_price: float | None  # the mid at submission, the reference for slippage


@dataclass(frozen=True, slots=True)
class OrderAccepted:
    order_id: str
    account: str
    exchange: str
    symbol: str
    ts: float
    latency: float  # seconds from submission to acknowledgement


@dataclass(frozen=True, slots=True)
class OrderFilled:
    order_id: str
    account: str
    strategy: str
    exchange: str
    symbol: str
    ts: float
    side: Side
    order_type: OrderType
    price: float
    quantity: float
    fee: float  # USDT, positive = paid
    liquidity: Liquidity
    slippage_bps: float | None  # adverse slippage vs. the mid when it became a taker (submission; a stop: its trigger); None for maker fills
    remaining: float  # quantity still open; 0 when the order is complete


@dataclass(frozen=True, slots=True)
class OrderRejected:
    order_id: str
    account: str
    exchange: str
    symbol: str
    ts: float
    order_type: OrderType
    reason: RejectReason


@dataclass(frozen=True, slots=True)
class OrderCanceled:
    order_id: str
    account: str
    exchange: str
    symbol: str
    ts: float
    order_type: OrderType
    reason: str


@dataclass(frozen=True, slots=True)
class RiskRefused:
    """A risk limit refused a new order before it reached the broker."""

    account: str
    strategy: str
    exchange: str
    symbol: str
    ts: float
    reason: RiskRefusalReason
    detail: str


@dataclass(frozen=True, slots=True)
class RoundTrip:
    """A closed position from open to close, as the journal's trades table keeps it (docs/journal.md)."""

    strategy: str
    realized_pnl: float  # net, USDT: trading PnL - fees + funding; > 0 is a win
    held_seconds: float
    exchange: str = ""
    symbol: str = ""
    side: str = "long"  # 'long' | 'short'
    quantity: float = 0.0  # the largest absolute size held
    entry_price: float = 0.0  # volume-weighted
    exit_price: float = 0.0  # volume-weighted
    opened_at: float = 0.0
    closed_at: float = 0.0
    pnl: float = 0.0  # trading PnL before fees and funding
    fees: float = 0.0
    funding: float = 0.0
    external_id: str | None = None  # an exchange account's trade id; None for paper trades


@dataclass(frozen=True, slots=True)
class PositionClosed:
    account: str
    strategy: str
    exchange: str
    symbol: str
    ts: float
    realized_pnl: float  # USDT, net of the round trip: trading PnL - fees + funding (> 0 is a win)
    held_seconds: float
    exit_reason: ExitReason = "signal"
    trade: RoundTrip | None = None  # the whole round trip


@dataclass(frozen=True, slots=True)
class PositionLiquidated:
    account: str
    exchange: str
    symbol: str
    ts: float
    price: float
    quantity: float
    loss: float  # USDT, positive


@dataclass(frozen=True, slots=True)
class FundingPaid:
    account: str
    exchange: str
    symbol: str
    ts: float
    rate: float
    amount: float  # USDT received (positive) or paid (negative)


# --- drills ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DrillStarted:
    drill: str
    ts: float


@dataclass(frozen=True, slots=True)
class DrillEnded:
    drill: str
    ts: float


# --- alert conditions --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConditionFirstHeld:
    """A watched condition (``trader.conditions``) started to hold: the moment an alert on it
    can at the earliest be seen. Published once per episode; the condition must clear first."""

    account: str
    condition: Condition
    ts: float  # the trader's clock when it first saw the condition hold
    value: float  # the drawdown or liquidation distance (ratio), 1.0 for a halt
    threshold: float  # the limit it crossed (0.0 for a halt)
