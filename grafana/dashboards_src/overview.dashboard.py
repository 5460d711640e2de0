"""Trading overview (the home dashboard): am I making money, and is anything on fire right now?"""

from trader_dashboards import (
    OPS, RATIO, SECONDS, SHORT, USDT, alertlist, limit, prom, sel, stat, table, timeseries,
    trader_dashboard,
)

ACCOUNT = sel("account")
POSITION = sel("account", "exchange", "symbol")

dashboard = trader_dashboard(
    uid="trader-overview",
    title="Trading overview",
    description="Equity, PnL, positions, orders and the alerts firing now. Start here.",
    panels=[
        # --- the headline numbers ---
        stat(1, "Equity", prom(f"sum(trader_equity_usdt{ACCOUNT})"), USDT, decimals=2),
        stat(2, "PnL since start", prom(
            f"sum(trader_equity_usdt{ACCOUNT}) - sum(trader_initial_equity_usdt{ACCOUNT})"), USDT, decimals=2),
        stat(3, "PnL since start (%)", prom(f"account:trader_pnl:ratio{ACCOUNT}", "{{account}}"), RATIO,
             decimals=2),
        stat(4, "Daily PnL", prom(f"sum(trader_daily_pnl_usdt{ACCOUNT})"), USDT, decimals=2,
             description="Since 00:00 UTC (or since start)."),
        stat(5, "Open positions", prom(f"sum(trader_open_positions{ACCOUNT})"), SHORT),
        stat(6, "Win rate (24h)", prom(f"account:trader_win_rate:ratio_1d{ACCOUNT}", "{{account}}"), RATIO,
             description="Closed trades that won over the last 24 h; empty until a trade closes."),
        # --- money over time, and what is firing ---
        timeseries(7, "Equity", [
            prom(f"trader_equity_usdt{ACCOUNT}", "equity {{account}}"),
            prom(f"trader_balance_usdt{ACCOUNT}", "wallet balance {{account}}"),
            prom(f"trader_high_water_mark_usdt{ACCOUNT}", "high-water mark {{account}}"),
        ], USDT, w=8),
        timeseries(8, "PnL breakdown", [
            prom(f"trader_pnl_realized_usdt{ACCOUNT}", "realised {{account}}"),
            prom(f"trader_pnl_unrealized_usdt{ACCOUNT}", "unrealised {{account}}"),
            prom(f"trader_funding_pnl_usdt{ACCOUNT}", "funding {{account}}"),
            prom(f"-sum by (trader, account) (trader_commission_usdt_total{ACCOUNT})", "commission {{account}}"),
        ], USDT, w=8, description="Trading PnL (realised and unrealised), funding received, fees paid (negative)."),
        alertlist(9, "Alerts firing now", w=8,
                  description="Firing and pending alerts of prometheus/rules; the alert's dashboard link "
                              "opens its panel."),
        # --- the day and the order flow ---
        timeseries(10, "Daily PnL", [prom(f"trader_daily_pnl_usdt{ACCOUNT}", "{{account}}")], USDT, w=8,
                   limits=[limit(f"trader_day_start_equity_usdt{ACCOUNT} * on () group_left () "
                                 "(-1 * trader:daily_loss_limit:ratio)", "daily loss limit {{account}}")],
                   description="The limit line is the day-start equity times the daily loss limit ratio."),
        timeseries(11, "Orders and fills", [
            prom(f"sum by (trader, status) (rate(trader_orders_total{sel('account', 'exchange', 'symbol')}[$__rate_interval]))",
                 "{{status}}"),
        ], OPS, w=8),
        timeseries(12, "Win rate (24h)", [prom(f"account:trader_win_rate:ratio_1d{ACCOUNT}", "{{account}}")], RATIO,
                   w=8, min=0, max=1, limits=[limit("trader:win_rate_limit:ratio")],
                   description="The alert waits for more than trader:win_rate_min_trades:count trades."),
        # --- the book ---
        table(13, "Open positions", [
            ("quantity", prom(f"trader_position_quantity{POSITION} != 0"), SHORT),
            ("notional", prom(f"trader_position_notional_usdt{POSITION}"), USDT),
            ("unrealised PnL", prom(f"trader_position_unrealized_pnl_usdt{POSITION}"), USDT),
            ("age", prom(f"trader_position_age_seconds{POSITION}"), SECONDS),
        ], w=24, h=7),
    ],
)
