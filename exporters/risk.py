"""Risk family: drawdown, VaR/CVaR, leverage, margin, liquidation distance, limits, refusals.

The configured limits are exported as gauges beside the figures they bound, so a rule or a panel
can compare ``trader_var_usdt`` with ``trader_limit_var_usdt`` without repeating the number.
No liquidation distance without a position, no correlation with fewer than two positions, no
VaR before enough returns. Usage: ``RiskCollector(trader.snapshot, registry=registry)``.
"""

from __future__ import annotations

from exporters.collector import Collector, group_positions, markets_of
from exporters.families import ACCOUNT_MARKET, MetricSpec, account_gauge, known_then_seen
from trader.snapshot import TraderSnapshot

__all__ = ["RiskCollector", "REFUSAL_REASONS", "VAR_METHODS"]

REFUSAL_REASONS = ("max_drawdown", "daily_loss", "var", "leverage", "position_size", "open_positions", "margin")
VAR_METHODS = ("historical", "parametric")



DRAWDOWN = account_gauge("trader_drawdown_ratio", "Current drawdown below the high-water mark, 0..1.",
                  unit="ratio", answers="current drawdown (000 > 15 %, 001 > 10 %)")
MAX_DRAWDOWN = account_gauge("trader_max_drawdown_ratio", "Largest drawdown since start, 0..1.",
                      unit="ratio", answers="max drawdown (001, 002, 004)")
VAR = account_gauge("trader_var_usdt", "1-day 99 % value at risk (a positive loss).", ("account", "method"),
             unit="usdt", answers="VaR daily with limit (001 VaR > limit, 002)", series="A*2")
CVAR = account_gauge("trader_cvar_usdt", "1-day 99 % expected shortfall (a positive loss).", ("account", "method"),
              unit="usdt", answers="CVaR daily (001, 002)", series="A*2")
LEVERAGE = account_gauge("trader_leverage", "Total position notional divided by equity.",
                  unit="", answers="leverage (001, 002)")
NOTIONAL = account_gauge("trader_notional_usdt", "Total absolute notional of open positions.",
                  unit="usdt", answers="notional (001)")
MARGIN_USED = account_gauge("trader_margin_used_usdt", "Margin held by open positions.",
                     unit="usdt", answers="margin used (001)")
MARGIN_FREE = account_gauge("trader_margin_free_usdt", "Equity not held as margin.",
                     unit="usdt", answers="margin free (001)")
LIQUIDATION_DISTANCE = account_gauge("trader_liquidation_distance_ratio",
                              "Distance from the mark price to the liquidation price, 0..1 of the mark "
                              "(the nearest, if combined).", ACCOUNT_MARKET,
                              unit="ratio", answers="distance to liquidation per position (001 < 5 %)", series="P")
CORRELATION_MAX = account_gauge("trader_position_correlation_max", "Largest pairwise return correlation of open positions.",
                         unit="", answers="max pairwise correlation (001 > 0.8)")
LIMIT_VAR = account_gauge("trader_limit_var_usdt", "Configured VaR limit.",
                   unit="usdt", answers="VaR limit (001)")
LIMIT_MAX_DRAWDOWN = account_gauge("trader_limit_max_drawdown_ratio", "Configured drawdown that halts trading.",
                            unit="ratio", answers="max drawdown limit (000, 001, 002)")
LIMIT_DAILY_LOSS = account_gauge("trader_limit_daily_loss_ratio",
                          "Configured daily loss, as a ratio of day-start equity, that halts trading.",
                          unit="ratio", answers="daily loss limit (000 -5 %, 002)")
LIMIT_LEVERAGE = account_gauge("trader_limit_leverage", "Configured maximum leverage.",
                        unit="", answers="leverage limit (001, 002)")
LIMIT_OPEN_POSITIONS = account_gauge("trader_limit_open_positions", "Configured maximum number of open positions.",
                              unit="", answers="open positions limit (002)")
RISK_REFUSALS = MetricSpec("trader_risk_refusals_total", "counter", "Orders refused by a risk limit before the broker.",
                           ("account", "reason"), unit="", answers="risk limits reached (002)", series="A*7")
TRADING_HALTED = account_gauge("trader_trading_halted", "1 while a hard limit stops new orders, else 0.",
                        unit="", answers="daily loss limit reached (002)")
LIQUIDATIONS = MetricSpec("trader_liquidations_total", "counter", "Our positions force-closed by the exchange.",
                          ACCOUNT_MARKET, unit="", answers="liquidation (001)", series="A*M")


class RiskCollector(Collector):
    specs = (DRAWDOWN, MAX_DRAWDOWN, VAR, CVAR, LEVERAGE, NOTIONAL, MARGIN_USED, MARGIN_FREE,
             LIQUIDATION_DISTANCE, CORRELATION_MAX, LIMIT_VAR, LIMIT_MAX_DRAWDOWN, LIMIT_DAILY_LOSS,
             LIMIT_LEVERAGE, LIMIT_OPEN_POSITIONS, RISK_REFUSALS, TRADING_HALTED, LIQUIDATIONS)

    def emit(self, snapshot: TraderSnapshot, state: None, sink) -> None:
        add = sink.add
        markets = markets_of(snapshot)
        for account in snapshot.accounts:
            name = account.name
            key = (name,)
            add(DRAWDOWN, key, account.drawdown_ratio)
            add(MAX_DRAWDOWN, key, account.max_drawdown_ratio)
            for method, value in account.var_usdt.items():
                add(VAR, (name, method), value)
            for method, value in account.cvar_usdt.items():
                add(CVAR, (name, method), value)
            add(LEVERAGE, key, account.leverage)
            add(NOTIONAL, key, account.notional_usdt)
            add(MARGIN_USED, key, account.margin_used_usdt)
            add(MARGIN_FREE, key, account.margin_free_usdt)
            for (exchange, symbol), held in group_positions(account.positions).items():
                add(LIQUIDATION_DISTANCE, (name, exchange, symbol),
                    min(p.liquidation_distance_ratio for p in held))
            if account.correlation_max is not None:
                add(CORRELATION_MAX, key, account.correlation_max)
            limits = account.limits
            add(LIMIT_VAR, key, limits.var_usdt)
            add(LIMIT_MAX_DRAWDOWN, key, limits.max_drawdown_ratio)
            add(LIMIT_DAILY_LOSS, key, limits.daily_loss_ratio)
            add(LIMIT_LEVERAGE, key, limits.max_leverage)
            add(LIMIT_OPEN_POSITIONS, key, limits.max_open_positions)
            for reason in known_then_seen(REFUSAL_REASONS, account.risk_refusals):
                add(RISK_REFUSALS, (name, reason), account.risk_refusals.get(reason, 0))
            add(TRADING_HALTED, key, 1 if account.trading_halted else 0)
            for market in known_then_seen(markets, account.liquidations):
                add(LIQUIDATIONS, (name, *market), account.liquidations.get(market, 0))
