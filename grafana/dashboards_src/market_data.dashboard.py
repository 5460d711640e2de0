"""Market data: is every feed connected and fresh, how busy is it, and is the market behaving?"""

from trader_dashboards import (
    OPS, RATIO, SECONDS, SHORT, USDT, limit, logs_link, problem_links, prom, sel, stat, timeseries,
    trader_dashboard, value_text,
)

EXCHANGE = sel("exchange")
SYMBOL = sel("exchange", "symbol")
FROM_SERIES = ("exchange", "symbol")

# The windows of the multi-window burn-rate alerts of prometheus/rules/slo.yml (long and short
# window of each pair): 1h/5m and 6h/30m page, 1d/2h and 3d/6h open a ticket.
BURN_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")

dashboard = trader_dashboard(
    uid="trader-market-data",
    title="Market data",
    description="Feed status, reconnects, staleness, message rates and anomalies per symbol. "
                "Panel ids 1-4 are the alerts' dashboard links.",
    panels=[
        timeseries(1, "Feed connected", [prom(f"trader_feed_up{EXCHANGE}", "{{exchange}}")], SHORT,
                   min=0, max=1, interpolation="stepAfter", alerts=("TraderFeedDown",),
                   description="1 while the WebSocket is connected and subscribed.", links=problem_links()),
        timeseries(2, "Seconds since the last message", [
            prom(f"exchange_symbol:trader_market_data_staleness:seconds{SYMBOL}", "{{exchange}} {{symbol}}"),
        ], SECONDS, min=0, links=[logs_link(series_labels=FROM_SERIES)], alerts=("TraderMarketDataStale",),
            limits=[limit("trader:market_data_staleness_limit:seconds")]),
        timeseries(3, "Anomalous share of checks", [
            prom(f"exchange_symbol:trader_anomalies:ratio_rate5m{SYMBOL}", "{{exchange}} {{symbol}}"),
        ], RATIO, min=0, links=[logs_link(series_labels=FROM_SERIES)], alerts=("TraderMarketAnomalyRateHigh",),
            limits=[limit("trader:anomaly_rate_limit:ratio")]),
        timeseries(4, "Feed downtime error budget burn rate", [
            prom(f"exchange:trader_feed_unavailability:ratio_avg{window}{EXCHANGE} / on () group_left () "
                 "(1 - trader:market_data_availability_slo:ratio)", f"{{{{exchange}}}} {window}")
            for window in BURN_WINDOWS
        ], "suffix:x", w=12, alerts=("TraderMarketDataBudgetBurn",),
            description="How many times faster than the availability SLO (trader:market_data_availability_slo:ratio) "
                        "allows the feed's downtime spends the 30-day error budget. The alert pages when a long "
                        "window and its short window both burn fast; the factors are in prometheus/rules/slo.yml."),
        stat(14, "Feed status", prom(f"trader_feed_up{EXCHANGE}", "{{exchange}}"), SHORT, w=6, h=8, graph=False,
             mappings=[value_text(0, "DOWN", "red"), value_text(1, "UP", "green")]),
        stat(5, "Feed uptime (1h)", prom(f"exchange:trader_feed_uptime:ratio_avg1h{EXCHANGE}", "{{exchange}}"),
             RATIO, w=6, h=8, decimals=2),
        timeseries(6, "Messages received", [
            prom(f"exchange:trader_feed_messages:rate1m{EXCHANGE}", "{{exchange}}"),
        ], OPS, w=8),
        timeseries(7, "Messages rejected", [
            prom(f"exchange:trader_feed_messages_rejected:rate5m{EXCHANGE}", "{{exchange}} all reasons (5m)"),
            prom(f"sum by (trader, exchange, reason) (rate(trader_feed_messages_rejected_total{EXCHANGE}[$__rate_interval]))",
                 "{{exchange}} {{reason}}"),
        ], OPS, w=8, links=problem_links()),
        timeseries(8, "Reconnects (1h)", [
            prom(f"exchange:trader_feed_reconnects:increase1h{EXCHANGE}", "{{exchange}}"),
        ], SHORT, w=8),
        timeseries(9, "Anomalies per symbol", [
            prom(f"sum by (trader, exchange, symbol, reason) (rate(trader_anomalies_total{SYMBOL}[$__rate_interval]))",
                 "{{exchange}} {{symbol}} {{reason}}"),
        ], OPS, links=[logs_link(series_labels=FROM_SERIES)]),
        timeseries(10, "Sequence gaps (book resynced)", [
            prom(f"sum by (trader, exchange, symbol) (increase(trader_feed_sequence_gaps_total{SYMBOL}[$__rate_interval]))",
                 "{{exchange}} {{symbol}}"),
        ], SHORT, draw="bars"),
        timeseries(11, "Mark price", [prom(f"trader_mark_price_usdt{SYMBOL}", "{{exchange}} {{symbol}}")], USDT, w=8),
        timeseries(12, "Funding rate (per interval)", [
            prom(f"trader_funding_rate{SYMBOL}", "{{exchange}} {{symbol}}"),
        ], RATIO, w=8),
        timeseries(13, "Liquidations published by the exchange", [
            prom(f"sum by (trader, exchange, symbol, side) "
                 f"(increase(trader_market_liquidations_total{SYMBOL}[$__rate_interval]))",
                 "{{exchange}} {{symbol}} {{side}}"),
        ], SHORT, w=8, draw="bars"),
    ],
)
