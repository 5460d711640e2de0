"""Risk family: drawdown, VaR/CVaR, leverage, margin, liquidation distance, limits, refusals.

The configured limits are exported as gauges beside the figures they bound, so a rule or a panel
can compare ``trader_var_usdt`` with ``trader_limit_var_usdt`` without repeating the number.
No liquidation distance without a position, no correlation with fewer than two positions, no
VaR before enough returns. Usage: ``RiskCollector(trader.snapshot, registry=registry)``.

A per-account figure the snapshot holds as a field is one line of ``ACCOUNT_FIGURES``; the
collector's code below is for the labelled series only.
"""

from __future__ import annotations

from prometheus_client.registry import CollectorRegistry

from exporters.collector import Collector, SnapshotSource, group_positions, markets_of
from exporters.families import ACCOUNT_MARKET, MetricSpec, account_gauge, emit_account_figures, known_then_seen
from trader.bus import EventBus
from trader.events import ConditionFirstHeld
from trader.snapshot import TraderSnapshot
from trader.vocabulary import CONDITIONS, RISK_REFUSAL_REASONS, VAR_METHODS

__all__ = ["RiskCollector", "ConditionEvents", "ACCOUNT_FIGURES"]

# Per-account figures, each read from the AccountSnapshot field it names.
ACCOUNT_FIGURES: tuple[MetricSpec, ...] = (
    account_gauge("trader_drawdown_ratio", "Current drawdown below the high-water mark, 0..1.",
                  reads="drawdown_ratio", unit="ratio", requirement="current drawdown (000 > 15 %, 001 > 10 %)"),
    account_gauge("trader_max_drawdown_ratio", "Largest drawdown since start, 0..1.",
                  reads="max_drawdown_ratio", unit="ratio", requirement="max drawdown (001, 002, 004)"),
    account_gauge("trader_leverage", "Total position notional divided by equity.",
                  reads="leverage", unit="", requirement="leverage (001, 002)"),
    account_gauge("trader_notional_usdt", "Total absolute notional of open positions.",
                  reads="notional_usdt", unit="usdt", requirement="notional (001)"),
    account_gauge("trader_margin_used_usdt", "Margin held by open positions.",
                  reads="margin_used_usdt", unit="usdt", requirement="margin used (001)"),
    account_gauge("trader_margin_free_usdt", "Equity not held as margin.",
                  reads="margin_free_usdt", unit="usdt", requirement="margin free (001)"),
    account_gauge("trader_position_correlation_max",
                  "Largest pairwise correlation of the open positions' own returns (a short's: the price returns negated).",
                  reads="correlation_max", unit="", requirement="max pairwise correlation (001 > 0.8)",
                  absent="with fewer than two positions"),
    account_gauge("trader_limit_var_usdt", "Configured VaR limit.",
                  reads="limits.var_usdt", unit="usdt", requirement="VaR limit (001)"),
    account_gauge("trader_limit_max_drawdown_ratio", "Configured drawdown that halts trading.",
                  reads="limits.max_drawdown_ratio", unit="ratio", requirement="max drawdown limit (000, 001, 002)"),
    account_gauge("trader_limit_daily_loss_ratio",
                  "Configured daily loss, as a ratio of day-start equity, that halts trading.",
                  reads="limits.daily_loss_ratio", unit="ratio", requirement="daily loss limit (000 -5 %, 002)"),
    account_gauge("trader_limit_leverage", "Configured maximum leverage.",
                  reads="limits.max_leverage", unit="", requirement="leverage limit (001, 002)"),
    account_gauge("trader_limit_open_positions", "Configured maximum number of open positions.",
                  reads="limits.max_open_positions", unit="", requirement="open positions limit (002)"),
    account_gauge("trader_trading_halted", "1 while a hard limit stops new orders, else 0.",
                  reads="trading_halted", unit="", requirement="daily loss limit reached (002)"),
    account_gauge("trader_account_paused", "1 while an operator has paused the account (no new entries), else 0.",
                  reads="paused", unit="", requirement="paused: alive but not trading on purpose (issue 13)"),
    account_gauge("trader_margin_ratio",
                  "Maintenance margin / margin balance, as the exchange computes it; 1 = liquidation.",
                  reads="margin_ratio", unit="ratio", requirement="margin ratio of an exchange account (issue 14)",
                  absent="for paper accounts (isolated margin: see the liquidation distance)"),
)

VAR = account_gauge("trader_var_usdt", "1-day 99 % value at risk (a positive loss).", ("account", "method"),
                    unit="usdt", requirement="VaR daily with limit (001 VaR > limit, 002)",
                    series=f"A*{len(VAR_METHODS)}", absent="until enough returns")
