"""Every bounded vocabulary of the trading core, written once: the values events carry and
metric labels take.

Each vocabulary is a ``Literal`` type (what type checkers and the events use) and the tuple of
its values in a fixed order (what code iterates over: the exporters create one zero-valued
series per value before the first event). The tuple is read off the type, so the two cannot
drift. The events, the broker, the risk gate, the feeds, the anomaly detector and the exporters
import from here; PromQL reads the classification of rejections from a recording rule that a
test keeps equal to ``PLACEMENT_FAILURE_REASONS`` (prometheus/rules/execution.yml).

    >>> SIDES
    ('buy', 'sell')
    >>> set(PLACEMENT_FAILURE_REASONS) < set(REJECT_REASONS)
    True
    >>> "okx" in EXCHANGES  # the names of the registrations in trader/exchanges.py
    True
"""

from __future__ import annotations

from typing import Literal, get_args

from trader.exchanges import exchange_names

__all__ = [
    "Side", "SIDES", "OrderType", "ORDER_TYPES", "OrderStatus", "ORDER_STATUSES", "Liquidity", "LIQUIDITIES",
    "RejectReason", "REJECT_REASONS", "PLACEMENT_FAILURE_REASONS", "RiskRefusalReason", "RISK_REFUSAL_REASONS",
    "FeedRejectReason", "FEED_REJECT_REASONS", "FeedState", "FEED_STATES", "AnomalyReason", "ANOMALY_REASONS",
    "TradeOutcome", "TRADE_OUTCOMES", "ApiStatus", "API_STATUSES", "VarMethod", "VAR_METHODS",
    "ORDER_ENDPOINTS", "FeedKind", "FEED_KINDS", "EXCHANGES", "MarketKey", "ExitReason", "EXIT_REASONS",
    "AccountKind", "ACCOUNT_KINDS", "ApiErrorReason", "API_ERROR_REASONS", "Condition", "CONDITIONS",
]

# (exchange, symbol): the key of every per-market figure (positions, books, marks, volumes).
MarketKey = tuple[str, str]

Side = Literal["buy", "sell"]  # of an order, a fill, a signal; of a trade, the aggressor's
SIDES: tuple[Side, ...] = get_args(Side)

OrderType = Literal["market", "limit", "post_only", "stop"]
ORDER_TYPES: tuple[OrderType, ...] = get_args(OrderType)

# What the broker counts per order: every order is submitted, then ends filled, rejected or canceled.
OrderStatus = Literal["submitted", "filled", "rejected", "canceled"]
ORDER_STATUSES: tuple[OrderStatus, ...] = get_args(OrderStatus)

Liquidity = Literal["maker", "taker"]
LIQUIDITIES: tuple[Liquidity, ...] = get_args(Liquidity)

# Why the broker rejects an order. Real placement failures, which a user must hear about:
# ``api_error`` (the exchange API failed the request) and ``insufficient_margin`` (the account
# cannot fund the order). Benign, the order type doing its job: ``reduce_only`` (a reduce-only
# exit whose position is already gone) and ``post_only_would_take`` (a post-only order refused
# because it would cross the book).
RejectReason = Literal["api_error", "insufficient_margin", "reduce_only", "post_only_would_take"]
REJECT_REASONS: tuple[RejectReason, ...] = get_args(RejectReason)
PLACEMENT_FAILURE_REASONS: tuple[RejectReason, ...] = ("api_error", "insufficient_margin")

# Why the risk gate refused a new order before the broker (trader/limits.py, in check order);
# ``paused``: an operator paused the account's new entries (trader/control.py).
RiskRefusalReason = Literal["paused", "max_drawdown", "daily_loss", "var", "leverage", "position_size",
                            "open_positions", "margin"]
RISK_REFUSAL_REASONS: tuple[RiskRefusalReason, ...] = get_args(RiskRefusalReason)

# What the trader watches so alert latency can be measured from the moment it holds inside the
# trader (trader/conditions.py): drawdown over the alert's limit, trading halted, a position
# within the liquidation limit.
Condition = Literal["drawdown", "halted", "liquidation_distance"]
CONDITIONS: tuple[Condition, ...] = get_args(Condition)

# Why a feed dropped a market-data message (trader/feeds/base.py says what each one means).
FeedRejectReason = Literal["parse_error", "schema", "invalid_value"]
FEED_REJECT_REASONS: tuple[FeedRejectReason, ...] = get_args(FeedRejectReason)

FeedState = Literal["connecting", "connected", "backoff", "stopped"]
FEED_STATES: tuple[FeedState, ...] = get_args(FeedState)

# The anomaly detector's checks (trader/anomalies.py).
AnomalyReason = Literal["zscore", "price_change", "volume_spike", "price_spike"]
ANOMALY_REASONS: tuple[AnomalyReason, ...] = get_args(AnomalyReason)

TradeOutcome = Literal["win", "loss"]  # of a closed round trip, after its fees
TRADE_OUTCOMES: tuple[TradeOutcome, ...] = get_args(TradeOutcome)

# Why a round trip ended (the journal's trades.exit_reason, docs/journal.md): the strategy's own
# exit, its stop-loss or take-profit order, a forced liquidation, an operator's close, or an
# exchange account's trade the trader did not make.
ExitReason = Literal["signal", "stop", "take_profit", "liquidation", "manual", "external"]
EXIT_REASONS: tuple[ExitReason, ...] = get_args(ExitReason)

ApiStatus = Literal["ok", "error"]
API_STATUSES: tuple[ApiStatus, ...] = get_args(ApiStatus)

VarMethod = Literal["historical", "parametric"]  # trader/risk.py
VAR_METHODS: tuple[VarMethod, ...] = get_args(VarMethod)

# The simulated order API's endpoints (an ``endpoint`` label value beside the feeds' REST calls).
ORDER_ENDPOINTS = ("order", "cancel")

# Where market data comes from: live public WebSockets, the simulator, or a recording.
FeedKind = Literal["live", "sim", "replay"]
FEED_KINDS: tuple[FeedKind, ...] = get_args(FeedKind)

# The exchanges the trader speaks to: the names of the registrations in trader/exchanges.py.
EXCHANGES: tuple[str, ...] = exchange_names()

# What kind of account: the paper broker's, or a real exchange account watched through read-only
# keys (trader/accounts/), which the trader never trades on.
AccountKind = Literal["paper", "exchange"]
ACCOUNT_KINDS: tuple[AccountKind, ...] = get_args(AccountKind)

# Why a request to an exchange account's API failed (trader/accounts/errors.py says how each is
# recognised): the key was refused (``auth``), the exchange refuses this region or IP (``region``),
# too many requests (``rate_limited``), our clock is off (``timestamp``), the exchange failed
# (``server``), no answer in time (``timeout``), an answer we cannot read (``malformed``), no
# connection (``network``).
ApiErrorReason = Literal["auth", "region", "rate_limited", "timestamp", "server", "timeout", "malformed", "network"]
API_ERROR_REASONS: tuple[ApiErrorReason, ...] = get_args(ApiErrorReason)
