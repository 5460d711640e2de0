"""Strategy performance: which strategy earns, how often it is right, and how it gets filled."""

from trader_dashboards import (
    BPS, OPS, RATIO, SECONDS, SHORT, USDT, bargauge, limit, prom, sel, stat, timeseries,
    trader_dashboard,
)

ACCOUNT = sel("account")
STRATEGY = sel("account", "strategy")
WINS = sel("account", "strategy", status="win")

dashboard = trader_dashboard(
    uid="trader-strategy",
    title="Strategy performance",
    description="PnL, Sharpe (daily returns), signals and trade outcomes per strategy, and the execution quality "
                "they get.",
    panels=[
        # --- the two alerts of this page first: ids fixed by prometheus/rules/trading.yml ---
        timeseries(1, "Win rate (24h)", [
            prom(f"account:trader_win_rate:ratio_1d{ACCOUNT}", "account {{account}}"),
            prom(f"sum by (trader, strategy) (increase(trader_closed_trades_total{WINS}[1d]))"
                 f" / sum by (trader, strategy) (increase(trader_closed_trades_total{STRATEGY}[1d]))", "{{strategy}}"),
        ], RATIO, min=0, max=1, alerts=("TraderWinRateLow",),
            right=[prom(f"account:trader_closed_trades:increase1d{ACCOUNT}", "trades closed (24h) {{account}}")],
            limits=[limit("trader:win_rate_limit:ratio"),
                    limit("trader:win_rate_min_trades:count", "trades needed before alerting", "orange", right=True)],
            description="Share of trades closed in the last 24 h that won (left axis), and how many closed "
                        "(right axis): the alert fires below the red line once more trades than the orange "
                        "line closed."),
        timeseries(2, "Position age", [
            prom(f'trader_position_age_seconds{sel("account", "exchange", "symbol")}',
                 "{{account}} {{exchange}} {{symbol}}"),
        ], SECONDS, limits=[limit(f"account:trader_position_age_limit:seconds{ACCOUNT}", "limit {{account}}")],
            alerts=("TraderPositionHeldTooLong",),
            description="How long each open position has been held, and each account's limit (dashed): the "
                        "paper or the exchange-account limit, as the panel \"Position-age limits\" shows."),
        # --- money per strategy ---
        timeseries(3, "PnL per strategy", [prom(f"trader_strategy_pnl_usdt{STRATEGY}", "{{strategy}}")], USDT),
        bargauge(4, "Sharpe of the last 30 daily returns, per strategy",
                 [prom(f"trader_strategy_sharpe_30d{STRATEGY}", "{{strategy}}")], SHORT,
                 description="Each UTC day's net PnL of the strategy's closed trades over the account's day-start "
                             "equity, the last 30 days, annualised with sqrt(365); absent before 7 closed days."),
        timeseries(5, "Signals per strategy", [
            prom(f"account_strategy:trader_signals:rate5m{STRATEGY}", "{{strategy}}"),
        ], OPS),
        bargauge(6, "Trades closed (24h)", [
            prom(f"sum by (trader, strategy, status) (increase(trader_closed_trades_total{STRATEGY}[1d]))",
                 "{{strategy}} {{status}}"),
        ], SHORT),
        timeseries(7, "PnL per closed trade", [
            prom(f"sum by (trader, strategy) (trader_strategy_pnl_usdt{STRATEGY})"
                 f" / sum by (trader, strategy) (trader_closed_trades_total{STRATEGY})", "{{strategy}}"),
        ], USDT, description="Strategy PnL divided by the trades it closed since start."),
        # --- execution quality: orders are labelled by exchange, not by strategy (bounded labels) ---
        timeseries(8, "Fill rate and post-only success (1h)", [
            prom(f'account_exchange:trader_order_fill:ratio_rate1h{sel("account", "exchange")}', "fill {{exchange}}"),
            prom(f'account_exchange:trader_post_only_success:ratio_rate1h{sel("account", "exchange")}',
                 "post-only maker {{exchange}}"),
        ], RATIO, w=12, min=0, max=1,
            description="fill: the share of submitted orders that filled completely. Orders carry exchange "
                        "labels, not strategy labels; this is the quality every strategy gets."),
        timeseries(9, "Mean slippage of taker fills", [
            prom(f'account_exchange:trader_slippage_bps:mean5m{sel("account", "exchange")}', "{{exchange}}"),
        ], BPS, w=12, limits=[limit("trader:slippage_limit:bps")]),
        stat(10, "Sharpe, 30 daily returns", prom(f"trader_sharpe_30d{ACCOUNT}", "{{account}}"), SHORT, w=4, h=8,
             decimals=2, description="The last 30 closed UTC days' returns (the journal), annualised with "
                                     "sqrt(365); absent before 7 closed days."),
        stat(11, "Sortino, 30 daily returns", prom(f"trader_sortino_30d{ACCOUNT}", "{{account}}"), SHORT, w=4, h=8,
             decimals=2, description="As the Sharpe ratio, with the downside deviation (losing days) instead of "
                                     "the standard deviation; absent before 7 closed days, or without a losing day."),
        stat(12, "Profit factor", prom(f"trader_profit_factor{ACCOUNT}", "{{account}}"), SHORT, w=4, h=8, decimals=2,
             description="Gross profit / gross loss of closed trades; absent until a trade loses."),
        stat(15, "Position-age limits", prom("trader:position_age_limit:seconds", "paper accounts"), SECONDS,
             w=12, h=4, graph=False, more=[prom("trader:exchange_position_age_limit:seconds", "exchange accounts")],
             description="The two limits TraderPositionHeldTooLong picks from, per account: paper accounts run "
                         "intraday strategies; a watched exchange account's own bots hold positions for days."),
        # --- alive but not trading: the strategies' heartbeat, beside what keeps the alerts quiet ---
        timeseries(13, "Time since each strategy last evaluated", [
            prom(f'strategy_symbol:trader_strategy_evaluation_staleness:seconds{sel("account", "strategy", "exchange", "symbol")}',
                 "{{trader}} {{strategy}} {{exchange}} {{symbol}}"),
            prom(f'exchange_symbol:trader_market_data_staleness:seconds{sel("exchange", "symbol")}',
                 "market data {{trader}} {{exchange}} {{symbol}}"),
        ], SECONDS, w=12, alerts=("TraderStrategyNotEvaluating",),
            right=[prom(f"account:trader_may_trade:bool{ACCOUNT}", "may trade {{trader}} {{account}}")],
            limits=[limit("trader:strategy_evaluation_staleness_limit:seconds"),
                    limit("trader:market_data_staleness_limit:seconds", "market data fresh below", "orange")],
            description="Age of each strategy's last evaluation (a bar sampled) per symbol, and of the symbol's "
                        "market data. The alert fires when a strategy's line passes the red one while the market "
                        "data stays under the orange one and the account may trade (right axis: 1 = neither "
                        "halted nor paused)."),
        timeseries(14, "Time since each strategy's last order", [
            prom(f'account_strategy:trader_strategy_order_staleness:seconds{STRATEGY}', "{{trader}} {{strategy}}"),
            prom(f'min by (trader) (exchange_symbol:trader_market_data_staleness:seconds{sel("exchange", "symbol")})',
                 "freshest market data {{trader}}"),
        ], SECONDS, w=12, alerts=("TraderStrategyNoOrders",),
            right=[prom(f"account:trader_may_trade:bool{ACCOUNT}", "may trade {{trader}} {{account}}")],
            limits=[limit("trader:strategy_no_order_limit:seconds"),
                    limit("trader:market_data_staleness_limit:seconds", "market data fresh below", "orange")],
            description="Age of each strategy's last order (entry or exit), counted from the start before the "
                        "first. The alert fires past the red line while some market data of the trader is under "
                        "the orange line and the account may trade (right axis)."),
    ],
)
