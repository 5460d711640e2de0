"""The read-only state of a running trader, as ``Trader.snapshot()`` returns it.

A snapshot is a tree of frozen dataclasses built on demand (a scrape, a test, ``/readyz``); it
holds plain numbers and never references live objects, so a reader cannot change the trader.
A figure that does not exist yet is ``None`` (no Sharpe before enough returns, no liquidation
distance without a position), never 0 or NaN.

Counters are cumulative since start, keyed by tuples whose order the field comment gives.

A field added later comes last, with a default (``None`` for a figure, an empty mapping for
counters), so code and test fixtures that build snapshots by hand keep working. A per-account
figure the exporters publish names its field here (``reads=`` in ``exporters/trading.py`` or
``exporters/risk.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

__all__ = [
    "RiskLimitsSnapshot", "PositionSnapshot", "StrategySnapshot", "AccountSnapshot", "AccountWatchSnapshot",
    "FeedSnapshot", "MarketSnapshot", "TraderSnapshot",
]


@dataclass(frozen=True, slots=True)
class RiskLimitsSnapshot:
    max_drawdown_ratio: float
    daily_loss_ratio: float
    var_usdt: float
    max_leverage: float
    max_position_usdt: float
    max_open_positions: int


@dataclass(frozen=True, slots=True)
class PositionSnapshot:
    exchange: str
    symbol: str
    strategy: str
    quantity: float  # signed: > 0 long, < 0 short
    entry_price: float
    mark_price: float
    notional_usdt: float  # abs(quantity) * mark_price
    unrealized_pnl_usdt: float
    margin_usdt: float  # isolated margin held by the position
    leverage: float
    liquidation_price: float | None  # None: the exchange reports none (enough collateral)
    liquidation_distance_ratio: float | None  # abs(mark - liquidation) / mark; None without a liquidation price
    opened_at: float
    age_seconds: float


@dataclass(frozen=True, slots=True)
class StrategySnapshot:
    name: str
    pnl_usdt: float
    sharpe_30d: float | None
    signals: Mapping[str, int]  # side -> count
    wins: int
    losses: int
    # (exchange, symbol) -> epoch seconds of the last evaluation (a bar sampled); empty until one.
    last_evaluation_ts: Mapping[tuple[str, str], float] = field(default_factory=dict)
    last_order_ts: float | None = None  # the last order it placed; its start before the first; None: not a strategy's


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    name: str
    equity_usdt: float
    balance_usdt: float
    initial_equity_usdt: float
    high_water_mark_usdt: float
    day_start_equity_usdt: float
    daily_pnl_usdt: float
    realized_pnl_usdt: float
    unrealized_pnl_usdt: float
    funding_pnl_usdt: float
    commission_usdt: Mapping[str, float]  # exchange -> cumulative fees paid
    drawdown_ratio: float
    max_drawdown_ratio: float
    var_usdt: Mapping[str, float]  # method ("historical", "parametric") -> 1-day 99 % VaR; empty until enough returns
    cvar_usdt: Mapping[str, float]
    sharpe_30d: float | None
    sortino_30d: float | None
    profit_factor: float | None
    win_rate: float | None
    leverage: float
    notional_usdt: float
    margin_used_usdt: float
    margin_free_usdt: float
    correlation_max: float | None
    trading_halted: bool
    limits: RiskLimitsSnapshot | None  # None for exchange accounts: the trader enforces no limit on them
    positions: tuple[PositionSnapshot, ...]
    strategies: tuple[StrategySnapshot, ...]
    orders: Mapping[tuple[str, str, str, str], int]  # (exchange, symbol, side, status) -> count
    orders_by_type: Mapping[tuple[str, str, str], int]  # (exchange, order_type, status) -> count
    volume_usdt: Mapping[tuple[str, str], float]  # (exchange, symbol) -> filled notional
    risk_refusals: Mapping[str, int]  # reason -> count
    liquidations: Mapping[tuple[str, str], int]  # (exchange, symbol) -> count
    rejections: Mapping[tuple[str, str], int]  # (exchange, reason) -> count; reasons: vocabulary.REJECT_REASONS
    # Exchange accounts (trader/accounts/): read-only, watched through the exchange's API; their
    # health (staleness, rate limits) is in TraderSnapshot.account_watch.
    kind: str = "paper"  # vocabulary.ACCOUNT_KINDS
    exchange: str | None = None  # the exchange an exchange account lives on; None for paper accounts
    margin_ratio: float | None = None  # maintenance margin / margin balance (1 = liquidation); None for paper
    paused: bool = False  # an operator pause (no new entries); exchange accounts are never paused


@dataclass(frozen=True, slots=True)
class AccountWatchSnapshot:
    """How the watch of one exchange account goes. Present from start, before the first read (whose
    figures only then join ``TraderSnapshot.accounts``)."""

    account: str
    exchange: str
    state: str  # "verifying" (asking what the key may do), "watching", "backoff", "refused" (a key that can withdraw)
    last_success_ts: float  # the last complete read; before the first one, when watching began
    rate_limit_usage_ratio: float | None  # the exchange's own rate-limit usage, 0..1, as last reported
    last_error: str | None  # the bounded reason of the last failure (vocabulary.API_ERROR_REASONS)
    key_can_trade: bool | None  # what the exchange said the key may do; None until asked


@dataclass(frozen=True, slots=True)
class FeedSnapshot:
    exchange: str
    state: str  # "connecting", "connected", "backoff", "stopped"
    connected: bool
    connected_since: float | None
    reconnects: int
    messages: int
    rejected: Mapping[str, int]  # reason -> count
    sequence_gaps: Mapping[str, int]  # symbol -> count
    last_error: str | None


@dataclass(frozen=True, slots=True)
class MarketSnapshot:
    exchange: str
    symbol: str
    last_message_ts: float | None  # local receive time of the last message for this symbol
    best_bid: float | None
    best_ask: float | None
    mark_price: float | None
    funding_rate: float | None
    anomaly_checks: int
    anomalies: Mapping[str, int]  # reason -> count
    liquidations: Mapping[str, int]  # side -> count (published by the exchange)


@dataclass(frozen=True, slots=True)
class TraderSnapshot:
    ts: float
    accounts: tuple[AccountSnapshot, ...]
    feeds: tuple[FeedSnapshot, ...]
    markets: tuple[MarketSnapshot, ...]
    api_requests: Mapping[tuple[str, str, str], int]  # (exchange, endpoint, "ok"|"error") -> count
    drills: Mapping[str, bool] = field(default_factory=dict)  # drill -> active
    # (exchange, endpoint, reason) -> failed requests; reasons: vocabulary.API_ERROR_REASONS
    api_errors: Mapping[tuple[str, str, str], int] = field(default_factory=dict)
    account_watch: tuple[AccountWatchSnapshot, ...] = ()  # one per exchange account
