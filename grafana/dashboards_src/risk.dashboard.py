"""Risk: how far from the limits the account is, and how concentrated the book is."""

from trader_dashboards import (
    OPS, RATIO, SHORT, USDT, bargauge, limit, logs_link, problem_links, prom, sel, stat, timeseries,
    trader_dashboard, value_text,
)

ACCOUNT = sel("account")
POSITION = sel("account", "exchange", "symbol")

dashboard = trader_dashboard(
    uid="trader-risk",
    title="Risk",
    description="Drawdown, daily loss, VaR and CVaR against their limits, leverage, margin, "
                "liquidation distance and correlation. Panel ids 1-7 are the alerts' dashboard links.",
    panels=[
        timeseries(1, "Drawdown from peak equity", [
            prom(f"trader_drawdown_ratio{ACCOUNT}", "drawdown {{account}}"),
            prom(f"trader_max_drawdown_ratio{ACCOUNT}", "max drawdown {{account}}"),
        ], RATIO, min=0, alerts=("TraderDrawdownHigh",), limits=[
            limit("trader:drawdown_limit:ratio", "alert threshold"),
            limit(f"trader_limit_max_drawdown_ratio{ACCOUNT}", "hard limit (halts trading) {{account}}", "purple"),
        ]),
        timeseries(2, "Daily PnL (share of day-start equity)", [
            prom(f"account:trader_daily_pnl:ratio{ACCOUNT}", "{{account}}"),
        ], RATIO, alerts=("TraderDailyLossLimit",), limits=[
            limit("-1 * trader:daily_loss_limit:ratio", "alert threshold"),
            limit(f"-1 * trader_limit_daily_loss_ratio{ACCOUNT}", "hard limit (halts trading) {{account}}", "purple"),
        ]),
        timeseries(3, "VaR and CVaR (1 day, 99 %)", [
            prom(f"trader_var_usdt{ACCOUNT}", "VaR {{method}} {{account}}"),
            prom(f"trader_cvar_usdt{ACCOUNT}", "CVaR {{method}} {{account}}"),
        ], USDT, alerts=("TraderVaRAboveLimit",),
            limits=[limit(f"trader_limit_var_usdt{ACCOUNT}", "VaR limit {{account}}")],
            description="Absent until enough returns. The alert compares the worse method with the limit."),
        timeseries(4, "Distance to liquidation per position", [
            prom(f"trader_liquidation_distance_ratio{POSITION}", "{{exchange}} {{symbol}}"),
        ], RATIO, min=0, alerts=("TraderLiquidationClose",),
            links=[logs_link(series_labels=("exchange", "symbol"))],
            limits=[limit("trader:liquidation_distance_limit:ratio")],
            description="|mark - liquidation price| / mark; absent without a position."),
        stat(5, "Trading halted", prom(f"trader_trading_halted{ACCOUNT}", "{{account}}"), SHORT, w=6, h=8,
             alerts=("TraderTradingHalted",),
             mappings=[value_text(0, "trading", "green"), value_text(1, "HALTED", "red")],
             description="HALTED when a hard limit (max drawdown, daily loss) stops new orders.", links=problem_links()),
        timeseries(6, "Highest correlation between positions", [
            prom(f"trader_position_correlation_max{ACCOUNT}", "{{account}}"),
        ], SHORT, w=9, alerts=("TraderCorrelationHigh",), limits=[limit("trader:correlation_limit:ratio")],
            description="Absent with fewer than two positions."),
        timeseries(7, "Our positions liquidated", [
            prom(f"sum by (trader, exchange, symbol) (increase(trader_liquidations_total{POSITION}[$__rate_interval]))",
                 "{{exchange}} {{symbol}}"),
        ], SHORT, w=9, draw="bars", alerts=("TraderPositionLiquidated",), links=problem_links()),
        # --- exposure ---
        timeseries(8, "Leverage", [prom(f"trader_leverage{ACCOUNT}", "{{account}}")], SHORT, w=8,
                   limits=[limit(f"trader_limit_leverage{ACCOUNT}", "configured limit {{account}}")],
                   description="Notional / equity; the limit is the one the risk engine enforces."),
        timeseries(9, "Margin and notional", [
            prom(f"trader_margin_used_usdt{ACCOUNT}", "margin used {{account}}"),
            prom(f"trader_margin_free_usdt{ACCOUNT}", "margin free {{account}}"),
            prom(f"trader_notional_usdt{ACCOUNT}", "notional {{account}}"),
        ], USDT, w=8),
        bargauge(10, "Notional per position", [
            prom(f"trader_position_notional_usdt{POSITION} > 0", "{{exchange}} {{symbol}}"),
        ], USDT, w=8),
        timeseries(11, "Orders refused by risk limits", [
            prom(f"sum by (trader, reason) (rate(trader_risk_refusals_total{ACCOUNT}[$__rate_interval]))", "{{reason}}"),
        ], OPS, w=8),
        timeseries(12, "VaR as a share of its limit", [
            prom(f"account:trader_var_limit_utilisation:ratio{ACCOUNT}", "{{account}}"),
        ], RATIO, w=8, min=0, description="Above 100 % the VaR alert fires."),
        timeseries(13, "Open positions", [prom(f"trader_open_positions{ACCOUNT}", "{{account}}")], SHORT, w=8,
                   min=0, limits=[limit(f"trader_limit_open_positions{ACCOUNT}", "configured limit {{account}}")]),
    ],
)