CVAR = account_gauge("trader_cvar_usdt", "1-day 99 % expected shortfall (a positive loss).", ("account", "method"),
                     unit="usdt", requirement="CVaR daily (001, 002)", series=f"A*{len(VAR_METHODS)}",
                     absent="until enough returns")
LIQUIDATION_DISTANCE = account_gauge(
    "trader_liquidation_distance_ratio",
    "Distance from the mark price to the liquidation price, 0..1 of the mark (the nearest, if combined).",
    ACCOUNT_MARKET, unit="ratio", requirement="distance to liquidation per position (001 < 5 %)", series="P",
    absent="without a position, or without a liquidation price")
LIQUIDATION_PRICE = account_gauge(
    "trader_position_liquidation_price_usdt", "Price at which the exchange liquidates the position (the nearest, if combined).",
    ACCOUNT_MARKET, unit="usdt", requirement="liquidation price per position (issue 14)", series="P",
    absent="without a position, or when the exchange reports none (enough collateral)")
RISK_REFUSALS = MetricSpec("trader_risk_refusals_total", "counter", "Orders refused by a risk limit before the broker.",
                           ("account", "reason"), unit="", requirement="risk limits reached (002)",
                           series=f"A*{len(RISK_REFUSAL_REASONS)}")
LIQUIDATIONS = MetricSpec("trader_liquidations_total", "counter", "Our positions force-closed by the exchange.",
                          ACCOUNT_MARKET, unit="", requirement="liquidation (001)", series="A*M")


class RiskCollector(Collector):
    specs = ACCOUNT_FIGURES + (VAR, CVAR, LIQUIDATION_DISTANCE, RISK_REFUSALS, LIQUIDATIONS, LIQUIDATION_PRICE)

    def emit(self, snapshot: TraderSnapshot, state: None, sink) -> None:
        add = sink.add
        markets = markets_of(snapshot)
        for account in snapshot.accounts:
            emit_account_figures(ACCOUNT_FIGURES, account, sink)
            name = account.name
            for method, value in account.var_usdt.items():
                add(VAR, (name, method), value)
            for method, value in account.cvar_usdt.items():
                add(CVAR, (name, method), value)
            for (exchange, symbol), held in group_positions(account.positions).items():
                # An exchange may report no liquidation price (enough collateral): no distance then.
                nearest = min((p for p in held if p.liquidation_distance_ratio is not None),
                              key=lambda p: p.liquidation_distance_ratio, default=None)
                if nearest is not None:
                    add(LIQUIDATION_DISTANCE, (name, exchange, symbol), nearest.liquidation_distance_ratio)
                    add(LIQUIDATION_PRICE, (name, exchange, symbol), nearest.liquidation_price)
            for reason in known_then_seen(RISK_REFUSAL_REASONS, account.risk_refusals):
                add(RISK_REFUSALS, (name, reason), account.risk_refusals.get(reason, 0))
            for market in known_then_seen(markets, account.liquidations):
                add(LIQUIDATIONS, (name, *market), account.liquidations.get(market, 0))


CONDITION_FIRST_HELD = MetricSpec(
    "trader_condition_first_held_timestamp_seconds", "gauge",
    "When an alert's condition last started to hold inside the trader (trader.vocabulary.CONDITIONS), epoch seconds.",
    ("account", "condition"), unit="seconds",
    requirement="alert latency measured from the condition (issue 12, benchmarks/alert_latency.py)",
    series=f"A*{len(CONDITIONS)}", absent="until the condition first holds")


class ConditionEvents(Collector):
    """``ConditionFirstHeld`` events as a timestamp gauge: the start of the last episode of each
    condition, for the alert latency benchmark and for "how long has this been true" in a panel."""

    specs = (CONDITION_FIRST_HELD,)

    def __init__(self, bus: EventBus, source: SnapshotSource, registry: CollectorRegistry | None = None) -> None:
        self._held_at: dict[tuple[str, str], float] = {}
        bus.subscribe(ConditionFirstHeld, self._on_held)
        super().__init__(source, registry)

    def _on_held(self, event: ConditionFirstHeld) -> None:
        self._held_at[(event.account, event.condition)] = event.ts

    def capture(self) -> dict[tuple[str, str], float]:
        return dict(self._held_at)

    def emit(self, snapshot: TraderSnapshot, state: dict[tuple[str, str], float], sink) -> None:
        for key, ts in state.items():
            sink.add(CONDITION_FIRST_HELD, key, ts)
